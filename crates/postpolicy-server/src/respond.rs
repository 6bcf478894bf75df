//! Answers as OSS gives them: error XML, request ids.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use postpolicy::Rejected;
use quick_xml::escape::escape;

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
        service_code: code,
        message: message.into(),
        condition_index: None,
        reason: reason.into(),
    }
}

/// The OSS error body: `<Error><Code/><Message/><RequestId/><HostId/></Error>`.
pub(crate) fn error_xml(r: &Rejected, request_id: &str, host_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  <RequestId>{}</RequestId>\n  <HostId>{}</HostId>\n</Error>\n",
        escape(r.service_code),
        escape(r.message.as_str()),
        escape(request_id),
        escape(host_id)
    )
}

/// The OSS error XML for `r`, with its status and the reason header.
pub(crate) fn error(ctx: &Ctx, r: &Rejected) -> Response<Body> {
    let mut response = Response::new(Body::from(error_xml(r, &ctx.request_id, &ctx.host_id)));
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

/// The answer to a failure inside the server (storage, I/O). The detail may
/// name files of this machine, so it goes to the log, never to the client.
pub(crate) fn internal(ctx: &Ctx, detail: impl std::fmt::Display) -> Rejected {
    eprintln!(
        "[oss] internal error ({}): {}",
        ctx.request_id,
        crate::log::escaped(&detail.to_string())
    );
    rejected(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
        format!(
            "the server failed to store or read the object; its log has the detail (request {})",
            ctx.request_id
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_xml_is_escaped() {
        let r = rejected(403, "AccessDenied", "a <b> & \"c\"", "r");
        let xml = error_xml(&r, "req-1", "host");
        assert!(
            xml.contains("<Message>a &lt;b&gt; &amp; &quot;c&quot;</Message>"),
            "{xml}"
        );
        assert!(xml.contains("<Code>AccessDenied</Code>"));
        assert!(xml.contains("<RequestId>req-1</RequestId>"));
    }
}
