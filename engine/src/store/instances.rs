//! The `instances` table (the requests): the reads of one request's head. (The writer's
//! own request statements are still in `runtime/`.)

use super::Conn;

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
    pub status: &'a str,
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
