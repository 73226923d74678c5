//! The `schedules` table: when each scheduled process last started its requests.

use super::Conn;

pub async fn last_run(conn: &mut Conn, process: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT last_run FROM schedules WHERE process_id = $1")
        .bind(process)
        .fetch_optional(conn)
        .await
}

pub async fn set_last_run(conn: &mut Conn, process: &str, at: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO schedules (process_id, last_run) VALUES ($1, $2) \
         ON CONFLICT (process_id) DO UPDATE SET last_run = excluded.last_run",
    )
    .bind(process)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}
