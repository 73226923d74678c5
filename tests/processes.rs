//! The shipped definitions: all six load clean, carry the schema comment, can be drawn,
//! and the schema in the repository matches the language.

use signoff_engine::catalog::Catalog;
use signoff_engine::diagnostic::{Code, Severity};
use signoff_engine::model::{Assignee, StepKind};
use signoff_engine::{graph, model};
use signoff_tests::processes_dir;

const SHIPPED: [&str; 10] = [
    "reimbursement",
    "sales_confirmation",
    "deferred_payment",
    "staff_rotation",
    "appointment_review",
    "methodology_rollout",
    "onsite_report",
    "business_plan",
    "sales_ledger_check",
    "monthly_statement",
];

#[test]
fn the_shipped_processes_load_without_any_diagnostic() {
    let catalog = Catalog::load(&[processes_dir()]);
    // Only the calendar's own reminder that its known holidays end soon, when they do.
    let others: Vec<_> = catalog
        .diagnostics
        .iter()
        .filter(|d| d.code != Code::Calendar || d.severity != Severity::Warning)
        .collect();
    assert!(others.is_empty(), "{}", catalog.render());
    let mut ids: Vec<&str> = catalog
        .definitions
        .iter()
        .map(|d| d.def.id.value.as_str())
        .collect();
    ids.sort();
    let mut expected = SHIPPED.to_vec();
    expected.sort();
    assert_eq!(ids, expected);
    assert!(catalog.directory.is_some() && catalog.calendar.is_some());
}

#[test]
fn every_process_file_starts_with_the_schema_comment() {
    for id in SHIPPED {
        let text = std::fs::read_to_string(processes_dir().join(format!("{id}.yaml"))).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=./schema.json\n"),
            "{id}.yaml lacks the $schema comment"
        );
    }
}

#[test]
fn the_committed_schema_is_current() {
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(processes_dir().join("schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        committed,
        model::json_schema(),
        "processes/schema.json is stale: run `cargo run -- schema > processes/schema.json`"
    );
}

#[test]
fn every_process_can_be_drawn() {
    let catalog = Catalog::load(&[processes_dir()]);
    for d in &catalog.definitions {
        let mermaid = graph::mermaid(&d.def, &[]);
        assert!(mermaid.starts_with("stateDiagram-v2\n"));
        for step in d.def.all_steps() {
            assert!(
                mermaid.contains(&format!("{}:", step.id)),
                "{} missing from the diagram",
                step.id
            );
        }
        let dot = graph::dot(&d.def);
        assert!(dot.starts_with("digraph") && dot.trim_end().ends_with('}'));
    }
}

#[test]
fn the_model_follows_the_seeds() {
    let catalog = Catalog::load(&[processes_dir()]);
    let def = |id: &str| &catalog.definition(id).unwrap().def;

    // Reimbursement: tiers by amount above the service-management review.
    let reimbursement = def("reimbursement");
    let review = reimbursement.step("service_review").unwrap();
    assert!(review
        .transitions
        .iter()
        .any(|t| t.when.as_ref().is_some_and(|w| w.contains("director_tier"))));

    // Sales confirmation: cash customers pay within 7 working days.
    let payment = def("sales_confirmation").step("await_payment").unwrap();
    assert_eq!(payment.deadline.as_ref().unwrap().within.value, "7wd");

    // Appointment review: the panel scores in parallel, every panellist must score.
    let panel = def("appointment_review").step("panel_scoring").unwrap();
    assert_eq!(panel.mode(), model::Mode::All);
    assert!(panel
        .inputs
        .iter()
        .any(|i| i.id.value == "score" && i.min == Some(0.0) && i.max == Some(100.0)));

    // Staff rotation: the handover runs in two parallel branches.
    let handover = def("staff_rotation").step("handover").unwrap();
    assert_eq!(handover.kind.value, StepKind::Parallel);
    assert_eq!(handover.branches.len(), 2);

    // Methodology rollout: four regional branches, each led by that region's head,
    // and a way back to a new plan.
    let rollout = def("methodology_rollout");
    let regions = rollout.step("regional_rollout").unwrap();
    let heads: Vec<&Assignee> = regions
        .branches
        .iter()
        .map(|b| &b.steps[0].assignees[0].value)
        .collect();
    assert_eq!(
        heads,
        ["east", "south", "north", "west"]
            .map(|r| Assignee::RegionalHead(r.to_string()))
            .iter()
            .collect::<Vec<_>>()
    );
    assert!(rollout
        .step("revise_plan")
        .unwrap()
        .transitions
        .iter()
        .any(|t| t.to.value == "director_approval"));

    // Deferred payment: the new date must be after the original.
    assert!(def("deferred_payment")
        .form
        .rules
        .iter()
        .any(|r| r.check.contains("form.new_due > form.original_due")));
}

#[test]
fn every_role_used_has_members() {
    let catalog = Catalog::load(&[processes_dir()]);
    let dir = catalog.directory.as_ref().unwrap();
    for d in &catalog.definitions {
        for step in d.def.all_steps() {
            for a in &step.assignees {
                if let Assignee::Role(role) = &a.value {
                    assert!(
                        !dir.members(role).is_empty(),
                        "role {role} of {} has no members",
                        step.id
                    );
                }
            }
        }
    }
    for region in &dir.regions {
        assert!(dir.regional_head(&region.id).is_ok());
    }
}

#[test]
fn the_readme_example_is_a_clean_definition() {
    let readme = std::fs::read_to_string(signoff_tests::repo_root().join("README.md")).unwrap();
    let start = readme
        .find("```yaml\n# yaml-language-server")
        .expect("the README has the example")
        + "```yaml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let diagnostics = signoff_tests::check_text(&readme[start..end]);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

#[test]
fn the_checker_warns_when_the_calendar_ends_within_ninety_days() {
    use signoff_engine::catalog::ending_soon;
    let calendar = Catalog::load(&[processes_dir()])
        .calendar
        .expect("the calendar");
    let end = calendar.valid_until().expect("an end");
    assert_eq!(end.to_string(), "2027-01-01");
    let at = |date: &str| {
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(4, 0, 0)
            .unwrap()
            .and_utc()
    };
    let path = processes_dir().join("calendar.yaml");
    assert!(ending_soon(&calendar, &path, at("2026-09-01")).is_none());
    let warning = ending_soon(&calendar, &path, at("2026-11-23")).expect("a warning");
    assert!(
        warning.message.contains("39 days from now"),
        "{}",
        warning.message
    );
    // Beyond its end, deadlines count weekends only: New Year 2028 is a working day.
    assert!(calendar.beyond(at("2027-01-02")));
    assert!(calendar.is_working_day(chrono::NaiveDate::from_ymd_opt(2028, 1, 3).unwrap()));
}
