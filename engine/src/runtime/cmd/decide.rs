//! `approve`, `reject`, `complete`: the holder decides their task. Approving and
//! completing need the step's inputs and required fields; any decision may carry edits
//! of the step's editable fields. The step then settles by its mode (one, all, in order,
//! a vote).

use super::act::Acting;
use super::prelude::*;
use crate::runtime::types::ActionKind;
use crate::store::status::{Decision, TaskStatus};

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    let rejecting = a.action == ActionKind::Reject;
    let inputs = if rejecting {
        a.request.inputs.clone()
    } else {
        m.check_inputs(a.step, a.request.inputs.as_ref())?
    };
    let changes = m.apply_edits(a.step, a.request.form.as_ref())?;
    if !rejecting {
        m.check_required(a.step)?;
    }
    if changes.is_some() {
        m.record_links(a.actor).await?;
    }
    let decision = match a.action {
        ActionKind::Approve => Decision::Approved,
        ActionKind::Reject => Decision::Rejected,
        _ => Decision::Done,
    };
    m.close_task(a.task, decision, a.actor, inputs.as_ref())
        .await?;
    m.inst.decided = true;
    m.log(a.entry(a.action.into()).changes(changes.as_ref()))
        .await?;
    // The run's tasks as read with this one, with this decision as `close_task` stored
    // it: nothing else in this action wrote a task.
    let mut tasks = a.run_tasks.to_vec();
    if let Some(t) = tasks.iter_mut().find(|t| t.id == a.task.id.0) {
        t.status = TaskStatus::Done;
        t.decision = Some(decision);
        t.acted_by = Some(a.actor.to_string());
        t.inputs = inputs.as_ref().map(ToString::to_string);
    }
    m.settle_with(a.step, a.task.run, &tasks).await
}
