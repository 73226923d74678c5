//! Requests that refer to each other. A `request` field names another request (a
//! deferred payment its sale, a monthly statement its sales). The reference is checked
//! when the form is stored: the request exists, is of the field's process and at its
//! step, and the person storing the form may see it. It is recorded in `request_links`,
//! so both requests' pages show it. A step's `links` act on the requests named when the
//! step is entered: `due` moves their step's due date and deadline timers, `finish` ends
//! their step. The effects run after the action's own request has moved, in the same
//! transaction, and are recorded in both histories.

use crate::store::status::TimerKind;
use chrono::NaiveDate;

use crate::form::{references, FormErrors};
use crate::model::{Field, Label, LinkEffect, Outcome, Step, StepKind};
use crate::problem::FieldProblem;
use crate::store;

use super::history::HistoryAction;
use super::machine::{Env, Halt, Machine};
use super::Entry;
use super::{policy, Core, EngineError, InstanceId, InstanceStatus};

/// Link effects one action may cause, counting those caused by the effects themselves.
const MAX_LINK_EFFECTS: usize = 500;

/// An effect waiting to be applied to another request.
#[derive(Debug, Clone)]
pub struct PendingLink {
    pub from: InstanceId,
    pub target: InstanceId,
    pub step: String,
    pub action: LinkAction,
}

/// What a link does to the referred request's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// The step is due at the close of this date.
    Due(NaiveDate),
    /// The step ends (a task as done, a wait as elapsed).
    Finish,
}

/// `sales[2].sale` → `sales.sale`: a reference's path as a step's `links` name it.
fn field_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            c if !in_index => out.push(c),
            _ => {}
        }
    }
    out
}

impl Machine<'_, '_> {
    /// Checks the form's references and records them, replacing the earlier ones. A bad
    /// reference is a field error, like any other invalid value.
    pub async fn record_links(&mut self, actor: &str) -> Result<(), EngineError> {
        // Most processes refer to no other request: no statement for them.
        if self.env.dry_run || !self.def.has_references() {
            return Ok(());
        }
        let def = std::sync::Arc::clone(&self.def);
        let refs = references(&def.form.fields, &self.inst.form);
        let had = store::links::count(self.conn, self.inst.id.0).await?;
        if refs.is_empty() && had == 0 {
            return Ok(());
        }
        let mut errors = FormErrors::default();
        let mut seen = std::collections::HashSet::new();
        for (path, field, id) in &refs {
            let problem = if seen.insert(*id) {
                self.reference_problem(field, InstanceId(*id), actor)
                    .await?
            } else {
                Some(FieldProblem::ListedTwice(*id))
            };
            if let Some(problem) = problem {
                errors.add(path, problem);
            }
        }
        if !errors.is_empty() {
            return Err(EngineError::InvalidForm(errors));
        }
        let links: Vec<(String, i64)> = refs
            .iter()
            .map(|(path, _, id)| (path.to_string(), *id))
            .collect();
        Ok(store::links::replace(self.conn, self.inst.id.0, &links).await?)
    }

    /// Why `target` cannot be referred to by `field`, if it cannot. A request the actor
    /// may not see reads as one that does not exist.
    async fn reference_problem(
        &mut self,
        field: &Field,
        target: InstanceId,
        actor: &str,
    ) -> Result<Option<FieldProblem>, EngineError> {
        if target == self.inst.id {
            return Ok(Some(FieldProblem::RefersToItself));
        }
        let process = store::instances::process_of(self.conn, target.0).await?;
        let unknown = Some(FieldProblem::NoSuchRequest(target.0));
        let Some(process) = process else {
            return Ok(unknown);
        };
        if !policy::may_see(&mut *self.conn, self.env.registry, target, actor).await? {
            return Ok(unknown);
        }
        let named = |id: &str| Label {
            zh: id.to_string(),
            en: id.to_string(),
        };
        if let Some(wanted) = &field.process {
            if wanted.value != process {
                let name = self
                    .env
                    .registry
                    .latest(&wanted.value)
                    .map_or_else(|| named(&wanted.value), |(_, d)| d.name.clone());
                return Ok(Some(FieldProblem::OtherProcess {
                    id: target.0,
                    process: name,
                }));
            }
        }
        if let Some(step) = &field.step {
            let at = store::runs::active_count(self.conn, target.0, &step.value).await?;
            if at == 0 {
                let name = self
                    .env
                    .registry
                    .latest(&process)
                    .and_then(|(_, d)| d.step(&step.value).and_then(|s| s.name.clone()))
                    .unwrap_or_else(|| named(&step.value));
                return Ok(Some(FieldProblem::NotAtStep {
                    id: target.0,
                    step: name,
                }));
            }
        }
        Ok(None)
    }

