//! The state machine: entering steps, deciding them by their mode, routing outcomes
//! through guards, joining branches, timers, returns and incidents. Everything here runs
//! inside the caller's transaction; nothing is committed until the caller commits.

use super::notes::Note;
use crate::store::status::{RunStatus, TaskKind, TaskStatus, TimerKind};
use std::collections::VecDeque;
use std::sync::Arc;

use crate::store::{self, Conn};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::calendar::Calendar;
use crate::clock::to_db;
use crate::directory::Directory;
use crate::duration::WorkDuration;
use crate::flow::{Flow, Target};
use crate::guard::{self, Scope};
use crate::model::{
    Assignee, AutoSkip, EndOutcome, Join, Mode, Outcome, ProcessDef, Step, StepKind, WaitUntil,
};

use super::history::HistoryAction;
use super::links::PendingLink;
use super::registry::Registry;
use super::types::{EngineError, InstanceId, InstanceStatus, TaskId};
use super::Entry;

/// More steps than this in one action means an automatic loop.
const MAX_STEPS_PER_ACTION: usize = 500;

/// The shared context of an action: what it reads, and the effects on other requests
/// it queues for [`super::Core::follow_links`].
pub struct Env<'a> {
    pub registry: &'a Registry,
    pub directory: &'a Directory,
    pub calendar: &'a Calendar,
    pub now: DateTime<Utc>,
    /// See [`super::EngineOptions::dry_run`].
    pub dry_run: bool,
    pub links: std::sync::Mutex<VecDeque<PendingLink>>,
    /// The history and mail the group commit writes at its end.
    pub appends: &'a super::appends::Shared,
}

impl Env<'_> {
    pub fn queue_link(&self, link: PendingLink) {
        if let Ok(mut links) = self.links.lock() {
            links.push_back(link);
        }
    }

    pub fn next_link(&self) -> Option<PendingLink> {
        self.links
            .lock()
            .ok()
            .and_then(|mut links| links.pop_front())
    }
}

/// What a CEL expression sees for a request of `submitter` with this form and variables.
pub fn scope_for(env: &Env<'_>, submitter: &str, form: &Value, vars: &Value) -> Scope {
    scope_at(env.directory, env.now, submitter, form, vars)
}

/// The guards' scope for `submitter`'s request at `now`.
pub fn scope_at(
    directory: &crate::directory::Directory,
    now: DateTime<Utc>,
    submitter: &str,
    form: &Value,
    vars: &Value,
) -> Scope {
    let submitter = match directory.user(submitter) {
        Some(u) => json!({
            "id": u.id.value, "name": u.name, "email": u.email,
            "roles": u.roles.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
            "region": u.region.as_ref().map(|r| r.value.clone()),
            "manager": u.manager.as_ref().map(|m| m.value.clone()),
        }),
        None => json!({ "id": submitter }),
    };
    let today = now
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    Scope {
        form: form.clone(),
        submitter,
        votes: json!({"approved": 0, "rejected": 0, "pending": 0, "total": 0, "ballots": []}),
        vars: vars.clone(),
        today,
    }
}

/// The instance row being worked on, written back by [`Machine::save`].
#[derive(Debug, Clone)]
pub struct InstanceState {
    pub id: InstanceId,
    pub process: String,
    pub version: i64,
    pub status: InstanceStatus,
    pub outcome: Option<String>,
    pub submitter: String,
    pub form: Value,
    pub vars: Value,
    pub incident: Option<Value>,
    pub decided: bool,
}

enum Work {
    Enter {
        step: String,
        parent: Option<i64>,
        branch: Option<String>,
    },
    Finish {
        run: i64,
        outcome: Outcome,
        /// The run's votes when the caller has just read them.
        votes: Option<Value>,
    },
}

/// A task to give: on which run and step, of which kind, to whom, where in the step's
/// order, in which status, due when.
pub struct NewSigner<'a> {
    pub run: i64,
    pub step: &'a str,
    pub kind: TaskKind,
    pub user: &'a str,
    /// Claimed from a pool rather than given to one person.
    pub pool: bool,
    pub seq: i64,
    pub status: TaskStatus,
    pub due: Option<&'a str>,
}

