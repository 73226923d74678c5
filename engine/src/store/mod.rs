//! The database seam: which database a URL names, opening it with its settings and
//! migrations, and the few statements that differ between SQLite and PostgreSQL.
//!
//! Everything else speaks SQL both accept (`$1` parameters, `RETURNING`, `ON CONFLICT`,
//! text times and JSON, BIGINT ids) through sqlx's `Any` driver, so one engine binary runs
//! on either. What is SQLite's alone (PRAGMAs, `BEGIN IMMEDIATE`) or PostgreSQL's alone
//! (the advisory lock that makes writers on several servers take turns) is here.

pub mod absences;
pub mod accounts;
pub mod cc_reads;
pub mod copies;
pub mod definitions;
pub mod events;
pub mod files;
pub mod history_action;
pub mod inbox;
pub mod instances;
pub mod links;
pub mod outbox;
pub mod reports;
pub mod runs;
pub mod schedules;
pub mod status;
pub mod tasks;
pub mod timers;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{Connection, Executor};

/// What opening a database can fail on. (The runtime folds it into its `EngineError`.)
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL or a database name is not one the store can use; the words say why.
    #[error("{0}")]
    Refused(String),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

/// A pool of read connections.
pub type Pool = sqlx::AnyPool;
/// One connection: the writer's, or one borrowed from the pool.
pub type Conn = sqlx::AnyConnection;
/// A row of either database.
pub type Row = sqlx::any::AnyRow;

/// Rows per multi-row statement: far below both databases' limits on parameters
/// (PostgreSQL's 65,535; SQLite's 32,766), and enough for a group commit of 64 actions
/// to write its history in one statement. Such a statement is built with
/// [`Sql::for_conn`], so SQLite binds its parameters in order.
pub(crate) const ROWS_PER_STATEMENT: usize = 256;

/// Read connections per server. SQLite readers do not block the writer (WAL); on
/// PostgreSQL every server holds this many plus its writer.
const READERS: u32 = 8;

/// The settings every SQLite connection takes: WAL so readers never block the writer,
/// FULL so an acknowledged action is on disk when the call returns, a busy timeout so a
/// second engine on the same file waits its turn, and enforced foreign keys.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";

/// The key of the PostgreSQL advisory lock a group commit holds: writers on several
/// servers take turns on the database as the one writer does within a server.
const WRITE_LOCK: i64 = 0x5167_6e6f_6666; // "Signoff"

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The database `url` names: `sqlite://FILE` (or a plain file path) or
    /// `postgres://USER@HOST/DB`.
    pub fn of(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") || !url.contains("://") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Refused(format!(
                "the database URL must start with `sqlite://` (a file) or `postgres://`, not `{}`",
                redact(url)
            )))
        }
    }

    /// SQL for the whole hours from the stored time `from` to `to` (columns or
    /// expressions holding RFC 3339 text).
    pub fn hours_between(self, from: &str, to: &str) -> String {
        match self {
            Backend::Sqlite => {
                format!("CAST((julianday({to}) - julianday({from})) * 24 AS INTEGER)")
            }
            Backend::Postgres => format!(
                "CAST(EXTRACT(EPOCH FROM (CAST({to} AS timestamptz) - CAST({from} AS timestamptz))) / 3600 AS BIGINT)"
            ),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// `url` with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// An open database: its read pool, the writer's own connection and which it is.
pub struct Opened {
    pub pool: Pool,
    pub writer: Conn,
    pub backend: Backend,
}

/// Opens the database at `url` (a missing SQLite file is created), applies the
/// migrations, and opens the writer's connection.
pub async fn open(url: &str) -> Result<Opened, StoreError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url)?;
    let url = match backend {
        Backend::Sqlite => sqlite_url(url),
        Backend::Postgres => url.to_string(),
    };
    // The writer's connection first: an unreachable database or a refused login fails
    // at once with its own message, not after the pool's acquire timeout.
    let mut writer = Conn::connect(&url).await?;
    prepare(&mut writer, backend).await?;
    let pool = AnyPoolOptions::new()
        .max_connections(READERS)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                prepare(conn, backend).await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
        Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
    }
    Ok(Opened {
        pool,
        writer,
        backend,
    })
}

