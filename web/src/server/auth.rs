//! Who is calling: a session cookie (after the login form), a personal API token or
//! HTTP Basic (API), or a user header set by a trusted reverse proxy; and the CSRF
//! check on state-changing requests.
//!
//! CSRF: a signed-in browser's token is derived from its session secret (SHA-256 of a
//! label and the session token), so it is bound to that session, unknown to anyone who
//! cannot read the session cookie, and new at every sign-in. Before signing in (the
//! login form) it is a random double-submit value. Forms carry it in a hidden `csrf`
//! field; cookie-authenticated API calls send it as `X-CSRF-Token` (the `signoff_csrf`
//! cookie holds the current value). Token and Basic callers need none.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use signoff_engine::accounts::{random_token, same_secret, session_csrf_token, AccountError};

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

/// This request's CSRF token (see the module doc), and whether a form may be checked
/// against it: false for a fresh random one the browser has never been given.
#[derive(Debug, Clone)]
pub struct CsrfToken {
    pub value: String,
    established: bool,
}

/// Works out this request's CSRF token, hands it to the handlers, and keeps the
/// `signoff_csrf` cookie equal to it.
pub async fn csrf_cookie(
    State(state): State<AppState>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let cookie = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 64);
    let token = match (jar.get(SESSION_COOKIE), &cookie) {
        (Some(session), _) => CsrfToken {
            value: session_csrf_token(session.value()),
            established: true,
        },
        (None, Some(value)) => CsrfToken {
            value: value.clone(),
            established: true,
        },
        (None, None) => CsrfToken {
            value: random_token(),
            established: false,
        },
    };
    let value = token.value.clone();
    request.extensions_mut().insert(token);
    let response = next.run(request).await;
    if cookie.as_deref() == Some(value.as_str()) {
        return response;
    }
    let cookie = Cookie::build((CSRF_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), response).into_response()
}

/// Whether a submitted token is this request's.
pub fn csrf_ok(token: Option<&CsrfToken>, submitted: &str) -> bool {
    token
        .is_some_and(|t| t.established && !submitted.is_empty() && same_secret(&t.value, submitted))
}

/// The client's address, when the server knows it (served with connect info).
pub fn client_address(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
}

/// The client's address as an extractor; `None` when the server does not know it.
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(&parts.extensions)))
    }
}

/// Why a password sign-in did not go through.
#[derive(Debug)]
pub enum Refused {
    /// Too many attempts for the name or from the address: wait this long.
    Locked(Duration),
    /// Too many password checks at once.
    Busy,
    /// Wrong name or password.
    Wrong,
    /// Something broke (logged).
    Internal,
}

impl Refused {
    /// The API's answer.
    pub fn api_error(&self, user: &str) -> ApiError {
        match self {
            Refused::Locked(wait) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!(
                    "too many sign-in attempts for `{user}` or from this address: try again in {}",
                    minutes(*wait)
                ),
            ),
            Refused::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "too many sign-ins at once: try again in a moment",
            ),
            Refused::Wrong => ApiError::unauthorized(),
            Refused::Internal => ApiError::internal("checking a password failed"),
        }
    }
}

/// Checks `user`'s password, counting the attempt first (see [`super::throttle`]).
/// Unknown names cost what known ones do and are refused the same way.
pub async fn check_password(
    state: &AppState,
    user: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<(), Refused> {
    state
        .throttle
        .begin(user, address)
        .map_err(Refused::Locked)?;
    let known = state.engine.directory().user(user).is_some();
    match state.accounts.verify(user, password).await {
        Ok(true) if known => {
            state.throttle.succeeded(user, address);
            Ok(())
        }
        Ok(_) => {
            tracing::warn!(user, "failed sign-in");
            Err(Refused::Wrong)
        }
        Err(AccountError::Busy) => Err(Refused::Busy),
        Err(e) => {
            tracing::error!(error = %e, "verifying a password");
            Err(Refused::Internal)
        }
    }
}

/// How a caller was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    Basic,
    Token,
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
    allow_api: bool,
) -> Result<Option<Caller>, ApiError> {
    if let AuthMode::TrustedHeader(name) = state.auth.as_ref() {
        let known = |user: &str| state.engine.directory().user(user).is_some();
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
    if !allow_api {
        return Ok(None);
    }
    if let Some(secret) = bearer_token(&parts.headers) {
        return match state.accounts.token_user(secret).await {
            Ok(Some(user)) => Ok(Some(Caller {
                user,
                via: Via::Token,
            })),
            Ok(None) => Err(ApiError::unauthorized()),
            Err(e) => Err(ApiError::internal(e)),
        };
    }
    if let Some((user, password)) = basic_credentials(&parts.headers) {
        let address = client_address(&parts.extensions);
        check_password(state, &user, &password, address)
            .await
            .map_err(|refused| refused.api_error(&user))?;
        return Ok(Some(Caller {
            user,
            via: Via::Basic,
        }));
    }
    Ok(None)
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
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
            let submitted = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !csrf_ok(parts.extensions.get::<CsrfToken>(), submitted) {
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

/// Only paths of this site are followed after login or a language switch, never another
/// site: a single `/` then printable ASCII, with no `//`, `\\` or control characters
/// anywhere (browsers drop tabs and newlines, so `/\t/evil.example` is `//evil.example`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && n.bytes().all(|b| b.is_ascii_graphic())
                && !n.contains("//")
                && !n.contains('\\') =>
        {
            n.to_string()
        }
        _ => "/inbox".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/\\evil.example",
            "/inbox\nSet-Cookie: x=1",
            "https://evil.example",
            "/a//b",
            "/ inbox",
            "inbox",
        ] {
            let decoded = bad.replace("%09", "\t");
            assert_eq!(safe_next(Some(&decoded)), "/inbox", "{bad:?}");
        }
        assert_eq!(safe_next(Some("/tasks/3?x=1")), "/tasks/3?x=1");
        assert_eq!(safe_next(None), "/inbox");
    }
}
