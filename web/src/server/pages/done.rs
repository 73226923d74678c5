//! "Done by me" (已办): the tasks I decided, newest first, with what I decided and when.

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::{context, Value};
use signoff_engine::runtime::Decision;
use signoff_engine::runtime::{DoneTask, TaskId};

use super::{process_name, step_label, Notice, Viewer};
use crate::server::i18n::phrase;
use crate::server::views::local_time;
use crate::server::AppState;

/// Decided tasks on one page.
const DONE_PAGE: i64 = 100;

pub async fn done(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Notice>,
) -> Response {
    let before = q.before.map(TaskId);
    let (list, total) = match tokio::try_join!(
        state.engine.done_tasks(&viewer.user, before, DONE_PAGE),
        state.engine.count_done(&viewer.user)
    ) {
        Ok(found) => found,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let rows: Vec<Value> = list.iter().map(|d| done_row(&state, &viewer, d)).collect();
    // Newest first: the next page holds the tasks older than this page's last.
    let next = (list.len() as i64 == DONE_PAGE)
        .then(|| list.last().map(|d| d.task.id.0))
        .flatten();
    viewer.page(
        &state,
        "done.html",
        context! {
            active => "done",
            tasks => rows,
            total,
            next,
            paged => before.is_some(),
        },
    )
}

fn done_row(state: &AppState, viewer: &Viewer, d: &DoneTask) -> Value {
    let t = &d.task;
    let def = state.engine.registry().version(&t.process, t.version);
    // The decision in the words of the action that made it.
    let decision = phrase(
        viewer.lang,
        match d.decision {
            Some(Decision::Approved) => "approve",
            Some(Decision::Rejected) => "reject",
            Some(Decision::Returned) => "return",
            Some(Decision::Answered) => "reply",
            Some(Decision::Resubmitted) => "resubmit",
            Some(Decision::Done) | None => "complete",
        },
    );
    context! {
        id => t.id.0,
        instance => t.instance.0,
        process => process_name(state, &t.process, viewer.lang),
        step => step_label(def.as_deref(), &t.step, viewer.lang),
        submitter => viewer.name_of(state, &t.submitter),
        decision,
        // A rejection shows red, a return amber, anything else done green.
        tone => match d.decision {
            Some(Decision::Rejected) => "rejected",
            Some(Decision::Returned) => "returned",
            _ => "approved",
        },
        at => d.acted_at.as_deref().map(local_time),
    }
}
