//! Helpers shared by the end-to-end tests: the repository's paths and in-memory checks.

use std::path::{Path, PathBuf};

use signoff_engine::catalog::{check_source, Catalog};
use signoff_engine::diagnostic::Diagnostic;
use signoff_engine::loader::SourceFile;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the repository")
        .to_path_buf()
}

pub fn processes_dir() -> PathBuf {
    repo_root().join("processes")
}

/// Checks a definition's text against the demo directory, as `signoff check` would.
pub fn check_text(text: &str) -> Vec<Diagnostic> {
    let shipped = Catalog::load(&[processes_dir()]);
    let source = SourceFile::from_bytes(Path::new("test.yaml"), text.as_bytes().to_vec());
    match source {
        Ok(source) => check_source(&source, shipped.directory.as_ref()).1,
        Err(d) => vec![*d],
    }
}

/// A small valid definition that tests change one thing in.
pub const BASE: &str = r#"id: expense
name: { zh: 测试, en: Test }
owner: { role: finance }
variables:
  - id: limit
    initial: 100
form:
  fields:
    - id: amount
      type: money
      label: { zh: 金额, en: Amount }
      min: 0
    - id: region
      type: enum
      label: { zh: 大区, en: Region }
      options:
        - { value: east, label: { zh: 东, en: East } }
steps:
  - id: review
    type: approval
    assignees: [manager]
    transitions:
      - on: approved
        when: form.amount > vars.limit
        to: finance
      - { on: approved, to: done }
      - { on: rejected, to: refused }
  - id: finance
    type: task
    assignees: [{ role: finance }]
    transitions:
      - { on: done, to: done }
  - id: done
    type: end
    outcome: approved
  - id: refused
    type: end
    outcome: rejected
"#;

/// `BASE` with `from` replaced by `to`; panics when `from` is not in it, so a test
/// cannot silently check the unchanged base.
pub fn base_with(from: &str, to: &str) -> String {
    assert!(
        BASE.contains(from),
        "`{from}` is not in the base definition"
    );
    BASE.replacen(from, to, 1)
}

/// A reimbursement form from li.na's region with one transport line per amount.
pub fn claim(amounts: &[f64]) -> serde_json::Value {
    let lines: Vec<serde_json::Value> = amounts
        .iter()
        .map(|a| serde_json::json!({"category": "transport", "date": "2026-09-20", "amount": a, "description": "高铁"}))
        .collect();
    serde_json::json!({
        "region": "east", "purpose": "客户现场实施", "start_date": "2026-09-20", "end_date": "2026-09-22",
        "lines": lines, "receipts": amounts.len()
    })
}

/// A fresh engine on a new SQLite file, with a clock the test moves.
pub struct Harness {
    pub engine: signoff_engine::runtime::Engine,
    pub clock: std::sync::Arc<signoff_engine::clock::ManualClock>,
    /// The database's URL: a SQLite file or a PostgreSQL database of its own.
    pub db: String,
    pub processes: PathBuf,
}

/// The database a storage test runs on. Tests written with [`storage_test!`] run on
/// both: on SQLite always, on PostgreSQL when `SIGNOFF_TEST_POSTGRES_URL` names a
/// cluster the tests may create databases in (`.ci/run` starts one).
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite,
    /// The cluster's URL, for an account that may create databases.
    Postgres(String),
}

/// The variable naming the PostgreSQL cluster for the tests.
pub const POSTGRES_URL_VAR: &str = "SIGNOFF_TEST_POSTGRES_URL";

impl Db {
    /// PostgreSQL when the cluster is named, or `None` after saying the test was skipped.
    pub fn postgres(test: &str) -> Option<Db> {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Some(Db::Postgres(url)),
            _ => {
                eprintln!("skipped `{test}` on PostgreSQL: {POSTGRES_URL_VAR} is not set");
                None
            }
        }
    }

    /// The databases of this run: SQLite, and PostgreSQL when named.
    pub fn all(test: &str) -> Vec<Db> {
        std::iter::once(Db::Sqlite)
            .chain(Db::postgres(test))
            .collect()
    }

    /// A fresh, empty database for the test `name`, whose scratch folder is `dir`: a
    /// file there, or a new database in the cluster (dropped first if a run left it).
    pub async fn fresh(&self, dir: &Path, name: &str) -> String {
        match self {
            Db::Sqlite => format!("sqlite://{}", dir.join("signoff.db").display()),
            Db::Postgres(cluster) => fresh_postgres(cluster, name).await,
        }
    }
}

