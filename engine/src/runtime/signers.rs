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
use super::types::{EngineError, SignerPosition, TaskId};
use super::Entry;
use crate::model::{Outcome, Step, StepKind};

impl Machine<'_, '_> {
    /// Adds `to` as a signer of `task`'s step, before or after its holder.
    pub async fn add_signer(
        &mut self,
        task: &TaskRow,
        step: &Step,
        to: &str,
        position: SignerPosition,
    ) -> Result<(), EngineError> {
        let already: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE run_id = $1 AND assignee = $2 AND status IN ('open', 'waiting', 'held')",
        )
        .bind(task.run)
        .bind(to)
        .fetch_one(&mut *self.conn)
        .await?;
        if already > 0 || to == task.assignee {
            return Err(EngineError::NotAllowed(format!(
                "`{to}` is already a signer of this step"
            )));
        }
        let due = self.run_due(task.run).await?;
        let status = match position {
            SignerPosition::Before => {
                sqlx::query("UPDATE tasks SET status = 'held' WHERE id = $1")
                    .bind(task.id.0)
                    .execute(&mut *self.conn)
                    .await?;
                "open"
            }
            SignerPosition::After => "waiting",
        };
        self.insert_task(
            task.run,
            &step.id,
            "added",
            to,
            false,
            task.seq,
            status,
            due.as_deref(),
        )
        .await?;
        Ok(())
    }

    /// Settles what added signers decide. True when the step is settled here: an added
    /// signer rejected, or one added before someone approved and gave their task back.
    pub async fn settle_added(&mut self, step: &Step, run: i64) -> Result<bool, EngineError> {
        let rejected: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE run_id = $1 AND kind = 'added' AND decision = 'rejected'",
        )
        .bind(run)
        .fetch_one(&mut *self.conn)
        .await?;
        if rejected > 0 && step.kind.value == StepKind::Approval {
            self.cancel_pending(step, run, "an added signer rejected")
                .await?;
            self.finish(run, Outcome::Rejected);
            return Ok(true);
        }
        let open_added: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE run_id = $1 AND kind = 'added' AND status = 'open'",
        )
        .bind(run)
        .fetch_one(&mut *self.conn)
        .await?;
        let held: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, assignee FROM tasks WHERE run_id = $1 AND status = 'held' ORDER BY id",
        )
        .bind(run)
        .fetch_all(&mut *self.conn)
        .await?;
        if open_added > 0 || held.is_empty() {
            return Ok(open_added > 0);
        }
        for (id, who) in held {
            self.open_task(step, TaskId(id), &who).await?;
        }
        Ok(true)
    }

    /// When the step's own signers have approved: opens the first signer added after
    /// them, cancelling the step's other pending tasks. False when none is waiting.
    pub async fn open_next_added(&mut self, step: &Step, run: i64) -> Result<bool, EngineError> {
        let next: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, assignee FROM tasks WHERE run_id = $1 AND kind = 'added' AND status = 'waiting' ORDER BY seq, id LIMIT 1",
        )
        .bind(run)
        .fetch_optional(&mut *self.conn)
        .await?;
        let Some((id, who)) = next else {
            return Ok(false);
        };
        self.cancel_pending(step, run, "the step's own signers have decided")
            .await?;
        self.open_task(step, TaskId(id), &who).await?;
        Ok(true)
    }

    /// Opens a waiting or held task of `step` for `who`, and records the assignment.
    pub async fn open_task(
        &mut self,
        step: &Step,
        id: TaskId,
        who: &str,
    ) -> Result<(), EngineError> {
        sqlx::query("UPDATE tasks SET status = 'open' WHERE id = $1")
            .bind(id.0)
            .execute(&mut *self.conn)
            .await?;
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
        run: i64,
        why: &str,
    ) -> Result<(), EngineError> {
        let pending: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, assignee FROM tasks WHERE run_id = $1 AND kind = 'step' AND status IN ('open', 'waiting', 'held') ORDER BY id",
        )
        .bind(run)
        .fetch_all(&mut *self.conn)
        .await?;
        for (id, who) in pending {
            sqlx::query("UPDATE tasks SET status = 'cancelled', acted_at = $2 WHERE id = $1")
                .bind(id)
                .bind(self.now())
                .execute(&mut *self.conn)
                .await?;
            self.log(
                Entry::new("engine", HistoryAction::Cancel)
                    .on_behalf_of(Some(&who))
                    .step(&step.id)
                    .task(TaskId(id))
                    .detail(why),
            )
            .await?;
        }
        Ok(())
    }
}
