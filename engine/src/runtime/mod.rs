//! The runtime: durable requests moving through the definitions.
//!
//! Every state change is one database transaction. Writes go through one writer task
//! per engine that folds the actions waiting at that moment into one transaction (group
//! commit), each action in its own savepoint so a failing one rolls back alone, and
//! acknowledges each only after the commit. Reads use a pool of connections.

mod actions;
pub(crate) mod appends;
mod assign;
mod cmd;
mod done;
mod escalate;
mod files;
mod history;
mod links;
mod machine;
mod mail;
mod notes;
mod planner;
mod policy;
mod queries;
mod registry;
mod reports;
mod run_tasks;
mod schedule;
mod search;
mod signers;
mod types;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Notify};

use crate::calendar::Calendar;
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::directory::Directory;
use crate::notify::{outbox, MailQuery, MailView, Templates};
use crate::store::{self, Backend, Conn, Pool};
use planner::Planner;

pub use done::{DoneTask, MAX_DONE_PAGE};
pub use files::{content_id, Download, Upload};
pub use history::{Entry, HistoryAction};
pub use notes::Note;
pub use policy::{MAX_BATCH_TASKS, MAX_COMMENT_CHARS, PROCESS_ADMIN_ROLE};
pub use queries::{Counts, PublishError, RequestQuery, RequestSummary, VersionInfo};
pub use registry::Registry;
pub use reports::{Durations, MonthRow, Report, TaskFigures, MAX_REPORT_DAYS};
pub use search::{TaskCursor, TaskSort, MAX_SEARCH_CHARS};
pub use types::*;

use cmd::Command;
use machine::{Env, InstanceState, Machine};

/// Actions folded into one transaction at most.
const MAX_BATCH: usize = 256;

enum Reply {
    /// From a command on one request; the writer turns it into [`Reply::Acted`].
    Instance(InstanceId),
    Acted(Acted),
    Account(crate::accounts::Changed),
    Version(i64),
    Count(usize),
    Mail(Vec<outbox::Leased>),
}

struct Job {
    command: Command,
    reply: oneshot::Sender<Result<Reply, EngineError>>,
}

/// A handle on the writer: sends it a command and waits for the group commit holding it.
#[derive(Clone)]
pub(crate) struct Writer(mpsc::Sender<Job>);

impl Writer {
    async fn send(&self, command: Command) -> Result<Reply, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.0
            .send(Job { command, reply })
            .await
            .map_err(|_| EngineError::Closed)?;
        rx.await.map_err(|_| EngineError::Closed)?
    }
}

impl crate::accounts::ChangeWriter for Writer {
    fn write(
        &self,
        change: crate::accounts::Change,
    ) -> futures::future::BoxFuture<
        '_,
        Result<crate::accounts::Changed, crate::accounts::AccountError>,
    > {
        Box::pin(async move {
            match self.send(Command::Account(cmd::Account(change))).await {
                Ok(Reply::Account(changed)) => Ok(changed),
                Ok(_) => Err(EngineError::Closed.into()),
                Err(e) => Err(e.into()),
            }
        })
    }
}

impl From<EngineError> for crate::accounts::AccountError {
    fn from(e: EngineError) -> Self {
        crate::accounts::AccountError::NotStored(Box::new(e))
    }
}