async fn fresh_postgres(cluster: &str, name: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let database = format!(
        "t_{clean}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    signoff_engine::store::recreate_postgres_database(cluster, &database)
        .await
        .unwrap_or_else(|e| panic!("a test database in {POSTGRES_URL_VAR} ({cluster}): {e}"))
}

/// A test that touches storage, run once on each database: `NAME::sqlite` always and
/// `NAME::postgres` when [`POSTGRES_URL_VAR`] is set (else it says it was skipped).
/// The body sees the database as `$db` ([`Db`]).
#[macro_export]
macro_rules! storage_test {
    ($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: $crate::Db) $body

            #[tokio::test]
            async fn sqlite() {
                run($crate::Db::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = $crate::Db::postgres(stringify!($name)) {
                    run(db).await
                }
            }
        }
    };
}

/// A moment in Shanghai time.
pub fn shanghai(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("a valid Shanghai time")
        .with_timezone(&chrono::Utc)
}

/// A new empty folder under the system temp dir, unique to this test.
pub fn scratch_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "signoff-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A scratch processes folder with the demo directory, the calendar and the named
/// shipped files, for tests that change a definition.
pub fn processes_copy(name: &str, files: &[&str]) -> PathBuf {
    let dir = scratch_dir(name);
    for f in ["org.yaml", "calendar.yaml"].iter().chain(files) {
        std::fs::copy(processes_dir().join(f), dir.join(f)).expect("copy a shipped file");
    }
    dir
}

/// A processes folder whose reimbursement has a guard that type-checks by name but fails
/// at run time (a text compared with a number): the service review's approval stops on
/// an incident. Returns the folder and the shipped text, to fix it with.
pub fn failing_guard_copy(name: &str) -> (PathBuf, String) {
    let dir = processes_copy(name, &["reimbursement.yaml"]);
    let original = std::fs::read_to_string(dir.join("reimbursement.yaml")).expect("read");
    let broken = original.replace(
        "when: form.total > vars.director_tier",
        "when: form.purpose > vars.director_tier",
    );
    assert_ne!(broken, original, "the guard to break is in the definition");
    std::fs::write(dir.join("reimbursement.yaml"), broken).expect("write");
    (dir, original)
}

/// A copy of the shipped processes whose reimbursement "approved" rule names the mail
/// template `paid`; returns the folder and the changed definition text.
pub fn paid_template_rule_copy(name: &str) -> (PathBuf, String) {
    let dir = processes_copy(name, &["reimbursement.yaml"]);
    let text = std::fs::read_to_string(dir.join("reimbursement.yaml")).expect("read");
    let changed = text.replacen(
        "  - on: approved\n    to: [submitter]\n",
        "  - on: approved\n    to: [submitter]\n    template: paid\n",
        1,
    );
    assert_ne!(changed, text, "the rule is in the definition");
    std::fs::write(dir.join("reimbursement.yaml"), &changed).expect("write");
    (dir, changed)
}

/// Writes `processes/templates/FILE` with the three blocks a mail template defines.
pub fn write_mail_template(dir: &Path, file: &str, subject: &str, intro: &str) {
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(
        dir.join("templates").join(file),
        format!("{{% block subject %}}{subject}{{% endblock %}}\n{{% block intro %}}{intro}{{% endblock %}}\n{{% block ask %}}{{% endblock %}}"),
    )
    .expect("write a template");
}

impl Harness {
    /// Monday 28 September 2026, 10:00 in Shanghai: the National Day holiday is ahead.
    pub async fn new(db: &Db, name: &str) -> Harness {
        Harness::with_processes(db, name, processes_dir()).await
    }

    pub async fn with_processes(db: &Db, name: &str, processes: PathBuf) -> Harness {
        let dir = scratch_dir(name);
        let clock = std::sync::Arc::new(signoff_engine::clock::ManualClock::new(shanghai(
            2026, 9, 28, 10,
        )));
        let db = db.fresh(&dir, name).await;
        let engine = open(&db, &processes, clock.clone()).await;
        Harness {
            engine,
            clock,
            db,
            processes,
        }
    }

    /// Stops the engine and starts a new one on the same file, as after a restart.
    pub async fn restart(&mut self) {
        let fresh = self.reopen().await;
        let old = std::mem::replace(&mut self.engine, fresh);
        old.shutdown().await;
    }

    /// A second engine on the same database file, as a second server would be.
    pub async fn reopen(&self) -> signoff_engine::runtime::Engine {
        open(&self.db, &self.processes, self.clock.clone()).await
    }

