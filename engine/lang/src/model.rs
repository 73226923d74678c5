//! The process-definition language: the types one YAML file in `processes/` is read into.
//!
//! The types double as the source of `processes/schema.json` (via schemars), so every doc
//! comment here is what a process owner sees as hover help in the editor.
//!
//! Values that need checking against the rest of the file (step ids, CEL, durations, roles)
//! are kept as [`Located`] text here and checked by [`crate::check`], so that one file can
//! report all of its problems at once instead of stopping at the first.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::located::Located;

/// A text shown to people, in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Chinese text, e.g. `费用报销`.
    pub zh: String,
    /// English text, e.g. `Reimbursement`.
    pub en: String,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.zh, self.en)
    }
}

/// One process definition: one YAML file in `processes/`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessDef {
    /// Stable identifier used in URLs and on the command line, e.g. `reimbursement`.
    /// Lower case letters, digits and underscores.
    pub id: Located<String>,
    /// The process name shown to people.
    pub name: Label,
    /// What the process is for and where its rules come from.
    #[serde(default)]
    pub description: Option<Label>,
    /// Who looks after this definition and is told about incidents.
    pub owner: Located<Principal>,
    /// When the submitter may withdraw a running request. A request returned to its
    /// submitter for revision can always be withdrawn.
    #[serde(default)]
    pub withdraw: WithdrawPolicy,
    /// Who may start this process (roles and users); everybody when empty.
    #[serde(default)]
    pub starters: Vec<Located<Principal>>,
    /// User-typed form fields naming the people a request is about (the employee of a
    /// rotation, the candidate of a review). Like the submitter, they never decide it:
    /// they are never assignees of an approval step, nor targets of delegate, transfer
    /// or add-signer. A step left with nobody goes to the excluded person's manager.
    #[serde(default)]
    pub subjects: Vec<Located<String>>,
    /// The submitter opens requests on others' behalf (a review of a candidate) and may
    /// take part in deciding them; the `subjects` still may not. Off by default.
    #[serde(default)]
    pub submitter_may_decide: bool,
    /// What happens where the directory has no manager above someone (the top of the
    /// hierarchy): `skip` the step (the default, recorded in the history) or give it to
    /// a role, e.g. `no_manager: { role: gm_office }`.
    #[serde(default)]
    pub no_manager: Located<NoManager>,
    /// Start a request of this process on a schedule of the working calendar (a weekly
    /// ledger check, a month-end report).
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// The request form the submitter fills in.
    #[serde(default)]
    pub form: Form,
    /// The fields (or computed values) that sum a request up on one line, in the inbox
    /// and lists, e.g. `summary: [total, purpose]`. Left out: money first, then the
    /// other short fields in form order.
    #[serde(default)]
    pub summary: Vec<Located<String>>,
    /// Process variables, set by automatic steps and readable by guards as `vars.NAME`.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// The first step; defaults to the first entry of `steps`.
    #[serde(default)]
    pub start: Option<Located<String>>,
    /// The steps (states) of the process.
    pub steps: Vec<Step>,
    /// Notification rules that apply to every step.
    #[serde(default)]
    pub notify: Vec<NotifyRule>,
}

/// A user or a role of the directory (`processes/org.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// A user id, e.g. `user: wang.fang`.
    User(String),
    /// A role id, e.g. `role: service_mgmt`.
    Role(String),
}

/// A recurring start: on which days, at what time, for whom and with what form.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The days: a weekday (the first working day from it when it is not one), or the
    /// first or last working day of the month.
    pub every: Located<Every>,
    /// The local time, `HH:MM`; the start of working hours when left out.
    #[serde(default)]
    pub at: Option<Located<String>>,
    /// The user the request is started for (its submitter).
    #[serde(rename = "as")]
    pub submitter: Located<String>,
    /// The form's values.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub form: Option<serde_json::Value>,
}

/// The days a schedule starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
    /// The first working day of each month.
    FirstWorkingDay,
    /// The last working day of each month.
    LastWorkingDay,
}

