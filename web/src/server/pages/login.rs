//! Signing in and out.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use minijinja::context;
use serde::Deserialize;
use signoff_engine::display::Lang;

use super::{CsrfOnly, Notice, Viewer};
use crate::server::auth::{
    check_password, csrf_ok, safe_next, AuthMode, ClientAddress, CsrfToken, Refused, SESSION_COOKIE,
};
use crate::server::i18n::phrases;
use crate::server::throttle::minutes;
use crate::server::AppState;

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
        &csrf.value,
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
    ClientAddress(address): ClientAddress,
    Form(form): Form<LoginForm>,
) -> Response {
    if !csrf_ok(Some(&csrf), &form.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "the login form's security token is missing: reload the page",
        )
            .into_response();
    }
    let user = form.user.trim();
    match check_password(&state, user, &form.password, address).await {
        Ok(()) => {}
        Err(Refused::Wrong) => {
            return login_page(
                &state,
                &csrf.value,
                form.next.as_deref(),
                true,
                user,
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(Refused::Locked(wait)) => {
            tracing::warn!(user, "sign-in refused: too many attempts");
            let wait = minutes(wait);
            let message = format!("Too many sign-in attempts for {user} or from this address: try again in {wait}. 登录尝试次数过多，请 {wait} 后再试。");
            return (StatusCode::TOO_MANY_REQUESTS, message).into_response();
        }
        Err(refused) => return refused.api_error(user).into_response(),
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
        Err(e) => crate::server::error::ApiError::internal(e).into_response(),
    }
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
