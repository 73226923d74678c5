//! The settings page: a person's personal API tokens. A new token's secret is shown
//! once, right after it is made; the list shows names and dates, and each can be
//! revoked.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use signoff_engine::accounts::{AccountError, ApiToken};

use super::{CsrfOnly, Viewer};
use crate::server::error::ApiError;
use crate::server::views::local_time;
use crate::server::AppState;

pub async fn settings(State(state): State<AppState>, viewer: Viewer) -> Response {
    render(&state, &viewer, None, None, StatusCode::OK).await
}

/// The page, with a secret just made or an error beside the form.
async fn render(
    state: &AppState,
    viewer: &Viewer,
    secret: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let tokens = match state.accounts.tokens(&viewer.user).await {
        Ok(tokens) => tokens,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let rows: Vec<_> = tokens.iter().map(row).collect();
    viewer.page_status(
        state,
        status,
        "settings.html",
        context! { active => "settings", tokens => rows, secret, error },
    )
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
            render(&state, &viewer, Some(secret), None, StatusCode::CREATED).await
        }
        Err(e @ (AccountError::BadTokenName | AccountError::TooManyTokens)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&state, &viewer, None, Some(e.to_string()), status).await
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
