//! `return`: the holder sends the request back, to its submitter (who revises and
//! resubmits it) or to an earlier step the definition's `return_to` lists.

use super::act::Acting;
use super::prelude::*;
use crate::model::Action;
use crate::runtime::machine::NewSigner;
use crate::store::status::{Decision, RunStatus, TaskKind, TaskStatus};

/// Where a request goes back to when the action names no step.
const SUBMITTER: &str = "submitter";

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    let step = a.step;
    if !step.allowed_actions().contains(&Action::Return) {
        return Err(EngineError::NotAllowed(format!(
            "step `{}` does not allow `return`",
            step.id
        )));
    }
    let target = a
        .request
        .to
        .clone()
        .unwrap_or_else(|| SUBMITTER.to_string());
    let allowed = if step.return_to.is_empty() {
        vec![SUBMITTER.to_string()]
    } else {
        step.return_to.iter().map(|r| r.value.clone()).collect()
    };
    if !allowed.contains(&target) {
        return Err(EngineError::NotAllowed(format!(
            "step `{}` can return to {}, not `{target}`",
            step.id,
            allowed.join(", ")
        )));
    }
    m.close_task(a.task, Decision::Returned, a.actor, None)
        .await?;
    m.log(a.entry(HistoryAction::Return).detail(&target))
        .await?;
    if target == SUBMITTER {
        m.cancel_run_tasks(a.task.run).await?;
        let submitter = m.inst.submitter.clone();
        m.insert_task(NewSigner {
            run: a.task.run,
            step: &step.id,
            kind: TaskKind::Resubmit,
            user: &submitter,
            pool: false,
            seq: 0,
            status: TaskStatus::Open,
            due: None,
        })
        .await?;
    } else {
        let row = m.run_row(a.task.run).await?;
        m.close_run(a.task.run, RunStatus::Done, Some("returned"))
            .await?;
        m.enter(&target, row.parent_run, row.branch_id);
    }
    Ok(())
}
