//! The `definitions` and `process_heads` tables: every published version of a process
//! by its content's hash, and which version of each process new requests start on.

use super::{Conn, Pool};

/// One stored version.
#[derive(Debug, sqlx::FromRow)]
pub struct Version {
    pub process_id: String,
    pub version: i64,
    pub source: String,
}

/// Every stored version, by process and version.
pub async fn all(conn: &mut Conn) -> Result<Vec<Version>, sqlx::Error> {
    sqlx::query_as(
        "SELECT process_id, version, source FROM definitions ORDER BY process_id, version",
    )
    .fetch_all(conn)
    .await
}

/// The text of `process`'s `version`.
pub async fn source(
    conn: &mut Conn,
    process: &str,
    version: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT source FROM definitions WHERE process_id = $1 AND version = $2")
        .bind(process)
        .bind(version)
        .fetch_optional(conn)
        .await
}

/// The version of `process` whose text has `hash`.
pub async fn version_of(
    conn: &mut Conn,
    process: &str,
    hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM definitions WHERE process_id = $1 AND hash = $2")
        .bind(process)
        .bind(hash)
        .fetch_optional(conn)
        .await
}

/// Stores `text` as the next version of `process`, unless a row with its hash exists
/// (servers registering at once: the unique (process_id, hash) keeps one row per text).
pub async fn insert_next(
    conn: &mut Conn,
    process: &str,
    hash: &str,
    text: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO definitions (process_id, version, hash, source, created_at) \
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM definitions WHERE process_id = $1 \
         ON CONFLICT DO NOTHING",
    )
    .bind(process)
    .bind(hash)
    .bind(text)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every process's current version.
pub async fn heads(conn: &mut Conn) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT process_id, version FROM process_heads")
        .fetch_all(conn)
        .await
}

/// `process`'s current version.
pub async fn head(conn: &mut Conn, process: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM process_heads WHERE process_id = $1")
        .bind(process)
        .fetch_optional(conn)
        .await
}

/// Makes `version` `process`'s current one; with `replace` false, only when it has none.
pub async fn set_head(
    conn: &mut Conn,
    process: &str,
    version: i64,
    now: &str,
    replace: bool,
) -> Result<(), sqlx::Error> {
    let on_conflict = if replace {
        "DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at"
    } else {
        "DO NOTHING"
    };
    sqlx::query(&format!(
        "INSERT INTO process_heads (process_id, version, changed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (process_id) {on_conflict}"
    ))
    .bind(process)
    .bind(version)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored version's number, hash and when it was stored.
#[derive(Debug, sqlx::FromRow)]
pub struct Stored {
    pub version: i64,
    pub hash: String,
    pub created_at: String,
}

/// `process`'s stored versions, oldest first.
pub async fn versions(pool: &Pool, process: &str) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query_as(
        "SELECT version, hash, created_at FROM definitions WHERE process_id = $1 ORDER BY version",
    )
    .bind(process)
    .fetch_all(pool)
    .await
}