    /// The user's open task on the request, or a panic naming what is open.
    pub async fn task(
        &self,
        instance: signoff_engine::runtime::InstanceId,
        user: &str,
    ) -> signoff_engine::runtime::TaskId {
        let view = self.engine.instance(instance).await.expect("instance");
        view.tasks
            .iter()
            .find(|t| {
                (t.assignee == user || t.delegate.as_deref() == Some(user))
                    && t.status == signoff_engine::runtime::TaskStatus::Open
            })
            .map(|t| t.id)
            .unwrap_or_else(|| {
                panic!(
                    "{user} has no open task on {instance}; at {:?}, open: {:?}; status {:?} {:?}",
                    view.current_steps,
                    view.tasks
                        .iter()
                        .map(|t| (&t.assignee, &t.step, t.status))
                        .collect::<Vec<_>>(),
                    view.status,
                    view.incident
                )
            })
    }

    pub async fn act(
        &self,
        instance: signoff_engine::runtime::InstanceId,
        user: &str,
        request: signoff_engine::runtime::ActionRequest,
    ) -> signoff_engine::runtime::InstanceView {
        let task = self.task(instance, user).await;
        self.engine
            .act(task, user, request)
            .await
            .unwrap_or_else(|e| panic!("{user}: {e}"))
    }
}

/// An engine on the database at `url` with the definitions in `processes`.
pub async fn open(
    url: &str,
    processes: &Path,
    clock: std::sync::Arc<signoff_engine::clock::ManualClock>,
) -> signoff_engine::runtime::Engine {
    let mut options = signoff_engine::runtime::EngineOptions::new(url, processes);
    options.clock = clock;
    signoff_engine::runtime::Engine::open(options)
        .await
        .unwrap_or_else(|e| panic!("the engine opens on {url}: {e}"))
}

/// Polls `check` until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + limit;
    let mut polls = tokio::time::interval(std::time::Duration::from_millis(25));
    loop {
        polls.tick().await;
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
    }
}

/// A real SMTP server on a local TCP port: Python's aiosmtpd writing what it receives
/// to a Maildir. `.ci/run` installs aiosmtpd; the interpreter is `SIGNOFF_TEST_PYTHON`
/// (default `python3`).
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    /// With TLS: the CA that signed the server's certificate (PEM), and how TLS starts.
    pub tls: Option<(String, SmtpTls)>,
    child: Option<std::process::Child>,
}

/// How an SMTP server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, required before mail.
    StartTls,
    /// TLS from the first byte (smtps).
    Implicit,
}

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope recipients (RCPT TO).
    pub rcpt_to: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
}