/// What a step does when the directory has no manager above someone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoManager {
    /// The step passes without that person's approval; the history says why.
    #[default]
    Skip,
    /// The members of this role decide instead.
    Role(String),
}

/// When on its date a wait with `until` ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitUntil {
    /// 00:00 of the date.
    #[default]
    Start,
    /// The close of business of the last working day on or before the date.
    Close,
}

/// When the submitter may withdraw a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawPolicy {
    /// Until anybody has approved, rejected or completed a step (the default).
    #[default]
    UntilFirstDecision,
    /// At any time before the request ends.
    Anytime,
    /// Never.
    Never,
}

/// The request form.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// Fields the submitter fills in, in display order.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Values computed from the fields with CEL, e.g. `total` = sum of the line amounts.
    /// Readable by guards as `form.ID` like any other field.
    #[serde(default)]
    pub computed: Vec<ComputedField>,
    /// Checks over the whole form, made when it is submitted or changed, e.g. that the
    /// end date is not before the start date.
    #[serde(default)]
    pub rules: Vec<FormRule>,
}

/// A check over the whole form.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormRule {
    /// A CEL expression that must be true, e.g. `form.end_date >= form.start_date`.
    pub check: Located<String>,
    /// The field the message is shown beside; default: the form as a whole.
    #[serde(default)]
    pub field: Option<Located<String>>,
    /// What the submitter is told when the check fails.
    pub message: Label,
}

/// The kind of value a form field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Several lines of text.
    LongText,
    /// A number; `integer: true` allows whole numbers only.
    Number,
    /// An amount of money in the field's `currency` (default CNY), two decimals.
    Money,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of the listed `options`.
    Enum,
    /// Yes or no.
    Boolean,
    /// A user id of the directory.
    User,
    /// A repeated table of lines, each with the `columns` fields.
    Table,
    /// Another request, by its number (`12`); `process` and `step` say which ones fit.
    Request,
    /// Uploaded files (a receipt, a signed scan): `accept` lists the kinds, `max_size`
    /// the largest, `max_files` how many (default 1). Known by their content, not name.
    File,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::LongText => "long_text",
            FieldType::Number => "number",
            FieldType::Money => "money",
            FieldType::Date => "date",
            FieldType::Enum => "enum",
            FieldType::Boolean => "boolean",
            FieldType::User => "user",
            FieldType::Table => "table",
            FieldType::Request => "request",
            FieldType::File => "file",
        }
    }
}

/// A field of a form, of a table's lines, or of a step's inputs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Identifier used in CEL (`form.ID`), lower case with underscores.
    pub id: Located<String>,
    /// The kind of value.
    #[serde(rename = "type")]
    pub kind: Located<FieldType>,
    /// The label shown beside the input.
    pub label: Label,
    /// Help text shown under the input.
    #[serde(default)]
    pub help: Option<Label>,
    /// Whether a value must be given.
    #[serde(default)]
    pub required: bool,
    /// Smallest allowed value (number, money).
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest allowed value (number, money).
    #[serde(default)]
    pub max: Option<f64>,
    /// Whole numbers only (number).
    #[serde(default)]
    pub integer: bool,
    /// ISO currency code (money); default `CNY`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Fewest characters (text, long_text).
    #[serde(default)]
    pub min_length: Option<u32>,
    /// Most characters (text, long_text).
    #[serde(default)]
    pub max_length: Option<u32>,
    /// A regular expression the whole text must match (text).
    #[serde(default)]
    pub pattern: Option<Located<String>>,
    /// The choices (enum).
    #[serde(default)]
    pub options: Vec<EnumOption>,
    /// The fields of each line (table).
    #[serde(default)]
    pub columns: Vec<Field>,
    /// Fewest lines (table).
    #[serde(default)]
    pub min_rows: Option<u32>,
    /// Most lines (table).
    #[serde(default)]
    pub max_rows: Option<u32>,
    /// The user must hold this role (user).
    #[serde(default)]
    pub role: Option<Located<String>>,
    /// The process the referred request must be of (request).
    #[serde(default)]
    pub process: Option<Located<String>>,
    /// The step the referred request must be at when it is referred to (request), e.g.
    /// a cash sale waiting for its payment.
    #[serde(default)]
    pub step: Option<Located<String>>,
    /// Filled in at a step that lists it as `editable` (a customer's rating, the
    /// confirmation number), never by the submitter: left off the new-request form,
    /// refused at submission, and kept as it is when a returned request is resubmitted.
    #[serde(default)]
    pub step_only: bool,
    /// The kinds of file taken (file): `pdf`, `png`, `jpeg`, `gif`, `webp`, `docx`,
    /// `xlsx`; default `[pdf, png, jpeg]`.
    #[serde(default)]
    pub accept: Vec<crate::attachment::FileKind>,
    /// The largest file taken (file), e.g. `5 MB` or `500 KB`; default 10 MB, at most 20 MB.
    #[serde(default)]
    pub max_size: Option<Located<String>>,
    /// How many files it takes (file); default 1, at most 20.
    #[serde(default)]
    pub max_files: Option<u32>,
}

