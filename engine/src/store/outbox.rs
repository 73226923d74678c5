//! The `outbox` table: queueing rendered messages (with the action that made them, in
//! the writer's batch), listings, the backlog, leasing due messages for one try and
//! settling them.

use super::status::{Channel, MailKind, MailStatus};
use super::{Conn, Pool, Sql};

/// A message as listings read it.
#[derive(Debug, sqlx::FromRow)]
pub struct MailRow {
    pub id: i64,
    pub message_id: String,
    pub instance_id: i64,
    pub kind: MailKind,
    pub recipient: String,
    pub address: String,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub channel: Channel,
}

/// A message taken for one try.
#[derive(Debug, sqlx::FromRow)]
pub struct LeasedRow {
    pub id: i64,
    pub message_id: String,
    pub address: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i64,
    pub channel: Channel,
}

/// The newest `limit` messages, of request `instance` and in `status` when given (only
/// the filters given, so each finds its rows through its own index).
pub async fn list(
    pool: &Pool,
    instance: Option<i64>,
    status: Option<MailStatus>,
    limit: i64,
) -> Result<Vec<MailRow>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT id, message_id, instance_id, kind, recipient, address, subject, status, attempts, last_error, created_at, sent_at, channel \
         FROM outbox WHERE 1 = 1",
    );
    if let Some(instance) = instance {
        sql.push(" AND instance_id = ").push_bind(instance);
    }
    if let Some(status) = status {
        sql.push(" AND status = ").push_bind(status);
    }
    sql.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    sql.query_as().fetch_all(pool).await
}

/// (pending, failed) messages.
pub async fn backlog(pool: &Pool) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE status = 'pending'), \
                (SELECT COUNT(*) FROM outbox WHERE status = 'failed')",
    )
    .fetch_one(pool)
    .await
}

/// Takes up to `limit` new messages and `limit` retries due at `now` for one try, hidden
/// from other senders until `until`: one statement.
pub async fn lease(
    conn: &mut Conn,
    now: &str,
    until: &str,
    limit: i64,
) -> Result<Vec<LeasedRow>, sqlx::Error> {
    sqlx::query_as(
        // New mail (no time set: due at once) oldest first, then retries that are due;
        // each half through the (status, next_attempt_at) index in its order.
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1 WHERE id IN \
         (SELECT id FROM (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at IS NULL ORDER BY id LIMIT $3) new_mail \
          UNION ALL \
          SELECT id FROM (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3) retries) \
         RETURNING id, message_id, address, subject, body_text, body_html, attempts, channel",
    )
    .bind(until)
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Marks messages `ids` sent at `now`, in one statement.
pub async fn mark_sent(conn: &mut Conn, ids: &[i64], now: &str) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::for_conn(conn, "UPDATE outbox SET status = 'sent', sent_at = ");
    sql.push_bind(now.to_string())
        .push(", last_error = NULL WHERE id IN ")
        .push_list(ids.iter().copied());
    sql.query().execute(conn).await?;
    Ok(())
}

/// Keeps message `id` for another try at `at`, with the error of this one.
pub async fn mark_retry(
    conn: &mut Conn,
    id: i64,
    error: &str,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3")
        .bind(error)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives message `id` up, with the error of its last try.
pub async fn mark_failed(conn: &mut Conn, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET status = 'failed', last_error = $1, next_attempt_at = NULL WHERE id = $2",
    )
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A rendered mail waiting for the commit.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub message_id: String,
    pub channel: Channel,
    pub instance: i64,
    pub event: i64,
    pub kind: MailKind,
    pub recipient: String,
    pub address: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: String,
}

/// Queues `mail`, a multi-row `INSERT` per
/// [`ROWS_PER_STATEMENT`](super::ROWS_PER_STATEMENT) messages; a `Message-ID` already
/// stored (the event was planned before) is skipped.
pub async fn insert_many(conn: &mut Conn, mail: &[NewMail]) -> Result<(), sqlx::Error> {
    for chunk in mail.chunks(super::ROWS_PER_STATEMENT) {
        let mut sql = Sql::for_conn(
            conn,
            "INSERT INTO outbox (message_id, channel, instance_id, event_id, kind, recipient, address, subject, body_text, body_html, created_at) VALUES ",
        );
        for (i, m) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.push_bind(m.message_id.as_str());
            sql.push(", ").push_bind(m.channel);
            sql.push(", ").push_bind(m.instance);
            sql.push(", ").push_bind(m.event);
            sql.push(", ").push_bind(m.kind);
            sql.push(", ").push_bind(m.recipient.as_str());
            sql.push(", ").push_bind(m.address.as_str());
            sql.push(", ").push_bind(m.subject.as_str());
            sql.push(", ").push_bind(m.body_text.as_str());
            sql.push(", ").push_bind(m.body_html.as_str());
            sql.push(", ").push_bind(m.created_at.as_str()).push(")");
        }
        sql.push(" ON CONFLICT (message_id) DO NOTHING");
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}
