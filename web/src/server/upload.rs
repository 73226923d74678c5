//! Posted forms that may carry files: a `multipart/form-data` body is read into the typed
//! values (as a urlencoded one is) and the files, each bounded as it streams in. The
//! files are only read here; what they are is the engine's to judge
//! ([`signoff_engine::runtime::Engine::upload`]).

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use signoff_engine::attachment::{MAX_FILES, MAX_FILE_BYTES};

use crate::server::forms::Raw;

/// The largest body of a form with files: every file field at its largest would not fit,
/// but a receipt or two with the form does (the engine bounds each field).
pub const MAX_UPLOAD_BODY_BYTES: usize = 25 * 1024 * 1024;

/// One file as posted: its input's name, the name it had on the sender's machine, and its
/// bytes (at most one byte over [`MAX_FILE_BYTES`], so that a larger one is refused by
/// its size with its field named, not cut off).
pub struct PostedFile {
    pub field: String,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A posted form: its values by input name, and its files.
pub struct Posted {
    pub raw: Raw,
    pub files: Vec<PostedFile>,
}

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return Ok(Posted {
                raw: pairs.into_iter().collect(),
                files: Vec::new(),
            });
        }
        let parts = Multipart::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        read_parts(parts).await
    }
}

async fn read_parts(mut parts: Multipart) -> Result<Posted, Response> {
    let bad = |e: axum::extract::multipart::MultipartError| e.into_response();
    let mut posted = Posted {
        raw: Raw::new(),
        files: Vec::new(),
    };
    while let Some(mut part) = parts.next_field().await.map_err(bad)? {
        let input = part.name().unwrap_or_default().to_string();
        // A file whose name the parser cannot read (not UTF-8, or only `filename*`)
        // still says what it is: it is kept as a file, named by its kind later.
        let unnamed_file = part
            .content_type()
            .is_some_and(|t| !t.starts_with("text/plain"));
        let file_name = match part.file_name() {
            Some(name) => name.to_string(),
            None if unnamed_file => String::new(),
            None => {
                let text = part.text().await.map_err(bad)?;
                posted.raw.insert(input, text);
                continue;
            }
        };
        let limit = usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX) + 1;
        let mut bytes = Vec::new();
        while let Some(chunk) = part.chunk().await.map_err(bad)? {
            let room = limit.saturating_sub(bytes.len());
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        // A file input left empty posts a part with no name and no bytes.
        if file_name.is_empty() && bytes.is_empty() {
            continue;
        }
        if posted.files.len() >= MAX_FILES as usize {
            return Err(
                (StatusCode::PAYLOAD_TOO_LARGE, "too many files in one form").into_response(),
            );
        }
        posted.files.push(PostedFile {
            field: input,
            name: file_name,
            bytes,
        });
    }
    Ok(posted)
}
