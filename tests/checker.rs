//! One test per kind of problem the checker reports: the exact message, position and hint.

use signoff_engine::diagnostic::{Code, Diagnostic, Severity};
use signoff_tests::{base_with, check_text, BASE};

/// The diagnostics as (code, line, column, message), for exact comparison.
fn found(text: &str) -> Vec<(Code, u32, u32, String)> {
    check_text(text)
        .into_iter()
        .map(|d| (d.code, d.line, d.column, d.message))
        .collect()
}

fn only(text: &str) -> Diagnostic {
    let all = check_text(text);
    assert_eq!(all.len(), 1, "expected one diagnostic, got {all:#?}");
    all.into_iter().next().unwrap()
}

#[test]
fn the_base_definition_is_clean() {
    assert_eq!(found(BASE), vec![]);
}

#[test]
fn yaml_syntax_error() {
    let d = only(&base_with("    type: task", "    type: \"task"));
    assert_eq!(d.code, Code::Syntax, "{d:?}");
    assert_eq!(d.line, 29);
    assert!(d.hint.unwrap().contains("indentation"));
}

#[test]
fn unknown_key_with_did_you_mean() {
    let d = only(&base_with(
        "    assignees: [manager]",
        "    asignees: [manager]",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::UnknownKey, 21, 5));
    assert_eq!(d.message, "unknown key `asignees`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `assignees`?"));
}

#[test]
fn wrong_type() {
    let d = only(&base_with("      min: 0", "      min: [zero]"));
    assert_eq!((d.code, d.line, d.column), (Code::WrongType, 12, 12));
}

#[test]
fn unknown_enum_value_suggests_the_right_one() {
    let d = only(&base_with("    type: approval", "    type: aproval"));
    assert_eq!((d.code, d.line, d.column), (Code::WrongType, 20, 11));
    assert_eq!(d.message, "unknown value `aproval`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `approval`?"));
}

#[test]
fn duplicate_step_id() {
    let ds = check_text(&base_with("  - id: finance", "  - id: review"));
    let dup: Vec<_> = ds.iter().filter(|d| d.code == Code::DuplicateId).collect();
    assert_eq!(dup.len(), 1, "{ds:#?}");
    assert_eq!((dup[0].line, dup[0].column), (28, 9));
    assert_eq!(
        dup[0].message,
        "duplicate step id `review` (first at line 19)"
    );
}

/// The diagnostics of one code only, for changes that also cause knock-on problems.
fn of_code(text: &str, code: Code) -> Diagnostic {
    let all: Vec<Diagnostic> = check_text(text)
        .into_iter()
        .filter(|d| d.code == code)
        .collect();
    assert_eq!(all.len(), 1, "expected one {code:?}, got {all:#?}");
    all.into_iter().next().unwrap()
}

#[test]
fn transition_to_unknown_step() {
    let text = base_with(
        "      - { on: rejected, to: refused }",
        "      - { on: rejected, to: refsued }",
    );
    let d = of_code(&text, Code::UnknownStep);
    assert_eq!((d.code, d.line, d.column), (Code::UnknownStep, 27, 29));
    assert_eq!(d.message, "transition to unknown step `refsued`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `refused`?"));
}

#[test]
fn unreachable_step() {
    let text = format!("{BASE}  - id: orphan\n    type: end\n    outcome: cancelled\n");
    let d = only(&text);
    assert_eq!((d.code, d.line, d.column), (Code::UnreachableStep, 39, 9));
    assert_eq!(d.message, "step `orphan` can never be reached");
}

#[test]
fn no_way_to_end() {
    let d = only(&base_with(
        "      - { on: done, to: done }",
        "      - { on: done, to: finance }",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::NoWayToEnd, 28, 9));
    assert_eq!(d.message, "from step `finance` no end can be reached");
}