/// One choice of an enum field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumOption {
    /// The stored value, used in CEL, e.g. `cash`.
    pub value: Located<String>,
    /// What people see, e.g. `现款 Cash`.
    pub label: Label,
}

/// A value computed from the form with CEL.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComputedField {
    /// Identifier, readable as `form.ID`.
    pub id: Located<String>,
    /// The kind of value the expression yields.
    #[serde(rename = "type")]
    pub kind: Located<FieldType>,
    #[serde(default)]
    pub label: Option<Label>,
    /// A CEL expression over `form`, e.g. `sum(form.lines.map(l, l.amount))`.
    pub expr: Located<String>,
}

/// A process variable.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Identifier, readable as `vars.ID`.
    pub id: Located<String>,
    /// Its initial value (any YAML scalar or list); null when absent.
    #[serde(default)]
    pub initial: Option<serde_json::Value>,
}

/// The kind of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// People approve or reject; outcomes `approved` and `rejected`.
    Approval,
    /// People do something (fill in, confirm, hand over) and complete it; outcome `done`.
    Task,
    /// The engine evaluates `set` and moves on at once; outcome `done`.
    Auto,
    /// Waits `for` a duration or `until` a date; outcome `elapsed`.
    Wait,
    /// Runs its `branches` at the same time and joins them; outcome `done`.
    Parallel,
    /// Ends the request with an `outcome`.
    End,
}

impl StepKind {
    /// The outcomes a step of this kind can produce (besides `timeout`).
    pub fn outcomes(self) -> &'static [Outcome] {
        match self {
            StepKind::Approval => &[Outcome::Approved, Outcome::Rejected],
            StepKind::Task | StepKind::Auto | StepKind::Parallel => &[Outcome::Done],
            StepKind::Wait => &[Outcome::Elapsed],
            StepKind::End => &[],
        }
    }

    pub fn has_assignees(self) -> bool {
        matches!(self, StepKind::Approval | StepKind::Task)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Approval => "approval",
            StepKind::Task => "task",
            StepKind::Auto => "auto",
            StepKind::Wait => "wait",
            StepKind::Parallel => "parallel",
            StepKind::End => "end",
        }
    }
}