/// One action's work on one instance.
pub struct Machine<'a, 'c> {
    pub conn: &'c mut Conn,
    pub env: &'a Env<'a>,
    pub def: Arc<ProcessDef>,
    pub inst: InstanceState,
    queue: VecDeque<Work>,
    /// The runs of this request the action has read or written, as they now stand:
    /// every change an action makes to a run goes through the machine (a migration
    /// moves runs with no machine open).
    runs: std::collections::HashMap<i64, RunRow>,
}

pub use crate::store::runs::RunRow;

impl<'a, 'c> Machine<'a, 'c> {
    pub fn new(
        conn: &'c mut Conn,
        env: &'a Env<'a>,
        def: Arc<ProcessDef>,
        inst: InstanceState,
    ) -> Self {
        Machine {
            conn,
            env,
            def,
            inst,
            queue: VecDeque::new(),
            runs: std::collections::HashMap::new(),
        }
    }

    /// Keeps run `run` as just read, so [`Machine::run_row`] does not read it again.
    pub fn know_run(&mut self, run: i64, row: RunRow) {
        self.runs.insert(run, row);
    }

    /// Makes decided run `run` active again (taken back).
    pub async fn reactivate_run(&mut self, run: i64) -> Result<(), EngineError> {
        store::runs::reactivate(self.conn, run).await?;
        if let Some(row) = self.runs.get_mut(&run) {
            row.status = RunStatus::Active;
        }
        Ok(())
    }

    pub fn now(&self) -> String {
        to_db(self.env.now)
    }

    pub fn scope(&self) -> Scope {
        scope_for(
            self.env,
            &self.inst.submitter,
            &self.inst.form,
            &self.inst.vars,
        )
    }

    /// Appends an entry that is only who did what (no step, task, comment or detail).
    pub async fn record(&mut self, actor: &str, action: HistoryAction) -> Result<(), EngineError> {
        self.log(Entry::new(actor, action)).await
    }

    /// Appends `entry` to the request's history (written with the group commit).
    pub async fn log(&mut self, entry: Entry<'_>) -> Result<(), EngineError> {
        let now = self.now();
        self.env.appends.lock().event(self.inst.id.0, &now, &entry);
        Ok(())
    }

    pub async fn save(&mut self) -> Result<(), EngineError> {
        let ended = matches!(
            self.inst.status,
            InstanceStatus::Completed | InstanceStatus::Withdrawn
        );
        let now = self.now();
        let saved = store::instances::Saved {
            id: self.inst.id.0,
            version: self.inst.version,
            status: self.inst.status,
            outcome: self.inst.outcome.as_deref(),
            form: self.inst.form.to_string(),
            vars: self.inst.vars.to_string(),
            incident: self.inst.incident.as_ref().map(|i| i.to_string()),
            decided: self.inst.decided,
            updated_at: &now,
            ended,
            amount: crate::display::amount_of(&self.def, &self.inst.form),
        };
        store::instances::save(self.conn, &saved).await?;
        let touched = super::appends::Touched {
            status: self.inst.status,
            process: self.inst.process.clone(),
            version: self.inst.version,
            submitter: self.inst.submitter.clone(),
            form: self.inst.form.clone(),
        };
        self.env.appends.lock().touched(self.inst.id.0, touched);
        Ok(())
    }

    pub fn enter(&mut self, step: &str, parent: Option<i64>, branch: Option<String>) {
        self.queue.push_back(Work::Enter {
            step: step.to_string(),
            parent,
            branch,
        });
    }

    pub fn finish(&mut self, run: i64, outcome: Outcome) {
        self.queue.push_back(Work::Finish {
            run,
            outcome,
            votes: None,
        });
    }

    /// Finishes `run` with the `votes` just read from its tasks (nothing changed them
    /// since), so they are not read again.
    pub fn finish_with(&mut self, run: i64, outcome: Outcome, votes: Value) {
        self.queue.push_back(Work::Finish {
            run,
            outcome,
            votes: Some(votes),
        });
    }

