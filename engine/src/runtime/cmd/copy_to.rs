//! `copy_to` (抄送): the holder copies the request to someone, who may then read it and
//! finds it among the requests copied to them, marked read once they open it.

use super::act::Acting;
use super::prelude::*;

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    let to = m.other_user(a.request)?;
    m.log(a.entry(HistoryAction::Cc).detail(&to)).await
}
