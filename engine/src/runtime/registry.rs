//! Definition versions: a definition whose text changed becomes a new version (by
//! content hash); running requests stay on the version they started with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::store::definitions as store;
use crate::store::{Conn, Pool};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

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
                store::set_head(&mut conn, process, version, &to_db(now), false).await?;
            }
        }
        let registry = Registry {
            directory: catalog.directory.clone().unwrap_or_default(),
            calendar: catalog.calendar.clone().unwrap_or_else(Calendar::plain),
            versions: RwLock::new(BTreeMap::new()),
            latest: RwLock::new(BTreeMap::new()),
        };
        for row in store::all(&mut conn).await? {
            registry.install(row.process_id, row.version, row.source);
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
        let heads = store::heads(conn).await?;
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
        let head = store::head(conn, process).await?;
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
        let source = store::source(conn, process, version).await?;
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
    let hash = hex::encode(Sha256::digest(text.as_bytes()));
    if let Some(version) = store::version_of(conn, process, &hash).await? {
        return Ok((version, false));
    }
    store::insert_next(conn, process, &hash, text, &to_db(now)).await?;
    match store::version_of(conn, process, &hash).await? {
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
    Ok(store::set_head(conn, process, version, &to_db(now), true).await?)
}
