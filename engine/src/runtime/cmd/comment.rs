//! `comment`: a remark in the history, by the task's holder; nothing else changes.

use super::act::Acting;
use super::prelude::*;

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    m.log(a.entry(HistoryAction::Comment)).await
}
