//! `remove_signer`: the holder takes a pending signer off the step, never below what the
//! step's mode needs; the step then settles without them.

use super::act::Acting;
use super::prelude::*;

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    let to = m.other_user(a.request)?;
    let remaining = m.signers_left(a.task.run).await?;
    let needed = crate::runtime::actions::pass_threshold(&a.step.mode(), remaining - 1).max(1);
    if remaining - 1 < needed || to == a.actor {
        return Err(EngineError::NotAllowed(format!(
            "removing `{to}` would leave the step with fewer signers than its mode needs"
        )));
    }
    if m.cancel_signer(a.task.run, &to).await? == 0 {
        return Err(EngineError::NotAllowed(format!(
            "`{to}` is not a pending signer of this step"
        )));
    }
    m.log(a.entry(HistoryAction::RemoveSigner).detail(&to))
        .await?;
    m.settle(a.step, a.task.run).await
}
