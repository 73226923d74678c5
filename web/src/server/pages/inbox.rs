//! The inbox: my open tasks, counts by process, requests copied to me, and approving
//! several tasks at once.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{context, Value};
use signoff_engine::display::summary_facts;
use signoff_engine::runtime::TaskKind;
use signoff_engine::runtime::{
    ActionKind, ActionRequest, EngineError, RequestQuery, TaskCursor, TaskId, TaskQuery, TaskSort,
    TaskView,
};

use super::{process_name, request_row, step_label, Notice, Viewer};
use crate::server::i18n::{engine_message, phrase};
use crate::server::views::due_text;
use crate::server::AppState;

/// Tasks on one page of the inbox.
const INBOX_PAGE: i64 = 100;

pub async fn inbox(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Notice>,
) -> Response {
    inbox_page(&state, &viewer, &q, None, StatusCode::OK).await
}

/// Approves the tasks ticked in the inbox with one comment, each on its own, and shows
/// the inbox again with a line per task: approved, or why not.
pub async fn approve_selected(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &'static str| pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v);
    if !viewer.csrf_ok(field("csrf").next().map_or("", String::as_str)) {
        return viewer.bad_csrf(&state);
    }
    // A box's value is a task id; anything else is a tampered form, refused like an
    // empty choice. How many may be chosen is the engine's rule.
    let Ok(tasks) = field("task")
        .map(|v| v.parse().map(TaskId))
        .collect::<Result<Vec<_>, _>>()
    else {
        let message = phrase(viewer.lang, "batch_choose");
        return refused(&state, &viewer, message).await;
    };
    let comment = field("comment")
        .next()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let mut request = ActionRequest::new(ActionKind::Approve);
    request.comment = comment;
    let results = match state
        .engine
        .perform_each(&tasks, &viewer.user, &request)
        .await
    {
        Ok(r) => r,
        Err(e @ EngineError::BatchSize { .. }) => {
            return refused(&state, &viewer, engine_message(viewer.lang, &e)).await
        }
        Err(e) => return viewer.engine_error(&state, &e),
    };
    for (_, result) in &results {
        state.metrics.action(
            "approve",
            result.as_ref().map_or_else(EngineError::code, |_| "ok"),
        );
    }
    let approved = results.iter().filter(|(_, r)| r.is_ok()).count();
    let lines: Vec<Value> = results
        .iter()
        .map(|(task, result)| match result {
            Ok(acted) => context! { task => task.0, instance => acted.instance.0, ok => true },
            Err(e) => {
                context! { task => task.0, ok => false, why => engine_message(viewer.lang, e) }
            }
        })
        .collect();
    let summary = format!(
        "{} {approved} / {}",
        phrase(viewer.lang, "batch_approved"),
        results.len()
    );
    inbox_page(
        &state,
        &viewer,
        &Notice::default(),
        Some((summary, lines)),
        StatusCode::OK,
    )
    .await
}

/// The inbox again, with why a batch approval was refused as a whole.
async fn refused(state: &AppState, viewer: &Viewer, message: String) -> Response {
    let batch = Some((message, vec![]));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    inbox_page(state, viewer, &Notice::default(), batch, status).await
}