/// A step (state) of a process.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Identifier, unique within the process; transitions name it in `to`.
    pub id: Located<String>,
    /// What kind of step this is.
    #[serde(rename = "type")]
    pub kind: Located<StepKind>,
    /// The name shown in the inbox and the diagram.
    #[serde(default)]
    pub name: Option<Label>,
    /// Who acts (approval, task). Several entries are joined; duplicates removed.
    #[serde(default)]
    pub assignees: Vec<Located<Assignee>>,
    /// How many of the assignees must act (approval, task); default `any`.
    #[serde(default)]
    pub mode: Option<Located<Mode>>,
    /// The actions offered here; defaults depend on the step kind.
    #[serde(default)]
    pub actions: Vec<Located<Action>>,
    /// Where `return` may send the request: `submitter` or ids of earlier steps.
    #[serde(default)]
    pub return_to: Vec<Located<String>>,
    /// Form fields the actor may change here.
    #[serde(default)]
    pub editable: Vec<Located<String>>,
    /// Editable fields that must hold a value when the step is approved or completed
    /// (the confirmation number, the handover list): required at this step, though the
    /// submitter leaves them empty.
    #[serde(default)]
    pub required: Vec<Located<String>>,
    /// Values each actor gives when acting (e.g. a panel score); guards read them from `votes`.
    #[serde(default)]
    pub inputs: Vec<Field>,
    /// Skip this step when the assignee is the submitter, or already approved earlier.
    #[serde(default)]
    pub auto_skip: Vec<AutoSkip>,
    /// Read-only watchers told when the step is entered.
    #[serde(default)]
    pub cc: Vec<Located<Assignee>>,
    /// Deadline, reminders and what happens on timeout.
    #[serde(default)]
    pub deadline: Option<Deadline>,
    /// Variables to set (auto): `NAME: CEL expression`.
    #[serde(default)]
    pub set: BTreeMap<String, Located<String>>,
    /// How long to wait (wait), e.g. `7wd`.
    #[serde(default, rename = "for")]
    pub wait_for: Option<Located<String>>,
    /// A CEL expression giving the date to wait until (wait), e.g. `form.effective_date`.
    #[serde(default)]
    pub until: Option<Located<String>>,
    /// When on the `until` date the wait ends: at its `start` (00:00, the default), or at
    /// the `close` of business of the last working day on or before it (a month-end
    /// settlement waits for the day's sales).
    #[serde(default)]
    pub at: Option<Located<WaitUntil>>,
    /// The branches run at the same time (parallel).
    #[serde(default)]
    pub branches: Vec<Branch>,
    /// How many branches must finish before the parallel step is done; default `all`.
    #[serde(default)]
    pub join: Option<Located<Join>>,
    /// How the request ends (end).
    #[serde(default)]
    pub outcome: Option<Located<EndOutcome>>,
    /// Where to go next, per outcome; the first matching entry wins.
    #[serde(default)]
    pub transitions: Vec<Transition>,
    /// Notification rules for this step.
    #[serde(default)]
    pub notify: Vec<NotifyRule>,
    /// What entering this step does to the requests the form refers to (a granted
    /// extension moves the sale's due date; a paid statement settles its sales).
    #[serde(default)]
    pub links: Vec<LinkEffect>,
    /// The process whose requests end this wait (wait), through their `links` with
    /// `finish: true`, instead of a date: a monthly sale waits for its statement.
    #[serde(default)]
    pub by: Option<Located<String>>,
}

/// An effect on the requests named by a `request` field, applied when a step is entered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkEffect {
    /// The `request` field naming them: `sale`, or `sales.sale` for a table's column.
    pub request: Located<String>,
    /// The step of the referred requests this acts on, while they are at it.
    pub step: Located<String>,
    /// A CEL date: the step's new due date (its deadline timers move with it).
    #[serde(default)]
    pub due: Option<Located<String>>,
    /// Finishes the step (a task as done, a wait as elapsed); the request goes on.
    #[serde(default)]
    pub finish: bool,
}

