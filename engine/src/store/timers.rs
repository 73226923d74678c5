//! The `timers` table (deadlines, reminders and waits as rows): cancelling a run's.
//! (Adding and firing timers is still in `runtime/`.)

use super::status::TimerKind;
use super::Conn;

/// Cancels run `run`'s pending deadline and reminder.
pub async fn cancel_deadlines(conn: &mut Conn, run: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE timers SET status = 'cancelled' WHERE run_id = $1 AND status = 'pending' AND kind IN ('deadline', 'reminder')",
    )
    .bind(run)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes run `run`'s cancelled timers pending again (the run was taken back).
pub async fn restore(conn: &mut Conn, run: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE timers SET status = 'pending' WHERE run_id = $1 AND status = 'cancelled'")
        .bind(run)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds a pending timer of `kind` for run `run` of request `instance`, due at `due`.
pub async fn insert(
    conn: &mut Conn,
    instance: i64,
    run: i64,
    kind: TimerKind,
    due: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timers (instance_id, run_id, kind, due_at, status) VALUES ($1, $2, $3, $4, 'pending')",
    )
    .bind(instance)
    .bind(run)
    .bind(kind)
    .bind(due)
    .execute(conn)
    .await?;
    Ok(())
}

/// A timer that is due.
#[derive(Debug, sqlx::FromRow)]
pub struct DueTimer {
    pub id: i64,
    pub instance_id: i64,
    pub run_id: i64,
    pub kind: TimerKind,
}

/// Up to 500 pending timers due by `now`, the earliest first.
pub async fn due(conn: &mut Conn, now: &str) -> Result<Vec<DueTimer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, instance_id, run_id, kind FROM timers WHERE status = 'pending' AND due_at <= $1 \
         ORDER BY due_at, id LIMIT 500",
    )
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Marks pending timer `id` fired at `now`; false when another writer fired it first.
pub async fn claim(conn: &mut Conn, id: i64, now: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE timers SET status = 'fired', fired_at = $1 WHERE id = $2 AND status = 'pending'",
    )
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
