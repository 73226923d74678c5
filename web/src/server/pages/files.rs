//! A request's attachments, downloaded by those who may see the request: images inline
//! (the task page shows them), anything else as a download, never run by the browser.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use signoff_engine::runtime::InstanceId;

use super::Viewer;
use crate::server::AppState;

pub async fn attachment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, file)): Path<(i64, String)>,
) -> Response {
    let download = match state
        .engine
        .download(InstanceId(id), &file, &viewer.user)
        .await
    {
        Ok(d) => d,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let disposition = if download.is_image() {
        "inline"
    } else {
        "attachment"
    };
    // The name as RFC 6266 / 5987 has it: an ASCII fallback and the UTF-8 original.
    let ascii: String = download
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = download
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, download.media_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
            // Served as data even if a browser would sniff it as something to run.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_string(),
            ),
            // Never cached: on a shared computer the next person signed in must not
            // get it from the browser's cache.
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        download.content,
    )
        .into_response()
}
