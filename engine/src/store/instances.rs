//! The `instances` table (the requests): the reads of one request's head. (The writer's
//! own request statements are still in `runtime/`.)

use super::Conn;

/// What a request is of and by, and its form.
#[derive(Debug, sqlx::FromRow)]
pub struct Head {
    pub process_id: String,
    pub version: i64,
    pub submitter: String,
    pub form: String,
}

pub async fn head(conn: &mut Conn, id: i64) -> Result<Option<Head>, sqlx::Error> {
    sqlx::query_as("SELECT process_id, version, submitter, form FROM instances WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Which process request `id` is of.
pub async fn process_of(conn: &mut Conn, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT process_id FROM instances WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}
