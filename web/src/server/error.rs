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

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let message = e.to_string();
        match e {
            EngineError::UnknownProcess(_)
            | EngineError::UnknownTask(_)
            | EngineError::UnknownInstance(_) => ApiError::not_found(message),
            EngineError::NotYourTask { .. } => ApiError::forbidden(message),
            EngineError::Stale { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            EngineError::NotAllowed(_) => {
                ApiError::new(StatusCode::CONFLICT, "not_allowed", message)
            }
            EngineError::InvalidForm(errors) => {
                let fields = errors
                    .fields
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            if k.is_empty() {
                                "form".into()
                            } else {
                                format!("form.{k}")
                            },
                            v,
                        )
                    })
                    .collect();
                ApiError::invalid(fields)
            }
            EngineError::UnknownUser(user) => ApiError::invalid(
                [(
                    "to".to_string(),
                    format!("no user `{user}` in the directory"),
                )]
                .into(),
            ),
            EngineError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is shutting down",
            ),
            EngineError::Definition(_) | EngineError::Storage(_) | EngineError::Migration(_) => {
                ApiError::internal(message)
            }
        }
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
