//! Recurring starts: a process with a `schedule` gets a request at each occurrence of its
//! days on the working calendar (every Friday, the last working day of the month), for
//! the user and with the form the schedule names. An occurrence missed while no server
//! ran starts once, late; occurrences before a schedule was first seen never start. The
//! claim and the start are one command of the writer (`cmd/start_scheduled.rs`).

use super::cmd::{Command, StartScheduled};
use super::{Engine, EngineError, Reply};

impl Engine {
    /// Starts the requests whose scheduled time has come; how many were started.
    pub async fn start_scheduled(&self) -> Result<usize, EngineError> {
        let mut started = 0;
        for (_, def) in self.registry().processes() {
            let Some(schedule) = &def.schedule else {
                continue;
            };
            if !self.may_start(&def, &schedule.submitter.value) {
                tracing::error!(process = %def.id, user = %schedule.submitter.value, "the schedule's submitter may not start the process");
                continue;
            }
            let command = Command::StartScheduled(StartScheduled {
                process: def.id.value.clone(),
            });
            if let Reply::Acted(_) = self.send(command).await? {
                started += 1;
            }
        }
        Ok(started)
    }
}