/// The inbox page, with the results of a batch approval when there was one.
async fn inbox_page(
    state: &AppState,
    viewer: &Viewer,
    q: &Notice,
    batch: Option<(String, Vec<Value>)>,
    status: StatusCode,
) -> Response {
    let state = state.clone();
    let counts = match state.engine.task_counts(&viewer.user).await {
        Ok(c) => c,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let query = listed(viewer, q);
    let filter = query.process.clone();
    let shown = if query.narrowed() {
        state.engine.count_tasks(&query).await
    } else {
        Ok(filter.as_ref().map_or(total, |f| {
            counts.iter().find(|(p, _)| p == f).map_or(0, |(_, n)| *n)
        }))
    };
    let shown = match shown {
        Ok(n) => n,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let after = q.after.as_deref().and_then(TaskCursor::parse);
    let skipped = match after {
        Some(_) => q.from.unwrap_or(1).clamp(1, shown.max(1)) - 1,
        None => 0,
    };
    let query = TaskQuery { after, ..query };
    let page = match state.engine.tasks(&query).await {
        Ok(t) => t,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let now = state.engine.now();
    let rows: Vec<Value> = page
        .iter()
        .map(|t| task_row(&state, viewer, t, now))
        .collect();
    let counts: Vec<Value> = counts
        .into_iter()
        .map(|(id, n)| context! { name => process_name(&state, &id, viewer.lang), id, n })
        .collect();
    let pages = pager(&query, &page, skipped, shown);
    let (cc, unread) = copied_to(&state, viewer).await;
    let (batch_summary, batch) = batch.unzip();
    viewer.page_status(
        &state,
        status,
        "inbox.html",
        context! {
            active => "inbox",
            batch_summary,
            batch,
            tasks => rows,
            total,
            counts,
            pages,
            filter => filter.unwrap_or_default(),
            keep => kept(&query),
            search => query.search,
            sort => query.sort.as_str(),
            since => query.submitted_from.map(|d| d.to_string()),
            until => query.submitted_to.map(|d| d.to_string()),
            cc,
            unread,
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
            summary_facts(d, &t.form, state.engine.directory(), viewer.lang)
                .into_iter()
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
        batchable => batchable(t, def.as_deref()),
    }
}

/// Whether a task can be approved from the inbox with others: an approval of its step's
/// own, not offered to several people, asking for no inputs.
fn batchable(t: &TaskView, def: Option<&signoff_engine::model::ProcessDef>) -> bool {
    let step = def.and_then(|d| d.step(&t.step));
    t.kind == TaskKind::Step
        && !t.pool
        && t.actions.iter().any(|a| a == "approve")
        && step.is_some_and(|s| s.inputs.is_empty())
}

/// The requests `viewer` is copied on (the newest 50), each with its read mark, and how
/// many of all they have not read.
async fn copied_to(state: &AppState, viewer: &Viewer) -> (Vec<Value>, i64) {
    let cc = state
        .engine
        .requests(&RequestQuery {
            watcher: Some(viewer.user.clone()),
            limit: Some(50),
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let ids: Vec<_> = cc.iter().map(|r| r.id).collect();
    let read = state
        .engine
        .read_marks(&viewer.user, &ids)
        .await
        .unwrap_or_default();
    let unread = state
        .engine
        .unread_cc(&viewer.user)
        .await
        .unwrap_or_default();
    let cc: Vec<Value> = cc
        .iter()
        .map(|r| context! { read => read.contains(&r.id), ..request_row(state, viewer, r) })
        .collect();
    (cc, unread)
}

/// The inbox's list as the query asks: a process, a search text, an order.
fn listed(viewer: &Viewer, q: &Notice) -> TaskQuery {
    TaskQuery {
        user: viewer.user.clone(),
        process: q.process.clone().filter(|p| !p.is_empty()),
        limit: Some(INBOX_PAGE),
        search: q.q.clone().filter(|t| !t.trim().is_empty()),
        sort: q.sort.as_deref().map(TaskSort::parse).unwrap_or_default(),
        submitted_from: day(q.since.as_deref()),
        submitted_to: day(q.until.as_deref()),
        ..Default::default()
    }
}

/// A day typed in a date field; none for anything else (the field shows it was ignored).
fn day(text: Option<&str>) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text?.trim(), "%Y-%m-%d").ok()
}

/// The pager: which rows of how many, and the links to the first and the next page
/// (its cursor, and where it starts for the words).
fn pager(query: &TaskQuery, page: &[TaskView], skipped: i64, shown: i64) -> Value {
    let to = skipped + page.len() as i64;
    let next = page
        .last()
        .filter(|_| page.len() as i64 == INBOX_PAGE && to < shown)
        .map(|last| {
            let cursor = query.sort.cursor(last).to_string();
            let from = (to + 1).to_string();
            serde_urlencoded::to_string([("after", cursor.as_str()), ("from", from.as_str())])
                .unwrap_or_default()
        });
    context! {
        from => skipped + 1,
        to,
        of => shown,
        first => query.after.is_some(),
        next,
    }
}

/// What the pager's links keep of the list: its process, search and order.
fn kept(query: &TaskQuery) -> String {
    let since = query
        .submitted_from
        .map(|d| d.to_string())
        .unwrap_or_default();
    let until = query
        .submitted_to
        .map(|d| d.to_string())
        .unwrap_or_default();
    let pairs = [
        ("process", query.process.as_deref().unwrap_or_default()),
        ("q", query.search.as_deref().unwrap_or_default()),
        ("sort", query.sort.as_str()),
        ("since", since.as_str()),
        ("until", until.as_str()),
    ];
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}
