//! The `instances` table (the requests): one request's head and its saves, lists of
//! requests and their counts, the gauges.

use super::status::InstanceStatus;
use super::{Conn, Pool, Sql};

/// What a request is of and by, and its form.
#[derive(Debug, sqlx::FromRow)]
pub struct Head {
    pub process_id: String,
    pub version: i64,
    pub submitter: String,
    pub form: String,
}

pub async fn head(conn: &mut Conn, id: i64) -> Result<Option<Head>, sqlx::Error> {
    sqlx::query_as("SELECT process_id, version, submitter, form FROM instances WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Which process request `id` is of.
pub async fn process_of(conn: &mut Conn, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT process_id FROM instances WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A request's state as the writer saves it after an action.
pub struct Saved<'a> {
    pub id: i64,
    pub version: i64,
    pub status: InstanceStatus,
    pub outcome: Option<&'a str>,
    pub form: String,
    pub vars: String,
    pub incident: Option<String>,
    pub decided: bool,
    pub updated_at: &'a str,
    /// Whether it has ended (its end time is kept from the first end).
    pub ended: bool,
    pub amount: Option<f64>,
}

pub async fn save(conn: &mut Conn, s: &Saved<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE instances SET version = $1, status = $2, outcome = $3, form = $4, vars = $5, incident = $6, \
         decided = $7, updated_at = $8, ended_at = CASE WHEN $9 THEN COALESCE(ended_at, $8) ELSE NULL END, amount = $11 WHERE id = $10",
    )
    .bind(s.version)
    .bind(s.status)
    .bind(s.outcome)
    .bind(&s.form)
    .bind(&s.vars)
    .bind(&s.incident)
    .bind(i64::from(s.decided))
    .bind(s.updated_at)
    .bind(s.ended)
    .bind(s.id)
    .bind(s.amount)
    .execute(conn)
    .await?;
    Ok(())
}

/// A request to store, running from `now`.
pub struct NewInstance<'a> {
    pub process: &'a str,
    pub version: i64,
    pub submitter: &'a str,
    pub form: String,
    pub vars: String,
    pub now: &'a str,
}

#[cfg(test)]
impl NewInstance<'static> {
    /// A request of process `p` by li.na with an empty form, for the store's tests.
    pub fn sample() -> Self {
        NewInstance {
            process: "p",
            version: 1,
            submitter: "li.na",
            form: "{}".into(),
            vars: "{}".into(),
            now: "2026-12-07T09:00:00Z",
        }
    }
}

/// Stores a new running request; its id.
pub async fn insert(conn: &mut Conn, new: &NewInstance<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO instances (process_id, version, status, submitter, form, vars, created_at, updated_at) \
         VALUES ($1, $2, 'running', $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(new.process)
    .bind(new.version)
    .bind(new.submitter)
    .bind(&new.form)
    .bind(&new.vars)
    .bind(new.now)
    .fetch_one(conn)
    .await
}

/// One line of a list of requests.
#[derive(Debug, sqlx::FromRow)]
pub struct RequestLine {
    pub id: i64,
    pub process_id: String,
    pub version: i64,
    pub status: InstanceStatus,
    pub outcome: Option<String>,
    pub submitter: String,
    pub incident: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Which requests a list holds: only the filters given, so each finds its rows through
/// its own index.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFilter<'a> {
    /// Requests this user submitted.
    pub submitter: Option<&'a str>,
    /// Requests copied to this user: a history entry of `.1` (the copy action) naming them.
    pub watcher: Option<(&'a str, &'a str)>,
    pub status: Option<InstanceStatus>,
}

impl<'a> RequestFilter<'a> {
    /// ` WHERE ...`.
    fn push(&self, sql: &mut Sql<'a>) {
        sql.push(" WHERE 1 = 1");
        if let Some(submitter) = self.submitter {
            sql.push(" AND submitter = ").push_bind(submitter);
        }
        if let Some((watcher, cc_action)) = self.watcher {
            sql.push(" AND id IN (SELECT instance_id FROM events WHERE action = ")
                .push_bind(cc_action)
                .push(" AND detail = ")
                .push_bind(watcher)
                .push(")");
        }
        if let Some(status) = self.status {
            sql.push(" AND status = ").push_bind(status);
        }
    }
}

/// `filter`'s requests newest first, older than request `before` when given.
pub async fn list(
    pool: &Pool,
    filter: &RequestFilter<'_>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<RequestLine>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT id, process_id, version, status, outcome, submitter, incident, created_at, updated_at FROM instances",
    );
    filter.push(&mut sql);
    if let Some(before) = before {
        sql.push(" AND id < ").push_bind(before);
    }
    sql.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    sql.query_as().fetch_all(pool).await
}