/// A handle on the engine; cheap to clone. The writer stops when the last handle is
/// dropped or [`Engine::shutdown`] is called.
#[derive(Clone)]
pub struct Engine {
    core: Arc<Core>,
    writer: Writer,
    writer_task: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

/// What the writer shares with the handles (but not the sender, so handles can close it).
struct Core {
    pool: Pool,
    /// Which database `pool` is on.
    backend: Backend,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    planner: Planner,
    /// The definitions folder, where a published version is written.
    processes: std::path::PathBuf,
    /// Woken after a commit that queued mail, so the sender delivers at once.
    mail_queued: Arc<Notify>,
    /// Checks of submitted definitions running at once (see [`policy::MAX_CHECKS`]).
    checks: Arc<tokio::sync::Semaphore>,
    /// See [`EngineOptions::dry_run`].
    dry_run: bool,
}

/// How to open an engine.
pub struct EngineOptions {
    /// `sqlite://signoff.db` (created when missing) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// The definitions, `org.yaml`, `calendar.yaml` and mail `templates/`.
    pub processes: std::path::PathBuf,
    pub clock: Arc<dyn Clock>,
    /// Where the web inbox is reached; links in mail start with it.
    pub base_url: String,
    /// A dry run (`signoff simulate`): fields a step requires are not enforced and
    /// references to other requests are neither checked nor acted on, since a scratch
    /// database holds no other requests and nobody types the step's values.
    pub dry_run: bool,
}

/// Where the web server listens by default, and so where mail links point.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

impl EngineOptions {
    /// The options for `database_url` and `processes`, with the system clock and the
    /// default base URL.
    pub fn new(database_url: impl Into<String>, processes: impl Into<std::path::PathBuf>) -> Self {
        EngineOptions {
            database_url: database_url.into(),
            processes: processes.into(),
            clock: Arc::new(crate::clock::SystemClock),
            base_url: DEFAULT_BASE_URL.into(),
            dry_run: false,
        }
    }
}

impl Engine {
    /// Opens the database (applying migrations), registers the definitions in
    /// `processes` as versions, and starts the writer.
    pub async fn open(options: EngineOptions) -> Result<Engine, EngineError> {
        let catalog = Catalog::load(std::slice::from_ref(&options.processes));
        if catalog.error_count() > 0 {
            return Err(EngineError::Definition(format!(
                "{} has errors; run `signoff check`:\n{}",
                options.processes.display(),
                catalog.render()
            )));
        }
        let crate::store::Opened {
            pool,
            writer: writer_conn,
            backend,
        } = crate::store::open(&options.database_url).await?;
        let templates = Templates::load(&options.processes.join(crate::catalog::TEMPLATES_DIR))
            .map_err(|e| EngineError::Definition(e.to_string()))?;
        let registry = Arc::new(Registry::load(&pool, &catalog, options.clock.now()).await?);
        let (tx, rx) = mpsc::channel(4096);
        let core = Arc::new(Core {
            checks: Arc::new(tokio::sync::Semaphore::new(policy::MAX_CHECKS)),
            pool,
            backend,
            registry,
            clock: options.clock,
            planner: Planner::new(templates, &options.base_url),
            processes: options.processes,
            mail_queued: Arc::new(Notify::new()),
            dry_run: options.dry_run,
        });
        let task = tokio::spawn(run_writer(Arc::clone(&core), writer_conn, rx));
        Ok(Engine {
            core,
            writer: Writer(tx),
            writer_task: Arc::new(std::sync::Mutex::new(Some(task))),
        })
    }