    /// Works through everything queued; an error in the definition becomes an incident.
    pub async fn drain(&mut self) -> Result<(), EngineError> {
        let mut steps = 0;
        while let Some(work) = self.queue.pop_front() {
            steps += 1;
            if steps > MAX_STEPS_PER_ACTION {
                self.queue.clear();
                return self.incident(None, None, "more than 500 automatic steps in one action: the definition loops without waiting for anyone").await;
            }
            let result = match work {
                Work::Enter {
                    step,
                    parent,
                    branch,
                } => self.do_enter(&step, parent, branch).await,
                Work::Finish {
                    run,
                    outcome,
                    votes,
                } => self.do_finish(run, outcome, votes).await,
            };
            match result {
                Ok(()) => {}
                Err(Halt::Incident {
                    run,
                    outcome,
                    reason,
                }) => {
                    self.queue.clear();
                    return self.incident(run, outcome, &reason).await;
                }
                Err(Halt::Fatal(e)) => return Err(e),
            }
            if self.inst.status != InstanceStatus::Running {
                self.queue.clear();
            }
        }
        self.save().await
    }

    async fn incident(
        &mut self,
        run: Option<i64>,
        outcome: Option<Outcome>,
        reason: &str,
    ) -> Result<(), EngineError> {
        tracing::warn!(instance = %self.inst.id, reason, "incident");
        self.inst.status = InstanceStatus::Incident;
        self.inst.incident =
            Some(json!({"run": run, "outcome": outcome.map(|o| o.as_str()), "reason": reason}));
        self.log(Entry::new("engine", HistoryAction::Incident).detail(reason))
            .await?;
        self.save().await
    }

    async fn do_enter(
        &mut self,
        step_id: &str,
        parent: Option<i64>,
        branch: Option<String>,
    ) -> Result<(), Halt> {
        let def = Arc::clone(&self.def);
        let step = def.step(step_id).ok_or_else(|| {
            Halt::incident(None, None, format!("step `{step_id}` does not exist"))
        })?;
        // An end step is left as it is entered: its run is stored done.
        let (status, outcome, left) = if step.kind.value == StepKind::End {
            (RunStatus::Done, Some("end"), Some(self.now()))
        } else {
            (RunStatus::Active, None, None)
        };
        let now = self.now();
        let new_run = store::runs::NewRun {
            instance: self.inst.id.0,
            step: step_id,
            parent,
            branch: branch.as_deref(),
            status,
            outcome,
            entered_at: &now,
            left_at: left.as_deref(),
        };
        let run = store::runs::insert(self.conn, &new_run)
            .await
            .map_err(Halt::storage)?;
        let row = RunRow {
            step_id: step_id.to_string(),
            parent_run: parent,
            branch_id: branch.clone(),
            status,
        };
        self.know_run(run, row);
        self.log(Entry::new("engine", HistoryAction::Enter).step(step_id))
            .await
            .map_err(Halt::Fatal)?;
        self.queue_links(step, run)?;
        match step.kind.value {
            StepKind::End => self.enter_end(step).await?,
            StepKind::Auto => self.enter_auto(step, run).await?,
            // A wait `by` another process ends when one of its requests finishes it.
            StepKind::Wait if step.by.is_some() => {}
            StepKind::Wait => self.enter_wait(step, run).await?,
            StepKind::Parallel => {
                for b in &step.branches {
                    if let Some(first) = b.steps.first() {
                        self.enter(&first.id, Some(run), Some(b.id.value.clone()));
                    }
                }
            }
            StepKind::Approval | StepKind::Task => self.enter_human_step(step, run).await?,
        }
        Ok(())
    }

    /// An end step (its run stored done): the request ends with the step's outcome.
    async fn enter_end(&mut self, step: &Step) -> Result<(), Halt> {
        let outcome = step
            .outcome
            .as_ref()
            .map(|o| o.value)
            .unwrap_or(EndOutcome::Completed);
        self.end_instance(outcome, "engine")
            .await
            .map_err(Halt::Fatal)?;
        Ok(())
    }

