//! `jump` (跳转): a process owner or administrator moves a running request (or one
//! stopped on an incident) to any top-level step of its definition. The steps it was at
//! are cancelled, the step is entered as if the flow had arrived there, and the history
//! and the people whose tasks were cancelled are told why.

use super::prelude::*;
use crate::store::status::RunStatus;

pub struct Jump {
    pub instance: InstanceId,
    pub actor: String,
    pub to: String,
    pub comment: String,
}

impl Jump {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let Jump {
            instance,
            actor,
            to,
            comment,
        } = self;
        let mut m = core.machine(conn, env, instance).await?;
        may_intervene(&m, &actor, "move")?;
        if !m.def.steps.iter().any(|s| s.id.value == to) {
            return Err(EngineError::UnknownStep(to));
        }
        let active = crate::store::runs::active_top_level(m.conn, instance.0).await?;
        for run in active {
            m.close_run(run, RunStatus::Cancelled, None).await?;
        }
        m.inst.status = InstanceStatus::Running;
        m.inst.incident = None;
        m.log(
            Entry::new(&actor, HistoryAction::Jump)
                .step(&to)
                .detail(&to)
                .comment(Some(&comment)),
        )
        .await?;
        m.enter(&to, None, None);
        m.drain().await?;
        Ok(Reply::Instance(instance))
    }
}

/// An owner's action on a request (jump, terminate): only its process's owners and
/// administrators, and only while it runs or is stopped on an incident.
pub(super) fn may_intervene(
    m: &Machine<'_, '_>,
    actor: &str,
    action: &'static str,
) -> Result<(), EngineError> {
    let instance = m.inst.id;
    if !policy::manages(m.env.directory, &m.def, actor) {
        return Err(EngineError::OnlyOwner { instance, action });
    }
    if !matches!(
        m.inst.status,
        InstanceStatus::Running | InstanceStatus::Incident
    ) {
        return Err(EngineError::NotAllowed(format!(
            "request {instance} has ended: only a running request can be changed"
        )));
    }
    Ok(())
}
