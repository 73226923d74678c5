//! `delegate` and `transfer`: the holder lets someone act for them (delegate: the task
//! stays theirs, the history shows both) or gives the task away (transfer). Never to
//! someone who may not decide the request.

use super::act::Acting;
use super::prelude::*;
use crate::runtime::types::ActionKind;

pub(super) async fn run(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    let to = m.other_user(a.request)?;
    policy::refuse_excluded(&to, &m.excluded())?;
    if to == a.task.assignee {
        return Err(EngineError::NotAllowed(format!(
            "`{to}` already holds task {}",
            a.task.id
        )));
    }
    if a.action == ActionKind::Delegate {
        m.set_delegate(a.task.id, &to).await?;
    } else {
        m.set_assignee(a.task.id, &to).await?;
    }
    m.log(a.entry(a.action.into()).detail(&to)).await
}
