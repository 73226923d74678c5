//! The `absences` table: out-of-office periods and who stands in.

use super::{Conn, Pool};

/// Who stands in for whom on `date` (`YYYY-MM-DD`): (user, deputy) for every absence
/// covering it, oldest first (so a user's newest absence comes last and wins).
pub async fn deputies_on(
    conn: &mut Conn,
    date: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, deputy FROM absences WHERE from_date <= $1 AND to_date >= $1 ORDER BY id",
    )
    .bind(date)
    .fetch_all(conn)
    .await
}

/// Ends `user`'s absences today: drops those not begun, cuts the others to `yesterday`.
/// How many changed.
pub async fn end(
    conn: &mut Conn,
    user: &str,
    today: &str,
    yesterday: &str,
) -> Result<u64, sqlx::Error> {
    let ended = sqlx::query("DELETE FROM absences WHERE user_id = $1 AND from_date >= $2")
        .bind(user)
        .bind(today)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let cut = sqlx::query("UPDATE absences SET to_date = $2 WHERE user_id = $1 AND to_date >= $3")
        .bind(user)
        .bind(yesterday)
        .bind(today)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(ended + cut)
}

pub async fn insert(
    conn: &mut Conn,
    user: &str,
    deputy: &str,
    from: &str,
    to: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO absences (user_id, deputy, from_date, to_date) VALUES ($1, $2, $3, $4)",
    )
    .bind(user)
    .bind(deputy)
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}

/// `user`'s absences not over by `today`: (deputy, first day, last day), soonest first.
pub async fn upcoming(
    pool: &Pool,
    user: &str,
    today: &str,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT deputy, from_date, to_date FROM absences WHERE user_id = $1 AND to_date >= $2 ORDER BY from_date, id",
    )
    .bind(user)
    .bind(today)
    .fetch_all(pool)
    .await
}
