//! The HTML pages: login, inbox, task, new request, my requests, owner pages. They work
//! without JavaScript; every state-changing form carries the CSRF token.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use minijinja::{context, Value};
use serde::Deserialize;
use signoff_engine::display::{computed_value, field_value, key_facts, Lang};
use signoff_engine::model::{FieldType, ProcessDef};
use signoff_engine::runtime::{
    ActionKind, ActionRequest, EngineError, InstanceId, InstanceStatus, InstanceView, PublishError,
    RequestQuery, TaskId, TaskQuery, TaskStatus, TaskView,
};

use super::auth::{csrf_ok, safe_next, urlencode, AuthMode, CsrfToken, PageUser, SESSION_COOKIE};
use super::forms::{self, Raw};
use super::i18n::{phrase, phrases};
use super::views::{diagram, history, local_time};
use super::AppState;

const LANG_COOKIE: &str = "signoff_lang";

/// The signed-in person looking at a page, in their language, with the CSRF token.
pub struct Viewer {
    pub user: String,
    pub lang: Lang,
    pub csrf: String,
    jar: CookieJar,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let PageUser(user) = PageUser::from_request_parts(parts, state).await?;
        let jar = CookieJar::from_headers(&parts.headers);
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let lang = jar
            .get(LANG_COOKIE)
            .map(|c| Lang::parse(c.value()))
            .unwrap_or_else(|| Lang::of_user(state.engine.directory(), &user));
        Ok(Viewer {
            user,
            lang,
            csrf,
            jar,
        })
    }
}

impl Viewer {
    fn csrf_ok(&self, submitted: &str) -> bool {
        csrf_ok(Some(&CsrfToken(self.csrf.clone())), &self.jar, submitted)
    }

    fn page(&self, state: &AppState, name: &str, page: Value) -> Response {
        self.page_status(state, StatusCode::OK, name, page)
    }

    fn page_status(
        &self,
        state: &AppState,
        status: StatusCode,
        name: &str,
        page: Value,
    ) -> Response {
        let directory = state.engine.directory();
        let owns_any = state
            .engine
            .registry()
            .processes()
            .iter()
            .any(|(_, d)| state.engine.is_owner(d, &self.user));
        let ctx = context! {
            lang => self.lang.code(),
            t => phrases(self.lang),
            user => self.user,
            user_name => directory.user(&self.user).map(|u| u.name.clone()).unwrap_or_default(),
            csrf => self.csrf,
            owner => owns_any,
            sso => matches!(state.auth.as_ref(), AuthMode::TrustedHeader(_)),
            ..page
        };
        state.pages.render_status(status, name, ctx)
    }

    fn error(&self, state: &AppState, status: StatusCode, message: &str) -> Response {
        self.page_status(
            state,
            status,
            "error.html",
            context! { status => status.as_u16(), message },
        )
    }

    fn engine_error(&self, state: &AppState, e: &EngineError) -> Response {
        let status = match e {
            EngineError::UnknownInstance(_)
            | EngineError::UnknownTask(_)
            | EngineError::UnknownProcess(_) => StatusCode::NOT_FOUND,
            EngineError::NotYourTask { .. } => StatusCode::FORBIDDEN,
            EngineError::Stale { .. } | EngineError::NotAllowed(_) => StatusCode::CONFLICT,
            EngineError::InvalidForm(_) | EngineError::UnknownUser(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        self.error(state, status, &e.to_string())
    }

    fn bad_csrf(&self, state: &AppState) -> Response {
        self.error(
            state,
            StatusCode::FORBIDDEN,
            "the form's security token is missing or stale: go back, reload the page and try again",
        )
    }

    fn name_of(&self, state: &AppState, user: &str) -> String {
        state
            .engine
            .directory()
            .user(user)
            .map_or_else(|| user.to_string(), |u| u.name.clone())
    }
}

#[derive(Deserialize, Default)]
pub struct Notice {
    notice: Option<String>,
    process: Option<String>,
    next: Option<String>,
    error: Option<String>,
    version: Option<i64>,
}

pub async fn home() -> Redirect {
    Redirect::to("/inbox")
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.engine.counts().await {
        Ok(_) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "message": e.to_string()})),
        )
            .into_response(),
    }
}

pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return super::error::ApiError::not_found(format!("no such endpoint: {}", uri.path()))
            .into_response();
    }
    (
        StatusCode::NOT_FOUND,
        axum::response::Html(
            "<!doctype html><title>404</title><p>Not found. <a href=\"/inbox\">Inbox</a>",
        ),
    )
        .into_response()
}

/// `/lang/{code}`: remembers the language and goes back.
pub async fn set_lang(
    Path(code): Path<String>,
    jar: CookieJar,
    Query(q): Query<Notice>,
) -> Response {
    let lang = Lang::parse(&code);
    let cookie = Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .same_site(SameSite::Lax)
        .build();
    (jar.add(cookie), Redirect::to(&safe_next(q.next.as_deref()))).into_response()
}

// ----- login -----

pub async fn login_form(
    State(state): State<AppState>,
    axum::Extension(csrf): axum::Extension<CsrfToken>,
    Query(q): Query<Notice>,
) -> Response {
    if matches!(state.auth.as_ref(), AuthMode::TrustedHeader(_)) {
        return Redirect::to("/inbox").into_response();
    }
    login_page(
        &state,
        &csrf.0,
        q.next.as_deref(),
        q.error.is_some(),
        "",
        StatusCode::OK,
    )
}

fn login_page(
    state: &AppState,
    csrf: &str,
    next: Option<&str>,
    failed: bool,
    user: &str,
    status: StatusCode,
) -> Response {
    let lang = Lang::Zh;
    state.pages.render_status(
        status,
        "login.html",
        context! {
            lang => lang.code(),
            t => phrases(lang),
            t_en => phrases(Lang::En),
            csrf,
            next => safe_next(next),
            failed,
            typed_user => user,
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    axum::Extension(csrf): axum::Extension<CsrfToken>,
    Form(form): Form<LoginForm>,
) -> Response {
    if !csrf_ok(Some(&csrf), &jar, &form.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "the login form's security token is missing: reload the page",
        )
            .into_response();
    }
    let user = form.user.trim();
    let known = state.engine.directory().user(user).is_some();
    let ok = match state.accounts.verify(user, &form.password).await {
        Ok(ok) => ok && known,
        Err(e) => {
            tracing::error!(error = %e, "verifying a password");
            false
        }
    };
    if !ok {
        tracing::warn!(user, "failed sign-in");
        return login_page(
            &state,
            &csrf.0,
            form.next.as_deref(),
            true,
            user,
            StatusCode::UNAUTHORIZED,
        );
    }
    match state
        .accounts
        .start_session(user, chrono::Duration::hours(12))
        .await
    {
        Ok((token, _)) => {
            let cookie = Cookie::build((SESSION_COOKIE, token))
                .path("/")
                .http_only(true)
                .secure(state.secure_cookies)
                .same_site(SameSite::Lax)
                .max_age(time::Duration::hours(12))
                .build();
            tracing::info!(user, "signed in");
            (
                jar.add(cookie),
                Redirect::to(&safe_next(form.next.as_deref())),
            )
                .into_response()
        }
        Err(e) => super::error::ApiError::internal(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    comment: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    if let Some(token) = viewer.jar.get(SESSION_COOKIE) {
        if let Err(e) = state.accounts.end_session(token.value()).await {
            tracing::error!(error = %e, "ending a session");
        }
    }
    let jar = viewer
        .jar
        .clone()
        .remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/login")).into_response()
}

// ----- inbox -----

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
    let cc: Vec<Value> = cc
        .iter()
        .map(|r| {
            context! {
                id => r.id.0,
                process => process_name(&state, &r.process, viewer.lang),
                submitter => viewer.name_of(&state, &r.submitter),
                status => r.status.as_str(),
                steps => r.current_steps.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>().join(", "),
            }
        })
        .collect();
    viewer.page(
        &state,
        "inbox.html",
        context! {
            active => "inbox",
            tasks => rows,
            total => all.len(),
            counts => counts.into_iter().map(|(id, (name, n))| context! { id, name, n }).collect::<Vec<_>>(),
            filter => q.process.unwrap_or_default(),
            cc,
            notice => q.notice,
        },
    )
}

fn process_name(state: &AppState, process: &str, lang: Lang) -> String {
    state.engine.registry().latest(process).map_or_else(
        || process.to_string(),
        |(_, d)| lang.pick(&d.name).to_string(),
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
    let summary = state
        .engine
        .registry()
        .version(&t.process, t.version)
        .map(|d| {
            key_facts(&d, &t.form, state.engine.directory(), viewer.lang)
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
        step => step_name(state, &t.process, &t.step, viewer.lang),
        submitter => viewer.name_of(state, &t.submitter),
        delegate_for => t.delegate.as_ref().filter(|d| **d == viewer.user).map(|_| viewer.name_of(state, &t.assignee)),
        pool => t.pool,
        age,
        due => t.due_at.as_deref().map(local_time),
        overdue => due.is_some_and(|d| d < now),
        kind => t.kind,
    }
}

fn step_name(state: &AppState, process: &str, step: &str, lang: Lang) -> String {
    state
        .engine
        .registry()
        .latest(process)
        .and_then(|(_, d)| {
            d.step(step)
                .and_then(|s| s.name.as_ref())
                .map(|n| lang.pick(n).to_string())
        })
        .unwrap_or_else(|| step.to_string())
}

// ----- a request, and a task on it -----

/// The request's fields as label and text, tables as rows of cells.
fn field_rows(
    def: &ProcessDef,
    form: &serde_json::Value,
    state: &AppState,
    lang: Lang,
) -> Vec<Value> {
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

/// Everything the task and request pages show about a request.
fn request_context(state: &AppState, viewer: &Viewer, view: &InstanceView) -> Value {
    let def = state.engine.registry().version(&view.process, view.version);
    let directory = state.engine.directory();
    let (fields, diagram_rows) = match &def {
        Some(d) => (
            field_rows(d, &view.form, state, viewer.lang),
            diagram(d, &view.current_steps, directory, viewer.lang),
        ),
        None => (Vec::new(), Vec::new()),
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
            steps => view.current_steps.iter().map(|s| def.as_ref().and_then(|d| d.step(s)).and_then(|st| st.name.as_ref()).map_or_else(|| s.clone(), |n| viewer.lang.pick(n).to_string())).collect::<Vec<_>>(),
            holders,
        },
        fields,
        history => history(&view.history, def.as_deref(), directory),
        diagram => diagram_rows,
    }
}

pub async fn request(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<Notice>,
) -> Response {
    let id = InstanceId(id);
    match state.engine.can_view(id, &viewer.user).await {
        Ok(true) => {}
        Ok(false) => {
            return viewer.error(
                &state,
                StatusCode::FORBIDDEN,
                "this request is not yours to see",
            )
        }
        Err(e) => return viewer.engine_error(&state, &e),
    }
    let view = match state.engine.instance(id).await {
        Ok(v) => v,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let resubmit = view
        .tasks
        .iter()
        .find(|t| t.kind == "resubmit" && t.assignee == viewer.user && t.status == TaskStatus::Open)
        .map(|t| t.id.0);
    let page = request_context(&state, &viewer, &view);
    viewer.page(
        &state,
        "task.html",
        context! {
            active => "requests",
            can_withdraw => view.submitter == viewer.user && matches!(view.status, InstanceStatus::Running | InstanceStatus::Incident),
            resubmit_task => resubmit,
            notice => q.notice,
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
    task_page(&state, &viewer, TaskId(id), q.notice, None, StatusCode::OK).await
}

/// What a failed action brings back to the task page.
struct Retyped {
    message: String,
    raw: Raw,
    errors: BTreeMap<String, String>,
    comment: String,
}

async fn task_page(
    state: &AppState,
    viewer: &Viewer,
    id: TaskId,
    notice: Option<String>,
    failed: Option<Retyped>,
    status: StatusCode,
) -> Response {
    let task = match state.engine.task(id).await {
        Ok(t) => t,
        Err(e) => return viewer.engine_error(state, &e),
    };
    match state.engine.can_view(task.instance, &viewer.user).await {
        Ok(true) => {}
        Ok(false) => {
            return viewer.error(
                state,
                StatusCode::FORBIDDEN,
                "this task is not yours to see",
            )
        }
        Err(e) => return viewer.engine_error(state, &e),
    }
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
    let actions: Vec<Value> = if holder && open {
        task.actions
            .iter()
            .map(|a| context! { id => a, label => phrase(lang, if a == "comment" { "comment_action" } else { a }), needs_user => matches!(a.as_str(), "delegate" | "transfer" | "add_signer" | "remove_signer") })
            .collect()
    } else {
        Vec::new()
    };
    let return_to: Vec<String> = step
        .as_ref()
        .map(|s| s.return_to.iter().map(|r| r.value.clone()).collect())
        .unwrap_or_default();
    let failed_ref = failed.as_ref();
    let inputs = step
        .as_ref()
        .map(|s| {
            forms::widgets(
                &s.inputs,
                &failed_ref
                    .map(|f| prefixless(&f.raw, "input."))
                    .unwrap_or_default(),
                &failed_ref.map(|f| f.errors.clone()).unwrap_or_default(),
                state.engine.directory(),
                lang,
                &HashMap::new(),
            )
        })
        .unwrap_or_default();
    // A returned request is resubmitted with its form, prefilled.
    let resubmit_form = if task.kind == "resubmit" && holder && open {
        def.as_ref().map(|d| {
            let raw = failed_ref
                .map(|f| f.raw.clone())
                .unwrap_or_else(|| forms::raw_of(&d.form.fields, &view.form));
            forms::widgets(
                &d.form.fields,
                &raw,
                &failed_ref.map(|f| f.errors.clone()).unwrap_or_default(),
                state.engine.directory(),
                lang,
                &HashMap::new(),
            )
        })
    } else {
        None
    };
    let page = request_context(state, viewer, &view);
    viewer.page_status(
        state,
        status,
        "task.html",
        context! {
            active => "inbox",
            task => context! {
                id => task.id.0,
                step => step.as_ref().and_then(|s| s.name.as_ref()).map_or_else(|| task.step.clone(), |n| lang.pick(n).to_string()),
                status => task.status.as_str(),
                due => task.due_at.as_deref().map(local_time),
                kind => task.kind,
                holder,
                open,
                delegate_for => task.delegate.as_ref().filter(|d| **d == viewer.user).map(|_| viewer.name_of(state, &task.assignee)),
            },
            actions,
            return_to,
            inputs,
            resubmit_form,
            error => failed_ref.map(|f| f.message.clone()),
            typed_comment => failed_ref.map(|f| f.comment.clone()).unwrap_or_default(),
            users => state.engine.directory().users.iter().map(|u| context! { id => u.id.value, name => u.name }).collect::<Vec<_>>(),
            notice,
            ..page
        },
    )
}

/// The `input.NAME` entries of a posted form, without the prefix.
fn prefixless(raw: &Raw, prefix: &str) -> Raw {
    raw.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
        .collect()
}

pub async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw: Raw = pairs.into_iter().collect();
    let get = |k: &str| {
        raw.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if !viewer.csrf_ok(raw.get("csrf").map(String::as_str).unwrap_or_default()) {
        return viewer.bad_csrf(&state);
    }
    let id = TaskId(id);
    let comment = get("comment");
    let retyped = |message: String, raw: Raw, errors: BTreeMap<String, String>| Retyped {
        message,
        raw,
        errors,
        comment: comment.clone().unwrap_or_default(),
    };
    let Some(action) = get("action").and_then(|a| a.parse::<ActionKind>().ok()) else {
        let failed = retyped("choose an action".into(), raw.clone(), BTreeMap::new());
        return task_page(
            &state,
            &viewer,
            id,
            None,
            Some(failed),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let task = match state.engine.task(id).await {
        Ok(t) => t,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let def = state.engine.registry().version(&task.process, task.version);
    let mut request = ActionRequest::new(action);
    request.comment = comment.clone();
    request.to = if action == ActionKind::Return {
        get("to_step")
    } else {
        get("to")
    };
    let mut shown = raw.clone();
    let mut errors = BTreeMap::new();
    if let Some(step) = def.as_ref().and_then(|d| d.step(&task.step)) {
        if !step.inputs.is_empty()
            && matches!(
                action,
                ActionKind::Approve | ActionKind::Reject | ActionKind::Complete
            )
        {
            let (inputs, _, input_errors) = forms::parse(&step.inputs, &prefixless(&raw, "input."));
            errors.extend(
                input_errors
                    .into_iter()
                    .map(|(k, v)| (format!("input.{k}"), v)),
            );
            request.inputs = Some(inputs);
        }
    }
    if action == ActionKind::Resubmit {
        if let Some(d) = &def {
            let (form, kept, form_errors) = forms::parse(&d.form.fields, &raw);
            shown = kept;
            errors.extend(form_errors);
            request.form = Some(form);
        }
    }
    if !errors.is_empty() {
        let failed = retyped(phrase(viewer.lang, "form_errors"), shown, errors);
        return task_page(
            &state,
            &viewer,
            id,
            None,
            Some(failed),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let result = state.engine.act(id, &viewer.user, request).await;
    state.metrics.action(
        action.as_str(),
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    match result {
        Ok(_) => {
            let notice = format!(
                "{} #{} · {}",
                phrase(viewer.lang, action.as_str()),
                task.instance,
                phrase(viewer.lang, "done_notice")
            );
            Redirect::to(&format!("/inbox?notice={}", urlencode(&notice))).into_response()
        }
        Err(EngineError::InvalidForm(form_errors)) => {
            let failed = retyped(
                phrase(viewer.lang, "form_errors"),
                shown,
                form_errors.fields.into_iter().collect(),
            );
            task_page(
                &state,
                &viewer,
                id,
                None,
                Some(failed),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => {
            let status = match e {
                EngineError::NotYourTask { .. } => StatusCode::FORBIDDEN,
                EngineError::Stale { .. } | EngineError::NotAllowed(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let failed = retyped(e.to_string(), shown, BTreeMap::new());
            task_page(&state, &viewer, id, None, Some(failed), status).await
        }
    }
}

// ----- my requests -----

pub async fn my_requests(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<Notice>,
) -> Response {
    let list = match state
        .engine
        .requests(&RequestQuery {
            submitter: Some(viewer.user.clone()),
            ..Default::default()
        })
        .await
    {
        Ok(l) => l,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|r| {
            context! {
                id => r.id.0,
                process => process_name(&state, &r.process, viewer.lang),
                status => r.status.as_str(),
                outcome => r.outcome,
                steps => r.current_steps.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>().join(", "),
                holders => r.holders.iter().map(|h| viewer.name_of(&state, h)).collect::<Vec<_>>().join(", "),
                created => local_time(&r.created_at),
                running => matches!(r.status, InstanceStatus::Running | InstanceStatus::Incident),
            }
        })
        .collect();
    viewer.page(
        &state,
        "requests.html",
        context! { active => "requests", requests => rows, notice => q.notice },
    )
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
    state.metrics.action(
        "withdraw",
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    match result {
        Ok(_) => Redirect::to(&format!(
            "/requests?notice={}",
            urlencode(&format!("#{id} {}", phrase(viewer.lang, "withdraw")))
        ))
        .into_response(),
        Err(e) => viewer.engine_error(&state, &e),
    }
}

// ----- new request -----

pub async fn new_request_list(State(state): State<AppState>, viewer: Viewer) -> Response {
    let processes: Vec<Value> = state
        .engine
        .registry()
        .processes()
        .iter()
        .map(|(version, d)| {
            context! {
                id => d.id.value,
                name => viewer.lang.pick(&d.name),
                description => d.description.as_ref().map(|x| viewer.lang.pick(x).to_string()),
                version,
            }
        })
        .collect();
    viewer.page(
        &state,
        "new_list.html",
        context! { active => "new", processes },
    )
}

pub async fn new_request_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(process): Path<String>,
) -> Response {
    request_form(
        &state,
        &viewer,
        &process,
        &Raw::new(),
        &BTreeMap::new(),
        &HashMap::new(),
        None,
        StatusCode::OK,
    )
}

#[allow(clippy::too_many_arguments)]
fn request_form(
    state: &AppState,
    viewer: &Viewer,
    process: &str,
    raw: &Raw,
    errors: &BTreeMap<String, String>,
    extra: &HashMap<String, usize>,
    message: Option<String>,
    status: StatusCode,
) -> Response {
    let Some((version, def)) = state.engine.registry().latest(process) else {
        return viewer.error(
            state,
            StatusCode::NOT_FOUND,
            &format!("no process `{process}`"),
        );
    };
    let widgets = forms::widgets(
        &def.form.fields,
        raw,
        errors,
        state.engine.directory(),
        viewer.lang,
        extra,
    );
    viewer.page_status(
        state,
        status,
        "new_request.html",
        context! {
            active => "new",
            process => context! { id => process, name => viewer.lang.pick(&def.name), version, description => def.description.as_ref().map(|x| viewer.lang.pick(x).to_string()) },
            widgets,
            form_error => errors.get("").cloned(),
            message,
        },
    )
}

pub async fn new_request(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(process): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw: Raw = pairs.into_iter().collect();
    if !viewer.csrf_ok(raw.get("csrf").map(String::as_str).unwrap_or_default()) {
        return viewer.bad_csrf(&state);
    }
    let Some((_, def)) = state.engine.registry().latest(&process) else {
        return viewer.error(
            &state,
            StatusCode::NOT_FOUND,
            &format!("no process `{process}`"),
        );
    };
    let (form, shown, errors) = forms::parse(&def.form.fields, &raw);
    // "Add a line" posts the form to itself: one more row, nothing submitted.
    if let Some(table) = raw.get("_add_line") {
        let extra = HashMap::from([(table.clone(), 1usize)]);
        return request_form(
            &state,
            &viewer,
            &process,
            &shown,
            &BTreeMap::new(),
            &extra,
            None,
            StatusCode::OK,
        );
    }
    if !errors.is_empty() {
        let message = phrase(viewer.lang, "form_errors");
        return request_form(
            &state,
            &viewer,
            &process,
            &shown,
            &errors,
            &HashMap::new(),
            Some(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let result = state.engine.start(&process, &viewer.user, form).await;
    state.metrics.action(
        "start",
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    match result {
        Ok(view) => Redirect::to(&format!(
            "/requests/{}?notice={}",
            view.id,
            urlencode(&phrase(viewer.lang, "submit"))
        ))
        .into_response(),
        Err(EngineError::InvalidForm(e)) => {
            let message = phrase(viewer.lang, "form_errors");
            let errors: BTreeMap<String, String> = e.fields.into_iter().collect();
            request_form(
                &state,
                &viewer,
                &process,
                &shown,
                &errors,
                &HashMap::new(),
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => viewer.engine_error(&state, &e),
    }
}

// ----- owner pages -----

pub async fn processes(State(state): State<AppState>, viewer: Viewer) -> Response {
    let mut rows = Vec::new();
    for (version, d) in state.engine.registry().processes() {
        let versions = state
            .engine
            .versions(&d.id.value)
            .await
            .map(|v| v.len())
            .unwrap_or(0);
        rows.push(context! {
            id => d.id.value,
            name => viewer.lang.pick(&d.name),
            version,
            versions,
            owner => state.engine.is_owner(&d, &viewer.user),
        });
    }
    viewer.page(
        &state,
        "processes.html",
        context! { active => "processes", processes => rows },
    )
}

pub async fn process(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Notice>,
) -> Response {
    process_page(
        &state,
        &viewer,
        &id,
        q.version,
        None,
        q.notice,
        StatusCode::OK,
    )
    .await
}

/// The owner page; `edited` is a text being checked, with its diagnostics.
async fn process_page(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    version: Option<i64>,
    edited: Option<(
        String,
        Vec<signoff_engine::diagnostic::Diagnostic>,
        Option<String>,
    )>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let Some((latest, def)) = state.engine.registry().latest(id) else {
        return viewer.error(state, StatusCode::NOT_FOUND, &format!("no process `{id}`"));
    };
    let version = version.unwrap_or(latest);
    let versions = state.engine.versions(id).await.unwrap_or_default();
    let source = match state.engine.source(id, version).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return viewer.error(
                state,
                StatusCode::NOT_FOUND,
                &format!("`{id}` has no version {version}"),
            )
        }
        Err(e) => return viewer.engine_error(state, &e),
    };
    let shown_def = state
        .engine
        .registry()
        .version(id, version)
        .unwrap_or_else(|| def.clone());
    let (text, diagnostics, error) = edited.unwrap_or((source.clone(), Vec::new(), None));
    let lines: Vec<Value> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let n = i as u32 + 1;
            let notes: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.line == n)
                .map(|d| {
                    format!(
                        "{}:{} {}: {}{}",
                        d.line,
                        d.column,
                        d.severity.as_str(),
                        d.message,
                        d.hint
                            .as_ref()
                            .map(|h| format!(" ({h})"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            context! { n, text => line, notes }
        })
        .collect();
    let checked = !diagnostics.is_empty() || error.is_some();
    viewer.page_status(
        state,
        status,
        "process.html",
        context! {
            active => "processes",
            process => context! { id, name => viewer.lang.pick(&def.name), latest, version, owner => state.engine.is_owner(&def, &viewer.user) },
            versions => versions.iter().map(|v| context! { version => v.version, created => local_time(&v.created_at), latest => v.latest }).collect::<Vec<_>>(),
            diagram => diagram(&shown_def, &[], state.engine.directory(), viewer.lang),
            text,
            lines,
            diagnostics => diagnostics.iter().map(|d| context! { line => d.line, column => d.column, severity => d.severity.as_str(), message => d.message, hint => d.hint }).collect::<Vec<_>>(),
            checked,
            error,
            notice,
        },
    )
}

#[derive(Deserialize)]
pub struct YamlForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    yaml: String,
}

pub async fn check(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<YamlForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let (_, diagnostics) = state.engine.check_text(&format!("{id}.yaml"), &form.yaml);
    let ok = diagnostics
        .is_empty()
        .then(|| phrase(viewer.lang, "check_ok"));
    process_page(
        &state,
        &viewer,
        &id,
        None,
        Some((form.yaml, diagnostics, None)),
        ok,
        StatusCode::OK,
    )
    .await
}

pub async fn publish(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<YamlForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    match state.engine.publish(&viewer.user, &form.yaml).await {
        Ok((process, version)) => Redirect::to(&format!(
            "/processes/{process}?notice={}",
            urlencode(&format!("{} {version}", phrase(viewer.lang, "published")))
        ))
        .into_response(),
        Err(PublishError::Invalid(diagnostics)) => {
            process_page(
                &state,
                &viewer,
                &id,
                None,
                Some((form.yaml, diagnostics, None)),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(PublishError::NotOwner(p)) => viewer.error(
            &state,
            StatusCode::FORBIDDEN,
            &format!("only the owner of `{p}` may publish it"),
        ),
        Err(e) => {
            let message = e.to_string();
            process_page(
                &state,
                &viewer,
                &id,
                None,
                Some((form.yaml, Vec::new(), Some(message))),
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

pub async fn incidents(State(state): State<AppState>, viewer: Viewer) -> Response {
    let list = match state
        .engine
        .requests(&RequestQuery {
            status: Some(InstanceStatus::Incident),
            ..Default::default()
        })
        .await
    {
        Ok(l) => l,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let rows: Vec<Value> = list
        .iter()
        .filter(|r| {
            state
                .engine
                .registry()
                .version(&r.process, r.version)
                .is_some_and(|d| state.engine.is_owner(&d, &viewer.user))
        })
        .map(|r| {
            context! {
                id => r.id.0,
                process => process_name(&state, &r.process, viewer.lang),
                version => r.version,
                submitter => viewer.name_of(&state, &r.submitter),
                steps => r.current_steps.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>().join(", "),
                reason => r.incident,
                updated => local_time(&r.updated_at),
            }
        })
        .collect();
    viewer.page(
        &state,
        "incidents.html",
        context! { active => "incidents", incidents => rows },
    )
}

pub async fn retry(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let view = match state.engine.instance(InstanceId(id)).await {
        Ok(v) => v,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let owner = state
        .engine
        .registry()
        .version(&view.process, view.version)
        .is_some_and(|d| state.engine.is_owner(&d, &viewer.user));
    if !owner {
        return viewer.error(
            &state,
            StatusCode::FORBIDDEN,
            "only the process owner may retry a request",
        );
    }
    let result = state.engine.retry(InstanceId(id), &viewer.user).await;
    state.metrics.action(
        "retry",
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    match result {
        Ok(_) => Redirect::to("/incidents").into_response(),
        Err(e) => viewer.engine_error(&state, &e),
    }
}
