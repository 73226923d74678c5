//! Who is calling: a session cookie (after the login form), HTTP Basic (API), or a user
//! header set by a trusted reverse proxy; and the CSRF check on state-changing requests.
//!
//! CSRF uses a double-submit token: a random `signoff_csrf` cookie (HttpOnly,
//! SameSite=Strict) whose value every form carries in a hidden `csrf` field, and every
//! cookie-authenticated API call in an `X-CSRF-Token` header. Another site can neither
//! read the cookie nor make the browser send it.

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use signoff_engine::accounts::{random_token, same_secret};

use super::error::ApiError;
use super::throttle::minutes;
use super::AppState;

pub const SESSION_COOKIE: &str = "signoff_session";
pub const CSRF_COOKIE: &str = "signoff_csrf";

/// How people sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// The login form (and HTTP Basic for the API).
    Password,
    /// Trust this header (lower case) for the user id; a proxy authenticated them.
    TrustedHeader(String),
}

/// This request's CSRF token, from the cookie or freshly made (see [`csrf_cookie`]).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Makes sure every browser has a CSRF cookie, and hands its value to the handlers.
pub async fn csrf_cookie(
    State(state): State<AppState>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 64);
    let token = existing.clone().unwrap_or_else(random_token);
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let response = next.run(request).await;
    if existing.is_some() {
        return response;
    }
    let cookie = Cookie::build((CSRF_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), response).into_response()
}

/// Whether the form's token matches the cookie's.
pub fn csrf_ok(parts_token: Option<&CsrfToken>, jar: &CookieJar, submitted: &str) -> bool {
    let Some(cookie) = jar.get(CSRF_COOKIE) else {
        return false;
    };
    parts_token.is_some() && !submitted.is_empty() && same_secret(cookie.value(), submitted)
}

/// How a caller was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    Basic,
    Header,
}

/// The signed-in user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: String,
    pub via: Via,
}

/// Recognises the caller, if anyone.
async fn identify(
    parts: &Parts,
    state: &AppState,
    allow_basic: bool,
) -> Result<Option<Caller>, ApiError> {
    let known = |user: &str| state.engine.directory().user(user).is_some();
    if let AuthMode::TrustedHeader(name) = state.auth.as_ref() {
        let user = parts
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|u| known(u));
        return Ok(user.map(|u| Caller {
            user: u.to_string(),
            via: Via::Header,
        }));
    }
    let jar = CookieJar::from_headers(&parts.headers);
    if let Some(token) = jar.get(SESSION_COOKIE) {
        if let Some(session) = state
            .accounts
            .session(token.value())
            .await
            .map_err(ApiError::internal)?
        {
            return Ok(Some(Caller {
                user: session.user,
                via: Via::Session,
            }));
        }
    }
    if allow_basic {
        if let Some((user, password)) = basic_credentials(&parts.headers) {
            if let Some(wait) = state.throttle.locked_for(&user) {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!(
                        "too many wrong passwords for `{user}`: try again in {}",
                        minutes(wait)
                    ),
                ));
            }
            if known(&user)
                && state
                    .accounts
                    .verify(&user, &password)
                    .await
                    .map_err(ApiError::internal)?
            {
                state.throttle.succeeded(&user);
                return Ok(Some(Caller {
                    user,
                    via: Via::Basic,
                }));
            }
            state.throttle.failed(&user);
            return Err(ApiError::unauthorized());
        }
    }
    Ok(None)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// An API caller: 401 when nobody is signed in, 403 when a cookie-authenticated
/// state change lacks the CSRF header.
pub struct ApiUser(pub String);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = identify(parts, state, true)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        let changes_state = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if changes_state && caller.via == Via::Session {
            let jar = CookieJar::from_headers(&parts.headers);
            let submitted = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !csrf_ok(parts.extensions.get::<CsrfToken>(), &jar, submitted) {
                return Err(ApiError::forbidden(
                    "a state-changing call with a session cookie needs the X-CSRF-Token header (the signoff_csrf cookie's value)",
                ));
            }
        }
        Ok(ApiUser(caller.user))
    }
}

/// A page viewer: redirected to the login form when nobody is signed in.
pub struct PageUser(pub String);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match identify(parts, state, false).await {
            Ok(Some(caller)) => Ok(PageUser(caller.user)),
            Ok(None) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".into());
                Err(Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

impl OptionalFromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Response> {
        identify(parts, state, false)
            .await
            .map(|c| c.map(|c| PageUser(c.user)))
            .map_err(IntoResponse::into_response)
    }
}

/// Percent-encodes a query value.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only local paths are followed after login, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/inbox".into(),
    }
}
