//! Answers as OSS gives them: error XML, request ids, CORS.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, header};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use postpolicy::Rejected;

/// Response headers a page on another origin may read.
pub(crate) const EXPOSED_HEADERS: &str =
    "ETag, Location, x-oss-request-id, x-oss-hash-crc64ecma, x-postpolicy-reason";

/// The plain-language reason of a rejection travels in this header
/// (percent-encoded UTF-8), next to OSS's own XML.
pub(crate) const REASON_HEADER: &str = "x-postpolicy-reason";

const HEADER_UNSAFE: &AsciiSet = &CONTROLS.add(b'%');

/// Per-request facts every answer carries.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub request_id: String,
    pub host_id: String,
}

impl Ctx {
    pub(crate) fn new(headers: &HeaderMap) -> Self {
        let host_id = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        Self {
            request_id: crate::request_id(),
            host_id,
        }
    }
}

/// A rejection that is not a policy decision (storage, routing, callbacks).
pub(crate) fn rejected(
    status: u16,
    code: &'static str,
    message: impl Into<String>,
    reason: impl Into<String>,
) -> Rejected {
    Rejected {
        status,
        code,
        message: message.into(),
        condition_index: None,
        reason: reason.into(),
    }
}

/// The OSS error XML for `r`, with its status and the reason header.
pub(crate) fn error(ctx: &Ctx, r: &Rejected) -> Response<Body> {
    let mut response = Response::new(Body::from(r.to_xml(&ctx.request_id, &ctx.host_id)));
    *response.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    insert(headers, "x-oss-request-id", &ctx.request_id);
    let reason = utf8_percent_encode(&r.reason, HEADER_UNSAFE).to_string();
    insert(headers, REASON_HEADER, &reason);
    response
}

/// Sets `name: value`, skipping values that are not valid header text.
pub(crate) fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// An empty answer with `status`.
pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// CORS for the endpoint: any origin may post forms and read objects, and
/// read the headers a helper needs (`ETag`, `Location`, `x-oss-request-id`).
pub(crate) fn add_cors(request_headers: &HeaderMap, response: &mut Response<Body>) {
    let headers = response.headers_mut();
    let origin = request_headers
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
}

/// The answer to a CORS preflight.
pub(crate) fn preflight(request_headers: &HeaderMap) -> Response<Body> {
    let mut response = empty(StatusCode::OK);
    add_cors(request_headers, &mut response);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, PUT, OPTIONS"),
    );
    let allow_headers = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// True for the methods a preflight announces.
pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}
