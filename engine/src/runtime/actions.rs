//! What the task actions share (their commands are in `cmd/`): the task row, the checks
//! of inputs and edits, the task changes; how a decision settles a step by its mode; and
//! what a step's timers do when they fire.

use super::notes::Note;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::form::{validate_fields, validate_form, FormErrors};
use crate::model::{Mode, Outcome, Step, StepKind};
use crate::problem::FieldProblem;
use crate::store;

use super::history::HistoryAction;
use super::machine::Machine;
use super::run_tasks::RunTask;
use super::types::{
    ActionRequest, Decision, EngineError, RunStatus, TaskId, TaskKind, TaskStatus, TimerKind,
};
use super::Entry;

/// A task row as the actions need it.
pub struct TaskRow {
    pub id: TaskId,
    pub run: i64,
    pub step: String,
    pub kind: TaskKind,
    pub assignee: String,
    pub delegate: Option<String>,
    pub pool: bool,
    pub seq: i64,
    pub status: TaskStatus,
}

impl From<crate::store::tasks::ActionTask> for TaskRow {
    fn from(t: crate::store::tasks::ActionTask) -> Self {
        TaskRow {
            id: TaskId(t.id),
            run: t.run_id,
            step: t.step_id,
            kind: t.kind,
            assignee: t.assignee,
            delegate: t.delegate,
            pool: t.pool != 0,
            seq: t.seq,
            status: t.status,
        }
    }
}

/// The minimum number of approvals the mode needs from `total` signers.
pub(in crate::runtime) fn pass_threshold(mode: &Mode, total: i64) -> i64 {
    match mode {
        Mode::Any => 1,
        Mode::All | Mode::Sequential => total,
        Mode::Vote(v) => match (v.pass, v.pass_percent) {
            (Some(n), _) => i64::from(n),
            (None, Some(p)) => (i64::from(p) * total + 99) / 100,
            (None, None) => total,
        },
    }
}

fn reject_threshold(mode: &Mode, total: i64) -> i64 {
    match mode {
        Mode::Any | Mode::All | Mode::Sequential => 1,
        Mode::Vote(v) => match (v.reject, v.reject_percent) {
            (Some(n), _) => i64::from(n),
            (None, Some(p)) => (i64::from(p) * total + 99) / 100,
            // As soon as passing can no longer be reached.
            (None, None) => total - pass_threshold(mode, total) + 1,
        },
    }
}

impl Machine<'_, '_> {
    /// Cancels the run's tasks still open or waiting (a step sent back to the submitter).
    pub(in crate::runtime) async fn cancel_run_tasks(
        &mut self,
        run: i64,
    ) -> Result<(), EngineError> {
        let now = self.now();
        store::tasks::cancel_of_run(self.conn, run, &now).await?;
        Ok(())
    }

    /// Lets `to` act on the task on its assignee's behalf.
    pub(in crate::runtime) async fn set_delegate(
        &mut self,
        task: TaskId,
        to: &str,
    ) -> Result<(), EngineError> {
        store::tasks::set_delegate(self.conn, task.0, to).await?;
        self.env
            .appends
            .lock()
            .holders_changed(task.0, None, Some(to));
        Ok(())
    }

    /// Gives the task to `to` (and drops any delegate).
    pub(in crate::runtime) async fn set_assignee(
        &mut self,
        task: TaskId,
        to: &str,
    ) -> Result<(), EngineError> {
        store::tasks::set_assignee(self.conn, task.0, to).await?;
        self.env
            .appends
            .lock()
            .holders_changed(task.0, Some(to), None);
        Ok(())
    }

    /// The run's signers who have decided or still may.
    pub(in crate::runtime) async fn signers_left(&mut self, run: i64) -> Result<i64, EngineError> {
        Ok(store::tasks::signers_left(self.conn, run).await?)
    }

    /// Cancels `user`'s pending tasks on the run; how many there were.
    pub(in crate::runtime) async fn cancel_signer(
        &mut self,
        run: i64,
        user: &str,
    ) -> Result<u64, EngineError> {
        Ok(store::tasks::cancel_signer(self.conn, run, user).await?)
    }

