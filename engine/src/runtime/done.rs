//! "Done by me" (已办): the tasks a person decided themselves (as holder or delegate),
//! newest first, a page at a time from a task id down.

use crate::store::status::Decision;
use serde::Serialize;

use super::{Engine, EngineError, TaskId, TaskView};
use crate::store::inbox;

/// A decided task: the task, what its decider decided, and when.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoneTask {
    pub task: TaskView,
    pub decision: Option<Decision>,
    pub acted_at: Option<String>,
}

/// At most this many decided tasks on one page.
pub const MAX_DONE_PAGE: i64 = 200;

impl Engine {
    /// The tasks `user` decided, newest first, below task `before` when given.
    pub async fn done_tasks(
        &self,
        user: &str,
        before: Option<TaskId>,
        limit: i64,
    ) -> Result<Vec<DoneTask>, EngineError> {
        let limit = limit.clamp(1, MAX_DONE_PAGE);
        let rows = inbox::done_page(&self.core.pool, user, before.map(|b| b.0), limit).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let views: Vec<TaskView> = inbox::lines(&self.core.pool, &ids)
            .await?
            .into_iter()
            .map(|l| self.task_view(l))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let task = views.iter().find(|v| v.id.0 == row.id)?.clone();
                Some(DoneTask {
                    task,
                    decision: row.decision,
                    acted_at: row.acted_at,
                })
            })
            .collect())
    }

    /// How many tasks `user` decided.
    pub async fn count_done(&self, user: &str) -> Result<i64, EngineError> {
        Ok(inbox::count_done(&self.core.pool, user).await?)
    }
}
