//! The engine's command-line commands: a scripting contract (JSON where asked, errors on
//! stderr with a non-zero exit).

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::{json, Value};
use signoff_engine::clock::{Clock, ManualClock, SystemClock};
use signoff_engine::model::{FieldType, StepKind};
use signoff_engine::runtime::{
    ActionKind, ActionRequest, Engine, EngineError, EngineOptions, InstanceId, InstanceView,
    TaskId, TaskQuery, TaskStatus,
};

use crate::{bench, Command, Store};

pub fn is_engine_command(command: &Command) -> bool {
    !matches!(
        command,
        Command::Check { .. } | Command::Graph { .. } | Command::Schema
    )
}

async fn open(store: &Store, clock: Arc<dyn Clock>) -> anyhow::Result<Engine> {
    let engine = Engine::open(EngineOptions {
        database_url: store.db.clone(),
        processes: store.processes.clone(),
        clock,
    })
    .await
    .with_context(|| format!("opening {}", store.db))?;
    // Timers that fell due while nothing was running fire now, once.
    engine.fire_due_timers().await?;
    Ok(engine)
}

fn read_json(source: &str) -> anyhow::Result<Value> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        text
    } else {
        std::fs::read_to_string(source).with_context(|| format!("reading {source}"))?
    };
    serde_json::from_str(&text).with_context(|| format!("{source} is not valid JSON"))
}

