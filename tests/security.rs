//! Attacks on the real `signoff serve` binary, each as an ordinary signed-in user (or
//! nobody) would try it: the server must survive, refuse, and keep serving everyone else.
//! One test per attack of the security review (issue 10), numbered as there.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use signoff_tests::{
    claim, copy_dir, eventually, free_port, hidden_csrf, processes_dir, scratch_dir,
    signoff_binary, storage_test, Db,
};

const WAIT: Duration = Duration::from_secs(30);

/// A `signoff serve` process on a scratch database and a copy of `processes/`.
struct Server {
    child: Child,
    base: String,
    port: u16,
    processes: PathBuf,
}

impl Server {
    async fn start(db: &Db, name: &str, extra: &[&str]) -> Server {
        let dir = scratch_dir(&format!("security-{name}"));
        let url = db.fresh(&dir, name).await;
        let processes = dir.join("processes");
        copy_dir(&processes_dir(), &processes);
        let port = free_port();
        let child = Command::new(signoff_binary())
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--db", &url])
            .args(["--processes", &processes.display().to_string()])
            .args(["--smtp", &format!("file://{}", dir.join("mail").display())])
            .args(extra)
            .env("SIGNOFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting signoff serve");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            processes,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let url = self.url("/healthz");
        eventually("the server to answer /healthz", WAIT, || {
            let url = url.clone();
            async move {
                let response = reqwest::get(&url).await.ok()?;
                (response.status() == 200).then_some(())
            }
        })
        .await;
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Resident memory in MiB, from /proc.
    fn rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    }

    /// Signs in through the login form; the client and the CSRF token of its session.
    async fn sign_in(&self, user: &str) -> (Client, String) {
        signoff_tests::sign_in(&self.base, user).await
    }

