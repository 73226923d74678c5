//! The `tasks` table: who holds what, decisions, and the changes the actions make.

use super::status::{Decision, TaskKind, TaskStatus};
use super::{Conn, Pool, Sql};

/// Who holds a task, and its kind.
#[derive(Debug, sqlx::FromRow)]
pub struct Holder {
    pub id: i64,
    pub assignee: String,
    pub delegate: Option<String>,
    pub kind: TaskKind,
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
) -> Result<Option<(Option<String>, TaskKind)>, sqlx::Error> {
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
    pub kind: TaskKind,
    pub assignee: &'a str,
    pub delegate: Option<&'a str>,
    pub pool: bool,
    pub seq: i64,
    pub status: TaskStatus,
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

/// Lets `to` act on task `task` on its assignee's behalf.
pub async fn set_delegate(conn: &mut Conn, task: i64, to: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tasks SET delegate = $1 WHERE id = $2")
        .bind(to)
        .bind(task)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives task `task` to `to`, dropping any delegate.
pub async fn set_assignee(conn: &mut Conn, task: i64, to: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tasks SET assignee = $1, delegate = NULL WHERE id = $2")
        .bind(to)
        .bind(task)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many of run `run`'s signers have decided or still may.
pub async fn signers_left(conn: &mut Conn, run: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE run_id = $1 AND kind = 'step' AND status IN ('open', 'waiting', 'done')",
    )
    .bind(run)
    .fetch_one(conn)
    .await
}

/// Cancels `user`'s unfinished tasks on run `run`; how many there were.
pub async fn cancel_signer(conn: &mut Conn, run: i64, user: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE tasks SET status = 'cancelled' WHERE run_id = $1 AND assignee = $2 AND status IN ('open', 'waiting', 'held')",
    )
    .bind(run)
    .bind(user)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Makes pooled task `task` of run `run` its claimant's alone: the other open copies are
/// cancelled.
pub async fn take_from_pool(conn: &mut Conn, run: i64, task: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tasks SET status = 'cancelled' WHERE run_id = $1 AND id <> $2 AND status = 'open'",
    )
    .bind(run)
    .bind(task)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE tasks SET pool = 0 WHERE id = $1")
        .bind(task)
        .execute(conn)
        .await?;
    Ok(())
}

/// A decision on one task.
pub struct Decided<'a> {
    pub task: i64,
    pub decision: Decision,
    pub by: &'a str,
    pub at: &'a str,
    pub inputs: Option<String>,
}

