//! A step run's tasks, read once when the step settles: the votes its guards see and
//! what added signers, held and waiting tasks decide, all from the same rows.

use serde_json::{json, Value};

use super::machine::Machine;
use super::types::{Decision, EngineError, TaskKind, TaskStatus};

pub use crate::store::tasks::RunTask;

impl RunTask {
    pub fn pending(&self) -> bool {
        self.status.is_pending()
    }

    /// Whether it is a ballot of the step's vote: one of the step's own signers, not
    /// taken off the step before deciding.
    pub fn is_ballot(&self) -> bool {
        self.kind == TaskKind::Step
            && !(self.status == TaskStatus::Cancelled && self.decision.is_none())
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
    for task in tasks.iter().filter(|t| t.is_ballot()) {
        total += 1;
        match task.decision {
            Some(d) if d.is_yes() => approved += 1,
            Some(Decision::Rejected) => rejected += 1,
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
