//! The files the pages load besides themselves, built into the binary: the forms'
//! script, the definition editor (built from `web/editor/` by `npm run build`) and the
//! definitions' JSON Schema it completes from. Each is answered with an ETag (its
//! content's hash), so a browser asks again but downloads only a changed file, and is
//! compressed for browsers that take gzip.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;

/// One built-in file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "form.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/form.js"),
    },
    Asset {
        name: "editor.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/editor.js"),
    },
    Asset {
        name: "schema.json",
        content_type: "application/schema+json",
        body: include_str!("../../../processes/schema.json"),
    },
];

/// Each asset's ETag, in the order of [`ASSETS`].
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let hash = format!("{:x}", Sha256::digest(a.body.as_bytes()));
            format!("\"{}\"", &hash[..24])
        })
        .collect()
});

/// The `/static/{name}` routes.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/static/{name}", get(asset))
        .layer(CompressionLayer::new().gzip(true))
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (asset, etag) = (&ASSETS[i], ETAGS[i].as_str());
    let cache = [(CACHE_CONTROL, "no-cache"), (ETAG, etag)];
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(CONTENT_TYPE, asset.content_type)], asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_its_own_etag() {
        let mut tags = ETAGS.clone();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
        assert!(ASSETS.iter().all(|a| !a.body.is_empty()));
    }
}
