//! The runtime's vocabulary: ids, states, actions, views and errors.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::form::FormErrors;

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            Serialize,
            Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                s.trim_start_matches($prefix)
                    .parse()
                    .map($name)
                    .map_err(|_| format!("`{s}` is not a {} id", $prefix.trim_end_matches('-')))
            }
        }
    };
}

id_type!(InstanceId, "instance-");
id_type!(TaskId, "task-");

pub use crate::store::status::{
    Decision, InstanceStatus, RunStatus, TaskKind, TaskStatus, TimerKind,
};

/// What a person does to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Approve,
    Reject,
    /// Back for revision: to the submitter, or (with `to`) to an earlier step.
    Return,
    Complete,
    Delegate,
    Transfer,
    AddSigner,
    RemoveSigner,
    Claim,
    Comment,
    /// The submitter sends a returned request back in.
    Resubmit,
    /// Ask someone's opinion (委派, `to`); the task comes back to the holder to decide.
    Consult,
    /// The person consulted gives their opinion (the comment); the task goes back.
    Reply,
    /// Copy the request to someone (抄送, `to`), who may then read it.
    CopyTo,
}

impl ActionKind {
    pub const ALL: [ActionKind; 14] = [
        ActionKind::Approve,
        ActionKind::Reject,
        ActionKind::Return,
        ActionKind::Complete,
        ActionKind::Delegate,
        ActionKind::Transfer,
        ActionKind::AddSigner,
        ActionKind::RemoveSigner,
        ActionKind::Claim,
        ActionKind::Comment,
        ActionKind::Resubmit,
        ActionKind::Consult,
        ActionKind::Reply,
        ActionKind::CopyTo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Approve => "approve",
            ActionKind::Reject => "reject",
            ActionKind::Return => "return",
            ActionKind::Complete => "complete",
            ActionKind::Delegate => "delegate",
            ActionKind::Transfer => "transfer",
            ActionKind::AddSigner => "add_signer",
            ActionKind::RemoveSigner => "remove_signer",
            ActionKind::Claim => "claim",
            ActionKind::Comment => "comment",
            ActionKind::Resubmit => "resubmit",
            ActionKind::Consult => "consult",
            ActionKind::Reply => "reply",
            ActionKind::CopyTo => "copy_to",
        }
    }

    /// Whether the task stays with its holder to act on afterwards (a comment, a copy,
    /// a claim), so a page goes back to it rather than to the inbox.
    pub fn keeps_the_task(self) -> bool {
        matches!(
            self,
            ActionKind::Comment | ActionKind::CopyTo | ActionKind::Claim
        )
    }

    /// The definition's action this one needs to be allowed, if any.
    pub fn model_action(self) -> Option<crate::model::Action> {
        use crate::model::Action;
        Some(match self {
            ActionKind::Approve => Action::Approve,
            ActionKind::Reject => Action::Reject,
            ActionKind::Return => Action::Return,
            ActionKind::Complete => Action::Complete,
            ActionKind::Delegate => Action::Delegate,
            ActionKind::Transfer => Action::Transfer,
            ActionKind::AddSigner => Action::AddSigner,
            ActionKind::RemoveSigner => Action::RemoveSigner,
            ActionKind::Claim => Action::Claim,
            ActionKind::Consult => Action::Consult,
            ActionKind::Comment | ActionKind::Resubmit | ActionKind::Reply | ActionKind::CopyTo => {
                return None
            }
        })
    }
}

impl FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().replace('-', "_").to_ascii_lowercase();
        ActionKind::ALL
            .into_iter()
            .find(|a| a.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = ActionKind::ALL.iter().map(|a| a.as_str()).collect();
                format!("unknown action `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// An action with its inputs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionRequest {
    pub action: Option<ActionKind>,
    #[serde(default)]
    pub comment: Option<String>,
    /// The other user (delegate, transfer, add/remove signer) or step (return).
    #[serde(default)]
    pub to: Option<String>,
    /// Changes to editable form fields, or the resubmitted form.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub form: Option<serde_json::Value>,
    /// The step's per-actor inputs (e.g. a score).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<serde_json::Value>,
    /// Where an added signer goes (add_signer): `before` or `after` (the default) the
    /// one adding them.
    #[serde(default)]
    pub position: Option<SignerPosition>,
}

/// Where an added signer decides, relative to the one who adds them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignerPosition {
    /// They decide first; then the task comes back to the one who added them.
    Before,
    /// They decide after the one who added them approves.
    #[default]
    After,
}

impl SignerPosition {
    pub fn as_str(self) -> &'static str {
        match self {
            SignerPosition::Before => "before",
            SignerPosition::After => "after",
        }
    }
}

impl ActionRequest {
    pub fn new(action: ActionKind) -> ActionRequest {
        ActionRequest {
            action: Some(action),
            ..ActionRequest::default()
        }
    }

