//! A step run's tasks, read once when the step settles: the votes its guards see and
//! what added signers, held and waiting tasks decide, all from the same rows.

use serde_json::{json, Value};

use super::machine::Machine;
use super::types::EngineError;

pub use crate::store::tasks::RunTask;

impl RunTask {
    pub fn pending(&self) -> bool {
        matches!(self.status.as_str(), "open" | "waiting" | "held")
    }
}

impl Machine<'_, '_> {
    /// The tasks of `run`, in their order (`seq`, then creation).
    pub async fn run_tasks(&mut self, run: i64) -> Result<Vec<RunTask>, EngineError> {
        Ok(crate::store::tasks::of_run(self.conn, run).await?)
    }

    /// The votes of a run, as guards see them.
    pub async fn votes(&mut self, run: i64) -> Result<Value, EngineError> {
        Ok(votes_of(&self.run_tasks(run).await?))
    }
}

/// The votes of the step's own signers: counts and each decided ballot (with its inputs).
pub fn votes_of(tasks: &[RunTask]) -> Value {
    let (mut approved, mut rejected, mut pending, mut total) = (0, 0, 0, 0);
    let mut ballots = Vec::new();
    for task in tasks.iter().filter(|t| t.kind == "step") {
        if task.status == "cancelled" && task.decision.is_none() {
            continue;
        }
        total += 1;
        match task.decision.as_deref() {
            Some("approved") | Some("done") => approved += 1,
            Some("rejected") => rejected += 1,
            _ => pending += 1,
        }
        if let Some(decision) = &task.decision {
            let mut ballot = serde_json::Map::new();
            if let Some(Value::Object(map)) = task
                .inputs
                .as_deref()
                .and_then(|i| serde_json::from_str(i).ok())
            {
                ballot.extend(map);
            }
            let user = task.acted_by.as_ref().unwrap_or(&task.assignee);
            ballot.insert("user".into(), json!(user));
            ballot.insert("decision".into(), json!(decision));
            ballots.push(Value::Object(ballot));
        }
    }
    json!({"approved": approved, "rejected": rejected, "pending": pending, "total": total, "ballots": ballots})
}
