//! `withdraw`: the submitter takes a request back, while the definition allows it or while it is back with them.

use super::prelude::*;

pub struct Withdraw {
    pub instance: InstanceId,
    pub actor: String,
    pub comment: Option<String>,
}

impl Withdraw {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let Withdraw {
            instance,
            actor,
            comment,
        } = self;
        let mut m = core.machine(conn, env, instance).await?;
        if actor != m.inst.submitter {
            return Err(EngineError::OnlySubmitter {
                instance,
                action: "withdraw",
            });
        }
        let returned = m.returned_to_submitter().await?;
        let refused =
            policy::withdraw_refusal(m.def.withdraw, m.inst.status, m.inst.decided, returned);
        if let Some(why) = refused {
            return Err(EngineError::CannotWithdraw { instance, why });
        }
        m.log(Entry::new(&actor, HistoryAction::Withdraw).comment(comment.as_deref()))
            .await?;
        m.end_instance(EndOutcome::Withdrawn, &actor).await?;
        m.save().await?;
        Ok(Reply::Instance(instance))
    }
}
