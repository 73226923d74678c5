//! The `signoff` command line as scripts and CI use it: exit codes and output formats.

use std::path::PathBuf;
use std::process::Command;

fn signoff() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signoff"));
    cmd.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    cmd
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("signoff-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_defaults_to_processes_and_exits_zero_when_clean() {
    let out = signoff().arg("check").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("(10 processes): 0 errors,"), "{stderr}");
}

#[test]
fn check_exits_one_and_reports_json_for_a_broken_file() {
    let dir = temp_dir("broken");
    std::fs::write(
        dir.join("p.yaml"),
        "id: p\nname: { zh: 坏, en: Bad }\nowner: { user: x }\nsteps:\n  - id: a\n    type: end\n    outcome: aproved\n",
    )
    .unwrap();
    let out = signoff()
        .args(["check", "--format", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"], 1);
    let d = &report["diagnostics"][0];
    assert_eq!(d["code"], "wrong-type");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(7), Some(14))
    );
    assert_eq!(d["hint"], "did you mean `approved`?");
}

#[test]
fn check_text_output_names_file_line_and_column_with_a_caret() {
    let dir = temp_dir("text");
    std::fs::write(
        dir.join("p.yaml"),
        "id: p\nname: { zh: 坏, en: Bad }\nowner: { user: x }\nsteps:\n  - id: a\n    type: task\n    assignees: [submitter]\n    transitions:\n      - { on: done, to: ennd }\n  - id: end\n    type: end\n    outcome: approved\n",
    )
    .unwrap();
    let out = signoff().arg("check").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[unknown-step]: transition to unknown step `ennd`"),
        "{stderr}"
    );
    assert!(stderr.contains("p.yaml:9:25"), "{stderr}");
    assert!(
        stderr.contains("      - { on: done, to: ennd }\n  |                         ^"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: did you mean `end`?"), "{stderr}");
}

#[test]
fn graph_prints_mermaid_and_dot() {
    let out = signoff()
        .args(["graph", "processes/methodology_rollout.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mermaid = String::from_utf8(out.stdout).unwrap();
    assert!(mermaid.starts_with("stateDiagram-v2\n    [*] --> director_approval\n"));
    assert!(mermaid.contains("state regional_rollout {"));
    assert!(mermaid.contains("revise_plan --> director_approval: done"));

    let out = signoff()
        .args(["graph", "--format", "dot", "processes/staff_rotation.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.contains("subgraph \"cluster_employee_side\""));
}

#[test]
fn graph_of_a_missing_file_fails_cleanly() {
    let out = signoff().args(["graph", "no/such.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the file"));
}

/// The databases a command-line test runs on: a SQLite file, and a fresh PostgreSQL
/// database when `SIGNOFF_TEST_POSTGRES_URL` names a cluster (else it says it skipped it).
fn db_urls(name: &str) -> Vec<String> {
    let mut urls = vec![db_url(name)];
    match std::env::var("SIGNOFF_TEST_POSTGRES_URL") {
        Ok(cluster) if !cluster.trim().is_empty() => {
            let database = format!("cli_{}_{}", name.replace('-', "_"), std::process::id());
            let runtime = tokio::runtime::Runtime::new().expect("a runtime");
            let url = runtime
                .block_on(signoff_engine::store::recreate_postgres_database(
                    &cluster, &database,
                ))
                .expect("a PostgreSQL test database");
            urls.push(url);
        }
        _ => eprintln!("skipped `{name}` on PostgreSQL: SIGNOFF_TEST_POSTGRES_URL is not set"),
    }
    urls
}

fn db_url(name: &str) -> String {
    format!("sqlite://{}", temp_dir(name).join("signoff.db").display())
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const CLAIM: &str = r#"{"region": "east", "purpose": "客户现场实施", "start_date": "2026-11-02", "end_date": "2026-11-04",
 "lines": [{"category": "transport", "date": "2026-11-02", "amount": 560}], "receipts": 1}"#;

#[test]
fn a_request_driven_from_the_command_line() {
    for db in db_urls("session") {
        let dir = temp_dir("session-form");
        std::fs::write(dir.join("claim.json"), CLAIM).unwrap();
        let out = signoff()
            .args([
                "start",
                "reimbursement",
                "--as",
                "li.na",
                "--db",
                &db,
                "--form",
            ])
            .arg(dir.join("claim.json"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let started = json_of(&out);
        assert_eq!(
            started["current_steps"],
            serde_json::json!(["manager_review"])
        );

        let out = signoff()
            .args(["tasks", "--as", "liu.qiang", "--json", "--db", &db])
            .output()
            .unwrap();
        let tasks = json_of(&out);
        let task = tasks[0]["id"].to_string();

        let out = signoff()
            .args(["act", &task, "approve", "--as", "li.na", "--db", &db])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            format!("error (forbidden): task {task} is not yours: only liu.qiang may act on it")
        );

        let out = signoff()
            .args([
                "act",
                &task,
                "approve",
                "--as",
                "liu.qiang",
                "--comment",
                "同意",
                "--json",
                "--db",
                &db,
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            json_of(&out)["current_steps"],
            serde_json::json!(["service_review"])
        );

        let out = signoff()
            .args(["act", &task, "approve", "--as", "liu.qiang", "--db", &db])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error (conflict):"));

        let out = signoff()
            .args(["show", &started["id"].to_string(), "--db", &db])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("liu.qiang  approve [manager_review] \"同意\""),
            "{text}"
        );
    }
}

#[test]
fn an_invalid_form_lists_every_field_on_stderr() {
    for db in db_urls("badform") {
        let mut cmd = signoff();
        cmd.args([
            "start",
            "reimbursement",
            "--as",
            "li.na",
            "--form",
            "-",
            "--db",
            &db,
        ]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(br#"{"region": "mars", "receipts": -1}"#)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in [
            "error (invalid_form):",
            "  region: must be one of east, south, north, west",
            "  receipts: must be at least 0",
            "  purpose: is required",
        ] {
            assert!(stderr.contains(line), "{line} missing from {stderr}");
        }
    }
}

#[test]
fn simulate_prints_the_path_without_writing() {
    let dir = temp_dir("simulate");
    std::fs::write(dir.join("claim.json"), CLAIM).unwrap();
    let out = signoff()
        .args([
            "simulate",
            "reimbursement",
            "--json",
            "--decide",
            "service_review=reject",
            "--form",
        ])
        .arg(dir.join("claim.json"))
        .current_dir(&dir)
        .arg("--processes")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../processes"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    let steps: Vec<&str> = report["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["manager_review", "service_review", "rejected"]);
    assert_eq!(
        report["path"][0]["assignees"],
        serde_json::json!(["liu.qiang"])
    );
    assert_eq!(report["outcome"], "rejected");
    assert!(!dir.join("signoff.db").exists());
}

#[test]
fn bench_prints_a_row_per_wave_and_a_bench_line_per_scale() {
    let dir = temp_dir("bench");
    let out = signoff()
        .args([
            "bench",
            "--open",
            "20,40",
            "--clients",
            "4",
            "--finished",
            "200",
        ])
        .arg("--db")
        .arg(dir.join("bench.db"))
        .arg("--processes")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../processes"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let bench: Vec<&&str> = lines.iter().filter(|l| l.starts_with("BENCH ")).collect();
    assert_eq!(bench.len(), 2, "{text}");
    assert!(
        bench[1].starts_with("BENCH open=40 requests_per_s="),
        "{text}"
    );
    for key in [
        "actions_per_s=",
        "p50_ms=",
        "p99_ms=",
        "cpu_us_per_action=",
        "inbox_p99_ms=",
        "peak_rss_mb=",
    ] {
        assert!(bench[1].contains(key), "{key} in {}", bench[1]);
    }
    // Three waves of 40 actions each at the larger scale, and the inboxes timed: the
    // other approver's 20 among the 200 copied finished requests, then also among the 40
    // the waves ended.
    for wave in ["start", "approve 1", "approve 2"] {
        assert!(
            lines.iter().any(|l| l.trim_start().starts_with("40")
                && l.contains(wave)
                && l.contains(" 40 ")),
            "{wave}: {text}"
        );
    }
    assert!(
        text.contains("inbox of liu.qiang (40 open, 200 finished requests)"),
        "{text}"
    );
    assert!(
        text.contains("inbox of chen.jing (20 open, 200 finished requests)"),
        "{text}"
    );
    assert!(
        text.contains("inbox of chen.jing (20 open, 240 finished requests)"),
        "{text}"
    );
    assert!(lines.last().unwrap().starts_with("BENCH open=40"));
}

/// A plain HTTP/1.0 GET, so the test needs no HTTP client: (status line, body).
fn http_get(port: u16, path: &str) -> Option<(String, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    let dir = temp_dir("serve");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut server = signoff()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--smtp",
            "log",
        ])
        .arg("--db")
        .arg(format!("sqlite://{}", dir.join("serve.db").display()))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The server says when it listens; wait for that line, with a deadline.
    let stderr = server.stderr.take().unwrap();
    let (ready, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("Signoff is serving on") {
                let _ = ready.send(());
            }
        }
    });
    listening
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the server did not start listening");
    let health = http_get(port, "/healthz").expect("an answer");
    assert!(health.0.contains("200"), "{health:?}");
    assert!(health.1.contains("\"ok\""));
    let login = http_get(port, "/login").unwrap();
    assert!(login.0.contains("200") && login.1.contains("name=\"csrf\""));
    let inbox = http_get(port, "/inbox").unwrap();
    assert!(
        inbox.0.contains("303"),
        "signed out: to the login page: {inbox:?}"
    );

    let pid = server.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(server.wait());
    });
    let status = exit
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the server did not stop")
        .unwrap();
    assert!(status.success(), "a clean exit: {status}");
}

