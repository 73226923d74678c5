//! The `timers` table (deadlines, reminders and waits as rows): cancelling a run's.
//! (Adding and firing timers is still in `runtime/`.)

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
    kind: &str,
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

/// Cancels run `run`'s pending timers.
pub async fn cancel_of_run(conn: &mut Conn, run: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE timers SET status = 'cancelled' WHERE run_id = $1 AND status = 'pending'")
        .bind(run)
        .execute(conn)
        .await?;
    Ok(())
}
