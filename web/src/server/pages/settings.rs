//! The settings page: a person's out-of-office deputy, and their personal API tokens.
//! A new token's secret is shown once, right after it is made; the list shows names and
//! dates, and each can be revoked. While away (between two dates, both included) new
//! tasks go to the deputy; the engine checks the dates and the deputy.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use signoff_engine::accounts::{AccountError, ApiToken};
use signoff_engine::runtime::EngineError;

use super::{CsrfOnly, Viewer};
use crate::server::error::{engine_fields, engine_status, ApiError};
use crate::server::i18n::engine_message;
use crate::server::views::local_time;
use crate::server::AppState;

pub async fn settings(State(state): State<AppState>, viewer: Viewer) -> Response {
    render(&state, &viewer, Shown::default(), StatusCode::OK).await
}

/// What the page shows besides the lists: a token's secret just made, or an error.
#[derive(Default)]
struct Shown {
    secret: Option<String>,
    error: Option<String>,
    /// A refused absence: the message, and the field it is about.
    absence_error: Option<(String, String)>,
}

async fn render(state: &AppState, viewer: &Viewer, shown: Shown, status: StatusCode) -> Response {
    let tokens = match state.accounts.tokens(&viewer.user).await {
        Ok(tokens) => tokens,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let absences = match state.engine.absences(&viewer.user).await {
        Ok(a) => a,
        Err(e) => return viewer.engine_error(state, &e),
    };
    let rows: Vec<_> = tokens.iter().map(row).collect();
    let absences: Vec<_> = absences
        .into_iter()
        .map(|(deputy, from, to)| context! { deputy => viewer.name_of(state, &deputy), from, to })
        .collect();
    let users: Vec<_> = state
        .engine
        .directory()
        .users
        .iter()
        .filter(|u| u.id.value != viewer.user)
        .map(|u| context! { id => u.id.value, name => u.name })
        .collect();
    let (absence_error, absence_field) = shown.absence_error.unzip();
    viewer.page_status(
        state,
        status,
        "settings.html",
        context! {
            active => "settings", tokens => rows, secret => shown.secret, error => shown.error,
            absences, users, absence_error, absence_field,
        },
    )
}

/// What the out-of-office form posts.
#[derive(Deserialize)]
pub struct AbsenceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    deputy: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Sets an absence: new tasks go to the deputy between the two dates.
pub async fn set_absence(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<AbsenceForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let result = state
        .engine
        .set_absence(
            &viewer.user,
            form.deputy.trim(),
            form.from.trim(),
            form.to.trim(),
        )
        .await;
    absence_done(&state, &viewer, result).await
}

/// Back in the office: absences not over yet end yesterday.
pub async fn end_absence(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let result = state.engine.end_absence(&viewer.user).await;
    absence_done(&state, &viewer, result).await
}

async fn absence_done(
    state: &AppState,
    viewer: &Viewer,
    result: Result<(), EngineError>,
) -> Response {
    let e = match result {
        Ok(()) => return Redirect::to("/settings").into_response(),
        Err(e) => e,
    };
    let (status, _) = engine_status(&e);
    if status.is_server_error() {
        return viewer.engine_error(state, &e);
    }
    let field = match &e {
        // The engine names the other user `to` on a task; here it is the deputy.
        EngineError::UnknownUser(_) => "deputy".to_string(),
        _ => engine_fields(&e).into_keys().next().unwrap_or_default(),
    };
    let shown = Shown {
        absence_error: Some((engine_message(viewer.lang, &e), field)),
        ..Shown::default()
    };
    render(state, viewer, shown, status).await
}

fn row(t: &ApiToken) -> minijinja::Value {
    context! {
        id => t.id,
        name => t.name,
        created => local_time(&t.created_at),
        used => t.last_used_at.as_deref().map(local_time),
    }
}

#[derive(Deserialize)]
pub struct NewToken {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewToken>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    match state.accounts.create_token(&viewer.user, &form.name).await {
        Ok((token, secret)) => {
            tracing::info!(user = viewer.user, token = token.id, "made an API token");
            let shown = Shown {
                secret: Some(secret),
                ..Shown::default()
            };
            render(&state, &viewer, shown, StatusCode::CREATED).await
        }
        Err(e @ (AccountError::BadTokenName | AccountError::TooManyTokens)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let shown = Shown {
                error: Some(e.to_string()),
                ..Shown::default()
            };
            render(&state, &viewer, shown, status).await
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    match state.accounts.revoke_token(&viewer.user, id).await {
        Ok(true) => {
            tracing::info!(user = viewer.user, token = id, "revoked an API token");
            Redirect::to("/settings").into_response()
        }
        Ok(false) => viewer.error(&state, StatusCode::NOT_FOUND, "no such token"),
        Err(e) => ApiError::internal(e).into_response(),
    }
}
