//! The index audit: every SQL statement the engine runs, captured while it works on a
//! database of 100,000 requests, must find its rows through an index. A statement whose
//! plan scans one of the large tables (`SCAN tasks`) fails the test with the statement
//! and its plan, so the audit stays true as queries change.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::json;

use signoff_engine::clock::ManualClock;
use signoff_engine::runtime::{
    ActionKind, ActionRequest, Engine, EngineOptions, RequestQuery, TaskQuery, TaskSort,
};
use signoff_tests::{claim, processes_dir, scratch_dir, shanghai};
use sqlx::{Connection, Row, SqliteConnection};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// The tables that grow with the requests; the others hold settings and accounts.
const LARGE: &[&str] = &[
    "instances",
    "step_runs",
    "tasks",
    "events",
    "timers",
    "outbox",
    "request_links",
    "attachments",
    "request_files",
];

/// The requests the database holds before the workload runs.
const REQUESTS: i64 = 100_000;

/// Collects the SQL of sqlx's `sqlx::query` events.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<BTreeSet<String>>>);

#[derive(Default)]
struct Sql {
    summary: String,
    statement: String,
}

impl Visit for Sql {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.statement = value.to_string(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(
            field,
            &format!("{value:?}").trim_matches('"').replace("\\n", "\n"),
        );
    }
}

impl<S: tracing::Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut sql = Sql::default();
        event.record(&mut sql);
        // A short statement is its own summary; a long one comes whole in `db.statement`.
        let text = if sql.statement.trim().is_empty() {
            sql.summary
        } else {
            sql.statement
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Ok(mut all) = self.0.lock() {
            all.insert(text);
        }
    }
}

/// Fills the database with `REQUESTS` requests: nine in ten finished, the rest running
/// with an open task and a pending timer, each with its history and a sent mail.
async fn fill(conn: &mut SqliteConnection) {
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {REQUESTS}) \
         INSERT INTO instances (id, process_id, version, status, outcome, submitter, form, vars, created_at, updated_at, ended_at) \
         SELECT i + 1000, 'reimbursement', 1, CASE WHEN i % 10 = 0 THEN 'running' ELSE 'completed' END, \
                CASE WHEN i % 10 = 0 THEN NULL ELSE 'approved' END, 'user' || (i % 500), '{{}}', '{{}}', \
                '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', CASE WHEN i % 10 = 0 THEN NULL ELSE '2026-01-02T00:00:00Z' END FROM n"
    );
    let statements = [
        sql,
        "INSERT INTO step_runs (id, instance_id, step_id, status, entered_at) \
         SELECT id, id, 'manager_review', CASE status WHEN 'running' THEN 'active' ELSE 'done' END, created_at FROM instances WHERE id >= 1000".into(),
        "INSERT INTO tasks (id, instance_id, run_id, step_id, kind, assignee, status, created_at) \
         SELECT id, id, id, 'manager_review', 'step', 'approver' || (id % 300), CASE status WHEN 'running' THEN 'open' ELSE 'done' END, created_at FROM instances WHERE id >= 1000".into(),
        "INSERT INTO events (instance_id, at, actor, action, step_id) \
         SELECT id, created_at, submitter, 'submit', NULL FROM instances WHERE id >= 1000 \
         UNION ALL SELECT id, created_at, 'engine', 'enter', 'manager_review' FROM instances WHERE id >= 1000".into(),
        "INSERT INTO timers (instance_id, run_id, kind, due_at, status) \
         SELECT id, id, 'deadline', '2027-06-01T00:00:00Z', CASE status WHEN 'running' THEN 'pending' ELSE 'cancelled' END FROM instances WHERE id >= 1000".into(),
        "INSERT INTO outbox (message_id, instance_id, event_id, kind, recipient, address, subject, body_text, body_html, status, created_at) \
         SELECT 'm' || id, instance_id, id, 'task_assigned', actor, actor || '@x', 's', 't', 'h', 'sent', at FROM events WHERE action = 'submit'".into(),
    ];
    for sql in statements {
        sqlx::query(&sql).execute(&mut *conn).await.expect("fill");
    }
}

