//! Delivery: the sender that takes due messages from the outbox and hands them to the
//! transport, marking each sent, or scheduling a retry with exponential backoff, or
//! giving up after a bounded number of tries with the error kept for people to see.
//!
//! Delivery is at least once: a message is leased before it is sent, and a crash after
//! sending but before marking it sent means it is sent again once the lease runs out,
//! with the same Message-ID.
//!
//! The sender never writes itself: it asks the engine's writer to lease a batch (one
//! statement) and, after sending the batch concurrently, to settle it (one statement for
//! the sent ones), so the marks share the group commit with the actions.

use std::time::Duration;

use crate::store::outbox as store;
use crate::store::{Conn, Pool};
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use serde::Serialize;

use crate::clock::to_db;

use super::transport::{Channel, Outgoing, Transport};

/// How the sender behaves.
#[derive(Debug)]
pub struct SenderOptions {
    pub transport: Transport,
    /// Posts the messages of channels besides mail (webhooks, group robots).
    pub hooks: super::webhook::Poster,
    pub from: Mailbox,
    /// Tries before a message is marked failed.
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub first_retry: Duration,
    /// The longest wait between tries.
    pub max_retry: Duration,
    /// How often to look for due messages when nobody signals (retries, other servers).
    pub poll: Duration,
    /// How long a message being sent is hidden from other senders: longer than a try
    /// may take (the SMTP timeout), short enough that after a crash the mail in flight
    /// goes out again within seconds.
    pub lease: Duration,
    /// Messages taken at once.
    pub batch: i64,
    /// Messages being sent at once (SMTP connections from the pool).
    pub concurrency: usize,
}

impl SenderOptions {
    pub fn new(transport: Transport, from: Mailbox) -> SenderOptions {
        SenderOptions {
            transport,
            hooks: super::webhook::Poster::new(),
            from,
            max_attempts: 8,
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            poll: Duration::from_secs(5),
            lease: Duration::from_secs(15),
            batch: 64,
            concurrency: super::transport::SMTP_CONNECTIONS as usize,
        }
    }
}

/// The sender address when none is configured.
pub const DEFAULT_FROM: &str = "Signoff <signoff@localhost>";

pub use crate::store::status::MailStatus;

/// A message of the outbox, as listings show it.
#[derive(Debug, Clone, Serialize)]
pub struct MailView {
    pub id: i64,
    pub message_id: String,
    pub instance: i64,
    pub kind: crate::model::Event,
    pub recipient: String,
    pub address: String,
    pub channel: Channel,
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
pub async fn list(pool: &Pool, query: &MailQuery) -> Result<Vec<MailView>, sqlx::Error> {
    let rows = store::list(
        pool,
        query.instance,
        query.status,
        query.limit.unwrap_or(200).clamp(1, 10_000),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MailView {
            id: r.id,
            message_id: r.message_id,
            instance: r.instance_id,
            kind: r.kind.0,
            recipient: r.recipient,
            // A robot's URL carries its access token: listings show its host only.
            address: match r.channel {
                Channel::Mail => r.address,
                _ => r
                    .address
                    .split(['?', '#'])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            },
            channel: r.channel,
            subject: r.subject,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        })
        .collect())
}

/// Counts of the outbox by status, for metrics: (pending, failed).
pub async fn backlog(pool: &Pool) -> Result<(i64, i64), sqlx::Error> {
    store::backlog(pool).await
}

/// What one pass of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// A message one sender has taken for one try.
#[derive(Debug, Clone)]
pub struct Leased {
    pub mail: Outgoing,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// What became of a leased message.
#[derive(Debug, Clone)]
pub enum Settled {
    Sent(i64),
    /// Not delivered; tried again at the time.
    Retry {
        id: i64,
        error: String,
        at: DateTime<Utc>,
    },
    /// Not delivered, for good.
    Failed {
        id: i64,
        error: String,
    },
}

impl Pass {
    fn count(&mut self, settled: &Settled) {
        match settled {
            Settled::Sent(_) => self.sent += 1,
            Settled::Retry { .. } => self.retrying += 1,
            Settled::Failed { .. } => self.failed += 1,
        }
    }
}

/// Takes up to `limit` new messages and `limit` retries due at `now` (wall time) for one
/// try, hidden from other senders until `until`: one statement.
pub async fn lease(
    conn: &mut Conn,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Leased>, sqlx::Error> {
    let rows = store::lease(conn, &to_db(now), &to_db(until), limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| Leased {
            mail: Outgoing {
                id: r.id,
                message_id: r.message_id,
                channel: r.channel,
                to: r.address,
                subject: r.subject,
                text: r.body_text,
                html: r.body_html,
            },
            attempts: r.attempts,
        })
        .collect())
}

/// Records what became of leased messages: the sent ones in one statement.
pub async fn settle(
    conn: &mut Conn,
    now: DateTime<Utc>,
    results: &[Settled],
) -> Result<(), sqlx::Error> {
    let sent: Vec<i64> = results
        .iter()
        .filter_map(|r| match r {
            Settled::Sent(id) => Some(*id),
            _ => None,
        })
        .collect();
    store::mark_sent(conn, &sent, &to_db(now)).await?;
    for result in results {
        match result {
            Settled::Sent(_) => {}
            Settled::Retry { id, error, at } => {
                store::mark_retry(conn, *id, error, &to_db(*at)).await?;
            }
            Settled::Failed { id, error } => store::mark_failed(conn, *id, error).await?,
        }
    }
    Ok(())
}

/// Sends a leased batch, `options.concurrency` at a time; what became of each.
pub async fn send_batch(
    options: &SenderOptions,
    batch: Vec<Leased>,
    pass: &mut Pass,
) -> Vec<Settled> {
    use futures::StreamExt;
    let results: Vec<Settled> = futures::stream::iter(batch)
        .map(|leased| async move {
            let result = match leased.mail.channel.hook() {
                None => options.transport.send(&options.from, &leased.mail).await,
                Some(kind) => options.hooks.post(kind, &leased.mail).await,
            };
            settle_one(options, &leased, result)
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    for settled in &results {
        pass.count(settled);
    }
    results
}

/// A try's result as the outbox records it, logged.
fn settle_one(
    options: &SenderOptions,
    leased: &Leased,
    result: Result<(), super::SendError>,
) -> Settled {
    let (mail, attempts) = (&leased.mail, leased.attempts);
    match result {
        Ok(()) => {
            tracing::info!(id = mail.id, to = %mail.to, subject = %mail.subject, "mail sent");
            Settled::Sent(mail.id)
        }
        Err(e) if e.permanent || attempts >= i64::from(options.max_attempts) => {
            tracing::error!(id = mail.id, to = %mail.to, attempts, error = %e, "mail failed for good");
            Settled::Failed {
                id: mail.id,
                error: e.message,
            }
        }
        Err(e) => {
            let wait = backoff(options, attempts);
            tracing::warn!(id = mail.id, to = %mail.to, attempts, retry_in = ?wait, error = %e, "mail not sent; will retry");
            Settled::Retry {
                id: mail.id,
                error: e.message,
                at: Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
            }
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
