//! `GET` / `HEAD /<bucket>/<key>`: objects back, with their stored
//! Content-Type and metadata.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};
use futures_util::StreamExt as _;

use crate::respond::{self, Ctx};
use crate::store::Store;
use crate::upload::Oss;

/// Stored headers that are sent back with the object.
fn is_returned(name: &str) -> bool {
    name.starts_with("x-oss-meta-")
        || matches!(
            name,
            "cache-control"
                | "content-disposition"
                | "content-encoding"
                | "content-language"
                | "expires"
                | "x-oss-storage-class"
                | "x-oss-server-side-encryption"
        )
}

fn no_such_key(key: &str) -> postpolicy::Rejected {
    respond::rejected(
        404,
        "NoSuchKey",
        "The specified key does not exist.",
        format!("no object `{key}` is stored"),
    )
}

pub(crate) async fn get(oss: &Oss, ctx: &Ctx, key: &str, head_only: bool) -> Response<Body> {
    let Some(path) = Store::object_path(&oss.bucket, key) else {
        return respond::error(ctx, &no_such_key(key));
    };
    let (size, last_modified, body) = if head_only {
        match oss.store.head(&path).await {
            Ok(Some(meta)) => (meta.size, meta.last_modified, Body::empty()),
            Ok(None) => return head_error(ctx, &no_such_key(key)),
            Err(e) => return respond::error(ctx, &internal(e)),
        }
    } else {
        match oss.store.get(&path).await {
            Ok(Some(result)) => {
                let size = result.meta.size;
                let modified = result.meta.last_modified;
                let stream = result
                    .into_stream()
                    .map(|chunk| chunk.map_err(std::io::Error::other));
                (size, modified, Body::from_stream(stream))
            }
            Ok(None) => return respond::error(ctx, &no_such_key(key)),
            Err(e) => return respond::error(ctx, &internal(e)),
        }
    };
    let meta = oss.store.get_meta(&path).await.unwrap_or_default();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    let content_type = meta
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    respond::insert(headers, "content-type", content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if !meta.etag.is_empty() {
        respond::insert(headers, "etag", &meta.etag);
    }
    if let Some(crc64) = meta.crc64 {
        respond::insert(headers, "x-oss-hash-crc64ecma", &crc64.to_string());
    }
    respond::insert(
        headers,
        "last-modified",
        &last_modified
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    );
    for (name, value) in meta.metadata.iter().filter(|(n, _)| is_returned(n)) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// A HEAD answer carries the status and headers of the error, no body.
fn head_error(ctx: &Ctx, rejected: &postpolicy::Rejected) -> Response<Body> {
    let mut response = respond::error(ctx, rejected);
    *response.body_mut() = Body::empty();
    response
}

fn internal(e: impl std::fmt::Display) -> postpolicy::Rejected {
    respond::rejected(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
        e.to_string(),
    )
}