#[test]
fn missing_default_when_every_transition_is_guarded() {
    let d = only(&base_with(
        "      - { on: approved, to: done }",
        "      - { on: approved, when: form.amount <= vars.limit, to: done }",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::MissingDefault, 26, 15));
    assert_eq!(
        d.message,
        "every `approved` transition of step `review` has a guard; when all are false the request stops"
    );
}

#[test]
fn missing_transition_for_rejection() {
    let d = of_code(
        &base_with("      - { on: rejected, to: refused }\n", ""),
        Code::MissingTransition,
    );
    assert_eq!((d.line, d.column), (19, 9));
    assert_eq!(
        d.message,
        "step `review` has no transition for outcome `rejected`"
    );
}

#[test]
fn cel_syntax_error_points_inside_the_expression() {
    let d = only(&base_with(
        "when: form.amount > vars.limit",
        "when: \"form.amount > > vars.limit\"",
    ));
    assert_eq!((d.code, d.line), (Code::CelSyntax, 24));
    assert_eq!(d.column, 30, "{d:?}");
    assert!(d.message.starts_with("CEL syntax error: "));
}

#[test]
fn cel_unknown_form_field() {
    let d = only(&base_with(
        "when: form.amount > vars.limit",
        "when: form.amout > vars.limit",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::CelUnknownName, 24, 20));
    assert_eq!(d.message, "unknown form field `form.amout`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `amount`?"));
}

#[test]
fn cel_unknown_variable() {
    let d = only(&base_with(
        "when: form.amount > vars.limit",
        "when: form.amount > vars.limt",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::CelUnknownName, 24, 34));
    assert_eq!(d.message, "unknown variable `vars.limt`");
}

#[test]
fn cel_unknown_top_level_name() {
    let d = only(&base_with(
        "when: form.amount > vars.limit",
        "when: amount > vars.limit",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::CelUnknownName, 24, 15));
    assert_eq!(d.message, "unknown name `amount`");
}

#[test]
fn unknown_role() {
    let d = only(&base_with(
        "assignees: [{ role: finance }]",
        "assignees: [{ role: finanse }]",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::UnknownRole, 30, 17));
    assert_eq!(d.message, "unknown role `finanse`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `finance`?"));
}

#[test]
fn unknown_user() {
    let d = only(&base_with(
        "assignees: [{ role: finance }]",
        "assignees: [{ user: wang.fnag }]",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::UnknownUser, 30, 17));
    assert_eq!(d.message, "unknown user `wang.fnag`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `wang.fang`?"));
}

#[test]
fn bad_duration() {
    let d = only(&base_with(
        "    assignees: [manager]\n",
        "    assignees: [manager]\n    deadline: { within: 3 weeks }\n",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::BadDuration, 22, 25));
    assert_eq!(d.message, "bad duration `3 weeks`: the unit is not known");
    assert!(d.hint.unwrap().contains("`3wd` (working days)"));
}

#[test]
fn bad_pattern_and_misplaced_key() {
    let ds = check_text(&base_with(
        "      min: 0",
        "      min: 0\n      pattern: \"[a-\"",
    ));
    let codes: Vec<Code> = ds.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec![Code::MisplacedKey, Code::BadPattern]);
    assert_eq!((ds[1].line, ds[1].column), (13, 16));
}

#[test]
fn bad_bounds() {
    let d = only(&base_with("      min: 0", "      min: 10\n      max: 5"));
    assert_eq!(
        (d.code, d.message.as_str()),
        (Code::BadBounds, "`amount` has min 10 above max 5")
    );
}

#[test]
fn unknown_field_in_assignee() {
    let d = only(&base_with(
        "assignees: [{ role: finance }]",
        "assignees: [{ regional_head_of: regoin }]",
    ));
    assert_eq!((d.code, d.line), (Code::UnknownField, 30));
    assert_eq!(d.hint.as_deref(), Some("did you mean `region`?"));
}