/// Runs the engine's work: starts, every action kind, timers, mail, every list and view.
async fn workload(engine: &Engine, clock: &ManualClock) {
    let form = claim(&[120.0, 300.0]);
    let first = engine
        .start("reimbursement", "li.na", form.clone())
        .await
        .unwrap();
    let second = engine.start("reimbursement", "li.na", form).await.unwrap();
    let task = |view: &signoff_engine::runtime::InstanceView| view.tasks[0].id;
    engine
        .act(
            task(&first),
            "liu.qiang",
            ActionRequest::new(ActionKind::Approve),
        )
        .await
        .unwrap();
    let returned = engine
        .act(
            task(&second),
            "liu.qiang",
            ActionRequest::new(ActionKind::Return)
                .to("submitter")
                .comment("补充"),
        )
        .await
        .unwrap();
    engine.withdraw(returned.id, "li.na", None).await.unwrap();
    let view = engine.instance(first.id).await.unwrap();
    engine
        .act(
            task(&view),
            &view.tasks[0].assignee.clone(),
            ActionRequest::new(ActionKind::Reject),
        )
        .await
        .unwrap();
    linked_requests(engine).await;
    let third = engine
        .start("reimbursement", "li.na", claim(&[80.0]))
        .await
        .unwrap();
    engine.urge(third.id, "li.na").await.unwrap();
    more_actions(engine).await;
    clock.set(shanghai(2027, 7, 1, 10));
    engine.fire_due_timers().await.unwrap();
    engine.start_scheduled().await.unwrap();
    for user in ["liu.qiang", "li.na", "approver7"] {
        let query = TaskQuery {
            user: user.into(),
            limit: Some(50),
            ..TaskQuery::default()
        };
        let page = engine.tasks(&query).await.unwrap();
        if let Some(last) = page.last() {
            let after = Some(TaskSort::Due.cursor(last));
            engine
                .tasks(&TaskQuery {
                    after,
                    ..query.clone()
                })
                .await
                .unwrap();
        }
        let query = TaskQuery {
            include_closed: true,
            ..query
        };
        engine.tasks(&query).await.unwrap();
        let done = engine.done_tasks(user, None, 50).await.unwrap();
        if let Some(last) = done.last() {
            engine
                .done_tasks(user, Some(last.task.id), 50)
                .await
                .unwrap();
        }
        engine.count_done(user).await.unwrap();
        for sort in [TaskSort::Waiting, TaskSort::Submitted, TaskSort::Amount] {
            let query = TaskQuery {
                user: user.into(),
                search: Some("李娜".into()),
                submitted_from: chrono::NaiveDate::from_ymd_opt(2026, 9, 1),
                submitted_to: chrono::NaiveDate::from_ymd_opt(2027, 9, 1),
                sort,
                limit: Some(50),
                ..TaskQuery::default()
            };
            let page = engine.tasks(&query).await.unwrap();
            if let Some(last) = page.last() {
                let after = Some(sort.cursor(last));
                engine
                    .tasks(&TaskQuery {
                        after,
                        ..query.clone()
                    })
                    .await
                    .unwrap();
            }
            engine.count_tasks(&query).await.unwrap();
        }
        engine.unread_cc(user).await.unwrap();
        engine.read_marks(user, &[third.id]).await.unwrap();
        engine.mark_read(third.id, user).await.unwrap();
        engine
            .requests(&RequestQuery {
                submitter: Some(user.into()),
                ..RequestQuery::default()
            })
            .await
            .unwrap();
    }
    let (from, to) = (
        chrono::NaiveDate::from_ymd_opt(2026, 9, 1),
        chrono::NaiveDate::from_ymd_opt(2027, 6, 30),
    );
    engine
        .report("reimbursement", from.unwrap(), to.unwrap())
        .await
        .unwrap();
    engine.instance_for(third.id, "liu.qiang").await.unwrap();
    engine.running_by_version("reimbursement").await.unwrap();
    // A claim with a receipt, and the receipt read back by the manager.
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let upload = engine
        .upload("reimbursement", "receipt_scans", "taxi.png", png)
        .unwrap();
    let file = upload.file.id.clone();
    let with_receipt = engine
        .submit_with_files("reimbursement", "li.na", claim(&[80.0]), vec![upload])
        .await
        .unwrap();
    engine
        .download(with_receipt.instance, &file, "liu.qiang")
        .await
        .unwrap();
    engine.counts().await.unwrap();
    engine.mail_backlog().await.unwrap();
    engine
        .mail(&signoff_engine::notify::MailQuery {
            instance: Some(third.id.0),
            status: None,
            limit: Some(50),
        })
        .await
        .unwrap();
    let options = signoff_tests::quick_sender("log");
    engine.deliver_mail(&options).await.unwrap();
}