    /// An automatic step: its `set` expressions change the variables, then it is done.
    async fn enter_auto(&mut self, step: &Step, run: i64) -> Result<(), Halt> {
        let step_id = step.id.value.as_str();
        let scope = self.scope();
        let mut vars = self.inst.vars.clone();
        for (name, expr) in &step.set {
            let value = guard::compile_cached(expr)
                .and_then(|c| c.eval(&scope))
                .map_err(|e| {
                    Halt::incident(
                        Some(run),
                        None,
                        format!("step `{step_id}` could not set `{name}`: {e}"),
                    )
                })?;
            if let Some(obj) = vars.as_object_mut() {
                obj.insert(name.clone(), value);
            }
        }
        if !step.set.is_empty() {
            let changes = json!(step
                .set
                .keys()
                .map(|k| (
                    k.clone(),
                    json!({"old": self.inst.vars.get(k), "new": vars.get(k)})
                ))
                .collect::<serde_json::Map<_, _>>());
            self.inst.vars = vars;
            self.log(
                Entry::new("engine", HistoryAction::Set)
                    .step(step_id)
                    .changes(Some(&changes)),
            )
            .await
            .map_err(Halt::Fatal)?;
        }
        self.finish(run, Outcome::Done);
        Ok(())
    }

    /// A timed wait: done at once when its moment has passed, else a timer.
    async fn enter_wait(&mut self, step: &Step, run: i64) -> Result<(), Halt> {
        let step_id = step.id.value.as_str();
        let due = match (&step.wait_for, &step.until) {
            (Some(d), _) => {
                let d: WorkDuration = d
                    .parse()
                    .map_err(|e| Halt::incident(Some(run), None, format!("{e}")))?;
                self.env.calendar.add(self.env.now, d)
            }
            (None, Some(until)) => {
                let date = self
                    .eval_date(until)
                    .map_err(|e| Halt::incident(Some(run), None, e))?;
                match step.at.as_ref().map(|a| a.value) {
                    Some(WaitUntil::Close) => self.env.calendar.close_of_last_working_day(date),
                    _ => self.env.calendar.start_of(date),
                }
            }
            (None, None) => {
                return Err(Halt::incident(
                    Some(run),
                    None,
                    format!("wait step `{step_id}` has neither `for` nor `until`"),
                ))
            }
        };
        if due <= self.env.now {
            self.finish(run, Outcome::Elapsed);
        } else {
            self.add_timer(run, TimerKind::Wait, due)
                .await
                .map_err(Halt::Fatal)?;
            self.set_run_due(run, due).await.map_err(Halt::Fatal)?;
        }
        Ok(())
    }

    /// The assignees left after `auto_skip`; every one left out, by the assignment or
    /// by `auto_skip`, is recorded in the history with the reason.
    async fn without_skipped(
        &mut self,
        step: &Step,
        assigned: super::assign::Assigned,
    ) -> Result<Vec<String>, Halt> {
        let mut notes = assigned.notes;
        let mut users = Vec::new();
        for user in assigned.users {
            let why =
                if step.auto_skip.contains(&AutoSkip::Submitter) && user == self.inst.submitter {
                    Some(Note::AssigneeIsSubmitter.as_str())
                } else if step.auto_skip.contains(&AutoSkip::AlreadyApproved)
                    && self.has_approved(&user).await.map_err(Halt::Fatal)?
                {
                    Some(Note::AssigneeAlreadyApproved.as_str())
                } else {
                    None
                };
            match why {
                Some(why) => notes.push((user, why.to_string())),
                None => users.push(user),
            }
        }
        for (user, why) in &notes {
            self.log(
                Entry::new("engine", HistoryAction::Skip)
                    .on_behalf_of(Some(user))
                    .step(&step.id)
                    .detail(why),
            )
            .await
            .map_err(Halt::Fatal)?;
        }
        Ok(users)
    }

    /// Sets the step's deadline and reminder timers, when it has a deadline; the due time.
    async fn start_deadline(&mut self, step: &Step, run: i64) -> Result<Option<String>, Halt> {
        let Some(deadline) = &step.deadline else {
            return Ok(None);
        };
        let parse = |text: &str| {
            text.parse::<WorkDuration>()
                .map_err(|e| Halt::incident(Some(run), None, format!("{e}")))
        };
        let within = parse(&deadline.within)?;
        let from = match &deadline.from {
            Some(expr) => self
                .eval_date(expr)
                .map(|d| self.env.calendar.start_of(d))
                .map_err(|e| Halt::incident(Some(run), None, e))?,
            None => self.env.now,
        };
        let due = self.env.calendar.add(from, within);
        self.add_timer(run, TimerKind::Deadline, due)
            .await
            .map_err(Halt::Fatal)?;
        if let Some(before) = &deadline.remind_before {
            let remind_at = self.env.calendar.subtract(due, parse(before)?);
            if remind_at > self.env.now {
                self.add_timer(run, TimerKind::Reminder, remind_at)
                    .await
                    .map_err(Halt::Fatal)?;
            }
        }
        self.set_run_due(run, due).await.map_err(Halt::Fatal)?;
        Ok(Some(to_db(due)))
    }