impl SmtpServer {
    /// A free port with no server on it yet (for "the server is down" tests).
    pub fn reserve(name: &str) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free local port")
            .port();
        SmtpServer {
            port,
            maildir: scratch_dir(name).join("maildir"),
            tls: None,
            child: None,
        }
    }

    /// Starts a server on a free port and waits until it accepts connections.
    pub async fn start(name: &str) -> SmtpServer {
        let mut server = SmtpServer::reserve(name);
        server.run().await;
        server
    }

    /// A server with TLS: a certificate for `localhost` signed by a fresh test CA.
    pub async fn start_tls(name: &str, mode: SmtpTls) -> SmtpServer {
        let mut server = SmtpServer::reserve(name);
        let dir = server
            .maildir
            .parent()
            .expect("a scratch dir")
            .to_path_buf();
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Signoff test CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let key = rcgen::KeyPair::generate().expect("server key");
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("server params")
            .signed_by(&key, &ca, &ca_key)
            .expect("server certificate");
        std::fs::write(dir.join("server.pem"), leaf.pem()).expect("write cert");
        std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("write key");
        server.tls = Some((ca.pem(), mode));
        server.run().await;
        server
    }

    /// Starts (or restarts) the server on this server's port.
    pub async fn run(&mut self) {
        let python = std::env::var("SIGNOFF_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let dir = self.maildir.parent().expect("a scratch dir").to_path_buf();
        let mut command = std::process::Command::new(&python);
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port));
        match self.tls.as_ref().map(|(_, mode)| *mode) {
            Some(SmtpTls::StartTls) => {
                command.arg("--tlscert").arg(dir.join("server.pem"));
                command.arg("--tlskey").arg(dir.join("server.key"));
            }
            Some(SmtpTls::Implicit) => {
                command.arg("--smtpscert").arg(dir.join("server.pem"));
                command.arg("--smtpskey").arg(dir.join("server.key"));
            }
            None => {}
        }
        let child = command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting `{python} -m aiosmtpd` (pip install aiosmtpd): {e}")
            });
        self.child = Some(child);
        let port = self.port;
        eventually(
            "the SMTP server to listen (is aiosmtpd installed? `python3 -m pip install aiosmtpd`)",
            std::time::Duration::from_secs(20),
            || async move {
                std::net::TcpStream::connect(("127.0.0.1", port))
                    .ok()
                    .map(|_| ())
            },
        )
        .await;
    }

    /// Stops the server (the port then refuses connections).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The transport URL for this server (by the name its certificate carries).
    pub fn url(&self) -> String {
        match self.tls.as_ref().map(|(_, mode)| *mode) {
            Some(SmtpTls::StartTls) => format!("smtp://localhost:{}?tls=required", self.port),
            Some(SmtpTls::Implicit) => format!("smtps://localhost:{}", self.port),
            None => format!("smtp://127.0.0.1:{}", self.port),
        }
    }

    /// Every message received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| {
                let modified = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (modified, e.path())
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| std::fs::read(path).ok())
            .filter_map(|raw| {
                let message = mail_parser::MessageParser::default().parse(&raw)?;
                let header = |name: &str| {
                    message
                        .header_raw(name)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default()
                };
                Some(ReceivedMail {
                    rcpt_to: header("X-RcptTo"),
                    to: message
                        .to()
                        .and_then(|a| a.first())
                        .map(|a| {
                            format!(
                                "{} <{}>",
                                a.name().unwrap_or_default(),
                                a.address().unwrap_or_default()
                            )
                        })
                        .unwrap_or_default(),
                    subject: message.subject().unwrap_or_default().to_string(),
                    message_id: message.message_id().unwrap_or_default().to_string(),
                    text: message
                        .body_text(0)
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    html: message
                        .body_html(0)
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sender settings for tests: this transport, quick retries, frequent polls.
pub fn quick_sender(transport: &str) -> signoff_engine::notify::SenderOptions {
    let mut options = signoff_engine::notify::SenderOptions::new(
        signoff_engine::notify::Transport::parse(transport).expect("transport"),
        signoff_engine::notify::outbox::DEFAULT_FROM
            .parse()
            .expect("sender address"),
    );
    options.first_retry = std::time::Duration::from_millis(100);
    options.max_retry = std::time::Duration::from_millis(400);
    options.poll = std::time::Duration::from_millis(50);
    options
}

/// The real web server (the same router `signoff serve` runs) on a free local port,
/// over a [`Harness`] engine.
pub struct Web {
    pub base: String,
    /// Where the metrics listener (`--metrics-listen`) answers.
    pub metrics_base: String,
    pub h: Harness,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Web {
    /// With password login (every demo user's password is `signoff`).
    pub async fn start(db: &Db, name: &str) -> Web {
        Web::start_with(
            Harness::new(db, name).await,
            signoff_web::server::AuthMode::Password,
        )
        .await
    }

    pub async fn start_with(h: Harness, auth: signoff_web::server::AuthMode) -> Web {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free local port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = signoff_web::server::state(h.engine.clone(), auth, "signoff", &base)
            .await
            .expect("server state");
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free local port");
        let metrics_base = format!("http://{}", metrics.local_addr().expect("address"));
        tokio::spawn(signoff_web::server::run_on(
            metrics,
            signoff_web::server::metrics_router(state.clone()),
            std::future::pending(),
        ));
        let app = signoff_web::server::router(state);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(signoff_web::server::run_on(listener, app, async {
            let _ = stopped.await;
        }));
        Web {
            base,
            metrics_base,
            h,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that keeps cookies and does not follow redirects (tests look at them).
    pub fn browser_like_client() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client")
    }

    /// Signs `user` in through the login form; returns the client holding the session
    /// and the CSRF token its forms carry.
    pub async fn sign_in(&self, user: &str) -> (reqwest::Client, String) {
        sign_in(&self.base, user).await
    }
}

/// Signs `user` in through the login form of the server at `base` (demo password): a
/// client keeping the session cookie, and the CSRF token of that session.
pub async fn sign_in(base: &str, user: &str) -> (reqwest::Client, String) {
    let client = Web::browser_like_client();
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("login page text");
    let csrf = hidden_csrf(&page);
    let response = client
        .post(format!("{base}/login"))
        .form(&[
            ("user", user),
            ("password", "signoff"),
            ("csrf", &csrf),
            ("next", "/inbox"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 303, "{user} signs in");
    // The token is bound to the session, so a signed-in page carries a new one.
    let inbox = client
        .get(format!("{base}/inbox"))
        .send()
        .await
        .expect("inbox")
        .text()
        .await
        .expect("inbox text");
    let csrf = hidden_csrf(&inbox);
    assert!(!csrf.is_empty(), "the inbox carries a CSRF token");
    (client, csrf)
}

/// The `signoff` binary cargo built beside this test.
pub fn signoff_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    let bin = dir.join(format!("signoff{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: `cargo test --workspace` builds it",
        bin.display()
    );
    bin
}

/// A local port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Copies the folder `from` (and its folders) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a folder to copy") {
        let path = entry.expect("a folder entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("a copy");
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The value of the first hidden `csrf` input of a page.
pub fn hidden_csrf(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    page.split(marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}
