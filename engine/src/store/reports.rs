//! The reads of a process report: requests ended in a range by outcome and whole hours,
//! requests started or ended in a range, decided tasks grouped by step, person, hours
//! and lateness, and the open tasks now. The database groups the rows, so what comes
//! back is small whatever the number of requests.

use super::{Backend, Pool};

/// `process`'s requests ended in `[start, end)`: (outcome or status, whole hours from
/// submission to the end, how many).
pub async fn ended(
    pool: &Pool,
    backend: Backend,
    process: &str,
    start: &str,
    end: &str,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let hours = backend.hours_between("created_at", "ended_at");
    let sql = format!(
        "SELECT COALESCE(outcome, status), {hours}, COUNT(*) FROM instances \
         WHERE process_id = $1 AND ended_at >= $2 AND ended_at < $3 GROUP BY 1, 2"
    );
    sqlx::query_as(&sql)
        .bind(process)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await
}

/// Which time of a request a count is by.
#[derive(Debug, Clone, Copy)]
pub enum When {
    Started,
    Ended,
}

/// How many of `process`'s requests started (or ended) in `[start, end)`.
pub async fn count_in(
    pool: &Pool,
    process: &str,
    when: When,
    start: &str,
    end: &str,
) -> Result<i64, sqlx::Error> {
    let column = match when {
        When::Started => "created_at",
        When::Ended => "ended_at",
    };
    let sql = format!(
        "SELECT COUNT(*) FROM instances WHERE process_id = $1 AND {column} >= $2 AND {column} < $3"
    );
    sqlx::query_scalar(&sql)
        .bind(process)
        .bind(start)
        .bind(end)
        .fetch_one(pool)
        .await
}

/// Decided tasks of one step and person that took the same whole hours.
#[derive(Debug, sqlx::FromRow)]
pub struct DecidedRow {
    pub step_id: String,
    pub who: String,
    pub hours: i64,
    /// 1 when decided after the task's due time.
    pub late: i64,
    pub count: i64,
}

/// The decided tasks of `process`'s requests that ended in `[start, end)`, grouped by
/// step, person, whole hours taken and lateness.
pub async fn decided(
    pool: &Pool,
    backend: Backend,
    process: &str,
    start: &str,
    end: &str,
) -> Result<Vec<DecidedRow>, sqlx::Error> {
    let hours = backend.hours_between("t.created_at", "t.acted_at");
    let sql = format!(
        "SELECT t.step_id, COALESCE(t.acted_by, t.assignee) AS who, {hours} AS hours, \
         CASE WHEN t.due_at IS NOT NULL AND t.acted_at > t.due_at THEN 1 ELSE 0 END AS late, COUNT(*) AS count \
         FROM tasks t JOIN instances i ON i.id = t.instance_id \
         WHERE i.process_id = $1 AND i.ended_at >= $2 AND i.ended_at < $3 \
         AND t.status = 'done' AND t.kind IN ('step', 'added') AND t.acted_at IS NOT NULL \
         GROUP BY 1, 2, 3, 4"
    );
    sqlx::query_as(&sql)
        .bind(process)
        .bind(start)
        .bind(end)
        .fetch_all(pool)
        .await
}

/// Open tasks of `process`'s running requests: (step, holder, how many).
pub async fn backlog(
    pool: &Pool,
    process: &str,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.step_id, COALESCE(t.delegate, t.assignee), COUNT(*) FROM tasks t \
         JOIN instances i ON i.id = t.instance_id \
         WHERE i.process_id = $1 AND i.status = 'running' AND t.status = 'open' \
         GROUP BY t.step_id, COALESCE(t.delegate, t.assignee)",
    )
    .bind(process)
    .fetch_all(pool)
    .await
}
