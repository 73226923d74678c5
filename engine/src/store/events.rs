//! The `events` table (the requests' history): a request's whole history and single entries.
//! Entries are appended by the writer's batch (`runtime/appends.rs`).

use super::{Conn, Pool, Sql};

/// One history entry, all its columns.
#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub instance_id: i64,
    pub at: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub step_id: Option<String>,
    pub task_id: Option<i64>,
    pub comment: Option<String>,
    pub detail: Option<String>,
}

/// Request `instance`'s newest entry of `action`.
pub async fn latest_of(
    conn: &mut Conn,
    instance: i64,
    action: &str,
) -> Result<Option<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, instance_id, at, actor, on_behalf_of, action, step_id, task_id, comment, detail \
         FROM events WHERE instance_id = $1 AND action = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(instance)
    .bind(action)
    .fetch_optional(conn)
    .await
}

/// When request `instance` last had an entry of `action`.
pub async fn last_time_of(
    conn: &mut Conn,
    instance: i64,
    action: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(at) FROM events WHERE instance_id = $1 AND action = $2")
        .bind(instance)
        .bind(action)
        .fetch_one(conn)
        .await
}

/// The largest entry id (0 for none): the writer counts on from it.
pub async fn max_id(conn: &mut Conn) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(conn)
        .await
}

/// Request `instance`'s newest entry among `actions`: who, which action, which task.
pub async fn latest_among(
    conn: &mut Conn,
    instance: i64,
    actions: &[&str],
) -> Result<Option<(String, String, Option<i64>)>, sqlx::Error> {
    let mut sql = super::Sql::new("SELECT actor, action, task_id FROM events WHERE instance_id = ");
    sql.push_bind(instance).push(" AND action IN ");
    sql.push_list(actions.iter().map(|a| a.to_string()));
    sql.push(" ORDER BY id DESC LIMIT 1");
    sql.query_as().fetch_optional(conn).await
}

/// One entry of a request's history as pages and the API show it, with the inputs of
/// the task a decision was on.
#[derive(Debug, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub step_id: Option<String>,
    pub task_id: Option<i64>,
    pub comment: Option<String>,
    pub changes: Option<String>,
    pub detail: Option<String>,
    pub inputs: Option<String>,
}

/// Request `instance`'s whole history, oldest first; `decisions` are the actions whose
/// task's inputs come with them.
pub async fn history_of(
    pool: &Pool,
    instance: i64,
    decisions: [&str; 3],
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.id, e.at, e.actor, e.on_behalf_of, e.action, e.step_id, e.task_id, e.comment, e.changes, e.detail, t.inputs \
         FROM events e LEFT JOIN tasks t ON t.id = e.task_id AND e.action IN ($2, $3, $4) \
         WHERE e.instance_id = $1 ORDER BY e.id",
    )
    .bind(instance)
    .bind(decisions[0])
    .bind(decisions[1])
    .bind(decisions[2])
    .fetch_all(pool)
    .await
}

/// A history entry waiting for the commit.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: i64,
    pub instance: i64,
    pub at: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub action: super::history_action::HistoryAction,
    pub step: Option<String>,
    pub task: Option<i64>,
    pub comment: Option<String>,
    pub changes: Option<String>,
    pub detail: Option<String>,
}

/// Appends `events` (ids counted by the writer), a multi-row `INSERT` per
/// [`ROWS_PER_STATEMENT`](super::ROWS_PER_STATEMENT) entries.
pub async fn insert_many(conn: &mut Conn, events: &[NewEvent]) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(super::ROWS_PER_STATEMENT) {
        let mut sql = Sql::for_conn(
            conn,
            "INSERT INTO events (id, instance_id, at, actor, on_behalf_of, action, step_id, task_id, comment, changes, detail) VALUES ",
        );
        for (i, e) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.push_bind(e.id).push(", ").push_bind(e.instance);
            sql.push(", ").push_bind(e.at.as_str());
            sql.push(", ").push_bind(e.actor.as_str());
            sql.push(", ").push_bind(e.on_behalf_of.as_deref());
            sql.push(", ").push_bind(e.action.as_str());
            sql.push(", ").push_bind(e.step.as_deref());
            sql.push(", ").push_bind(e.task);
            sql.push(", ").push_bind(e.comment.as_deref());
            sql.push(", ").push_bind(e.changes.as_deref());
            sql.push(", ").push_bind(e.detail.as_deref()).push(")");
        }
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}
