//! What a group commit appends: history entries and queued mail. They are kept in memory
//! while the batch's actions run and written once per table before the commit, a
//! multi-row `INSERT` each, so the number of statements a batch sends for them does not
//! grow with the actions in it (each statement is a round trip to SQLite's worker
//! thread, or to the PostgreSQL server). An action that fails is cut back to its mark,
//! with its savepoint.
//!
//! The batch also keeps what its actions left of the requests and tasks they wrote
//! (submitter, form, a task's due time), so planning their mail reads nothing back, and
//! the deputies it looked up (nobody else can change them while the batch holds the
//! write lock).
//!
//! History ids are given here, counting on from the largest stored one read when the
//! batch's transaction began: every write runs in the writer's transaction, which holds
//! the database's write lock (on PostgreSQL the advisory lock), so no other writer can
//! take the same ids.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::store::{self, Conn};

use super::history::{Entry, HistoryAction};
use super::types::{InstanceStatus, TaskKind};

pub use crate::store::events::NewEvent;
pub use crate::store::outbox::NewMail;

/// A request as an action of the batch saved it.
#[derive(Debug, Clone)]
pub struct Touched {
    pub status: InstanceStatus,
    pub process: String,
    pub version: i64,
    pub submitter: String,
    pub form: Value,
}

/// A task as an action of the batch created it: its due time, kind and holders.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub due: Option<String>,
    pub kind: TaskKind,
    pub assignee: String,
    pub delegate: Option<String>,
}

/// Where an action began, to cut the appends back to if it fails.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    events: usize,
    mail: usize,
    next_event: i64,
}

/// The appends of one group commit.
#[derive(Debug, Default)]
pub struct Appends {
    next_event: i64,
    events: Vec<NewEvent>,
    mail: Vec<NewMail>,
    requests: HashMap<i64, Touched>,
    tasks: HashMap<i64, NewTask>,
    /// date → user → the deputy standing in for them that day (read once per batch).
    deputies: HashMap<String, HashMap<String, String>>,
}

impl Appends {
    /// Starts a batch's appends, inside its transaction (after the write lock is held).
    pub async fn begin(conn: &mut Conn) -> Result<Appends, sqlx::Error> {
        let last = crate::store::events::max_id(conn).await?;
        Ok(Appends {
            next_event: last + 1,
            ..Appends::default()
        })
    }

    pub fn mark(&self) -> Mark {
        Mark {
            events: self.events.len(),
            mail: self.mail.len(),
            next_event: self.next_event,
        }
    }

    /// Forgets what was appended after `mark` (the action rolled back), and what the
    /// batch kept of requests and tasks (it may be the rolled-back action's).
    pub fn rollback(&mut self, mark: Mark) {
        self.events.truncate(mark.events);
        self.mail.truncate(mark.mail);
        self.next_event = mark.next_event;
        self.requests.clear();
        self.tasks.clear();
        self.deputies.clear();
    }

    /// The deputy of `user` on `date` as looked up in this batch: `None` when that day's
    /// deputies are not yet.
    pub fn deputy(&self, user: &str, date: &str) -> Option<Option<String>> {
        self.deputies
            .get(date)
            .map(|standing| standing.get(user).cloned())
    }

    /// Keeps who stands in for whom on `date`: (user, deputy) pairs, the newest absence
    /// last.
    pub fn keep_deputies(&mut self, date: &str, standing: Vec<(String, String)>) {
        self.deputies
            .insert(date.to_string(), standing.into_iter().collect());
    }

    /// Forgets the deputies looked up (an absence was just set).
    pub fn forget_deputies(&mut self) {
        self.deputies.clear();
    }

    /// Keeps `request` as an action just saved it.
    pub fn touched(&mut self, id: i64, request: Touched) {
        self.requests.insert(id, request);
    }

    pub fn request(&self, id: i64) -> Option<&Touched> {
        self.requests.get(&id)
    }

    /// Keeps a task an action just created.
    pub fn new_task(&mut self, id: i64, task: NewTask) {
        self.tasks.insert(id, task);
    }

