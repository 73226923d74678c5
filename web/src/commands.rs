//! The engine's command-line commands: a scripting contract (JSON where asked, errors on
//! stderr with a non-zero exit).

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::{json, Value};
use signoff_engine::clock::{Clock, SystemClock};
use signoff_engine::notify::{MailQuery, MailStatus, MailView, SenderOptions};
use signoff_engine::runtime::{
    ActionRequest, Engine, EngineError, EngineOptions, InstanceId, InstanceView, SignerPosition,
    TaskId, TaskQuery, TaskView,
};

use crate::{bench, Command, Store};
use signoff_web::server;

pub fn is_engine_command(command: &Command) -> bool {
    !matches!(
        command,
        Command::Check { .. } | Command::Graph { .. } | Command::Schema
    )
}

/// Opens the engine and fires the timers that fell due while nothing was running; says
/// how many fired.
async fn open(store: &Store, clock: Arc<dyn Clock>) -> anyhow::Result<(Engine, usize)> {
    let mut options = EngineOptions::new(&store.db, &store.processes);
    options.clock = clock;
    options.base_url = store.mail.base_url.clone();
    let engine = Engine::open(options)
        .await
        .with_context(|| format!("opening {}", signoff_engine::store::redact(&store.db)))?;
    let fired = engine.fire_due_timers().await?;
    engine.start_scheduled().await?;
    Ok((engine, fired))
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
            e.at,
            e.actor,
            e.action.as_str()
        );
    }
}

fn parse_id<T: std::str::FromStr<Err = String>>(text: &str) -> anyhow::Result<T> {
    text.parse().map_err(|e: String| anyhow::anyhow!(e))
}

fn store_of(command: &Command) -> Option<&Store> {
    match command {
        Command::Start { store, .. }
        | Command::Tasks { store, .. }
        | Command::Act { store, .. }
        | Command::Show { store, .. }
        | Command::Withdraw { store, .. }
        | Command::TakeBack { store, .. }
        | Command::Jump { store, .. }
        | Command::Terminate { store, .. }
        | Command::Urge { store, .. }
        | Command::Retry { store, .. }
        | Command::Absence { store, .. }
        | Command::Migrate { store, .. }
        | Command::Mail { store, .. }
        | Command::Timers { store } => Some(store),
        _ => None,
    }
}

fn show(view: &InstanceView, json: bool) {
    if json {
        print_json(view)
    } else {
        print_instance(view)
    }
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            server::serve(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Passwd { user, store } => passwd(&user, &store).await,
        Command::Simulate {
            process,
            form,
            user,
            decide,
            json,
            processes,
        } => {
            simulate(
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
            open,
            clients,
            process,
            processes,
            smtp,
            http,
            finished,
        } => {
            let plan = bench::Plan {
                db: &db,
                open: &open,
                clients,
                process: process.as_deref(),
                processes: &processes,
                smtp: smtp.as_deref(),
                http,
                finished,
            };
            print!("{}", bench::run(&plan).await?);
            Ok(ExitCode::SUCCESS)
        }
        command => run_on_store(command).await,
    }
}

/// Sets a user's password, read as one line from standard input.
async fn passwd(user: &str, store: &Store) -> anyhow::Result<ExitCode> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let (engine, _) = open(store, Arc::new(SystemClock)).await?;
    if engine.directory().user(user).is_none() {
        engine.shutdown().await;
        return Ok(fail(&EngineError::UnknownUser(user.to_string())));
    }
    let result = engine
        .accounts()
        .set_password(user, password.trim_end_matches(['\r', '\n']))
        .await;
    engine.shutdown().await;
    result?;
    println!("password set for {user}");
    Ok(ExitCode::SUCCESS)
}

/// Runs a command on a store: reads its inputs, opens the engine, executes it, sends mail.
async fn run_on_store(command: Command) -> anyhow::Result<ExitCode> {
    let store = store_of(&command)
        .cloned()
        .context("not an engine command")?;
    // Read inputs before opening the database, so a bad file leaves nothing half-done.
    let request = action_request(&command)?;
    let start_form = match &command {
        Command::Start { form, .. } => Some(read_json(form)?),
        _ => None,
    };
    let sender = store.mail.sender_options()?;
    let (engine, fired) = open(&store, Arc::new(SystemClock)).await?;
    if matches!(command, Command::Mail { .. }) {
        deliver(&engine, &sender).await;
    }
    let result = execute(&engine, command, request, start_form, fired).await;
    // A command exits right away, so it delivers the mail it (or an earlier one) queued.
    deliver(&engine, &sender).await;
    engine.shutdown().await;
    Ok(match result? {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    })
}