    /// Makes a pooled task its claimant's alone: the other copies are cancelled.
    pub(in crate::runtime) async fn take_from_pool(
        &mut self,
        task: &TaskRow,
    ) -> Result<(), EngineError> {
        store::tasks::take_from_pool(self.conn, task.run, task.id.0).await?;
        Ok(())
    }

    pub(in crate::runtime) fn other_user(
        &self,
        request: &ActionRequest,
    ) -> Result<String, EngineError> {
        let to = request
            .to
            .clone()
            .ok_or_else(|| EngineError::NotAllowed("name the other user with `to`".into()))?;
        if self.env.directory.user(&to).is_none() {
            return Err(EngineError::UnknownUser(to));
        }
        Ok(to)
    }

    /// Marks a task decided, only if it is still open: a concurrent action that got there
    /// first makes this one stale.
    pub(in crate::runtime) async fn close_task(
        &mut self,
        task: &TaskRow,
        decision: Decision,
        actor: &str,
        inputs: Option<&Value>,
    ) -> Result<(), EngineError> {
        let now = self.now();
        let decided = store::tasks::Decided {
            task: task.id.0,
            decision,
            by: actor,
            at: &now,
            inputs: inputs.map(ToString::to_string),
        };
        if !store::tasks::decide(self.conn, &decided).await? {
            return Err(EngineError::Stale {
                task: task.id,
                status: TaskStatus::Done.to_string(),
            });
        }
        Ok(())
    }

    pub(in crate::runtime) fn check_inputs(
        &self,
        step: &Step,
        inputs: Option<&Value>,
    ) -> Result<Option<Value>, EngineError> {
        if step.inputs.is_empty() {
            return Ok(inputs.cloned());
        }
        let mut errors = FormErrors::default();
        let empty = json!({});
        let clean = validate_fields(
            &step.inputs,
            inputs.unwrap_or(&empty),
            self.env.directory,
            "",
            &mut errors,
        );
        if errors.is_empty() {
            Ok(Some(Value::Object(clean)))
        } else {
            Err(EngineError::InvalidForm(errors))
        }
    }

    /// Applies changes to the step's editable fields; returns `{field: {old, new}}`.
    pub(in crate::runtime) fn apply_edits(
        &mut self,
        step: &Step,
        edits: Option<&Value>,
    ) -> Result<Option<Value>, EngineError> {
        let Some(edits) = edits.and_then(Value::as_object) else {
            return Ok(None);
        };
        if edits.is_empty() {
            return Ok(None);
        }
        let mut errors = FormErrors::default();
        for key in edits.keys() {
            // Files come with the request's form only: a value naming one could claim
            // a file the actor never uploaded.
            let file = self
                .def
                .form
                .fields
                .iter()
                .any(|f| f.id.value == *key && f.kind.value == crate::model::FieldType::File);
            if file || !step.editable.iter().any(|e| e.value == *key) {
                errors.add(key, FieldProblem::NotEditableHere);
            }
        }
        if !errors.is_empty() {
            return Err(EngineError::InvalidForm(errors));
        }
        let mut merged = self.plain_form();
        if let Some(obj) = merged.as_object_mut() {
            for (k, v) in edits {
                obj.insert(k.clone(), v.clone());
            }
        }
        self.replace_form(&merged).map(Some)
    }

