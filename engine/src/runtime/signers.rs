//! Signers added to a step by its holder, as approval products define them:
//! - **before me**: the added person decides first; my task is held, and comes back to
//!   me once they approve;
//! - **after me**: the added person decides after I approve; the step does not end on my
//!   approval (even an or-sign step) until they have.
//!
//! Added signers do not count towards the step's mode; a rejection by one rejects the
//! step. Tasks the step no longer needs are cancelled, each with an entry in the history.

use super::actions::TaskRow;
use super::history::HistoryAction;
use super::machine::Machine;
use super::notes::Note;
use super::run_tasks::RunTask;
use super::types::{EngineError, SignerPosition, TaskId};
use super::Entry;
use crate::model::{Outcome, Step, StepKind};
use crate::runtime::machine::NewSigner;
use crate::store;
use crate::store::status::Decision;
use crate::store::status::{TaskKind, TaskStatus};

impl Machine<'_, '_> {
    /// Holds `task` and opens a task of `kind` for `to` on its run: an added signer
    /// deciding first (`added`), or someone asked their opinion (`consult`). The held
    /// task comes back when no such task is open any more.
    pub async fn hold_for(
        &mut self,
        task: &TaskRow,
        step: &Step,
        to: &str,
        kind: TaskKind,
    ) -> Result<(), EngineError> {
        store::tasks::set_status(self.conn, task.id.0, TaskStatus::Held).await?;
        let due = self.run_due(task.run).await?;
        self.insert_task(NewSigner {
            run: task.run,
            step: &step.id,
            kind,
            user: to,
            pool: false,
            seq: task.seq,
            status: TaskStatus::Open,
            due: due.as_deref(),
        })
        .await?;
        Ok(())
    }

    /// Adds `to` as a signer of `task`'s step, before or after its holder.
    pub async fn add_signer(
        &mut self,
        task: &TaskRow,
        step: &Step,
        to: &str,
        position: SignerPosition,
    ) -> Result<(), EngineError> {
        let already = store::tasks::is_signer(self.conn, task.run, to).await?;
        if already || to == task.assignee {
            return Err(EngineError::NotAllowed(format!(
                "`{to}` is already a signer of this step"
            )));
        }
        if position == SignerPosition::Before {
            return self.hold_for(task, step, to, TaskKind::Added).await;
        }
        let due = self.run_due(task.run).await?;
        self.insert_task(NewSigner {
            run: task.run,
            step: &step.id,
            kind: TaskKind::Added,
            user: to,
            pool: false,
            seq: task.seq,
            status: TaskStatus::Waiting,
            due: due.as_deref(),
        })
        .await?;
        Ok(())
    }

    /// Settles what added signers decide, from the run's `tasks` as they stand. True
    /// when the step is settled here: an added signer rejected, or one added before
    /// someone approved and gave their task back.
    pub async fn settle_added(
        &mut self,
        step: &Step,
        run: i64,
        tasks: &[RunTask],
    ) -> Result<bool, EngineError> {
        let added = || tasks.iter().filter(|t| t.kind == TaskKind::Added);
        let rejected = added().any(|t| t.decision == Some(Decision::Rejected));
        if rejected && step.kind.value == StepKind::Approval {
            self.cancel_pending(step, tasks, Note::AddedSignerRejected.as_str())
                .await?;
            self.finish(run, Outcome::Rejected);
            return Ok(true);
        }
        let open_added = added().any(|t| t.status == TaskStatus::Open);
        let mut held: Vec<&RunTask> = tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Held)
            .collect();
        if open_added || held.is_empty() {
            return Ok(open_added);
        }
        // Someone asked for an opinion has not replied: the holder waits, the others'
        // votes still count.
        if tasks
            .iter()
            .any(|t| t.kind == TaskKind::Consult && t.status == TaskStatus::Open)
        {
            return Ok(false);
        }
        held.sort_by_key(|t| t.id);
        for task in held {
            self.open_task(step, TaskId(task.id), &task.assignee)
                .await?;
        }
        Ok(true)
    }

    /// When the step's own signers have approved: opens the first signer added after
    /// them, cancelling the step's other pending tasks. False when none is waiting.
    pub async fn open_next_added(
        &mut self,
        step: &Step,
        tasks: &[RunTask],
    ) -> Result<bool, EngineError> {
        let Some(next) = tasks
            .iter()
            .find(|t| t.kind == TaskKind::Added && t.status == TaskStatus::Waiting)
        else {
            return Ok(false);
        };
        self.cancel_pending(step, tasks, Note::OwnSignersDecided.as_str())
            .await?;
        self.open_task(step, TaskId(next.id), &next.assignee)
            .await?;
        Ok(true)
    }

    /// Opens a waiting or held task of `step` for `who`, and records the assignment.
    pub async fn open_task(
        &mut self,
        step: &Step,
        id: TaskId,
        who: &str,
    ) -> Result<(), EngineError> {
        store::tasks::set_status(self.conn, id.0, TaskStatus::Open).await?;
        self.log(
            Entry::new("engine", HistoryAction::Assign)
                .step(&step.id)
                .task(id)
                .detail(who),
        )
        .await?;
        Ok(())
    }

    /// Cancels the step's own tasks still pending, noting each in the history.
    async fn cancel_pending(
        &mut self,
        step: &Step,
        tasks: &[RunTask],
        why: &str,
    ) -> Result<(), EngineError> {
        let mut pending: Vec<&RunTask> = tasks
            .iter()
            .filter(|t| t.kind == TaskKind::Step && t.pending())
            .collect();
        pending.sort_by_key(|t| t.id);
        for task in pending {
            let now = self.now();
            store::tasks::cancel(self.conn, task.id, &now).await?;
            self.log(
                Entry::new("engine", HistoryAction::Cancel)
                    .on_behalf_of(Some(&task.assignee))
                    .step(&step.id)
                    .task(TaskId(task.id))
                    .detail(why),
            )
            .await?;
        }
        Ok(())
    }
}
