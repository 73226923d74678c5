//! A request's record for audits: its history as CSV (for a spreadsheet) and a printable
//! page (a print style sheet). Only those who may see the request get either.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use signoff_engine::runtime::InstanceId;

use super::Viewer;
use crate::server::i18n::phrase;
use crate::server::views::{history, HistoryRow};
use crate::server::AppState;

/// The request's history as CSV, in the reader's language, with a byte-order mark so a
/// spreadsheet opens the Chinese right.
pub async fn history_csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    let view = match state
        .engine
        .instance_for(InstanceId(id), &viewer.user)
        .await
    {
        Ok(v) => v,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let def = state.engine.registry().version(&view.process, view.version);
    let rows = history(
        &view.history,
        def.as_deref(),
        state.engine.directory(),
        viewer.lang,
    );
    let header = [
        "time",
        "actor",
        "on_behalf_of",
        "action",
        "step",
        "detail",
        "comment",
        "changes",
        "inputs",
    ]
    .map(|key| phrase(viewer.lang, &format!("csv_{key}")));
    match csv_of(&header, &rows) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"request-{id}-history.csv\""),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "writing a history as CSV");
            let message = phrase(viewer.lang, "internal_error");
            viewer.error(
                &state,
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                &message,
            )
        }
    }
}

/// The CSV text: the header, then one line per history row.
fn csv_of(header: &[String], rows: &[HistoryRow]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(header)?;
    for r in rows {
        let cells = [
            r.at.clone(),
            r.actor.clone(),
            r.on_behalf_of.clone(),
            r.action.to_string(),
            r.step.clone(),
            r.detail.clone(),
            r.comment.clone(),
            r.changes.join("; "),
            r.inputs.join("; "),
        ];
        out.write_record(cells.iter().map(|c| inert(c)))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// A cell a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`, `@`
/// or a control character gets a leading apostrophe (people's comments go here).
fn inert(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// The request on one printable page: its fields and its whole history.
pub async fn print(State(state): State<AppState>, viewer: Viewer, Path(id): Path<i64>) -> Response {
    let view = match state
        .engine
        .instance_for(InstanceId(id), &viewer.user)
        .await
    {
        Ok(v) => v,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let page = super::request::request_context(&state, &viewer, &view);
    viewer.page(
        &state,
        "print.html",
        context! { active => "requests", ..page },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_in_a_comment_stays_text_and_commas_are_quoted() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("-1+2"), "'-1+2");
        assert_eq!(inert("同意"), "同意");
        let row = HistoryRow {
            at: "2026-09-28 10:00".into(),
            actor: "李娜 (li.na)".into(),
            on_behalf_of: String::new(),
            action: "提交",
            kind: "submit",
            step: String::new(),
            comment: "a, \"b\"".into(),
            detail: String::new(),
            changes: vec![],
            inputs: vec![],
        };
        let header: Vec<String> = (0..9).map(|n| format!("c{n}")).collect();
        let text = csv_of(&header, &[row]).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("\"a, \"\"b\"\"\""), "{text}");
    }
}