    async fn enter_human_step(&mut self, step: &Step, run: i64) -> Result<(), Halt> {
        let assigned = self
            .assign(&step.assignees)
            .map_err(|e| Halt::incident(Some(run), None, format!("step `{}`: {e}", step.id)))?;
        if assigned.users.is_empty() && assigned.notes.is_empty() {
            return Err(Halt::incident(
                Some(run),
                None,
                format!("step `{}` resolved to nobody", step.id),
            ));
        }
        let users = self.without_skipped(step, assigned).await?;
        if users.is_empty() {
            let outcome = if step.kind.value == StepKind::Approval {
                Outcome::Approved
            } else {
                Outcome::Done
            };
            self.finish(run, outcome);
            return Ok(());
        }
        let due = self.start_deadline(step, run).await?;
        let mode = step.mode();
        let from_role =
            step.assignees.len() == 1 && matches!(step.assignees[0].value, Assignee::Role(_));
        let pool = from_role
            && mode == Mode::Any
            && users.len() > 1
            && step
                .allowed_actions()
                .contains(&crate::model::Action::Claim);
        for (seq, user) in users.iter().enumerate() {
            let status = if mode == Mode::Sequential && seq > 0 {
                TaskStatus::Waiting
            } else {
                TaskStatus::Open
            };
            self.insert_task(NewSigner {
                run,
                step: &step.id,
                kind: TaskKind::Step,
                user,
                pool,
                seq: seq as i64,
                status,
                due: due.as_deref(),
            })
            .await
            .map_err(Halt::Fatal)?;
        }
        for cc in &step.cc {
            if let Ok(watchers) = self.resolve(&cc.value) {
                for w in watchers.users {
                    self.log(
                        Entry::new("engine", HistoryAction::Cc)
                            .step(&step.id)
                            .detail(&w),
                    )
                    .await
                    .map_err(Halt::Fatal)?;
                }
            }
        }
        Ok(())
    }

    /// Gives a task of run `signer.run` to `signer.user` (or their deputy), with its
    /// history and the batch's record of it.
    pub async fn insert_task(&mut self, signer: NewSigner<'_>) -> Result<TaskId, EngineError> {
        let NewSigner {
            run,
            step,
            kind,
            user,
            pool,
            seq,
            status,
            due,
        } = signer;
        let (assignee, deputy) = self.apply_absence(user).await?;
        let now = self.now();
        let new_task = store::tasks::NewTask {
            instance: self.inst.id.0,
            run,
            step,
            kind,
            assignee: &assignee,
            delegate: deputy.as_deref(),
            pool,
            seq,
            status,
            created_at: &now,
            due_at: due,
        };
        let id = store::tasks::insert(self.conn, &new_task).await?;
        let task = super::appends::NewTask {
            due: due.map(str::to_string),
            kind,
            assignee: assignee.clone(),
            delegate: deputy.clone(),
        };
        self.env.appends.lock().new_task(id, task);
        if let Some(deputy) = &deputy {
            self.log(
                Entry::new("engine", HistoryAction::RouteToDeputy)
                    .on_behalf_of(Some(&assignee))
                    .step(step)
                    .task(TaskId(id))
                    .detail(deputy),
            )
            .await?;
        }
        if status == TaskStatus::Open {
            self.log(
                Entry::new("engine", HistoryAction::Assign)
                    .step(step)
                    .task(TaskId(id))
                    .detail(&assignee),
            )
            .await?;
        }
        Ok(TaskId(id))
    }

