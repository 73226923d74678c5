//! The `step_runs` table (a request's visits of its steps): entering, closing and joining
//! runs, and the reads of the active ones.

use super::status::RunStatus;
use super::{Conn, Pool, Sql};

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

/// A run's place: its step, the parallel run and branch it is in, its status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub step_id: String,
    pub parent_run: Option<i64>,
    pub branch_id: Option<String>,
    pub status: RunStatus,
}

/// A run to store.
pub struct NewRun<'a> {
    pub instance: i64,
    pub step: &'a str,
    pub parent: Option<i64>,
    pub branch: Option<&'a str>,
    pub status: RunStatus,
    pub outcome: Option<&'a str>,
    pub entered_at: &'a str,
    pub left_at: Option<&'a str>,
}

/// Stores a run; its id.
pub async fn insert(conn: &mut Conn, run: &NewRun<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO step_runs (instance_id, step_id, parent_run, branch_id, status, outcome, entered_at, left_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(run.instance)
    .bind(run.step)
    .bind(run.parent)
    .bind(run.branch)
    .bind(run.status)
    .bind(run.outcome)
    .bind(run.entered_at)
    .bind(run.left_at)
    .fetch_one(conn)
    .await
}

pub async fn row(conn: &mut Conn, run: i64) -> Result<RunRow, sqlx::Error> {
    sqlx::query_as("SELECT step_id, parent_run, branch_id, status FROM step_runs WHERE id = $1")
        .bind(run)
        .fetch_one(conn)
        .await
}

/// Records when run `run` is due.
pub async fn set_due(conn: &mut Conn, run: i64, due: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE step_runs SET due_at = $1 WHERE id = $2")
        .bind(due)
        .bind(run)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn due(conn: &mut Conn, run: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT due_at FROM step_runs WHERE id = $1")
        .bind(run)
        .fetch_one(conn)
        .await
}

/// Ends active run `run` with `status` (and `outcome`) at `now`, with its unfinished
/// tasks (cancelled) and pending timers (cancelled), in one round trip: on SQLite three
/// statements sent as one (sqlx binds `$N` by its number across them), on PostgreSQL one
/// statement whose data-modifying CTEs update the other two tables.
pub async fn close(
    conn: &mut Conn,
    run: i64,
    status: RunStatus,
    outcome: Option<&str>,
    now: &str,
) -> Result<(), sqlx::Error> {
    let sql = if super::Backend::of_conn(conn) == super::Backend::Postgres {
        "WITH t AS (UPDATE tasks SET status = 'cancelled', acted_at = $3 \
                    WHERE run_id = $4 AND status IN ('open', 'waiting', 'held')), \
              m AS (UPDATE timers SET status = 'cancelled' WHERE run_id = $4 AND status = 'pending') \
         UPDATE step_runs SET status = $1, outcome = $2, left_at = $3 WHERE id = $4 AND status = 'active'"
    } else {
        "UPDATE step_runs SET status = $1, outcome = $2, left_at = $3 WHERE id = $4 AND status = 'active'; \
         UPDATE tasks SET status = 'cancelled', acted_at = $3 WHERE run_id = $4 AND status IN ('open', 'waiting', 'held'); \
         UPDATE timers SET status = 'cancelled' WHERE run_id = $4 AND status = 'pending'"
    };
    sqlx::query(sql)
        .bind(status)
        .bind(outcome)
        .bind(now)
        .bind(run)
        .execute(conn)
        .await?;
    Ok(())
}

/// The active runs inside parallel run `parent`.
pub async fn active_children(conn: &mut Conn, parent: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM step_runs WHERE parent_run = $1 AND status = 'active'")
        .bind(parent)
        .fetch_all(conn)
        .await
}

/// Request `instance`'s active runs.
pub async fn active_of(conn: &mut Conn, instance: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM step_runs WHERE instance_id = $1 AND status = 'active'")
        .bind(instance)
        .fetch_all(conn)
        .await
}

/// Marks run `run` as having reached its branch's join.
pub async fn mark_joined(conn: &mut Conn, run: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE step_runs SET joined = 1 WHERE id = $1")
        .bind(run)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many of parallel run `parent`'s branches have reached the join.
pub async fn joined_branches(conn: &mut Conn, parent: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(DISTINCT branch_id) FROM step_runs WHERE parent_run = $1 AND joined = 1",
    )
    .bind(parent)
    .fetch_one(conn)
    .await
}

/// The active steps of requests `ids`: (request, step id), in the order they began.
pub async fn active_steps_of(pool: &Pool, ids: &[i64]) -> Result<Vec<(i64, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT instance_id, step_id FROM step_runs WHERE status = 'active' AND instance_id IN ",
    );
    sql.push_list(ids.iter().copied()).push(" ORDER BY id");
    sql.query_as().fetch_all(pool).await
}

/// Request `instance`'s active runs: (run, step id).
pub async fn active_steps(
    conn: &mut Conn,
    instance: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, step_id FROM step_runs WHERE instance_id = $1 AND status = 'active'")
        .bind(instance)
        .fetch_all(conn)
        .await
}

/// Moves run `run` to step `step` (a request migrated to a new version).
pub async fn move_to_step(conn: &mut Conn, run: i64, step: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE step_runs SET step_id = $1 WHERE id = $2")
        .bind(step)
        .bind(run)
        .execute(conn)
        .await?;
    Ok(())
}
