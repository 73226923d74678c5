//! Problems found in definition files, and how they are shown: file, line and column,
//! the offending line with a caret, and a hint; or JSON for editors and CI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::located::Position;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What kind of problem a diagnostic reports; stable names for `--format json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    Io,
    TooLarge,
    Syntax,
    UnknownKey,
    WrongType,
    DuplicateId,
    BadId,
    ReservedId,
    UnknownStep,
    UnreachableStep,
    NoWayToEnd,
    MissingDefault,
    MissingTransition,
    CelSyntax,
    CelTooCostly,
    CelUnknownName,
    UnknownRole,
    UnknownUser,
    UnknownTemplate,
    UnknownRegion,
    UnknownField,
    BadDuration,
    BadPattern,
    BadBounds,
    MisplacedKey,
    MissingKey,
    BadMode,
    BadAction,
    Directory,
    Calendar,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::TooLarge => "too-large",
            Code::Syntax => "syntax",
            Code::UnknownKey => "unknown-key",
            Code::WrongType => "wrong-type",
            Code::DuplicateId => "duplicate-id",
            Code::BadId => "bad-id",
            Code::ReservedId => "reserved-id",
            Code::UnknownStep => "unknown-step",
            Code::UnreachableStep => "unreachable-step",
            Code::NoWayToEnd => "no-way-to-end",
            Code::MissingDefault => "missing-default",
            Code::MissingTransition => "missing-transition",
            Code::CelSyntax => "cel-syntax",
            Code::CelTooCostly => "cel-too-costly",
            Code::CelUnknownName => "cel-unknown-name",
            Code::UnknownRole => "unknown-role",
            Code::UnknownUser => "unknown-user",
            Code::UnknownTemplate => "unknown-template",
            Code::UnknownRegion => "unknown-region",
            Code::UnknownField => "unknown-field",
            Code::BadDuration => "bad-duration",
            Code::BadPattern => "bad-pattern",
            Code::BadBounds => "bad-bounds",
            Code::MisplacedKey => "misplaced-key",
            Code::MissingKey => "missing-key",
            Code::BadMode => "bad-mode",
            Code::BadAction => "bad-action",
            Code::Directory => "directory",
            Code::Calendar => "calendar",
        }
    }
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, file: &Path, at: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            file: file.to_path_buf(),
            line: at.line,
            column: at.column,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(code: Code, file: &Path, at: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, at, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn position(&self) -> Position {
        Position::new(self.line, self.column)
    }

    /// The diagnostic as a person reads it, with `source` (the file's text) for context:
    ///
    /// ```text
    /// error[unknown-step]: transition goes to unknown step `finanse`
    ///   --> processes/reimbursement.yaml:42:13
    ///    |
    /// 42 |         to: finanse
    ///    |             ^
    ///    = hint: did you mean `finance`?
    /// ```
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = String::new();
        let severity = self.severity.as_str();
        let _ = writeln!(out, "{severity}[{}]: {}", self.code.as_str(), self.message);
        if self.line == 0 {
            let _ = writeln!(out, "  --> {}", self.file.display());
        } else {
            let _ = writeln!(
                out,
                "  --> {}:{}:{}",
                self.file.display(),
                self.line,
                self.column
            );
            if let Some(text) = source.and_then(|s| s.lines().nth(self.line as usize - 1)) {
                let number = self.line.to_string();
                let pad = " ".repeat(number.len());
                let caret_pad: String = text
                    .chars()
                    .take(self.column.saturating_sub(1) as usize)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{number} | {text}");
                let _ = writeln!(out, "{pad} | {caret_pad}^");
            }
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "   = hint: {hint}");
        }
        out
    }
}

/// The closest candidate to `wrong`, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Jaro-Winkler favours shared prefixes (`finanse`); the edit distance catches
    // transpositions and doubled letters anywhere (`ednd`).
    candidates
        .into_iter()
        .map(|c| {
            let edits = strsim::damerau_levenshtein(wrong, c);
            let close_by_edits = edits <= 1 || (edits == 2 && c.chars().count() > 4);
            let score = strsim::jaro_winkler(wrong, c).max(if close_by_edits { 0.85 } else { 0.0 });
            (score, c)
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A hint naming the likely intended candidate, or listing the valid ones when few.
pub fn suggestion(wrong: &str, candidates: &[&str]) -> Option<String> {
    if let Some(best) = did_you_mean(wrong, candidates.iter().copied()) {
        return Some(format!("did you mean `{best}`?"));
    }
    if candidates.is_empty() {
        return None;
    }
    let shown: Vec<String> = candidates
        .iter()
        .take(12)
        .map(|c| format!("`{c}`"))
        .collect();
    let more = if candidates.len() > 12 { ", ..." } else { "" };
    Some(format!("expected one of {}{more}", shown.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_and_caret() {
        let d = Diagnostic::error(
            Code::UnknownStep,
            Path::new("p.yaml"),
            Position::new(2, 9),
            "unknown step `x`",
        )
        .with_hint("did you mean `y`?");
        let text = d.render(Some("a: 1\nb:  to: x\n"));
        assert_eq!(
            text,
            "error[unknown-step]: unknown step `x`\n  --> p.yaml:2:9\n  |\n2 | b:  to: x\n  |         ^\n   = hint: did you mean `y`?\n"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("finanse", ["finance", "hr"]), Some("finance"));
        assert_eq!(did_you_mean("zzz", ["finance", "hr"]), None);
    }
}
