//! The `request_links` table: which requests a request's form refers to, by field.

use super::Conn;

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
