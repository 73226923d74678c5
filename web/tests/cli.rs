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
    assert!(
        stderr.contains("(6 processes): 0 errors, 0 warnings"),
        "{stderr}"
    );
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