#[test]
fn an_unknown_user_a_closed_pipe_and_mail_help_are_handled() {
    for db in db_urls("cli-edges") {
        let out = signoff()
            .args(["tasks", "--as", "nobody.x", "--db", &db])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error (unknown_user)"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = temp_dir("cli-edges-form");
        std::fs::write(dir.join("claim.json"), CLAIM).unwrap();
        let out = signoff()
            .args([
                "start",
                "reimbursement",
                "--as",
                "li.na",
                "--db",
                &db,
                "--form",
            ])
            .arg(dir.join("claim.json"))
            .output()
            .unwrap();
        assert!(out.status.success());
        // `show 1 | head -1`: the reader goes away after one line.
        let mut child = signoff()
            .args(["show", "1", "--db", &db])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        let help = signoff().args(["mail", "--help"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&help.stdout).contains("--send"));
    }
}

#[test]
fn simulate_shows_who_may_not_decide_and_where_the_step_goes() {
    let dir = temp_dir("simulate-sod");
    std::fs::write(dir.join("claim.json"), CLAIM).unwrap();
    let out = signoff()
        .args([
            "simulate",
            "reimbursement",
            "--as",
            "tang.jie",
            "--json",
            "--form",
        ])
        .arg(dir.join("claim.json"))
        .arg("--processes")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../processes"))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    let review = report["path"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["step"] == "service_review")
        .expect("the service review");
    assert_eq!(review["assignees"], serde_json::json!(["song.yi"]));
    assert!(review["notes"][0]
        .as_str()
        .unwrap()
        .contains("`tang.jie` may not decide"));
}

