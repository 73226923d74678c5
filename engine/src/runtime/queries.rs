//! Reads and owner operations the inbox and the API need besides a single request:
//! requests by submitter or watcher, incidents, who may see a request, definition
//! versions and their sources, and publishing a new version.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use sqlx::Row;

use crate::catalog::check_source;
use crate::diagnostic::{Diagnostic, Severity};
use crate::loader::SourceFile;
use crate::model::ProcessDef;

use super::{Engine, EngineError, InstanceId, InstanceStatus};

/// One line of a list of requests.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestSummary {
    pub id: InstanceId,
    pub process: String,
    pub process_name: String,
    pub version: i64,
    pub status: InstanceStatus,
    pub outcome: Option<String>,
    pub submitter: String,
    /// The steps the request is at, as (step id, display name).
    pub current_steps: Vec<(String, String)>,
    /// Who holds the open tasks (assignee, or delegate acting for them).
    pub holders: Vec<String>,
    pub incident: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    /// Requests this user submitted.
    pub submitter: Option<String>,
    /// Requests this user is copied on.
    pub watcher: Option<String>,
    pub status: Option<InstanceStatus>,
    pub limit: Option<i64>,
    /// Only requests older than this one (the next page of a list, newest first).
    pub before: Option<InstanceId>,
}

/// A stored version of a definition.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    pub version: i64,
    pub hash: String,
    pub created_at: String,
    pub latest: bool,
}

/// Gauges for monitoring.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    pub open_tasks: i64,
    pub running: i64,
    pub incidents: i64,
}

/// Why a definition could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the definition has {} error(s)", .0.iter().filter(|d| d.severity == Severity::Error).count())]
    Invalid(Vec<Diagnostic>),
    #[error("only the owner of `{0}` (or a process administrator) may publish it")]
    NotOwner(String),
    #[error(
        "only a process administrator (role `{}`) may create a new process",
        super::policy::PROCESS_ADMIN_ROLE
    )]
    NotAdmin,
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("writing {path}: {message}")]
    Write { path: String, message: String },
}

impl Engine {
    /// Marks request `instance` read (已阅) by `user`, when they are copied on it; true
    /// when this is the first reading.
    pub async fn mark_read(&self, instance: InstanceId, user: &str) -> Result<bool, EngineError> {
        let command = super::cmd::Command::MarkRead(super::cmd::MarkRead {
            instance,
            user: user.to_string(),
        });
        Ok(matches!(self.send(command).await?, super::Reply::Count(n) if n > 0))
    }

