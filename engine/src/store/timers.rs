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
