//! Reading definition files safely: size limits, UTF-8, YAML budgets (no alias bombs, no
//! unbounded nesting), and turning parser errors into [`Diagnostic`]s with a hint.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::diagnostic::{suggestion, Code, Diagnostic};
use crate::located::Position;

/// Definition files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// A file read into memory, kept for rendering diagnostics against its lines.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// Reads a file, refusing huge and non-UTF-8 ones.
    pub fn read(path: &Path) -> Result<SourceFile, Box<Diagnostic>> {
        let bytes = std::fs::read(path).map_err(|e| {
            Box::new(Diagnostic::error(
                Code::Io,
                path,
                Position::UNKNOWN,
                format!("cannot read the file: {e}"),
            ))
        })?;
        SourceFile::from_bytes(path, bytes)
    }

    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<SourceFile, Box<Diagnostic>> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(Box::new(
                Diagnostic::error(
                    Code::TooLarge,
                    path,
                    Position::UNKNOWN,
                    format!(
                        "the file is {} bytes; definition files are limited to {MAX_FILE_BYTES}",
                        bytes.len()
                    ),
                )
                .with_hint("split the process into smaller definitions"),
            ));
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile {
                path: path.to_path_buf(),
                text,
            }),
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let text = String::from_utf8_lossy(valid);
                let line = text.matches('\n').count() + 1;
                let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                Err(Box::new(
                    Diagnostic::error(
                        Code::Syntax,
                        path,
                        Position::new(line as u32, column as u32),
                        "the file is not valid UTF-8",
                    )
                    .with_hint("save the file as UTF-8"),
                ))
            }
        }
    }

    /// Parses the text as YAML into `T`, within budgets that bound time and memory.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Box<Diagnostic>> {
        let options = serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_events: 200_000,
                max_aliases: 1_000,
                max_anchors: 1_000,
                max_depth: 64,
            },
            strict_booleans: true,
            with_snippet: false,
        };
        serde_saphyr::from_str_with_options(&self.text, options)
            .map_err(|e| Box::new(to_diagnostic(&self.path, &e)))
    }
}

fn to_diagnostic(path: &Path, error: &serde_saphyr::Error) -> Diagnostic {
    let at = error
        .location()
        .map(Position::from_saphyr)
        .unwrap_or(Position::UNKNOWN);
    let message = strip_location_prefix(&error.to_string());
    classify(path, at, message)
}

/// serde-saphyr prefixes its messages with `error: line N column M: `; the location is
/// shown separately, so the prefix goes.
fn strip_location_prefix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or_default();
    // Some messages also end with ` at line N, column M`.
    let first_line = match first_line.rfind(" at line ") {
        Some(idx) if first_line[idx..].contains("column") => &first_line[..idx],
        _ => first_line,
    };
    let rest = first_line.strip_prefix("error: ").unwrap_or(first_line);
    if let Some(after_line) = rest.strip_prefix("line ") {
        if let Some(idx) = after_line.find(": ") {
            return after_line[idx + 2..].to_string();
        }
    }
    rest.to_string()
}

fn classify(path: &Path, at: Position, message: String) -> Diagnostic {
    if let Some((wrong, expected)) = parse_unknown(&message, "unknown field `") {
        let hint = suggestion(
            &wrong,
            &expected.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let d = Diagnostic::error(Code::UnknownKey, path, at, format!("unknown key `{wrong}`"));
        return match hint {
            Some(h) => d.with_hint(h),
            None => d.with_hint("no keys are allowed here"),
        };
    }
    if let Some((wrong, expected)) = parse_unknown(&message, "unknown variant `") {
        let hint = suggestion(
            &wrong,
            &expected.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let d = Diagnostic::error(
            Code::WrongType,
            path,
            at,
            format!("unknown value `{wrong}`"),
        );
        return match hint {
            Some(h) => d.with_hint(h),
            None => d,
        };
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        return Diagnostic::error(Code::MissingKey, path, at, format!("missing key `{field}`"))
            .with_hint(format!("add `{field}:` here"));
    }
    if message.contains("duplicate mapping key") {
        return Diagnostic::error(Code::DuplicateId, path, at, message)
            .with_hint("remove or rename one of the two keys");
    }
    if message.contains("budget") || message.contains("limit") || message.contains("depth") {
        return Diagnostic::error(Code::TooLarge, path, at, message).with_hint(
            "the file nests too deeply or expands too many aliases; write it out plainly",
        );
    }
    let is_type = message.starts_with("invalid")
        || message.starts_with("expected")
        || message.contains("invalid type");
    if is_type {
        return Diagnostic::error(Code::WrongType, path, at, message)
            .with_hint("check this value's type against the language reference (README) or processes/schema.json");
    }
    Diagnostic::error(Code::Syntax, path, at, message)
        .with_hint("check indentation, colons after keys, and matching brackets and quotes")
}

/// From ``unknown field `x`, expected one of `a`, `b` `` (or without backticks), the
/// wrong name and the expected ones.
fn parse_unknown(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(prefix)?;
    let (wrong, tail) = rest.split_once('`')?;
    let expected = tail
        .split_once("expected one of ")
        .or_else(|| tail.split_once("expected "))
        .map(|(_, list)| {
            list.split(',')
                .map(|s| s.trim().trim_matches('`').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Some((wrong.to_string(), expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProcessDef;

    fn parse(text: &str) -> Result<ProcessDef, Box<Diagnostic>> {
        SourceFile {
            path: PathBuf::from("t.yaml"),
            text: text.to_string(),
        }
        .parse()
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            };
            bomb.push_str(&format!(
                "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert!(parse(&bomb).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("id: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&deep).is_err());
        let deep_block: String = (0..5000)
            .map(|i| format!("{}- \n", " ".repeat(i * 2)))
            .collect();
        assert!(parse(&deep_block).is_err());
    }

    #[test]
    fn invalid_utf8_points_at_the_byte() {
        let d = SourceFile::from_bytes(Path::new("x.yaml"), b"id: a\nname: \xff\n".to_vec())
            .unwrap_err();
        assert_eq!((d.line, d.column), (2, 7));
        assert_eq!(d.code, Code::Syntax);
    }

    #[test]
    fn huge_file_is_refused_before_parsing() {
        let d = SourceFile::from_bytes(Path::new("x.yaml"), vec![b'#'; MAX_FILE_BYTES + 1])
            .unwrap_err();
        assert_eq!(d.code, Code::TooLarge);
    }
}
