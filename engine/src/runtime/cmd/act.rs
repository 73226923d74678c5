//! `act`: one person's action on a task. Checks that the request runs, the task is open,
//! the person holds it (or stands in for who does) and the step allows the action, then
//! runs the action's own command: [`decide`](super::decide) (approve, reject, complete),
//! [`send_back`](super::send_back) (return), [`resubmit`](super::resubmit),
//! [`hand_over`](super::hand_over) (delegate, transfer), [`add_signer`](super::add_signer),
//! [`remove_signer`](super::remove_signer), [`claim`](super::claim),
//! [`comment`](super::comment).

use crate::store::status::{TaskKind, TaskStatus};
use std::sync::Arc;

use super::prelude::*;
use crate::model::Step;
use crate::runtime::actions::TaskRow;
use crate::runtime::run_tasks::RunTask;
use crate::runtime::types::ActionKind;

pub struct Act {
    pub task: TaskId,
    pub actor: String,
    pub request: ActionRequest,
}

impl Act {
    pub(in crate::runtime) async fn apply(
        self,
        core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let (row, run_tasks, mut m) = core.machine_for_task(conn, env, self.task).await?;
        let instance = m.inst.id;
        let acting = Acted {
            task: row,
            run_tasks,
        };
        act(&mut m, acting, &self.actor, &self.request).await?;
        m.drain().await?;
        Ok(Reply::Instance(instance))
    }
}

/// The task acted on and its run's tasks, as read before the action.
struct Acted {
    task: TaskRow,
    run_tasks: Vec<RunTask>,
}

/// An action being done on a task: the checks passed, what each action's command needs.
pub(super) struct Acting<'a> {
    pub task: &'a TaskRow,
    /// The tasks of the task's run (this one among them) as they stood before the action.
    pub run_tasks: &'a [RunTask],
    pub step: &'a Step,
    pub actor: &'a str,
    /// Whom the actor stands in for (as the task's delegate).
    pub behalf: Option<&'a str>,
    pub action: ActionKind,
    pub request: &'a ActionRequest,
}

impl<'a> Acting<'a> {
    /// The history entry of this action: who, for whom, on which step and task, and the
    /// comment given.
    pub fn entry(&self, action: HistoryAction) -> Entry<'a> {
        Entry::new(self.actor, action)
            .on_behalf_of(self.behalf)
            .step(&self.step.id)
            .task(self.task.id)
            .comment(self.request.comment.as_deref())
    }
}

/// Performs `request` on `task` as `actor` on the loaded request.
async fn act(
    m: &mut Machine<'_, '_>,
    acted: Acted,
    actor: &str,
    request: &ActionRequest,
) -> Result<(), EngineError> {
    let Acted { task, run_tasks } = acted;
    let action = request
        .action
        .ok_or_else(|| EngineError::NotAllowed("no action given".into()))?;
    let behalf = authorize(m, &task, actor)?;
    let def = Arc::clone(&m.def);
    let step = def
        .step(&task.step)
        .ok_or_else(|| EngineError::Definition(format!("step `{}` is missing", task.step)))?;
    check_allowed(&task, step, action)?;
    let a = Acting {
        task: &task,
        run_tasks: &run_tasks,
        step,
        actor,
        behalf: behalf.as_deref(),
        action,
        request,
    };
    match action {
        ActionKind::Comment => super::comment::run(m, &a).await,
        ActionKind::Approve | ActionKind::Reject | ActionKind::Complete => {
            super::decide::run(m, &a).await
        }
        ActionKind::Return => super::send_back::run(m, &a).await,
        ActionKind::Resubmit => super::resubmit::run(m, &a).await,
        ActionKind::Delegate | ActionKind::Transfer => super::hand_over::run(m, &a).await,
        ActionKind::AddSigner => super::add_signer::run(m, &a).await,
        ActionKind::RemoveSigner => super::remove_signer::run(m, &a).await,
        ActionKind::Claim => super::claim::run(m, &a).await,
        ActionKind::Consult => super::consult::ask(m, &a).await,
        ActionKind::Reply => super::consult::reply(m, &a).await,
        ActionKind::CopyTo => super::copy_to::run(m, &a).await,
    }
}

/// Who may act: the task's assignee, or its delegate on their behalf (returned), on an
/// open task of a running request.
fn authorize(
    m: &Machine<'_, '_>,
    task: &TaskRow,
    actor: &str,
) -> Result<Option<String>, EngineError> {
    if m.inst.status != InstanceStatus::Running {
        return Err(EngineError::Stale {
            task: task.id,
            status: format!("request {}", m.inst.status.as_str()),
        });
    }
    if task.status != TaskStatus::Open {
        return Err(EngineError::Stale {
            task: task.id,
            status: task.status.to_string(),
        });
    }
    if actor == task.assignee {
        Ok(None)
    } else if task.delegate.as_deref() == Some(actor) {
        Ok(Some(task.assignee.clone()))
    } else {
        let mut allowed = vec![task.assignee.clone()];
        allowed.extend(task.delegate.clone());
        Err(EngineError::NotYourTask {
            task: task.id,
            allowed,
        })
    }
}

/// What the task allows: a returned request only `resubmit` (or a comment); a step the
/// actions its definition lists; a pooled task only `claim` first.
fn check_allowed(task: &TaskRow, step: &Step, action: ActionKind) -> Result<(), EngineError> {
    if task.kind == TaskKind::Consult {
        if !matches!(action, ActionKind::Reply | ActionKind::Comment) {
            return Err(EngineError::NotAllowed(format!(
                "you were asked for your opinion: `reply` with it, not `{}`",
                action.as_str()
            )));
        }
        return Ok(());
    }
    if action == ActionKind::Reply {
        return Err(EngineError::NotAllowed(
            "only a task asking your opinion takes a `reply`".into(),
        ));
    }
    if task.kind == TaskKind::Resubmit {
        if !matches!(action, ActionKind::Resubmit | ActionKind::Comment) {
            return Err(EngineError::NotAllowed(format!(
                "the request was returned to you: `resubmit` it (or withdraw it), not `{}`",
                action.as_str()
            )));
        }
    } else if let Some(needed) = action.model_action() {
        if !step.allowed_actions().contains(&needed) {
            let allowed: Vec<&str> = step.allowed_actions().iter().map(|a| a.as_str()).collect();
            return Err(EngineError::NotAllowed(format!(
                "step `{}` does not allow `{}`; it allows {}",
                step.id,
                action.as_str(),
                allowed.join(", ")
            )));
        }
    } else if action == ActionKind::Resubmit {
        return Err(EngineError::NotAllowed(
            "only a returned request can be resubmitted".into(),
        ));
    }
    if task.pool
        && !matches!(
            action,
            ActionKind::Claim | ActionKind::Comment | ActionKind::CopyTo
        )
    {
        return Err(EngineError::NotAllowed(format!(
            "task {} is offered to several people: `claim` it first",
            task.id
        )));
    }
    Ok(())
}