    /// An API call with HTTP Basic and the demo password.
    async fn api(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let client = Client::new();
        let url = self.url(&format!("/api/v1{path}"));
        let request = match method {
            "GET" => client.get(url),
            _ => client.post(url),
        };
        let request = request.basic_auth(user, Some("signoff"));
        let request = match body {
            Some(b) => request.json(&b),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// li.na's claim, started through the API: its id and the first task's id.
    async fn claim_with_task(&self) -> (i64, i64) {
        let (status, view) = self
            .api(
                "li.na",
                "POST",
                "/instances",
                Some(json!({"process": "reimbursement", "form": claim(&[100.0])})),
            )
            .await;
        assert_eq!(status, 201, "{view}");
        (
            view["id"].as_i64().unwrap(),
            view["tasks"][0]["id"].as_i64().unwrap(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

/// The value a response sets for cookie `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_string()
}

fn reimbursement() -> String {
    std::fs::read_to_string(processes_dir().join("reimbursement.yaml")).unwrap()
}

/// The reimbursement definition with its director-tier guard replaced by `guard`.
fn with_guard(guard: &str) -> String {
    let text = reimbursement();
    let from = "when: form.total > vars.director_tier";
    assert!(text.contains(from));
    text.replacen(from, &format!("when: \"{guard}\""), 1)
}

async fn post_yaml(
    server: &Server,
    client: &Client,
    csrf: &str,
    path: &str,
    yaml: &str,
) -> (StatusCode, String) {
    let response = client
        .post(server.url(path))
        .form(&[("csrf", csrf), ("yaml", yaml)])
        .send()
        .await
        .unwrap();
    (response.status(), text(response).await)
}

storage_test! {
    /// 1. A long flat CEL chain once aborted the server while it was checked or run.
    async fn attack_1_a_huge_cel_expression_is_refused_and_the_server_lives(db) {
        let mut server = Server::start(&db, "cel-chain", &[]).await;
        let (owner, csrf) = server.sign_in("song.yi").await;
        for terms in [3_000, 5_000] {
            let chain = vec!["1"; terms].join("+") + " > 0";
            let yaml = with_guard(&chain);
            let (status, page) = post_yaml(
                &server,
                &owner,
                &csrf,
                "/processes/reimbursement/check",
                &yaml,
            )
            .await;
            assert_eq!(status, 200);
            assert!(page.contains("too costly"), "the checker names the problem");
            let (status, _) = post_yaml(
                &server,
                &owner,
                &csrf,
                "/processes/reimbursement/publish",
                &yaml,
            )
            .await;
            assert_eq!(status, 422, "and it cannot be published");
        }
        // Deep brackets, too.
        let deep = format!("{}1{} > 0", "(".repeat(500), ")".repeat(500));
        let (status, page) = post_yaml(
            &server,
            &owner,
            &csrf,
            "/processes/reimbursement/check",
            &with_guard(&deep),
        )
        .await;
        assert_eq!(status, 200);
        assert!(page.contains("too costly"));
        assert!(server.alive(), "the server survived");
        server.wait_healthy().await;
        let (status, _) = server
            .api(
                "li.na",
                "POST",
                "/instances",
                Some(json!({"process": "reimbursement", "form": claim(&[100.0])})),
            )
            .await;
        assert_eq!(status, 201, "and still takes requests");
    }
}

storage_test! {
    /// 2. Publishing `id: org` or `id: calendar` replaced the directory or the calendar.
    async fn attack_2_a_process_cannot_take_the_name_of_the_directory_or_the_calendar(db) {
        let server = Server::start(&db, "reserved", &[]).await;
        let (admin, csrf) = server.sign_in("tang.jie").await;
        let org_before = std::fs::read_to_string(server.processes.join("org.yaml")).unwrap();
        for reserved in ["org", "calendar", "templates", "schema"] {
            let yaml = reimbursement().replacen("id: reimbursement", &format!("id: {reserved}"), 1);
            let (status, page) = post_yaml(
                &server,
                &admin,
                &csrf,
                "/processes/reimbursement/publish",
                &yaml,
            )
            .await;
            assert_eq!(status, 422, "{reserved}");
            assert!(
                page.contains("is reserved"),
                "{reserved}: the reason is shown"
            );
        }
        assert_eq!(
            std::fs::read_to_string(server.processes.join("org.yaml")).unwrap(),
            org_before
        );
        assert!(!server.processes.join("calendar.yaml.publishing").exists());
    }
}

storage_test! {
    /// 3. Anyone could create a process by naming themselves its owner.
    async fn attack_3_only_a_process_administrator_creates_processes(db) {
        let server = Server::start(&db, "create", &[]).await;
        let phishing = reimbursement()
            .replacen("id: reimbursement", "id: phishing", 1)
            .replacen(
                "owner: { role: service_mgmt }",
                "owner: { user: ma.chao }",
                1,
            );
        let (user, csrf) = server.sign_in("ma.chao").await;
        let (status, _) = post_yaml(
            &server,
            &user,
            &csrf,
            "/processes/phishing/publish",
            &phishing,
        )
        .await;
        assert_eq!(status, 403);
        assert!(!server.processes.join("phishing.yaml").exists());
        // The owner pages are for owners and administrators only, and say nothing to others.
        for path in ["/processes/reimbursement", "/processes/phishing"] {
            let status = user.get(server.url(path)).send().await.unwrap().status();
            assert_eq!(status, 404, "{path}");
        }
        let (status, _) = post_yaml(
            &server,
            &user,
            &csrf,
            "/processes/reimbursement/check",
            &reimbursement(),
        )
        .await;
        assert_eq!(status, 404);
        // An owner of another process cannot create one either.
        let (owner, owner_csrf) = server.sign_in("song.yi").await;
        let (status, _) = post_yaml(
            &server,
            &owner,
            &owner_csrf,
            "/processes/phishing/publish",
            &phishing,
        )
        .await;
        assert_eq!(status, 403);
        // A process administrator can.
        let (admin, admin_csrf) = server.sign_in("tang.jie").await;
        let (status, _) = post_yaml(
            &server,
            &admin,
            &admin_csrf,
            "/processes/phishing/publish",
            &phishing,
        )
        .await;
        assert_eq!(status, 303);
        assert!(server.processes.join("phishing.yaml").exists());
    }
}

storage_test! {
    /// 4. Nested comprehensions made one submission take 28 s inside the single writer.
    async fn attack_4_an_expensive_rule_is_refused_before_it_can_stall_the_writer(db) {
        let server = Server::start(&db, "expensive", &[]).await;
        let (owner, csrf) = server.sign_in("song.yi").await;
        let list = (0..400)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let cubic = format!("[{list}].all(a, [{list}].all(b, [{list}].all(c, a + b + c >= 0)))");
        let nested = "form.lines.all(a, form.lines.all(b, form.lines.all(c, a.amount + b.amount + c.amount >= 0)))";
        let over_data = "form.lines.all(a, form.lines.exists(b, a.amount == b.amount))";
        for rule in [cubic.as_str(), nested, over_data] {
            let (status, page) = post_yaml(
                &server,
                &owner,
                &csrf,
                "/processes/reimbursement/publish",
                &with_guard(rule),
            )
            .await;
            assert_eq!(status, 422, "{rule}");
            assert!(page.contains("too costly"), "{rule}");
        }
        // A rule within the bounds still works.
        let fine = "form.lines.exists(l, l.amount > 5000)";
        let (status, _) = post_yaml(
            &server,
            &owner,
            &csrf,
            "/processes/reimbursement/publish",
            &with_guard(fine),
        )
        .await;
        assert_eq!(status, 303);
        let (status, _) = server
            .api(
                "li.na",
                "POST",
                "/instances",
                Some(json!({"process": "reimbursement", "form": claim(&[100.0])})),
            )
            .await;
        assert_eq!(status, 201);
    }
}

storage_test! {
    /// 5a. Parallel wrong passwords were all checked, and the right one inside got in.
    async fn attack_5_a_password_burst_is_stopped_at_the_limit_and_costs_little_memory(db) {
        let mut server = Server::start(&db, "burst", &[]).await;
        let before = server.rss_mib();
        let client = Client::new();
        let url = server.url("/api/v1/tasks");
        let attempts = (0..300).map(|i| {
            let password = if i == 150 { "signoff" } else { "wrong-guess" };
            client
                .get(&url)
                .basic_auth("liu.qiang", Some(password))
                .send()
        });
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        for response in join_all(attempts).await {
            *statuses
                .entry(response.unwrap().status().as_u16())
                .or_default() += 1;
        }
        let checked =
            statuses.get(&401).copied().unwrap_or(0) + statuses.get(&200).copied().unwrap_or(0);
        assert!(
            checked <= 5,
            "at most five passwords were checked: {statuses:?}"
        );
        assert!(
            statuses.get(&429).copied().unwrap_or(0) >= 290,
            "{statuses:?}"
        );
        // The right password after the burst is locked out too.
        let response = client
            .get(&url)
            .basic_auth("liu.qiang", Some("signoff"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "too_many_attempts"
        );
        // A burst of unknown names from one address stops at the address's limit, and the
        // password checks running at once are bounded: memory stays small.
        let names = (0..300).map(|i| {
            client
                .get(&url)
                .basic_auth(format!("nobody{i}"), Some("x"))
                .send()
        });
        let mut locked = 0;
        for response in join_all(names).await {
            locked += usize::from(response.unwrap().status() == 429);
        }
        assert!(
            locked >= 270,
            "the address is locked after twenty attempts: {locked}"
        );
        let grown = server.rss_mib().saturating_sub(before);
        assert!(grown < 200, "resident memory grew {grown} MiB");
        assert!(server.alive());
        server.wait_healthy().await;
    }
}

storage_test! {
    /// 5b. API clients use personal tokens instead of paying for a password check per call.
    async fn attack_5_personal_api_tokens_work_until_revoked(db) {
        let server = Server::start(&db, "tokens", &[]).await;
        let (client, csrf) = server.sign_in("liu.qiang").await;
        let response = client
            .post(server.url("/settings/tokens"))
            .form(&[("csrf", csrf.as_str()), ("name", "nightly report")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let page = text(response).await;
        let secret = page
            .split("<code id=\"new-token\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the new token is shown once")
            .to_string();
        assert!(secret.starts_with("sot_"));
        let call = |token: String| {
            let url = server.url("/api/v1/tasks");
            async move {
                Client::new()
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(call(secret.clone()).await, 200);
        assert_eq!(call(format!("{secret}x")).await, 401, "a wrong token");
        let listing = text(client.get(server.url("/settings")).send().await.unwrap()).await;
        assert!(listing.contains("nightly report"));
        assert!(
            !listing.contains(&secret),
            "the secret is never shown again"
        );
        let id = listing
            .split("/settings/tokens/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("a revoke form")
            .to_string();
        let response = client
            .post(server.url(&format!("/settings/tokens/{id}/revoke")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(call(secret).await, 401, "a revoked token");
    }
}

storage_test! {
    /// 6. An approver delegated the task to the submitter, who approved her own claim.
    async fn attack_6_a_task_is_never_handed_to_the_requests_submitter(db) {
        let server = Server::start(&db, "own-request", &[]).await;
        let (_, task) = server.claim_with_task().await;
        for action in ["delegate", "transfer", "add_signer"] {
            let (status, body) = server
                .api(
                    "liu.qiang",
                    "POST",
                    &format!("/tasks/{task}/actions"),
                    Some(json!({"action": action, "to": "li.na"})),
                )
                .await;
            assert_eq!(status, 422, "{action}: {body}");
            assert!(
                body["fields"]["to"]
                    .as_str()
                    .unwrap()
                    .contains("may not decide this request"),
                "{body}"
            );
        }
        let (status, _) = server
            .api(
                "li.na",
                "POST",
                &format!("/tasks/{task}/actions"),
                Some(json!({"action": "approve"})),
            )
            .await;
        assert_eq!(status, 403, "and she cannot act on it");
    }
}

storage_test! {
    /// 7. `next` sent people off-site, and a newline in it gave a 500.
    async fn attack_7_redirects_stay_on_the_site(db) {
        let server = Server::start(&db, "redirect", &[]).await;
        let client = browser();
        for next in [
            "/%09/evil.example",
            "//evil.example",
            "/%5Cevil.example",
            "https://evil.example",
            "/%0d%0aSet-Cookie:x=1",
        ] {
            let response = client
                .get(server.url(&format!("/lang/en?next={next}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 303, "{next}");
            assert_eq!(response.headers()["location"], "/inbox", "{next}");
        }
        let login = text(client.get(server.url("/login")).send().await.unwrap()).await;
        let response = client
            .post(server.url("/login"))
            .form(&[
                ("user", "li.na"),
                ("password", "signoff"),
                ("csrf", hidden_csrf(&login).as_str()),
                ("next", "/inbox\r\nX-Evil: 1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], "/inbox");
    }
}

storage_test! {
    /// 8a. 403 against 404 told which requests exist, and named their people.
    async fn attack_8_requests_one_may_not_see_look_like_missing_ones(db) {
        let server = Server::start(&db, "exists", &[]).await;
        let (id, task) = server.claim_with_task().await;
        let (hidden, hidden_body) = server
            .api("ma.chao", "GET", &format!("/instances/{id}"), None)
            .await;
        let (missing, missing_body) = server
            .api("ma.chao", "GET", "/instances/999999", None)
            .await;
        assert_eq!(
            (hidden, missing),
            (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
        );
        assert_eq!(hidden_body["error"], missing_body["error"]);
        let (status, body) = server
            .api(
                "ma.chao",
                "POST",
                &format!("/tasks/{task}/actions"),
                Some(json!({"action": "approve"})),
            )
            .await;
        assert_eq!(status, 404);
        for body in [hidden_body, body] {
            let said = body.to_string();
            assert!(
                !said.contains("li.na") && !said.contains("liu.qiang"),
                "{said}"
            );
        }
        let (page_client, _) = server.sign_in("ma.chao").await;
        for path in [
            format!("/requests/{id}"),
            format!("/tasks/{task}"),
            "/requests/999999".into(),
        ] {
            assert_eq!(
                page_client
                    .get(server.url(&path))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                404,
                "{path}"
            );
        }
    }
}

storage_test! {
    /// 8b. The CSRF token was any 64-character cookie value.
    async fn attack_8_the_csrf_token_is_bound_to_the_session(db) {
        let server = Server::start(&db, "csrf", &[]).await;
        let (_, task) = server.claim_with_task().await;
        let (manager, manager_csrf) = server.sign_in("liu.qiang").await;
        let (_, other_csrf) = server.sign_in("li.na").await;
        let act = |token: String| {
            let request = manager
                .post(server.url(&format!("/tasks/{task}/act")))
                .form(&[
                    ("csrf", token.as_str()),
                    ("action", "comment"),
                    ("comment", "x"),
                ]);
            async move { request.send().await.unwrap().status() }
        };
        assert_eq!(act(other_csrf).await, 403, "another session's token");
        assert_eq!(act("a".repeat(64)).await, 403, "a made-up token");
        // Neither a token planted as a cookie nor the one from before sign-in is accepted.
        let bare = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let login = bare.get(server.url("/login")).send().await.unwrap();
        let before = set_cookie(&login, "signoff_csrf");
        assert_eq!(hidden_csrf(&text(login).await), before);
        let signed_in = bare
            .post(server.url("/login"))
            .header("cookie", format!("signoff_csrf={before}"))
            .form(&[
                ("user", "liu.qiang"),
                ("password", "signoff"),
                ("csrf", before.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let session = set_cookie(&signed_in, "signoff_session");
        assert!(!session.is_empty());
        for token in [before, "b".repeat(64)] {
            let response = bare
                .post(server.url(&format!("/tasks/{task}/act")))
                .header(
                    "cookie",
                    format!("signoff_session={session}; signoff_csrf={token}"),
                )
                .form(&[
                    ("csrf", token.as_str()),
                    ("action", "comment"),
                    ("comment", "x"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{token}");
        }
        assert_eq!(
            act(manager_csrf).await,
            303,
            "the session's own token works"
        );
    }
}

storage_test! {
    /// 8c. Security headers, metrics only where asked, no text from the URL on a page,
    /// comment and header-time limits.
    async fn attack_8_headers_metrics_notices_and_limits(db) {
        let metrics_port = free_port();
        let metrics = format!("127.0.0.1:{metrics_port}");
        let server = Server::start(&db,
            "smaller",
            &["--metrics-listen", &metrics, "--header-timeout", "1"],
        )
        .await;
        let (client, csrf) = server.sign_in("liu.qiang").await;
        let response = client
            .get(server.url("/inbox?notice=CALL%20555-0100%20NOW"))
            .send()
            .await
            .unwrap();
        for (name, value) in [
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "same-origin"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(response.headers()[name], value, "{name}");
        }
        assert!(response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert!(
            !text(response).await.contains("555-0100"),
            "no free text from the URL"
        );

        assert_eq!(
            reqwest::get(server.url("/metrics")).await.unwrap().status(),
            404
        );
        let scraped = reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .unwrap();
        assert_eq!(scraped.status(), 200);
        assert!(text(scraped).await.contains("signoff_open_tasks"));

        let (_, task) = server.claim_with_task().await;
        let long = "a".repeat(1_000_000);
        let response = client
            .post(server.url(&format!("/tasks/{task}/act")))
            .form(&[
                ("csrf", csrf.as_str()),
                ("action", "comment"),
                ("comment", long.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "a 1 MB comment is refused");
        assert!(
            text(response).await.contains("最多 2000 个字符"),
            "in the reader's language"
        );
        let (status, body) = server
            .api(
                "liu.qiang",
                "POST",
                &format!("/tasks/{task}/actions"),
                Some(json!({"action": "comment", "comment": "长".repeat(5_000)})),
            )
            .await;
        assert_eq!(status, 422);
        assert!(
            body["fields"]["comment"]
                .as_str()
                .unwrap()
                .contains("at most 2000"),
            "{body}"
        );

        // A client that never finishes its headers is cut off.
        let mut slow = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        slow.set_read_timeout(Some(WAIT)).unwrap();
        let mut rest = Vec::new();
        let _ = slow.read_to_end(&mut rest);
        let answer = String::from_utf8_lossy(&rest);
        assert!(
            !answer.contains("200 OK"),
            "closed without an answer: {answer}"
        );
    }
}

storage_test! {
    /// 8d. Basic answered an unknown name 50 times faster than a known one.
    async fn attack_8_an_unknown_name_costs_what_a_known_one_does(db) {
        let server = Server::start(&db, "timing", &[]).await;
        let time = |user: String| {
            let url = server.url("/api/v1/tasks");
            async move {
                let started = std::time::Instant::now();
                let status = Client::new()
                    .get(url)
                    .basic_auth(user, Some("wrong"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 401);
                started.elapsed()
            }
        };
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for i in 0..3 {
            known.push(time(["li.na", "liu.qiang", "ma.chao"][i].to_string()).await);
            unknown.push(time(format!("nobody.{i}")).await);
        }
        known.sort();
        unknown.sort();
        assert!(
            unknown[1] * 4 > known[1],
            "median unknown {:?} against known {:?}: both check a hash",
            unknown[1],
            known[1]
        );
    }
}

storage_test! {
    /// 8e. Definition checks ran on the async workers without a bound.
    async fn attack_8_definition_checks_are_bounded(db) {
        let mut server = Server::start(&db, "checks", &[]).await;
        let (owner, csrf) = server.sign_in("song.yi").await;
        // Many merge keys: slow to check, and all sent at once.
        let mut yaml = String::from("base: &b {a: 1, b: 2, c: 3}\n");
        for i in 0..1_500 {
            yaml.push_str(&format!("k{i}: {{<<: *b, d: {i}}}\n"));
        }
        let checks = (0..12).map(|_| {
            owner
                .post(server.url("/processes/reimbursement/check"))
                .form(&[("csrf", csrf.as_str()), ("yaml", yaml.as_str())])
                .send()
        });
        let mut statuses = BTreeMap::new();
        for response in join_all(checks).await {
            *statuses
                .entry(response.unwrap().status().as_u16())
                .or_insert(0) += 1;
        }
        assert!(
            statuses.keys().all(|s| *s == 200 || *s == 503),
            "{statuses:?}"
        );
        assert!(server.alive());
        server.wait_healthy().await;
    }
}
