//! `GET` / `HEAD /<bucket>/<key>`: objects back, with their stored
//! Content-Type and metadata.
//!
//! The endpoint's origin also serves the demo's answers, so an uploaded page
//! must not run there: every answer says `X-Content-Type-Options: nosniff`,
//! and active types (HTML, SVG and other XML, JavaScript) are served with
//! `Content-Disposition: attachment`, as OSS does on its default domain.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};

use crate::respond::{self, Ctx};
use crate::store::Store;
use crate::upload::Oss;

/// The type sent when none was stored or the stored one is not a valid
/// header value.
const DEFAULT_TYPE: &str = "application/octet-stream";

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

/// True when a browser would render or run `content_type`: HTML, XML of any
/// kind (SVG, XHTML, `+xml`), JavaScript, XSL. Browsers take the last valid
/// type of a comma-separated list, so every item is looked at.
pub(crate) fn is_active(content_type: &str) -> bool {
    content_type.split(',').any(|item| {
        let essence = item
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        matches!(
            essence.as_str(),
            "text/html"
                | "application/xhtml+xml"
                | "image/svg+xml"
                | "text/xml"
                | "application/xml"
                | "text/xsl"
                | "application/xslt+xml"
                | "text/javascript"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "text/ecmascript"
                | "text/jscript"
                | "module"
                | "multipart/x-mixed-replace"
        ) || essence.ends_with("+xml")
            || essence.ends_with("/xml")
            || essence.contains("javascript")
            || essence.contains("ecmascript")
    })
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
    let Some(object) = Store::locate(&oss.bucket, key) else {
        return respond::error(ctx, &no_such_key(key));
    };
    let fetched = match oss.store.get(&object, head_only).await {
        Ok(Some(fetched)) => fetched,
        Ok(None) if head_only => return head_error(ctx, &no_such_key(key)),
        Ok(None) => return respond::error(ctx, &no_such_key(key)),
        Err(e) if head_only => return head_error(ctx, &respond::internal(ctx, e)),
        Err(e) => return respond::error(ctx, &respond::internal(ctx, e)),
    };
    let (meta, size, last_modified) = (fetched.meta, fetched.size, fetched.last_modified);
    let body = match fetched.body {
        Some(stream) => Body::from_stream(stream),
        None => Body::empty(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    let content_type = meta
        .content_type
        .as_deref()
        .filter(|t| HeaderValue::from_str(t).is_ok() && !t.trim().is_empty())
        .unwrap_or(DEFAULT_TYPE);
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
    if is_active(content_type) {
        // Keep a stored `attachment; filename=…`; anything else is replaced.
        let stored_attachment = headers
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("attachment"))
            });
        if !stored_attachment {
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_types_are_recognised() {
        for active in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            " text/html ",
            "image/svg+xml",
            "application/xhtml+xml",
            "application/xml",
            "text/xml",
            "application/rss+xml",
            "text/javascript",
            "application/javascript",
            "application/x-javascript",
            "image/png, text/html",
            "text/xsl",
        ] {
            assert!(is_active(active), "{active}");
        }
        for passive in [
            "image/png",
            "text/plain",
            "application/octet-stream",
            "application/json",
            "video/mp4",
            "application/pdf",
        ] {
            assert!(!is_active(passive), "{passive}");
        }
    }
}
