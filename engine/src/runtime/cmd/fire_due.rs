//! `fire_due`: every timer due by the engine's clock fires once (claimed in the writer's transaction, so once across servers).

use super::prelude::*;

pub struct FireDue;

impl FireDue {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let now = env.now;
        let due = crate::store::timers::due(conn, &to_db(now)).await?;
        let mut fired = 0;
        for timer in due {
            let (instance, run, kind) = (timer.instance_id, timer.run_id, timer.kind);
            if !crate::store::timers::claim(conn, timer.id, &to_db(now)).await? {
                continue;
            }
            fired += 1;
            let mut m = core.machine(conn, env, InstanceId(instance)).await?;
            if m.inst.status == InstanceStatus::Running {
                m.fire(run, kind).await?;
                m.drain().await?;
            }
        }
        Ok(Reply::Count(fired))
    }
}
