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
        let running = store::instances::unfinished_on(conn, &process, from).await?;
        for id in &running {
            let steps = store::runs::active_steps(conn, *id).await?;
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
                store::runs::move_to_step(conn, run, &mapped).await?;
                store::tasks::move_run_to_step(conn, run, &mapped).await?;
            }
            store::instances::set_version(conn, *id, to, &to_db(now)).await?;
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