    /// Refuses to approve or complete a step while a field it requires is empty.
    pub(in crate::runtime) fn check_required(&self, step: &Step) -> Result<(), EngineError> {
        if self.env.dry_run {
            return Ok(());
        }
        let mut errors = FormErrors::default();
        for field in &step.required {
            let value = self.inst.form.get(field.value.as_str());
            let empty = match value {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                Some(Value::Array(items)) => items.is_empty(),
                Some(_) => false,
            };
            if empty {
                errors.add(&field.value, FieldProblem::RequiredAtStep);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(EngineError::InvalidForm(errors))
        }
    }

    /// The form without computed values, as the submitter gave it.
    pub(in crate::runtime) fn plain_form(&self) -> Value {
        let mut form = self.inst.form.clone();
        if let Some(obj) = form.as_object_mut() {
            for c in &self.def.form.computed {
                obj.remove(&c.id.value);
            }
        }
        form
    }

    /// The submitter's new form with the stored values of the `step_only` fields, which
    /// only their steps change, and of the file fields, which only uploads set.
    pub(in crate::runtime) fn keep_step_only(&self, input: &Value) -> Value {
        let mut form = input.clone();
        if let Some(obj) = form.as_object_mut() {
            let kept = |f: &&crate::model::Field| {
                f.step_only || f.kind.value == crate::model::FieldType::File
            };
            for field in self.def.form.fields.iter().filter(kept) {
                let id = &field.id.value;
                match self.inst.form.get(id) {
                    Some(stored) => obj.insert(id.clone(), stored.clone()),
                    None => obj.remove(id),
                };
            }
        }
        form
    }

    /// Validates and stores a whole new form; returns the changed fields.
    pub(in crate::runtime) fn replace_form(&mut self, input: &Value) -> Result<Value, EngineError> {
        let scope = self.scope();
        let form = validate_form(&self.def, input, self.env.directory, &scope)
            .map_err(EngineError::InvalidForm)?;
        let mut changes = serde_json::Map::new();
        if let (Some(old), Some(new)) = (self.inst.form.as_object(), form.as_object()) {
            for (k, v) in new {
                if old.get(k) != Some(v) {
                    changes.insert(k.clone(), json!({"old": old.get(k), "new": v}));
                }
            }
        }
        self.inst.form = form;
        Ok(Value::Object(changes))
    }

    /// After a decision: does the step's mode now have its outcome?
    pub async fn settle(&mut self, step: &Step, run: i64) -> Result<(), EngineError> {
        let tasks = self.run_tasks(run).await?;
        self.settle_with(step, run, &tasks).await
    }

    /// [`settle`](Self::settle) on `tasks`, the run's tasks as they now stand.
    pub async fn settle_with(
        &mut self,
        step: &Step,
        run: i64,
        tasks: &[RunTask],
    ) -> Result<(), EngineError> {
        if self.settle_added(step, run, tasks).await? {
            return Ok(());
        }
        let votes = super::run_tasks::votes_of(tasks);
        let mode = step.mode();
        let (approved, rejected, total) = match &mode {
            Mode::Vote(vote) if !vote.weights.is_empty() => self.weighed(vote, tasks),
            _ => {
                let count = |k: &str| votes[k].as_i64().unwrap_or(0);
                (count("approved"), count("rejected"), count("total"))
            }
        };
        let positive = if step.kind.value == StepKind::Approval {
            Outcome::Approved
        } else {
            Outcome::Done
        };
        if rejected >= reject_threshold(&mode, total) && step.kind.value == StepKind::Approval {
            self.finish_with(run, Outcome::Rejected, votes);
        } else if approved >= pass_threshold(&mode, total) {
            if !self.open_next_added(step, tasks).await? {
                self.finish_with(run, positive, votes);
            }
        } else if mode == Mode::Sequential {
            if let Some(next) = tasks.iter().find(|t| t.status == TaskStatus::Waiting) {
                self.open_task(step, TaskId(next.id), &next.assignee)
                    .await?;
            }
        }
        Ok(())
    }

    /// A weighted vote's approving, rejecting and whole weight (票签), counting the step's
    /// own signers as [`votes_of`](super::run_tasks::votes_of) counts heads.
    fn weighed(&self, vote: &crate::model::Vote, tasks: &[RunTask]) -> (i64, i64, i64) {
        let (mut approved, mut rejected, mut total) = (0, 0, 0);
        for task in tasks.iter().filter(|t| t.is_ballot()) {
            // The assignee's weight, also when a delegate voted for them.
            let voter = task.assignee.as_str();
            let roles: Vec<&str> = self
                .env
                .directory
                .user(voter)
                .map(|u| u.roles.iter().map(|r| r.value.as_str()).collect())
                .unwrap_or_default();
            let weight = i64::from(vote.weight_of(voter, &roles));
            total += weight;
            match task.decision {
                Some(d) if d.is_yes() => approved += weight,
                Some(Decision::Rejected) => rejected += weight,
                _ => {}
            }
        }
        (approved, rejected, total)
    }

    /// Whether the run's deadline has come.
    async fn deadline_passed(&mut self, run: i64) -> Result<bool, EngineError> {
        let due = self.run_due(run).await?;
        Ok(due
            .as_deref()
            .and_then(crate::clock::from_db)
            .is_some_and(|due| due <= self.env.now))
    }

    /// Fires one timer of a run.
    pub async fn fire(&mut self, run: i64, kind: TimerKind) -> Result<(), EngineError> {
        let row = self.run_row(run).await?;
        if row.status != RunStatus::Active {
            return Ok(());
        }
        let def = Arc::clone(&self.def);
        let Some(step) = def.step(&row.step_id) else {
            return Ok(());
        };
        match kind {
            TimerKind::Wait => self.finish(run, Outcome::Elapsed),
            // A reminder that comes due with or after the deadline (the server was down)
            // says nothing the deadline does not: drop it.
            TimerKind::Reminder if self.deadline_passed(run).await? => {}
            TimerKind::Reminder => {
                self.log(
                    Entry::new("engine", HistoryAction::Remind)
                        .step(&step.id)
                        .detail(Note::DeadlineNear.as_str()),
                )
                .await?;
            }
            TimerKind::Deadline => {
                let on_timeout = step
                    .deadline
                    .as_ref()
                    .and_then(|d| d.on_timeout.as_ref())
                    .map(|t| t.value.clone())
                    .unwrap_or(crate::model::TimeoutAction::Remind);
                self.log(Entry::new("engine", HistoryAction::Timeout).step(&step.id))
                    .await?;
                use crate::model::TimeoutAction as T;
                match on_timeout {
                    T::Remind => {
                        self.log(
                            Entry::new("engine", HistoryAction::Remind)
                                .step(&step.id)
                                .detail(Note::DeadlinePassed.as_str()),
                        )
                        .await?;
                    }
                    T::Escalate(to) => self.escalate(run, step, &to).await?,
                    T::AutoApprove | T::AutoReject => {
                        let (decision, outcome) = if on_timeout == T::AutoApprove {
                            (Decision::Approved, Outcome::Approved)
                        } else {
                            (Decision::Rejected, Outcome::Rejected)
                        };
                        let now = self.now();
                        store::tasks::decide_run_by_engine(self.conn, run, decision, &now).await?;
                        self.log(
                            Entry::new(
                                "engine",
                                if outcome == Outcome::Approved {
                                    HistoryAction::AutoApprove
                                } else {
                                    HistoryAction::AutoReject
                                },
                            )
                            .step(&step.id),
                        )
                        .await?;
                        self.finish(run, outcome);
                    }
                    T::Transition => self.finish(run, Outcome::Timeout),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Vote;

    #[test]
    fn vote_thresholds() {
        let vote = |pass, pass_percent, reject| {
            Mode::Vote(Vote {
                pass,
                pass_percent,
                reject,
                reject_percent: None,
                weights: Vec::new(),
            })
        };
        assert_eq!(pass_threshold(&vote(None, Some(60), None), 5), 3);
        assert_eq!(reject_threshold(&vote(None, Some(60), None), 5), 3);
        assert_eq!(pass_threshold(&vote(Some(2), None, None), 3), 2);
        assert_eq!(reject_threshold(&vote(Some(2), None, Some(1)), 3), 1);
        assert_eq!(pass_threshold(&Mode::All, 4), 4);
        assert_eq!(reject_threshold(&Mode::All, 4), 1);
    }

    #[test]
    fn a_voters_weight_is_the_largest_that_names_them_or_a_role_of_theirs() {
        use crate::model::Weight;
        let weight = |user: Option<&str>, role: Option<&str>, weight| Weight {
            user: user.map(str::to_string),
            role: role.map(str::to_string),
            weight,
        };
        let vote = Vote {
            pass: None,
            pass_percent: Some(60),
            reject: None,
            reject_percent: None,
            weights: vec![
                weight(Some("wang.fang"), None, 3),
                weight(None, Some("director"), 2),
                weight(None, Some("general_manager"), 5),
            ],
        };
        assert_eq!(vote.weight_of("wang.fang", &["director"]), 3);
        assert_eq!(vote.weight_of("zhao.min", &["director"]), 2);
        assert_eq!(
            vote.weight_of("qin.shan", &["director", "general_manager"]),
            5
        );
        assert_eq!(vote.weight_of("li.na", &["specialist"]), 1);
    }
}
