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
