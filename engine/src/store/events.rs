//! The `events` table (the requests' history): the reads of single entries. Entries are
//! appended by the writer's batch (`runtime/appends.rs`).

use super::Conn;

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
