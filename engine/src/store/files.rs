//! The `attachments` and `request_files` tables: uploaded contents stored once by their
//! SHA-256, and which request holds which file under which field and name.

use sqlx::Row;

use super::{Conn, Pool};
use crate::attachment::FileRef;

/// One upload to store with the request that holds it.
pub struct NewFile<'a> {
    pub field: &'a str,
    pub file: &'a FileRef,
    pub bytes: &'a [u8],
}

/// Stores `files` for request `instance` in the writer's transaction: each content once
/// (a content already stored is kept), each holding once per field.
pub async fn insert(
    conn: &mut Conn,
    instance: i64,
    files: &[NewFile<'_>],
    by: &str,
    at: &str,
) -> Result<(), sqlx::Error> {
    for f in files {
        sqlx::query(
            "INSERT INTO attachments (id, media_type, size, content, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&f.file.id)
        .bind(&f.file.media_type)
        .bind(i64::try_from(f.file.size).unwrap_or(i64::MAX))
        .bind(f.bytes)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO request_files (instance_id, file_id, field, name, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (instance_id, file_id, field) DO NOTHING",
        )
        .bind(instance)
        .bind(&f.file.id)
        .bind(f.field)
        .bind(&f.file.name)
        .bind(by)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A file request `instance` holds: its name, media type and content.
pub struct Stored {
    pub name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// The file `file_id` of request `instance`, when the request holds it.
pub async fn read(
    pool: &Pool,
    instance: i64,
    file_id: &str,
) -> Result<Option<Stored>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT f.name, a.media_type, a.content FROM request_files f JOIN attachments a ON a.id = f.file_id \
         WHERE f.instance_id = $1 AND f.file_id = $2 ORDER BY f.added_at LIMIT 1",
    )
    .bind(instance)
    .bind(file_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Stored {
        name: r.get("name"),
        media_type: r.get("media_type"),
        content: r.get("content"),
    }))
}

/// How many contents are stored (for tests that check nothing was half stored).
pub async fn count(pool: &Pool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM attachments")
        .fetch_one(pool)
        .await
}