/// A SQLite URL that creates the file when it is missing (`mode=rwc`); a plain path is
/// taken for a file.
fn sqlite_url(url: &str) -> String {
    if !url.starts_with("sqlite:") {
        sqlite_url(&format!("sqlite://{url}"))
    } else if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The per-connection settings of `backend`.
async fn prepare(conn: &mut Conn, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Sqlite {
        conn.execute(SQLITE_PRAGMAS).await?;
    }
    Ok(())
}

/// Starts a group commit on the writer's connection. SQLite's IMMEDIATE takes the file's
/// write lock up front, so a second engine on the file waits (busy timeout) instead of
/// failing half-way; PostgreSQL's transaction-scoped advisory lock does the same across
/// servers, and is released by the commit, the rollback, or the server's death.
pub async fn begin_write(
    conn: &mut Conn,
    backend: Backend,
) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
    match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = conn.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// Takes the savepoint an action of a group commit runs in; after the first action of a
/// batch, the previous action's savepoint is released in the same round trip.
pub async fn savepoint(conn: &mut Conn, first: bool) -> Result<(), sqlx::Error> {
    let sql = if first {
        "SAVEPOINT action"
    } else {
        "RELEASE SAVEPOINT action; SAVEPOINT action"
    };
    conn.execute(sql).await?;
    Ok(())
}

/// Undoes what the action since its savepoint wrote.
pub async fn rollback_to_savepoint(conn: &mut Conn) -> Result<(), sqlx::Error> {
    conn.execute("ROLLBACK TO SAVEPOINT action").await?;
    Ok(())
}

/// A new, empty database `name` in the PostgreSQL cluster `url` points into (dropped
/// first if it exists), for benchmarks and tests; its URL. The account of `url` must be
/// allowed to create databases.
pub async fn recreate_postgres_database(url: &str, name: &str) -> Result<String, StoreError> {
    use sqlx::postgres::PgConnection;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || name.len() > 63 {
        return Err(StoreError::Refused(format!(
            "`{name}` is not a plain database name (letters, digits and _, at most 63)"
        )));
    }
    let mut admin = PgConnection::connect(url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    Ok(format!("{server}/{name}{query}"))
}

/// A statement assembled from parts, with `$N` parameters both databases read (sqlx's
/// `QueryBuilder` writes `?` for `Any`, which PostgreSQL refuses), or, built for a SQLite
/// connection, `?`.
pub struct Sql<'q> {
    text: String,
    args: sqlx::any::AnyArguments<'q>,
    count: usize,
    positional: bool,
}

impl<'q> Sql<'q> {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Default::default(),
            count: 0,
            positional: false,
        }
    }

    /// A statement for `conn`'s database, whose parameters are all pushed (`text` holds
    /// none). On SQLite they are written `?`, which it binds in order: sqlx binds a
    /// `$N` parameter by asking SQLite its name, and SQLite finds a parameter's name by a
    /// linear search of the statement's names, so binding n named parameters costs n²
    /// (a 64-row insert of 11 columns took 9 % of the writer's CPU).
    pub fn for_conn(conn: &Conn, text: &str) -> Self {
        Sql {
            positional: conn.backend_name() == "SQLite",
            ..Sql::new(text)
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a parameter holding `value`.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        use sqlx::Arguments;
        // Encoding into `Any`'s buffer only records the value; it cannot fail.
        let _ = self.args.add(value);
        self.count += 1;
        if self.positional {
            self.text.push('?');
        } else {
            self.text.push_str(&format!("${}", self.count));
        }
        self
    }

    /// Appends `(v1, v2, ...)`, a parameter each.
    pub fn push_list<T, I>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(value);
        }
        self.push(")")
    }

    /// The statement with its parameters, which it takes (build it once).
    pub fn query(&'q mut self) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        sqlx::query_with(&self.text, std::mem::take(&mut self.args))
    }

    /// The statement for rows of `O`, with its parameters, which it takes.
    pub fn query_as<O>(
        &'q mut self,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
    where
        O: for<'r> sqlx::FromRow<'r, Row>,
    {
        sqlx::query_as_with(&self.text, std::mem::take(&mut self.args))
    }

    /// The statement for one value, with its parameters, which it takes.
    pub fn query_scalar<O>(
        &'q mut self,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
    where
        (O,): for<'r> sqlx::FromRow<'r, Row>,
    {
        sqlx::query_scalar_with(&self.text, std::mem::take(&mut self.args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_statement_for_a_sqlite_connection_binds_its_many_parameters_in_order() {
        sqlx::any::install_default_drivers();
        let mut conn = Conn::connect("sqlite::memory:").await.unwrap();
        conn.execute("CREATE TABLE t (a INTEGER, b TEXT)")
            .await
            .unwrap();
        let mut sql = Sql::for_conn(&conn, "INSERT INTO t (a, b) VALUES ");
        for i in 0..300_i64 {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.push_bind(i)
                .push(", ")
                .push_bind(format!("row {i}"))
                .push(")");
        }
        assert!(sql.text.ends_with("(?, ?)") && !sql.text.contains('$'));
        sql.query().execute(&mut conn).await.unwrap();
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT a, b FROM t ORDER BY a")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows.len(), 300);
        assert!(rows.iter().all(|(a, b)| *b == format!("row {a}")));
        // Built without a connection, a statement numbers its parameters for both.
        let mut numbered = Sql::new("SELECT ");
        numbered.push_bind(1_i64).push(", ").push_bind(2_i64);
        assert_eq!(numbered.text, "SELECT $1, $2");
    }

    #[test]
    fn a_url_names_its_database_and_hides_its_password() {
        assert_eq!(Backend::of("sqlite://x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of("postgres://u:p@h/db").ok(),
            Some(Backend::Postgres)
        );
        let refused = Backend::of("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("u:***@h/db"), "{refused}");
        assert!(!refused.contains("secret"), "{refused}");
        assert_eq!(sqlite_url("sqlite://x.db"), "sqlite://x.db?mode=rwc");
        assert_eq!(sqlite_url("sqlite://x.db?mode=ro"), "sqlite://x.db?mode=ro");
        assert_eq!(Backend::of("data/x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(sqlite_url("data/x.db"), "sqlite://data/x.db?mode=rwc");
    }
}
