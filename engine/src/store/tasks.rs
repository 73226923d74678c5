//! The `tasks` table: the reads the mail planner makes of who holds what. (The writer's
//! own task statements are still in `runtime/`.)

use super::Conn;

/// Who holds a task, and its kind.
#[derive(Debug, sqlx::FromRow)]
pub struct Holder {
    pub id: i64,
    pub assignee: String,
    pub delegate: Option<String>,
    pub kind: String,
}

impl Holder {
    /// The assignee and, when there is one, the delegate.
    pub fn people(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.assignee.as_str()).chain(self.delegate.as_deref())
    }
}

const HOLDER: &str = "SELECT id, assignee, delegate, kind FROM tasks";

/// Task `task`'s due time and kind.
pub async fn due_and_kind(
    conn: &mut Conn,
    task: i64,
) -> Result<Option<(Option<String>, String)>, sqlx::Error> {
    sqlx::query_as("SELECT due_at, kind FROM tasks WHERE id = $1")
        .bind(task)
        .fetch_optional(conn)
        .await
}

/// Who holds task `task`.
pub async fn holder(conn: &mut Conn, task: i64) -> Result<Option<Holder>, sqlx::Error> {
    sqlx::query_as(&format!("{HOLDER} WHERE id = $1"))
        .bind(task)
        .fetch_optional(conn)
        .await
}

/// Request `instance`'s open resubmit task (a returned request), the newest.
pub async fn open_resubmit(conn: &mut Conn, instance: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM tasks WHERE instance_id = $1 AND kind = 'resubmit' AND status = 'open' ORDER BY id DESC",
    )
    .bind(instance)
    .fetch_optional(conn)
    .await
}

/// Everyone who held one of request `instance`'s step, added-signer or opinion tasks.
pub async fn involved(conn: &mut Conn, instance: i64) -> Result<Vec<Holder>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{HOLDER} WHERE instance_id = $1 AND kind IN ('step', 'added', 'consult') ORDER BY id"
    ))
    .bind(instance)
    .fetch_all(conn)
    .await
}

/// The holders of request `instance`'s step tasks cancelled at `at`.
pub async fn cancelled_at(
    conn: &mut Conn,
    instance: i64,
    at: &str,
) -> Result<Vec<Holder>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{HOLDER} WHERE instance_id = $1 AND status = 'cancelled' AND kind = 'step' AND acted_at = $2"
    ))
    .bind(instance)
    .bind(at)
    .fetch_all(conn)
    .await
}

/// The holders of request `instance`'s open tasks, of step `step` when given.
pub async fn open_holders(
    conn: &mut Conn,
    instance: i64,
    step: Option<&str>,
) -> Result<Vec<Holder>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{HOLDER} WHERE instance_id = $1 AND status = 'open' AND ($2 IS NULL OR step_id = $2) ORDER BY id"
    ))
    .bind(instance)
    .bind(step)
    .fetch_all(conn)
    .await
}

/// Moves the due time of run `run`'s unfinished tasks to `at`.
pub async fn move_due(conn: &mut Conn, run: i64, at: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tasks SET due_at = $1 WHERE run_id = $2 AND status IN ('open', 'waiting', 'held')",
    )
    .bind(at)
    .bind(run)
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens decided task `task` again, as if nobody had acted on it (taken back).
pub async fn reopen(conn: &mut Conn, task: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tasks SET status = 'open', decision = NULL, acted_by = NULL, acted_at = NULL, inputs = NULL WHERE id = $1",
    )
    .bind(task)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes run `run`'s open step tasks after position `seq` wait again (a sequential step
/// taken back).
pub async fn wait_after(conn: &mut Conn, run: i64, seq: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tasks SET status = 'waiting' WHERE run_id = $1 AND kind = 'step' AND status = 'open' AND seq > $2",
    )
    .bind(run)
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(())
}

/// A task to store.
pub struct NewTask<'a> {
    pub instance: i64,
    pub run: i64,
    pub step: &'a str,
    pub kind: &'a str,
    pub assignee: &'a str,
    pub delegate: Option<&'a str>,
    pub pool: bool,
    pub seq: i64,
    pub status: &'a str,
    pub created_at: &'a str,
    pub due_at: Option<&'a str>,
}

/// Stores a task; its id.
pub async fn insert(conn: &mut Conn, task: &NewTask<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO tasks (instance_id, run_id, step_id, kind, assignee, delegate, pool, seq, status, created_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(task.instance)
    .bind(task.run)
    .bind(task.step)
    .bind(task.kind)
    .bind(task.assignee)
    .bind(task.delegate)
    .bind(i64::from(task.pool))
    .bind(task.seq)
    .bind(task.status)
    .bind(task.created_at)
    .bind(task.due_at)
    .fetch_one(conn)
    .await
}

/// Whether `user` approved one of request `instance`'s tasks (as assignee or for them).
pub async fn has_approved(conn: &mut Conn, instance: i64, user: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE instance_id = $1 AND decision = 'approved' AND (assignee = $2 OR acted_by = $2)",
    )
    .bind(instance)
    .bind(user)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Whether request `instance` is back with its submitter (an open resubmit task).
pub async fn is_returned(conn: &mut Conn, instance: i64) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE instance_id = $1 AND kind = 'resubmit' AND status = 'open'",
    )
    .bind(instance)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Cancels run `run`'s unfinished tasks at `now`.
pub async fn cancel_of_run(conn: &mut Conn, run: i64, now: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tasks SET status = 'cancelled', acted_at = $2 WHERE run_id = $1 AND status IN ('open', 'waiting', 'held')",
    )
    .bind(run)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
