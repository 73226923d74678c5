//! Definition versions: a definition whose text changed becomes a new version (by
//! content hash); running requests stay on the version they started with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::store::Pool;
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
    pub async fn load(
        pool: &Pool,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> Result<Registry, EngineError> {
        for d in &catalog.definitions {
            let hash = hex(&Sha256::digest(d.source.text.as_bytes()));
            let known: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM definitions WHERE process_id = $1 AND hash = $2",
            )
            .bind(&d.def.id.value)
            .bind(&hash)
            .fetch_optional(pool)
            .await?;
            if known.is_none() {
                // Concurrent servers may race here; the unique (process_id, hash) keeps one.
                sqlx::query(
                    "INSERT INTO definitions (process_id, version, hash, source, created_at) \
                     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM definitions WHERE process_id = $1 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&d.def.id.value)
                .bind(&hash)
                .bind(&d.source.text)
                .bind(to_db(now))
                .execute(pool)
                .await?;
                tracing::info!(process = %d.def.id, "registered a new definition version");
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
        .fetch_all(pool)
        .await?;
        for row in rows {
            let (process, version, source): (String, i64, String) =
                (row.get(0), row.get(1), row.get(2));
            let file = SourceFile {
                path: PathBuf::from(format!("{process}@{version}")),
                text: source,
            };
            match file.parse::<ProcessDef>() {
                Ok(def) => registry.insert(process, version, def),
                Err(d) => {
                    tracing::error!(process, version, error = %d.message, "a stored definition no longer parses")
                }
            }
        }
        // The newest version is the one in the folder now.
        for d in &catalog.definitions {
            let hash = hex(&Sha256::digest(d.source.text.as_bytes()));
            let version: i64 = sqlx::query_scalar(
                "SELECT version FROM definitions WHERE process_id = $1 AND hash = $2",
            )
            .bind(&d.def.id.value)
            .bind(&hash)
            .fetch_one(pool)
            .await?;
            registry
                .latest
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(d.def.id.value.clone(), version);
        }
        Ok(registry)
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
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(process.to_string(), version);
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
