//! `migrate`: running requests move from one version to another, steps renamed by a mapping; a step the new version lacks is refused.

use super::prelude::*;

pub struct Migrate {
    pub process: String,
    pub from: i64,
    pub to: i64,
    pub mapping: Vec<(String, String)>,
}

impl Migrate {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let Migrate {
            process,
            from,
            to,
            mapping,
        } = self;
        let now = env.now;
        let target = core
            .registry
            .fetch(conn, &process, to)
            .await?
            .ok_or_else(|| EngineError::NotAllowed(format!("`{process}` has no version {to}")))?;
        let running: Vec<i64> = sqlx::query_scalar("SELECT id FROM instances WHERE process_id = $1 AND version = $2 AND status IN ('running', 'incident')")
            .bind(&process)
            .bind(from)
            .fetch_all(&mut *conn)
            .await?;
        for id in &running {
            let steps: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, step_id FROM step_runs WHERE instance_id = $1 AND status = 'active'",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            for (run, step) in steps {
                let mapped = mapping
                    .iter()
                    .find(|(old, _)| *old == step)
                    .map(|(_, new)| new.clone())
                    .unwrap_or(step.clone());
                if target.step(&mapped).is_none() {
                    return Err(EngineError::NotAllowed(format!(
                        "request {id} is at step `{step}`, which version {to} does not have; map it with `--map {step}=NEW_STEP`"
                    )));
                }
                sqlx::query("UPDATE step_runs SET step_id = $1 WHERE id = $2")
                    .bind(&mapped)
                    .bind(run)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("UPDATE tasks SET step_id = $1 WHERE run_id = $2")
                    .bind(&mapped)
                    .bind(run)
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query("UPDATE instances SET version = $1, updated_at = $2 WHERE id = $3")
                .bind(to)
                .bind(to_db(now))
                .bind(id)
                .execute(&mut *conn)
                .await?;
            let detail = format!("version {from} to {to}");
            env.appends.lock().event(
                *id,
                &to_db(now),
                &Entry::new("engine", HistoryAction::Migrate).detail(&detail),
            );
        }
        Ok(Reply::Count(running.len()))
    }
}
