//! `consult` (委派) and `reply`: the holder asks someone's opinion; their task is held
//! until the person asked replies, then it comes back to them to decide. The opinion is
//! a comment in the history, not a vote. Acting on their behalf is `delegate`.

use super::act::Acting;
use super::prelude::*;
use crate::store::status::{Decision, TaskKind};

/// The holder asks `to` (never someone who may not decide the request).
pub(super) async fn ask(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    let to = m.other_user(a.request)?;
    policy::refuse_excluded(&to, &m.excluded())?;
    if to == a.task.assignee || Some(to.as_str()) == a.behalf || to == a.actor {
        return Err(EngineError::NotAllowed(format!(
            "`{to}` holds task {} already: ask someone else",
            a.task.id
        )));
    }
    m.hold_for(a.task, a.step, &to, TaskKind::Consult).await?;
    m.log(a.entry(HistoryAction::Consult).detail(&to)).await
}

/// The person asked answers (the comment is the opinion); the task goes back.
pub(super) async fn reply(m: &mut Machine<'_, '_>, a: &Acting<'_>) -> Result<(), EngineError> {
    if a.request
        .comment
        .as_deref()
        .is_none_or(|c| c.trim().is_empty())
    {
        return Err(EngineError::CommentRequired { action: "reply" });
    }
    m.close_task(a.task, Decision::Answered, a.actor, None)
        .await?;
    m.log(a.entry(HistoryAction::Reply)).await?;
    m.settle(a.step, a.task.run).await
}
