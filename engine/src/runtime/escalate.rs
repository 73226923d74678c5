//! Escalating an overdue step: the people it goes to are found from the step's
//! `escalate` rules, but never someone who already holds it, never a subordinate of a
//! holder, and never someone who may not decide the request; when the rules leave
//! nobody, it goes up the holders' reporting line. The escalated tasks get a new
//! deadline (the step's own) instead of arriving overdue.

use super::notes::Note;
use crate::duration::WorkDuration;
use crate::model::{Assignee, Step};
use crate::runtime::machine::NewSigner;
use crate::store::status::{TaskKind, TaskStatus};

use super::history::HistoryAction;
use super::machine::Machine;
use super::types::EngineError;
use super::Entry;

impl Machine<'_, '_> {
    /// Escalates run `run` of `step` to `to`.
    pub async fn escalate(
        &mut self,
        run: i64,
        step: &Step,
        to: &[Assignee],
    ) -> Result<(), EngineError> {
        let holders = crate::store::tasks::open_holders_of_run(self.conn, run).await?;
        let (targets, notes) = self.escalation_targets(to, &holders);
        for note in &notes {
            self.log(
                Entry::new("engine", HistoryAction::EscalateSkipped)
                    .step(&step.id)
                    .detail(note),
            )
            .await?;
        }
        if targets.is_empty() {
            let why = Note::NobodyToEscalateTo.as_str();
            self.log(
                Entry::new("engine", HistoryAction::EscalateFailed)
                    .step(&step.id)
                    .detail(why),
            )
            .await?;
            return Ok(());
        }
        let due = match step
            .deadline
            .as_ref()
            .map(|d| d.within.parse::<WorkDuration>())
        {
            Some(Ok(within)) => Some(crate::clock::to_db(
                self.env.calendar.add(self.env.now, within),
            )),
            _ => self.run_due(run).await?,
        };
        for user in targets {
            let id = self
                .insert_task(NewSigner {
                    run,
                    step: &step.id,
                    kind: TaskKind::Step,
                    user: &user,
                    pool: false,
                    seq: 0,
                    status: TaskStatus::Open,
                    due: due.as_deref(),
                })
                .await?;
            self.log(
                Entry::new("engine", HistoryAction::Escalate)
                    .step(&step.id)
                    .task(id)
                    .detail(&user),
            )
            .await?;
        }
        Ok(())
    }

    /// Who an escalation goes to, and why anyone the rules named is left out.
    fn escalation_targets(
        &self,
        to: &[Assignee],
        holders: &[String],
    ) -> (Vec<String>, Vec<String>) {
        let dir = self.env.directory;
        let excluded = self.excluded();
        let below_a_holder = |user: &str| {
            dir.manager_chain(user, 32)
                .is_ok_and(|chain| chain.iter().any(|m| holders.contains(&m.id.value)))
        };
        let mut targets: Vec<String> = Vec::new();
        let mut notes = Vec::new();
        for a in to {
            let found = match self.resolve(a) {
                Ok(found) => found,
                Err(e) => {
                    notes.push(e);
                    continue;
                }
            };
            for user in found.users {
                let why = if holders.contains(&user) {
                    Some(Note::AlreadyHolds)
                } else if excluded.contains(&user) {
                    Some(Note::TheirsOrAbout)
                } else if below_a_holder(&user) {
                    Some(Note::ReportsToHolder)
                } else {
                    None
                };
                match why {
                    Some(why) => notes.push(why.about(&user)),
                    None if !targets.contains(&user) => targets.push(user),
                    None => {}
                }
            }
        }
        if targets.is_empty() {
            for holder in holders {
                let above = dir.manager_chain(holder, 32).ok().and_then(|chain| {
                    chain
                        .into_iter()
                        .map(|m| m.id.value.clone())
                        .find(|m| !holders.contains(m) && !excluded.contains(m))
                });
                if let Some(manager) = above.filter(|m| !targets.contains(m)) {
                    notes.push(format!(
                        "the escalation goes up to `{manager}`, above `{holder}`"
                    ));
                    targets.push(manager);
                }
            }
        }
        (targets, notes)
    }
}
