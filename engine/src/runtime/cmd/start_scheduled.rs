//! `start_scheduled`: a process's scheduled request, when its next occurrence on the
//! working calendar has come. The occurrence is claimed (its `last_run` moved) and the
//! request started in one transaction, so a crash between the two loses neither, and
//! servers sharing the database start it once. A start that fails (a schedule's form the
//! current version refuses) keeps the claim: it is logged, not retried every tick.

use chrono::NaiveTime;
use serde_json::json;
use sqlx::Connection;

use super::prelude::*;
use super::Start;
use crate::clock::from_db;

pub struct StartScheduled {
    pub process: String,
}

impl StartScheduled {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let process = self.process;
        let Some((_, def)) = core.registry.current(conn, &process).await? else {
            return Ok(Reply::Count(0));
        };
        let Some(schedule) = &def.schedule else {
            return Ok(Reply::Count(0));
        };
        let last = crate::store::schedules::last_run(conn, &process).await?;
        let Some(last) = last else {
            // First seen now: occurrences before this moment never start.
            set_last_run(conn, &process, env).await?;
            return Ok(Reply::Count(0));
        };
        let time = schedule
            .at
            .as_ref()
            .and_then(|t| NaiveTime::parse_from_str(&t.value, "%H:%M").ok());
        let due = from_db(&last)
            .and_then(|l| env.calendar.next_occurrence(l, schedule.every.value, time));
        if due.is_none_or(|due| due > env.now) {
            return Ok(Reply::Count(0));
        }
        set_last_run(conn, &process, env).await?;
        let start = Start {
            process: process.clone(),
            submitter: schedule.submitter.value.clone(),
            form: schedule.form.clone().unwrap_or_else(|| json!({})),
            uploads: Vec::new(),
        };
        let mark = env.appends.lock().mark();
        let mut attempt = conn.begin().await?;
        match start.apply(core, &mut attempt, env).await {
            Ok(reply) => {
                attempt.commit().await?;
                tracing::info!(process, "started a scheduled request");
                Ok(reply)
            }
            Err(e) => {
                attempt.rollback().await?;
                env.appends.lock().rollback(mark);
                tracing::error!(process, error = %e, "a scheduled start failed");
                Ok(Reply::Count(0))
            }
        }
    }
}

/// Notes the occurrence at `env.now` as the schedule's last.
async fn set_last_run(conn: &mut Conn, process: &str, env: &Env<'_>) -> Result<(), EngineError> {
    Ok(crate::store::schedules::set_last_run(conn, process, &to_db(env.now)).await?)
}
