//! The `absences` table: out-of-office periods and who stands in.

use super::Conn;

/// Who stands in for `user` on `date` (`YYYY-MM-DD`), by the newest absence covering it.
pub async fn deputy_on(
    conn: &mut Conn,
    user: &str,
    date: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT deputy FROM absences WHERE user_id = $1 AND from_date <= $2 AND to_date >= $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(user)
    .bind(date)
    .fetch_optional(conn)
    .await
}
