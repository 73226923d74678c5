//! The web server end to end over real HTTP: every API endpoint with its error statuses,
//! sign-in, CSRF, escaping, the HTML forms, the owner pages, health and metrics.

use reqwest::StatusCode;
use serde_json::{json, Value};
use signoff_engine::model::Event;
use signoff_engine::runtime::HistoryAction;
use signoff_tests::{claim, storage_test, Harness, Web};

fn api(web: &Web, path: &str) -> String {
    web.url(&format!("/api/v1{path}"))
}

async fn start_claim(web: &Web, user: &str, form: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(api(web, "/instances"))
        .basic_auth(user, Some("signoff"))
        .json(&json!({"process": "reimbursement", "form": form}))
        .send()
        .await
        .unwrap()
}

/// The text of the page at `url`, fetched with `client`'s session.
async fn page_text(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(web: &Web, user: Option<&str>, path: &str) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(api(web, path));
    if let Some(user) = user {
        request = request.basic_auth(user, Some("signoff"));
    }
    json_of(request.send().await.unwrap()).await
}

async fn act(web: &Web, user: &str, task: i64, body: Value) -> (StatusCode, Value) {
    json_of(
        reqwest::Client::new()
            .post(api(web, &format!("/tasks/{task}/actions")))
            .basic_auth(user, Some("signoff"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn my_task(web: &Web, user: &str) -> i64 {
    let (status, tasks) = get(web, Some(user), "/tasks").await;
    assert_eq!(status, 200);
    tasks[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{user} has no task: {tasks}"))
}

storage_test! {
    async fn processes_and_authentication(db) {
        let web = Web::start(&db, "web-processes").await;
        let (status, body) = get(&web, None, "/processes").await;
        assert_eq!(status, 401);
        assert_eq!(body["error"], "unauthorized");
        let response = reqwest::Client::new()
            .get(api(&web, "/processes"))
            .basic_auth("li.na", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));

        let (status, list) = get(&web, Some("li.na"), "/processes").await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        // The processes li.na, an account specialist, may start; the others name their
        // starters (service management's review, the technicians' report, marketing's plan).
        assert_eq!(ids, ["reimbursement", "staff_rotation"]);

        let (status, detail) = get(&web, Some("li.na"), "/processes/reimbursement").await;
        assert_eq!(status, 200);
        assert_eq!(detail["version"], 1);
        assert_eq!(detail["versions"][0]["latest"], true);
        assert_eq!(detail["definition"]["id"], "reimbursement");
        let (status, body) = get(&web, Some("li.na"), "/processes/nope").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );

        let (status, doc) = get(&web, None, "/openapi.json").await;
        assert_eq!(status, 200);
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        for path in [
            "/api/v1/processes",
            "/api/v1/processes/{id}",
            "/api/v1/instances",
            "/api/v1/instances/{id}",
            "/api/v1/instances/{id}/withdraw",
            "/api/v1/tasks",
            "/api/v1/tasks/{id}/actions",
            "/api/v1/tasks/approve",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is documented");
        }
        assert!(
            doc["paths"]["/api/v1/tasks/{id}/actions"]["post"]["responses"]
                .get("409")
                .is_some()
        );
    }
}

storage_test! {
    async fn starting_a_request_names_every_bad_field(db) {
        let web = Web::start(&db, "web-start").await;
        let (status, created) = json_of(start_claim(&web, "li.na", claim(&[300.0, 200.0])).await).await;
        assert_eq!(status, 201);
        assert_eq!(created["status"], "running");
        assert_eq!(created["form"]["total"].as_f64(), Some(500.0));

        let mut bad = claim(&[-5.0]);
        bad["purpose"] = json!("");
        bad["region"] = json!("mars");
        let (status, body) = json_of(start_claim(&web, "li.na", bad).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"], "invalid");
        for field in ["form.purpose", "form.region", "form.lines[0].amount"] {
            assert!(
                body["fields"].get(field).is_some(),
                "{field} named in {body}"
            );
        }

        let response = reqwest::Client::new()
            .post(api(&web, "/instances"))
            .basic_auth("li.na", Some("signoff"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request"))
        );

        let (status, body) = json_of(
            reqwest::Client::new()
                .post(api(&web, "/instances"))
                .basic_auth("li.na", Some("signoff"))
                .json(&json!({"form": {}}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 422);
        assert!(body["fields"].get("process").is_some(), "{body}");

        let (status, _) = json_of(
            reqwest::Client::new()
                .post(api(&web, "/instances"))
                .basic_auth("li.na", Some("signoff"))
                .json(&json!({"process": "nope", "form": {}}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 404);
    }
}

storage_test! {
    async fn tasks_actions_and_their_errors(db) {
        let web = Web::start(&db, "web-act").await;
        let (_, created) = json_of(start_claim(&web, "li.na", claim(&[100.0])).await).await;
        let id = created["id"].as_i64().unwrap();

        // A request one may not see is answered like one that does not exist.
        let (status, body) = get(&web, Some("ma.chao"), &format!("/instances/{id}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        assert!(!body.to_string().contains("li.na"), "{body}");
        let (status, _) = get(&web, Some("li.na"), "/instances/999").await;
        assert_eq!(status, 404);
        let (status, view) = get(&web, Some("liu.qiang"), &format!("/instances/{id}")).await;
        assert_eq!(status, 200, "the assignee may see it");
        assert_eq!(view["history"][0]["action"], "submit");

        let task = my_task(&web, "liu.qiang").await;
        let (status, body) = act(&web, "ma.chao", task, json!({"action": "approve"})).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{body}"
        );
        assert!(
            !body.to_string().contains("liu.qiang"),
            "names nobody: {body}"
        );
        let (status, body) = act(
            &web,
            "liu.qiang",
            task,
            json!({"action": "aprove", "form": 3}),
        )
        .await;
        assert_eq!(status, 422);
        assert!(
            body["fields"].get("action").is_some() && body["fields"].get("form").is_some(),
            "{body}"
        );
        let (status, _) = act(&web, "liu.qiang", 999, json!({"action": "approve"})).await;
        assert_eq!(status, 404);
        let (status, body) = act(
            &web,
            "liu.qiang",
            task,
            json!({"action": "delegate", "to": "nobody"}),
        )
        .await;
        assert_eq!(status, 422);
        assert!(body["fields"].get("to").is_some(), "{body}");

        let (status, view) = act(
            &web,
            "liu.qiang",
            task,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["current_steps"], json!(["service_review"]));
        let (status, body) = act(&web, "liu.qiang", task, json!({"action": "approve"})).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::CONFLICT, Some("conflict")),
            "someone acted first"
        );

        // Withdraw: not by others; not after the first decision.
        let response = reqwest::Client::new()
            .post(api(&web, &format!("/instances/{id}/withdraw")))
            .basic_auth("liu.qiang", Some("signoff"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let response = reqwest::Client::new()
            .post(api(&web, &format!("/instances/{id}/withdraw")))
            .basic_auth("li.na", Some("signoff"))
            .json(&json!({"comment": "不报了"}))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::CONFLICT, Some("not_allowed")),
            "{body}"
        );

        let (_, fresh) = json_of(start_claim(&web, "li.na", claim(&[50.0])).await).await;
        let response = reqwest::Client::new()
            .post(api(&web, &format!("/instances/{}/withdraw", fresh["id"])))
            .basic_auth("li.na", Some("signoff"))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(response).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("withdrawn"))
        );
    }
}

storage_test! {
    async fn a_session_cookie_needs_the_csrf_token_to_change_anything(db) {
        let web = Web::start(&db, "web-csrf").await;
        let (client, csrf) = web.sign_in("li.na").await;
        // Reading with the cookie is fine.
        assert_eq!(
            client
                .get(api(&web, "/tasks"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        // Changing without the token is refused, via the API and via a page form.
        let body = json!({"process": "reimbursement", "form": claim(&[100.0])});
        let response = client
            .post(api(&web, "/instances"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let response = client
            .post(web.url("/requests/new/reimbursement"))
            .form(&[("purpose", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let response = client
            .post(web.url("/logout"))
            .form(&[("csrf", "0".repeat(64))])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "a wrong token is refused too");
        // With the token it works.
        let response = client
            .post(api(&web, "/instances"))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        // A login form without its token is refused.
        let response = Web::browser_like_client()
            .post(web.url("/login"))
            .form(&[("user", "li.na"), ("password", "signoff")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
    }
}

storage_test! {
    async fn a_script_in_a_form_field_is_escaped_on_every_page_and_in_the_mail(db) {
        let web = Web::start(&db, "web-xss").await;
        let script = "<script>alert('x')</script>";
        let mut form = claim(&[100.0]);
        form["purpose"] = json!(script);
        form["lines"][0]["description"] = json!(script);
        let (_, created) = json_of(start_claim(&web, "li.na", form).await).await;
        let id = created["id"].as_i64().unwrap();
        let task = my_task(&web, "liu.qiang").await;

        let (manager, _) = web.sign_in("liu.qiang").await;
        let (submitter, _) = web.sign_in("li.na").await;
        for (client, path) in [
            (&manager, "/inbox".to_string()),
            (&manager, format!("/tasks/{task}")),
            (&submitter, format!("/requests/{id}")),
            (&submitter, "/requests".to_string()),
        ] {
            let page = page_text(client, web.url(&path)).await;
            assert!(!page.contains(script), "{path} shows the script raw");
            if path != "/requests" {
                assert!(page.contains("&lt;script&gt;"), "{path} shows it escaped");
            }
        }
        // The mail queued for the manager: the HTML part escapes it, the text keeps it.
        let bodies = delivered_bodies(&web.h).await;
        assert!(!bodies.is_empty());
        assert!(bodies.iter().all(|(html, _)| !html.contains(script)));
        assert!(bodies
            .iter()
            .any(|(html, _)| html.contains("&lt;script&gt;")));
        assert!(
            bodies.iter().any(|(_, text)| text.contains(script)),
            "plain text keeps it as typed"
        );
    }
}

/// The HTML and text bodies of the queued mail, read through a folder transport.
async fn delivered_bodies(h: &Harness) -> Vec<(String, String)> {
    let dir = signoff_tests::scratch_dir("xss-mail");
    let sender = signoff_tests::quick_sender(&format!("file://{}", dir.display()));
    h.engine.deliver_mail(&sender).await.unwrap();
    std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|raw| {
            let m = mail_parser::MessageParser::default().parse(&raw)?;
            Some((m.body_html(0)?.to_string(), m.body_text(0)?.to_string()))
        })
        .collect()
}

storage_test! {
    async fn the_request_form_shows_each_error_beside_its_field_and_keeps_what_was_typed(db) {
        let web = Web::start(&db, "web-form").await;
        let (client, csrf) = web.sign_in("li.na").await;
        let page = page_text(&client, web.url("/requests/new/reimbursement")).await;
        assert!(
            page.contains("name=\"lines[0].amount\""),
            "a table row to fill in"
        );
        let response = client
            .post(web.url("/requests/new/reimbursement"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("region", "east"),
                ("purpose", ""),
                ("start_date", "2026-09-20"),
                ("end_date", "2026-09-22"),
                ("lines[0].category", "transport"),
                ("lines[0].date", "2026-09-20"),
                ("lines[0].amount", "12x"),
                ("lines[0].description", "高铁 typed"),
                ("receipts", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(
            page.contains("data-field=\"lines[0].amount\""),
            "the amount's error beside it"
        );
        assert!(
            page.contains("value=\"12x\""),
            "the bad amount is kept as typed"
        );
        assert!(
            page.contains("value=\"高铁 typed\""),
            "other values are kept"
        );
        // Fix the amount: now the engine's own check names the empty purpose.
        let response = client
            .post(web.url("/requests/new/reimbursement"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("region", "east"),
                ("purpose", ""),
                ("start_date", "2026-09-20"),
                ("end_date", "2026-09-22"),
                ("lines[0].category", "transport"),
                ("lines[0].date", "2026-09-20"),
                ("lines[0].amount", "120"),
                ("receipts", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(
            page.contains("data-field=\"purpose\""),
            "the purpose's error beside it"
        );
        // "Add a line" gives a second row without submitting.
        let response = client
            .post(web.url("/requests/new/reimbursement"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("_add_line", "lines"),
                ("lines[0].amount", "5"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        assert!(page.contains("name=\"lines[1].amount\""));
        assert!(
            web.h
                .engine
                .requests(&Default::default())
                .await
                .unwrap()
                .is_empty(),
            "nothing was started"
        );
    }
}

storage_test! {
    async fn a_trusted_proxy_header_signs_people_in(db) {
        let h = Harness::new(&db, "web-sso").await;
        let web = Web::start_with(
            h,
            signoff_web::server::AuthMode::TrustedHeader("x-remote-user".into()),
        )
        .await;
        let client = Web::browser_like_client();
        let response = client.get(web.url("/inbox")).send().await.unwrap();
        assert_eq!(response.status(), 303, "no header: to the login page");
        let page = client
            .get(web.url("/inbox"))
            .header("x-remote-user", "liu.qiang")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("刘强"));
        let response = client
            .get(web.url("/inbox"))
            .header("x-remote-user", "not.a.user")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "an unknown user is nobody");
    }
}

storage_test! {
    async fn owners_check_and_publish_definitions_others_may_not(db) {
        let dir = signoff_tests::processes_copy("web-owner-defs", &["reimbursement.yaml"]);
        let web = Web::start_with(
            Harness::with_processes(&db, "web-owner", dir.clone()).await,
            signoff_web::server::AuthMode::Password,
        )
        .await;
        let text = std::fs::read_to_string(dir.join("reimbursement.yaml")).unwrap();
        let owner = match &web
            .h
            .engine
            .registry()
            .latest("reimbursement")
            .unwrap()
            .1
            .owner
            .value
        {
            signoff_engine::model::Principal::User(u) => u.clone(),
            signoff_engine::model::Principal::Role(r) => {
                web.h.engine.directory().members(r)[0].id.value.clone()
            }
        };

        let (client, csrf) = web.sign_in(&owner).await;
        let broken = text.replacen("type: approval", "type: aproval", 1);
        let response = client
            .post(web.url("/processes/reimbursement/check"))
            .form(&[("csrf", csrf.as_str()), ("yaml", broken.as_str())])
            .send()
            .await
            .unwrap();
        let page = response.text().await.unwrap();
        let line = broken
            .lines()
            .position(|l| l.contains("type: aproval"))
            .unwrap()
            + 1;
        assert!(
            page.contains(&format!("{line}:")),
            "the problem is shown at line {line}"
        );
        assert!(page.contains("aproval"));

        let (stranger, stranger_csrf) = web.sign_in("ma.chao").await;
        let changed = text.replacen("name: { zh: 费用报销", "name: { zh: 费用报销（新）", 1);
        assert_ne!(changed, text, "the test changes the name");

        // Checking an edit shows what publishing it would change, and what becomes of
        // the running requests.
        web.h.engine.start("reimbursement", "li.na", signoff_tests::claim(&[100.0])).await.unwrap();
        let review = client
            .post(web.url("/processes/reimbursement/check"))
            .form(&[("csrf", csrf.as_str()), ("yaml", changed.as_str())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let diff = review.split("id=\"diff\"").nth(1).expect("a diff").split("</pre>").next().unwrap();
        assert!(diff.contains("class=\"add\">+ name: { zh: 费用报销（新）"), "{diff}");
        assert!(diff.contains("class=\"remove\">- name: { zh: 费用报销,"), "{diff}");
        assert_eq!(diff.matches("class=\"add\"").count(), 1, "only the changed line: {diff}");
        let running = review.split("id=\"running-note\">").nth(1).unwrap().split("</p>").next().unwrap();
        assert!(running.contains("v1 上 1 件") && running.contains("signoff migrate"), "{running}");
        let response = stranger
            .post(web.url("/processes/reimbursement/publish"))
            .form(&[("csrf", stranger_csrf.as_str()), ("yaml", changed.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);

        let response = client
            .post(web.url("/processes/reimbursement/publish"))
            .form(&[("csrf", csrf.as_str()), ("yaml", changed.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(
            web.h.engine.registry().latest("reimbursement").unwrap().0,
            2
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("reimbursement.yaml")).unwrap(),
            changed,
            "the folder has it too"
        );
        let page = page_text(&client, web.url("/processes/reimbursement")).await;
        assert!(page.contains("v2"));
    }
}

storage_test! {
    async fn health_and_metrics(db) {
        let web = Web::start(&db, "web-metrics").await;
        let (_, created) = json_of(start_claim(&web, "li.na", claim(&[100.0])).await).await;
        assert_eq!(created["status"], "running");
        let health = reqwest::get(web.url("/healthz")).await.unwrap();
        assert_eq!(health.status(), 200);
        let public = reqwest::get(web.url("/metrics")).await.unwrap();
        assert_eq!(public.status(), 404, "metrics are not on the public port");
        let metrics = reqwest::get(format!("{}/metrics", web.metrics_base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for line in [
            "signoff_open_tasks 1",
            "signoff_running_requests 1",
            "signoff_outbox_pending 1",
            "signoff_calendar_days_left ",
            "signoff_actions_total{action=\"start\",result=\"ok\"} 1",
            "signoff_http_requests_total{method=\"POST\",route=\"/api/v1/instances\",status=\"201\"} 1",
        ] {
            assert!(metrics.contains(line), "{line} in\n{metrics}");
        }
    }
}

storage_test! {
    async fn someone_copied_on_a_step_is_mailed_sees_it_in_the_inbox_and_may_read_it(db) {
        let dir = signoff_tests::processes_copy("web-cc-defs", &[]);
        let definition = signoff_tests::base_with(
            "    assignees: [manager]\n",
            "    assignees: [manager]\n    cc: [{ user: wang.fang }]\n",
        );
        std::fs::write(dir.join("expense.yaml"), definition).unwrap();
        let web = Web::start_with(
            Harness::with_processes(&db, "web-cc", dir).await,
            signoff_web::server::AuthMode::Password,
        )
        .await;
        let view = web
            .h
            .engine
            .start("expense", "li.na", json!({"amount": 50, "region": "east"}))
            .await
            .unwrap();
        let mail = web.h.engine.mail(&Default::default()).await.unwrap();
        assert!(
            mail.iter()
                .any(|m| m.kind == Event::Cc && m.recipient == "wang.fang"),
            "{mail:?}"
        );

        let (client, _) = web.sign_in("wang.fang").await;
        let inbox = page_text(&client, web.url("/inbox")).await;
        let copied = inbox.split("id=\"cc\"").nth(1).unwrap_or_default();
        assert!(
            copied.contains(&format!("/requests/{}", view.id)),
            "listed under 'copied to me'"
        );
        assert!(inbox.contains("id=\"cc-unread\">1 未读<"), "{inbox}");
        assert!(copied.contains("data-read=\"no\""), "{copied}");
        let page = client
            .get(web.url(&format!("/requests/{}", view.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "a watcher may read the request");
        // Opening it was reading it (已阅), once.
        let inbox = page_text(&client, web.url("/inbox")).await;
        let copied = inbox.split("id=\"cc\"").nth(1).unwrap_or_default();
        assert!(copied.contains("data-read=\"yes\""), "{copied}");
        assert!(!inbox.contains("cc-unread"), "nothing unread: {inbox}");
        assert!(!web.h.engine.mark_read(view.id, "wang.fang").await.unwrap(), "read already");
        // Only a person copied on it gets a mark.
        assert!(!web.h.engine.mark_read(view.id, "li.na").await.unwrap());
        assert_eq!(web.h.engine.unread_cc("li.na").await.unwrap(), 0);
    }
}

storage_test! {
    async fn a_non_assignee_cannot_act_from_the_task_page(db) {
        let web = Web::start(&db, "web-not-yours").await;
        let (_, created) = json_of(start_claim(&web, "li.na", claim(&[100.0])).await).await;
        assert_eq!(created["status"], "running");
        let task = my_task(&web, "liu.qiang").await;
        let (stranger, csrf) = web.sign_in("ma.chao").await;
        let page = stranger
            .get(web.url(&format!("/tasks/{task}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            page.status(),
            404,
            "not even to look, nor to learn it exists"
        );
        let response = stranger
            .post(web.url(&format!("/tasks/{task}/act")))
            .form(&[("csrf", csrf.as_str()), ("action", "approve")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        // The submitter may look, but not approve her own request's step.
        let (submitter, csrf) = web.sign_in("li.na").await;
        let page = page_text(&submitter, web.url(&format!("/tasks/{task}"))).await;
        assert!(
            !page.contains("id=\"act-form\""),
            "no action buttons for a viewer"
        );
        let response = submitter
            .post(web.url(&format!("/tasks/{task}/act")))
            .form(&[("csrf", csrf.as_str()), ("action", "approve")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(
            my_task(&web, "liu.qiang").await,
            task,
            "the task is still open"
        );
    }
}

storage_test! {
    async fn a_returned_request_is_resubmitted_from_its_prefilled_form(db) {
        let web = Web::start(&db, "web-resubmit").await;
        let (_, created) = json_of(start_claim(&web, "li.na", claim(&[100.0])).await).await;
        let id = created["id"].as_i64().unwrap();
        let task = my_task(&web, "liu.qiang").await;
        let (manager, csrf) = web.sign_in("liu.qiang").await;
        let response = manager
            .post(web.url(&format!("/tasks/{task}/act")))
            .form(&[
                ("csrf", csrf.as_str()),
                ("action", "return"),
                ("to_step", "submitter"),
                ("comment", "请补充事由"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "back to the inbox");
        assert!(response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/inbox?done=return&n="));
        // What the manager did shows under "done by me" as a return, not as "completed".
        let done = page_text(&manager, web.url("/done")).await;
        assert!(done.contains("returned\">退回</span>"), "{done}");

        let (submitter, csrf) = web.sign_in("li.na").await;
        let page = page_text(&submitter, web.url(&format!("/requests/{id}"))).await;
        let resubmit = my_task(&web, "li.na").await;
        assert!(
            page.contains(&format!("/tasks/{resubmit}")),
            "a link to resubmit"
        );
        let form = page_text(&submitter, web.url(&format!("/tasks/{resubmit}"))).await;
        assert!(form.contains("id=\"resubmit-form\""));
        assert!(
            form.contains("value=\"客户现场实施\""),
            "the form comes prefilled"
        );
        assert!(
            form.contains("name=\"lines[0].amount\" id=\"lines[0].amount\" value=\"100\""),
            "the amount as typed"
        );
        let response = submitter
            .post(web.url(&format!("/tasks/{resubmit}/act")))
            .form(&[
                ("csrf", csrf.as_str()),
                ("action", "resubmit"),
                ("region", "east"),
                ("purpose", "客户现场实施（补充发票）"),
                ("start_date", "2026-09-20"),
                ("end_date", "2026-09-22"),
                ("lines[0].category", "transport"),
                ("lines[0].date", "2026-09-20"),
                ("lines[0].amount", "100"),
                ("receipts", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let view = web
            .h
            .engine
            .instance(signoff_engine::runtime::InstanceId(id))
            .await
            .unwrap();
        assert_eq!(view.current_steps, vec!["manager_review"]);
        assert_eq!(view.form["purpose"], "客户现场实施（补充发票）");
        let resubmitted = view
            .history
            .iter()
            .find(|e| e.action == HistoryAction::Resubmit)
            .unwrap();
        assert!(
            resubmitted
                .changes
                .as_ref()
                .unwrap()
                .get("purpose")
                .is_some(),
            "the change is in the history"
        );
    }
}

storage_test! {
    async fn pages_speak_the_readers_language(db) {
        let web = Web::start(&db, "web-lang").await;
        let (english, _) = web.sign_in("huang.lei").await;
        let inbox = page_text(&english, web.url("/inbox")).await;
        assert!(inbox.contains("My open tasks"), "huang.lei's locale is en: {inbox}");
        let (chinese, _) = web.sign_in("li.na").await;
        let inbox = page_text(&chinese, web.url("/inbox")).await;
        assert!(inbox.contains("我的待办"));
        let switched = chinese
            .get(web.url("/lang/en?next=/inbox"))
            .send()
            .await
            .unwrap();
        assert_eq!(switched.status(), 303);
        let inbox = page_text(&chinese, web.url("/inbox")).await;
        assert!(inbox.contains("My open tasks"), "the switch is remembered");
    }
}

storage_test! {
    async fn five_wrong_passwords_lock_the_name_for_a_while(db) {
        let web = Web::start(&db, "web-throttle").await;
        for _ in 0..5 {
            let response = reqwest::Client::new()
                .get(api(&web, "/tasks"))
                .basic_auth("li.na", Some("guess"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401);
        }
        // Now even the right password is refused, over the API and on the login form.
        let (status, body) = get(&web, Some("li.na"), "/tasks").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts"))
        );
        let client = Web::browser_like_client();
        let page = page_text(&client, web.url("/login")).await;
        let csrf = signoff_tests::hidden_csrf(&page);
        let response = client
            .post(web.url("/login"))
            .form(&[
                ("user", "li.na"),
                ("password", "signoff"),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        // Other people are not affected.
        let (status, _) = get(&web, Some("liu.qiang"), "/tasks").await;
        assert_eq!(status, 200);
    }
}

storage_test! {
    async fn a_step_asks_for_its_input_in_the_browser_and_requires_it(db) {
        let web = Web::start(&db, "web-editable").await;
        let form = json!({"candidate": "lu.xin", "region": "call_center", "current_level": "p1", "target_level": "p2"});
        let view = web
            .h
            .engine
            .start("appointment_review", "song.yi", form)
            .await
            .unwrap();
        let task = my_task(&web, "lu.xin").await;
        let (client, csrf) = web.sign_in("lu.xin").await;
        let page = page_text(&client, web.url(&format!("/tasks/{task}"))).await;
        assert!(
            page.contains("name=\"form.self_assessment\""),
            "the input is on the page"
        );
        let post = |text: &'static str| {
            client
                .post(web.url(&format!("/tasks/{task}/act")))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("action", "complete"),
                    ("form.self_assessment", text),
                ])
                .send()
        };
        let refused = post("").await.unwrap();
        assert_eq!(refused.status(), 422);
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("此步骤须填写"),
            "beside the field, in Chinese"
        );
        let done = post("三年呼叫中心经验，带教两名新人。").await.unwrap();
        assert_eq!(done.status(), 303);
        let after = web.h.engine.instance(view.id).await.unwrap();
        assert_eq!(
            after.form["self_assessment"],
            "三年呼叫中心经验，带教两名新人。"
        );
        assert_eq!(after.current_steps, vec!["panel_scoring"]);
    }
}

storage_test! {
    async fn withdraw_is_offered_only_where_it_is_allowed_and_refusals_are_in_the_readers_language(db) {
        let web = Web::start(&db, "web-withdraw").await;
        let (_, created) = json_of(start_claim(&web, "li.na", claim(&[100.0])).await).await;
        let id = created["id"].as_i64().unwrap();
        let (client, csrf) = web.sign_in("li.na").await;
        let page = |client: reqwest::Client| {
            let url = web.url(&format!("/requests/{id}"));
            async move { page_text(&client, url).await }
        };
        assert!(page(client.clone()).await.contains("id=\"withdraw-form\""));
        let task = my_task(&web, "liu.qiang").await;
        let (status, _) = act(&web, "liu.qiang", task, json!({"action": "approve"})).await;
        assert_eq!(status, 200);
        assert!(
            !page(client.clone()).await.contains("id=\"withdraw-form\""),
            "not offered after the first decision"
        );
        let response = client
            .post(web.url(&format!("/requests/{id}/withdraw")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 409);
        let text = response.text().await.unwrap();
        assert!(
            text.contains("不能撤回：已经有人审批过"),
            "in Chinese for li.na"
        );
    }
}

storage_test! {
    async fn panel_scores_are_shown_in_the_history(db) {
        use signoff_engine::runtime::{ActionKind, ActionRequest};
        let web = Web::start(&db, "web-scores").await;
        let form = json!({"candidate": "lu.xin", "region": "call_center", "current_level": "p1", "target_level": "p2"});
        let id = web
            .h
            .engine
            .start("appointment_review", "song.yi", form)
            .await
            .unwrap()
            .id;
        let complete = || ActionRequest::new(ActionKind::Complete);
        web.h
            .act(
                id,
                "lu.xin",
                complete().form(json!({"self_assessment": "..."})),
            )
            .await;
        for (who, score) in [("zhao.min", 85), ("liu.qiang", 70), ("tang.jie", 75)] {
            web.h
                .act(
                    id,
                    who,
                    complete().inputs(json!({"score": score, "remarks": "表达清楚"})),
                )
                .await;
        }
        let (client, _) = web.sign_in("song.yi").await;
        let page = page_text(&client, web.url(&format!("/requests/{id}"))).await;
        for shown in [
            "答辩得分: 85",
            "答辩得分: 70",
            "答辩得分: 75",
            "评语: 表达清楚",
        ] {
            assert!(page.contains(shown), "{shown}");
        }
    }
}

storage_test! {
    async fn a_statement_names_its_sales_in_the_browser_and_both_pages_link_each_other(db) {
        let web = Web::start(&db, "web-links").await;
        let engine = &web.h.engine;
        let sale = engine
            .start(
                "sales_confirmation",
                "ma.chao",
                json!({"customer": "某集团", "customer_type": "monthly", "salesperson": "lin.feng",
                       "items": [{"item": "年度维保", "quantity": 1, "unit_price": 12000}], "invoice_date": "2026-10-12"}),
            )
            .await
            .unwrap()
            .id;
        for (user, form) in [
            ("lin.feng", None),
            ("qian.hao", None),
            ("wu.xia", Some(json!({"confirmation_no": "SC261012"}))),
        ] {
            let task = my_task(&web, user).await;
            let mut body = json!({"action": if form.is_some() { "complete" } else { "approve" }});
            if let Some(form) = form {
                body["form"] = form;
            }
            assert_eq!(act(&web, user, task, body).await.0, 200, "{user}");
        }
        let (client, csrf) = web.sign_in("wu.xia").await;
        let post = |number: String| {
            client
                .post(web.url("/requests/new/monthly_statement"))
                .form(&[
                    ("csrf", csrf.clone()),
                    ("customer", "某集团".into()),
                    ("month", "2026-10".into()),
                    ("sales[0].sale", number),
                    ("sales[0].amount", "12000".into()),
                ])
                .send()
        };
        let refused = post("#9999".into()).await.unwrap();
        assert_eq!(refused.status(), 422);
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("data-field=\"sales[0].sale\""),
            "the error is beside the line"
        );
        let created = post(format!("#{}", sale.0)).await.unwrap();
        assert_eq!(created.status(), 303);
        let statement = created.headers()["location"].to_str().unwrap().to_string();
        let page = page_text(&client, web.url(&statement)).await;
        assert!(
            page.contains(&format!("href=\"/requests/{}\"", sale.0)),
            "the statement links to its sale"
        );
        let page = page_text(&client, web.url(&format!("/requests/{}", sale.0))).await;
        let statement_id = statement
            .trim_start_matches("/requests/")
            .split('?')
            .next()
            .unwrap();
        assert!(
            page.contains(&format!("href=\"/requests/{statement_id}\"")),
            "and the sale to its statement"
        );
        assert!(page.contains("引用本申请"));
    }
}

storage_test! {
    async fn the_new_request_form_leaves_out_what_a_step_fills_in(db) {
        let web = Web::start(&db, "web-step-only").await;
        let (client, _) = web.sign_in("ma.chao").await;
        let page = |path: &'static str| {
            let client = client.clone();
            let url = web.url(path);
            async move { page_text(&client, url).await }
        };
        let sale = page("/requests/new/sales_confirmation").await;
        assert!(sale.contains("name=\"customer\""));
        assert!(
            !sale.contains("name=\"confirmation_no\""),
            "the coordinator registers it"
        );
        let report = page("/requests/new/onsite_report").await;
        assert!(report.contains("name=\"work_summary\""));
        assert!(
            !report.contains("name=\"customer_rating\""),
            "the customer rates at its step"
        );
    }
}

storage_test! {
    async fn the_inbox_pages_a_long_list_and_counts_all_of_it(db) {
        let web = Web::start(&db, "web-inbox-pages").await;
        for _ in 0..120 {
            web.h
                .engine
                .start("reimbursement", "li.na", claim(&[120.0]))
                .await
                .unwrap();
        }
        let (client, _) = web.sign_in("liu.qiang").await;
        let get = |path: String| {
            let client = client.clone();
            async move { page_text(&client, path).await }
        };
        let first = get(web.url("/inbox")).await;
        assert!(first.contains("id=\"task-count\">120<"), "the true total");
        assert_eq!(first.matches("<tr data-task=").count(), 100);
        assert!(first.contains("1–100 / 120"), "the pager says where we are");
        let next = next_link(&first);
        assert!(next.contains("after="), "a keyset cursor: {next}");
        let second = get(web.url(&next)).await;
        assert_eq!(second.matches("<tr data-task=").count(), 20);
        assert!(second.contains("101–120 / 120"));
        assert!(second.contains("rel=\"first\""));
        assert!(!second.contains("rel=\"next\""), "the last page");
        // Tasks arriving meanwhile do not shift the next page: it starts after the cursor.
        let first_ids: Vec<&str> = first.split("<tr data-task=\"").skip(1).filter_map(|r| r.split('"').next()).collect();
        let second_ids: Vec<&str> = second.split("<tr data-task=\"").skip(1).filter_map(|r| r.split('"').next()).collect();
        assert!(second_ids.iter().all(|id| !first_ids.contains(id)), "no task on both pages");
        let filtered = get(web.url("/inbox?process=reimbursement")).await;
        assert!(filtered.contains("1–100 / 120"));
        // A search pages too, and its pages keep it.
        let searched = get(web.url("/inbox?q=%E6%9D%8E%E5%A8%9C&sort=waiting")).await;
        assert!(searched.contains("1–100 / 120"), "the count of what it found");
        let next = next_link(&searched);
        assert!(
            next.starts_with("/inbox?process=&q=%E6%9D%8E%E5%A8%9C&sort=waiting&since=&until=&after="),
            "the next page keeps the search: {next}"
        );
        assert!(page_text(&client, web.url(&next)).await.contains("101–120 / 120"));

        // The API too: a page, the true total in `X-Total-Count`, the next page in `Link`.
        let api_page = |query: &'static str| {
            reqwest::Client::new()
                .get(api(&web, &format!("/tasks{query}")))
                .basic_auth("liu.qiang", Some("signoff"))
                .send()
        };
        let response = api_page("").await.unwrap();
        assert_eq!(response.headers()["x-total-count"], "120");
        let link = response.headers()["link"].to_str().unwrap().to_string();
        let (_, first) = json_of(response).await;
        assert_eq!(first.as_array().map(Vec::len), Some(100));
        assert!(link.starts_with("</api/v1/tasks?limit=100&after="), "{link}");
        assert!(
            link.ends_with(&format!("{}>; rel=\"next\"", first[99]["id"])),
            "the cursor ends with the page's last task: {link}"
        );
        let next = link.trim_start_matches("</api/v1").split('>').next().unwrap().to_string();
        let response = reqwest::Client::new()
            .get(api(&web, &format!("{next}&process=reimbursement")))
            .basic_auth("liu.qiang", Some("signoff"))
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("link").is_none(), "the last page");
        let (_, rest) = json_of(response).await;
        assert_eq!(rest.as_array().map(Vec::len), Some(20));
        assert_eq!(api_page("?limit=0").await.unwrap().status(), 400);
        assert_eq!(api_page("?after=not-a-cursor").await.unwrap().status(), 400);

        // The submitter's list pages too, newest first, with the true total.
        let (submitter, _) = web.sign_in("li.na").await;
        let mine = page_text(&submitter, web.url("/requests")).await;
        assert!(mine.contains("id=\"request-count\">120<"));
        assert_eq!(mine.matches("<tr data-request=").count(), 100);
        assert!(mine.contains("data-request=\"120\""), "the newest first");
        assert!(mine.contains("href=\"/requests?before=21\""), "{mine}");
        let older = page_text(&submitter, web.url("/requests?before=21")).await;
        assert_eq!(older.matches("<tr data-request=").count(), 20);
        assert!(older.contains("rel=\"first\""));
    }
}

storage_test! {
    async fn the_submitter_urges_from_the_request_page_once_a_working_day(db) {
        let web = Web::start(&db, "web-urge").await;
        let id = web
            .h
            .engine
            .start("reimbursement", "li.na", claim(&[120.0]))
            .await
            .unwrap()
            .id
            .0;
        let (client, csrf) = web.sign_in("li.na").await;
        let page = page_text(&client, web.url(&format!("/requests/{id}"))).await;
        assert!(
            page.contains("id=\"urge-form\""),
            "the submitter is offered to urge"
        );
        let urge = || {
            client
                .post(web.url(&format!("/requests/{id}/urge")))
                .form(&[("csrf", csrf.as_str())])
                .send()
        };
        let done = urge().await.unwrap();
        assert_eq!(done.status(), 303);
        let back = done.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(back, format!("/requests/{id}?done=urge&n={id}"));
        assert!(page_text(&client, web.url(&back))
            .await
            .contains("已催办当前处理人"));
        let again = urge().await.unwrap();
        assert_eq!(again.status(), 409);
        assert!(again.text().await.unwrap().contains("今天已经催办过"));
        let mail = web
            .h
            .engine
            .mail(&signoff_engine::notify::MailQuery {
                instance: Some(id),
                status: None,
                limit: Some(50),
            })
            .await
            .unwrap();
        assert_eq!(
            mail.iter().filter(|m| m.kind == Event::Urged).count(),
            1,
            "one urge, one mail"
        );
        let (manager, _) = web.sign_in("liu.qiang").await;
        let theirs = page_text(&manager, web.url(&format!("/requests/{id}"))).await;
        assert!(
            !theirs.contains("id=\"urge-form\""),
            "only the submitter urges"
        );
    }
}

storage_test! {
    async fn a_batch_approval_answers_for_each_task_and_one_refused_stops_none(db) {
        let web = Web::start(&db, "web-batch").await;
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (status, view) = json_of(start_claim(&web, "li.na", claim(&[300.0])).await).await;
            assert_eq!(status, 201, "{view}");
            tasks.push(view["tasks"][0]["id"].as_i64().unwrap());
        }
        // Someone else's task (zhang.wei's manager is chen.jing), an unknown one, and a
        // repeat.
        let (_, other) = json_of(start_claim(&web, "zhang.wei", claim(&[300.0])).await).await;
        let foreign = other["tasks"][0]["id"].as_i64().unwrap();
        let batch = |body: Value| {
            let web = &web;
            async move {
                json_of(
                    reqwest::Client::new()
                        .post(api(web, "/tasks/approve"))
                        .basic_auth("liu.qiang", Some("signoff"))
                        .json(&body)
                        .send()
                        .await
                        .unwrap(),
                )
                .await
            }
        };
        let (status, results) = batch(json!({
            "tasks": [tasks[0], tasks[1], foreign, 999_999, tasks[0]],
            "comment": "同意"
        }))
        .await;
        assert_eq!(status, 200, "{results}");
        let results = results.as_array().unwrap();
        assert_eq!(results.len(), 4, "a repeat is one task: {results:?}");
        let ok: Vec<i64> = results
            .iter()
            .filter(|r| r["ok"] == json!(true))
            .map(|r| r["task"].as_i64().unwrap())
            .collect();
        assert_eq!(ok, tasks);
        for r in results.iter().filter(|r| r["ok"] == json!(false)) {
            let code = r["error"]["error"].as_str().unwrap();
            assert!(["forbidden", "not_found"].contains(&code), "{r}");
        }
        for r in results.iter().filter(|r| r["ok"] == json!(true)) {
            assert_eq!(r["status"], json!("running"));
            let (_, view) = get(&web, Some("li.na"), &format!("/instances/{}", r["instance"])).await;
            let approvals: Vec<&Value> = view["history"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["action"] == json!("approve"))
                .collect();
            assert_eq!(approvals.len(), 1, "{view}");
            assert_eq!(approvals[0]["comment"], json!("同意"));
        }
        // Nothing, too many, or another action: refused as a whole, naming the field.
        let (status, error) = batch(json!({"tasks": []})).await;
        assert_eq!(status, 422, "{error}");
        assert!(error["fields"]["tasks"].is_string(), "{error}");
        let many: Vec<i64> = (1..=101).collect();
        let (status, _) = batch(json!({"tasks": many})).await;
        assert_eq!(status, 422);
        let (status, _) = batch(json!({"tasks": "1"})).await;
        assert_eq!(status, 422);
        // The inbox's form: nothing ticked is refused with the engine's words, in Chinese.
        let (client, csrf) = web.sign_in("liu.qiang").await;
        let response = client
            .post(web.url("/inbox/approve"))
            .form(&[("csrf", csrf.as_str()), ("comment", "同意")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(page.contains("请选择要同意的待办（1 到 100 项）"), "{page}");
    }
}

storage_test! {
    async fn done_by_me_lists_what_i_decided_newest_first_a_page_at_a_time(db) {
        let web = Web::start(&db, "web-done").await;
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (_, view) = json_of(start_claim(&web, "li.na", claim(&[300.0])).await).await;
            tasks.push(view["tasks"][0]["id"].as_i64().unwrap());
        }
        let (status, _) = act(&web, "liu.qiang", tasks[0], json!({"action": "approve"})).await;
        assert_eq!(status, 200);
        let (status, _) = act(&web, "liu.qiang", tasks[1], json!({"action": "reject", "comment": "超标"})).await;
        assert_eq!(status, 200);
        let (status, _) = act(&web, "liu.qiang", tasks[2], json!({"action": "approve"})).await;
        assert_eq!(status, 200);
        // Nobody else's decisions, and nothing for someone who decided nothing.
        let (_, none) = get(&web, Some("li.na"), "/tasks/done").await;
        assert_eq!(none, json!([]));
        let first = reqwest::Client::new()
            .get(api(&web, "/tasks/done?limit=2"))
            .basic_auth("liu.qiang", Some("signoff"))
            .send()
            .await
            .unwrap();
        assert_eq!(first.headers()["x-total-count"], "3");
        let next = first.headers()["link"].to_str().unwrap().to_string();
        let first: Value = first.json().await.unwrap();
        let ids: Vec<i64> = first.as_array().unwrap().iter().map(|d| d["task"]["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![tasks[2], tasks[1]], "newest first");
        assert_eq!(first[1]["decision"], json!("rejected"));
        assert!(next.contains(&format!("before={}", tasks[1])), "{next}");
        let (_, rest) = get(&web, Some("liu.qiang"), &format!("/tasks/done?before={}&limit=2", tasks[1])).await;
        assert_eq!(rest.as_array().unwrap().len(), 1);
        assert_eq!(rest[0]["task"]["id"].as_i64(), Some(tasks[0]));
        let (status, _) = get(&web, Some("liu.qiang"), "/tasks/done?limit=0").await;
        assert_eq!(status, 400);
        // The page: in the reader's language, each row with its decision.
        let (client, _) = web.sign_in("liu.qiang").await;
        let page = page_text(&client, web.url("/done")).await;
        assert!(page.contains("已办") && page.contains("id=\"done-count\">3<"), "{page}");
        assert!(page.contains("驳回") && page.contains("同意"), "{page}");
    }
}

storage_test! {
    async fn the_inbox_searches_the_form_number_people_process_and_step_and_sorts(db) {
        let web = Web::start(&db, "web-search").await;
        let mut ids = Vec::new();
        for purpose in ["客户现场实施", "新员工培训", "年会场地"] {
            let mut form = claim(&[300.0]);
            form["purpose"] = json!(purpose);
            let (status, view) = json_of(start_claim(&web, "li.na", form).await).await;
            assert_eq!(status, 201, "{view}");
            ids.push(view["id"].as_i64().unwrap());
        }
        let found = |q: &str| {
            let web = &web;
            let path = format!("/tasks?{}", serde_urlencoded_pair("q", q));
            async move {
                let (status, tasks) = get(web, Some("liu.qiang"), &path).await;
                assert_eq!(status, 200, "{tasks}");
                tasks
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["instance"].as_i64().unwrap())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(found("培训").await, vec![ids[1]], "a form value");
        assert_eq!(found(&format!("#{}", ids[2])).await, vec![ids[2]], "the number");
        assert_eq!(found("李娜").await.len(), 3, "the submitter's name");
        assert_eq!(found("直属上级").await.len(), 3, "the step's name");
        assert_eq!(found("费用报销").await.len(), 3, "the process's name");
        assert!(found("100%").await.is_empty(), "LIKE's wildcards are plain text");
        let (_, newest) = get(&web, Some("liu.qiang"), "/tasks?sort=submitted").await;
        let order: Vec<i64> = newest.as_array().unwrap().iter().map(|t| t["instance"].as_i64().unwrap()).collect();
        assert_eq!(order, vec![ids[2], ids[1], ids[0]]);
        let long = "长".repeat(101);
        let (status, _) = get(&web, Some("liu.qiang"), &format!("/tasks?{}", serde_urlencoded_pair("q", &long))).await;
        assert_eq!(status, 400);
        // The page: the search kept in the box, the count of what it found.
        let (client, _) = web.sign_in("liu.qiang").await;
        let page = page_text(&client, web.url("/inbox?q=%E5%9F%B9%E8%AE%AD&sort=waiting")).await;
        assert!(page.contains("value=\"培训\""), "the search stays in the box");
        assert_eq!(page.matches("<tr data-task=").count(), 1, "{page}");
        assert!(page.contains("<option value=\"waiting\" selected>"), "{page}");
    }
}

fn serde_urlencoded_pair(key: &str, value: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[(key, value)])
        .unwrap()
        .query()
        .unwrap_or_default()
        .to_string()
}

/// The pager's "next" link on an HTML page, as a path.
fn next_link(page: &str) -> String {
    let anchor = page.split("rel=\"next\"").next().unwrap_or_default();
    let href = anchor.rsplit("href=\"").next().unwrap_or_default();
    href.split('"')
        .next()
        .unwrap_or_default()
        .replace("&amp;", "&")
}

async fn post_api(web: &Web, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
    json_of(
        reqwest::Client::new()
            .post(api(web, path))
            .basic_auth(user, Some("signoff"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

storage_test! {
    async fn consult_take_back_jump_and_terminate_over_the_api_and_the_request_page(db) {
        let web = Web::start(&db, "web-more-actions").await;
        let (_, view) = json_of(start_claim(&web, "li.na", claim(&[300.0])).await).await;
        let id = view["id"].as_i64().unwrap();
        // Ask finance's opinion; the reply needs one.
        let manager = my_task(&web, "liu.qiang").await;
        let (status, body) = act(&web, "liu.qiang", manager, json!({"action": "consult", "to": "feng.yu"})).await;
        assert_eq!(status, 200, "{body}");
        let asked = my_task(&web, "feng.yu").await;
        let (status, body) = act(&web, "feng.yu", asked, json!({"action": "reply"})).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["fields"]["comment"].is_string(), "{body}");
        let (status, _) = act(&web, "feng.yu", asked, json!({"action": "reply", "comment": "可以"})).await;
        assert_eq!(status, 200);
        let (status, _) = act(&web, "liu.qiang", manager, json!({"action": "approve"})).await;
        assert_eq!(status, 200);

        // The manager takes it back from the request page (with the CSRF token only).
        let (client, csrf) = web.sign_in("liu.qiang").await;
        let page = page_text(&client, web.url(&format!("/requests/{id}"))).await;
        assert!(page.contains("id=\"take-back-form\""), "offered to the last approver");
        assert!(!page.contains("id=\"owner-actions\""), "he owns no process");
        let forged = client.post(web.url(&format!("/requests/{id}/take_back"))).form(&[("csrf", "forged")]).send().await.unwrap();
        assert_eq!(forged.status(), 403);
        let done = client.post(web.url(&format!("/requests/{id}/take_back"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(done.status(), 303);
        let (_, view) = get(&web, Some("liu.qiang"), &format!("/instances/{id}")).await;
        assert_eq!(view["current_steps"], json!(["manager_review"]));
        let (status, body) = post_api(&web, "liu.qiang", &format!("/instances/{id}/take_back"), json!({})).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("not_allowed")), "{body}");

        // Owners jump: a stranger is refused, a bad step and a blank reason name their field.
        let (status, _) = post_api(&web, "liu.qiang", &format!("/instances/{id}/jump"), json!({"to": "finance_payment", "comment": "急"})).await;
        assert_eq!(status, 403);
        let (status, body) = post_api(&web, "tang.jie", &format!("/instances/{id}/jump"), json!({"to": "nowhere", "comment": "急"})).await;
        assert_eq!(status, 422);
        assert!(body["fields"]["to"].is_string(), "{body}");
        let (status, body) = post_api(&web, "tang.jie", &format!("/instances/{id}/jump"), json!({"to": "finance_payment", "comment": " "})).await;
        assert_eq!(status, 422);
        assert!(body["fields"]["comment"].is_string(), "{body}");
        let (status, body) = post_api(&web, "tang.jie", &format!("/instances/{id}/jump"), json!({"to": "finance_payment", "comment": "特批"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["current_steps"], json!(["finance_payment"]));

        // An owner terminates from the page; the submitter and the cancelled holders are mailed.
        let (owner, owner_csrf) = web.sign_in("tang.jie").await;
        let page = page_text(&owner, web.url(&format!("/requests/{id}"))).await;
        assert!(page.contains("id=\"owner-actions\"") && page.contains("跳转"), "offered to an owner");
        let blank = owner.post(web.url(&format!("/requests/{id}/terminate"))).form(&[("csrf", owner_csrf.as_str()), ("comment", "")]).send().await.unwrap();
        assert_eq!(blank.status(), 422);
        assert!(blank.text().await.unwrap().contains("请填写原因"));
        let done = owner.post(web.url(&format!("/requests/{id}/terminate"))).form(&[("csrf", owner_csrf.as_str()), ("comment", "重复提交")]).send().await.unwrap();
        assert_eq!(done.status(), 303);
        let page = page_text(&owner, web.url(&format!("/requests/{id}"))).await;
        assert!(page.contains("已终止") && page.contains("重复提交"), "the badge and the reason");
        assert!(!page.contains("id=\"owner-actions\""), "nothing more to do on it");
        let mail = web.h.engine.mail(&signoff_engine::notify::MailQuery { instance: Some(id), status: None, limit: Some(100) }).await.unwrap();
        let mut told: Vec<&str> = mail.iter().filter(|m| m.kind == Event::Terminated).map(|m| m.recipient.as_str()).collect();
        told.sort_unstable();
        assert_eq!(
            told,
            ["feng.yu", "jiang.hua", "li.na", "liu.qiang", "song.yi"],
            "the submitter and everyone who held a task, not the owner who terminated it"
        );
        assert!(mail.iter().any(|m| m.kind == Event::Moved && m.recipient == "liu.qiang"), "the jump told the manager");
    }
}

storage_test! {
    async fn two_thousand_open_tasks_are_counted_and_paged_to_the_last_one(db) {
        use futures::stream::{self, StreamExt};
        const OPEN: usize = 2_000;
        let web = Web::start(&db, "web-2000").await;
        let engine = web.h.engine.clone();
        let started: Vec<_> = stream::iter(0..OPEN)
            .map(|_| {
                let engine = engine.clone();
                async move { engine.submit("reimbursement", "li.na", claim(&[120.0])).await }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        assert!(started.iter().all(Result::is_ok), "every request starts");

        // The inbox: the true count in the badge and the pager, then every page by its
        // cursor to the last task, each task once.
        let (client, _) = web.sign_in("liu.qiang").await;
        let mut page = page_text(&client, web.url("/inbox")).await;
        assert!(page.contains("id=\"task-count\">2000<"), "the badge counts all of them");
        assert!(page.contains("1–100 / 2000"));
        let mut seen = std::collections::BTreeSet::new();
        for n in 1..=OPEN / 100 {
            let rows: Vec<String> = page
                .split("<tr data-task=\"")
                .skip(1)
                .filter_map(|r| r.split('"').next().map(str::to_string))
                .collect();
            assert_eq!(rows.len(), 100, "page {n}");
            seen.extend(rows);
            assert!(page.contains(&format!("{}–{} / 2000", (n - 1) * 100 + 1, n * 100)));
            if n < OPEN / 100 {
                page = page_text(&client, web.url(&next_link(&page))).await;
            } else {
                assert!(!page.contains("rel=\"next\""), "the last page has no next");
            }
        }
        assert_eq!(seen.len(), OPEN, "every task on exactly one page");

        // The API: pages of 500 by their `Link`, with the total in every answer.
        let mut url = api(&web, "/tasks?limit=500");
        let mut ids = std::collections::BTreeSet::new();
        loop {
            let response = reqwest::Client::new()
                .get(&url)
                .basic_auth("liu.qiang", Some("signoff"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.headers()["x-total-count"], "2000");
            let link = response.headers().get("link").map(|l| l.to_str().unwrap().to_string());
            let (_, tasks) = json_of(response).await;
            ids.extend(tasks.as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()));
            match link {
                Some(link) => {
                    let path = link.trim_start_matches("</api/v1").split('>').next().unwrap();
                    url = api(&web, path);
                }
                None => break,
            }
        }
        assert_eq!(ids.len(), OPEN);
    }
}

storage_test! {
    async fn a_requests_history_exports_as_csv_and_prints_for_those_who_may_see_it(db) {
        let web = Web::start(&db, "web-export").await;
        let (_, view) = json_of(start_claim(&web, "li.na", claim(&[300.0])).await).await;
        let id = view["id"].as_i64().unwrap();
        let task = my_task(&web, "liu.qiang").await;
        let (status, _) = act(&web, "liu.qiang", task, json!({"action": "approve", "comment": "=HYPERLINK(\"http://x\"), 同意"})).await;
        assert_eq!(status, 200);

        let (client, _) = web.sign_in("li.na").await;
        let response = client.get(web.url(&format!("/requests/{id}/history.csv"))).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(response.headers()["content-disposition"].to_str().unwrap().contains(&format!("request-{id}-history.csv")));
        let text = response.text().await.unwrap();
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        assert_eq!(lines.next(), Some("时间,处理人,代表,操作,步骤,说明,意见,修改,填写"));
        let approval = lines.find(|l| l.contains("同意")).expect("the approval's line");
        assert!(approval.contains("刘强 (liu.qiang)") && approval.contains("直属上级审批"), "{approval}");
        assert!(approval.contains("\"'=HYPERLINK(\"\"http://x\"\"), 同意\""), "a formula stays text: {approval}");

        let print = page_text(&client, web.url(&format!("/requests/{id}/print"))).await;
        assert!(print.contains("id=\"history\"") && print.contains("@media print"), "a printable record");
        assert!(
            print.contains("=HYPERLINK(") && !print.contains("HYPERLINK(\""),
            "the comment is on the page, escaped"
        );

        // Someone who may not see the request gets neither.
        let (stranger, _) = web.sign_in("wang.fang").await;
        for path in [format!("/requests/{id}/history.csv"), format!("/requests/{id}/print")] {
            let response = stranger.get(web.url(&path)).send().await.unwrap();
            assert_eq!(response.status(), 404, "{path}");
        }
    }
}

storage_test! {
    async fn without_a_script_the_server_adds_and_removes_lines_and_sends_every_error_at_once(db) {
        let web = Web::start(&db, "web-lines").await;
        let (client, csrf) = web.sign_in("li.na").await;
        let url = web.url("/requests/new/reimbursement");
        let form = page_text(&client, &url).await;
        assert_eq!(form.matches("<tr data-row>").count(), 1, "a fresh form has one line");
        assert!(form.contains("src=\"/static/form.js\""));
        // "Add a line" on the fresh, untouched form: two lines.
        let post = |pairs: Vec<(&'static str, String)>| {
            let mut pairs = pairs;
            pairs.push(("csrf", csrf.clone()));
            client.post(&url).form(&pairs).send()
        };
        let added = post(vec![("lines[0].amount", String::new()), ("_add_line", "lines".into())]).await.unwrap();
        assert_eq!(added.status(), 200);
        assert_eq!(added.text().await.unwrap().matches("<tr data-row>").count(), 2);
        // "Remove this line" drops it; the next line moves up.
        let removed = post(vec![
            ("lines[0].amount", "1".into()),
            ("lines[1].amount", "2".into()),
            ("_remove_line", "lines:0".into()),
        ])
        .await
        .unwrap();
        let page = removed.text().await.unwrap();
        assert_eq!(page.matches("<tr data-row>").count(), 1);
        assert!(page.contains("name=\"lines[0].amount\" id=\"lines[0].amount\" value=\"2\""), "{page}");
        // A typing error, missing fields and a rule in one answer.
        let refused = post(vec![
            ("region", "east".into()),
            ("start_date", "2026-09-22".into()),
            ("end_date", "2026-09-20".into()),
            ("lines[0].category", "transport".into()),
            ("lines[0].date", "2026-09-20".into()),
            ("lines[0].amount", "abc".into()),
        ])
        .await
        .unwrap();
        assert_eq!(refused.status(), 422);
        let page = refused.text().await.unwrap();
        for field in ["lines[0].amount", "purpose", "receipts", "end_date"] {
            assert!(page.contains(&format!("data-field=\"{field}\"")), "`{field}` in one round");
        }
        let script = reqwest::get(web.url("/static/form.js")).await.unwrap();
        assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    }
}

storage_test! {
    async fn a_person_sets_and_ends_their_deputy_on_the_settings_page(db) {
        let web = Web::start(&db, "web-absence").await;
        let (client, csrf) = web.sign_in("liu.qiang").await;
        let set = |deputy: &'static str, from: &'static str, to: &'static str| {
            client
                .post(web.url("/settings/absence"))
                .form(&[("csrf", csrf.as_str()), ("deputy", deputy), ("from", from), ("to", to)])
                .send()
        };
        // Refusals name their field, in the reader's language.
        let own = set("liu.qiang", "2026-09-28", "2026-10-09").await.unwrap();
        assert_eq!(own.status(), 422);
        assert!(own.text().await.unwrap().contains("不能指定自己为代理人"));
        let backwards = set("zhao.min", "2026-10-09", "2026-09-28").await.unwrap();
        assert_eq!(backwards.status(), 422);
        let page = backwards.text().await.unwrap();
        assert!(page.contains("结束日期不能早于开始日期") && page.contains("id=\"absence-to\" required class=\"bad\""), "{page}");
        let nobody = set("no.body", "2026-09-28", "2026-10-09").await.unwrap();
        assert_eq!(nobody.status(), 422);
        let forged = client.post(web.url("/settings/absence")).form(&[("csrf", "x"), ("deputy", "zhao.min"), ("from", "2026-09-28"), ("to", "2026-10-09")]).send().await.unwrap();
        assert_eq!(forged.status(), 403);

        // Away from today: new tasks go to the deputy, who acts on his behalf.
        assert_eq!(set("zhao.min", "2026-09-28", "2026-10-09").await.unwrap().status(), 303);
        let page = page_text(&client, web.url("/settings")).await;
        assert!(page.contains("2026-09-28 – 2026-10-09") && page.contains("赵敏"), "{page}");
        let id = web.h.engine.start("reimbursement", "li.na", claim(&[100.0])).await.unwrap().id;
        let view = web.h.engine.instance(id).await.unwrap();
        assert_eq!(view.tasks[0].delegate.as_deref(), Some("zhao.min"));

        // Back: the absence ends, and the next task is his alone.
        let back = client.post(web.url("/settings/absence/end")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(back.status(), 303);
        assert!(web.h.engine.absences("liu.qiang").await.unwrap().is_empty());
        let id = web.h.engine.start("reimbursement", "li.na", claim(&[100.0])).await.unwrap().id;
        let view = web.h.engine.instance(id).await.unwrap();
        assert_eq!(view.tasks[0].delegate, None);
    }
}

storage_test! {
    async fn the_inbox_sorts_by_amount_and_narrows_to_the_days_submitted(db) {
        let web = Web::start(&db, "web-amount").await;
        let mut ids = Vec::new();
        for (day, amount) in [(28, 100.0), (29, 5_000.0), (30, 300.0)] {
            web.h.clock.set(signoff_tests::shanghai(2026, 9, day, 10));
            let mut form = claim(&[amount]);
            form["lines"][0]["justification"] = json!("客户现场紧急，须当天往返两地");
            let view = web.h.engine.start("reimbursement", "li.na", form).await.unwrap();
            ids.push(view.id.0);
        }
        let order = |query: &'static str| {
            let web = &web;
            async move {
                let (status, tasks) = get(web, Some("liu.qiang"), &format!("/tasks{query}")).await;
                assert_eq!(status, 200, "{tasks}");
                tasks.as_array().unwrap().iter().map(|t| t["instance"].as_i64().unwrap()).collect::<Vec<_>>()
            }
        };
        assert_eq!(order("?sort=amount").await, [ids[1], ids[2], ids[0]], "largest first");
        assert_eq!(order("?sort=amount&limit=1").await, [ids[1]]);
        assert_eq!(order("?since=2026-09-29&until=2026-09-29").await, [ids[1]], "that day only");
        assert_eq!(order("?since=2026-09-29&sort=submitted").await, [ids[2], ids[1]]);
        // The next page of an amount order starts after the cursor's amount.
        let response = reqwest::Client::new()
            .get(api(&web, "/tasks?sort=amount&limit=1"))
            .basic_auth("liu.qiang", Some("signoff"))
            .send()
            .await
            .unwrap();
        let link = response.headers()["link"].to_str().unwrap().to_string();
        let next = link.trim_start_matches("</api/v1").split('>').next().unwrap().to_string();
        let (_, rest) = get(&web, Some("liu.qiang"), &next).await;
        assert_eq!(rest[0]["instance"].as_i64(), Some(ids[2]), "{link}");

        let (client, _) = web.sign_in("liu.qiang").await;
        let page = page_text(&client, web.url("/inbox?sort=amount&since=2026-09-29")).await;
        assert!(page.contains("1–2 / 2") || page.matches("<tr data-task=").count() == 2, "two tasks since the 29th");
        let first = page.split("<tr data-task=").nth(1).unwrap_or_default();
        assert!(first.contains("5,000.00"), "the largest first: {first}");
        assert!(page.contains("value=\"2026-09-29\""), "the day stays in the field");
        // The header counts the open tasks on every page.
        let settings = page_text(&client, web.url("/settings")).await;
        assert!(settings.contains("id=\"nav-open\" title=\"我的待办\">3<"), "the header's count");
    }
}

storage_test! {
    async fn an_owner_tries_a_sample_claim_and_sees_its_path_its_people_and_its_end(db) {
        let web = Web::start(&db, "try-it").await;
        let (owner, csrf) = web.sign_in("tang.jie").await;
        let page = page_text(&owner, web.url("/processes/reimbursement/try")).await;
        assert!(page.contains("id=\"try-form\"") && page.contains("name=\"lines[0].amount\""), "{page}");
        let sample = |reject: &'static str, amount: &'static str| {
            vec![
                ("csrf", csrf.clone()), ("_submitter", "li.na".into()), ("_reject", reject.into()),
                ("region", "east".into()), ("purpose", "客户现场实施".into()),
                ("start_date", "2026-09-20".into()), ("end_date", "2026-09-22".into()),
                ("lines[0].category", "transport".into()), ("lines[0].date", "2026-09-20".into()),
                ("lines[0].amount", amount.into()), ("lines[0].description", "高铁".into()),
                ("lines[0].justification", "客户现场紧急，须当天往返两地".into()), ("receipts", "1".into()),
            ]
        };
        let run = |form: Vec<(&'static str, String)>| {
            let owner = owner.clone();
            let url = web.url("/processes/reimbursement/try");
            async move { owner.post(url).form(&form).send().await.unwrap() }
        };
        // Above 5,000: the manager, service management, the director, then finance.
        let answer = run(sample("", "6000")).await;
        assert_eq!(answer.status(), 200);
        let page = answer.text().await.unwrap();
        let path = page.split("id=\"trial-path\"").nth(1).expect("a path").split("</table>").next().unwrap();
        let steps: Vec<&str> = path.split("data-step=\"").skip(1).map(|p| p.split('"').next().unwrap()).collect();
        assert_eq!(steps[..3], ["manager_review", "service_review", "director_review"], "{path}");
        assert!(path.contains("刘强 (liu.qiang)") && path.contains("王芳 (wang.fang)"), "{path}");
        assert!(page.contains("id=\"trial-end\"><strong>结果: 已批准"), "{page}");
        assert!(page.contains("id=\"trial-diagram\"") && page.contains("<svg"));
        // Rejected by the manager: it ends there; nothing was stored.
        let page = run(sample("manager_review", "300")).await.text().await.unwrap();
        assert!(page.contains("结果: 已驳回"), "{page}");
        assert!(web.h.engine.requests(&signoff_engine::runtime::RequestQuery::default()).await.unwrap().is_empty(), "a dry run stores nothing");
        // A bad sample is refused beside its field; only owners may try.
        let answer = run(sample("", "abc")).await;
        assert_eq!(answer.status(), 422);
        assert!(answer.text().await.unwrap().contains("data-field=\"lines[0].amount\""));
        let (stranger, _) = web.sign_in("li.na").await;
        let refused = stranger.get(web.url("/processes/reimbursement/try")).send().await.unwrap();
        assert_eq!(refused.status(), 404);
    }
}

storage_test! {
    async fn the_editor_is_told_the_checkers_messages_and_the_names_in_scope_as_one_types(db) {
        let web = Web::start(&db, "web-lint").await;
        let text = std::fs::read_to_string(signoff_tests::processes_dir().join("reimbursement.yaml")).unwrap();
        let broken = text.replacen("when: form.total > vars.director_tier", "when: form.totl > vars.director_tier", 1);
        let (owner, csrf) = web.sign_in("tang.jie").await;
        let lint = |client: reqwest::Client, token: Option<String>, yaml: String| {
            let url = web.url("/processes/reimbursement/lint");
            async move {
                let mut request = client.post(url).json(&json!({ "yaml": yaml }));
                if let Some(token) = token {
                    request = request.header("x-csrf-token", token);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                (status, response.json::<Value>().await.unwrap_or(Value::Null))
            }
        };

        let (status, body) = lint(owner.clone(), Some(csrf.clone()), broken.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let line = broken.lines().position(|l| l.contains("form.totl")).unwrap() + 1;
        let column = broken.lines().nth(line - 1).unwrap().find("totl").unwrap() + 1;
        let problems = body["diagnostics"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{body}");
        assert_eq!(problems[0]["line"], json!(line));
        assert_eq!(problems[0]["column"], json!(column), "at the misspelt name");
        assert_eq!(problems[0]["severity"], "error");
        assert_eq!(problems[0]["code"], "cel-unknown-name");
        let form = body["scope"]["members"]["form"].as_array().unwrap();
        for field in ["total", "purpose", "region", "receipt_scans"] {
            assert!(form.contains(&json!(field)), "{field} in {form:?}");
        }
        assert!(body["scope"]["members"]["vars"].as_array().unwrap().contains(&json!("director_tier")));
        assert!(body["scope"]["roots"].as_array().unwrap().contains(&json!("submitter")));

        let (status, body) = lint(owner.clone(), Some(csrf.clone()), text.clone()).await;
        assert_eq!((status, body["diagnostics"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
        let (status, body) = lint(owner.clone(), Some(csrf.clone()), "steps: [".into()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["diagnostics"][0]["code"], "syntax", "{body}");
        assert_eq!(body["scope"]["members"]["form"], json!([]), "no names from a text that does not read");

        // Without the page's token, or by someone who may not edit the process: refused.
        let (status, _) = lint(owner.clone(), None, text.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (stranger, stranger_csrf) = web.sign_in("li.na").await;
        let (status, _) = lint(stranger, Some(stranger_csrf), text.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The editor itself: public, compressed, revalidated by its ETag.
        let anonymous = reqwest::Client::new();
        let response = anonymous
            .get(web.url("/static/editor.js"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], "gzip");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        let zipped = response.bytes().await.unwrap().len();
        assert!(zipped < 400_000, "{zipped} bytes compressed");
        let again = anonymous
            .get(web.url("/static/editor.js"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let schema: Value = anonymous.get(web.url("/static/schema.json")).send().await.unwrap().json().await.unwrap();
        assert!(schema["properties"]["steps"].is_object());
        let missing = anonymous.get(web.url("/static/nothing.js")).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let page = owner.get(web.url("/processes/reimbursement")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-lint=\"/processes/reimbursement/lint\"") && page.contains("/static/editor.js"));
    }
}
