//! How the bench reaches Signoff: the engine's API in this process, or the JSON API over
//! HTTP on one or more servers sharing the database, as `signoff serve` processes behind
//! a load balancer would (the bench runs them in its own process and sends each client's
//! calls to them in turn).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;
use serde_json::{json, Value};
use signoff_engine::accounts::Accounts;
use signoff_engine::runtime::{
    Acted, ActionKind, ActionRequest, Engine, EngineOptions, InstanceStatus, TaskId, TaskQuery,
    TaskStatus,
};
use tokio::sync::{oneshot, Mutex};

use signoff_web::server::{self, AuthMode};

/// An open task: its id and who holds it.
pub type Open = (TaskId, String);

pub enum Driver {
    Engine(Engine),
    Http(Box<Http>),
}

/// Servers on free local ports, each with its own engine on the bench's database.
pub struct Http {
    client: reqwest::Client,
    bases: Vec<String>,
    next: AtomicUsize,
    accounts: Accounts,
    /// Personal API tokens, made on first use per user.
    tokens: Mutex<HashMap<String, String>>,
    /// The engines of the servers after the first (the first is the caller's).
    extra: Vec<Engine>,
    stops: Vec<oneshot::Sender<()>>,
}

/// The parts of an instance view over HTTP the bench reads.
#[derive(Deserialize)]
struct ViewJson {
    id: i64,
    outcome: Option<String>,
    tasks: Vec<TaskJson>,
}

#[derive(Deserialize)]
struct TaskJson {
    id: TaskId,
    assignee: String,
    status: TaskStatus,
}

/// The open tasks among `tasks` (id, holder, status).
fn open_tasks(tasks: impl Iterator<Item = (TaskId, String, TaskStatus)>) -> Vec<Open> {
    tasks
        .filter(|(_, _, status)| *status == TaskStatus::Open)
        .map(|(id, who, _)| (id, who))
        .collect()
}

/// The tasks an action opened (the engine's reply names only those), and whether the
/// request ended.
fn open_of_acted(acted: Acted) -> (Vec<Open>, bool) {
    let ended = acted.status != InstanceStatus::Running;
    let tasks = acted
        .assigned
        .into_iter()
        .map(|(id, user)| (id, user, TaskStatus::Open));
    (open_tasks(tasks), ended)
}

fn open_of_json(view: ViewJson) -> (Vec<Open>, bool) {
    let ended = view.outcome.is_some();
    let tasks = view.tasks.into_iter().map(|t| (t.id, t.assignee, t.status));
    (open_tasks(tasks), ended)
}

impl Driver {
    /// Starts a request; its open tasks.
    pub async fn start(
        &self,
        process: &str,
        submitter: &str,
        form: Value,
    ) -> anyhow::Result<Vec<Open>> {
        match self {
            Driver::Engine(e) => Ok(open_of_acted(e.submit(process, submitter, form).await?).0),
            Driver::Http(h) => {
                let body = json!({"process": process, "form": form});
                let view = h.post(submitter, "/instances", body).await?;
                Ok(open_of_json(view).0)
            }
        }
    }

    /// Approves `task` as `user`; the request's open tasks, and whether it ended.
    pub async fn approve(&self, task: TaskId, user: &str) -> anyhow::Result<(Vec<Open>, bool)> {
        match self {
            Driver::Engine(e) => {
                let acted = e
                    .perform(task, user, ActionRequest::new(ActionKind::Approve))
                    .await?;
                Ok(open_of_acted(acted))
            }
            Driver::Http(h) => {
                let path = format!("/tasks/{task}/actions");
                let view = h.post(user, &path, json!({"action": "approve"})).await?;
                Ok(open_of_json(view))
            }
        }
    }

    /// Reads the first page (50) of `user`'s inbox.
    pub async fn inbox(&self, user: &str) -> anyhow::Result<()> {
        match self {
            Driver::Engine(e) => {
                let query = TaskQuery {
                    user: user.into(),
                    limit: Some(50),
                    ..TaskQuery::default()
                };
                e.tasks(&query).await?;
            }
            Driver::Http(h) => {
                h.get(user, "/tasks?limit=50").await?;
            }
        }
        Ok(())
    }

    /// Stops the servers and their engines.
    pub async fn stop(self) {
        if let Driver::Http(h) = self {
            for stop in h.stops {
                let _ = stop.send(());
            }
            for engine in h.extra {
                engine.shutdown().await;
            }
        }
    }
}

impl Http {
    /// `servers` servers: the first on `engine`, the others on engines of their own
    /// opened on `options`' database.
    pub async fn start(
        engine: &Engine,
        servers: usize,
        options: impl Fn() -> EngineOptions,
    ) -> anyhow::Result<Http> {
        let mut engines = vec![engine.clone()];
        let mut extra = Vec::new();
        for _ in 1..servers.max(1) {
            let other = Engine::open(options()).await?;
            engines.push(other.clone());
            extra.push(other);
        }
        let (mut bases, mut stops) = (Vec::new(), Vec::new());
        for engine in engines {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let base = format!("http://{}", listener.local_addr()?);
            let state = server::state(engine, AuthMode::Password, "", &base).await?;
            let (stop, stopped) = oneshot::channel::<()>();
            tokio::spawn(server::run_on(listener, server::router(state), async {
                let _ = stopped.await;
            }));
            bases.push(base);
            stops.push(stop);
        }
        let http = Http {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()?,
            bases,
            next: AtomicUsize::new(0),
            accounts: engine.accounts(),
            tokens: Mutex::default(),
            extra,
            stops,
        };
        // Every user's token is made and used once before the clock runs: a token's first
        // use notes the time, a write the waves should not wait behind.
        for user in &engine.directory().users {
            http.get(&user.id.value, "/tasks?limit=1").await?;
        }
        Ok(http)
    }

    /// The next server, in turn.
    fn base(&self) -> &str {
        &self.bases[self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len()]
    }

    async fn token(&self, user: &str) -> anyhow::Result<String> {
        let mut tokens = self.tokens.lock().await;
        if let Some(token) = tokens.get(user) {
            return Ok(token.clone());
        }
        let (_, secret) = self.accounts.create_token(user, "bench").await?;
        tokens.insert(user.to_string(), secret.clone());
        Ok(secret)
    }

    async fn post(&self, user: &str, path: &str, body: Value) -> anyhow::Result<ViewJson> {
        let url = format!("{}/api/v1{path}", self.base());
        let response = self
            .client
            .post(url)
            .bearer_auth(self.token(user).await?)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "POST {path} as {user}: {status} {}",
            response.text().await.unwrap_or_default()
        );
        let view: ViewJson = response.json().await?;
        anyhow::ensure!(view.id > 0, "POST {path}: no request in the answer");
        Ok(view)
    }

    async fn get(&self, user: &str, path: &str) -> anyhow::Result<()> {
        let url = format!("{}/api/v1{path}", self.base());
        let response = self
            .client
            .get(url)
            .bearer_auth(self.token(user).await?)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.bytes().await?;
        Ok(())
    }
}
