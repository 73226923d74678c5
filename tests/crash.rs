//! Crash safety: the real `signoff serve` binary, driven by eight API clients at once
//! (submit, approve, return, withdraw), killed with SIGKILL at varied moments (after a
//! pseudo-random number of acknowledged calls) and
//! restarted on the same database. Afterwards, what the clients were told stands: every
//! acknowledged request and action is in the history exactly once, every request's state
//! agrees with its tasks, and every committed mail reaches the SMTP server.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use signoff_engine::notify::{MailQuery, MailStatus};
use signoff_engine::runtime::{
    Engine, HistoryAction, InstanceId, InstanceStatus, TaskId, TaskKind,
};
use signoff_tests::{
    claim, copy_dir, eventually, free_port, processes_dir, scratch_dir, sign_in, signoff_binary,
    storage_test, SmtpServer,
};

const KILLS: usize = 5;
const WAIT: Duration = Duration::from_secs(60);

/// A `signoff serve` process that can be killed and started again on its database.
struct Serve {
    child: Option<Child>,
    args: Vec<String>,
    base: String,
}

impl Serve {
    async fn start(db: &str, processes: &std::path::Path, smtp: &str) -> Serve {
        let port = free_port();
        let args = [
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            db,
            "--processes",
            &processes.display().to_string(),
            "--smtp",
            smtp,
            "--timer-interval",
            "1",
        ]
        .map(str::to_string)
        .to_vec();
        let mut serve = Serve {
            child: None,
            args,
            base: format!("http://127.0.0.1:{port}"),
        };
        serve.spawn().await;
        serve
    }

