//! Errors as the API reports them: `{"error": CODE, "message": ..., "fields": {...}}`
//! with the status that says what went wrong.

use std::collections::BTreeMap;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use signoff_engine::runtime::EngineError;

/// An API error.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable code: `bad_request`, `invalid`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `not_allowed`, `internal`.
    pub error: &'static str,
    pub message: String,
    /// The bad fields, each with what is wrong with it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in: a session cookie or HTTP Basic credentials",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 422 with every bad field named.
    pub fn invalid(fields: BTreeMap<String, String>) -> ApiError {
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid",
            message: format!("invalid fields: {}", names.join(", ")),
            fields,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %message, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error; the server log has the details",
        )
    }
}

/// The one mapping from an engine error to an HTTP status and a stable code, shared by
/// the API and the pages.
pub fn engine_status(e: &EngineError) -> (StatusCode, &'static str) {
    match e {
        EngineError::UnknownProcess(_)
        | EngineError::UnknownTask(_)
        | EngineError::UnknownInstance(_) => (StatusCode::NOT_FOUND, "not_found"),
        EngineError::NotYourTask { .. }
        | EngineError::OnlySubmitter { .. }
        | EngineError::OnlyOwner { .. }
        | EngineError::NotAStarter(_) => (StatusCode::FORBIDDEN, "forbidden"),
        EngineError::Stale { .. } => (StatusCode::CONFLICT, "conflict"),
        EngineError::NotAllowed(_)
        | EngineError::CannotWithdraw { .. }
        | EngineError::CannotTakeBack { .. }
        | EngineError::UrgedToday(_) => (StatusCode::CONFLICT, "not_allowed"),
        EngineError::InvalidForm(_) | EngineError::UnknownUser(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
        }
        EngineError::OwnRequest(_)
        | EngineError::TooLong { .. }
        | EngineError::BatchSize { .. }
        | EngineError::CommentRequired { .. }
        | EngineError::BadAbsence { .. }
        | EngineError::UnknownStep(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        EngineError::Closed | EngineError::Busy | EngineError::CommitFailed(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        EngineError::Definition(_) | EngineError::Storage(_) | EngineError::Migration(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

/// The form field an engine error is about, with what is wrong with it.
pub fn engine_fields(e: &EngineError) -> BTreeMap<String, String> {
    match e {
        EngineError::InvalidForm(errors) => errors
            .fields
            .iter()
            .map(|(k, v)| {
                let key = if k.is_empty() {
                    "form".into()
                } else {
                    format!("form.{k}")
                };
                (key, v.to_string())
            })
            .collect(),
        EngineError::UnknownUser(user) => {
            [("to".into(), format!("no user `{user}` in the directory"))].into()
        }
        EngineError::OwnRequest(_) => [("to".into(), e.to_string())].into(),
        EngineError::TooLong { field, .. } => [((*field).to_string(), e.to_string())].into(),
        EngineError::BatchSize { .. } => [("tasks".to_string(), e.to_string())].into(),
        EngineError::CommentRequired { .. } => [("comment".to_string(), e.to_string())].into(),
        EngineError::UnknownStep(_) => [("to".to_string(), e.to_string())].into(),
        EngineError::BadAbsence { field, why } => [((*field).to_string(), why.to_string())].into(),
        _ => BTreeMap::new(),
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let (status, code) = engine_status(&e);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            return ApiError::internal(e);
        }
        let fields = engine_fields(&e);
        if !fields.is_empty() {
            return ApiError::invalid(fields);
        }
        let message = match e {
            EngineError::Closed => "the server is shutting down".to_string(),
            other => other.to_string(),
        };
        ApiError::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = (status, Json(self)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"signoff\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// Answers every API error in the JSON shape, also those made outside the handlers
/// (a body too large, a path that does not parse, a timeout): a non-JSON error body is
/// replaced by an [`ApiError`] for its status.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is too large"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this method is not allowed here"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send JSON with content-type application/json",
        ),
        s if s.is_server_error() => (
            "internal",
            "an internal error; the server log has the details",
        ),
        _ => (
            "bad_request",
            "the request is malformed: check the path and the body",
        ),
    };
    let mut error = ApiError::new(status, code, message);
    // Say what the framework said about a malformed path or body.
    if status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY {
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap_or_default();
        let detail = String::from_utf8_lossy(&bytes).trim().to_string();
        if !detail.is_empty() {
            error.message = detail;
        }
    }
    error.into_response()
}