impl Step {
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(label) => label.to_string(),
            None => self.id.value.clone(),
        }
    }

    /// The actions offered, with defaults when the definition lists none.
    pub fn allowed_actions(&self) -> Vec<Action> {
        if !self.actions.is_empty() {
            return self.actions.iter().map(|a| a.value).collect();
        }
        match self.kind.value {
            StepKind::Approval => vec![
                Action::Approve,
                Action::Reject,
                Action::Return,
                Action::Delegate,
                Action::Consult,
                Action::Comment,
            ],
            StepKind::Task => vec![
                Action::Complete,
                Action::Delegate,
                Action::Consult,
                Action::Comment,
            ],
            _ => Vec::new(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
            .as_ref()
            .map(|m| m.value.clone())
            .unwrap_or(Mode::Any)
    }
}

/// A branch of a parallel step: its own list of steps, run in order unless their
/// transitions say otherwise. A branch finishes when it reaches `join`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// Identifier, unique within the process.
    pub id: Located<String>,
    #[serde(default)]
    pub name: Option<Label>,
    /// The steps of the branch; the first one starts it.
    pub steps: Vec<Step>,
}

/// Who acts on a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// One user: `user: wang.fang`.
    User(String),
    /// Every member of a role at the moment the step is entered: `role: finance`.
    Role(String),
    /// The submitter of the request.
    Submitter,
    /// The submitter's direct manager.
    Manager,
    /// The submitter's managers up to this many levels: `manager_chain: 2`.
    ManagerChain(u32),
    /// The head of a fixed region: `regional_head: east`.
    RegionalHead(String),
    /// The head of the region named by a form field: `regional_head_of: region`.
    RegionalHeadOf(String),
    /// The user named by a user-typed form field: `field: successor`.
    Field(String),
    /// The manager of the user named by a user-typed form field: `manager_of: employee`.
    ManagerOf(String),
    /// A CEL expression returning a user id or a list of them.
    Expr(String),
}

/// How many assignees must act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One of them decides (or-sign).
    Any,
    /// All of them must approve; one rejection rejects (countersign).
    All,
    /// One after another in list order; one rejection rejects.
    Sequential,
    /// A vote with pass and reject thresholds.
    Vote(Vote),
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Any => "any",
            Mode::All => "all",
            Mode::Sequential => "sequential",
            Mode::Vote(_) => "vote",
        }
    }
}

/// Vote thresholds: give either a count or a percentage of the assignees, for each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    /// Approvals needed to pass.
    #[serde(default)]
    pub pass: Option<u32>,
    /// Approvals needed to pass, as a percentage of the assignees (1-100).
    #[serde(default)]
    pub pass_percent: Option<u32>,
    /// Rejections that reject; default: as soon as passing is no longer possible.
    #[serde(default)]
    pub reject: Option<u32>,
    /// Rejections that reject, as a percentage of the assignees (1-100).
    #[serde(default)]
    pub reject_percent: Option<u32>,
    /// Weighted vote (票签): a voter's weight, by user or role (the largest that fits);
    /// everyone else weighs 1. The thresholds then count weight, not heads.
    #[serde(default)]
    pub weights: Vec<Weight>,
}

/// One voter's (or one role's) weight in a weighted vote: `{ role: gm, weight: 3 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Weight {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    pub weight: u32,
}

impl Vote {
    /// The weight of a voter with these roles: the largest weight naming them or one of
    /// their roles, else 1.
    pub fn weight_of(&self, user: &str, roles: &[&str]) -> u32 {
        self.weights
            .iter()
            .filter(|w| {
                w.user.as_deref() == Some(user)
                    || w.role.as_deref().is_some_and(|r| roles.contains(&r))
            })
            .map(|w| w.weight)
            .max()
            .unwrap_or(1)
    }
}

/// An action a person can take on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Approve,
    Reject,
    /// Send back for revision, to the submitter or an earlier step in `return_to`.
    Return,
    /// Let another user act on your behalf; history shows both names.
    Delegate,
    /// Hand the task over to another user for good.
    Transfer,
    /// Ask another user for an opinion (委派): the task comes back to you to decide.
    Consult,
    /// Add a signer to the running step.
    AddSigner,
    /// Remove a signer from the running step (never below what the mode needs).
    RemoveSigner,
    /// Complete a task step.
    Complete,
    /// Take a task offered to a role pool.
    Claim,
    Comment,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Return => "return",
            Action::Delegate => "delegate",
            Action::Transfer => "transfer",
            Action::AddSigner => "add_signer",
            Action::RemoveSigner => "remove_signer",
            Action::Complete => "complete",
            Action::Claim => "claim",
            Action::Consult => "consult",
            Action::Comment => "comment",
        }
    }
}

