//! Who may do what beyond acting on a task: process owners and administrators, and the
//! people an approval may never go to (the submitter, and whoever the request is about).

use crate::store::status::TaskKind;
use crate::store::{self, Conn};

use crate::directory::Directory;
use crate::model::{Principal, ProcessDef, WithdrawPolicy};

use super::registry::Registry;

use super::{
    ActionKind, Engine, EngineError, HistoryAction, InstanceId, InstanceStatus, InstanceView,
    TaskId, TaskStatus, TaskView, WithdrawRefused,
};

/// The longest comment an action takes, in characters: comments are stored, shown and
/// mailed.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// At most this many tasks in one batch approval.
pub const MAX_BATCH_TASKS: usize = 100;

/// How many submitted definitions are checked at once; more wait for none and are told
/// the server is busy. A check is CPU work (a merge-key-heavy YAML costs about a second).
pub const MAX_CHECKS: usize = 2;

/// The directory role that may create processes and manage every process.
pub const PROCESS_ADMIN_ROLE: &str = "process_admin";

impl Engine {
    /// Whether `user` owns the definition (is its owner, or has its owner role).
    pub fn is_owner(&self, def: &ProcessDef, user: &str) -> bool {
        owns(self.directory(), def, user)
    }

    /// Whether `user` may start `def`: anyone when it names no starters, else the users
    /// and members of the roles it names.
    pub fn may_start(&self, def: &ProcessDef, user: &str) -> bool {
        def.starters.is_empty()
            || def.starters.iter().any(|p| match &p.value {
                Principal::User(u) => u == user,
                Principal::Role(r) => self.has_role(user, r),
            })
    }

    /// Whether `user` is a process administrator: may create processes, and see and
    /// publish every one.
    pub fn is_process_admin(&self, user: &str) -> bool {
        self.has_role(user, PROCESS_ADMIN_ROLE)
    }

    /// Whether `user` may see a process's sources and versions, check and publish it, and
    /// handle its incidents: its owners and the process administrators.
    pub fn may_manage(&self, def: &ProcessDef, user: &str) -> bool {
        manages(self.directory(), def, user)
    }

    /// Whether `user` may check and publish an edit of `process`: an owner of its newest
    /// version, or a process administrator (who alone may create a new process).
    pub fn may_edit(&self, process: &str, user: &str) -> bool {
        match self.registry().latest(process) {
            Some((_, def)) => self.may_manage(&def, user),
            None => self.is_process_admin(user),
        }
    }

    /// Whether the page offers `user` to take the request back (拿回): they made the
    /// latest decision on it, and it still runs. The engine checks the rest (nobody has
    /// acted since).
    pub fn may_take_back(&self, view: &InstanceView, user: &str) -> bool {
        view.status == InstanceStatus::Running
            && view
                .history
                .iter()
                .rev()
                .find(|e| e.action.is_decision())
                .is_some_and(|e| {
                    e.actor == user
                        && matches!(e.action, HistoryAction::Approve | HistoryAction::Complete)
                })
    }

    /// The request, if `user` may see it. A request they may not see is "unknown", like
    /// one that does not exist, so the answer does not tell which ids exist.
    pub async fn instance_for(
        &self,
        id: InstanceId,
        user: &str,
    ) -> Result<InstanceView, EngineError> {
        if !self.can_view(id, user).await? {
            return Err(EngineError::UnknownInstance(id));
        }
        self.instance(id).await
    }

    /// The task, if `user` may see its request; otherwise "unknown", as above.
    pub async fn task_for(&self, id: TaskId, user: &str) -> Result<TaskView, EngineError> {
        let task = self.task(id).await?;
        if !self.can_view(task.instance, user).await? {
            return Err(EngineError::UnknownTask(id));
        }
        Ok(task)
    }

    /// Turns "not your task" into "unknown task" for someone who may not even see the
    /// request, so the refusal names nobody to them.
    pub(super) async fn hide_unseen<T>(
        &self,
        result: Result<T, EngineError>,
        actor: &str,
    ) -> Result<T, EngineError> {
        match result {
            Err(EngineError::NotYourTask { task, allowed }) => {
                self.task_for(task, actor).await?;
                Err(EngineError::NotYourTask { task, allowed })
            }
            other => other,
        }
    }

    /// Whether `user` may withdraw the request now (to offer the button only then).
    pub fn may_withdraw(&self, view: &InstanceView, user: &str) -> bool {
        let Some(def) = self.registry().version(&view.process, view.version) else {
            return false;
        };
        let returned = view.tasks.iter().any(|t| {
            t.kind == TaskKind::Resubmit
                && t.status == TaskStatus::Open
                && t.assignee == view.submitter
        });
        view.submitter == user
            && withdraw_refusal(def.withdraw, view.status, view.decided, returned).is_none()
    }

