//! The checker: everything wrong with a definition that can be known before it runs,
//! each problem with its position and a hint. It reports all problems, not the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::diagnostic::{suggestion, Code, Diagnostic};
use crate::directory::Directory;
use crate::duration::{WorkDuration, DURATION_HINT};
use crate::flow::{Flow, Target};
use crate::guard::{self, Names};
use crate::located::{Located, Position};
use crate::model::{
    Action, Assignee, Event, Field, FieldType, Join, Mode, Outcome, Principal, ProcessDef,
    Recipient, Step, StepKind, TimeoutAction, Transition, JOIN_TARGET,
};

/// Checks one definition. `source` is the file's text (used to place positions inside
/// CEL expressions); `directory` is the org directory when one is known.
pub fn check_definition(
    path: &Path,
    source: &str,
    def: &ProcessDef,
    directory: Option<&Directory>,
) -> Vec<Diagnostic> {
    let mut checker = Checker {
        path,
        source,
        def,
        directory,
        out: Vec::new(),
        names: Names::of(def),
    };
    checker.run();
    let mut out = checker.out;
    out.sort_by_key(|d| (d.line, d.column));
    out
}

struct Checker<'a> {
    path: &'a Path,
    source: &'a str,
    def: &'a ProcessDef,
    directory: Option<&'a Directory>,
    names: Names,
    out: Vec<Diagnostic>,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl<'a> Checker<'a> {
    fn error(
        &mut self,
        code: Code,
        at: Position,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.push(Diagnostic::error(code, self.path, at, message), hint);
    }

    fn warning(
        &mut self,
        code: Code,
        at: Position,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.push(Diagnostic::warning(code, self.path, at, message), hint);
    }

    fn push(&mut self, diagnostic: Diagnostic, hint: Option<String>) {
        self.out.push(match hint {
            Some(h) => diagnostic.with_hint(h),
            None => diagnostic,
        });
    }

    fn run(&mut self) {
        let def = self.def;
        self.check_id(&def.id, "process");
        if crate::RESERVED_IDS.contains(&def.id.value.as_str()) {
            self.error(
                Code::ReservedId,
                def.id.at,
                format!(
                    "`{}` is reserved: the processes folder uses that name for another file",
                    def.id.value
                ),
                Some(format!(
                    "choose another id; reserved are {}",
                    crate::RESERVED_IDS.join(", ")
                )),
            );
        }
        self.check_principal(&def.owner);
        for starter in &def.starters {
            self.check_principal(starter);
        }
        for subject in &def.subjects {
            self.check_form_field(subject, subject.at, &[FieldType::User]);
        }
        if let Some(schedule) = &def.schedule {
            self.check_user(&schedule.submitter, schedule.submitter.at);
            if let Some(at) = &schedule.at {
                if chrono::NaiveTime::parse_from_str(&at.value, "%H:%M").is_err() {
                    self.error(
                        Code::BadDuration,
                        at.at,
                        format!("`{}` is not a time of day", at.value),
                        Some("write HH:MM, e.g. 16:00".into()),
                    );
                }
            }
        }
        if let crate::model::NoManager::Role(role) = &def.no_manager.value {
            self.check_role(role, def.no_manager.at);
        }
        self.check_fields(&def.form.fields, "form field", true);
        self.check_computed();
        self.check_summary();
        let mut vars = BTreeSet::new();
        for v in &def.variables {
            self.check_id(&v.id, "variable");
            if !vars.insert(v.id.value.as_str()) {
                self.error(
                    Code::DuplicateId,
                    v.id.at,
                    format!("duplicate variable `{}`", v.id),
                    None,
                );
            }
        }
        self.check_steps();
        for rule in &def.notify {
            self.check_notify(rule);
        }
    }

    fn check_id(&mut self, id: &Located<String>, what: &str) {
        if !is_identifier(id) {
            self.error(
                Code::BadId,
                id.at,
                format!("`{}` is not a valid {what} id", id.value),
                Some(
                    "use lower-case letters, digits and underscores, starting with a letter".into(),
                ),
            );
        }
    }

    fn check_principal(&mut self, owner: &Located<Principal>) {
        match &owner.value {
            Principal::User(u) => self.check_user(u, owner.at),
            Principal::Role(r) => self.check_role(r, owner.at),
        }
    }

    fn check_user(&mut self, user: &str, at: Position) {
        if let Some(dir) = self.directory {
            if dir.user(user).is_none() {
                let ids: Vec<&str> = dir.users.iter().map(|u| u.id.value.as_str()).collect();
                self.error(
                    Code::UnknownUser,
                    at,
                    format!("unknown user `{user}`"),
                    suggestion(user, &ids).or(Some("add the user to processes/org.yaml".into())),
                );
            }
        }
    }

    fn check_role(&mut self, role: &str, at: Position) {
        if let Some(dir) = self.directory {
            if !dir.has_role(role) {
                let ids: Vec<&str> = dir.roles.iter().map(|r| r.id.value.as_str()).collect();
                self.error(
                    Code::UnknownRole,
                    at,
                    format!("unknown role `{role}`"),
                    suggestion(role, &ids),
                );
            }
        }
    }

    fn check_region(&mut self, region: &str, at: Position) {
        if let Some(dir) = self.directory {
            if dir.region(region).is_none() {
                let ids: Vec<&str> = dir.regions.iter().map(|r| r.id.value.as_str()).collect();
                self.error(
                    Code::UnknownRegion,
                    at,
                    format!("unknown region `{region}`"),
                    suggestion(region, &ids),
                );
            }
        }
    }

    fn check_fields(&mut self, fields: &[Field], what: &str, allow_table: bool) {
        let mut seen = BTreeSet::new();
        for f in fields {
            self.check_id(&f.id, what);
            if !seen.insert(f.id.value.as_str()) {
                self.error(
                    Code::DuplicateId,
                    f.id.at,
                    format!("duplicate {what} `{}`", f.id),
                    Some("give each field its own id".into()),
                );
            }
            self.check_field(f, allow_table);
        }
    }

    /// One field: its keys must fit its type, its bounds and formats must be valid.
    fn check_field(&mut self, f: &Field, allow_table: bool) {
        self.check_field_keys(f);
        self.check_field_step_keys(f);
        self.check_field_bounds(f);
        self.check_field_pattern(f);
        self.check_field_currency(f);
        if let Some(role) = &f.role {
            self.check_role(role, role.at);
        }
        match f.kind.value {
            FieldType::Enum => self.check_field_options(f),
            FieldType::Table => self.check_field_columns(f, allow_table),
            FieldType::File => self.check_field_file(f, allow_table),
            _ => {}
        }
    }

    /// A file field sits on the request's form itself, with a size that reads.
    fn check_field_file(&mut self, f: &Field, top_level: bool) {
        if !top_level {
            self.error(
                Code::WrongType,
                f.kind.at,
                format!("`{}`: files are uploaded with the request's form, not in a table's lines or a step's inputs", f.id),
                Some("move the file field to the form's `fields:`".into()),
            );
        }
        if let Some(size) = &f.max_size {
            if let Err(reason) = size.value.parse::<crate::attachment::ByteSize>() {
                self.error(
                    Code::WrongType,
                    size.at,
                    format!("bad size `{}`: {reason}", size.value),
                    Some(crate::attachment::SIZE_HINT.into()),
                );
            }
        }
        if f.max_files == Some(0)
            || f.max_files
                .is_some_and(|n| n > crate::attachment::MAX_FILES)
        {
            self.error(
                Code::WrongType,
                f.id.at,
                format!(
                    "`{}` takes between 1 and {} files",
                    f.id,
                    crate::attachment::MAX_FILES
                ),
                Some("set `max_files:` within that range".into()),
            );
        }
    }

    /// Reports `key` set on field `f`, whose type it does not apply to.
    fn misplaced_field_key(&mut self, f: &Field, key: &str, applies: &str) {
        self.error(
            Code::MisplacedKey,
            f.id.at,
            format!(
                "`{key}` does not apply to a {} field (`{}`)",
                f.kind.value.as_str(),
                f.id
            ),
            Some(format!(
                "`{key}` is for {applies} fields; remove it or change `type`"
            )),
        );
    }

    /// Keys that only some field types take must not be set on the others.
    fn check_field_keys(&mut self, f: &Field) {
        let kind = f.kind.value;
        let numeric = matches!(kind, FieldType::Number | FieldType::Money);
        let textual = matches!(kind, FieldType::Text | FieldType::LongText);
        if (f.min.is_some() || f.max.is_some()) && !numeric {
            self.misplaced_field_key(f, "min/max", "number and money");
        }
        if f.integer && kind != FieldType::Number {
            self.misplaced_field_key(f, "integer", "number");
        }
        if f.currency.is_some() && kind != FieldType::Money {
            self.misplaced_field_key(f, "currency", "money");
        }
        if (f.min_length.is_some() || f.max_length.is_some() || f.pattern.is_some()) && !textual {
            self.misplaced_field_key(f, "min_length/max_length/pattern", "text and long_text");
        }
        if !f.options.is_empty() && kind != FieldType::Enum {
            self.misplaced_field_key(f, "options", "enum");
        }
        if (!f.columns.is_empty() || f.min_rows.is_some() || f.max_rows.is_some())
            && kind != FieldType::Table
        {
            self.misplaced_field_key(f, "columns/min_rows/max_rows", "table");
        }
        if f.role.is_some() && kind != FieldType::User {
            self.misplaced_field_key(f, "role", "user");
        }
        if (f.process.is_some() || f.step.is_some()) && kind != FieldType::Request {
            self.misplaced_field_key(f, "process/step", "request");
        }
        if (!f.accept.is_empty() || f.max_size.is_some() || f.max_files.is_some())
            && kind != FieldType::File
        {
            self.misplaced_field_key(f, "accept/max_size/max_files", "file");
        }
    }

    /// `step_only` excludes `required`, and a `step` needs the `process` it belongs to.
    fn check_field_step_keys(&mut self, f: &Field) {
        if f.step_only && f.required {
            self.error(
                Code::MisplacedKey,
                f.id.at,
                format!(
                    "`{}` is `step_only` and `required`: the submitter cannot fill it in",
                    f.id
                ),
                Some("drop `required` and list the field under the step's `required:`".into()),
            );
        }
        if let (Some(step), None) = (&f.step, &f.process) {
            self.error(
                Code::MissingKey,
                step.at,
                format!("`{}` names a step but no `process`", f.id),
                Some("add `process:` with the id of the process that step belongs to".into()),
            );
        }
    }

    /// Each lower bound of a field must not exceed its upper bound.
    fn check_field_bounds(&mut self, f: &Field) {
        let bounds = [
            ("min", "max", f.min, f.max),
            (
                "min_length",
                "max_length",
                f.min_length.map(f64::from),
                f.max_length.map(f64::from),
            ),
            (
                "min_rows",
                "max_rows",
                f.min_rows.map(f64::from),
                f.max_rows.map(f64::from),
            ),
        ];
        for (low, high, min, max) in bounds {
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    self.error(
                        Code::BadBounds,
                        f.id.at,
                        format!("`{}` has {low} {min} above {high} {max}", f.id),
                        Some("swap the two bounds".into()),
                    );
                }
            }
        }
    }

    /// A field's `pattern` must be a valid regular expression.
    fn check_field_pattern(&mut self, f: &Field) {
        if let Some(pattern) = &f.pattern {
            if let Err(e) = regex::Regex::new(pattern) {
                let detail = e.to_string();
                let last = detail.lines().last().unwrap_or_default().trim();
                let last = last.strip_prefix("error: ").unwrap_or(last).to_string();
                self.error(
                    Code::BadPattern,
                    pattern.at,
                    format!("invalid pattern: {last}"),
                    Some(
                        "patterns use Rust regex syntax; escape special characters with `\\`"
                            .into(),
                    ),
                );
            }
        }
    }

    /// A field's `currency` must be an ISO code: three capital letters.
    fn check_field_currency(&mut self, f: &Field) {
        if let Some(currency) = &f.currency {
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                self.error(
                    Code::WrongType,
                    f.id.at,
                    format!("`{currency}` is not an ISO currency code"),
                    Some("write three capital letters, e.g. `CNY`".into()),
                );
            }
        }
    }

    /// An enum field needs options, each with its own value.
    fn check_field_options(&mut self, f: &Field) {
        if f.options.is_empty() {
            self.error(
                Code::MissingKey,
                f.id.at,
                format!("enum field `{}` has no options", f.id),
                Some("add `options:` with `value` and `label` entries".into()),
            );
        }
        let mut values = BTreeSet::new();
        for o in &f.options {
            if !values.insert(o.value.value.as_str()) {
                self.error(
                    Code::DuplicateId,
                    o.value.at,
                    format!("duplicate option `{}`", o.value),
                    None,
                );
            }
        }
    }

    /// A table field needs columns, is not nested in another table, and its columns are fields.
    fn check_field_columns(&mut self, f: &Field, allow_table: bool) {
        if !allow_table {
            self.error(
                Code::WrongType,
                f.kind.at,
                "tables cannot be nested",
                Some("put the nested lines in their own table field".into()),
            );
        }
        if f.columns.is_empty() {
            self.error(
                Code::MissingKey,
                f.id.at,
                format!("table `{}` has no columns", f.id),
                Some("add `columns:` with the fields of each line".into()),
            );
        }
        self.check_fields(&f.columns, "column", false);
    }

    fn check_computed(&mut self) {
        let mut seen: BTreeSet<&str> = self
            .def
            .form
            .fields
            .iter()
            .map(|f| f.id.value.as_str())
            .collect();
        for c in &self.def.form.computed {
            self.check_id(&c.id, "computed field");
            if !seen.insert(c.id.value.as_str()) {
                self.error(
                    Code::DuplicateId,
                    c.id.at,
                    format!("`{}` is already a field", c.id),
                    None,
                );
            }
            self.check_cel(&c.expr);
        }
        for rule in &self.def.form.rules {
            self.check_cel(&rule.check);
            if let Some(field) = &rule.field {
                if self.def.field(field).is_none() {
                    let ids = self.def.form_field_ids();
                    self.error(
                        Code::UnknownField,
                        field.at,
                        format!("rule names unknown form field `{field}`"),
                        suggestion(field, &ids),
                    );
                }
            }
        }
    }

    /// Position of character `offset` of the CEL text written at `at`.
    fn position_in(&self, at: Position, expr: &str, offset: usize) -> Position {
        if expr.contains('\n') || !at.is_known() {
            return at;
        }
        let line = self
            .source
            .lines()
            .nth(at.line as usize - 1)
            .unwrap_or_default();
        let first = line.chars().nth(at.column as usize - 1);
        match first {
            Some('"') | Some('\'') => at.shifted(offset as u32 + 1),
            Some('|') | Some('>') => at,
            _ => at.shifted(offset as u32),
        }
    }

    fn check_cel(&mut self, expr: &Located<String>) {
        match guard::compile(expr) {
            Err(guard::GuardError::Syntax { message, offset }) => {
                let at = self.position_in(expr.at, expr, offset);
                self.error(Code::CelSyntax, at, format!("CEL syntax error: {message}"), Some("see https://cel.dev for the expression syntax; quote the whole expression in YAML if it contains `: ` or `#`".into()));
            }
            Err(guard::GuardError::TooCostly { message, offset }) => {
                let at = self.position_in(expr.at, expr, offset);
                self.error(
                    Code::CelTooCostly,
                    at,
                    format!("CEL expression too costly: {message}"),
                    Some("the server bounds every expression so one rule cannot stall or crash it; move parts into computed form values".into()),
                );
            }
            Err(other) => self.error(Code::CelSyntax, expr.at, other.to_string(), None),
            Ok(compiled) => {
                for unknown in compiled.unknown_names(&self.names) {
                    let at = self.position_in(expr.at, expr, unknown.offset);
                    let candidates: Vec<&str> =
                        unknown.candidates.iter().map(String::as_str).collect();
                    let what = if unknown.name.starts_with("form.") {
                        "form field"
                    } else if unknown.name.starts_with("vars.") {
                        "variable"
                    } else {
                        "name"
                    };
                    self.error(
                        Code::CelUnknownName,
                        at,
                        format!("unknown {what} `{}`", unknown.name),
                        suggestion(&unknown.wrong, &candidates),
                    );
                }
            }
        }
    }

    fn check_duration(&mut self, text: &Located<String>) -> Option<WorkDuration> {
        match text.parse::<WorkDuration>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    Code::BadDuration,
                    text.at,
                    e.to_string(),
                    Some(DURATION_HINT.into()),
                );
                None
            }
        }
    }

    fn check_assignee(&mut self, a: &Located<Assignee>) {
        match &a.value {
            Assignee::User(u) => self.check_user(u, a.at),
            Assignee::Role(r) => self.check_role(r, a.at),
            Assignee::RegionalHead(r) => self.check_region(r, a.at),
            Assignee::RegionalHeadOf(field) => {
                self.check_form_field(field, a.at, &[FieldType::Enum, FieldType::Text])
            }
            Assignee::Field(field) | Assignee::ManagerOf(field) => {
                self.check_form_field(field, a.at, &[FieldType::User])
            }
            Assignee::Expr(e) => self.check_cel(&Located::new(e.clone(), a.at)),
            Assignee::ManagerChain(0) => self.error(
                Code::WrongType,
                a.at,
                "`manager_chain` needs at least 1 level",
                None,
            ),
            Assignee::Submitter | Assignee::Manager | Assignee::ManagerChain(_) => {}
        }
    }

    /// `summary` names form fields or computed values, each once.
    fn check_summary(&mut self) {
        let def = self.def;
        let mut seen = BTreeSet::new();
        for id in &def.summary {
            let known = def.field(&id.value).is_some()
                || def.form.computed.iter().any(|c| c.id.value == id.value);
            if !known {
                let mut ids = def.form_field_ids();
                ids.extend(def.form.computed.iter().map(|c| c.id.value.as_str()));
                self.error(
                    Code::UnknownField,
                    id.at,
                    format!(
                        "`summary` names `{}`, which is not a form field or computed value",
                        id.value
                    ),
                    suggestion(&id.value, &ids),
                );
            } else if !seen.insert(id.value.as_str()) {
                self.error(
                    Code::DuplicateId,
                    id.at,
                    format!("`summary` names `{}` twice", id.value),
                    Some("name each field once".into()),
                );
            }
        }
    }

    fn check_form_field(&mut self, field: &str, at: Position, kinds: &[FieldType]) {
        match self.def.field(field) {
            None => {
                let ids = self.def.form_field_ids();
                self.error(
                    Code::UnknownField,
                    at,
                    format!("unknown form field `{field}`"),
                    suggestion(field, &ids),
                );
            }
            Some(f) if !kinds.contains(&f.kind.value) => {
                let wanted: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                self.error(
                    Code::WrongType,
                    at,
                    format!("form field `{field}` is a {} field", f.kind.value.as_str()),
                    Some(format!("it must be of type {}", wanted.join(" or "))),
                );
            }
            Some(_) => {}
        }
    }

    fn check_steps(&mut self) {
        let def = self.def;
        if def.steps.is_empty() {
            self.error(
                Code::MissingKey,
                def.id.at,
                "the process has no steps",
                Some("add `steps:` ending in a step of `type: end`".into()),
            );
            return;
        }
        let flow = Flow::new(def);
        let mut ids: BTreeMap<&str, Position> = BTreeMap::new();
        for step in def.all_steps() {
            self.check_id(&step.id, "step");
            if step.id.value == JOIN_TARGET {
                self.error(
                    Code::BadId,
                    step.id.at,
                    "`join` is reserved for ending a parallel branch",
                    Some("rename the step".into()),
                );
            }
            if let Some(first) = ids.insert(step.id.value.as_str(), step.id.at) {
                self.error(
                    Code::DuplicateId,
                    step.id.at,
                    format!(
                        "duplicate step id `{}` (first at line {})",
                        step.id, first.line
                    ),
                    Some("step ids must be unique within the process, branches included".into()),
                );
            }
            for b in &step.branches {
                self.check_id(&b.id, "branch");
            }
        }
        if let Some(start) = &def.start {
            if flow.placement(start).is_none_or(|p| p.branch.is_some()) {
                let top: Vec<&str> = def.steps.iter().map(|s| s.id.value.as_str()).collect();
                self.error(
                    Code::UnknownStep,
                    start.at,
                    format!("start step `{start}` is not a top-level step"),
                    suggestion(start, &top),
                );
            }
        }
        for step in def.all_steps() {
            self.check_step(step, &flow);
        }
        self.check_reachability(&flow);
        self.check_step_only();
    }

    /// A `step_only` field is filled in at a step, so some step must list it as editable.
    fn check_step_only(&mut self) {
        let steps = self.def.all_steps();
        for f in self.def.form.fields.iter().filter(|f| f.step_only) {
            let editable = steps
                .iter()
                .any(|s| s.editable.iter().any(|e| e.value == f.id.value));
            if !editable {
                self.error(
                    Code::MissingKey,
                    f.id.at,
                    format!(
                        "`{}` is `step_only` but no step lists it as `editable`",
                        f.id
                    ),
                    Some("add it to the `editable:` of the step that fills it in".into()),
                );
            }
        }
    }

    /// One step: each concern of it in turn, then its transitions and notifications.
    fn check_step(&mut self, step: &Step, flow: &Flow) {
        self.check_step_assignees(step);
        self.check_step_mode(step);
        self.check_step_actions(step);
        self.check_step_return_to(step, flow);
        self.check_step_editable(step);
        self.check_step_inputs(step);
        self.check_step_deadline(step);
        self.check_step_set(step);
        self.check_step_wait(step);
        self.check_links(step);
        self.check_step_parallel(step);
        self.check_step_end(step, flow);
        self.check_transitions(step, flow);
        for rule in &step.notify {
            self.check_notify(rule);
        }
    }

    /// Reports `key` set on `step`, whose type it does not apply to.
    fn misplaced_step_key(&mut self, step: &Step, key: &str, applies: &str) {
        self.error(
            Code::MisplacedKey,
            step.id.at,
            format!(
                "`{key}` does not apply to a {} step (`{}`)",
                step.kind.value.as_str(),
                step.id
            ),
            Some(format!(
                "`{key}` is for {applies} steps; remove it or change `type`"
            )),
        );
    }

    /// Approval and task steps need assignees; other steps take none of the actor's keys.
    fn check_step_assignees(&mut self, step: &Step) {
        let kind = step.kind.value;
        if kind.has_assignees() {
            if step.assignees.is_empty() {
                self.error(
                    Code::MissingKey,
                    step.id.at,
                    format!("{} step `{}` has no assignees", kind.as_str(), step.id),
                    Some("add `assignees:`, e.g. `- manager` or `- role: finance`".into()),
                );
            }
        } else {
            let applies = "approval and task";
            if !step.assignees.is_empty() {
                self.misplaced_step_key(step, "assignees", applies);
            }
            if step.mode.is_some() {
                self.misplaced_step_key(step, "mode", applies);
            }
            if !step.actions.is_empty() {
                self.misplaced_step_key(step, "actions", applies);
            }
            if !step.inputs.is_empty() {
                self.misplaced_step_key(step, "inputs", applies);
            }
            if !step.editable.is_empty() {
                self.misplaced_step_key(step, "editable", applies);
            }
            if step.deadline.is_some() {
                self.misplaced_step_key(step, "deadline", applies);
            }
        }
        for a in &step.assignees {
            self.check_assignee(a);
        }
        for a in &step.cc {
            self.check_assignee(a);
        }
    }

    /// A vote's thresholds: one way to pass, at most one to reject, all in range.
    fn check_step_mode(&mut self, step: &Step) {
        let Some(mode) = &step.mode else { return };
        let Mode::Vote(vote) = &mode.value else {
            return;
        };
        let passes = usize::from(vote.pass.is_some()) + usize::from(vote.pass_percent.is_some());
        if passes != 1 {
            self.error(
                Code::BadMode,
                mode.at,
                "a vote needs exactly one of `pass` and `pass_percent`",
                Some("e.g. `vote: { pass_percent: 60 }`".into()),
            );
        }
        if vote.reject.is_some() && vote.reject_percent.is_some() {
            self.error(
                Code::BadMode,
                mode.at,
                "give at most one of `reject` and `reject_percent`",
                None,
            );
        }
        for p in [vote.pass_percent, vote.reject_percent]
            .into_iter()
            .flatten()
        {
            if p == 0 || p > 100 {
                self.error(
                    Code::BadMode,
                    mode.at,
                    format!("{p}% is not a percentage between 1 and 100"),
                    None,
                );
            }
        }
        if vote.pass == Some(0) || vote.reject == Some(0) {
            self.error(
                Code::BadMode,
                mode.at,
                "vote thresholds must be at least 1",
                None,
            );
        }
        for w in &vote.weights {
            self.check_weight(w, mode.at);
        }
    }

    /// A weighted vote's weight: names one user or one role they know, and weighs 1-100.
    fn check_weight(&mut self, w: &crate::model::Weight, at: Position) {
        match (&w.user, &w.role) {
            (Some(user), None) => self.check_user(user, at),
            (None, Some(role)) => self.check_role(role, at),
            _ => self.error(
                Code::BadMode,
                at,
                "a vote weight names exactly one `user` or one `role`",
                Some("e.g. `weights: [{ role: general_manager, weight: 3 }]`".into()),
            ),
        }
        if w.weight == 0 || w.weight > 100 {
            self.error(
                Code::BadMode,
                at,
                format!("a vote weight of {} is not between 1 and 100", w.weight),
                None,
            );
        }
    }

    /// Each listed action must be one the step's type offers.
    fn check_step_actions(&mut self, step: &Step) {
        let kind = step.kind.value;
        for action in &step.actions {
            let fits = match action.value {
                Action::Approve | Action::Reject => kind == StepKind::Approval,
                Action::Complete => kind == StepKind::Task,
                _ => true,
            };
            if !fits {
                self.error(
                    Code::BadAction,
                    action.at,
                    format!(
                        "`{}` is not an action of a {} step",
                        action.value.as_str(),
                        kind.as_str()
                    ),
                    Some(if kind == StepKind::Task {
                        "task steps are finished with `complete`".into()
                    } else {
                        "approval steps are decided with `approve` and `reject`".into()
                    }),
                );
            }
        }
    }

    /// `return_to` needs the `return` action and names the submitter or known steps.
    fn check_step_return_to(&mut self, step: &Step, flow: &Flow) {
        let allows_return = step.allowed_actions().contains(&Action::Return);
        if !step.return_to.is_empty() && !allows_return {
            self.warning(
                Code::BadAction,
                step.id.at,
                format!(
                    "`return_to` is set but step `{}` does not offer `return`",
                    step.id
                ),
                Some("add `return` to `actions`".into()),
            );
        }
        for target in &step.return_to {
            if target.value == "submitter" {
                continue;
            }
            if let Target::Unknown = flow.resolve(step, target) {
                let cands = self.sibling_ids(flow, step);
                self.error(
                    Code::UnknownStep,
                    target.at,
                    format!("`return_to` names unknown step `{target}`"),
                    suggestion(target, &cands)
                        .or(Some("use `submitter` or the id of an earlier step".into())),
                );
            }
        }
    }

    /// `editable` names form fields, and `required` names editable ones.
    fn check_step_editable(&mut self, step: &Step) {
        for field in &step.editable {
            if !self
                .def
                .form
                .fields
                .iter()
                .any(|f| f.id.value == field.value)
            {
                let ids: Vec<&str> = self
                    .def
                    .form
                    .fields
                    .iter()
                    .map(|f| f.id.value.as_str())
                    .collect();
                self.error(
                    Code::UnknownField,
                    field.at,
                    format!("`editable` names unknown form field `{field}`"),
                    suggestion(field, &ids),
                );
            }
        }
        for field in &step.required {
            if !step.editable.iter().any(|e| e.value == field.value) {
                self.error(
                    Code::UnknownField,
                    field.at,
                    format!("`required` names `{field}`, which is not editable at this step"),
                    Some("list it under `editable` too, so the actor can fill it in".into()),
                );
            }
        }
    }

    /// A step's `inputs` are fields, best with ids distinct from the form's.
    fn check_step_inputs(&mut self, step: &Step) {
        self.check_fields(&step.inputs, "input", false);
        for input in &step.inputs {
            if self.names.form.contains(&input.id.value) {
                self.warning(
                    Code::DuplicateId,
                    input.id.at,
                    format!("input `{}` has the same id as a form field", input.id),
                    Some(
                        "guards read inputs from `votes.ballots`; a distinct id avoids confusion"
                            .into(),
                    ),
                );
            }
        }
    }

    /// A `deadline`: its start, its durations and what happens on timeout.
    fn check_step_deadline(&mut self, step: &Step) {
        let Some(deadline) = &step.deadline else {
            return;
        };
        if let Some(from) = &deadline.from {
            self.check_cel(from);
        }
        let within = self.check_duration(&deadline.within);
        if let Some(before) = &deadline.remind_before {
            if let (Some(within), Some(before)) = (within, self.check_duration(before)) {
                if before == within {
                    self.warning(
                        Code::BadDuration,
                        deadline.within.at,
                        "the reminder falls at the moment the task starts",
                        None,
                    );
                }
            }
        }
        if let Some(on_timeout) = &deadline.on_timeout {
            self.check_step_on_timeout(step, on_timeout);
        }
    }

    /// A deadline's `on_timeout` must be an action the step can take.
    fn check_step_on_timeout(&mut self, step: &Step, on_timeout: &Located<TimeoutAction>) {
        match &on_timeout.value {
            TimeoutAction::Escalate(to) => {
                if to.is_empty() {
                    self.error(
                        Code::MissingKey,
                        on_timeout.at,
                        "`escalate` names nobody",
                        Some("e.g. `escalate: [manager]`".into()),
                    );
                }
                for a in to {
                    self.check_assignee(&Located::new(a.clone(), on_timeout.at));
                }
            }
            TimeoutAction::AutoApprove | TimeoutAction::AutoReject
                if step.kind.value != StepKind::Approval =>
            {
                self.error(
                    Code::BadAction,
                    on_timeout.at,
                    "only approval steps can approve or reject on timeout",
                    Some("use `transition` with `on: timeout` transitions".into()),
                );
            }
            TimeoutAction::Transition
                if !step
                    .transitions
                    .iter()
                    .any(|t| t.on.value == Outcome::Timeout) =>
            {
                self.error(Code::MissingTransition, on_timeout.at, format!("step `{}` takes a transition on timeout but has no `on: timeout` transition", step.id), Some("add a transition with `on: timeout`".into()));
            }
            _ => {}
        }
    }

    /// An auto step's `set` assigns declared variables from CEL; other steps have none.
    fn check_step_set(&mut self, step: &Step) {
        if step.kind.value != StepKind::Auto {
            if !step.set.is_empty() {
                self.misplaced_step_key(step, "set", "auto");
            }
            return;
        }
        for (var, expr) in &step.set {
            if !self.names.vars.contains(var) {
                let vars: Vec<&str> = self.names.vars.iter().map(String::as_str).collect();
                self.error(
                    Code::UnknownField,
                    expr.at,
                    format!("`set` names unknown variable `{var}`"),
                    suggestion(var, &vars).or(Some("declare it under `variables:`".into())),
                );
            }
            self.check_cel(expr);
        }
    }

    /// A wait step waits for exactly one of `for`, `until` and `by`; other steps for none.
    fn check_step_wait(&mut self, step: &Step) {
        if step.kind.value != StepKind::Wait {
            if step.wait_for.is_some() || step.until.is_some() || step.by.is_some() {
                self.misplaced_step_key(step, "for/until/by", "wait");
            }
            return;
        }
        match (&step.wait_for, &step.until, &step.by) {
            (Some(d), None, None) => {
                self.check_duration(d);
            }
            (None, Some(u), None) => self.check_cel(u),
            (None, None, Some(_)) => {}
            _ => self.error(
                Code::MissingKey,
                step.id.at,
                format!(
                    "wait step `{}` needs exactly one of `for`, `until` and `by`",
                    step.id
                ),
                Some(
                    "e.g. `for: 7wd`, `until: form.effective_date` or `by: monthly_statement`"
                        .into(),
                ),
            ),
        }
    }

    /// A parallel step has two or more non-empty branches and a feasible `join`;
    /// other steps have neither.
    fn check_step_parallel(&mut self, step: &Step) {
        if step.kind.value != StepKind::Parallel {
            if !step.branches.is_empty() {
                self.misplaced_step_key(step, "branches", "parallel");
            }
            if step.join.is_some() {
                self.misplaced_step_key(step, "join", "parallel");
            }
            return;
        }
        if step.branches.len() < 2 {
            self.error(
                Code::MissingKey,
                step.id.at,
                format!("parallel step `{}` needs at least two branches", step.id),
                None,
            );
        }
        for b in &step.branches {
            if b.steps.is_empty() {
                self.error(
                    Code::MissingKey,
                    b.id.at,
                    format!("branch `{}` has no steps", b.id),
                    None,
                );
            }
        }
        if let Some(join) = &step.join {
            if let Join::Count(n) = join.value {
                if n == 0 || n as usize > step.branches.len() {
                    self.error(
                        Code::BadMode,
                        join.at,
                        format!(
                            "`count: {n}` but there are {} branches",
                            step.branches.len()
                        ),
                        None,
                    );
                }
            }
        }
    }

    /// An end step has an `outcome`, no transitions, and sits outside branches;
    /// other steps have no `outcome`.
    fn check_step_end(&mut self, step: &Step, flow: &Flow) {
        if step.kind.value != StepKind::End {
            if step.outcome.is_some() {
                self.misplaced_step_key(step, "outcome", "end");
            }
            return;
        }
        if step.outcome.is_none() {
            self.error(
                Code::MissingKey,
                step.id.at,
                format!("end step `{}` has no `outcome`", step.id),
                Some(
                    "add `outcome: approved` (or rejected, completed, withdrawn, cancelled)".into(),
                ),
            );
        }
        if let Some(t) = step.transitions.first() {
            self.error(
                Code::MisplacedKey,
                t.on.at,
                "an end step has no transitions",
                Some("remove `transitions` or change `type`".into()),
            );
        }
        if flow.placement(&step.id).is_some_and(|p| p.branch.is_some()) {
            self.error(
                Code::MisplacedKey,
                step.id.at,
                "an end step cannot be inside a parallel branch",
                Some("end the branch with `to: join`".into()),
            );
        }
    }

    /// A step's `links`: each names a `request` field (or a table's `request` column)
    /// with a `process`, and does one thing to the referred requests.
    fn check_links(&mut self, step: &Step) {
        for link in &step.links {
            let path = link.request.value.as_str();
            let field = match path.split_once('.') {
                Some((table, column)) => self
                    .def
                    .field(table)
                    .and_then(|t| t.columns.iter().find(|c| c.id.value == column)),
                None => self.def.field(path),
            };
            match field {
                None => {
                    let ids = self.def.form_field_ids();
                    self.error(
                        Code::UnknownField,
                        link.request.at,
                        format!("`request: {path}` names no form field"),
                        suggestion(path, &ids).or(Some(
                            "name a `request` field, or `table.column` for a table's column".into(),
                        )),
                    );
                }
                Some(f) if f.kind.value != FieldType::Request => self.error(
                    Code::WrongType,
                    link.request.at,
                    format!("`{path}` is a {} field", f.kind.value.as_str()),
                    Some("links act through a field of type `request`".into()),
                ),
                Some(f) if f.process.is_none() => self.error(
                    Code::MissingKey,
                    f.id.at,
                    format!(
                        "`{path}` has no `process`, so `step: {}` cannot be known",
                        link.step
                    ),
                    Some("add `process:` to the field".into()),
                ),
                Some(_) => {}
            }
            match (&link.due, link.finish) {
                (Some(due), false) => self.check_cel(due),
                (None, true) => {}
                _ => self.error(
                    Code::MissingKey,
                    link.step.at,
                    "a link needs exactly one of `due` and `finish: true`",
                    Some(
                        "`due: form.new_due` moves the step's due date; `finish: true` ends it"
                            .into(),
                    ),
                ),
            }
        }
    }

    fn sibling_ids<'f>(&self, flow: &Flow<'f>, step: &Step) -> Vec<&'f str> {
        let mut ids: Vec<&str> = flow
            .placement(&step.id)
            .map(|p| p.siblings.iter().map(|s| s.id.value.as_str()).collect())
            .unwrap_or_default();
        if flow.placement(&step.id).is_some_and(|p| p.branch.is_some()) {
            ids.push(JOIN_TARGET);
        }
        ids
    }

    /// A step's transitions: each valid on its own, then every outcome routed somewhere.
    fn check_transitions(&mut self, step: &Step, flow: &Flow) {
        let outcomes = Flow::outcomes(step);
        for t in &step.transitions {
            self.check_transition_outcome(step, t, &outcomes);
            self.check_transition_target(step, t, flow);
            if let Some(when) = &t.when {
                self.check_cel(when);
            }
        }
        if step.kind.value == StepKind::End {
            return;
        }
        for outcome in outcomes {
            let listed: Vec<_> = step
                .transitions
                .iter()
                .filter(|t| t.on.value == outcome)
                .collect();
            if listed.is_empty() {
                self.check_outcome_routed(step, outcome, flow);
            } else {
                self.check_outcome_default(step, outcome, &listed);
            }
        }
    }

    /// A transition's `on` must be an outcome the step can have.
    fn check_transition_outcome(&mut self, step: &Step, t: &Transition, outcomes: &[Outcome]) {
        if step.kind.value == StepKind::End || outcomes.contains(&t.on.value) {
            return;
        }
        let names: Vec<&str> = outcomes.iter().map(|o| o.as_str()).collect();
        let hint = if t.on.value == Outcome::Timeout {
            "set `deadline.on_timeout: transition` to use `on: timeout`".to_string()
        } else {
            format!(
                "a {} step has outcomes {}",
                step.kind.value.as_str(),
                names.join(", ")
            )
        };
        self.error(
            Code::MissingTransition,
            t.on.at,
            format!(
                "a {} step never has outcome `{}`",
                step.kind.value.as_str(),
                t.on.value.as_str()
            ),
            Some(hint),
        );
    }

    /// A transition's `to` must name a step within reach of the step it leaves.
    fn check_transition_target(&mut self, step: &Step, t: &Transition, flow: &Flow) {
        let Target::Unknown = flow.resolve(step, &t.to) else {
            return;
        };
        let cands = self.sibling_ids(flow, step);
        let in_branch = flow.placement(&step.id).is_some_and(|p| p.branch.is_some());
        let elsewhere = flow.placement(&t.to).is_some();
        let message = if elsewhere {
            format!(
                "transition to `{}`, which is out of reach from {}",
                t.to,
                if in_branch {
                    "this branch"
                } else {
                    "the top level"
                }
            )
        } else {
            format!("transition to unknown step `{}`", t.to)
        };
        let hint = if elsewhere {
            Some("steps in a branch lead to steps of the same branch or to `join`; top-level steps lead to top-level steps".into())
        } else {
            suggestion(&t.to, &cands)
        };
        self.error(Code::UnknownStep, t.to.at, message, hint);
    }

    /// An outcome without listed transitions must continue implicitly to a next step.
    fn check_outcome_routed(&mut self, step: &Step, outcome: Outcome, flow: &Flow) {
        if !flow.routes(step, outcome).is_empty() {
            return;
        }
        let why = if outcome.continues_implicitly() {
            "it is the last step, so there is no next step to continue to"
        } else {
            "this outcome never continues implicitly"
        };
        self.error(
            Code::MissingTransition,
            step.id.at,
            format!(
                "step `{}` has no transition for outcome `{}`",
                step.id,
                outcome.as_str()
            ),
            Some(format!(
                "{why}; add `- on: {}` with `to:`",
                outcome.as_str()
            )),
        );
    }

    /// The transitions listed for an outcome need one default without `when`, and nothing after it.
    fn check_outcome_default(&mut self, step: &Step, outcome: Outcome, listed: &[&Transition]) {
        if let Some(pos) = listed.iter().position(|t| t.when.is_none()) {
            for unreachable in &listed[pos + 1..] {
                self.warning(
                    Code::UnreachableStep,
                    unreachable.on.at,
                    "this transition is never taken: an earlier one without `when` always matches",
                    Some("move it above the default, or remove it".into()),
                );
            }
        } else {
            let last = listed.last().map_or(step.id.at, |t| t.on.at);
            self.error(Code::MissingDefault, last, format!("every `{}` transition of step `{}` has a guard; when all are false the request stops", outcome.as_str(), step.id), Some(format!("add a last `- on: {}` entry without `when` as the default", outcome.as_str())));
        }
    }

    fn check_reachability(&mut self, flow: &Flow) {
        let def = self.def;
        let mut scopes: Vec<&[Step]> = vec![&def.steps];
        for step in def.all_steps() {
            for b in &step.branches {
                scopes.push(&b.steps);
            }
        }
        for (i, scope) in scopes.iter().enumerate() {
            let first = if i == 0 {
                def.start_step().or(scope.first())
            } else {
                scope.first()
            };
            let Some(first) = first else { continue };
            let reached = flow.reachable_from(first);
            for step in scope.iter() {
                if !reached.iter().any(|r| std::ptr::eq(*r, step)) {
                    self.error(Code::UnreachableStep, step.id.at, format!("step `{}` can never be reached", step.id), Some(if i == 0 { "no transition leads here from the start step; add one or remove the step".into() } else { "no transition in its branch leads here from the branch's first step".into() }));
                } else if !flow.can_finish(step) {
                    self.error(
                        Code::NoWayToEnd,
                        step.id.at,
                        format!("from step `{}` no end can be reached", step.id),
                        Some(if i == 0 {
                            "add a transition that leads, eventually, to a step of `type: end`"
                                .into()
                        } else {
                            "add a transition that leads, eventually, to `join`".into()
                        }),
                    );
                }
            }
        }
    }

    fn check_notify(&mut self, rule: &crate::model::NotifyRule) {
        if rule.to.is_empty() {
            self.error(
                Code::MissingKey,
                rule.on.at,
                "a notification rule with nobody in `to`",
                None,
            );
        }
        for r in &rule.to {
            match &r.value {
                Recipient::User(u) => self.check_user(u, r.at),
                Recipient::Role(role) => self.check_role(role, r.at),
                Recipient::Field(field) => self.check_form_field(field, r.at, &[FieldType::User]),
                Recipient::Assignees
                    if matches!(
                        rule.on.value,
                        Event::Withdrawn | Event::Approved | Event::Rejected | Event::Terminated
                    ) =>
                {
                    self.warning(
                        Code::MisplacedKey,
                        r.at,
                        "when the request has ended there are no assignees to tell",
                        None,
                    );
                }
                _ => {}
            }
        }
        if let Some(t) = &rule.template {
            if !is_identifier(t) {
                self.error(
                    Code::BadId,
                    t.at,
                    format!("`{t}` is not a template name"),
                    Some("name a template of processes/templates/ without its extension".into()),
                );
            }
        }
    }
}