/// Asking an opinion and replying, copying, taking back, an owner's jump and terminate.
async fn more_actions(engine: &Engine) {
    let id = engine
        .start("reimbursement", "li.na", claim(&[90.0]))
        .await
        .unwrap()
        .id;
    let holder = |who: &'static str| async move {
        let view = engine.instance(id).await.unwrap();
        view.tasks.iter().find(|t| t.assignee == who).unwrap().id
    };
    let manager = holder("liu.qiang").await;
    let ask = ActionRequest::new(ActionKind::Consult).to("feng.yu");
    engine.act(manager, "liu.qiang", ask).await.unwrap();
    let asked = holder("feng.yu").await;
    let reply = ActionRequest::new(ActionKind::Reply).comment("可以");
    engine.act(asked, "feng.yu", reply).await.unwrap();
    let copy = ActionRequest::new(ActionKind::CopyTo).to("wang.fang");
    engine.act(manager, "liu.qiang", copy).await.unwrap();
    let approve = ActionRequest::new(ActionKind::Approve);
    engine.act(manager, "liu.qiang", approve).await.unwrap();
    engine.take_back(id, "liu.qiang", None).await.unwrap();
    engine
        .jump(id, "tang.jie", "finance_payment", "特批")
        .await
        .unwrap();
    engine.terminate(id, "tang.jie", "重复").await.unwrap();
}

/// A cash sale, signed and registered, and an extension that names it and is granted
/// (references, link effects, the parallel-free path through three people).
async fn linked_requests(engine: &Engine) {
    let sale = json!({"customer": "某商场", "customer_type": "cash", "salesperson": "lin.feng",
        "items": [{"item": "维修", "quantity": 1, "unit_price": 800}], "invoice_date": "2026-11-02"});
    let id = engine
        .start("sales_confirmation", "ma.chao", sale)
        .await
        .unwrap()
        .id;
    for (user, form) in [
        ("lin.feng", None),
        ("qian.hao", None),
        ("wu.xia", Some(json!({"confirmation_no": "SC261102"}))),
    ] {
        let view = engine.instance(id).await.unwrap();
        let task = view.tasks.iter().find(|t| t.assignee == user).unwrap().id;
        let request = match form {
            Some(form) => ActionRequest::new(ActionKind::Complete).form(form),
            None => ActionRequest::new(ActionKind::Approve),
        };
        engine.act(task, user, request).await.unwrap();
    }
    let extension = json!({"sale": id.0, "confirmation_no": "SC261102", "customer": "某商场", "amount": 800,
        "original_due": "2026-11-11", "new_due": "2026-11-30", "cause": "customer", "explanation": "客户资金周转，月底付清"});
    let mut view = engine
        .start("deferred_payment", "ma.chao", extension)
        .await
        .unwrap();
    while let Some(task) = view
        .tasks
        .iter()
        .find(|t| t.status == signoff_engine::runtime::TaskStatus::Open)
    {
        let (task, user) = (task.id, task.assignee.clone());
        view = engine
            .act(task, &user, ActionRequest::new(ActionKind::Approve))
            .await
            .unwrap();
    }
    assert_eq!(view.outcome.as_deref(), Some("approved"));
    engine.instance(id).await.unwrap();
}