    /// An out-of-office rule makes the deputy act on the user's behalf.
    async fn apply_absence(&mut self, user: &str) -> Result<(String, Option<String>), EngineError> {
        let today = self
            .env
            .now
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive()
            .format("%Y-%m-%d")
            .to_string();
        let known = self.env.appends.lock().deputy(user, &today);
        let deputy = match known {
            Some(deputy) => deputy,
            None => {
                let standing = store::absences::deputies_on(self.conn, &today).await?;
                let mut appends = self.env.appends.lock();
                appends.keep_deputies(&today, standing);
                appends.deputy(user, &today).flatten()
            }
        };
        Ok((user.to_string(), deputy))
    }

    async fn has_approved(&mut self, user: &str) -> Result<bool, EngineError> {
        Ok(store::tasks::has_approved(self.conn, self.inst.id.0, user).await?)
    }

    pub async fn add_timer(
        &mut self,
        run: i64,
        kind: TimerKind,
        due: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        Ok(store::timers::insert(self.conn, self.inst.id.0, run, kind, &to_db(due)).await?)
    }

    /// Records when a run is due, so signers added later share its deadline.
    pub(super) async fn set_run_due(
        &mut self,
        run: i64,
        due: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        Ok(store::runs::set_due(self.conn, run, &to_db(due)).await?)
    }

    /// Evaluates a CEL expression that must give a `YYYY-MM-DD` date (a longer timestamp
    /// is cut to its date).
    pub(super) fn eval_date(
        &self,
        expr: &crate::located::Located<String>,
    ) -> Result<chrono::NaiveDate, String> {
        let value = guard::compile_cached(expr)
            .and_then(|c| c.eval(&self.scope()))
            .map_err(|e| e.to_string())?;
        value
            .as_str()
            .and_then(|s| {
                chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()
            })
            .ok_or_else(|| format!("`{}` gave {value}, not a date", expr.value))
    }

    /// Whether the request is back with its submitter for revision.
    pub async fn returned_to_submitter(&mut self) -> Result<bool, EngineError> {
        Ok(store::tasks::is_returned(self.conn, self.inst.id.0).await?)
    }

    pub async fn run_due(&mut self, run: i64) -> Result<Option<String>, EngineError> {
        Ok(store::runs::due(self.conn, run).await?)
    }

    pub async fn close_run(
        &mut self,
        run: i64,
        status: RunStatus,
        outcome: Option<&str>,
    ) -> Result<(), EngineError> {
        let now = self.now();
        store::runs::close(self.conn, run, status, outcome, &now).await?;
        if let Some(row) = self.runs.get_mut(&run) {
            if row.status == RunStatus::Active {
                row.status = status;
            }
        }
        // Runs inside this one (the branches of a parallel step) end with it; only a
        // process with a parallel step has any.
        if !self
            .def
            .steps
            .iter()
            .any(|s| s.kind.value == StepKind::Parallel)
        {
            return Ok(());
        }
        let children = store::runs::active_children(self.conn, run).await?;
        for child in children {
            Box::pin(self.close_run(child, RunStatus::Cancelled, None)).await?;
        }
        Ok(())
    }

    pub async fn end_instance(
        &mut self,
        outcome: EndOutcome,
        actor: &str,
    ) -> Result<(), EngineError> {
        let active = store::runs::active_of(self.conn, self.inst.id.0).await?;
        for run in active {
            self.close_run(run, RunStatus::Cancelled, None).await?;
        }
        self.inst.status = if outcome == EndOutcome::Withdrawn {
            InstanceStatus::Withdrawn
        } else {
            InstanceStatus::Completed
        };
        self.inst.outcome = Some(outcome.as_str().to_string());
        self.inst.incident = None;
        self.log(Entry::new(actor, HistoryAction::End).detail(outcome.as_str()))
            .await
    }

    /// Run `run` as it now stands: as the action last saw it, or as stored.
    pub async fn run_row(&mut self, run: i64) -> Result<RunRow, EngineError> {
        if let Some(row) = self.runs.get(&run) {
            return Ok(row.clone());
        }
        let row = store::runs::row(self.conn, run).await?;
        self.know_run(run, row.clone());
        Ok(row)
    }