    /// Whether the page offers `user` to urge the request: its submitter, while it waits
    /// for someone (the engine also keeps it to once a working day).
    pub fn may_urge(&self, view: &InstanceView, user: &str) -> bool {
        view.submitter == user
            && view.status == InstanceStatus::Running
            && view
                .tasks
                .iter()
                .any(|t| t.status == TaskStatus::Open && t.assignee != user)
    }

    fn has_role(&self, user: &str, role: &str) -> bool {
        self.directory()
            .user(user)
            .is_some_and(|u| u.roles.iter().any(|r| r.value == role))
    }
}

/// Whether `user` owns `def`: is its owner, or holds its owner role.
/// Whether `user` owns the process or administers every process: who may jump and
/// terminate its requests, publish it and handle its incidents.
pub(super) fn manages(directory: &Directory, def: &ProcessDef, user: &str) -> bool {
    owns(directory, def, user)
        || directory
            .user(user)
            .is_some_and(|u| u.roles.iter().any(|r| r.value == PROCESS_ADMIN_ROLE))
}

fn owns(directory: &Directory, def: &ProcessDef, user: &str) -> bool {
    match &def.owner.value {
        Principal::User(u) => u == user,
        Principal::Role(r) => directory
            .user(user)
            .is_some_and(|u| u.roles.iter().any(|role| role.value == *r)),
    }
}

/// Whether `user` may see request `id`: its submitter, anyone who held a task on it,
/// anyone copied on it, and the process owners. The one rule for pages, the API and
/// references between requests; an unknown request is an error.
pub(super) async fn may_see(
    conn: &mut Conn,
    registry: &Registry,
    id: InstanceId,
    user: &str,
) -> Result<bool, EngineError> {
    let head = store::instances::head(conn, id.0)
        .await?
        .ok_or(EngineError::UnknownInstance(id))?;
    if head.submitter == user {
        return Ok(true);
    }
    if let Some(def) = registry.version(&head.process_id, head.version) {
        if owns(&registry.directory, &def, user) {
            return Ok(true);
        }
    }
    let cc = super::HistoryAction::Cc.as_str();
    Ok(store::tasks::is_involved(conn, id.0, user, cc).await?)
}

/// Refuses to hand a task to `to` (by delegate, transfer or add-signer) when they may
/// not decide the request: it is theirs or about them (see [`super::assign`]).
pub(super) fn refuse_excluded(to: &str, excluded: &[String]) -> Result<(), EngineError> {
    if excluded.iter().any(|e| e == to) {
        return Err(EngineError::OwnRequest(to.to_string()));
    }
    Ok(())
}

/// Refuses a batch of more than [`MAX_BATCH_TASKS`] tasks, or of any action but approve
/// (the others need a person's attention to each request: a reason, a target, inputs).
pub(super) fn check_batch(tasks: usize, action: Option<ActionKind>) -> Result<(), EngineError> {
    if action != Some(ActionKind::Approve) {
        return Err(EngineError::NotAllowed(
            "only `approve` can be done on several tasks at once".into(),
        ));
    }
    if tasks == 0 || tasks > MAX_BATCH_TASKS {
        return Err(EngineError::BatchSize {
            given: tasks,
            max: MAX_BATCH_TASKS,
        });
    }
    Ok(())
}

/// The reason an owner's action (jump, terminate) must give: not blank, not longer than
/// a comment.
pub(super) fn reason(reason: &str, action: &'static str) -> Result<String, EngineError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(EngineError::CommentRequired { action });
    }
    check_comment(Some(reason))?;
    Ok(reason.to_string())
}

/// Refuses a comment longer than [`MAX_COMMENT_CHARS`].
pub(super) fn check_comment(comment: Option<&str>) -> Result<(), EngineError> {
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(EngineError::TooLong {
            field: "comment",
            max: MAX_COMMENT_CHARS,
        });
    }
    Ok(())
}

/// Why a request cannot be withdrawn now, if it cannot: it has ended, or the process's
/// policy forbids it. A request returned to its submitter for revision can always be
/// withdrawn: it is back in their hands.
pub fn withdraw_refusal(
    policy: WithdrawPolicy,
    status: InstanceStatus,
    decided: bool,
    returned: bool,
) -> Option<WithdrawRefused> {
    if !matches!(status, InstanceStatus::Running | InstanceStatus::Incident) {
        return Some(WithdrawRefused::Ended);
    }
    if returned {
        return None;
    }
    match policy {
        WithdrawPolicy::Anytime => None,
        WithdrawPolicy::UntilFirstDecision if !decided => None,
        WithdrawPolicy::UntilFirstDecision => Some(WithdrawRefused::Decided),
        WithdrawPolicy::Never => Some(WithdrawRefused::Never),
    }
}
