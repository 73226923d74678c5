//! The engine's own notes in the history: why a task was skipped or cancelled, why an
//! escalation went to nobody, that a deadline is near. They are stored as fixed English
//! sentences (older histories hold the same words) and read back as a [`Note`], so pages
//! and mail say them in the reader's language.

/// One of the engine's notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    DeadlineNear,
    DeadlinePassed,
    NobodyToEscalateTo,
    AssigneeIsSubmitter,
    AssigneeAlreadyApproved,
    AddedSignerRejected,
    OwnSignersDecided,
    /// About a user: they already hold the step (an escalation skipped them).
    AlreadyHolds,
    /// About a user: the request is theirs or about them.
    TheirsOrAbout,
    /// About a user: they report to a holder of the step.
    ReportsToHolder,
}

impl Note {
    pub const ALL: [Note; 10] = [
        Note::DeadlineNear,
        Note::DeadlinePassed,
        Note::NobodyToEscalateTo,
        Note::AssigneeIsSubmitter,
        Note::AssigneeAlreadyApproved,
        Note::AddedSignerRejected,
        Note::OwnSignersDecided,
        Note::AlreadyHolds,
        Note::TheirsOrAbout,
        Note::ReportsToHolder,
    ];

    /// The stored sentence.
    pub fn as_str(self) -> &'static str {
        match self {
            Note::DeadlineNear => "the deadline is near",
            Note::DeadlinePassed => "the deadline has passed",
            Note::NobodyToEscalateTo => "nobody above the people who hold it to escalate to",
            Note::AssigneeIsSubmitter => "the assignee is the submitter",
            Note::AssigneeAlreadyApproved => "the assignee already approved",
            Note::AddedSignerRejected => "an added signer rejected",
            Note::OwnSignersDecided => "the step's own signers have decided",
            Note::AlreadyHolds => "already holds the step",
            Note::TheirsOrAbout => "may not decide a request that is theirs or about them",
            Note::ReportsToHolder => {
                "reports to someone who holds the step: escalation goes up, not down"
            }
        }
    }

    /// The note a stored detail is, with the user it is about (written "`user` note").
    pub fn parse(detail: &str) -> Option<(Option<&str>, Note)> {
        let (user, rest) = match detail.strip_prefix('`').and_then(|d| d.split_once("` ")) {
            Some((user, rest)) => (Some(user), rest),
            None => (None, detail),
        };
        Note::ALL
            .into_iter()
            .find(|n| n.as_str() == rest)
            .map(|n| (user, n))
    }

    /// The stored detail of a note about `user`.
    pub fn about(self, user: &str) -> String {
        format!("`{user}` {}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Note;

    #[test]
    fn every_note_reads_back_with_and_without_its_user() {
        for note in Note::ALL {
            assert_eq!(Note::parse(note.as_str()), Some((None, note)));
            assert_eq!(
                Note::parse(&note.about("li.na")),
                Some((Some("li.na"), note))
            );
        }
        assert_eq!(Note::parse("a CEL error: no such key"), None);
    }
}
