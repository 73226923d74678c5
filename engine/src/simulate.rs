//! Dry runs ("try it"): a request of a process driven to its end in a scratch engine of
//! its own, on a temporary SQLite file with a clock that jumps over waits, so an owner
//! sees the path a form would take and who would be asked at each step, including who was
//! left out and why. Nothing touches the real database; mail is planned, never sent.
//! One dry run at a time per server, each bounded in steps.

use crate::store::status::TaskKind;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::clock::ManualClock;
use crate::model::{Field, FieldType, StepKind};
use crate::runtime::{
    ActionKind, ActionRequest, Engine, EngineError, EngineOptions, HistoryAction, InstanceStatus,
    InstanceView, TaskStatus,
};

/// The most tasks a dry run decides before it stops where it is.
const MAX_ROUNDS: usize = 200;

/// One step on a simulated path.
#[derive(Debug, Clone, Serialize)]
pub struct SimulatedStep {
    pub step: String,
    /// Who would be asked, in order.
    pub assignees: Vec<String>,
    /// Who was left out and why (segregation of duties, the top of the hierarchy,
    /// auto-skips), as the engine's notes say.
    pub notes: Vec<String>,
}

/// What a dry run found.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub path: Vec<SimulatedStep>,
    /// The request as it ended (or where it waits: for another request, say).
    pub view: InstanceView,
}

/// One dry run at a time: each opens an engine of its own.
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Runs `process` from the definitions in `processes` with `form`, submitted by
/// `submitter`; every approval is approved but the steps `decide` names as `STEP=reject`.
pub async fn run(
    processes: &Path,
    process: &str,
    form: Value,
    submitter: &str,
    decide: &[String],
) -> Result<Simulation, EngineError> {
    let _turn = RUNNING
        .acquire()
        .await
        .map_err(|_| EngineError::Definition("dry runs are shut down".into()))?;
    let dir = std::env::temp_dir().join(format!(
        "signoff-simulate-{}-{}",
        std::process::id(),
        scratch_number()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| EngineError::Definition(e.to_string()))?;
    let clock = std::sync::Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut options = EngineOptions::new(
        format!("sqlite://{}", dir.join("dry-run.db").display()),
        processes,
    );
    options.clock = clock.clone();
    options.dry_run = true;
    let outcome = match Engine::open(options).await {
        Ok(engine) => {
            let outcome = drive(&engine, &clock, process, form, submitter, decide).await;
            engine.shutdown().await;
            outcome
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let view = outcome?;
    Ok(Simulation {
        path: path_of(&view),
        view,
    })
}

/// A name no other dry run of this process has.
fn scratch_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The steps the request went through, from its history.
fn path_of(view: &InstanceView) -> Vec<SimulatedStep> {
    let mut path: Vec<SimulatedStep> = Vec::new();
    for e in &view.history {
        let step = e.step.clone().unwrap_or_default();
        if e.action == HistoryAction::Enter {
            path.push(SimulatedStep {
                step,
                assignees: Vec::new(),
                notes: Vec::new(),
            });
            continue;
        }
        let Some(last) = path.iter_mut().rev().find(|p| p.step == step) else {
            continue;
        };
        match (e.action, &e.detail) {
            (HistoryAction::Skip, Some(why)) => last.notes.push(why.clone()),
            (HistoryAction::Assign | HistoryAction::Escalate, Some(who))
                if !last.assignees.contains(who) =>
            {
                last.assignees.push(who.clone());
            }
            _ => {}
        }
    }
    path
}

/// A stand-in value for a required step input.
fn sample_input(field: &Field) -> Value {
    match field.kind.value {
        FieldType::Number | FieldType::Money => {
            serde_json::json!(field.max.or(field.min).unwrap_or(1.0))
        }
        FieldType::Boolean => serde_json::json!(true),
        FieldType::Enum => serde_json::json!(field.options.first().map(|o| o.value.value.clone())),
        FieldType::Date => serde_json::json!("2026-01-01"),
        FieldType::Table | FieldType::File => serde_json::json!([]),
        _ => serde_json::json!("simulated"),
    }
}

/// Starts the request and decides its open tasks until it ends, waits on something a
/// dry run cannot do, or runs out of rounds.
async fn drive(
    engine: &Engine,
    clock: &ManualClock,
    process: &str,
    form: Value,
    submitter: &str,
    decide: &[String],
) -> Result<InstanceView, EngineError> {
    let mut view = engine.start(process, submitter, form).await?;
    for _ in 0..MAX_ROUNDS {
        if view.status != InstanceStatus::Running {
            break;
        }
        let Some(task) = view
            .tasks
            .iter()
            .find(|t| t.status == TaskStatus::Open)
            .cloned()
        else {
            // Only timers can move it: let time pass.
            clock.advance(chrono::Duration::days(400));
            engine.fire_due_timers().await?;
            view = engine.instance(view.id).await?;
            continue;
        };
        let def = engine
            .registry()
            .version(&view.process, view.version)
            .ok_or_else(|| EngineError::Definition("version vanished".into()))?;
        let step = def.step(&task.step).cloned();
        let who = task
            .delegate
            .clone()
            .unwrap_or_else(|| task.assignee.clone());
        if task.pool {
            engine
                .act(task.id, &who, ActionRequest::new(ActionKind::Claim))
                .await?;
        }
        let rejects = decide.iter().any(|d| d == &format!("{}=reject", task.step));
        let request = match step.as_ref().map(|s| s.kind.value) {
            _ if task.kind == TaskKind::Resubmit => ActionRequest::new(ActionKind::Resubmit),
            Some(StepKind::Approval) if rejects => ActionRequest::new(ActionKind::Reject),
            Some(StepKind::Approval) => ActionRequest::new(ActionKind::Approve),
            _ => {
                let inputs: serde_json::Map<String, Value> = step
                    .as_ref()
                    .map(|s| {
                        s.inputs
                            .iter()
                            .filter(|i| i.required)
                            .map(|i| (i.id.value.clone(), sample_input(i)))
                            .collect()
                    })
                    .unwrap_or_default();
                ActionRequest::new(ActionKind::Complete).inputs(Value::Object(inputs))
            }
        };
        view = engine.act(task.id, &who, request).await?;
    }
    Ok(view)
}
