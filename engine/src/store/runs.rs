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

/// Ends active run `run` with `status` (and `outcome`) at `now`. The schema's
/// `step_runs_end` trigger cancels the run's unfinished tasks (at `now`) and pending
/// timers in the same statement, so ending a step is one round trip.
pub async fn close(
    conn: &mut Conn,
    run: i64,
    status: RunStatus,
    outcome: Option<&str>,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE step_runs SET status = $1, outcome = $2, left_at = $3 WHERE id = $4 AND status = 'active'",
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::status::{TaskKind, TaskStatus, TimerKind};
    use crate::store::{instances, tasks, timers};

    /// A run and, on it, tasks in each status and a pending timer.
    async fn run_with_tasks(conn: &mut Conn) -> (i64, Vec<i64>) {
        let new = instances::NewInstance::sample();
        let instance = instances::insert(conn, &new).await.unwrap();
        let run = NewRun {
            instance,
            step: "manager",
            parent: None,
            branch: None,
            status: RunStatus::Active,
            outcome: None,
            entered_at: "2026-12-07T09:00:00Z",
            left_at: None,
        };
        let run = insert(conn, &run).await.unwrap();
        let mut ids = Vec::new();
        for status in [TaskStatus::Open, TaskStatus::Waiting, TaskStatus::Done] {
            let task = tasks::NewTask {
                instance,
                run,
                step: "manager",
                kind: TaskKind::Step,
                assignee: "liu.qiang",
                delegate: None,
                pool: false,
                seq: 0,
                status,
                created_at: "2026-12-07T09:00:00Z",
                due_at: None,
            };
            ids.push(tasks::insert(conn, &task).await.unwrap());
        }
        timers::insert(
            conn,
            instance,
            run,
            TimerKind::Deadline,
            "2026-12-09T09:00:00Z",
        )
        .await
        .unwrap();
        (run, ids)
    }

    async fn statuses(conn: &mut Conn, run: i64) -> (Vec<(String, Option<String>)>, Vec<String>) {
        let tasks =
            sqlx::query_as("SELECT status, acted_at FROM tasks WHERE run_id = $1 ORDER BY id")
                .bind(run)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        let timers = sqlx::query_scalar("SELECT status FROM timers WHERE run_id = $1")
            .bind(run)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        (tasks, timers)
    }

    #[tokio::test]
    async fn ending_a_run_ends_its_open_tasks_and_timers_in_the_same_statement() {
        let path = std::env::temp_dir().join(format!("signoff-runs-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut opened = crate::store::open(&path.display().to_string())
            .await
            .unwrap();
        let conn = &mut opened.writer;
        let (run, _) = run_with_tasks(conn).await;
        let now = "2026-12-08T10:00:00Z";
        close(conn, run, RunStatus::Done, Some("approved"), now)
            .await
            .unwrap();
        let (tasks, timers) = statuses(conn, run).await;
        let cancelled = ("cancelled".to_string(), Some(now.to_string()));
        assert_eq!(tasks[..2], [cancelled.clone(), cancelled]);
        assert_eq!(tasks[2].0, "done", "a decided task stays decided");
        assert_eq!(timers, ["cancelled"]);

        // Ending a run that already ended changes nothing; a run made active again
        // (taken back) keeps what is open on it until it ends again.
        reactivate(conn, run).await.unwrap();
        sqlx::query("UPDATE tasks SET status = 'open' WHERE run_id = $1")
            .bind(run)
            .execute(&mut *conn)
            .await
            .unwrap();
        let (open, _) = statuses(conn, run).await;
        assert!(open.iter().all(|(s, _)| s == "open"));
        close(
            conn,
            run,
            RunStatus::Cancelled,
            None,
            "2026-12-09T10:00:00Z",
        )
        .await
        .unwrap();
        close(conn, run, RunStatus::Done, None, "2026-12-10T10:00:00Z")
            .await
            .unwrap();
        let (tasks, _) = statuses(conn, run).await;
        assert!(tasks
            .iter()
            .all(|(s, at)| s == "cancelled" && at.as_deref() == Some("2026-12-09T10:00:00Z")));
        drop(opened);
        let _ = std::fs::remove_file(&path);
    }
}
