//! The kinds of history entry, one variant per thing that can happen to a request,
//! stored in `events.action` by its snake_case name. The pages, the mail planner, the
//! API and `simulate` all read this enum, so a new kind of entry is a compile error
//! wherever it must be shown or mailed. Unlike the closed sets in [`super::status`], a
//! stored name this version does not know reads as [`HistoryAction::Unknown`]: history
//! written by a newer server must still show.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    // What people do.
    Submit,
    Approve,
    Reject,
    Return,
    Resubmit,
    Complete,
    Delegate,
    Transfer,
    AddSigner,
    RemoveSigner,
    Claim,
    Comment,
    Withdraw,
    Urge,
    Retry,
    /// The holder asked someone's opinion (委派); the task comes back to them.
    Consult,
    /// The person asked gave their opinion.
    Reply,
    /// The one who decided last took the request back (拿回) before the next person acted.
    TakeBack,
    /// An owner moved the request to another step (跳转).
    Jump,
    /// An owner ended the request (终止).
    Terminate,
    // What the engine does.
    Enter,
    Leave,
    Set,
    Assign,
    Skip,
    Cc,
    Cancel,
    End,
    Escalate,
    EscalateFailed,
    EscalateSkipped,
    Incident,
    Remind,
    RouteToDeputy,
    Timeout,
    /// A step decided by its deadline (`on_timeout: approve`).
    AutoApprove,
    /// A step decided by its deadline (`on_timeout: reject`).
    AutoReject,
    Migrate,
    DueMoved,
    FinishedBy,
    LinkMissed,
    /// A kind this version does not know (written by a newer server).
    Unknown,
}

impl HistoryAction {
    pub const ALL: [HistoryAction; 42] = [
        HistoryAction::Submit,
        HistoryAction::Approve,
        HistoryAction::Reject,
        HistoryAction::Return,
        HistoryAction::Resubmit,
        HistoryAction::Complete,
        HistoryAction::Delegate,
        HistoryAction::Transfer,
        HistoryAction::AddSigner,
        HistoryAction::RemoveSigner,
        HistoryAction::Claim,
        HistoryAction::Comment,
        HistoryAction::Withdraw,
        HistoryAction::Urge,
        HistoryAction::Retry,
        HistoryAction::Consult,
        HistoryAction::Reply,
        HistoryAction::TakeBack,
        HistoryAction::Jump,
        HistoryAction::Terminate,
        HistoryAction::Enter,
        HistoryAction::Leave,
        HistoryAction::Set,
        HistoryAction::Assign,
        HistoryAction::Skip,
        HistoryAction::Cc,
        HistoryAction::Cancel,
        HistoryAction::End,
        HistoryAction::Escalate,
        HistoryAction::EscalateFailed,
        HistoryAction::EscalateSkipped,
        HistoryAction::Incident,
        HistoryAction::Remind,
        HistoryAction::RouteToDeputy,
        HistoryAction::Timeout,
        HistoryAction::AutoApprove,
        HistoryAction::AutoReject,
        HistoryAction::Migrate,
        HistoryAction::DueMoved,
        HistoryAction::FinishedBy,
        HistoryAction::LinkMissed,
        HistoryAction::Unknown,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryAction::Submit => "submit",
            HistoryAction::Approve => "approve",
            HistoryAction::Reject => "reject",
            HistoryAction::Return => "return",
            HistoryAction::Resubmit => "resubmit",
            HistoryAction::Complete => "complete",
            HistoryAction::Delegate => "delegate",
            HistoryAction::Transfer => "transfer",
            HistoryAction::AddSigner => "add_signer",
            HistoryAction::RemoveSigner => "remove_signer",
            HistoryAction::Claim => "claim",
            HistoryAction::Comment => "comment",
            HistoryAction::Withdraw => "withdraw",
            HistoryAction::Urge => "urge",
            HistoryAction::Retry => "retry",
            HistoryAction::Consult => "consult",
            HistoryAction::Reply => "reply",
            HistoryAction::TakeBack => "take_back",
            HistoryAction::Jump => "jump",
            HistoryAction::Terminate => "terminate",
            HistoryAction::Enter => "enter",
            HistoryAction::Leave => "leave",
            HistoryAction::Set => "set",
            HistoryAction::Assign => "assign",
            HistoryAction::Skip => "skip",
            HistoryAction::Cc => "cc",
            HistoryAction::Cancel => "cancel",
            HistoryAction::End => "end",
            HistoryAction::Escalate => "escalate",
            HistoryAction::EscalateFailed => "escalate_failed",
            HistoryAction::EscalateSkipped => "escalate_skipped",
            HistoryAction::Incident => "incident",
            HistoryAction::Remind => "remind",
            HistoryAction::RouteToDeputy => "route_to_deputy",
            HistoryAction::Timeout => "timeout",
            HistoryAction::AutoApprove => "auto_approve",
            HistoryAction::AutoReject => "auto_reject",
            HistoryAction::Migrate => "migrate",
            HistoryAction::DueMoved => "due_moved",
            HistoryAction::FinishedBy => "finished_by",
            HistoryAction::LinkMissed => "link_missed",
            HistoryAction::Unknown => "unknown",
        }
    }

    /// The kind stored as `name`; [`HistoryAction::Unknown`] for a name this version
    /// does not know.
    pub fn parse(name: &str) -> HistoryAction {
        HistoryAction::ALL
            .into_iter()
            .find(|a| a.as_str() == name)
            .unwrap_or(HistoryAction::Unknown)
    }

    /// Whether it moves the request on or changes who holds it: what "nobody has acted
    /// since" means for taking a request back (comments and copies do not count).
    pub fn is_decision(self) -> bool {
        use HistoryAction as A;
        matches!(
            self,
            A::Approve
                | A::Reject
                | A::Return
                | A::Resubmit
                | A::Complete
                | A::Delegate
                | A::Transfer
                | A::AddSigner
                | A::RemoveSigner
                | A::Claim
                | A::Consult
                | A::Reply
                | A::TakeBack
                | A::Jump
                | A::AutoApprove
                | A::AutoReject
                | A::Withdraw
                | A::Terminate
        )
    }

    /// Whether the engine recorded it (rather than a person).
    pub fn is_bookkeeping(self) -> bool {
        matches!(
            self,
            HistoryAction::Enter | HistoryAction::Leave | HistoryAction::Set
        )
    }
}

#[cfg(test)]
mod tests {
    use super::HistoryAction;

    #[test]
    fn every_kind_reads_back_from_its_stored_name() {
        for action in HistoryAction::ALL {
            assert_eq!(HistoryAction::parse(action.as_str()), action);
        }
        assert_eq!(
            HistoryAction::parse("from_the_future"),
            HistoryAction::Unknown
        );
    }
}