/// The request an `act` command makes, its form and inputs read; `None` for other commands.
fn action_request(command: &Command) -> anyhow::Result<Option<ActionRequest>> {
    let Command::Act {
        action,
        comment,
        to,
        form,
        inputs,
        position,
        ..
    } = command
    else {
        return Ok(None);
    };
    Ok(Some(ActionRequest {
        action: Some(action.parse().map_err(|e: String| anyhow::anyhow!(e))?),
        comment: comment.clone(),
        to: to.clone(),
        form: form.as_deref().map(read_json).transpose()?,
        inputs: inputs.as_deref().map(read_json).transpose()?,
        position: position.as_deref().map(signer_position),
    }))
}

/// Where an added signer decides: `before` the actor, else after.
fn signer_position(position: &str) -> SignerPosition {
    if position == "before" {
        SignerPosition::Before
    } else {
        SignerPosition::After
    }
}

/// One delivery pass; what could not be delivered stays queued and is reported.
async fn deliver(engine: &Engine, sender: &SenderOptions) {
    match engine.deliver_mail(sender).await {
        Ok(pass) if pass.retrying + pass.failed > 0 => eprintln!(
            "warning: {} message(s) not delivered via {}; see `signoff mail`",
            pass.retrying + pass.failed,
            sender.transport.describe()
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: delivering mail: {e}"),
    }
}

/// Runs a command on one request as a whole (withdraw, take back, jump, terminate, urge,
/// retry).
async fn on_request(engine: &Engine, command: Command) -> anyhow::Result<Result<(), EngineError>> {
    Ok(match command {
        Command::Withdraw {
            instance,
            user,
            comment,
            ..
        } => engine
            .withdraw(parse_id(&instance)?, &user, comment.as_deref())
            .await
            .map(|v| print_json(&v)),
        Command::TakeBack {
            instance,
            user,
            comment,
            ..
        } => engine
            .take_back(parse_id(&instance)?, &user, comment.as_deref())
            .await
            .map(|v| print_json(&v)),
        Command::Jump {
            instance,
            step,
            user,
            reason,
            ..
        } => engine
            .jump(parse_id(&instance)?, &user, &step, &reason)
            .await
            .map(|v| print_json(&v)),
        Command::Terminate {
            instance,
            user,
            reason,
            ..
        } => engine
            .terminate(parse_id(&instance)?, &user, &reason)
            .await
            .map(|v| print_json(&v)),
        Command::Urge { instance, user, .. } => {
            let id: InstanceId = parse_id(&instance)?;
            engine
                .urge(id, &user)
                .await
                .map(|_| println!("urged the assignees of request {id}"))
        }
        Command::Retry { instance, user, .. } => engine
            .retry(parse_id(&instance)?, &user)
            .await
            .map(|v| print_json(&v)),
        _ => anyhow::bail!("not a command on one request"),
    })
}

/// Runs one engine command; the outer error is a usage problem, the inner one the engine's.
async fn execute(
    engine: &Engine,
    command: Command,
    request: Option<ActionRequest>,
    start_form: Option<Value>,
    fired_at_open: usize,
) -> anyhow::Result<Result<(), EngineError>> {
    Ok(match command {
        Command::Start { process, user, .. } => engine
            .start(&process, &user, start_form.unwrap_or(Value::Null))
            .await
            .map(|v| print_json(&v)),
        Command::Tasks {
            user,
            process,
            json,
            ..
        } => list_tasks(engine, user, process, json).await,
        Command::Act {
            task, user, json, ..
        } => {
            let task: TaskId = parse_id(&task)?;
            engine
                .act(task, &user, request.unwrap_or_default())
                .await
                .map(|v| show(&v, json))
        }
        Command::Show { instance, json, .. } => engine
            .instance(parse_id(&instance)?)
            .await
            .map(|v| show(&v, json)),
        command @ (Command::Withdraw { .. }
        | Command::TakeBack { .. }
        | Command::Jump { .. }
        | Command::Terminate { .. }
        | Command::Urge { .. }
        | Command::Retry { .. }) => on_request(engine, command).await?,
        Command::Absence {
            user,
            deputy,
            from,
            to,
            ..
        } => engine
            .set_absence(&user, &deputy, &from, &to)
            .await
            .map(|_| println!("{user}'s new tasks go to {deputy} from {from} to {to}")),
        Command::Migrate {
            process,
            from,
            to,
            map,
            ..
        } => migrate(engine, &process, from, to, &map).await?,
        Command::Mail {
            request,
            status,
            json,
            ..
        } => list_mail(engine, request, status, json).await,
        Command::Timers { .. } => engine
            .fire_due_timers()
            .await
            .map(|n| println!("fired {} timers", fired_at_open + n)),
        _ => anyhow::bail!("not an engine command"),
    })
}

/// Lists a user's open tasks, optionally of one process.
async fn list_tasks(
    engine: &Engine,
    user: String,
    process: Option<String>,
    json: bool,
) -> Result<(), EngineError> {
    if engine.directory().user(&user).is_none() {
        return Err(EngineError::UnknownUser(user));
    }
    engine
        .tasks(&TaskQuery {
            user,
            process,
            ..Default::default()
        })
        .await
        .map(|tasks| print_tasks(&tasks, json))
}

/// Prints a user's open tasks, as JSON or one line each.
fn print_tasks(tasks: &[TaskView], json: bool) {
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
}

/// Moves a process's running requests between versions, renaming steps as `map` says.
async fn migrate(
    engine: &Engine,
    process: &str,
    from: i64,
    to: i64,
    map: &[String],
) -> anyhow::Result<Result<(), EngineError>> {
    let mapping = step_mapping(map)?;
    Ok(engine
        .migrate(process, from, to, mapping)
        .await
        .map(|n| println!("moved {n} running requests of {process} from version {from} to {to}")))
}

/// Reads `--map OLD=NEW` step renames into (old, new) pairs.
fn step_mapping(map: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut mapping = Vec::new();
    for m in map {
        let (old, new) = m
            .split_once('=')
            .with_context(|| format!("`--map {m}`: write OLD=NEW"))?;
        mapping.push((old.to_string(), new.to_string()));
    }
    Ok(mapping)
}

/// Lists the outbox, optionally of one request or in one state.
async fn list_mail(
    engine: &Engine,
    request: Option<i64>,
    status: Option<MailStatus>,
    json: bool,
) -> Result<(), EngineError> {
    engine
        .mail(&MailQuery {
            instance: request,
            status,
            limit: None,
        })
        .await
        .map(|mail| print_mail(&mail, json))
}

/// Prints the outbox, as JSON or one line per message.
fn print_mail(mail: &[MailView], json: bool) {
    if json {
        print_json(&mail);
    } else if mail.is_empty() {
        println!("no mail");
    } else {
        for m in mail {
            println!(
                "{:>6}  {:<7} request {:<5} {:<14} to {:<40} {}{}",
                m.id,
                m.status.as_str(),
                m.instance,
                m.kind.as_str(),
                m.address,
                m.subject,
                m.last_error
                    .as_ref()
                    .map(|e| format!("  [{} tries: {e}]", m.attempts))
                    .unwrap_or_default()
            );
        }
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
    let simulation =
        match signoff_engine::simulate::run(processes, process, form, submitter, decide).await {
            Ok(s) => s,
            Err(e) => return Ok(fail(&e)),
        };
    if json_out {
        let view = &simulation.view;
        print_json(
            &json!({"process": process, "path": simulation.path, "status": view.status, "outcome": view.outcome, "incident": view.incident}),
        );
    } else {
        print_path(&simulation);
    }
    Ok(ExitCode::SUCCESS)
}

/// The simulated path as text: each step with who would be asked, the notes of who was
/// left out, and how the request ends (or where it waits).
fn print_path(simulation: &signoff_engine::simulate::Simulation) {
    for p in &simulation.path {
        let who = if p.assignees.is_empty() {
            "-".to_string()
        } else {
            p.assignees.join(", ")
        };
        println!("{:<28} {who}", p.step);
        for note in &p.notes {
            println!("{:<28}   ({note})", "");
        }
    }
    let view = &simulation.view;
    // Still running: it waits for something a dry run cannot do (another request).
    let waiting = (view.status == signoff_engine::runtime::InstanceStatus::Running)
        .then(|| format!("waiting at {}", view.current_steps.join(", ")));
    println!(
        "=> {} {}",
        view.status.as_str(),
        view.outcome
            .clone()
            .or(view.incident.clone())
            .or(waiting)
            .unwrap_or_default()
    );
}