/// How many requests `filter` finds.
pub async fn count(pool: &Pool, filter: &RequestFilter<'_>) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM instances");
    filter.push(&mut sql);
    sql.query_scalar().fetch_one(pool).await
}

/// Open tasks, running requests and requests stopped by an incident.
#[derive(Debug, sqlx::FromRow)]
pub struct Gauges {
    pub open_tasks: i64,
    pub running: i64,
    pub incidents: i64,
}

/// The gauges for monitoring.
pub async fn gauges(pool: &Pool) -> Result<Gauges, sqlx::Error> {
    sqlx::query_as(
        // Open tasks are on running requests (and those stopped by an incident): counted
        // through them, so the count costs the open work, not the history.
        "SELECT (SELECT COUNT(*) FROM tasks WHERE status = 'open' AND instance_id IN \
                    (SELECT id FROM instances WHERE status IN ('running', 'incident'))) AS open_tasks, \
                (SELECT COUNT(*) FROM instances WHERE status = 'running') AS running, \
                (SELECT COUNT(*) FROM instances WHERE status = 'incident') AS incidents",
    )
    .fetch_one(pool)
    .await
}

/// How many of `process`'s requests are running, by version, oldest version first.
pub async fn running_by_version(
    pool: &Pool,
    process: &str,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT version, COUNT(*) FROM instances WHERE process_id = $1 AND status = 'running' GROUP BY version ORDER BY version",
    )
    .bind(process)
    .fetch_all(pool)
    .await
}

/// A request's state as an action works on it.
#[derive(Debug, sqlx::FromRow)]
pub struct StateRow {
    pub process_id: String,
    pub version: i64,
    pub status: InstanceStatus,
    pub outcome: Option<String>,
    pub submitter: String,
    pub form: String,
    pub vars: String,
    pub incident: Option<String>,
    pub decided: i64,
}

/// The columns of a [`StateRow`], of `instances i`.
pub(super) const STATE: &str =
    "i.process_id, i.version, i.status, i.outcome, i.submitter, i.form, i.vars, i.incident, i.decided";

/// Request `id`'s state.
pub async fn state(conn: &mut Conn, id: i64) -> Result<Option<StateRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {STATE} FROM instances i WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Request `id`'s status.
pub async fn status(conn: &mut Conn, id: i64) -> Result<Option<InstanceStatus>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM instances WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A request whole, as pages and the API show it.
#[derive(Debug, sqlx::FromRow)]
pub struct RequestRow {
    #[sqlx(flatten)]
    pub state: StateRow,
    pub created_at: String,
    pub updated_at: String,
    pub ended_at: Option<String>,
}

/// Request `id`, whole.
pub async fn request(pool: &Pool, id: i64) -> Result<Option<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {STATE}, i.created_at, i.updated_at, i.ended_at FROM instances i WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The running requests (and those stopped by an incident) of `process`'s `version`.
pub async fn unfinished_on(
    conn: &mut Conn,
    process: &str,
    version: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM instances WHERE process_id = $1 AND version = $2 AND status IN ('running', 'incident')",
    )
    .bind(process)
    .bind(version)
    .fetch_all(conn)
    .await
}

/// Moves request `id` to `version` at `at`.
pub async fn set_version(
    conn: &mut Conn,
    id: i64,
    version: i64,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE instances SET version = $1, updated_at = $2 WHERE id = $3")
        .bind(version)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
