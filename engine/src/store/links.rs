//! The `request_links` table: which requests a request's form refers to, by field.

use super::status::InstanceStatus;
use super::{Conn, Pool};

/// How many references request `instance` holds.
pub async fn count(conn: &mut Conn, instance: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM request_links WHERE instance_id = $1")
        .bind(instance)
        .fetch_one(conn)
        .await
}

/// Makes `links` (the field's path, the request referred to) request `instance`'s
/// references.
pub async fn replace(
    conn: &mut Conn,
    instance: i64,
    links: &[(String, i64)],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM request_links WHERE instance_id = $1")
        .bind(instance)
        .execute(&mut *conn)
        .await?;
    for (path, target) in links {
        sqlx::query(
            "INSERT INTO request_links (instance_id, field, target_id) VALUES ($1, $2, $3)",
        )
        .bind(instance)
        .bind(path)
        .bind(target)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A reference between two requests, seen from one of them.
#[derive(Debug, sqlx::FromRow)]
pub struct LinkRow {
    pub field: String,
    /// The request at the other end.
    pub other: i64,
    pub process_id: String,
    pub status: InstanceStatus,
    /// 1 when the other request refers to this one.
    pub incoming: i64,
}

/// The requests `instance` refers to, and those referring to it.
pub async fn of(pool: &Pool, instance: i64) -> Result<Vec<LinkRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.field, l.target_id AS other, i.process_id, i.status, 0 AS incoming FROM request_links l JOIN instances i ON i.id = l.target_id WHERE l.instance_id = $1 \
         UNION ALL \
         SELECT l.field, l.instance_id AS other, i.process_id, i.status, 1 AS incoming FROM request_links l JOIN instances i ON i.id = l.instance_id WHERE l.target_id = $1",
    )
    .bind(instance)
    .fetch_all(pool)
    .await
}