/// When a step skips itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoSkip {
    /// The assignee is the submitter.
    Submitter,
    /// The assignee already approved an earlier step of this request.
    AlreadyApproved,
}

/// A deadline on a step.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    /// Time allowed from entering the step: `3wd` (working days), `4wh` (working hours),
    /// `2d` (calendar days), `12h`, `30m`.
    pub within: Located<String>,
    /// Count from this date instead of from entering the step: a CEL expression giving a
    /// `YYYY-MM-DD` date, e.g. `form.invoice_date` (payment within 7 working days of the
    /// sale).
    #[serde(default)]
    pub from: Option<Located<String>>,
    /// Remind the assignees this long before the deadline, e.g. `1wd`.
    #[serde(default)]
    pub remind_before: Option<Located<String>>,
    /// What happens when the deadline passes; default `remind`.
    #[serde(default)]
    pub on_timeout: Option<Located<TimeoutAction>>,
}

/// What happens when a deadline passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutAction {
    /// Remind the assignees again.
    Remind,
    /// Add these people as assignees and tell them: `escalate: [manager]`.
    Escalate(Vec<Assignee>),
    /// Decide `approved` on behalf of the assignees.
    AutoApprove,
    /// Decide `rejected` on behalf of the assignees.
    AutoReject,
    /// Take the step's `timeout` transitions.
    Transition,
}

/// How many branches of a parallel step must finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Join {
    All,
    Any,
    Count(u32),
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndOutcome {
    Approved,
    Rejected,
    Completed,
    Withdrawn,
    Cancelled,
}

impl EndOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            EndOutcome::Approved => "approved",
            EndOutcome::Rejected => "rejected",
            EndOutcome::Completed => "completed",
            EndOutcome::Withdrawn => "withdrawn",
            EndOutcome::Cancelled => "cancelled",
        }
    }
}

/// The result of a step that selects transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Rejected,
    Done,
    Elapsed,
    Timeout,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
            Outcome::Done => "done",
            Outcome::Elapsed => "elapsed",
            Outcome::Timeout => "timeout",
        }
    }

    /// Outcomes that may fall through to the next listed step when no transition names them.
    pub fn continues_implicitly(self) -> bool {
        matches!(self, Outcome::Approved | Outcome::Done | Outcome::Elapsed)
    }
}

/// Where a step goes for one outcome. Entries are tried in order; the first whose
/// `when` is true (or that has no `when`) is taken.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The outcome this entry applies to.
    pub on: Located<Outcome>,
    /// A CEL guard over `form`, `submitter`, `votes` and `vars`; absent means always.
    #[serde(default)]
    pub when: Option<Located<String>>,
    /// The next step's id (or `join` inside a parallel branch).
    pub to: Located<String>,
    /// The condition in words, for diagrams (e.g. "above 5,000"); the guard itself is
    /// never shown to people.
    #[serde(default)]
    pub label: Option<Label>,
}

/// The target that ends a parallel branch.
pub const JOIN_TARGET: &str = "join";

/// Something that happens to a request, that people may be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A task is assigned to someone (or their delegate).
    TaskAssigned,
    /// A deadline is near, or passed with `on_timeout: remind`.
    Reminder,
    /// A deadline passed and the task was escalated.
    Escalated,
    /// The submitter urged the assignees.
    Urged,
    /// Someone commented on the request: the submitter is told, or, when the submitter
    /// commented, the holders of its open tasks.
    Commented,
    /// Someone is copied on a step.
    Cc,
    /// The request was approved (ended approved or completed).
    Approved,
    /// The request was rejected.
    Rejected,
    /// The request was returned for revision.
    Returned,
    /// The submitter withdrew the request.
    Withdrawn,
    /// The request stopped on an error the owner must fix.
    Incident,
    /// A step was entered.
    StepEntered,
    /// A process owner moved the request to another step (跳转).
    Moved,
    /// A process owner ended the request (终止).
    Terminated,
}

