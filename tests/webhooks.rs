//! Channels besides mail, end to end on both databases: the directory names a generic
//! webhook, a DingTalk, a WeCom (its URL from the environment) and a Feishu robot; a real
//! local HTTP server receives what the sender posts through the outbox, in each kind's
//! format, with the same retries as mail (a 503 and a robot's refusal are tried again, a
//! 404 fails for good and says why).

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use signoff_engine::notify::transport::Channel;
use signoff_engine::notify::{MailQuery, MailStatus};
use signoff_engine::runtime::{ActionKind, ActionRequest};
use signoff_tests::{claim, eventually, processes_copy, quick_sender, storage_test, Harness};

const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// What the receiving server got, by path, in arrival order; and how often each path was
/// called (the first call to `/ding` and `/wecom` fails).
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Value)>>>);

async fn receive(
    State(received): State<Received>,
    Path(path): Path<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let calls = {
        let mut all = received.0.lock().unwrap();
        all.push((path.clone(), body));
        all.iter().filter(|(p, _)| *p == path).count()
    };
    match (path.as_str(), calls) {
        ("ding", 1) => (
            StatusCode::OK,
            Json(json!({"errcode": 130101, "errmsg": "send too fast"})),
        ),
        ("ding", _) => (StatusCode::OK, Json(json!({"errcode": 0, "errmsg": "ok"}))),
        ("wecom", 1) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({}))),
        ("wecom", _) => (StatusCode::OK, Json(json!({"errcode": 0}))),
        ("feishu", _) => (StatusCode::OK, Json(json!({"code": 0, "msg": "success"}))),
        ("missing", _) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such hook"})),
        ),
        _ => (StatusCode::OK, Json(json!({}))),
    }
}

async fn receiver() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route("/{path}", post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

fn bodies(received: &Received, path: &str) -> Vec<Value> {
    received
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, b)| b.clone())
        .collect()
}

storage_test! {
    async fn the_directory_s_channels_get_each_message_in_their_format_with_retries(db) {
        let (base, received) = receiver().await;
        let dir = processes_copy("hooks-defs", &["reimbursement.yaml"]);
        // Its own variable: the tests of both databases run at once in this process.
        let port = base.rsplit(':').next().unwrap().to_string();
        let variable = format!("SIGNOFF_TEST_WECOM_URL_{port}");
        std::env::set_var(&variable, format!("{base}/wecom?key=secret"));
        let channels = format!(
            "\nchannels:\n\
             \x20 - {{ id: manager_hook, kind: webhook, url: \"{base}/generic\", users: [liu.qiang] }}\n\
             \x20 - {{ id: service_group, kind: dingtalk, url: \"{base}/ding?access_token=t\", roles: [service_mgmt] }}\n\
             \x20 - {{ id: li_na_wecom, kind: wecom, url: \"${{{variable}}}\", users: [li.na] }}\n\
             \x20 - {{ id: finance_group, kind: feishu, url: \"{base}/feishu\", roles: [finance] }}\n\
             \x20 - {{ id: broken, kind: webhook, url: \"{base}/missing\", users: [liu.qiang] }}\n"
        );
        let mut org = std::fs::read_to_string(dir.join("org.yaml")).unwrap();
        org.push_str(&channels);
        std::fs::write(dir.join("org.yaml"), org).unwrap();
        let h = Harness::with_processes(&db, "hooks", dir).await;
        let _mailer = h.engine.spawn_mailer(quick_sender("log"));

        let id = h.engine.start("reimbursement", "li.na", claim(&[120.0])).await.unwrap().id;
        h.act(id, "liu.qiang", ActionRequest::new(ActionKind::Comment).comment("发票抬头请写公司全称")).await;
        h.act(id, "liu.qiang", ActionRequest::new(ActionKind::Approve)).await;
        h.act(id, "tang.jie", ActionRequest::new(ActionKind::Approve)).await;

        let settled = || async {
            let rows = h.engine.mail(&MailQuery { instance: Some(id.0), ..Default::default() }).await.ok()?;
            let hooks: Vec<_> = rows.into_iter().filter(|m| m.channel != Channel::Mail).collect();
            hooks.iter().all(|m| m.status != MailStatus::Pending).then_some(hooks)
        };
        let hooks = eventually("every channel message settled", WAIT, settled).await;

        // The generic webhook: Signoff's JSON for the manager's task.
        let generic = bodies(&received, "generic");
        assert_eq!(generic.len(), 1, "{generic:?}");
        assert_eq!(generic[0]["event"], "task_assigned");
        assert_eq!(generic[0]["request"], id.0);
        assert_eq!(generic[0]["to"], json!({"id": "liu.qiang", "name": "刘强"}));
        assert!(generic[0]["link"].as_str().unwrap().contains("/tasks/"));
        assert!(generic[0]["facts"].as_array().unwrap().iter().any(|f| f["value"] == "120.00 CNY"));
        // DingTalk: markdown for each of service management, the first try refused and retried.
        let ding = bodies(&received, "ding");
        assert_eq!(ding.len(), 3, "two people, one retried: {ding:?}");
        assert!(ding.iter().all(|b| b["msgtype"] == "markdown"));
        assert!(ding.iter().any(|b| b["markdown"]["text"].as_str().unwrap().contains("宋怡")));
        // WeCom, from the environment's URL: the comment reached the submitter, after a 503.
        let wecom = bodies(&received, "wecom");
        assert_eq!(wecom.len(), 2, "{wecom:?}");
        assert!(wecom[1]["markdown"]["content"].as_str().unwrap().contains("李娜"));
        // Feishu: text for finance.
        let feishu = bodies(&received, "feishu");
        assert!(!feishu.is_empty() && feishu.iter().all(|b| b["msg_type"] == "text"), "{feishu:?}");

        // Each channel message sent once, but the missing hook's: failed for good, said why,
        // and its listing shows no token.
        let broken: Vec<_> = hooks.iter().filter(|m| m.address.ends_with("/missing")).collect();
        assert_eq!(broken.len(), 1);
        assert_eq!((broken[0].status, broken[0].attempts), (MailStatus::Failed, 1));
        assert!(broken[0].last_error.as_deref().unwrap().contains("404"), "{:?}", broken[0]);
        assert!(hooks.iter().filter(|m| !m.address.ends_with("/missing")).all(|m| m.status == MailStatus::Sent), "{hooks:?}");
        assert!(hooks.iter().all(|m| !m.address.contains("secret") && !m.address.contains("access_token")));
    }
}
