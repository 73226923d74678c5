//! The inbox: my open tasks, counts by process, requests copied to me.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::{context, Value};
use signoff_engine::display::key_facts;
use signoff_engine::runtime::{RequestQuery, TaskQuery, TaskView};

use super::{process_name, request_row, step_label, Notice, Viewer};
use crate::server::views::due_text;
use crate::server::AppState;

pub async fn inbox(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Notice>,
) -> Response {
    let all = match state
        .engine
        .tasks(&TaskQuery {
            user: viewer.user.clone(),
            limit: Some(1000),
            ..Default::default()
        })
        .await
    {
        Ok(t) => t,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let mut counts: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for t in &all {
        let name = process_name(&state, &t.process, viewer.lang);
        counts.entry(t.process.clone()).or_insert((name, 0)).1 += 1;
    }
    let now = state.engine.now();
    let rows: Vec<Value> = all
        .iter()
        .filter(|t| {
            q.process
                .as_deref()
                .is_none_or(|p| p.is_empty() || t.process == *p)
        })
        .map(|t| task_row(&state, &viewer, t, now))
        .collect();
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
            total => all.len(),
            counts => counts.into_iter().map(|(id, (name, n))| context! { id, name, n }).collect::<Vec<_>>(),
            filter => q.process.clone().unwrap_or_default(),
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
