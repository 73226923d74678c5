//! `claim`: one of the people a pooled task is offered to takes it; the others' copies
//! are cancelled. Claiming a task already one's own alone is a no-op, not an error.

use super::act::Acting;
use super::prelude::*;

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    if !a.task.pool {
        return Ok(());
    }
    m.take_from_pool(a.task).await?;
    m.log(a.entry(HistoryAction::Claim)).await
}