#[test]
fn simulate_walks_steps_that_need_values_and_references_it_cannot_check() {
    let dir = temp_dir("simulate-links");
    let processes = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../processes");
    let run = |process: &str, user: &str, form: &str| {
        std::fs::write(dir.join("form.json"), form).unwrap();
        let out = signoff()
            .args(["simulate", process, "--as", user, "--form"])
            .arg(dir.join("form.json"))
            .arg("--processes")
            .arg(&processes)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // The coordinator's required number is not typed in a dry run; the monthly sale then
    // waits for its statement.
    let sale = run(
        "sales_confirmation",
        "ma.chao",
        r#"{"customer": "某集团", "customer_type": "monthly", "salesperson": "lin.feng",
            "items": [{"item": "维保", "quantity": 1, "unit_price": 100}], "invoice_date": "2026-10-12"}"#,
    );
    assert!(sale.contains("register"), "{sale}");
    assert!(
        sale.ends_with("=> running waiting at await_statement\n"),
        "{sale}"
    );
    // A statement's sales do not exist in the scratch database: they are not checked.
    let statement = run(
        "monthly_statement",
        "wu.xia",
        r#"{"customer": "某集团", "month": "2026-10", "sales": [{"sale": 1, "amount": 100}]}"#,
    );
    assert!(
        statement.ends_with("=> completed completed\n"),
        "{statement}"
    );
}