    async fn do_finish(
        &mut self,
        run: i64,
        outcome: Outcome,
        votes: Option<Value>,
    ) -> Result<(), Halt> {
        let row = self.run_row(run).await.map_err(Halt::Fatal)?;
        if row.status != RunStatus::Active {
            return Ok(());
        }
        let votes = match votes {
            Some(votes) => votes,
            None => self.votes(run).await.map_err(Halt::Fatal)?,
        };
        let def = Arc::clone(&self.def);
        let step = def.step(&row.step_id).ok_or_else(|| {
            Halt::incident(
                Some(run),
                Some(outcome),
                format!("step `{}` does not exist", row.step_id),
            )
        })?;
        let flow = Flow::new(&def);
        let mut scope = self.scope();
        scope.votes = votes;
        let target = choose_route(&flow, step, run, outcome, &scope)?;
        self.close_run(run, RunStatus::Done, Some(outcome.as_str()))
            .await
            .map_err(Halt::Fatal)?;
        self.log(
            Entry::new("engine", HistoryAction::Leave)
                .step(&step.id)
                .detail(outcome.as_str()),
        )
        .await
        .map_err(Halt::Fatal)?;
        match target {
            Target::Step(next) => self.enter(&next.id, row.parent_run, row.branch_id.clone()),
            Target::Join => {
                let parent = row.parent_run.ok_or_else(|| {
                    Halt::incident(
                        Some(run),
                        Some(outcome),
                        "`join` outside a parallel branch".into(),
                    )
                })?;
                store::runs::mark_joined(self.conn, run)
                    .await
                    .map_err(Halt::storage)?;
                self.check_join(parent).await?;
            }
            Target::Unknown => {
                return Err(Halt::incident(
                    Some(run),
                    Some(outcome),
                    format!("step `{}` leads to an unknown step", step.id),
                ))
            }
        }
        Ok(())
    }

    async fn check_join(&mut self, parent: i64) -> Result<(), Halt> {
        let row = self.run_row(parent).await.map_err(Halt::Fatal)?;
        if row.status != RunStatus::Active {
            return Ok(());
        }
        let def = Arc::clone(&self.def);
        let step = def
            .step(&row.step_id)
            .ok_or_else(|| Halt::incident(Some(parent), None, "parallel step vanished".into()))?;
        let joined = store::runs::joined_branches(self.conn, parent)
            .await
            .map_err(Halt::storage)?;
        let needed = match step
            .join
            .as_ref()
            .map(|j| j.value.clone())
            .unwrap_or(Join::All)
        {
            Join::All => step.branches.len() as i64,
            Join::Any => 1,
            Join::Count(n) => i64::from(n),
        };
        if joined >= needed {
            self.finish(parent, Outcome::Done);
        }
        Ok(())
    }
}

/// The transition `outcome` takes from `step`: the first route whose guard holds.
fn choose_route<'d>(
    flow: &Flow<'d>,
    step: &'d Step,
    run: i64,
    outcome: Outcome,
    scope: &Scope,
) -> Result<Target<'d>, Halt> {
    for route in flow.routes(step, outcome) {
        let taken = match route.guard {
            None => true,
            Some(g) => guard::compile_cached(g)
                .and_then(|c| c.eval_bool(scope))
                .map_err(|e| {
                    Halt::incident(
                        Some(run),
                        Some(outcome),
                        format!("guard on step `{}`: {e}", step.id),
                    )
                })?,
        };
        if taken {
            return Ok(route.target);
        }
    }
    Err(Halt::incident(
        Some(run),
        Some(outcome),
        format!(
            "no transition of step `{}` matches outcome `{}`",
            step.id,
            outcome.as_str()
        ),
    ))
}

/// Why the work stopped: an incident is recorded on the instance for the owner to fix
/// and retry; a fatal error (storage) rolls the whole action back.
pub enum Halt {
    Incident {
        run: Option<i64>,
        outcome: Option<Outcome>,
        reason: String,
    },
    Fatal(EngineError),
}

impl Halt {
    pub(super) fn incident(run: Option<i64>, outcome: Option<Outcome>, reason: String) -> Halt {
        Halt::Incident {
            run,
            outcome,
            reason,
        }
    }

    fn storage(e: sqlx::Error) -> Halt {
        Halt::Fatal(EngineError::Storage(e))
    }
}
