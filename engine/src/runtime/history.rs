//! A history entry as an action builds it ([`Entry`]), and which kind of entry each
//! person's action records. The kinds themselves ([`HistoryAction`]) are the store's.

use super::ActionKind;
pub use crate::store::history_action::HistoryAction;

impl From<ActionKind> for HistoryAction {
    fn from(kind: ActionKind) -> HistoryAction {
        match kind {
            ActionKind::Approve => HistoryAction::Approve,
            ActionKind::Reject => HistoryAction::Reject,
            ActionKind::Return => HistoryAction::Return,
            ActionKind::Complete => HistoryAction::Complete,
            ActionKind::Delegate => HistoryAction::Delegate,
            ActionKind::Transfer => HistoryAction::Transfer,
            ActionKind::AddSigner => HistoryAction::AddSigner,
            ActionKind::RemoveSigner => HistoryAction::RemoveSigner,
            ActionKind::Claim => HistoryAction::Claim,
            ActionKind::Comment => HistoryAction::Comment,
            ActionKind::Resubmit => HistoryAction::Resubmit,
            ActionKind::Consult => HistoryAction::Consult,
            ActionKind::Reply => HistoryAction::Reply,
            ActionKind::CopyTo => HistoryAction::Cc,
        }
    }
}

/// One history entry before it is written: who did what, and what it concerns. Built
/// with the parts an event has, e.g.
/// `Entry::new(actor, HistoryAction::Return).step(&step.id).task(task).detail("submitter")`.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: HistoryAction,
    /// Whom the actor stood in for (a delegate, a deputy).
    pub on_behalf_of: Option<&'a str>,
    pub step: Option<&'a str>,
    pub task: Option<super::TaskId>,
    pub comment: Option<&'a str>,
    /// Fields changed: `{field: {old, new}}`.
    pub changes: Option<&'a serde_json::Value>,
    /// What else the event names: a target step, a person, a reason.
    pub detail: Option<&'a str>,
}

impl<'a> Entry<'a> {
    pub fn new(actor: &'a str, action: HistoryAction) -> Self {
        Entry {
            actor,
            action,
            on_behalf_of: None,
            step: None,
            task: None,
            comment: None,
            changes: None,
            detail: None,
        }
    }

    pub fn on_behalf_of(self, user: Option<&'a str>) -> Self {
        Entry {
            on_behalf_of: user,
            ..self
        }
    }

    pub fn step(self, step: &'a str) -> Self {
        Entry {
            step: Some(step),
            ..self
        }
    }

    pub fn task(self, task: super::TaskId) -> Self {
        Entry {
            task: Some(task),
            ..self
        }
    }

    pub fn comment(self, comment: Option<&'a str>) -> Self {
        Entry { comment, ..self }
    }

    pub fn changes(self, changes: Option<&'a serde_json::Value>) -> Self {
        Entry { changes, ..self }
    }

    pub fn detail(self, detail: &'a str) -> Self {
        Entry {
            detail: Some(detail),
            ..self
        }
    }

    pub fn detail_opt(self, detail: Option<&'a str>) -> Self {
        Entry { detail, ..self }
    }
}
