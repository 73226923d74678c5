//! A request and a task on it: the fields, history and diagram, the step's actions,
//! resubmitting after a return; my requests and withdrawing one.

use signoff_engine::runtime::TaskKind;
use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::{context, Value};
use signoff_engine::display::{computed_value, field_value, Lang};
use signoff_engine::model::{Field, FieldType, ProcessDef, Step};
use signoff_engine::runtime::{
    ActionKind, ActionRequest, EngineError, InstanceId, InstanceStatus, InstanceView, RequestQuery,
    SignerPosition, TaskId, TaskStatus,
};

use super::{done_url, process_name, request_row, step_label, CsrfOnly, Notice, Viewer};
use crate::server::error::engine_status;
use crate::server::forms::{self, Raw};
use crate::server::i18n::engine_message;
use crate::server::i18n::phrase;
use crate::server::views::{due_text, flow_svg, history, local_time};
use crate::server::AppState;

/// The request's fields as label and text, tables as rows of cells.
fn field_rows(def: &ProcessDef, view: &InstanceView, state: &AppState, lang: Lang) -> Vec<Value> {
    let form = &view.form;
    let directory = state.engine.directory();
    let mut rows: Vec<Value> = def
        .form
        .fields
        .iter()
        .filter_map(|f| {
            let value = form.get(&f.id.value)?;
            if f.kind.value == FieldType::Table {
                let header: Vec<String> = f.columns.iter().map(|c| lang.pick(&c.label).to_string()).collect();
                let lines: Vec<Vec<String>> = value
                    .as_array()
                    .map(|lines| {
                        lines
                            .iter()
                            .map(|line| {
                                f.columns
                                    .iter()
                                    .map(|c| line.get(&c.id.value).map(|v| field_value(c, v, directory, lang)).unwrap_or_default())
                                    .collect()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return Some(context! { label => lang.pick(&f.label), table => true, header, lines });
            }
            if f.kind.value == FieldType::File {
                return Some(context! { label => lang.pick(&f.label), files => file_links(view.id.0, value) });
            }
            Some(context! { label => lang.pick(&f.label), value => field_value(f, value, directory, lang), long => f.kind.value == FieldType::LongText })
        })
        .collect();
    for c in &def.form.computed {
        if let (Some(label), Some(value)) = (&c.label, form.get(&c.id.value)) {
            rows.push(context! { label => lang.pick(label), value => computed_value(c, value, lang), computed => true });
        }
    }
    rows
}

/// A file field's files as links to their downloads, images marked to show inline.
fn file_links(id: i64, value: &serde_json::Value) -> Vec<Value> {
    let files: Vec<signoff_engine::attachment::FileRef> =
        serde_json::from_value(value.clone()).unwrap_or_default();
    files
        .iter()
        .map(|f| {
            context! {
                name => f.name,
                url => format!("/requests/{id}/files/{}", f.id),
                image => f.kind().is_some_and(|k| k.is_image()),
                size => signoff_engine::attachment::ByteSize(f.size).to_string(),
            }
        })
        .collect()
}

/// Everything the task and request pages show about a request.
pub(super) fn request_context(state: &AppState, viewer: &Viewer, view: &InstanceView) -> Value {
    let def = state.engine.registry().version(&view.process, view.version);
    let directory = state.engine.directory();
    let (fields, diagram) = match &def {
        Some(d) => (
            field_rows(d, view, state, viewer.lang),
            flow_svg(d, Some(view), directory, viewer.lang),
        ),
        None => (Vec::new(), String::new()),
    };
    let holders: Vec<String> = view
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open)
        .map(|t| viewer.name_of(state, t.delegate.as_deref().unwrap_or(&t.assignee)))
        .collect();
    context! {
        request => context! {
            id => view.id.0,
            process => process_name(state, &view.process, viewer.lang),
            process_id => view.process,
            version => view.version,
            status => view.status.as_str(),
            outcome => view.outcome,
            submitter => viewer.name_of(state, &view.submitter),
            submitter_id => view.submitter,
            created => local_time(&view.created_at),
            incident => view.incident,
            running => matches!(view.status, InstanceStatus::Running | InstanceStatus::Incident),
            steps => view.current_steps.iter().map(|s| step_label(def.as_deref(), s, viewer.lang)).collect::<Vec<_>>(),
            holders,
        },
        fields,
        links => view.links.iter().map(|l| context! {
            id => l.other.0,
            process => process_name(state, &l.process, viewer.lang),
            status => l.status.as_str(),
            incoming => l.incoming,
        }).collect::<Vec<_>>(),
        history => history(&view.history, def.as_deref(), directory, viewer.lang),
        diagram,
    }
}

pub async fn request(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<Notice>,
) -> Response {
    let view = match state
        .engine
        .instance_for(InstanceId(id), &viewer.user)
        .await
    {
        Ok(v) => v,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let resubmit = view
        .tasks
        .iter()
        .find(|t| {
            t.kind == TaskKind::Resubmit
                && t.assignee == viewer.user
                && t.status == TaskStatus::Open
        })
        .map(|t| t.id.0);
    let copied = view.history.iter().any(|e| {
        e.action == signoff_engine::runtime::HistoryAction::Cc
            && e.detail.as_deref() == Some(viewer.user.as_str())
    });
    if copied {
        // Opening the request is reading it (已阅): the writer is asked only the first
        // time, and a failure here must not hide the page.
        let read = state.engine.read_marks(&viewer.user, &[view.id]).await;
        if read.is_ok_and(|read| read.is_empty()) {
            if let Err(e) = state.engine.mark_read(view.id, &viewer.user).await {
                tracing::warn!(error = %e, "marking a copied request read");
            }
        }
    }
    let page = request_context(&state, &viewer, &view);
    let offers = super::intervene::offers(&state, &viewer, &view);
    viewer.page(
        &state,
        "task.html",
        context! {
            active => "requests",
            offers,
            can_withdraw => state.engine.may_withdraw(&view, &viewer.user),
            can_urge => state.engine.may_urge(&view, &viewer.user),
            resubmit_task => resubmit,
            notice => q.text(viewer.lang),
            ..page
        },
    )
}

pub async fn task(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<Notice>,
) -> Response {
    let notice = q.text(viewer.lang);
    task_page(&state, &viewer, TaskId(id), notice, None, StatusCode::OK).await
}

/// What a failed action brings back to the task page.
struct Retyped {
    message: String,
    raw: Raw,
    errors: BTreeMap<String, String>,
    comment: String,
    /// Lines added to a table ("add a line").
    extra: HashMap<String, usize>,
}

async fn task_page(
    state: &AppState,
    viewer: &Viewer,
    id: TaskId,
    notice: Option<String>,
    failed: Option<Retyped>,
    status: StatusCode,
) -> Response {
    let task = match state.engine.task_for(id, &viewer.user).await {
        Ok(t) => t,
        Err(e) => return viewer.engine_error(state, &e),
    };
    let view = match state.engine.instance(task.instance).await {
        Ok(v) => v,
        Err(e) => return viewer.engine_error(state, &e),
    };
    let def = state.engine.registry().version(&task.process, task.version);
    let holder =
        task.assignee == viewer.user || task.delegate.as_deref() == Some(viewer.user.as_str());
    let open = task.status == TaskStatus::Open;
    let step = def.as_ref().and_then(|d| d.step(&task.step).cloned());
    let lang = viewer.lang;
    let actions = if holder && open {
        action_buttons(&task.actions, lang)
    } else {
        Vec::new()
    };
    let return_to = step
        .as_ref()
        .map(|s| return_targets(s, def.as_deref(), lang))
        .unwrap_or_default();
    let failed_ref = failed.as_ref();
    let inputs = step
        .as_ref()
        .map(|s| posted_widgets(state, lang, &s.inputs, Raw::new(), failed_ref, "input."))
        .unwrap_or_default();
    let editable = match (&step, &def) {
        (Some(step), Some(def)) if holder && open && task.kind != TaskKind::Resubmit => {
            editable_widgets(state, lang, step, def, &view.form, failed_ref)
        }
        _ => Vec::new(),
    };
    let resubmit_form = (task.kind == TaskKind::Resubmit && holder && open)
        .then(|| {
            def.as_deref()
                .map(|d| resubmit_widgets(state, lang, d, &view, failed_ref))
        })
        .flatten();
    let page = request_context(state, viewer, &view);
    viewer.page_status(
        state,
        status,
        "task.html",
        context! {
            active => "inbox",
            task => context! {
                id => task.id.0,
                step => step_label(def.as_deref(), &task.step, lang),
                status => task.status.as_str(),
                due => task.due_at.as_deref().map(|d| due_text(&state.engine, d, lang)),
                kind => task.kind,
                holder,
                open,
                delegate_for => task.delegate.as_ref().filter(|d| **d == viewer.user).map(|_| viewer.name_of(state, &task.assignee)),
            },
            actions,
            return_to,
            inputs,
            editable,
            resubmit_form,
            error => failed_ref.map(|f| f.message.clone()),
            typed_comment => failed_ref.map(|f| f.comment.clone()).unwrap_or_default(),
            users => state.engine.directory().users.iter().map(|u| context! { id => u.id.value, name => u.name }).collect::<Vec<_>>(),
            notice,
            ..page
        },
    )
}

/// A returned request's form, prefilled with what it holds (or what was typed, after a
/// refusal), to resubmit.
fn resubmit_widgets(
    state: &AppState,
    lang: Lang,
    def: &ProcessDef,
    view: &InstanceView,
    failed: Option<&Retyped>,
) -> Vec<forms::Widget> {
    let raw = failed
        .map(|f| f.raw.clone())
        .unwrap_or_else(|| forms::raw_of(&def.form.fields, &view.form));
    // Files stay as they were uploaded: a browser cannot fill a file input again.
    let fields: Vec<Field> = def
        .submitter_fields()
        .into_iter()
        .filter(|f| f.kind.value != FieldType::File)
        .collect();
    forms::widgets(
        &fields,
        &raw,
        &failed.map(|f| f.errors.clone()).unwrap_or_default(),
        state.engine.directory(),
        lang,
        &failed.map(|f| f.extra.clone()).unwrap_or_default(),
    )
}

/// Where `return` may send the request from `step`, as (value, what the reader sees).
fn return_targets(step: &Step, def: Option<&ProcessDef>, lang: Lang) -> Vec<(String, String)> {
    step.return_to
        .iter()
        .map(|r| {
            let shown = if r.value == "submitter" {
                phrase(lang, "submitter")
            } else {
                step_label(def, &r.value, lang)
            };
            (r.value.clone(), shown)
        })
        .collect()
}

/// Reads into `request` what an action posts besides its buttons: the step's inputs, the
/// editable fields, or the whole resubmitted form. Returns what to show again and every
/// bad field, when the action is refused.
fn read_posted_form(
    def: &ProcessDef,
    step_id: &str,
    raw: &Raw,
    request: &mut ActionRequest,
    lang: Lang,
) -> (Raw, BTreeMap<String, String>) {
    let action = request.action;
    let deciding = matches!(
        action,
        Some(ActionKind::Approve | ActionKind::Reject | ActionKind::Complete)
    );
    let mut errors = BTreeMap::new();
    let mut parse = |fields: &[Field], prefix: &str| {
        let (value, _, bad) = forms::parse(fields, &prefixless(raw, prefix), lang);
        errors.extend(bad.into_iter().map(|(k, v)| (format!("{prefix}{k}"), v)));
        value
    };
    if let Some(step) = def.step(step_id) {
        if deciding && !step.inputs.is_empty() {
            request.inputs = Some(parse(&step.inputs, "input."));
        }
        if deciding && action != Some(ActionKind::Reject) && !step.editable.is_empty() {
            request.form = Some(parse(&editable_fields(step, def), "form."));
        }
    }
    if action == Some(ActionKind::Resubmit) {
        let (form, kept, bad) = forms::parse(&def.submitter_fields(), raw, lang);
        errors.extend(bad);
        request.form = Some(form);
        return (kept, errors);
    }
    (raw.clone(), errors)
}

/// The form fields a step lets its actor fill in or change, as inputs prefilled with the
/// request's values (or what was typed, after a refusal); those the step requires are
/// marked required.
fn editable_widgets(
    state: &AppState,
    lang: Lang,
    step: &Step,
    def: &ProcessDef,
    form: &serde_json::Value,
    failed: Option<&Retyped>,
) -> Vec<forms::Widget> {
    let fields = editable_fields(step, def);
    let prefilled = forms::raw_of(&fields, form);
    let mut widgets = posted_widgets(state, lang, &fields, prefilled, failed, "form.");
    for w in &mut widgets {
        w.required |= step.required.iter().any(|r| r.value == w.name);
    }
    widgets
}

/// Widgets for fields posted under `prefix` (`input.`, `form.`): what was typed and the
/// errors beside it after a refusal, else `prefilled`.
fn posted_widgets(
    state: &AppState,
    lang: Lang,
    fields: &[Field],
    prefilled: Raw,
    failed: Option<&Retyped>,
    prefix: &str,
) -> Vec<forms::Widget> {
    let raw = failed.map_or(prefilled, |f| prefixless(&f.raw, prefix));
    let errors: BTreeMap<String, String> = failed
        .map(|f| {
            f.errors
                .iter()
                .map(|(k, v)| (k.strip_prefix(prefix).unwrap_or(k).to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    forms::widgets(
        fields,
        &raw,
        &errors,
        state.engine.directory(),
        lang,
        &HashMap::new(),
    )
}

/// The buttons for a task's actions, in the reader's language.
fn action_buttons(actions: &[String], lang: Lang) -> Vec<Value> {
    actions
        .iter()
        .map(|a| {
            let label = phrase(lang, if a == "comment" { "comment_action" } else { a });
            let needs_user = matches!(
                a.as_str(),
                "delegate" | "transfer" | "add_signer" | "remove_signer" | "consult" | "copy_to"
            );
            context! { id => a, label, needs_user }
        })
        .collect()
}

/// The definitions of the form fields `step` lets its actor change.
fn editable_fields(step: &Step, def: &ProcessDef) -> Vec<Field> {
    def.form
        .fields
        .iter()
        .filter(|f| step.editable.iter().any(|e| e.value == f.id.value))
        .cloned()
        .collect()
}

/// The `input.NAME` entries of a posted form, without the prefix.
fn prefixless(raw: &Raw, prefix: &str) -> Raw {
    raw.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
        .collect()
}

/// A posted value, trimmed; `None` when missing or blank.
fn posted(raw: &Raw, key: &str) -> Option<String> {
    raw.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The request an action posts besides its form: the comment, the target and the position.
fn posted_request(action: ActionKind, comment: Option<String>, raw: &Raw) -> ActionRequest {
    let mut request = ActionRequest::new(action);
    request.comment = comment;
    request.to = if action == ActionKind::Return {
        posted(raw, "to_step")
    } else {
        posted(raw, "to")
    };
    request.position = match posted(raw, "position").as_deref() {
        Some("before") => Some(SignerPosition::Before),
        Some("after") => Some(SignerPosition::After),
        _ => None,
    };
    request
}

/// Shows the task page again with what was typed and why the action was refused.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    id: TaskId,
    failed: Retyped,
    status: StatusCode,
) -> Response {
    task_page(state, viewer, id, None, Some(failed), status).await
}

pub async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw: Raw = pairs.into_iter().collect();
    if !viewer.csrf_ok(raw.get("csrf").map(String::as_str).unwrap_or_default()) {
        return viewer.bad_csrf(&state);
    }
    let id = TaskId(id);
    let comment = posted(&raw, "comment");
    let retyped = |message: String, raw: Raw, errors: BTreeMap<String, String>| Retyped {
        message,
        raw,
        errors,
        comment: comment.clone().unwrap_or_default(),
        extra: HashMap::new(),
    };
    // "Add a line" and "remove this line" on a resubmitted form: the page again.
    if let Some((shown, extra)) = forms::edited_lines(&raw) {
        let edited = Retyped {
            extra,
            ..retyped(String::new(), shown, BTreeMap::new())
        };
        return task_page(&state, &viewer, id, None, Some(edited), StatusCode::OK).await;
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Some(action) = posted(&raw, "action").and_then(|a| a.parse::<ActionKind>().ok()) else {
        let failed = retyped("choose an action".into(), raw.clone(), BTreeMap::new());
        return refused(&state, &viewer, id, failed, unprocessable).await;
    };
    let task = match state.engine.task(id).await {
        Ok(t) => t,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let def = state.engine.registry().version(&task.process, task.version);
    let mut request = posted_request(action, comment.clone(), &raw);
    let (shown, errors) = match &def {
        Some(d) => read_posted_form(d, &task.step, &raw, &mut request, viewer.lang),
        None => (raw.clone(), BTreeMap::new()),
    };
    if !errors.is_empty() {
        let failed = retyped(phrase(viewer.lang, "form_errors"), shown, errors);
        return refused(&state, &viewer, id, failed, unprocessable).await;
    }
    let result = state.engine.perform(id, &viewer.user, request).await;
    state.metrics.action(
        action.as_str(),
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    match result {
        Ok(_) => {
            let back = if action.keeps_the_task() {
                format!("/tasks/{}", id.0)
            } else {
                "/inbox".to_string()
            };
            Redirect::to(&done_url(&back, action.as_str(), task.instance.0)).into_response()
        }
        Err(EngineError::InvalidForm(form_errors)) => {
            let failed = retyped(
                phrase(viewer.lang, "form_errors"),
                shown,
                forms::problems(form_errors, viewer.lang),
            );
            refused(&state, &viewer, id, failed, unprocessable).await
        }
        Err(e) => {
            let (status, _) = engine_status(&e);
            let failed = retyped(engine_message(viewer.lang, &e), shown, BTreeMap::new());
            refused(&state, &viewer, id, failed, status).await
        }
    }
}

/// Requests on one page of "my requests".
const REQUESTS_PAGE: i64 = 100;

pub async fn my_requests(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Notice>,
) -> Response {
    let query = RequestQuery {
        submitter: Some(viewer.user.clone()),
        limit: Some(REQUESTS_PAGE),
        before: q.before.map(InstanceId),
        ..Default::default()
    };
    let (list, total) = match tokio::try_join!(
        state.engine.requests(&query),
        state.engine.count_requests(&query)
    ) {
        Ok(found) => found,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|r| request_row(&state, &viewer, r))
        .collect();
    // Newest first: the next page holds the requests older than this page's last.
    let next = (list.len() as i64 == REQUESTS_PAGE)
        .then(|| list.last().map(|r| r.id.0))
        .flatten();
    viewer.page(
        &state,
        "requests.html",
        context! {
            active => "requests",
            requests => rows,
            total,
            next,
            paged => q.before.is_some(),
            notice => q.text(viewer.lang),
        },
    )
}

/// The submitter urges the people holding the request (once a working day).
pub async fn urge(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let result = state.engine.urge(InstanceId(id), &viewer.user).await;
    request_action(
        &state,
        &viewer,
        "urge",
        result,
        &format!("/requests/{id}"),
        id,
    )
}

/// Counts a request-level action, then goes back to `back` with its notice, or shows
/// the refusal.
pub(super) fn request_action(
    state: &AppState,
    viewer: &Viewer,
    action: &'static str,
    result: Result<InstanceView, EngineError>,
    back: &str,
    id: i64,
) -> Response {
    state.metrics.action(
        action,
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    match result {
        Ok(_) => Redirect::to(&done_url(back, action, id)).into_response(),
        Err(e) => viewer.engine_error(state, &e),
    }
}

pub async fn withdraw(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let result = state
        .engine
        .withdraw(
            InstanceId(id),
            &viewer.user,
            form.comment.as_deref().filter(|c| !c.trim().is_empty()),
        )
        .await;
    request_action(&state, &viewer, "withdraw", result, "/requests", id)
}
