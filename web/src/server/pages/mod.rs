//! The HTML pages: login, inbox, task, new request, my requests, owner pages. They work
//! without JavaScript; every state-changing form carries the CSRF token. This module
//! holds what every page shares: who is looking, in which language, and the layout.

mod done;
mod editor;
mod export;
mod files;
mod inbox;
mod intervene;
mod login;
mod new_request;
mod owner;
mod report;
mod request;
mod review;
mod settings;
mod try_it;

pub use done::done;
pub use editor::lint;
pub use export::{history_csv, print};
pub use files::attachment;
pub use inbox::{approve_selected, inbox};
pub use intervene::{jump, take_back, terminate};
pub use login::{login, login_form, logout};
pub use new_request::{new_request, new_request_form, new_request_list};
pub use owner::{check, incidents, process, processes, publish, retry};
pub use report::{report, report_csv};
pub use request::{act, my_requests, request, task, urge, withdraw};
pub use settings::{create_token, end_absence, revoke_token, set_absence, settings};
pub use try_it::{try_form, try_run};

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use minijinja::{context, Value};
use serde::Deserialize;
use signoff_engine::display::Lang;
use signoff_engine::runtime::{ActionKind, EngineError, RequestSummary};

use super::auth::{csrf_ok, safe_next, AuthMode, CsrfToken, PageUser};
use super::error::engine_status;
use super::i18n::phrases;
use super::i18n::{engine_message, phrase};
use super::views::{local_time, step_label};
use super::AppState;

const LANG_COOKIE: &str = "signoff_lang";

/// The signed-in person looking at a page, in their language, with the CSRF token.
pub struct Viewer {
    pub user: String,
    pub lang: Lang,
    pub csrf: String,
    token: Option<CsrfToken>,
    jar: CookieJar,
    /// For the header, on pages read (GET): open tasks, and copied requests not read.
    counts: Option<(i64, i64)>,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let PageUser(user) = PageUser::from_request_parts(parts, state).await?;
        let jar = CookieJar::from_headers(&parts.headers);
        let token = parts.extensions.get::<CsrfToken>().cloned();
        let csrf = token.as_ref().map(|t| t.value.clone()).unwrap_or_default();
        let lang = jar
            .get(LANG_COOKIE)
            .map(|c| Lang::parse(c.value()))
            .unwrap_or_else(|| Lang::of_user(state.engine.directory(), &user));
        let counts = if parts.method == axum::http::Method::GET {
            header_counts(state, &user).await
        } else {
            None
        };
        Ok(Viewer {
            user,
            lang,
            csrf,
            token,
            jar,
            counts,
        })
    }
}

/// The header's counts: open tasks and unread copies (none when they cannot be read:
/// the page itself says what went wrong).
async fn header_counts(state: &AppState, user: &str) -> Option<(i64, i64)> {
    let open: i64 = state
        .engine
        .task_counts(user)
        .await
        .ok()?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let unread = state.engine.unread_cc(user).await.ok()?;
    Some((open, unread))
}

impl Viewer {
    fn csrf_ok(&self, submitted: &str) -> bool {
        csrf_ok(self.token.as_ref(), submitted)
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
            .any(|(_, d)| state.engine.may_manage(d, &self.user));
        let ctx = context! {
            lang => self.lang.code(),
            t => phrases(self.lang),
            user => self.user,
            user_name => directory.user(&self.user).map(|u| u.name.clone()).unwrap_or_default(),
            csrf => self.csrf,
            owner => owns_any,
            nav_open => self.counts.map(|c| c.0),
            nav_unread => self.counts.map(|c| c.1),
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
        let (status, _) = engine_status(e);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "internal error on a page");
            return self.error(state, status, &phrase(self.lang, "internal_error"));
        }
        self.error(state, status, &engine_message(self.lang, e))
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

/// A page's query: after a redirect, what was just done (`done`, a known code, never
/// free text from the URL, with the number it is about), and the pages' other options.
#[derive(Deserialize, Default)]
pub struct Notice {
    done: Option<String>,
    n: Option<i64>,
    process: Option<String>,
    /// Where a keyset-paged list starts: after this cursor (`KEY~ID`).
    after: Option<String>,
    /// The position of the page's first row, for the pager's words only.
    from: Option<i64>,
    /// A list newest first continues below this id.
    before: Option<i64>,
    next: Option<String>,
    error: Option<String>,
    version: Option<i64>,
    /// A search text (the inbox).
    q: Option<String>,
    /// Requests submitted on or after this day (the inbox; `YYYY-MM-DD`).
    since: Option<String>,
    /// Requests submitted on or before this day.
    until: Option<String>,
    /// A list's order: `due`, `waiting`, `submitted` (the inbox).
    sort: Option<String>,
}

impl Notice {
    /// The sentence for `done`, in the reader's language; nothing for an unknown code.
    fn text(&self, lang: Lang) -> Option<String> {
        let done = self.done.as_deref()?;
        let n = self.n.unwrap_or_default();
        match done {
            "submit" => Some(format!("#{n} {}", phrase(lang, "submit"))),
            "withdraw" => Some(format!("#{n} {}", phrase(lang, "withdraw"))),
            "urge" => Some(format!("#{n} {}", phrase(lang, "urged_notice"))),
            "take_back" | "jump" | "terminate" => Some(format!(
                "{} #{n} · {}",
                phrase(lang, done),
                phrase(lang, "done_notice")
            )),
            "published" => Some(format!("{} {n}", phrase(lang, "published"))),
            other => {
                let action = other.parse::<ActionKind>().ok()?;
                Some(format!(
                    "{} #{n} · {}",
                    phrase(lang, action.as_str()),
                    phrase(lang, "done_notice")
                ))
            }
        }
    }
}

/// Where to go after `done` (see [`Notice`]) on request or version `n`.
fn done_url(path: &str, done: &str, n: i64) -> String {
    format!("{path}?done={done}&n={n}")
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

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    comment: Option<String>,
}

fn process_name(state: &AppState, process: &str, lang: Lang) -> String {
    state.engine.registry().latest(process).map_or_else(
        || process.to_string(),
        |(_, d)| lang.pick(&d.name).to_string(),
    )
}

/// One line of a list of requests (my requests, copied to me, incidents).
fn request_row(state: &AppState, viewer: &Viewer, r: &RequestSummary) -> Value {
    let def = state.engine.registry().version(&r.process, r.version);
    let steps: Vec<String> = r
        .current_steps
        .iter()
        .map(|(id, _)| step_label(def.as_deref(), id, viewer.lang))
        .collect();
    context! {
        id => r.id.0,
        process => process_name(state, &r.process, viewer.lang),
        version => r.version,
        submitter => viewer.name_of(state, &r.submitter),
        status => r.status.as_str(),
        outcome => r.outcome,
        steps => steps.join(", "),
        holders => r.holders.iter().map(|h| viewer.name_of(state, h)).collect::<Vec<_>>().join(", "),
        reason => r.incident,
        created => local_time(&r.created_at),
        updated => local_time(&r.updated_at),
    }
}