/// Marks task `d.task` decided, only if it is still open; whether it was.
pub async fn decide(conn: &mut Conn, d: &Decided<'_>) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE tasks SET status = 'done', decision = $1, acted_by = $2, acted_at = $3, inputs = $4 WHERE id = $5 AND status = 'open'",
    )
    .bind(d.decision)
    .bind(d.by)
    .bind(d.at)
    .bind(d.inputs.as_deref())
    .bind(d.task)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Decides every unfinished task of run `run` as the engine (a deadline's automatic
/// decision).
pub async fn decide_run_by_engine(
    conn: &mut Conn,
    run: i64,
    decision: Decision,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tasks SET status = 'done', decision = $1, acted_by = 'engine', acted_at = $2 WHERE run_id = $3 AND status IN ('open', 'waiting', 'held')",
    )
    .bind(decision)
    .bind(at)
    .bind(run)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets task `task`'s status: `held` while an added signer or a consulted person decides
/// first, `open` when it is its holder's turn.
pub async fn set_status(conn: &mut Conn, task: i64, status: TaskStatus) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tasks SET status = $1 WHERE id = $2")
        .bind(status)
        .bind(task)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `user` holds an unfinished task on run `run`.
pub async fn is_signer(conn: &mut Conn, run: i64, user: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE run_id = $1 AND assignee = $2 AND status IN ('open', 'waiting', 'held')",
    )
    .bind(run)
    .bind(user)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Cancels task `task` at `at`.
pub async fn cancel(conn: &mut Conn, task: i64, at: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tasks SET status = 'cancelled', acted_at = $2 WHERE id = $1")
        .bind(task)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Who holds the open tasks of requests `ids` (the delegate when there is one):
/// (request, person), in the order the tasks were made.
pub async fn open_holders_of(pool: &Pool, ids: &[i64]) -> Result<Vec<(i64, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT instance_id, COALESCE(delegate, assignee) FROM tasks WHERE status = 'open' AND instance_id IN ");
    sql.push_list(ids.iter().copied()).push(" ORDER BY id");
    sql.query_as().fetch_all(pool).await
}

/// A task as an action works on it.
#[derive(Debug, sqlx::FromRow)]
pub struct ActionTask {
    #[sqlx(rename = "task_id")]
    pub id: i64,
    pub run_id: i64,
    pub step_id: String,
    pub kind: TaskKind,
    pub assignee: String,
    pub delegate: Option<String>,
    pub pool: i64,
    pub seq: i64,
    #[sqlx(rename = "task_status")]
    pub status: TaskStatus,
    pub instance_id: i64,
}

/// The columns of an [`ActionTask`], of `tasks t`.
const ACTION_TASK: &str = "t.id AS task_id, t.run_id, t.step_id, t.kind, t.assignee, t.delegate, t.pool, t.seq, t.status AS task_status, t.instance_id";

/// Task `id`, as an action works on it.
pub async fn for_action(conn: &mut Conn, id: i64) -> Result<Option<ActionTask>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ACTION_TASK} FROM tasks t WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A task and its request's state, read together.
#[derive(Debug, sqlx::FromRow)]
pub struct TaskAndState {
    #[sqlx(flatten)]
    pub task: ActionTask,
    #[sqlx(flatten)]
    pub state: super::instances::StateRow,
    #[sqlx(flatten)]
    pub run: TaskRun,
}

/// The run a task is in, read with the task.
#[derive(Debug, sqlx::FromRow)]
pub struct TaskRun {
    #[sqlx(rename = "run_step")]
    pub step_id: String,
    pub parent_run: Option<i64>,
    pub branch_id: Option<String>,
    #[sqlx(rename = "run_status")]
    pub status: super::status::RunStatus,
}

impl From<TaskRun> for super::runs::RunRow {
    fn from(r: TaskRun) -> Self {
        super::runs::RunRow {
            step_id: r.step_id,
            parent_run: r.parent_run,
            branch_id: r.branch_id,
            status: r.status,
        }
    }
}

/// A row of [`with_state`]: the task, its request and run, and one task of its run.
#[derive(Debug, sqlx::FromRow)]
struct TaskStateRow {
    #[sqlx(flatten)]
    head: TaskAndState,
    #[sqlx(flatten)]
    run_task: RunTask,
}

/// Task `id`, its request's state and its run, and the run's tasks in their order
/// (as [`of_run`] reads them), in one statement: a decision settles its step on them
/// without reading them again.
pub async fn with_state(
    conn: &mut Conn,
    id: i64,
) -> Result<Option<(TaskAndState, Vec<RunTask>)>, sqlx::Error> {
    let rows: Vec<TaskStateRow> = sqlx::query_as(&format!(
        "SELECT {ACTION_TASK}, {}, r.step_id AS run_step, r.parent_run, r.branch_id, r.status AS run_status, {RUN_TASK} \
         FROM tasks t JOIN instances i ON i.id = t.instance_id JOIN step_runs r ON r.id = t.run_id \
         JOIN tasks o ON o.run_id = t.run_id WHERE t.id = $1 ORDER BY o.seq, o.id",
        super::instances::STATE
    ))
    .bind(id)
    .fetch_all(conn)
    .await?;
    let mut rows = rows.into_iter();
    let Some(first) = rows.next() else {
        return Ok(None);
    };
    let mut run_tasks = vec![first.run_task];
    run_tasks.extend(rows.map(|r| r.run_task));
    Ok(Some((first.head, run_tasks)))
}

/// One task of a run, as settling a step reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunTask {
    #[sqlx(rename = "o_id")]
    pub id: i64,
    #[sqlx(rename = "o_kind")]
    pub kind: TaskKind,
    #[sqlx(rename = "o_assignee")]
    pub assignee: String,
    #[sqlx(rename = "o_acted_by")]
    pub acted_by: Option<String>,
    #[sqlx(rename = "o_status")]
    pub status: TaskStatus,
    #[sqlx(rename = "o_decision")]
    pub decision: Option<Decision>,
    #[sqlx(rename = "o_inputs")]
    pub inputs: Option<String>,
}

/// The columns of a [`RunTask`] from `tasks o`.
const RUN_TASK: &str = "o.id AS o_id, o.kind AS o_kind, o.assignee AS o_assignee, \
     o.acted_by AS o_acted_by, o.status AS o_status, o.decision AS o_decision, o.inputs AS o_inputs";

/// The tasks of run `run`, in their order (`seq`, then creation).
pub async fn of_run(conn: &mut Conn, run: i64) -> Result<Vec<RunTask>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {RUN_TASK} FROM tasks o WHERE o.run_id = $1 ORDER BY o.seq, o.id"
    ))
    .bind(run)
    .fetch_all(conn)
    .await
}

/// Who holds run `run`'s open tasks (the delegate when there is one).
pub async fn open_holders_of_run(conn: &mut Conn, run: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(delegate, assignee) FROM tasks WHERE run_id = $1 AND status = 'open'",
    )
    .bind(run)
    .fetch_all(conn)
    .await
}

/// Whether `user` held or holds a task on request `instance` (as assignee or delegate),
/// or was copied on it (a `cc_action` history entry naming them).
pub async fn is_involved(
    conn: &mut Conn,
    instance: i64,
    user: &str,
    cc_action: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM tasks WHERE instance_id = $1 AND (assignee = $2 OR delegate = $2)) \
              + (SELECT COUNT(*) FROM events WHERE instance_id = $1 AND action = $3 AND detail = $2)",
    )
    .bind(instance)
    .bind(user)
    .bind(cc_action)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Moves run `run`'s tasks to step `step` (a request migrated to a new version).
pub async fn move_run_to_step(conn: &mut Conn, run: i64, step: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tasks SET step_id = $1 WHERE run_id = $2")
        .bind(step)
        .bind(run)
        .execute(conn)
        .await?;
    Ok(())
}
