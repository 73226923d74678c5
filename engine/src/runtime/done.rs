//! "Done by me" (已办): the tasks a person decided themselves (as holder or delegate),
//! newest first, a page at a time from a task id down.

use serde::Serialize;

use super::{Engine, EngineError, TaskId, TaskView};
use crate::store::Sql;

/// A decided task: the task, what its decider decided, and when.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoneTask {
    pub task: TaskView,
    /// `approved`, `rejected` or `done`.
    pub decision: Option<String>,
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
        let mut page = Sql::new("SELECT id, decision, acted_at FROM tasks WHERE acted_by = ");
        page.push_bind(user.to_string())
            .push(" AND status = 'done'");
        if let Some(before) = before {
            page.push(" AND id < ").push_bind(before.0);
        }
        page.push(" ORDER BY id DESC LIMIT ")
            .push_bind(limit.clamp(1, MAX_DONE_PAGE));
        let rows: Vec<(i64, Option<String>, Option<String>)> =
            page.query_as().fetch_all(&self.core.pool).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut views = Sql::new(&Self::task_select("WHERE t.id IN "));
        views.push_list(rows.iter().map(|(id, _, _)| *id));
        let views: Vec<TaskView> = views
            .query()
            .fetch_all(&self.core.pool)
            .await?
            .into_iter()
            .map(|r| self.task_view(r))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|(id, decision, acted_at)| {
                let task = views.iter().find(|v| v.id.0 == id)?.clone();
                Some(DoneTask {
                    task,
                    decision,
                    acted_at,
                })
            })
            .collect())
    }

    /// How many tasks `user` decided.
    pub async fn count_done(&self, user: &str) -> Result<i64, EngineError> {
        Ok(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM tasks WHERE acted_by = $1 AND status = 'done'",
            )
            .bind(user)
            .fetch_one(&self.core.pool)
            .await?,
        )
    }
}