/// `EXPLAIN QUERY PLAN` of `sql`, with every parameter bound to NULL.
async fn plan(conn: &mut SqliteConnection, sql: &str) -> Option<Vec<String>> {
    // `$1` may appear several times: bind as many as the highest number.
    let params = sql
        .split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0)
        .max(sql.matches('?').count());
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let mut query = sqlx::query(&explain);
    for _ in 0..params {
        query = query.bind(None::<String>);
    }
    let rows = query.fetch_all(&mut *conn).await.ok()?;
    Some(rows.iter().map(|r| r.get::<String, _>("detail")).collect())
}

/// The large table a plan line reads whole, with the statement's aliases resolved: a
/// `SCAN`, or a `SEARCH` on the status alone (which reads every open row of the table),
/// unless it counts them (monitoring counts the open set) from the index alone.
fn scanned<'a>(sql: &str, line: &str, aliases: &'a BTreeMap<String, &'a str>) -> Option<&'a str> {
    let counting = sql.contains("COUNT(*)") && line.contains("USING COVERING INDEX");
    let (name, rest) = match line.strip_prefix("SCAN ") {
        Some(rest) => (rest.split_whitespace().next()?, None),
        None => {
            let rest = line.strip_prefix("SEARCH ")?;
            (rest.split_whitespace().next()?, Some(rest))
        }
    };
    let table = aliases.get(name).copied()?;
    match rest {
        None => Some(table),
        Some(rest) if rest.ends_with("(status=?)") && !counting => Some(table),
        Some(_) => None,
    }
}

fn aliases(sql: &str) -> BTreeMap<String, &'static str> {
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    let mut map = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        if let Some(table) = LARGE.iter().find(|t| w.eq_ignore_ascii_case(t)) {
            map.insert(table.to_string(), *table);
            let next = words.get(i + 1).copied().unwrap_or_default();
            let alias = if next.eq_ignore_ascii_case("AS") {
                words.get(i + 2).copied().unwrap_or_default()
            } else {
                next
            };
            let keyword = [
                "WHERE", "ON", "JOIN", "LEFT", "INNER", "SET", "VALUES", "ORDER", "GROUP", "LIMIT",
                "UNION", "SELECT", "WITH",
            ]
            .iter()
            .any(|k| alias.eq_ignore_ascii_case(k));
            if !alias.is_empty()
                && !keyword
                && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                map.insert(alias.to_string(), *table);
            }
        }
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_finds_its_rows_through_an_index() {
    let statements = Statements::default();
    let subscriber = tracing_subscriber::registry().with(statements.clone());
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let dir = scratch_dir("index-audit");
    let db = dir.join("audit.db");
    let clock = Arc::new(ManualClock::new(shanghai(2026, 11, 2, 9)));
    let mut options = EngineOptions::new(format!("sqlite://{}", db.display()), processes_dir());
    options.clock = clock.clone();
    let engine = Engine::open(options).await.unwrap();
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    fill(&mut conn).await;
    statements.0.lock().unwrap().clear();
    workload(&engine, &clock).await;
    engine.shutdown().await;

    let captured: Vec<String> = statements.0.lock().unwrap().iter().cloned().collect();
    assert!(
        captured.len() > 40,
        "the workload ran {} statements",
        captured.len()
    );
    let mut failures = Vec::new();
    let mut explained = 0;
    for sql in &captured {
        let head = sql
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if !matches!(
            head.as_str(),
            "SELECT" | "UPDATE" | "DELETE" | "INSERT" | "WITH"
        ) {
            continue;
        }
        let Some(lines) = plan(&mut conn, sql).await else {
            failures.push(format!("cannot be explained: {sql}"));
            continue;
        };
        explained += 1;
        let aliases = aliases(sql);
        if let Some(table) = lines.iter().find_map(|l| scanned(sql, l, &aliases)) {
            failures.push(format!(
                "scans {table}: {sql}\n    {}",
                lines.join("\n    ")
            ));
        }
    }
    if std::env::var_os("SIGNOFF_AUDIT_LIST").is_some() {
        eprintln!("{}", captured.join("\n"));
    }
    assert!(explained > 30, "explained {explained} statements");
    assert!(
        failures.is_empty(),
        "{} of {explained} statements scan a large table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
