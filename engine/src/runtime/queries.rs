//! Reads and owner operations the inbox and the API need besides a single request:
//! requests by submitter or watcher, incidents, who may see a request, definition
//! versions and their sources, and publishing a new version.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::catalog::check_source;
use crate::diagnostic::{Diagnostic, Severity};
use crate::loader::SourceFile;
use crate::model::ProcessDef;

use super::{Engine, EngineError, HistoryAction, InstanceId, InstanceStatus};
use crate::store;

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
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        let read = store::cc_reads::read_among(&self.core.pool, user, &ids).await?;
        Ok(read.into_iter().map(InstanceId).collect())
    }

    /// How many requests `user` is copied on and has not read.
    pub async fn unread_cc(&self, user: &str) -> Result<i64, EngineError> {
        Ok(store::cc_reads::unread(&self.core.pool, user, HistoryAction::Cc.as_str()).await?)
    }

    /// Requests by submitter, watcher and status, newest first.
    pub async fn requests(&self, query: &RequestQuery) -> Result<Vec<RequestSummary>, EngineError> {
        let limit = query.limit.unwrap_or(200).clamp(1, 5000);
        let before = query.before.map(|b| b.0);
        let rows = store::instances::list(&self.core.pool, &query.filter(), before, limit).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut steps = by_request(store::runs::active_steps_of(&self.core.pool, &ids).await?);
        let mut holders = by_request(store::tasks::open_holders_of(&self.core.pool, &ids).await?);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let def = self.core.registry.version(&row.process_id, row.version);
            let steps = steps.remove(&row.id).unwrap_or_default();
            out.push(RequestSummary {
                id: InstanceId(row.id),
                process_name: def
                    .as_ref()
                    .map_or_else(|| row.process_id.clone(), |d| d.name.to_string()),
                current_steps: steps
                    .into_iter()
                    .map(|s| {
                        let name = def
                            .as_ref()
                            .and_then(|d| d.step(&s))
                            .map_or_else(|| s.clone(), |st| st.display_name());
                        (s, name)
                    })
                    .collect(),
                process: row.process_id,
                version: row.version,
                status: row.status,
                outcome: row.outcome,
                submitter: row.submitter,
                holders: holders.remove(&row.id).unwrap_or_default(),
                incident: incident_reason(row.incident.as_deref()),
                created_at: row.created_at,
                updated_at: row.updated_at,
            });
        }
        Ok(out)
    }

    /// How many requests `query` finds, on every page together.
    pub async fn count_requests(&self, query: &RequestQuery) -> Result<i64, EngineError> {
        Ok(store::instances::count(&self.core.pool, &query.filter()).await?)
    }

    /// Open tasks, running requests and incidents, for monitoring.
    pub async fn counts(&self) -> Result<Counts, EngineError> {
        let g = store::instances::gauges(&self.core.pool).await?;
        Ok(Counts {
            open_tasks: g.open_tasks,
            running: g.running,
            incidents: g.incidents,
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
        let rows = store::definitions::versions(&self.core.pool, process).await?;
        Ok(rows
            .into_iter()
            .map(|r| VersionInfo {
                latest: Some(r.version) == latest,
                version: r.version,
                hash: r.hash,
                created_at: r.created_at,
            })
            .collect())
    }

    /// How many of `process`'s requests are running, by the version they run on (what a
    /// new version would leave on the old ones), oldest version first.
    pub async fn running_by_version(&self, process: &str) -> Result<Vec<(i64, i64)>, EngineError> {
        Ok(store::instances::running_by_version(&self.core.pool, process).await?)
    }

    /// The YAML text of a stored version.
    pub async fn source(&self, process: &str, version: i64) -> Result<Option<String>, EngineError> {
        let mut conn = self.core.pool.acquire().await?;
        Ok(store::definitions::source(&mut conn, process, version).await?)
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

impl RequestQuery {
    /// The store's filter for this query.
    fn filter(&self) -> store::instances::RequestFilter<'_> {
        store::instances::RequestFilter {
            submitter: self.submitter.as_deref(),
            watcher: self
                .watcher
                .as_deref()
                .map(|w| (w, HistoryAction::Cc.as_str())),
            status: self.status,
        }
    }
}

/// (request, value) pairs grouped by request, each group in the pairs' order.
fn by_request(pairs: Vec<(i64, String)>) -> HashMap<i64, Vec<String>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, value) in pairs {
        out.entry(id).or_default().push(value);
    }
    out
}

/// The reason stored with an incident (`{"reason": ...}`).
pub(super) fn incident_reason(incident: Option<&str>) -> Option<String> {
    incident
        .and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok())
        .and_then(|v| v["reason"].as_str().map(str::to_string))
}