    async fn spawn(&mut self) {
        let child = Command::new(signoff_binary())
            .args(&self.args)
            .env("SIGNOFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting signoff serve");
        self.child = Some(child);
        let url = format!("{}/healthz", self.base);
        eventually("the server to answer /healthz", WAIT, || {
            let url = url.clone();
            async move {
                let response = reqwest::get(&url).await.ok()?;
                (response.status() == 200).then_some(())
            }
        })
        .await;
    }

    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the server acknowledged (a 2xx answer) to the clients.
#[derive(Default)]
struct Acknowledged {
    started: Vec<i64>,
    /// (task, instance, action)
    acted: Vec<(i64, i64, HistoryAction)>,
    withdrawn: Vec<i64>,
}

/// A client's role.
#[derive(Clone, Copy)]
enum Role {
    Submit,
    Approve,
    Return,
    Withdraw,
}

struct Clients {
    base: String,
    http: Client,
    li_na: String,
    liu_qiang: String,
    ack: Mutex<Acknowledged>,
    stop: AtomicBool,
    /// Bumped each time the server is up again, so clients cut off wait for it.
    up: tokio::sync::watch::Sender<u64>,
}

/// A personal API token for `user`, made through the settings page.
async fn token(base: &str, user: &str) -> String {
    let (client, csrf) = sign_in(base, user).await;
    let page = client
        .post(format!("{base}/settings/tokens"))
        .form(&[("csrf", csrf.as_str()), ("name", "crash test")])
        .send()
        .await
        .expect("a token")
        .text()
        .await
        .expect("the token page");
    page.split("<code id=\"new-token\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the new token is shown once")
        .to_string()
}

impl Clients {
    /// One call; its status and body, or `None` when the server did not answer (down).
    async fn call(
        &self,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> Option<(StatusCode, Value)> {
        let url = format!("{}/api/v1{path}", self.base);
        let request = match body {
            Some(b) => self.http.post(url).json(&b),
            None => self.http.get(url),
        };
        let response = request.bearer_auth(token).send().await.ok()?;
        let status = response.status();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn run(self: Arc<Self>, role: Role, seed: u64) {
        let mut n = seed;
        // Marks each restart it has not yet seen, so a cut-off call waits for the next.
        let mut up = self.up.subscribe();
        while !self.stop.load(Ordering::Relaxed) {
            n = n
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let answered = match role {
                Role::Submit => self.submit(n).await,
                Role::Approve => self.decide(n, "approve", HistoryAction::Approve).await,
                Role::Return => self.decide(n, "return", HistoryAction::Return).await,
                Role::Withdraw => self.withdraw(n).await,
            };
            if !answered {
                // The server is down: wait until it is up again (or the test ends).
                let _ = tokio::time::timeout(WAIT, up.changed()).await;
            }
        }
    }

    async fn submit(&self, n: u64) -> bool {
        let form = claim(&[50.0 + (n % 400) as f64]);
        let Some((status, view)) = self
            .call(
                &self.li_na,
                "/instances",
                Some(json!({"process": "reimbursement", "form": form})),
            )
            .await
        else {
            return false;
        };
        if status == StatusCode::CREATED {
            if let Some(id) = view["id"].as_i64() {
                self.ack.lock().unwrap().started.push(id);
            }
        }
        true
    }

    async fn decide(&self, n: u64, action: &str, kind: HistoryAction) -> bool {
        let Some((_, tasks)) = self.call(&self.liu_qiang, "/tasks?limit=50", None).await else {
            return false;
        };
        let open = tasks.as_array().cloned().unwrap_or_default();
        if open.is_empty() {
            return true;
        }
        let task = &open[(n as usize / 7) % open.len()];
        let (Some(id), Some(instance)) = (task["id"].as_i64(), task["instance"].as_i64()) else {
            return true;
        };
        let body = json!({"action": action, "comment": "crash test"});
        let Some((status, _)) = self
            .call(&self.liu_qiang, &format!("/tasks/{id}/actions"), Some(body))
            .await
        else {
            return false;
        };
        if status.is_success() {
            self.ack.lock().unwrap().acted.push((id, instance, kind));
        }
        true
    }

    async fn withdraw(&self, n: u64) -> bool {
        let candidate = {
            let ack = self.ack.lock().unwrap();
            if ack.started.is_empty() {
                None
            } else {
                Some(ack.started[(n as usize / 7) % ack.started.len()])
            }
        };
        let Some(id) = candidate else {
            tokio::task::yield_now().await;
            return true;
        };
        let Some((status, _)) = self
            .call(
                &self.li_na,
                &format!("/instances/{id}/withdraw"),
                Some(json!({})),
            )
            .await
        else {
            return false;
        };
        if status.is_success() {
            self.ack.lock().unwrap().withdrawn.push(id);
        }
        true
    }
}

impl Acknowledged {
    fn calls(&self) -> usize {
        self.started.len() + self.acted.len() + self.withdrawn.len()
    }
}

/// How many more acknowledged calls to let through before the next kill: 15 to 75, so
/// the kills fall at varied moments of the load (a pseudo-random count, not a pause).
fn calls_before_kill(round: usize) -> usize {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as usize);
    15 + (nanos.wrapping_add(round * 7919) % 61)
}

/// Waits until the clients have had `more` calls acknowledged since now.
async fn let_calls_through(clients: &Clients, round: usize) {
    let target = clients.ack.lock().unwrap().calls() + calls_before_kill(round);
    eventually("the clients get calls acknowledged", WAIT, || async {
        (clients.ack.lock().unwrap().calls() >= target).then_some(())
    })
    .await;
}

/// Every acknowledged call is in the history exactly once.
async fn check_acknowledged(engine: &Engine, ack: &Acknowledged) {
    for id in &ack.started {
        let view = engine
            .instance(InstanceId(*id))
            .await
            .expect("an acknowledged request");
        let submits = view
            .history
            .iter()
            .filter(|e| e.action == HistoryAction::Submit)
            .count();
        assert_eq!(submits, 1, "request {id} submitted once");
    }
    for (task, instance, action) in &ack.acted {
        let view = engine
            .instance(InstanceId(*instance))
            .await
            .expect("a request");
        let n = view
            .history
            .iter()
            .filter(|e| e.action == *action && e.task == Some(TaskId(*task)))
            .count();
        assert_eq!(
            n, 1,
            "{action:?} of task {task} on request {instance} recorded once"
        );
    }
    for id in &ack.withdrawn {
        let view = engine.instance(InstanceId(*id)).await.expect("a request");
        let n = view
            .history
            .iter()
            .filter(|e| e.action == HistoryAction::Withdraw)
            .count();
        assert_eq!(n, 1, "request {id} withdrawn once");
        assert_eq!(view.status, InstanceStatus::Withdrawn);
    }
}

/// Each request's state agrees with its tasks: a running request waits on someone, an
/// ended one on nobody.
async fn check_states(engine: &Engine, ids: &[i64]) {
    for id in ids {
        let view = engine.instance(InstanceId(*id)).await.expect("a request");
        match view.status {
            InstanceStatus::Running => {
                assert!(!view.tasks.is_empty(), "running request {id} has a task");
                for task in &view.tasks {
                    assert!(
                        task.kind == TaskKind::Resubmit || view.current_steps.contains(&task.step),
                        "request {id}: task at {} but steps {:?}",
                        task.step,
                        view.current_steps
                    );
                }
            }
            InstanceStatus::Completed | InstanceStatus::Withdrawn => {
                assert!(view.tasks.is_empty(), "ended request {id} has no open task");
                assert!(
                    view.current_steps.is_empty(),
                    "ended request {id} is at no step"
                );
            }
            other => panic!("request {id} is {other:?}"),
        }
    }
}

storage_test! {
    async fn sigkill_under_load_loses_no_acknowledged_call_and_no_mail(db) {
        let dir = scratch_dir("crash");
        let processes = dir.join("processes");
        copy_dir(&processes_dir(), &processes);
        let url = db.fresh(&dir, "crash").await;
        let smtp = SmtpServer::start("crash-smtp").await;
        let mut serve = Serve::start(&url, &processes, &smtp.url()).await;
        let clients = Arc::new(Clients {
            li_na: token(&serve.base, "li.na").await,
            liu_qiang: token(&serve.base, "liu.qiang").await,
            base: serve.base.clone(),
            http: Client::builder().timeout(Duration::from_secs(10)).build().unwrap(),
            ack: Mutex::default(),
            stop: AtomicBool::new(false),
            up: tokio::sync::watch::channel(0).0,
        });
        let roles = [
            Role::Submit, Role::Submit, Role::Submit, Role::Approve,
            Role::Approve, Role::Approve, Role::Return, Role::Withdraw,
        ];
        let running: Vec<_> = roles
            .iter()
            .enumerate()
            .map(|(i, role)| tokio::spawn(Arc::clone(&clients).run(*role, i as u64 + 1)))
            .collect();

        for round in 0..KILLS {
            let_calls_through(&clients, round).await;
            serve.kill();
            serve.spawn().await;
            clients.up.send_modify(|generation| *generation += 1);
        }
        let_calls_through(&clients, KILLS).await;
        clients.stop.store(true, Ordering::Relaxed);
        clients.up.send_modify(|generation| *generation += 1);
        for client in running {
            client.await.expect("a client ends");
        }
        let ack = std::mem::take(&mut *clients.ack.lock().unwrap());
        assert!(ack.started.len() >= 10, "the clients got work done: {}", ack.started.len());
        assert!(!ack.acted.is_empty(), "approvals and returns were acknowledged");

        // Read the database beside the running server, as an operator would.
        let options = signoff_engine::runtime::EngineOptions::new(url.as_str(), &processes);
        let engine = Engine::open(options).await.expect("the engine opens beside the server");
        check_acknowledged(&engine, &ack).await;
        let all: Vec<i64> = engine
            .requests(&signoff_engine::runtime::RequestQuery { limit: Some(5000), ..Default::default() })
            .await
            .unwrap()
            .iter()
            .map(|r| r.id.0)
            .collect();
        check_states(&engine, &all).await;

        // Every committed mail reaches the SMTP server at least once; count duplicates.
        let outbox = eventually("the restarted server sends every committed mail", WAIT, || async {
            let mail = engine
                .mail(&MailQuery { limit: Some(10_000), ..Default::default() })
                .await
                .ok()?;
            mail.iter().all(|m| m.status == MailStatus::Sent).then_some(mail)
        })
        .await;
        let received = eventually("the SMTP server holds every mail", WAIT, || async {
            let got = smtp.received();
            (got.len() >= outbox.len()).then_some(got)
        })
        .await;
        let mut copies: HashMap<String, usize> = HashMap::new();
        for m in &received {
            *copies.entry(m.message_id.clone()).or_default() += 1;
        }
        for m in &outbox {
            let id = m.message_id.trim_matches(['<', '>']);
            assert!(copies.contains_key(id), "mail {id} ({:?}) never arrived", m.kind);
        }
        let duplicates: usize = copies.values().map(|n| n - 1).sum();
        eprintln!(
            "crash test on {}: {} kills, {} requests and {} actions acknowledged, {} withdrawn, {} mails, {} sent twice",
            engine.backend().name(),
            KILLS,
            ack.started.len(),
            ack.acted.len(),
            ack.withdrawn.len(),
            outbox.len(),
            duplicates
        );
        engine.shutdown().await;
    }
}
