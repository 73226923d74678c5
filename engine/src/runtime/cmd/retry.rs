//! `retry`: a request stopped by an incident resumes on the current version of its process.

use super::prelude::*;
use crate::store::status::RunStatus;

pub struct Retry {
    pub instance: InstanceId,
    pub actor: String,
}

impl Retry {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let Retry { instance, actor } = self;
        let mut m = core.machine(conn, env, instance).await?;
        if m.inst.status != InstanceStatus::Incident {
            return Err(EngineError::NotAllowed(format!(
                "request {instance} has no incident to retry"
            )));
        }
        let incident = m.inst.incident.clone().unwrap_or(Value::Null);
        if let Some((version, def)) = core.registry.current(m.conn, &m.inst.process).await? {
            if version != m.inst.version {
                m.inst.version = version;
                m.def = def;
            }
        }
        m.inst.status = InstanceStatus::Running;
        m.inst.incident = None;
        m.log(Entry::new(&actor, HistoryAction::Retry).detail_opt(incident["reason"].as_str()))
            .await?;
        if let (Some(run), Some(outcome)) = (incident["run"].as_i64(), incident["outcome"].as_str())
        {
            let outcome = match outcome {
                "approved" => Outcome::Approved,
                "rejected" => Outcome::Rejected,
                "elapsed" => Outcome::Elapsed,
                "timeout" => Outcome::Timeout,
                _ => Outcome::Done,
            };
            m.finish(run, outcome);
        } else if let Some(run) = incident["run"].as_i64() {
            // The step could not be entered: enter it again.
            let row = m.run_row(run).await?;
            m.close_run(run, RunStatus::Cancelled, None).await?;
            m.enter(&row.step_id, row.parent_run, row.branch_id);
        }
        m.drain().await?;
        Ok(Reply::Instance(instance))
    }
}