    pub fn comment(mut self, text: &str) -> Self {
        self.comment = Some(text.to_string());
        self
    }

    pub fn to(mut self, who: &str) -> Self {
        self.to = Some(who.to_string());
        self
    }

    pub fn position(mut self, position: SignerPosition) -> Self {
        self.position = Some(position);
        self
    }

    pub fn form(mut self, form: serde_json::Value) -> Self {
        self.form = Some(form);
        self
    }

    pub fn inputs(mut self, inputs: serde_json::Value) -> Self {
        self.inputs = Some(inputs);
        self
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub id: TaskId,
    pub instance: InstanceId,
    pub process: String,
    pub process_name: String,
    /// The definition version the request runs on.
    pub version: i64,
    pub step: String,
    pub step_name: String,
    pub kind: TaskKind,
    pub assignee: String,
    pub delegate: Option<String>,
    pub pool: bool,
    pub status: TaskStatus,
    pub submitter: String,
    pub created_at: String,
    pub due_at: Option<String>,
    pub actions: Vec<String>,
    /// The request's form, for summaries.
    #[schema(value_type = Object)]
    pub form: serde_json::Value,
    /// When the request was submitted.
    pub submitted_at: String,
    /// The request's amount (its summary's first money value), if it has one.
    pub amount: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub action: super::HistoryAction,
    pub step: Option<String>,
    pub task: Option<TaskId>,
    pub comment: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub changes: Option<serde_json::Value>,
    pub detail: Option<String>,
    /// The step's inputs given with a decision (a panel member's score and remarks).
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<serde_json::Value>,
}

/// What an action changed, as the writer knows it at the commit: the request's state and
/// the tasks it opened, without reading the request back (see [`super::Engine::perform`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acted {
    pub instance: InstanceId,
    pub status: InstanceStatus,
    /// The tasks the action opened, with whom each went to.
    pub assigned: Vec<(TaskId, String)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InstanceView {
    pub id: InstanceId,
    pub process: String,
    pub version: i64,
    pub status: InstanceStatus,
    pub outcome: Option<String>,
    pub submitter: String,
    #[schema(value_type = Object)]
    pub form: serde_json::Value,
    #[schema(value_type = Object)]
    pub vars: serde_json::Value,
    pub current_steps: Vec<String>,
    pub tasks: Vec<TaskView>,
    pub incident: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub ended_at: Option<String>,
    /// Whether anybody has approved, rejected or completed a step of it.
    pub decided: bool,
    pub history: Vec<EventView>,
    /// The requests this one refers to, and those that refer to it.
    pub links: Vec<RequestLink>,
}

/// A reference between two requests, seen from one of them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestLink {
    /// The referring form's field path: `sale`, `sales[2].sale`.
    pub field: String,
    /// The request at the other end.
    pub other: InstanceId,
    pub process: String,
    pub status: InstanceStatus,
    /// Whether the other request refers to this one (else this one refers to it).
    pub incoming: bool,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub user: String,
    pub process: Option<String>,
    pub include_closed: bool,
    pub limit: Option<i64>,
    /// Where the page starts: after this task (keyset pagination, in `sort`'s order).
    pub after: Option<super::search::TaskCursor>,
    /// Text to look for in the request's form, number, submitter, process and step.
    pub search: Option<String>,
    /// Only requests submitted on or after this day (`YYYY-MM-DD`, Shanghai time).
    pub submitted_from: Option<chrono::NaiveDate>,
    /// Only requests submitted on or before this day.
    pub submitted_to: Option<chrono::NaiveDate>,
    pub sort: super::search::TaskSort,
}

impl TaskQuery {
    /// Whether it looks for some of the person's tasks only (a text or a date range),
    /// rather than all of them (or all of one process).
    pub fn narrowed(&self) -> bool {
        self.search.is_some() || self.submitted_from.is_some() || self.submitted_to.is_some()
    }
}

/// Why a request cannot be withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawRefused {
    #[error("it has already ended")]
    Ended,
    #[error("someone has already decided on it")]
    Decided,
    #[error("this process does not allow withdrawing")]
    Never,
}

/// Why an out-of-office entry is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AbsenceRefused {
    #[error("you cannot be your own deputy")]
    OwnDeputy,
    #[error("give a date as YYYY-MM-DD")]
    NotADate,
    #[error("the last day comes before the first")]
    Backwards,
}

