//! `resubmit`: the submitter sends a returned request back in, possibly with a revised
//! form (the fields a later step fills in are kept), and the step starts again.

use super::act::Acting;
use super::prelude::*;
use crate::store::status::{Decision, RunStatus};

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    let changes = match &a.request.form {
        Some(form) => {
            let kept = m.keep_step_only(form);
            Some(m.replace_form(&kept)?)
        }
        None => None,
    };
    if changes.is_some() {
        m.record_links(a.actor).await?;
    }
    m.close_task(a.task, Decision::Resubmitted, a.actor, None)
        .await?;
    m.log(a.entry(HistoryAction::Resubmit).changes(changes.as_ref()))
        .await?;
    let row = m.run_row(a.task.run).await?;
    m.close_run(a.task.run, RunStatus::Done, Some("returned"))
        .await?;
    m.enter(&a.step.id, row.parent_run, row.branch_id);
    Ok(())
}
