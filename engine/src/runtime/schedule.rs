//! Recurring starts: a process with a `schedule` gets a request at each occurrence of its
//! days on the working calendar (every Friday, the last working day of the month), for
//! the user and with the form the schedule names. An occurrence missed while no server
//! ran starts once, late; occurrences before a schedule was first seen never start.

use chrono::NaiveTime;
use serde_json::json;

use crate::clock::{from_db, to_db};
use crate::model::ProcessDef;

use super::{Engine, EngineError};

impl Engine {
    /// Starts the requests whose scheduled time has come; how many were started.
    pub async fn start_scheduled(&self) -> Result<usize, EngineError> {
        let mut started = 0;
        for (_, def) in self.registry().processes() {
            if def.schedule.is_some() && self.start_if_due(&def).await? {
                started += 1;
            }
        }
        Ok(started)
    }

    /// Starts `def`'s scheduled request if its next occurrence has come and this server
    /// claims it first.
    async fn start_if_due(&self, def: &ProcessDef) -> Result<bool, EngineError> {
        let Some(schedule) = &def.schedule else {
            return Ok(false);
        };
        let process = def.id.value.as_str();
        let now = self.now();
        let last: Option<String> =
            sqlx::query_scalar("SELECT last_run FROM schedules WHERE process_id = $1")
                .bind(process)
                .fetch_optional(&self.core.pool)
                .await?;
        let Some(last) = last else {
            sqlx::query("INSERT INTO schedules (process_id, last_run) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(process)
                .bind(to_db(now))
                .execute(&self.core.pool)
                .await?;
            return Ok(false);
        };
        let time = schedule
            .at
            .as_ref()
            .and_then(|t| NaiveTime::parse_from_str(&t.value, "%H:%M").ok());
        let calendar = &self.core.registry.calendar;
        let due =
            from_db(&last).and_then(|l| calendar.next_occurrence(l, schedule.every.value, time));
        if due.is_none_or(|due| due > now) {
            return Ok(false);
        }
        let claimed = sqlx::query(
            "UPDATE schedules SET last_run = $2 WHERE process_id = $1 AND last_run = $3",
        )
        .bind(process)
        .bind(to_db(now))
        .bind(&last)
        .execute(&self.core.pool)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            return Ok(false);
        }
        let form = schedule.form.clone().unwrap_or_else(|| json!({}));
        match self.start(process, &schedule.submitter.value, form).await {
            Ok(view) => {
                tracing::info!(process, request = %view.id, "started a scheduled request");
                Ok(true)
            }
            Err(e) => {
                tracing::error!(process, error = %e, "a scheduled start failed");
                Ok(false)
            }
        }
    }
}