/// Prints an engine error the way scripts expect: one line with the code, then details.
fn fail(e: &EngineError) -> ExitCode {
    eprintln!("error ({}): {e}", e.code());
    if let EngineError::InvalidForm(errors) = e {
        for (field, message) in &errors.fields {
            let field = if field.is_empty() { "(form)" } else { field };
            eprintln!("  {field}: {message}");
        }
    }
    ExitCode::FAILURE
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn print_instance(view: &InstanceView) {
    println!(
        "request {}  {} v{}  {}{}",
        view.id,
        view.process,
        view.version,
        view.status.as_str(),
        view.outcome
            .as_ref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default()
    );
    println!("submitted by {} at {}", view.submitter, view.created_at);
    if !view.current_steps.is_empty() {
        println!("at: {}", view.current_steps.join(", "));
    }
    for t in &view.tasks {
        let delegate = t
            .delegate
            .as_ref()
            .map(|d| format!(" (delegate {d})"))
            .unwrap_or_default();
        println!(
            "  task {}  {}  {}{}  {}",
            t.id,
            t.step,
            t.assignee,
            delegate,
            t.due_at
                .as_deref()
                .map(|d| format!("due {d}"))
                .unwrap_or_default()
        );
    }
    if let Some(incident) = &view.incident {
        println!("INCIDENT: {incident}");
    }
    println!("form: {}", view.form);
    println!("history:");
    for e in &view.history {
        let behalf = e
            .on_behalf_of
            .as_ref()
            .map(|b| format!(" for {b}"))
            .unwrap_or_default();
        let step = e
            .step
            .as_ref()
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default();
        let comment = e
            .comment
            .as_ref()
            .map(|c| format!(" \"{c}\""))
            .unwrap_or_default();
        let detail = e
            .detail
            .as_ref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let changes = e
            .changes
            .as_ref()
            .map(|c| format!(" changes {c}"))
            .unwrap_or_default();
        println!(
            "  {}  {}{behalf}  {}{step}{detail}{comment}{changes}",
            e.at, e.actor, e.action
        );
    }
}

fn parse_id<T: std::str::FromStr<Err = String>>(text: &str) -> anyhow::Result<T> {
    text.parse().map_err(|e: String| anyhow::anyhow!(e))
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let system: Arc<dyn Clock> = Arc::new(SystemClock);
    let result = match command {
        Command::Start {
            process,
            user,
            form,
            store,
        } => {
            let form = read_json(&form)?;
            let engine = open(&store, system).await?;
            let r = engine
                .start(&process, &user, form)
                .await
                .map(|v| print_json(&v));
            engine.shutdown().await;
            r
        }
        Command::Tasks {
            user,
            process,
            json,
            store,
        } => {
            let engine = open(&store, system).await?;
            let r = engine
                .tasks(&TaskQuery {
                    user,
                    process,
                    ..Default::default()
                })
                .await
                .map(|tasks| {
                    if json {
                        print_json(&tasks);
                    } else if tasks.is_empty() {
                        println!("no open tasks");
                    } else {
                        for t in tasks {
                            let due = t.due_at.as_deref().unwrap_or("-");
                            println!(
                                "{:>6}  {:<20} {:<28} request {:<5} from {:<10} due {due}  [{}]",
                                t.id,
                                t.process,
                                t.step,
                                t.instance,
                                t.submitter,
                                t.actions.join(" ")
                            );
                        }
                    }
                });
            engine.shutdown().await;
            r
        }
        Command::Act {
            task,
            action,
            user,
            comment,
            to,
            form,
            inputs,
            json,
            store,
        } => {
            let task: TaskId = parse_id(&task)?;
            let action: ActionKind = action.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let request = ActionRequest {
                action: Some(action),
                comment,
                to,
                form: form.as_deref().map(read_json).transpose()?,
                inputs: inputs.as_deref().map(read_json).transpose()?,
            };
            let engine = open(&store, system).await?;
            let r = engine.act(task, &user, request).await.map(|v| {
                if json {
                    print_json(&v)
                } else {
                    print_instance(&v)
                }
            });
            engine.shutdown().await;
            r
        }
        Command::Show {
            instance,
            json,
            store,
        } => {
            let id: InstanceId = parse_id(&instance)?;
            let engine = open(&store, system).await?;
            let r = engine.instance(id).await.map(|v| {
                if json {
                    print_json(&v)
                } else {
                    print_instance(&v)
                }
            });
            engine.shutdown().await;
            r
        }
        Command::Withdraw {
            instance,
            user,
            comment,
            store,
        } => {
            let id: InstanceId = parse_id(&instance)?;
            let engine = open(&store, system).await?;
            let r = engine
                .withdraw(id, &user, comment.as_deref())
                .await
                .map(|v| print_json(&v));
            engine.shutdown().await;
            r
        }
        Command::Urge {
            instance,
            user,
            store,
        } => {
            let id: InstanceId = parse_id(&instance)?;
            let engine = open(&store, system).await?;
            let r = engine
                .urge(id, &user)
                .await
                .map(|_| println!("urged the assignees of request {id}"));
            engine.shutdown().await;
            r
        }
        Command::Retry {
            instance,
            user,
            store,
        } => {
            let id: InstanceId = parse_id(&instance)?;
            let engine = open(&store, system).await?;
            let r = engine.retry(id, &user).await.map(|v| print_json(&v));
            engine.shutdown().await;
            r
        }
        Command::Absence {
            user,
            deputy,
            from,
            to,
            store,
        } => {
            let engine = open(&store, system).await?;
            let r = engine
                .set_absence(&user, &deputy, &from, &to)
                .await
                .map(|_| println!("{user}'s new tasks go to {deputy} from {from} to {to}"));
            engine.shutdown().await;
            r
        }
        Command::Migrate {
            process,
            from,
            to,
            map,
            store,
        } => {
            let mut mapping = Vec::new();
            for m in map {
                let (old, new) = m
                    .split_once('=')
                    .with_context(|| format!("`--map {m}`: write OLD=NEW"))?;
                mapping.push((old.to_string(), new.to_string()));
            }
            let engine = open(&store, system).await?;
            let r = engine.migrate(&process, from, to, mapping).await.map(|n| {
                println!("moved {n} running requests of {process} from version {from} to {to}")
            });
            engine.shutdown().await;
            r
        }
        Command::Timers { store } => {
            let engine = open(&store, system).await?;
            let r = engine
                .fire_due_timers()
                .await
                .map(|n| println!("fired {n} timers"));
            engine.shutdown().await;
            r
        }
        Command::Simulate {
            process,
            form,
            user,
            decide,
            json,
            processes,
        } => {
            return simulate(
                &process,
                read_json(&form)?,
                &user,
                &decide,
                json,
                &processes,
            )
            .await
        }
        Command::Bench {
            db,
            requests,
            clients,
            processes,
        } => {
            if let Some(path) = db.strip_prefix("sqlite://") {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
            let store = Store {
                db: db.clone(),
                processes,
            };
            let engine = open(&store, system).await?;
            let result = bench::run(engine.clone(), requests, clients).await?;
            engine.shutdown().await;
            print!("{}", bench::report(&result, clients, &db));
            Ok(())
        }
        Command::Check { .. } | Command::Graph { .. } | Command::Schema => {
            unreachable!("not an engine command")
        }
    };
    Ok(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    })
}

/// A stand-in value for a required step input, for dry runs.
fn sample_input(field: &signoff_engine::model::Field) -> Value {
    match field.kind.value {
        FieldType::Number | FieldType::Money => json!(field.max.or(field.min).unwrap_or(1.0)),
        FieldType::Boolean => json!(true),
        FieldType::Enum => json!(field.options.first().map(|o| o.value.value.clone())),
        FieldType::Date => json!("2026-01-01"),
        FieldType::Table => json!([]),
        _ => json!("simulated"),
    }
}

async fn simulate(
    process: &str,
    form: Value,
    submitter: &str,
    decide: &[String],
    json_out: bool,
    processes: &Path,
) -> anyhow::Result<ExitCode> {
    let db = std::env::temp_dir().join(format!("signoff-simulate-{}.db", std::process::id()));
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let engine = Engine::open(EngineOptions {
        database_url: format!("sqlite://{}", db.display()),
        processes: processes.to_path_buf(),
        clock: clock.clone(),
    })
    .await?;
    let outcome = drive(&engine, &clock, process, form, submitter, decide).await;
    engine.shutdown().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let view = match outcome {
        Ok(view) => view,
        Err(e) => return Ok(fail(&e)),
    };
    let mut path: Vec<Value> = Vec::new();
    for e in &view.history {
        match e.action.as_str() {
            "enter" => path.push(json!({"step": e.step, "assignees": []})),
            "assign" | "escalate" => {
                if let Some(last) = path
                    .iter_mut()
                    .rev()
                    .find(|p| p["step"].as_str() == e.step.as_deref())
                {
                    if let (Some(list), Some(who)) = (last["assignees"].as_array_mut(), &e.detail) {
                        if !list.iter().any(|w| w == who) {
                            list.push(json!(who));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if json_out {
        print_json(
            &json!({"process": process, "path": path, "status": view.status, "outcome": view.outcome, "incident": view.incident}),
        );
    } else {
        for p in &path {
            let who: Vec<&str> = p["assignees"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            println!(
                "{:<28} {}",
                p["step"].as_str().unwrap_or("?"),
                if who.is_empty() {
                    "-".to_string()
                } else {
                    who.join(", ")
                }
            );
        }
        println!(
            "=> {} {}",
            view.status.as_str(),
            view.outcome
                .clone()
                .or(view.incident.clone())
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn drive(
    engine: &Engine,
    clock: &ManualClock,
    process: &str,
    form: Value,
    submitter: &str,
    decide: &[String],
) -> Result<InstanceView, EngineError> {
    let mut view = engine.start(process, submitter, form).await?;
    for _ in 0..200 {
        if view.status != signoff_engine::runtime::InstanceStatus::Running {
            break;
        }
        let open: Vec<_> = view
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Open)
            .cloned()
            .collect();
        let Some(task) = open.first() else {
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
            _ if task.kind == "resubmit" => ActionRequest::new(ActionKind::Resubmit),
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
