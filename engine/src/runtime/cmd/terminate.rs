//! `terminate` (终止): a process owner or administrator ends a request that is running
//! or stopped on an incident, with a reason. Its open tasks are cancelled; the submitter
//! and the people whose tasks were cancelled are told.

use super::prelude::*;

pub struct Terminate {
    pub instance: InstanceId,
    pub actor: String,
    pub comment: String,
}

impl Terminate {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let Terminate {
            instance,
            actor,
            comment,
        } = self;
        let mut m = core.machine(conn, env, instance).await?;
        super::jump::may_intervene(&m, &actor, "terminate")?;
        m.log(Entry::new(&actor, HistoryAction::Terminate).comment(Some(&comment)))
            .await?;
        m.end_instance(EndOutcome::Cancelled, &actor).await?;
        m.save().await?;
        Ok(Reply::Instance(instance))
    }
}
