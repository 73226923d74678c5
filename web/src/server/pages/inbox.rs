//! The inbox: my open tasks, counts by process, requests copied to me.

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::{context, Value};
use signoff_engine::display::key_facts;
use signoff_engine::runtime::{RequestQuery, TaskQuery, TaskView};

use super::{process_name, request_row, step_label, Notice, Viewer};
use crate::server::views::due_text;
use crate::server::AppState;

/// Tasks on one page of the inbox.
const INBOX_PAGE: i64 = 100;

pub async fn inbox(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Notice>,
) -> Response {
    let counts = match state.engine.task_counts(&viewer.user).await {
        Ok(c) => c,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let filter = q.process.clone().filter(|p| !p.is_empty());
    let shown = filter.as_ref().map_or(total, |f| {
        counts.iter().find(|(p, _)| p == f).map_or(0, |(_, n)| *n)
    });
    let offset = q.offset.unwrap_or(0).clamp(0, shown.max(0));
    let page = match state
        .engine
        .tasks(&TaskQuery {
            user: viewer.user.clone(),
            process: filter.clone(),
            limit: Some(INBOX_PAGE),
            offset: Some(offset),
            ..Default::default()
        })
        .await
    {
        Ok(t) => t,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let now = state.engine.now();
    let rows: Vec<Value> = page
        .iter()
        .map(|t| task_row(&state, &viewer, t, now))
        .collect();
    let counts: Vec<Value> = counts
        .into_iter()
        .map(|(id, n)| context! { name => process_name(&state, &id, viewer.lang), id, n })
        .collect();
    let pages = context! {
        from => offset + 1,
        to => offset + rows.len() as i64,
        of => shown,
        prev => (offset > 0).then(|| (offset - INBOX_PAGE).max(0)),
        next => (offset + (rows.len() as i64) < shown).then_some(offset + INBOX_PAGE),
    };
    let cc = state
        .engine
        .requests(&RequestQuery {
            watcher: Some(viewer.user.clone()),
            limit: Some(50),
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let cc: Vec<Value> = cc.iter().map(|r| request_row(&state, &viewer, r)).collect();
    viewer.page(
        &state,
        "inbox.html",
        context! {
            active => "inbox",
            tasks => rows,
            total,
            counts,
            pages,
            filter => filter.unwrap_or_default(),
            cc,
            notice => q.text(viewer.lang),
        },
    )
}

fn task_row(
    state: &AppState,
    viewer: &Viewer,
    t: &TaskView,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let due = t.due_at.as_deref().and_then(signoff_engine::clock::from_db);
    let created = signoff_engine::clock::from_db(&t.created_at);
    let age = created.map(|c| now - c).map(|d| {
        if d.num_days() >= 1 {
            format!("{}d", d.num_days())
        } else {
            format!("{}h", d.num_hours().max(0))
        }
    });
    let def = state.engine.registry().version(&t.process, t.version);
    let summary = def
        .as_ref()
        .map(|d| {
            key_facts(d, &t.form, state.engine.directory(), viewer.lang)
                .into_iter()
                .take(3)
                .map(|f| format!("{}: {}", f.label, f.value))
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .unwrap_or_default();
    context! {
        id => t.id.0,
        instance => t.instance.0,
        summary,
        process => process_name(state, &t.process, viewer.lang),
        step => step_label(def.as_deref(), &t.step, viewer.lang),
        submitter => viewer.name_of(state, &t.submitter),
        delegate_for => t.delegate.as_ref().filter(|d| **d == viewer.user).map(|_| viewer.name_of(state, &t.assignee)),
        pool => t.pool,
        age,
        due => t.due_at.as_deref().map(|d| due_text(&state.engine, d, viewer.lang)),
        overdue => due.is_some_and(|d| d < now),
        kind => t.kind,
    }
}