    /// Queues the effects of `step`'s `links` on the requests the form names.
    pub(super) fn queue_links(&mut self, step: &Step, run: i64) -> Result<(), Halt> {
        if self.env.dry_run {
            return Ok(());
        }
        for link in &step.links {
            let action = self.link_action(link, run)?;
            let def = std::sync::Arc::clone(&self.def);
            for (path, _, id) in references(&def.form.fields, &self.inst.form) {
                if field_path(&path) == link.request.value {
                    self.env.queue_link(PendingLink {
                        from: self.inst.id,
                        target: InstanceId(id),
                        step: link.step.value.clone(),
                        action,
                    });
                }
            }
        }
        Ok(())
    }

    fn link_action(&self, link: &LinkEffect, run: i64) -> Result<LinkAction, Halt> {
        match &link.due {
            Some(expr) => self
                .eval_date(expr)
                .map(LinkAction::Due)
                .map_err(|e| Halt::incident(Some(run), None, e)),
            None => Ok(LinkAction::Finish),
        }
    }

    /// Moves the due date of the open step `run` (and its tasks and deadline timers).
    async fn move_due(
        &mut self,
        run: i64,
        step: &Step,
        date: NaiveDate,
    ) -> Result<(), EngineError> {
        let due = self.env.calendar.close_of_last_working_day(date);
        let at = crate::clock::to_db(due);
        store::tasks::move_due(self.conn, run, &at).await?;
        // The batch's copies of new tasks no longer hold their due time.
        self.env.appends.lock().forget_tasks();
        store::timers::cancel_deadlines(self.conn, run).await?;
        self.set_run_due(run, due).await?;
        self.add_timer(run, TimerKind::Deadline, due).await?;
        let before = step
            .deadline
            .as_ref()
            .and_then(|d| d.remind_before.as_deref())
            .and_then(|b| b.parse().ok());
        if let Some(before) = before {
            let remind_at = self.env.calendar.subtract(due, before);
            if remind_at > self.env.now {
                self.add_timer(run, TimerKind::Reminder, remind_at).await?;
            }
        }
        Ok(())
    }
}

impl Core {
    /// Applies the link effects the action queued, and those they queue in turn.
    pub(super) async fn follow_links(
        &self,
        conn: &mut crate::store::Conn,
        env: &Env<'_>,
    ) -> Result<(), EngineError> {
        let mut applied = 0;
        while let Some(link) = env.next_link() {
            applied += 1;
            if applied > MAX_LINK_EFFECTS {
                return Err(EngineError::Definition(format!(
                    "more than {MAX_LINK_EFFECTS} link effects in one action: the definitions' `links` loop"
                )));
            }
            self.apply_link(conn, env, &link).await?;
        }
        Ok(())
    }

    async fn apply_link(
        &self,
        conn: &mut crate::store::Conn,
        env: &Env<'_>,
        link: &PendingLink,
    ) -> Result<(), EngineError> {
        let from = format!("#{}", link.from.0);
        let runs = store::runs::active_while_running(conn, link.target.0, &link.step).await?;
        if runs.is_empty() {
            // Nothing to act on: the referred request moved on (or ended) meanwhile.
            let mut source = self.machine(conn, env, link.from).await?;
            let detail = format!("#{} is not at `{}`", link.target.0, link.step);
            source
                .log(Entry::new("engine", HistoryAction::LinkMissed).detail(&detail))
                .await?;
            return Ok(());
        }
        let mut m = self.machine(conn, env, link.target).await?;
        let def = std::sync::Arc::clone(&m.def);
        let Some(step) = def.step(&link.step) else {
            return Ok(());
        };
        for run in runs {
            match link.action {
                LinkAction::Due(date) => {
                    m.move_due(run, step, date).await?;
                    let detail = format!("{date} · {from}");
                    m.log(
                        Entry::new("engine", HistoryAction::DueMoved)
                            .step(&link.step)
                            .detail(&detail),
                    )
                    .await?;
                }
                LinkAction::Finish => {
                    m.log(
                        Entry::new("engine", HistoryAction::FinishedBy)
                            .step(&link.step)
                            .detail(&from),
                    )
                    .await?;
                    let outcome = match step.kind.value {
                        StepKind::Wait => Outcome::Elapsed,
                        StepKind::Approval => Outcome::Approved,
                        _ => Outcome::Done,
                    };
                    m.finish(run, outcome);
                }
            }
        }
        if m.inst.status == InstanceStatus::Running {
            m.drain().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::field_path;

    #[test]
    fn a_table_column_path_drops_its_line_number() {
        assert_eq!(field_path("sales[12].sale"), "sales.sale");
        assert_eq!(field_path("sale"), "sale");
    }
}
