//! What publishing an edited definition would change, shown on the owner page after a
//! check: the lines against the published version, and the running requests, which stay
//! on the version they started on.

use minijinja::{context, Value};
use signoff_engine::display::Lang;
use similar::{ChangeTag, TextDiff};

use crate::server::i18n::phrase;
use crate::server::AppState;

/// Most diff lines shown; a longer diff says how many more there are.
const MAX_DIFF_LINES: usize = 1_000;

/// The changed lines of `edited` against `published`, with two lines of context around
/// each change, as `{kind: add|remove|same|gap, sign, text, old, new}`.
pub(super) fn diff_lines(published: &str, edited: &str) -> Vec<Value> {
    let diff = TextDiff::from_lines(published, edited);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(2).iter().enumerate() {
        if i > 0 {
            out.push(context! { kind => "gap", sign => "…", text => "" });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                if out.len() >= MAX_DIFF_LINES {
                    out.push(context! { kind => "gap", sign => "…", text => format!("(+{})", diff.ops().len()) });
                    return out;
                }
                let (kind, sign) = match change.tag() {
                    ChangeTag::Insert => ("add", "+"),
                    ChangeTag::Delete => ("remove", "-"),
                    ChangeTag::Equal => ("same", " "),
                };
                out.push(context! {
                    kind,
                    sign,
                    text => change.value().trim_end_matches(['\n', '\r']),
                    old => change.old_index().map(|n| n + 1),
                    new => change.new_index().map(|n| n + 1),
                });
            }
        }
    }
    out
}

/// The review of an edit of `process`: its diff against version `latest`, and the note
/// on its running requests.
pub(super) async fn review(
    state: &AppState,
    process: &str,
    latest: i64,
    edited: &str,
    lang: Lang,
) -> (Option<Vec<Value>>, Option<String>) {
    let published = state
        .engine
        .source(process, latest)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    (
        Some(diff_lines(&published, edited)),
        Some(running_note(state, process, lang).await),
    )
}

/// What becomes of `process`'s running requests if the edit is published, in `lang`.
pub(super) async fn running_note(state: &AppState, process: &str, lang: Lang) -> String {
    let running = state
        .engine
        .running_by_version(process)
        .await
        .unwrap_or_default();
    if running.is_empty() {
        return phrase(lang, "running_none");
    }
    let counts: Vec<String> = running
        .iter()
        .map(|(version, n)| {
            phrase(lang, "running_on_version")
                .replace("{n}", &n.to_string())
                .replace("{version}", &version.to_string())
        })
        .collect();
    phrase(lang, "running_some").replace("{counts}", &counts.join(&phrase(lang, "list_separator")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_shows_the_changed_lines_with_their_context() {
        let published = "id: p\nname: a\nsteps:\n  - id: one\n  - id: two\n  - id: three\n  - id: four\n  - id: five\n  - id: six\n";
        let edited = published.replace("  - id: two\n", "  - id: deux\n");
        let lines = diff_lines(published, &edited);
        let shown: Vec<(String, String)> = lines
            .iter()
            .map(|l| {
                (
                    l.get_attr("sign").unwrap().to_string(),
                    l.get_attr("text").unwrap().to_string(),
                )
            })
            .collect();
        assert!(
            shown.contains(&("-".into(), "  - id: two".into())),
            "{shown:?}"
        );
        assert!(shown.contains(&("+".into(), "  - id: deux".into())));
        assert_eq!(shown.len(), 6, "two lines of context each side: {shown:?}");
        assert!(diff_lines(published, published).is_empty());
    }
}