#[test]
fn bad_id() {
    let d = only(&base_with("id: expense", "id: Expense-Claim"));
    assert_eq!((d.code, d.line, d.column), (Code::BadId, 1, 5));
}

#[test]
fn bad_action_for_the_step_kind() {
    let d = only(&base_with(
        "    assignees: [{ role: finance }]\n",
        "    assignees: [{ role: finance }]\n    actions: [approve]\n",
    ));
    assert_eq!((d.code, d.line, d.column), (Code::BadAction, 31, 15));
}

#[test]
fn bad_vote_mode() {
    let d = only(&base_with(
        "    assignees: [manager]\n",
        "    assignees: [manager]\n    mode: { vote: { pass: 2, pass_percent: 50 } }\n",
    ));
    assert_eq!((d.code, d.line), (Code::BadMode, 22));
}

#[test]
fn bad_vote_weights_name_one_known_user_or_role_and_weigh_1_to_100() {
    let found = found(&base_with(
        "    assignees: [manager]\n",
        "    assignees: [manager]\n    mode: { vote: { pass_percent: 60, weights: [{ user: wang.fang, role: director, weight: 2 }, { role: no_such_role, weight: 3 }, { user: wang.fang, weight: 0 }] } }\n",
    ));
    let codes: Vec<Code> = found.iter().map(|f| f.0).collect();
    assert_eq!(
        codes,
        [Code::BadMode, Code::UnknownRole, Code::BadMode],
        "{found:?}"
    );
    assert!(found[0].3.contains("exactly one"), "{found:?}");
    assert!(found[2].3.contains("between 1 and 100"), "{found:?}");
    assert!(
        found.iter().all(|f| f.1 == 22),
        "at the mode's line: {found:?}"
    );
}

#[test]
fn missing_key_from_serde() {
    let d = only(&base_with("    outcome: approved\n", ""));
    assert_eq!(d.code, Code::MissingKey);
    assert_eq!(d.message, "end step `done` has no `outcome`");
}

#[test]
fn unreachable_transition_after_a_default_is_a_warning() {
    let ds = check_text(&base_with(
        "      - { on: approved, to: done }",
        "      - { on: approved, to: done }\n      - { on: approved, to: finance }",
    ));
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].severity, Severity::Warning);
}

#[test]
fn reports_every_problem_not_only_the_first() {
    let text = base_with(
        "assignees: [{ role: finance }]",
        "assignees: [{ role: finanse }]",
    )
    .replace("to: refused", "to: refsued")
    .replace("when: form.amount", "when: form.amout");
    let codes: Vec<Code> = check_text(&text).iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        vec![
            Code::CelUnknownName,
            Code::UnknownStep,
            Code::UnknownRole,
            Code::UnreachableStep
        ]
    );
}

#[test]
fn rendered_diagnostic_shows_the_line_and_a_caret() {
    let text = base_with(
        "      - { on: rejected, to: refused }",
        "      - { on: rejected, to: refsued }",
    );
    let d = of_code(&text, Code::UnknownStep);
    assert_eq!(
        d.render(Some(&text)),
        "error[unknown-step]: transition to unknown step `refsued`\n  --> test.yaml:27:29\n   |\n27 |       - { on: rejected, to: refsued }\n   |                             ^\n   = hint: did you mean `refused`?\n"
    );
}

#[test]
fn json_output_is_stable() {
    let text = base_with(
        "      - { on: rejected, to: refused }",
        "      - { on: rejected, to: refsued }",
    );
    let d = of_code(&text, Code::UnknownStep);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "severity": "error", "code": "unknown-step", "file": "test.yaml",
            "line": 27, "column": 29,
            "message": "transition to unknown step `refsued`",
            "hint": "did you mean `refused`?"
        })
    );
}

