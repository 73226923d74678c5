//! `add_signer`: the holder adds someone to the step, deciding before them (the task
//! comes back afterwards) or after them (the default). Never someone who may not decide
//! the request.

use super::act::Acting;
use super::prelude::*;

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    let to = m.other_user(a.request)?;
    policy::refuse_excluded(&to, &m.excluded())?;
    let position = a.request.position.unwrap_or_default();
    m.add_signer(a.task, a.step, &to, position).await?;
    let detail = format!("{to} ({})", position.as_str());
    m.log(a.entry(HistoryAction::AddSigner).detail(&detail))
        .await
}