    /// Finishes the actions already sent, then closes the database. Other handles on
    /// this engine get [`EngineError::Closed`] afterwards.
    pub async fn shutdown(self) {
        let task = self
            .writer_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let pool = self.core.pool.clone();
        drop(self);
        if let Some(task) = task {
            // The writer ends when every sender is gone; a handle kept elsewhere (the
            // scheduler) would keep it alive, so do not wait forever.
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        pool.close().await;
    }

    pub fn registry(&self) -> &Registry {
        &self.core.registry
    }

    pub fn directory(&self) -> &Directory {
        &self.core.registry.directory
    }

    /// The definitions folder (the newest published version of each process is there).
    pub fn processes_dir(&self) -> &Path {
        &self.core.processes
    }

    /// A dry run of `process` on the definitions folder, as `submitter` with `form`,
    /// rejecting at the steps `decide` names (`STEP=reject`); see [`crate::simulate`].
    pub async fn simulate(
        &self,
        process: &str,
        submitter: &str,
        form: Value,
        decide: &[String],
    ) -> Result<crate::simulate::Simulation, EngineError> {
        crate::simulate::run(&self.core.processes, process, form, submitter, decide).await
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.core.clock.now()
    }

    async fn send(&self, command: Command) -> Result<Reply, EngineError> {
        self.writer.send(command).await
    }

    async fn send_for_instance(&self, command: Command) -> Result<InstanceView, EngineError> {
        let acted = self.send_for_acted(command).await?;
        self.instance(acted.instance).await
    }

    async fn send_for_acted(&self, command: Command) -> Result<Acted, EngineError> {
        match self.send(command).await? {
            Reply::Acted(acted) => Ok(acted),
            _ => Err(EngineError::Closed),
        }
    }

    /// Starts a request of the newest version of `process`; replies with the request.
    pub async fn start(
        &self,
        process: &str,
        submitter: &str,
        form: Value,
    ) -> Result<InstanceView, EngineError> {
        let acted = self.submit(process, submitter, form).await?;
        self.instance(acted.instance).await
    }

    /// Starts a request of the newest version of `process`; replies with what changed
    /// (its id, state and first tasks), known at the commit.
    pub async fn submit(
        &self,
        process: &str,
        submitter: &str,
        form: Value,
    ) -> Result<Acted, EngineError> {
        self.submit_with_files(process, submitter, form, Vec::new())
            .await
    }

    /// [`Engine::submit`] with the files uploaded for the form's file fields (checked by
    /// [`Engine::upload`]); they are stored with the request, or not at all.
    pub async fn submit_with_files(
        &self,
        process: &str,
        submitter: &str,
        form: Value,
        uploads: Vec<Upload>,
    ) -> Result<Acted, EngineError> {
        let (_, def) = self
            .core
            .registry
            .latest(process)
            .ok_or_else(|| EngineError::UnknownProcess(process.to_string()))?;
        if !self.may_start(&def, submitter) {
            return Err(EngineError::NotAStarter(process.to_string()));
        }
        self.send_for_acted(Command::Start(cmd::Start {
            process: process.into(),
            submitter: submitter.into(),
            form,
            uploads,
        }))
        .await
    }

    /// Checks a form `submitter` would start `process` with, starting nothing: every
    /// problem the start would refuse it for, in one round (for a page that found typing
    /// errors of its own first and shows them all together).
    pub fn check_form(
        &self,
        process: &str,
        submitter: &str,
        form: &serde_json::Value,
        uploads: &[Upload],
    ) -> Result<(), EngineError> {
        let (_, def) = self
            .registry()
            .latest(process)
            .ok_or_else(|| EngineError::UnknownProcess(process.to_string()))?;
        let vars = serde_json::Value::Object(
            def.variables
                .iter()
                .map(|v| (v.id.value.clone(), v.initial.clone().unwrap_or_default()))
                .collect(),
        );
        crate::form::refuse_step_only(&def, form).map_err(EngineError::InvalidForm)?;
        let mut form = form.clone();
        files::files_into_form(&def, &mut form, uploads)?;
        let scope = machine::scope_at(
            self.directory(),
            self.now(),
            submitter,
            &serde_json::Value::Null,
            &vars,
        );
        crate::form::validate_form(&def, &form, self.directory(), &scope)
            .map(|_| ())
            .map_err(EngineError::InvalidForm)
    }

    /// Does `request` on `task` as `actor`; replies with the request as it now stands.
    pub async fn act(
        &self,
        task: TaskId,
        actor: &str,
        request: ActionRequest,
    ) -> Result<InstanceView, EngineError> {
        let acted = self.perform(task, actor, request).await?;
        self.instance(acted.instance).await
    }

    /// Does `request` on `task` as `actor`; replies with what changed, known at the
    /// commit, for callers that do not show the whole request (a page that redirects).
    pub async fn perform(
        &self,
        task: TaskId,
        actor: &str,
        request: ActionRequest,
    ) -> Result<Acted, EngineError> {
        policy::check_comment(request.comment.as_deref())?;
        let result = self
            .send_for_acted(Command::Act(cmd::Act {
                task,
                actor: actor.into(),
                request,
            }))
            .await;
        self.hide_unseen(result, actor).await
    }

    /// Approves each of `tasks` as `actor` with the one comment of `request`, each on its
    /// own: its own history entry and result, one refused does not stop the others. The
    /// approvals reach the writer together, so they share group commits.
    pub async fn perform_each(
        &self,
        tasks: &[TaskId],
        actor: &str,
        request: &ActionRequest,
    ) -> Result<Vec<(TaskId, Result<Acted, EngineError>)>, EngineError> {
        policy::check_batch(tasks.len(), request.action)?;
        policy::check_comment(request.comment.as_deref())?;
        let mut unique = tasks.to_vec();
        unique.sort_by_key(|t| t.0);
        unique.dedup();
        let results = futures::future::join_all(
            unique
                .iter()
                .map(|task| self.perform(*task, actor, request.clone())),
        )
        .await;
        Ok(unique.into_iter().zip(results).collect())
    }

    pub async fn withdraw(
        &self,
        instance: InstanceId,
        actor: &str,
        comment: Option<&str>,
    ) -> Result<InstanceView, EngineError> {
        policy::check_comment(comment)?;
        self.send_for_instance(Command::Withdraw(cmd::Withdraw {
            instance,
            actor: actor.into(),
            comment: comment.map(str::to_string),
        }))
        .await
    }

    /// Takes the request back (拿回): `actor` made its latest decision and nobody has
    /// acted since; their task opens again.
    pub async fn take_back(
        &self,
        instance: InstanceId,
        actor: &str,
        comment: Option<&str>,
    ) -> Result<InstanceView, EngineError> {
        policy::check_comment(comment)?;
        self.send_for_instance(Command::TakeBack(cmd::TakeBack {
            instance,
            actor: actor.into(),
            comment: comment.map(str::to_string),
        }))
        .await
    }

    /// Moves the request to step `to` (跳转), for its process's owners and
    /// administrators, with a reason.
    pub async fn jump(
        &self,
        instance: InstanceId,
        actor: &str,
        to: &str,
        reason: &str,
    ) -> Result<InstanceView, EngineError> {
        let reason = policy::reason(reason, "jump")?;
        self.send_for_instance(Command::Jump(cmd::Jump {
            instance,
            actor: actor.into(),
            to: to.into(),
            comment: reason,
        }))
        .await
    }

    /// Ends the request (终止), for its process's owners and administrators, with a
    /// reason.
    pub async fn terminate(
        &self,
        instance: InstanceId,
        actor: &str,
        reason: &str,
    ) -> Result<InstanceView, EngineError> {
        let reason = policy::reason(reason, "terminate")?;
        self.send_for_instance(Command::Terminate(cmd::Terminate {
            instance,
            actor: actor.into(),
            comment: reason,
        }))
        .await
    }

    /// Reminds the current assignees now; at most once an hour per request.
    pub async fn urge(
        &self,
        instance: InstanceId,
        actor: &str,
    ) -> Result<InstanceView, EngineError> {
        self.send_for_instance(Command::Urge(cmd::Urge {
            instance,
            actor: actor.into(),
        }))
        .await
    }

    /// Fires every timer due by the engine's clock; returns how many fired.
    pub async fn fire_due_timers(&self) -> Result<usize, EngineError> {
        match self.send(Command::FireDue(cmd::FireDue)).await? {
            Reply::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    /// Resumes a request stopped by an incident, on the newest version of its process.
    pub async fn retry(
        &self,
        instance: InstanceId,
        actor: &str,
    ) -> Result<InstanceView, EngineError> {
        self.send_for_instance(Command::Retry(cmd::Retry {
            instance,
            actor: actor.into(),
        }))
        .await
    }

    /// Moves running requests of `process` from version `from` to `to`; `mapping` renames
    /// steps (old, new); a step missing from the new version and the mapping is refused.
    pub async fn migrate(
        &self,
        process: &str,
        from: i64,
        to: i64,
        mapping: Vec<(String, String)>,
    ) -> Result<usize, EngineError> {
        match self
            .send(Command::Migrate(cmd::Migrate {
                process: process.into(),
                from,
                to,
                mapping,
            }))
            .await?
        {
            Reply::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    /// Routes `user`'s new tasks to `deputy` from `from` to `to` (dates, inclusive).
    pub async fn set_absence(
        &self,
        user: &str,
        deputy: &str,
        from: &str,
        to: &str,
    ) -> Result<(), EngineError> {
        self.send(Command::SetAbsence(cmd::SetAbsence {
            user: user.into(),
            deputy: Some(deputy.into()),
            from: from.into(),
            to: to.into(),
        }))
        .await
        .map(|_| ())
    }

    /// `user` is back in the office: absences not over yet end yesterday.
    pub async fn end_absence(&self, user: &str) -> Result<(), EngineError> {
        self.send(Command::SetAbsence(cmd::SetAbsence {
            user: user.into(),
            deputy: None,
            from: String::new(),
            to: String::new(),
        }))
        .await
        .map(|_| ())
    }

    /// `user`'s absences that are not over: (deputy, first day, last day), soonest first.
    pub async fn absences(&self, user: &str) -> Result<Vec<(String, String, String)>, EngineError> {
        let today = calendar_of(self)
            .local_date(self.now())
            .format("%Y-%m-%d")
            .to_string();
        Ok(store::absences::upcoming(&self.core.pool, user, &today).await?)
    }

    /// Runs the timer scheduler until the engine is dropped: fires due timers every
    /// `every`, including those that fell due while the process was down.
    pub fn spawn_scheduler(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(e) = engine.fire_due_timers().await {
                    if matches!(e, EngineError::Closed) {
                        break;
                    }
                    tracing::error!(error = %e, "firing timers");
                }
                if let Err(e) = engine.refresh_definitions().await {
                    tracing::error!(error = %e, "reading the current definitions");
                }
                if let Err(e) = engine.start_scheduled().await {
                    tracing::error!(error = %e, "starting scheduled requests");
                }
            }
        })
    }

    /// Picks up definition versions published on other servers; how many changed.
    pub async fn refresh_definitions(&self) -> Result<usize, EngineError> {
        let mut conn = self.core.pool.acquire().await?;
        self.core.registry.refresh(&mut conn).await
    }

    /// Which database this engine is on.
    pub fn backend(&self) -> Backend {
        self.core.backend
    }

    /// Passwords and sessions, in this engine's database.
    pub fn accounts(&self) -> crate::accounts::Accounts {
        crate::accounts::Accounts::new(self.core.pool.clone(), Arc::new(self.writer.clone()))
    }

    /// The outbox, newest first.
    pub async fn mail(&self, query: &MailQuery) -> Result<Vec<MailView>, EngineError> {
        Ok(outbox::list(&self.core.pool, query).await?)
    }

    /// Messages waiting and messages failed for good.
    pub async fn mail_backlog(&self) -> Result<(i64, i64), EngineError> {
        Ok(outbox::backlog(&self.core.pool).await?)
    }

    /// A request with its open tasks and full history.
    pub async fn instance(&self, id: InstanceId) -> Result<InstanceView, EngineError> {
        let row = store::instances::request(&self.core.pool, id.0)
            .await?
            .ok_or(EngineError::UnknownInstance(id))?;
        let current_steps = store::runs::active_steps_of(&self.core.pool, &[id.0])
            .await?
            .into_iter()
            .map(|(_, step)| step)
            .collect();
        let tasks = store::inbox::unfinished_of(&self.core.pool, id.0)
            .await?
            .into_iter()
            .map(|l| self.task_view(l))
            .collect();
        let decisions = [
            HistoryAction::Approve.as_str(),
            HistoryAction::Reject.as_str(),
            HistoryAction::Complete.as_str(),
        ];
        let history = store::events::history_of(&self.core.pool, id.0, decisions)
            .await?
            .into_iter()
            .map(event_view)
            .collect();
        let links = self.links_of(id).await?;
        let state = row.state;
        Ok(InstanceView {
            links,
            id,
            process: state.process_id,
            version: state.version,
            status: state.status,
            outcome: state.outcome,
            submitter: state.submitter,
            form: serde_json::from_str(&state.form).unwrap_or(Value::Null),
            vars: serde_json::from_str(&state.vars).unwrap_or(Value::Null),
            current_steps,
            tasks,
            incident: queries::incident_reason(state.incident.as_deref()),
            created_at: row.created_at,
            updated_at: row.updated_at,
            ended_at: row.ended_at,
            decided: state.decided != 0,
            history,
        })
    }

    /// The requests `id` refers to, and those referring to it.
    async fn links_of(&self, id: InstanceId) -> Result<Vec<RequestLink>, EngineError> {
        Ok(store::links::of(&self.core.pool, id.0)
            .await?
            .into_iter()
            .map(|r| RequestLink {
                field: r.field,
                other: InstanceId(r.other),
                process: r.process_id,
                status: r.status,
                incoming: r.incoming == 1,
            })
            .collect())
    }

    /// How many open tasks `user` holds (as assignee or delegate), per process.
    pub async fn task_counts(&self, user: &str) -> Result<Vec<(String, i64)>, EngineError> {
        Ok(store::inbox::counts_per_process(&self.core.pool, user).await?)
    }

    /// One task, open or not.
    pub async fn task(&self, id: TaskId) -> Result<TaskView, EngineError> {
        let line = store::inbox::line(&self.core.pool, id.0)
            .await?
            .ok_or(EngineError::UnknownTask(id))?;
        Ok(self.task_view(line))
    }

    fn task_view(&self, line: store::inbox::TaskLine) -> TaskView {
        let def = self.core.registry.version(&line.process_id, line.version);
        let step = def.as_ref().and_then(|d| d.step(&line.step_id).cloned());
        let actions = match line.kind {
            TaskKind::Resubmit => vec!["resubmit".to_string(), "comment".to_string()],
            TaskKind::Consult => vec!["reply".to_string(), "comment".to_string()],
            _ => {
                let mut a: Vec<String> = step
                    .as_ref()
                    .map(|s| {
                        s.allowed_actions()
                            .iter()
                            .map(|a| a.as_str().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                if !a.contains(&"comment".to_string()) {
                    a.push("comment".into());
                }
                a.push(ActionKind::CopyTo.as_str().into());
                a
            }
        };
        TaskView {
            id: TaskId(line.id),
            instance: InstanceId(line.instance_id),
            process_name: def
                .as_ref()
                .map_or_else(|| line.process_id.clone(), |d| d.name.to_string()),
            step_name: step
                .as_ref()
                .map_or_else(|| line.step_id.clone(), |s| s.display_name()),
            process: line.process_id,
            version: line.version,
            step: line.step_id,
            kind: line.kind,
            assignee: line.assignee,
            delegate: line.delegate,
            pool: line.pool != 0,
            status: line.status,
            submitter: line.submitter,
            created_at: line.created_at,
            due_at: line.due_at,
            actions,
            form: serde_json::from_str(&line.form).unwrap_or(Value::Null),
            submitted_at: line.submitted_at,
            amount: line.amount,
        }
    }
}

impl Core {
    async fn apply(
        &self,
        conn: &mut Conn,
        appends: &appends::Shared,
        command: Command,
    ) -> Result<Reply, EngineError> {
        let now = self.clock.now();
        let calendar = self.registry.calendar.clone();
        let env = Env {
            registry: &self.registry,
            directory: &self.registry.directory,
            calendar: &calendar,
            now,
            dry_run: self.dry_run,
            links: Default::default(),
            appends,
        };
        let reply = command.apply(self, conn, &env).await?;
        self.follow_links(conn, &env).await?;
        Ok(reply)
    }

    async fn machine<'a, 'c>(
        &self,
        conn: &'c mut Conn,
        env: &'a Env<'a>,
        id: InstanceId,
    ) -> Result<Machine<'a, 'c>, EngineError> {
        let row = store::instances::state(&mut *conn, id.0)
            .await?
            .ok_or(EngineError::UnknownInstance(id))?;
        self.machine_of(conn, env, id, row).await
    }

    /// A task, its run's tasks (as they stood before the action) and a machine on its
    /// request, read in one statement.
    async fn machine_for_task<'a, 'c>(
        &self,
        conn: &'c mut Conn,
        env: &'a Env<'a>,
        task: TaskId,
    ) -> Result<(actions::TaskRow, Vec<run_tasks::RunTask>, Machine<'a, 'c>), EngineError> {
        let (row, run_tasks) = store::tasks::with_state(&mut *conn, task.0)
            .await?
            .ok_or(EngineError::UnknownTask(task))?;
        let instance = InstanceId(row.task.instance_id);
        let run = row.task.run_id;
        let mut machine = self.machine_of(conn, env, instance, row.state).await?;
        machine.know_run(run, row.run.into());
        Ok((row.task.into(), run_tasks, machine))
    }

    /// A machine on request `id` in state `row`.
    async fn machine_of<'a, 'c>(
        &self,
        conn: &'c mut Conn,
        env: &'a Env<'a>,
        id: InstanceId,
        row: store::instances::StateRow,
    ) -> Result<Machine<'a, 'c>, EngineError> {
        let (process, version) = (row.process_id, row.version);
        let def = self
            .registry
            .fetch(conn, &process, version)
            .await?
            .ok_or_else(|| {
                EngineError::Definition(format!("version {version} of `{process}` is not stored"))
            })?;
        let state = InstanceState {
            id,
            process,
            version,
            status: row.status,
            outcome: row.outcome,
            submitter: row.submitter,
            form: serde_json::from_str(&row.form).unwrap_or(json!({})),
            vars: serde_json::from_str(&row.vars).unwrap_or(json!({})),
            incident: row.incident.and_then(|i| serde_json::from_str(&i).ok()),
            decided: row.decided != 0,
        };
        Ok(Machine::new(conn, env, def, state))
    }
}

/// A history entry as pages and the API show it.
fn event_view(e: store::events::HistoryRow) -> EventView {
    EventView {
        id: e.id,
        at: e.at,
        actor: e.actor,
        on_behalf_of: e.on_behalf_of,
        action: HistoryAction::parse(&e.action),
        step: e.step_id,
        task: e.task_id.map(TaskId),
        comment: e.comment,
        changes: e.changes.and_then(|c| serde_json::from_str(&c).ok()),
        detail: e.detail,
        inputs: e.inputs.and_then(|i| serde_json::from_str(&i).ok()),
    }
}

/// The writer: one transaction for all the actions waiting, each in a savepoint.
async fn run_writer(engine: Arc<Core>, mut conn: Conn, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = commit_batch(&engine, &mut conn, &mut batch).await;
        match results {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed");
                let message = e.to_string();
                for job in batch.drain(..) {
                    let _ = job
                        .reply
                        .send(Err(EngineError::CommitFailed(message.clone())));
                }
            }
        }
    }
}

async fn commit_batch(
    engine: &Core,
    conn: &mut Conn,
    batch: &mut [Job],
) -> Result<Vec<Result<Reply, EngineError>>, sqlx::Error> {
    let mut tx = crate::store::begin_write(conn, engine.backend).await?;
    let appends = appends::Shared::new(appends::Appends::begin(&mut tx).await?);
    let mut results = Vec::with_capacity(batch.len());
    for (i, job) in batch.iter_mut().enumerate() {
        let command = std::mem::replace(&mut job.command, Command::FireDue(cmd::FireDue));
        let mark = appends.lock().mark();
        // Each action in its own savepoint, released as the next one is taken; the commit
        // releases the last.
        store::savepoint(&mut tx, i == 0).await?;
        let mut result = match engine.apply(&mut tx, &appends, command).await {
            Ok(Reply::Instance(id)) => acted(&mut tx, &appends, id, mark).await.map(Reply::Acted),
            other => other,
        };
        if result.is_ok() {
            // The action's mail is queued with the action, in its own savepoint.
            if let Err(e) = engine
                .planner
                .plan(&mut tx, &engine.registry, &appends, mark)
                .await
            {
                result = Err(e);
            }
        }
        if result.is_err() {
            store::rollback_to_savepoint(&mut tx).await?;
            appends.lock().rollback(mark);
        }
        results.push(result);
    }
    let appends = appends.into_inner();
    let mail = appends.has_mail();
    appends.flush(&mut tx).await?;
    tx.commit().await?;
    if mail {
        engine.mail_queued.notify_one();
    }
    Ok(results)
}

/// What the action since `mark` did to request `id`: from what the batch kept of it, or
/// (when the action did not save it) its stored state.
async fn acted(
    conn: &mut Conn,
    appends: &appends::Shared,
    id: InstanceId,
    mark: appends::Mark,
) -> Result<Acted, EngineError> {
    if let Some(acted) = appends.lock().acted(id, mark) {
        return Ok(acted);
    }
    let status = store::instances::status(conn, id.0)
        .await?
        .ok_or(EngineError::UnknownInstance(id))?;
    Ok(Acted {
        instance: id,
        status,
        assigned: Vec::new(),
    })
}

/// Opens an engine on the SQLite file at `path` with the definitions in `processes`.
pub async fn open_sqlite(
    path: &Path,
    processes: &Path,
    clock: Arc<dyn Clock>,
) -> Result<Engine, EngineError> {
    let mut options = EngineOptions::new(format!("sqlite://{}", path.display()), processes);
    options.clock = clock;
    Engine::open(options).await
}

/// The working calendar in use.
pub fn calendar_of(engine: &Engine) -> &Calendar {
    &engine.core.registry.calendar
}
