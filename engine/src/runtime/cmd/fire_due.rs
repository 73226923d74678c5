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
        let due = sqlx::query("SELECT id, instance_id, run_id, kind FROM timers WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at, id LIMIT 500")
            .bind(to_db(now))
            .fetch_all(&mut *conn)
            .await?;
        let mut fired = 0;
        for timer in due {
            let (id, instance, run, kind): (i64, i64, i64, String) =
                (timer.get(0), timer.get(1), timer.get(2), timer.get(3));
            let claimed = sqlx::query("UPDATE timers SET status = 'fired', fired_at = $1 WHERE id = $2 AND status = 'pending'")
                .bind(to_db(now))
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if claimed == 0 {
                continue;
            }
            fired += 1;
            let mut m = core.machine(conn, env, InstanceId(instance)).await?;
            if m.inst.status == InstanceStatus::Running {
                m.fire(run, &kind).await?;
                m.drain().await?;
            }
        }
        Ok(Reply::Count(fired))
    }
}