    /// Which of `ids` (requests `user` is copied on) they have read.
    pub async fn read_marks(
        &self,
        user: &str,
        ids: &[InstanceId],
    ) -> Result<std::collections::HashSet<InstanceId>, EngineError> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let mut sql = crate::store::Sql::new("SELECT instance_id FROM cc_reads WHERE user_id = ");
        sql.push_bind(user.to_string()).push(" AND instance_id IN ");
        sql.push_list(ids.iter().map(|i| i.0));
        let read: Vec<i64> = sql.query_scalar().fetch_all(&self.core.pool).await?;
        Ok(read.into_iter().map(InstanceId).collect())
    }

    /// How many requests `user` is copied on and has not read.
    pub async fn unread_cc(&self, user: &str) -> Result<i64, EngineError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(DISTINCT instance_id) FROM events WHERE action = $1 AND detail = $2 \
             AND instance_id NOT IN (SELECT instance_id FROM cc_reads WHERE user_id = $2)",
        )
        .bind(super::HistoryAction::Cc.as_str())
        .bind(user)
        .fetch_one(&self.core.pool)
        .await?)
    }

    /// Requests by submitter, watcher and status, newest first.
    pub async fn requests(&self, query: &RequestQuery) -> Result<Vec<RequestSummary>, EngineError> {
        let mut sql = crate::store::Sql::new(
            "SELECT id, process_id, version, status, outcome, submitter, incident, created_at, updated_at FROM instances",
        );
        request_filter(&mut sql, query);
        if let Some(before) = query.before {
            sql.push(" AND id < ").push_bind(before.0);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(query.limit.unwrap_or(200).clamp(1, 5000));
        let rows = sql.query().fetch_all(&self.core.pool).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let mut steps = self.per_request(&ids, "SELECT instance_id, step_id FROM step_runs WHERE status = 'active' AND instance_id IN ").await?;
        let mut holders = self.per_request(&ids, "SELECT instance_id, COALESCE(delegate, assignee) FROM tasks WHERE status = 'open' AND instance_id IN ").await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.get(0);
            let process: String = row.get(1);
            let version: i64 = row.get(2);
            let def = self.core.registry.version(&process, version);
            let incident: Option<String> = row.get(6);
            out.push(RequestSummary {
                id: InstanceId(id),
                process_name: def
                    .as_ref()
                    .map_or_else(|| process.clone(), |d| d.name.to_string()),
                current_steps: steps
                    .remove(&id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| {
                        let name = def
                            .as_ref()
                            .and_then(|d| d.step(&s))
                            .map_or_else(|| s.clone(), |st| st.display_name());
                        (s, name)
                    })
                    .collect(),
                process,
                version,
                status: InstanceStatus::parse(row.get(3)),
                outcome: row.get(4),
                submitter: row.get(5),
                holders: holders.remove(&id).unwrap_or_default(),
                incident: incident
                    .and_then(|i| serde_json::from_str::<serde_json::Value>(&i).ok())
                    .and_then(|v| v["reason"].as_str().map(str::to_string)),
                created_at: row.get(7),
                updated_at: row.get(8),
            });
        }
        Ok(out)
    }

    /// How many requests `query` finds, on every page together.
    pub async fn count_requests(&self, query: &RequestQuery) -> Result<i64, EngineError> {
        let mut sql = crate::store::Sql::new("SELECT COUNT(*) FROM instances");
        request_filter(&mut sql, query);
        Ok(sql.query_scalar().fetch_one(&self.core.pool).await?)
    }

    /// `select` (which ends in `instance_id IN `, and gives the id and a text) for all
    /// `ids` in one statement, grouped by request in the order of their ids.
    async fn per_request(
        &self,
        ids: &[i64],
        select: &str,
    ) -> Result<std::collections::HashMap<i64, Vec<String>>, EngineError> {
        let mut out: std::collections::HashMap<i64, Vec<String>> = Default::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut sql = crate::store::Sql::new(select);
        sql.push_list(ids.iter().copied()).push(" ORDER BY id");
        for row in sql.query().fetch_all(&self.core.pool).await? {
            out.entry(row.get(0)).or_default().push(row.get(1));
        }
        Ok(out)
    }

    /// Open tasks, running requests and incidents, for monitoring.
    pub async fn counts(&self) -> Result<Counts, EngineError> {
        let row = sqlx::query(
            // Open tasks are on running requests (and those stopped by an incident):
            // counted through them, so the count costs the open work, not the history.
            "SELECT (SELECT COUNT(*) FROM tasks WHERE status = 'open' AND instance_id IN \
                        (SELECT id FROM instances WHERE status IN ('running', 'incident'))), \
                    (SELECT COUNT(*) FROM instances WHERE status = 'running'), \
                    (SELECT COUNT(*) FROM instances WHERE status = 'incident')",
        )
        .fetch_one(&self.core.pool)
        .await?;
        Ok(Counts {
            open_tasks: row.get(0),
            running: row.get(1),
            incidents: row.get(2),
        })
    }

    /// Whether `user` may see request `id`: its submitter, anyone who held a task on it,
    /// anyone copied on it, and the process owners.
    pub async fn can_view(&self, id: InstanceId, user: &str) -> Result<bool, EngineError> {
        let mut conn = self.core.pool.acquire().await?;
        super::policy::may_see(&mut conn, &self.core.registry, id, user).await
    }

    /// The stored versions of a process, oldest first.
    pub async fn versions(&self, process: &str) -> Result<Vec<VersionInfo>, EngineError> {
        let latest = self.core.registry.latest(process).map(|(v, _)| v);
        let rows = sqlx::query(
            "SELECT version, hash, created_at FROM definitions WHERE process_id = $1 ORDER BY version",
        )
        .bind(process)
        .fetch_all(&self.core.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| VersionInfo {
                version: r.get(0),
                hash: r.get(1),
                created_at: r.get(2),
                latest: Some(r.get::<i64, _>(0)) == latest,
            })
            .collect())
    }

    /// How many of `process`'s requests are running, by the version they run on (what a
    /// new version would leave on the old ones), oldest version first.
    pub async fn running_by_version(&self, process: &str) -> Result<Vec<(i64, i64)>, EngineError> {
        let rows = sqlx::query(
            "SELECT version, COUNT(*) FROM instances WHERE process_id = $1 AND status = 'running' GROUP BY version ORDER BY version",
        )
        .bind(process)
        .fetch_all(&self.core.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The YAML text of a stored version.
    pub async fn source(&self, process: &str, version: i64) -> Result<Option<String>, EngineError> {
        Ok(sqlx::query_scalar(
            "SELECT source FROM definitions WHERE process_id = $1 AND version = $2",
        )
        .bind(process)
        .bind(version)
        .fetch_optional(&self.core.pool)
        .await?)
    }

    /// Checks `text` as the checker would, against this engine's directory.
    pub fn check_text(&self, name: &str, text: &str) -> (Option<ProcessDef>, Vec<Diagnostic>) {
        match SourceFile::from_bytes(Path::new(name), text.as_bytes().to_vec()) {
            Ok(source) => check_source(&source, Some(self.directory())),
            Err(d) => (None, vec![*d]),
        }
    }

    /// Checks `text` like [`Engine::check_text`], off the async workers and at most
    /// [`super::policy::MAX_CHECKS`] at once: [`EngineError::Busy`] beyond that. For texts
    /// people submit to the server.
    pub async fn check_bounded(
        &self,
        name: &str,
        text: &str,
    ) -> Result<(Option<ProcessDef>, Vec<Diagnostic>), EngineError> {
        let permit = Arc::clone(&self.core.checks)
            .try_acquire_owned()
            .map_err(|_| EngineError::Busy)?;
        let engine = self.clone();
        let (name, text) = (name.to_string(), text.to_string());
        tokio::task::spawn_blocking(move || {
            let checked = engine.check_text(&name, &text);
            drop(permit);
            checked
        })
        .await
        .map_err(|e| EngineError::Definition(format!("the check failed: {e}")))
    }

    /// Publishes `text` as the newest version of its process, on behalf of `user` (an
    /// owner of the current version or a process administrator; only an administrator
    /// creates a new process). The file in
    /// the processes folder is replaced too, so a restart keeps the new version.
    pub async fn publish(&self, user: &str, text: &str) -> Result<(String, i64), PublishError> {
        let (def, diagnostics) = self.check_bounded("published.yaml", text).await?;
        let def = match def {
            Some(def) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => def,
            _ => return Err(PublishError::Invalid(diagnostics)),
        };
        let process = def.id.value.clone();
        match self.core.registry.latest(&process) {
            Some((_, current)) if !self.may_manage(&current, user) => {
                return Err(PublishError::NotOwner(process));
            }
            None if !self.is_process_admin(user) => return Err(PublishError::NotAdmin),
            _ => {}
        }
        let path = self.core.processes.join(format!("{process}.yaml"));
        refuse_foreign_file(&path, &process)?;
        let version = self.publish_version(&process, text).await?;
        let tmp = path.with_extension("yaml.publishing");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| PublishError::Write {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        self.core.registry.publish(&process, version, Arc::new(def));
        tracing::info!(process, version, user, "published a definition version");
        Ok((process, version))
    }
}

impl Engine {
    /// Stores `text` through the writer as the current version of `process`.
    async fn publish_version(&self, process: &str, text: &str) -> Result<i64, EngineError> {
        match self
            .send(super::Command::Publish(super::cmd::Publish {
                process: process.to_string(),
                text: text.to_string(),
            }))
            .await?
        {
            super::Reply::Version(version) => Ok(version),
            _ => Err(EngineError::Closed),
        }
    }
}

/// Refuses to replace a file that holds another process (a file named after a process
/// id that is not its own), so a publish only ever writes that process's definition.
fn refuse_foreign_file(path: &Path, process: &str) -> Result<(), PublishError> {
    let Ok(source) = SourceFile::read(path) else {
        return Ok(());
    };
    match source.parse::<ProcessDef>() {
        Ok(existing) if existing.id.value != process => Err(PublishError::Write {
            path: path.display().to_string(),
            message: format!("the file holds process `{}`", existing.id.value),
        }),
        _ => Ok(()),
    }
}

/// The `WHERE` of a request list: only the filters given, so each finds its rows through
/// its own index.
fn request_filter<'q>(sql: &mut crate::store::Sql<'q>, query: &'q RequestQuery) {
    sql.push(" WHERE 1 = 1");
    if let Some(submitter) = &query.submitter {
        sql.push(" AND submitter = ").push_bind(submitter);
    }
    if let Some(watcher) = &query.watcher {
        sql.push(" AND id IN (SELECT instance_id FROM events WHERE action = ")
            .push_bind(super::HistoryAction::Cc.as_str())
            .push(" AND detail = ")
            .push_bind(watcher)
            .push(")");
    }
    if let Some(status) = query.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
}