#[test]
fn a_rule_naming_a_missing_mail_template_is_an_error_at_its_line() {
    let (dir, changed) = signoff_tests::paid_template_rule_copy("checker-template");
    let catalog = signoff_engine::catalog::Catalog::load(std::slice::from_ref(&dir));
    let d = catalog
        .diagnostics
        .iter()
        .find(|d| d.code == signoff_engine::diagnostic::Code::UnknownTemplate)
        .expect("the missing template is reported");
    let line = changed
        .lines()
        .position(|l| l.contains("template: paid"))
        .unwrap()
        + 1;
    assert_eq!(d.line as usize, line);
    assert!(d
        .hint
        .as_deref()
        .unwrap_or_default()
        .contains("paid.zh.txt"));
    // With the file in place the definition checks clean.
    signoff_tests::write_mail_template(&dir, "paid.zh.txt", "x", "");
    std::fs::write(
        dir.join("templates/paid.zh.txt"),
        "{% block subject %}x{% endblock %}{% block intro %}{% endblock %}{% block ask %}{% endblock %}",
    )
    .unwrap();
    assert_eq!(
        signoff_engine::catalog::Catalog::load(&[dir]).error_count(),
        0
    );
}

#[test]
fn a_link_acts_through_a_request_field_and_does_one_thing() {
    let d = only(&base_with(
        "    outcome: approved\n",
        "    outcome: approved\n    links: [{ request: amount, step: pay, finish: true }]\n",
    ));
    assert_eq!((d.code, d.line), (Code::WrongType, 36));
    assert_eq!(d.message, "`amount` is a money field");
    let text = base_with(
        "    - id: region\n",
        "    - id: sale\n      type: request\n      label: { zh: 销售, en: Sale }\n      process: sales_confirmation\n    - id: region\n",
    );
    let text = text.replacen(
        "    outcome: approved\n",
        "    outcome: approved\n    links: [{ request: sale, step: await_payment, due: form.x, finish: true }]\n",
        1,
    );
    let d = only(&text);
    assert_eq!(d.code, Code::MissingKey);
    assert_eq!(
        d.message,
        "a link needs exactly one of `due` and `finish: true`"
    );
}

#[test]
fn a_wait_by_another_process_needs_a_step_of_it_that_finishes_the_wait() {
    let dir = signoff_tests::processes_copy(
        "checker-by",
        &[
            "sales_confirmation.yaml",
            "monthly_statement.yaml",
            "deferred_payment.yaml",
        ],
    );
    let path = dir.join("monthly_statement.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = text.replace("finish: true", "due: form.month");
    std::fs::write(&path, cut).unwrap();
    let catalog = signoff_engine::catalog::Catalog::load(&[dir]);
    let errors: Vec<_> = catalog
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].file.ends_with("sales_confirmation.yaml"));
    assert!(
        errors[0]
            .message
            .contains("no step of process `monthly_statement` finishes `await_statement`"),
        "{}",
        errors[0].message
    );
}

#[test]
fn a_step_only_field_is_editable_at_some_step_and_not_required_at_the_start() {
    let text = base_with(
        "      min: 0\n",
        "      min: 0\n      step_only: true\n      required: true\n",
    );
    let messages: Vec<String> = check_text(&text).into_iter().map(|d| d.message).collect();
    assert_eq!(
        messages,
        [
            "`amount` is `step_only` and `required`: the submitter cannot fill it in",
            "`amount` is `step_only` but no step lists it as `editable`",
        ]
    );
}

#[test]
fn summary_names_form_fields_each_once() {
    let d = only(&base_with("form:\n", "summary: [amount, regoin]\nform:\n"));
    assert_eq!((d.code, d.line, d.column), (Code::UnknownField, 7, 19));
    assert_eq!(d.hint.as_deref(), Some("did you mean `region`?"));
    let d = only(&base_with("form:\n", "summary: [amount, amount]\nform:\n"));
    assert_eq!(d.code, Code::DuplicateId);
    assert!(check_text(&base_with("form:\n", "summary: [region, amount]\nform:\n")).is_empty());
}
