//! The definition editor's endpoint: the checker's messages for the text being typed,
//! and the names its CEL expressions may use, as JSON (see `web/editor/`). The owner page
//! posts here as one types; without JavaScript it posts the form to `check` instead.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use signoff_engine::guard::{Names, ROOTS};

use super::Viewer;
use crate::server::error::ApiError;
use crate::server::AppState;

/// The header the editor sends the page's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Deserialize)]
pub struct LintRequest {
    yaml: String,
}

/// `POST /processes/{id}/lint`: `{"diagnostics": [...], "scope": {"roots": [...],
/// "members": {"form": [...], ...}}}`, for those who may edit the process.
pub async fn lint(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<LintRequest>,
) -> Response {
    let token = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !viewer.csrf_ok(token) {
        return ApiError::forbidden("the page's security token is missing or stale: reload it")
            .into_response();
    }
    if !state.engine.may_edit(&id, &viewer.user) {
        return ApiError::not_found(format!("no process `{id}`")).into_response();
    }
    match state
        .engine
        .check_bounded(&format!("{id}.yaml"), &body.yaml)
        .await
    {
        Ok((def, diagnostics)) => {
            let names = def.as_ref().map(Names::of).unwrap_or_default();
            (
                StatusCode::OK,
                Json(json!({
                    "diagnostics": diagnostics,
                    "scope": { "roots": ROOTS, "members": names.members() },
                })),
            )
                .into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