/// Why a request cannot be taken back (拿回).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TakeBackRefused {
    #[error("it has already ended")]
    Ended,
    /// The latest decision on it is not the caller's approval (someone acted since, or
    /// they never decided it).
    #[error("the latest decision on it is not your approval: someone has acted since")]
    NotYours,
    /// The step it led to has moved on past a parallel step's join.
    #[error("the steps after yours have already moved on")]
    Acted,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("unknown process `{0}`")]
    UnknownProcess(String),
    #[error("unknown task {0}")]
    UnknownTask(TaskId),
    #[error("unknown request {0}")]
    UnknownInstance(InstanceId),
    #[error("unknown user `{0}`")]
    UnknownUser(String),
    #[error("task {task} is not yours: only {} may act on it", allowed.join(" or "))]
    NotYourTask { task: TaskId, allowed: Vec<String> },
    #[error("task {task} was already handled ({status}): someone acted first")]
    Stale { task: TaskId, status: String },
    #[error("invalid form: {0}")]
    InvalidForm(FormErrors),
    #[error("{0}")]
    NotAllowed(String),
    /// The request cannot be withdrawn now.
    #[error("request {instance} cannot be withdrawn: {why}")]
    CannotWithdraw {
        instance: InstanceId,
        why: WithdrawRefused,
    },
    /// The process names who may start it, and this user is not among them.
    #[error("you may not start `{0}`: its definition names who may")]
    NotAStarter(String),
    /// Only the request's submitter may do this.
    #[error("only the submitter of request {instance} may {action} it")]
    OnlySubmitter {
        instance: InstanceId,
        action: &'static str,
    },
    /// A task would go to someone who may not decide the request: its submitter, or a
    /// person it is about (delegate, transfer, add-signer).
    #[error("`{0}` may not decide this request (it is theirs or about them): choose someone else")]
    OwnRequest(String),
    /// A text input is longer than the engine takes.
    #[error("the {field} is too long: at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    /// A batch approval names no task, or more than it may.
    #[error("a batch approval takes 1 to {max} tasks, not {given}")]
    BatchSize { given: usize, max: usize },
    #[error("the definition cannot run: {0}")]
    Definition(String),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("the engine is shutting down")]
    Closed,
    /// The one who decided last cannot take the request back now.
    #[error("request {instance} cannot be taken back: {why}")]
    CannotTakeBack {
        instance: InstanceId,
        why: TakeBackRefused,
    },
    /// Only the process's owners and administrators may do this to a request.
    #[error("only the owners of request {instance}'s process may {action} it")]
    OnlyOwner {
        instance: InstanceId,
        action: &'static str,
    },
    /// An out-of-office entry that cannot be: a bad date, the dates out of order, oneself
    /// as deputy.
    #[error("{field}: {why}")]
    BadAbsence {
        field: &'static str,
        why: AbsenceRefused,
    },
    /// The action needs a comment: a reason, or the opinion asked for.
    #[error("{action} needs a comment")]
    CommentRequired { action: &'static str },
    /// A jump names a step the request's definition does not have, or one it cannot
    /// enter directly.
    #[error("`{0}` is not a step a request of this process can be moved to")]
    UnknownStep(String),
    /// The submitter already urged the request today (urging is once a working day).
    #[error("request {0} was already urged today: urge again on the next working day")]
    UrgedToday(InstanceId),
    /// The group commit holding the action failed: nothing of it was stored.
    #[error("the database did not store the action ({0}); nothing was changed, try again")]
    CommitFailed(String),
    /// A bounded resource (definition checks) is in use: try again shortly.
    #[error("the server is busy: try again in a moment")]
    Busy,
}

impl From<crate::store::StoreError> for EngineError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError as S;
        match e {
            S::Refused(why) => EngineError::Definition(why),
            S::Sqlx(e) => EngineError::Storage(e),
            S::Migration(e) => EngineError::Migration(e),
        }
    }
}

impl EngineError {
    /// A stable code for the command line and the API.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::UnknownProcess(_)
            | EngineError::UnknownTask(_)
            | EngineError::UnknownInstance(_) => "not_found",
            EngineError::UnknownUser(_) => "unknown_user",
            EngineError::NotYourTask { .. }
            | EngineError::OnlySubmitter { .. }
            | EngineError::OnlyOwner { .. }
            | EngineError::NotAStarter(_) => "forbidden",
            EngineError::Stale { .. } => "conflict",
            EngineError::InvalidForm(_) => "invalid_form",
            EngineError::NotAllowed(_)
            | EngineError::CannotWithdraw { .. }
            | EngineError::CannotTakeBack { .. }
            | EngineError::UrgedToday(_) => "not_allowed",
            EngineError::CommentRequired { .. } => "comment_required",
            EngineError::BadAbsence { .. } => "invalid",
            EngineError::UnknownStep(_) => "unknown_step",
            EngineError::OwnRequest(_) => "own_request",
            EngineError::TooLong { .. } => "too_long",
            EngineError::BatchSize { .. } => "batch_size",
            EngineError::Definition(_) => "definition",
            EngineError::Storage(_) | EngineError::Migration(_) | EngineError::Closed => "internal",
            EngineError::Busy => "busy",
            EngineError::CommitFailed(_) => "commit_failed",
        }
    }
}
