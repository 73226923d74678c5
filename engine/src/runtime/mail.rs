//! The mail sender: takes due mail from the outbox through the writer (one lease
//! statement per batch), sends the batch concurrently, and settles it through the writer
//! (one statement for the sent ones). It runs beside the server until the engine closes:
//! a pass whenever an action queued mail, and every `poll` for retries and for mail
//! queued by other servers.

use std::sync::Arc;

use crate::notify::outbox::{self, Pass};
use crate::notify::SenderOptions;

use super::{cmd, Command, Engine, EngineError, Reply};

impl Engine {
    /// Starts the sender; it stops when the engine closes.
    pub fn spawn_mailer(&self, options: SenderOptions) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        let signal = Arc::clone(&self.core.mail_queued);
        tokio::spawn(async move {
            tracing::info!(transport = %options.transport.describe(), "mail sender started");
            let mut ticks = tokio::time::interval(options.poll);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                match engine.deliver_mail(&options).await {
                    Ok(_) => {}
                    Err(EngineError::Closed) => break,
                    Err(e) => tracing::error!(error = %e, "mail sender"),
                }
                tokio::select! {
                    _ = signal.notified() => {}
                    _ = ticks.tick() => {}
                }
            }
            tracing::info!("mail sender stopped");
        })
    }

    /// Delivers the mail due now (for commands that exit afterwards, and each pass of
    /// the sender).
    pub async fn deliver_mail(&self, options: &SenderOptions) -> Result<Pass, EngineError> {
        let mut pass = Pass::default();
        loop {
            let batch = match self
                .send(Command::LeaseMail(cmd::LeaseMail {
                    now: chrono::Utc::now(),
                    limit: options.batch,
                    lease: options.lease,
                }))
                .await?
            {
                Reply::Mail(batch) => batch,
                _ => return Err(EngineError::Closed),
            };
            if batch.is_empty() {
                return Ok(pass);
            }
            let results = outbox::send_batch(options, batch, &mut pass).await;
            self.send(Command::SettleMail(cmd::SettleMail {
                now: chrono::Utc::now(),
                results,
            }))
            .await?;
        }
    }
}
