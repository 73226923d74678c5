//! Definition versions: a definition whose text changed becomes a new version (by
//! content hash); running requests stay on the version they started with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::store::{Conn, Pool};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::calendar::Calendar;
use crate::catalog::Catalog;
use crate::clock::to_db;
use crate::directory::Directory;
use crate::loader::SourceFile;
use crate::model::ProcessDef;

use super::types::EngineError;

pub struct Registry {
    pub directory: Directory,
    pub calendar: Calendar,
    versions: RwLock<BTreeMap<(String, i64), Arc<ProcessDef>>>,
    latest: RwLock<BTreeMap<String, i64>>,
}

impl Registry {
    /// Registers the folder's definitions as versions (a changed text becomes the new
    /// current version), then loads every stored version and the current ones.
    pub async fn load(
        pool: &Pool,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> Result<Registry, EngineError> {
        let mut conn = pool.acquire().await?;
        let mut in_folder = Vec::with_capacity(catalog.definitions.len());
        for d in &catalog.definitions {
            let process = &d.def.id.value;
            let (version, new) = register(&mut conn, process, &d.source.text, now).await?;
            in_folder.push((process, version));
            if new {
                tracing::info!(process, version, "registered a new definition version");
                set_head(&mut conn, process, version, now).await?;
            } else {
                // Known text: the database's current version stands (it may have been
                // published on another server since this folder was deployed).
                sqlx::query(
                    "INSERT INTO process_heads (process_id, version, changed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (process_id) DO NOTHING",
                )
                .bind(process)
                .bind(version)
                .bind(to_db(now))
                .execute(&mut *conn)
                .await?;
            }
        }
        let registry = Registry {
            directory: catalog.directory.clone().unwrap_or_default(),
            calendar: catalog.calendar.clone().unwrap_or_else(Calendar::plain),
            versions: RwLock::new(BTreeMap::new()),
            latest: RwLock::new(BTreeMap::new()),
        };
        let rows = sqlx::query(
            "SELECT process_id, version, source FROM definitions ORDER BY process_id, version",
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            registry.install(row.get(0), row.get(1), row.get(2));
        }
        registry.refresh(&mut conn).await?;
        for (process, version) in in_folder {
            if let Some((current, _)) = registry.latest(process).filter(|(v, _)| *v != version) {
                tracing::warn!(
                    process,
                    folder = version,
                    current,
                    "the folder holds another stored version of this process; new requests start on the database's current one"
                );
            }
        }
        Ok(registry)
    }

    /// Makes the database's current versions this server's: picks up versions published
    /// on another server. Returns how many processes changed.
    pub async fn refresh(&self, conn: &mut Conn) -> Result<usize, EngineError> {
        let heads: Vec<(String, i64)> =
            sqlx::query_as("SELECT process_id, version FROM process_heads")
                .fetch_all(&mut *conn)
                .await?;
        let mut changed = 0;
        for (process, version) in heads {
            if self.latest(&process).map(|(v, _)| v) != Some(version)
                && self.fetch(conn, &process, version).await?.is_some()
            {
                self.set_latest(&process, version);
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// The database's current version of `process`, read in the caller's transaction: a
    /// request starts on what was published last, on whichever server.
    pub(crate) async fn current(
        &self,
        conn: &mut Conn,
        process: &str,
    ) -> Result<Option<(i64, Arc<ProcessDef>)>, EngineError> {
        let head: Option<i64> =
            sqlx::query_scalar("SELECT version FROM process_heads WHERE process_id = $1")
                .bind(process)
                .fetch_optional(&mut *conn)
                .await?;
        let Some(version) = head else {
            return Ok(self.latest(process));
        };
        if self.latest(process).map(|(v, _)| v) != Some(version)
            && self.fetch(conn, process, version).await?.is_some()
        {
            self.set_latest(process, version);
        }
        Ok(self.latest(process))
    }

    /// A version, from memory or else from the database (stored by another server).
    pub(crate) async fn fetch(
        &self,
        conn: &mut Conn,
        process: &str,
        version: i64,
    ) -> Result<Option<Arc<ProcessDef>>, EngineError> {
        if let Some(def) = self.version(process, version) {
            return Ok(Some(def));
        }
        let source: Option<String> = sqlx::query_scalar(
            "SELECT source FROM definitions WHERE process_id = $1 AND version = $2",
        )
        .bind(process)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(source) = source {
            self.install(process.to_string(), version, source);
        }
        Ok(self.version(process, version))
    }

    /// Parses a stored version into memory; one that no longer parses is logged.
    fn install(&self, process: String, version: i64, source: String) {
        let file = SourceFile {
            path: PathBuf::from(format!("{process}@{version}")),
            text: source,
        };
        match file.parse::<ProcessDef>() {
            Ok(def) => self.insert(process, version, def),
            Err(d) => {
                tracing::error!(process, version, error = %d.message, "a stored definition no longer parses")
            }
        }
    }

    fn set_latest(&self, process: &str, version: i64) {
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(process.to_string(), version);
    }

    fn insert(&self, process: String, version: i64, def: ProcessDef) {
        self.versions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((process, version), Arc::new(def));
    }

    /// Makes `version` the newest version of `process`.
    pub(crate) fn publish(&self, process: &str, version: i64, def: Arc<ProcessDef>) {
        self.versions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((process.to_string(), version), def);
        self.set_latest(process, version);
    }

    pub fn version(&self, process: &str, version: i64) -> Option<Arc<ProcessDef>> {
        self.versions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(process.to_string(), version))
            .cloned()
    }

    /// The newest version of a process.
    pub fn latest(&self, process: &str) -> Option<(i64, Arc<ProcessDef>)> {
        let version = *self
            .latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(process)?;
        self.version(process, version).map(|d| (version, d))
    }

    /// Every process's newest version.
    pub fn processes(&self) -> Vec<(i64, Arc<ProcessDef>)> {
        let latest = self
            .latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        latest.keys().filter_map(|p| self.latest(p)).collect()
    }
}

/// Stores `text` as a version of `process` unless that text is stored already; its
/// version, and whether it is new.
pub(crate) async fn register(
    conn: &mut Conn,
    process: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(i64, bool), EngineError> {
    let hash = hex(&Sha256::digest(text.as_bytes()));
    let find = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT version FROM definitions WHERE process_id = $1 AND hash = $2",
        )
        .bind(process)
        .bind(hash.clone())
    };
    if let Some(version) = find().fetch_optional(&mut *conn).await? {
        return Ok((version, false));
    }
    // Servers registering at once: the unique (process_id, hash) keeps one row per text.
    sqlx::query(
        "INSERT INTO definitions (process_id, version, hash, source, created_at) \
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM definitions WHERE process_id = $1 \
         ON CONFLICT DO NOTHING",
    )
    .bind(process)
    .bind(&hash)
    .bind(text)
    .bind(to_db(now))
    .execute(&mut *conn)
    .await?;
    match find().fetch_optional(&mut *conn).await? {
        Some(version) => Ok((version, true)),
        None => Err(EngineError::Definition(format!(
            "another server stored a different version of `{process}` at the same moment; try again"
        ))),
    }
}

/// Makes `version` the one new requests of `process` start on, on every server.
pub(crate) async fn set_head(
    conn: &mut Conn,
    process: &str,
    version: i64,
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    sqlx::query(
        "INSERT INTO process_heads (process_id, version, changed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (process_id) DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at",
    )
    .bind(process)
    .bind(version)
    .bind(to_db(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