    /// What the action since `mark` did to `instance`: its state as saved and the tasks
    /// it assigned.
    pub fn acted(&self, instance: super::InstanceId, mark: Mark) -> Option<super::Acted> {
        let status = self.requests.get(&instance.0)?.status;
        let assigned = self
            .events_since(mark)
            .iter()
            .filter(|e| e.instance == instance.0 && e.action == HistoryAction::Assign)
            .filter_map(|e| Some((super::TaskId(e.task?), e.detail.clone()?)))
            .collect();
        Some(super::Acted {
            instance,
            status,
            assigned,
        })
    }

    /// Forgets the tasks kept (their rows changed since).
    pub fn forget_tasks(&mut self) {
        self.tasks.clear();
    }

    /// Task `id` was given to `assignee` (which drops its delegate), or delegated to
    /// `delegate`.
    pub fn holders_changed(&mut self, id: i64, assignee: Option<&str>, delegate: Option<&str>) {
        if let Some(task) = self.tasks.get_mut(&id) {
            if let Some(assignee) = assignee {
                task.assignee = assignee.to_string();
                task.delegate = None;
            }
            if let Some(delegate) = delegate {
                task.delegate = Some(delegate.to_string());
            }
        }
    }

    pub fn task(&self, id: i64) -> Option<&NewTask> {
        self.tasks.get(&id)
    }

    /// Appends `entry` to the history of `instance` at `at`; returns its id.
    pub fn event(&mut self, instance: i64, at: &str, entry: &Entry<'_>) -> i64 {
        let id = self.next_event;
        self.next_event += 1;
        self.events.push(NewEvent {
            id,
            instance,
            at: at.to_string(),
            actor: entry.actor.to_string(),
            on_behalf_of: entry.on_behalf_of.map(str::to_string),
            action: entry.action,
            step: entry.step.map(str::to_string),
            task: entry.task.map(|t| t.0),
            comment: entry.comment.map(str::to_string),
            changes: entry.changes.map(|c| c.to_string()),
            detail: entry.detail.map(str::to_string),
        });
        id
    }

    /// The history entries appended since `mark`.
    pub fn events_since(&self, mark: Mark) -> &[NewEvent] {
        &self.events[mark.events.min(self.events.len())..]
    }

    /// The newest entry of this batch on `instance` that is `action`.
    pub fn last_event(&self, instance: i64, action: HistoryAction) -> Option<&NewEvent> {
        self.events
            .iter()
            .rev()
            .find(|e| e.instance == instance && e.action == action)
    }

    /// The newest entry of this batch on `instance` that decides something (see
    /// [`HistoryAction::is_decision`]).
    pub fn last_decision(&self, instance: i64) -> Option<&NewEvent> {
        self.events
            .iter()
            .rev()
            .find(|e| e.instance == instance && e.action.is_decision())
    }

    /// Queues a rendered mail; false when one with its `Message-ID` is queued already.
    pub fn mail(&mut self, mail: NewMail) -> bool {
        if self.mail.iter().any(|m| m.message_id == mail.message_id) {
            return false;
        }
        self.mail.push(mail);
        true
    }

    /// Writes everything appended: the history first (mail refers to it), then the mail,
    /// which skips a `Message-ID` already stored (the event was planned before).
    pub async fn flush(self, conn: &mut Conn) -> Result<(), sqlx::Error> {
        store::events::insert_many(conn, &self.events).await?;
        store::outbox::insert_many(conn, &self.mail).await
    }

    /// Whether any mail was queued.
    pub fn has_mail(&self) -> bool {
        !self.mail.is_empty()
    }
}

/// The batch's appends, shared by the actions of the batch (one at a time; the lock is
/// never held across an await).
pub struct Shared(Mutex<Appends>);

impl Shared {
    pub fn new(appends: Appends) -> Shared {
        Shared(Mutex::new(appends))
    }

    pub fn lock(&self) -> MutexGuard<'_, Appends> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn into_inner(self) -> Appends {
        self.0.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}
