//! `urge`: the submitter reminds the current assignees, once a working day.

use super::prelude::*;

pub struct Urge {
    pub instance: InstanceId,
    pub actor: String,
}

impl Urge {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let Urge { instance, actor } = self;
        let now = env.now;
        let mut m = core.machine(conn, env, instance).await?;
        if actor != m.inst.submitter {
            return Err(EngineError::OnlySubmitter {
                instance,
                action: "urge",
            });
        }
        let batched = env
            .appends
            .lock()
            .last_event(instance.0, HistoryAction::Urge)
            .map(|e| e.at.clone());
        let last: Option<String> = match batched {
            Some(at) => Some(at),
            None => {
                crate::store::events::last_time_of(m.conn, instance.0, HistoryAction::Urge.as_str())
                    .await?
            }
        };
        if m.inst.status != InstanceStatus::Running {
            return Err(EngineError::NotAllowed(
                "only a request in progress can be urged".into(),
            ));
        }
        // Once a working day: not again on the calendar date of the last urge.
        let last = last.as_deref().and_then(crate::clock::from_db);
        if last.is_some_and(|l| env.calendar.local_date(l) == env.calendar.local_date(now)) {
            return Err(EngineError::UrgedToday(instance));
        }
        m.record(&actor, HistoryAction::Urge).await?;
        m.save().await?;
        Ok(Reply::Instance(instance))
    }
}
