//! Delivery: the sender that takes due messages from the outbox and hands them to the
//! transport, marking each sent, or scheduling a retry with exponential backoff, or
//! giving up after a bounded number of tries with the error kept for people to see.
//!
//! Delivery is at least once: a message is leased before it is sent, and a crash after
//! sending but before marking it sent means it is sent again once the lease runs out,
//! with the same Message-ID.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::Mailbox;
use serde::Serialize;
use sqlx::{Row, SqlitePool};
use tokio::sync::Notify;

use crate::clock::to_db;
use crate::runtime::EngineError;

use super::transport::{Outgoing, Transport};

/// How the sender behaves.
#[derive(Debug)]
pub struct SenderOptions {
    pub transport: Transport,
    pub from: Mailbox,
    /// Tries before a message is marked failed.
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub first_retry: Duration,
    /// The longest wait between tries.
    pub max_retry: Duration,
    /// How often to look for due messages when nobody signals (retries, other servers).
    pub poll: Duration,
    /// How long a message being sent is hidden from other senders.
    pub lease: Duration,
}

impl SenderOptions {
    pub fn new(transport: Transport, from: Mailbox) -> SenderOptions {
        SenderOptions {
            transport,
            from,
            max_attempts: 8,
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            poll: Duration::from_secs(5),
            lease: Duration::from_secs(120),
        }
    }
}

/// The sender address when none is configured.
pub const DEFAULT_FROM: &str = "Signoff <signoff@localhost>";

/// The status of one queued message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    Pending,
    Sent,
    Failed,
}

impl MailStatus {
    fn parse(s: &str) -> MailStatus {
        match s {
            "sent" => MailStatus::Sent,
            "failed" => MailStatus::Failed,
            _ => MailStatus::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }
}

/// A message of the outbox, as listings show it.
#[derive(Debug, Clone, Serialize)]
pub struct MailView {
    pub id: i64,
    pub message_id: String,
    pub instance: i64,
    pub kind: String,
    pub recipient: String,
    pub address: String,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// Which messages to list.
#[derive(Debug, Clone, Default)]
pub struct MailQuery {
    pub instance: Option<i64>,
    pub status: Option<MailStatus>,
    pub limit: Option<i64>,
}

/// Lists the outbox, newest first.
pub async fn list(pool: &SqlitePool, query: &MailQuery) -> Result<Vec<MailView>, EngineError> {
    let rows = sqlx::query(
        "SELECT id, message_id, instance_id, kind, recipient, address, subject, status, attempts, last_error, created_at, sent_at \
         FROM outbox WHERE ($1 IS NULL OR instance_id = $1) AND ($2 IS NULL OR status = $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(query.instance)
    .bind(query.status.map(MailStatus::as_str))
    .bind(query.limit.unwrap_or(200).clamp(1, 10_000))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MailView {
            id: r.get(0),
            message_id: r.get(1),
            instance: r.get(2),
            kind: r.get(3),
            recipient: r.get(4),
            address: r.get(5),
            subject: r.get(6),
            status: MailStatus::parse(r.get(7)),
            attempts: r.get(8),
            last_error: r.get(9),
            created_at: r.get(10),
            sent_at: r.get(11),
        })
        .collect())
}

/// Counts of the outbox by status, for metrics: (pending, failed).
pub async fn backlog(pool: &SqlitePool) -> Result<(i64, i64), EngineError> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) FROM outbox",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.get(0), row.get(1)))
}

/// What one pass of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Sends every message due now; returns what happened.
pub async fn deliver_due(pool: &SqlitePool, options: &SenderOptions) -> Result<Pass, EngineError> {
    let mut pass = Pass::default();
    loop {
        let now = Utc::now();
        let due = sqlx::query(
            "SELECT id, message_id, address, subject, body_text, body_html, attempts FROM outbox \
             WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $1) ORDER BY id LIMIT 50",
        )
        .bind(to_db(now))
        .fetch_all(pool)
        .await?;
        if due.is_empty() {
            return Ok(pass);
        }
        let mut progressed = false;
        for row in due {
            let id: i64 = row.get(0);
            let attempts: i64 = row.get::<i64, _>(6) + 1;
            let lease_until = now + chrono::Duration::from_std(options.lease).unwrap_or_default();
            // The lease: only one sender (of possibly several servers) takes a message.
            let leased = sqlx::query(
                "UPDATE outbox SET attempts = $1, next_attempt_at = $2 WHERE id = $3 AND status = 'pending' \
                 AND (next_attempt_at IS NULL OR next_attempt_at <= $4)",
            )
            .bind(attempts)
            .bind(to_db(lease_until))
            .bind(id)
            .bind(to_db(now))
            .execute(pool)
            .await?
            .rows_affected();
            if leased != 1 {
                continue;
            }
            progressed = true;
            let mail = Outgoing {
                id,
                message_id: row.get(1),
                to: row.get(2),
                subject: row.get(3),
                text: row.get(4),
                html: row.get(5),
            };
            match options.transport.send(&options.from, &mail).await {
                Ok(()) => {
                    sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2")
                        .bind(to_db(Utc::now()))
                        .bind(id)
                        .execute(pool)
                        .await?;
                    tracing::info!(id, to = %mail.to, subject = %mail.subject, "mail sent");
                    pass.sent += 1;
                }
                Err(e) if e.permanent || attempts >= i64::from(options.max_attempts) => {
                    sqlx::query("UPDATE outbox SET status = 'failed', last_error = $1, next_attempt_at = NULL WHERE id = $2")
                        .bind(&e.message)
                        .bind(id)
                        .execute(pool)
                        .await?;
                    tracing::error!(id, to = %mail.to, attempts, error = %e, "mail failed for good");
                    pass.failed += 1;
                }
                Err(e) => {
                    let wait = backoff(options, attempts);
                    let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    sqlx::query(
                        "UPDATE outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3",
                    )
                    .bind(&e.message)
                    .bind(to_db(next))
                    .bind(id)
                    .execute(pool)
                    .await?;
                    tracing::warn!(id, to = %mail.to, attempts, retry_in = ?wait, error = %e, "mail not sent; will retry");
                    pass.retrying += 1;
                }
            }
        }
        if !progressed {
            return Ok(pass);
        }
    }
}

/// The wait after the `attempts`-th failed try: first_retry, doubled each time, capped.
fn backoff(options: &SenderOptions, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    options
        .first_retry
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(options.max_retry)
}

/// Runs the sender until the database closes: a pass whenever the engine signals new
/// mail, and every `poll` for retries and for mail queued by other servers.
pub async fn run(pool: SqlitePool, options: SenderOptions, signal: Arc<Notify>) {
    tracing::info!(transport = %options.transport.describe(), "mail sender started");
    let mut ticks = tokio::time::interval(options.poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match deliver_due(&pool, &options).await {
            Ok(_) => {}
            Err(EngineError::Storage(sqlx::Error::PoolClosed)) => break,
            Err(e) => tracing::error!(error = %e, "mail sender"),
        }
        if pool.is_closed() {
            break;
        }
        tokio::select! {
            _ = signal.notified() => {}
            _ = ticks.tick() => {}
        }
    }
    tracing::info!("mail sender stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let mut options = SenderOptions::new(Transport::Log, DEFAULT_FROM.parse().expect("valid"));
        options.first_retry = Duration::from_secs(30);
        options.max_retry = Duration::from_secs(300);
        let waits: Vec<u64> = (1..=6).map(|n| backoff(&options, n).as_secs()).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 300, 300]);
    }
}