impl Event {
    pub const ALL: [Event; 14] = [
        Event::TaskAssigned,
        Event::Reminder,
        Event::Escalated,
        Event::Urged,
        Event::Commented,
        Event::Cc,
        Event::Approved,
        Event::Rejected,
        Event::Returned,
        Event::Withdrawn,
        Event::Incident,
        Event::StepEntered,
        Event::Moved,
        Event::Terminated,
    ];

    /// The name used in definitions, template files and the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::TaskAssigned => "task_assigned",
            Event::Reminder => "reminder",
            Event::Escalated => "escalated",
            Event::Urged => "urged",
            Event::Commented => "commented",
            Event::Cc => "cc",
            Event::Approved => "approved",
            Event::Rejected => "rejected",
            Event::Returned => "returned",
            Event::Withdrawn => "withdrawn",
            Event::Incident => "incident",
            Event::StepEntered => "step_entered",
            Event::Moved => "moved",
            Event::Terminated => "terminated",
        }
    }
}

/// Who is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Submitter,
    /// The assignees of the step the event is about.
    Assignees,
    /// The process owner.
    Owner,
    /// The submitter's manager.
    Manager,
    User(String),
    Role(String),
    /// The user named by a user-typed form field: `field: candidate`.
    Field(String),
}

/// A notification rule: on this event, tell these people, with this template.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyRule {
    pub on: Located<Event>,
    pub to: Vec<Located<Recipient>>,
    /// A template name from `processes/templates/`; default: the event's built-in template.
    #[serde(default)]
    pub template: Option<Located<String>>,
}

impl ProcessDef {
    /// Every step of the process, including those inside parallel branches, depth first.
    pub fn all_steps(&self) -> Vec<&Step> {
        fn walk<'a>(steps: &'a [Step], out: &mut Vec<&'a Step>) {
            for step in steps {
                out.push(step);
                for branch in &step.branches {
                    walk(&branch.steps, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.steps, &mut out);
        out
    }

    /// The step with this id, at any depth. Called on every action, so it walks the
    /// tree instead of collecting it.
    pub fn step(&self, id: &str) -> Option<&Step> {
        fn find<'a>(steps: &'a [Step], id: &str) -> Option<&'a Step> {
            steps.iter().find_map(|s| {
                if s.id.value == id {
                    Some(s)
                } else {
                    s.branches.iter().find_map(|b| find(&b.steps, id))
                }
            })
        }
        find(&self.steps, id)
    }

    pub fn start_step(&self) -> Option<&Step> {
        match &self.start {
            Some(id) => self.step(id),
            None => self.steps.first(),
        }
    }

    /// All fields readable as `form.ID`: the form's fields and its computed values.
    pub fn form_field_ids(&self) -> Vec<&str> {
        self.form
            .fields
            .iter()
            .map(|f| f.id.value.as_str())
            .chain(self.form.computed.iter().map(|c| c.id.value.as_str()))
            .collect()
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.form.fields.iter().find(|f| f.id.value == id)
    }

    /// Whether the form can refer to other requests (a `request` field or column).
    pub fn has_references(&self) -> bool {
        self.form.fields.iter().any(|f| {
            f.kind.value == FieldType::Request
                || f.columns.iter().any(|c| c.kind.value == FieldType::Request)
        })
    }

    /// The fields the submitter fills in (all but the `step_only` ones).
    pub fn submitter_fields(&self) -> Vec<Field> {
        self.form
            .fields
            .iter()
            .filter(|f| !f.step_only)
            .cloned()
            .collect()
    }
}

/// The JSON Schema of the language, for editors (`processes/schema.json`).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(ProcessDef);
    serde_json::to_value(schema).expect("a JSON Schema always serialises")
}
