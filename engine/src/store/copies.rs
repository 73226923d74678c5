//! Copies of finished requests, written straight into the tables: how `signoff bench`
//! fills a database with a million finished requests in minutes, where driving each one
//! through the engine would take most of an hour. The engine never calls it.
//!
//! Every request, with its step runs, tasks and history, is copied `copies` times with
//! its ids shifted by a multiple of each table's largest id, so a copy's rows point at the
//! copy's rows. Mail, timers, files, links and read marks are not copied: a finished
//! request has no pending ones, and none is on a page an approver reads.
//!
//! `tests/runtime.rs` (`copies_of_finished_requests_...`) checks it on both databases.

use super::{begin_write, open, Backend, Conn, StoreError};

/// Copies written per transaction, at most: about this many rows per table.
const ROWS_PER_COMMIT: i64 = 100_000;

/// The largest id of each copied table when the copying started: a copy `n` of a row
/// gets the row's id plus `n` times its table's stride.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
struct Strides {
    instances: i64,
    runs: i64,
    tasks: i64,
    events: i64,
}

/// Copies every request of the database at `url` `copies` times; how many requests it
/// holds afterwards. Refuses a database with a request that has not ended (its copies
/// would be open tasks no timer or mail knows of). Each commit takes the write lock as
/// the engine's writer does, so run it with the engine closed: a running one would wait.
pub async fn copy_finished_requests(url: &str, copies: u64) -> Result<u64, StoreError> {
    let opened = open(url).await?;
    let mut conn = opened.writer;
    let unfinished: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM instances WHERE ended_at IS NULL")
            .fetch_one(&mut conn)
            .await?;
    if unfinished > 0 {
        return Err(StoreError::Refused(format!(
            "the database holds requests that have not ended ({unfinished}); \
             only finished requests can be copied"
        )));
    }
    let strides: Strides = sqlx::query_as(
        "SELECT COALESCE((SELECT MAX(id) FROM instances), 0) AS instances, \
                COALESCE((SELECT MAX(id) FROM step_runs), 0) AS runs, \
                COALESCE((SELECT MAX(id) FROM tasks), 0) AS tasks, \
                COALESCE((SELECT MAX(id) FROM events), 0) AS events",
    )
    .fetch_one(&mut conn)
    .await?;
    if strides.instances > 0 {
        let per_commit = (ROWS_PER_COMMIT / strides.instances).max(1);
        let last = i64::try_from(copies).unwrap_or(i64::MAX);
        let mut first = 1;
        while first <= last {
            let upto = last.min(first + per_commit - 1);
            copy_range(&mut conn, opened.backend, strides, first, upto).await?;
            first = upto + 1;
        }
        if opened.backend == Backend::Postgres {
            restart_identities(&mut conn).await?;
        }
    }
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM instances")
        .fetch_one(&mut conn)
        .await?;
    opened.pool.close().await;
    Ok(u64::try_from(held).unwrap_or(0))
}

/// The statements that write copies `k.n` (`$1..=$2`) of the original rows (ids up to
/// the strides `s`): one per table, parents first.
const COPY: [&str; 4] = [
    "INSERT INTO instances (id, process_id, version, status, outcome, submitter, form, vars, \
         incident, decided, created_at, updated_at, ended_at, amount) \
     SELECT i.id + k.n * s.i, i.process_id, i.version, i.status, i.outcome, i.submitter, \
         i.form, i.vars, i.incident, i.decided, i.created_at, i.updated_at, i.ended_at, i.amount \
     FROM instances i, k, s WHERE i.id <= s.i",
    "INSERT INTO step_runs (id, instance_id, step_id, parent_run, branch_id, status, outcome, \
         joined, entered_at, left_at, due_at) \
     SELECT r.id + k.n * s.r, r.instance_id + k.n * s.i, r.step_id, r.parent_run + k.n * s.r, \
         r.branch_id, r.status, r.outcome, r.joined, r.entered_at, r.left_at, r.due_at \
     FROM step_runs r, k, s WHERE r.id <= s.r",
    "INSERT INTO tasks (id, instance_id, run_id, step_id, kind, assignee, delegate, pool, seq, \
         status, decision, inputs, acted_by, created_at, acted_at, due_at) \
     SELECT t.id + k.n * s.t, t.instance_id + k.n * s.i, t.run_id + k.n * s.r, t.step_id, \
         t.kind, t.assignee, t.delegate, t.pool, t.seq, t.status, t.decision, t.inputs, \
         t.acted_by, t.created_at, t.acted_at, t.due_at \
     FROM tasks t, k, s WHERE t.id <= s.t",
    "INSERT INTO events (id, instance_id, at, actor, on_behalf_of, action, step_id, task_id, \
         comment, changes, detail) \
     SELECT e.id + k.n * s.e, e.instance_id + k.n * s.i, e.at, e.actor, e.on_behalf_of, \
         e.action, e.step_id, e.task_id + k.n * s.t, e.comment, e.changes, e.detail \
     FROM events e, k, s WHERE e.id <= s.e",
];

/// Writes copies `first..=upto` in one group commit.
async fn copy_range(
    conn: &mut Conn,
    backend: Backend,
    s: Strides,
    first: i64,
    upto: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = begin_write(conn, backend).await?;
    for statement in COPY {
        let sql = format!(
            "WITH RECURSIVE k(n) AS (SELECT CAST($1 AS BIGINT) UNION ALL \
                 SELECT n + 1 FROM k WHERE n < $2), \
             s(i, r, t, e) AS (SELECT CAST($3 AS BIGINT), CAST($4 AS BIGINT), \
                 CAST($5 AS BIGINT), CAST($6 AS BIGINT)) {statement}"
        );
        sqlx::query(&sql)
            .bind(first)
            .bind(upto)
            .bind(s.instances)
            .bind(s.runs)
            .bind(s.tasks)
            .bind(s.events)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Moves PostgreSQL's id sequences past the copies, which were written with their ids.
async fn restart_identities(conn: &mut Conn) -> Result<(), sqlx::Error> {
    for table in ["instances", "step_runs", "tasks", "events"] {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             (SELECT MAX(id) FROM {table}))"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
