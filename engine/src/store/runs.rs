//! The `step_runs` table (a request's visits of its steps): the reads of active runs.
//! (The writer's own run statements are still in `runtime/`.)

use super::Conn;

/// How many active runs of `step` request `instance` has.
pub async fn active_count(conn: &mut Conn, instance: i64, step: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM step_runs WHERE instance_id = $1 AND step_id = $2 AND status = 'active'",
    )
    .bind(instance)
    .bind(step)
    .fetch_one(conn)
    .await
}

/// The active runs of `step` of request `instance`, while the request runs.
pub async fn active_while_running(
    conn: &mut Conn,
    instance: i64,
    step: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT r.id FROM step_runs r JOIN instances i ON i.id = r.instance_id \
         WHERE r.instance_id = $1 AND r.step_id = $2 AND r.status = 'active' AND i.status = 'running'",
    )
    .bind(instance)
    .bind(step)
    .fetch_all(conn)
    .await
}

/// The active runs of branch `branch` under parallel run `parent`.
pub async fn active_in_branch(
    conn: &mut Conn,
    parent: i64,
    branch: Option<&str>,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM step_runs WHERE parent_run = $1 AND branch_id = $2 AND status = 'active'",
    )
    .bind(parent)
    .bind(branch)
    .fetch_all(conn)
    .await
}

/// Request `instance`'s active runs outside any parallel step.
pub async fn active_top_level(conn: &mut Conn, instance: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM step_runs WHERE instance_id = $1 AND parent_run IS NULL AND status = 'active'",
    )
    .bind(instance)
    .fetch_all(conn)
    .await
}

/// Makes left run `run` active again, its outcome undone.
pub async fn reactivate(conn: &mut Conn, run: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE step_runs SET status = 'active', outcome = NULL, left_at = NULL WHERE id = $1",
    )
    .bind(run)
    .execute(conn)
    .await?;
    Ok(())
}
