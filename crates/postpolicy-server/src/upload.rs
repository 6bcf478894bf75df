//! The OSS-compatible endpoint: routing, and `POST /<bucket>` (PostObject).
//!
//! The form is read with `multer` up to the `file` part, judged by the core
//! [`Verifier`] with the file size unknown, and the file is then streamed into
//! a temporary object while its size is held to [`Accepted::size_limit`].
//! When the size leaves that range the core is asked again, with the size
//! now known, so that the answer (EntityTooSmall / EntityTooLarge) is the
//! core's own. Only a complete, accepted upload is moved under its key.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use md5::{Digest as _, Md5};
use postpolicy::callback::{CallbackSpec, ObjectFacts};
use postpolicy::verify::{MAX_FIELD_VALUE_BYTES, MAX_FIELDS_TOTAL_BYTES, xml_escape};
use postpolicy::{Accepted, Credentials, FileInfo, Rejected, Submission, Verifier};

use crate::callback::{self, Outcome};
use crate::facts;
use crate::objects;
use crate::respond::{self, Ctx};
use crate::store::{Committed, Store, StoredMeta};

/// How long a rejected upload's remaining body is read (and discarded) so the
/// client sees the answer instead of a reset connection.
const DRAIN_TIME: Duration = Duration::from_secs(15);
/// More form fields than this is not a form.
const MAX_FIELDS: usize = 10_000;

/// Characters escaped in an object URL's path (everything but unreserved and `/`).
const KEY_IN_URL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

pub(crate) struct Oss {
    pub(crate) bucket: String,
    verifier: Verifier,
    pub(crate) store: Store,
    callbacks: callback::Sender,
    log: bool,
}

impl Oss {
    pub(crate) fn new(
        bucket: &str,
        region: &str,
        credentials: &Credentials,
        store: Store,
        callbacks: callback::Sender,
        log: bool,
    ) -> Self {
        let id = credentials.access_key_id().to_owned();
        let secret = credentials.secret().expose().to_owned();
        let keys = move |access_key_id: &str| (access_key_id == id).then(|| secret.clone());
        Self {
            bucket: bucket.to_owned(),
            verifier: Verifier::new(bucket, region, keys),
            store,
            callbacks,
            log,
        }
    }
}

pub(crate) fn router(state: Arc<Oss>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

/// Where a request goes: which bucket, which key (still percent-encoded), and
/// the URL prefix objects of that bucket have.
struct Target<'a> {
    bucket: String,
    key_raw: &'a str,
    object_base: String,
}

fn target<'a>(oss: &Oss, headers: &HeaderMap, path: &'a str) -> Target<'a> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let hostname = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let path = path.strip_prefix('/').unwrap_or(path);
    let virtual_host = hostname
        .strip_prefix(oss.bucket.as_str())
        .is_some_and(|rest| rest.starts_with('.'));
    if virtual_host {
        Target {
            bucket: oss.bucket.clone(),
            key_raw: path,
            object_base: format!("http://{host}/"),
        }
    } else {
        let (bucket, key_raw) = path.split_once('/').unwrap_or((path, ""));
        Target {
            bucket: percent_encoding::percent_decode_str(bucket)
                .decode_utf8_lossy()
                .into_owned(),
            key_raw,
            object_base: format!("http://{host}/{bucket}/"),
        }
    }
}

async fn dispatch(
    State(oss): State<Arc<Oss>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response<Body> {
    let headers = request.headers().clone();
    let ctx = Ctx::new(&headers);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = if respond::is_preflight(&method, &headers) {
        respond::preflight(&headers)
    } else {
        route(&oss, &ctx, peer, request).await
    };
    respond::add_cors(&headers, &mut response);
    respond::insert(response.headers_mut(), "x-oss-request-id", &ctx.request_id);
    if oss.log {
        eprintln!(
            "[oss] {method} {path} -> {} ({})",
            response.status().as_u16(),
            ctx.request_id
        );
    }
    response
}

async fn route(oss: &Oss, ctx: &Ctx, peer: SocketAddr, request: Request) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if path == crate::CALLBACK_KEY_PATH && (method == Method::GET || method == Method::HEAD) {
        return oss.callbacks.public_key_response(method == Method::HEAD);
    }
    let target = target(oss, request.headers(), &path);
    if target.bucket != oss.bucket {
        return respond::error(
            ctx,
            &respond::rejected(
                404,
                "NoSuchBucket",
                "The specified bucket does not exist.",
                format!(
                    "this endpoint serves the bucket `{}`, not `{}`",
                    oss.bucket, target.bucket
                ),
            ),
        );
    }
    let key = percent_encoding::percent_decode_str(target.key_raw)
        .decode_utf8_lossy()
        .into_owned();
    match (method, key.is_empty()) {
        (Method::POST, true) => {
            let object_base = target.object_base.clone();
            post_object(oss, ctx, peer, object_base, request).await
        }
        (Method::GET, false) => objects::get(oss, ctx, &key, false).await,
        (Method::HEAD, false) => objects::get(oss, ctx, &key, true).await,
        _ => respond::error(
            ctx,
            &respond::rejected(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                "this endpoint answers POST /<bucket> (form uploads) and GET/HEAD /<bucket>/<key>",
            ),
        ),
    }
}

/// Hands the body to multer one chunk per poll, so that multer's read loop
/// never buffers more than one chunk ahead of the consumer on a fast link.
struct OneChunkPerPoll<S> {
    inner: S,
    delivered: bool,
}

impl<S> Stream for OneChunkPerPoll<S>
where
    S: Stream + Unpin,
{
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.delivered {
            self.delivered = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if matches!(polled, Poll::Ready(Some(_))) {
            self.delivered = true;
        }
        polled
    }
}

/// A form read up to (and including the headers of) its file part.
struct Form<'r> {
    submission: Submission,
    file: Option<multer::Field<'r>>,
}

/// Reads the non-file fields, bounded by the core's limits (a value longer
/// than the limit is kept one byte too long, so the core names it).
async fn read_form<'r>(multipart: &mut multer::Multipart<'r>) -> Result<Form<'r>, multer::Error> {
    let mut submission = Submission::default();
    let mut total = 0usize;
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name.eq_ignore_ascii_case("file") {
            submission.file = Some(FileInfo {
                filename: field.file_name().unwrap_or_default().to_owned(),
                content_type: field.content_type().map(ToString::to_string),
                size: None,
            });
            return Ok(Form {
                submission,
                file: Some(field),
            });
        }
        let mut value = Vec::new();
        let cap = MAX_FIELD_VALUE_BYTES + 1;
        while let Some(chunk) = field.chunk().await? {
            let room = cap.saturating_sub(value.len());
            value.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            if value.len() >= cap {
                break;
            }
        }
        total = total.saturating_add(value.len());
        let over = value.len() >= cap || total > MAX_FIELDS_TOTAL_BYTES;
        submission
            .fields
            .push((name, String::from_utf8_lossy(&value).into_owned()));
        if over || submission.fields.len() >= MAX_FIELDS {
            // The core rejects this form; stop reading it.
            break;
        }
    }
    Ok(Form {
        submission,
        file: None,
    })
}

/// Reads and discards what is left of the body (bounded in time), so that
/// the client, still sending, receives the answer.
async fn drain(file: Option<multer::Field<'_>>, multipart: &mut multer::Multipart<'_>) {
    let work = async {
        if let Some(mut file) = file {
            while let Ok(Some(_)) = file.chunk().await {}
        }
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, work).await;
}

/// The core's answer for a form whose body is not multipart at all.
fn malformed(oss: &Oss, now: DateTime<Utc>) -> Rejected {
    match oss.verifier.verify(&Submission::default(), now) {
        Err(rejected) => rejected,
        Ok(_) => respond::rejected(
            400,
            "MalformedPOSTRequest",
            "The body of your POST request is not well-formed multipart/form-data",
            "the request is not a multipart form",
        ),
    }
}

fn internal(reason: impl std::fmt::Display) -> Rejected {
    respond::rejected(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
        reason.to_string(),
    )
}

async fn post_object(
    oss: &Oss,
    ctx: &Ctx,
    peer: SocketAddr,
    object_base: String,
    request: Request,
) -> Response<Body> {
    let now = Utc::now();
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary else {
        return respond::error(ctx, &malformed(oss, now));
    };
    let stream = OneChunkPerPoll {
        inner: request.into_body().into_data_stream(),
        delivered: false,
    };
    let mut multipart = multer::Multipart::new(stream, boundary);
    let form = match read_form(&mut multipart).await {
        Ok(form) => form,
        Err(_) => return respond::error(ctx, &malformed(oss, now)),
    };
    match receive(oss, ctx, peer, &object_base, form, &mut multipart, now).await {
        Ok(response) => response,
        Err((rejected, file)) => {
            drain(file, &mut multipart).await;
            let mut response = respond::error(ctx, &rejected);
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

type Failure<'r> = (Rejected, Option<multer::Field<'r>>);

/// Verifies, streams, commits and answers; on failure returns the rejection
/// and, when it was not read yet, the file part to drain.
async fn receive<'r>(
    oss: &Oss,
    ctx: &Ctx,
    peer: SocketAddr,
    object_base: &str,
    form: Form<'r>,
    multipart: &mut multer::Multipart<'r>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, Failure<'r>> {
    let Form {
        mut submission,
        file,
    } = form;
    let accepted = match oss.verifier.verify(&submission, now) {
        Ok(accepted) => accepted,
        Err(rejected) => return Err((rejected, file)),
    };
    let Some(mut file) = file else {
        // The verifier rejects forms without a file; never reached.
        return Err((malformed(oss, now), None));
    };
    let callback = match submission.field("callback").filter(|c| !c.is_empty()) {
        None => None,
        Some(b64) => match CallbackSpec::from_base64(b64) {
            Ok(spec) => Some(spec),
            Err(e) => {
                let rejected = respond::rejected(
                    400,
                    "InvalidArgument",
                    e.to_string(),
                    format!("the callback field is invalid: {e}"),
                );
                return Err((rejected, Some(file)));
            }
        },
    };
    let Some(object_path) = Store::object_path(&oss.bucket, &accepted.key) else {
        let rejected = respond::rejected(
            400,
            "InvalidObjectName",
            "The specified object is not valid.",
            format!(
                "the key `{}` is empty, longer than 1023 bytes, starts with `/` or `\\`, or has an empty path segment",
                accepted.key
            ),
        );
        return Err((rejected, Some(file)));
    };
    let no_overwrite = forbids_overwrite(&accepted);
    if no_overwrite {
        match oss.store.exists(&object_path).await {
            Ok(false) => {}
            Ok(true) => return Err((already_exists(&accepted.key), Some(file))),
            Err(e) => return Err((internal(e), Some(file))),
        }
    }

    // Stream the file into a temporary object, holding it to the size range.
    let mut upload = match oss.store.begin().await {
        Ok(upload) => upload,
        Err(e) => return Err((internal(e), Some(file))),
    };
    let limit = accepted.size_limit;
    let mut size: u64 = 0;
    let mut md5 = Md5::new();
    let mut crc64 = facts::CRC64.digest();
    let mut sniffer = facts::Sniffer::default();
    loop {
        let chunk: Bytes = match file.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // The client went away or the body is broken; `upload` is
            // dropped and leaves nothing behind.
            Err(_) => return Err((malformed(oss, now), None)),
        };
        size = size.saturating_add(chunk.len() as u64);
        if size > limit.max {
            let rejected = size_rejection(oss, &mut submission, size, now);
            return Err((rejected, Some(file)));
        }
        md5.update(&chunk);
        crc64.update(&chunk);
        sniffer.update(&chunk);
        if let Err(e) = upload.put(chunk).await {
            return Err((internal(e), Some(file)));
        }
    }
    drop(file);
    // The final word on the complete file comes from the core.
    if let Some(info) = submission.file.as_mut() {
        info.size = Some(size);
    }
    let accepted = match oss.verifier.verify(&submission, now) {
        Ok(accepted) => accepted,
        Err(rejected) => return Err((rejected, None)),
    };
    // Fields after the file are ignored, as OSS does; read to the end.
    drain(None, multipart).await;

    let tmp = match upload.finish().await {
        Ok(tmp) => tmp,
        Err(e) => return Err((internal(e), None)),
    };
    match oss.store.commit(tmp, &object_path, no_overwrite).await {
        Ok(Committed::Stored) => {}
        Ok(Committed::AlreadyExists) => return Err((already_exists(&accepted.key), None)),
        Err(e) => return Err((internal(e), None)),
    }
    let digest = md5.finalize();
    let crc64 = crc64.finalize();
    let etag_hex = hex::encode_upper(digest);
    let etag = format!("\"{etag_hex}\"");
    let meta = StoredMeta {
        content_type: accepted.content_type.clone(),
        metadata: accepted.metadata.clone(),
        etag: etag.clone(),
        crc64: Some(crc64),
        size,
        uploaded_at: postpolicy::wire::format_timestamp(Utc::now()),
    };
    if let Err(e) = oss.store.put_meta(&object_path, &meta).await {
        return Err((internal(e), None));
    }
    let location = format!(
        "{object_base}{}",
        percent_encoding::utf8_percent_encode(&accepted.key, KEY_IN_URL)
    );

    if let Some(spec) = callback {
        use base64::Engine as _;
        let facts = ObjectFacts {
            bucket: oss.bucket.clone(),
            object: accepted.key.clone(),
            etag: etag_hex,
            size,
            mime_type: accepted.content_type.clone().unwrap_or_default(),
            client_ip: peer.ip().to_string(),
            request_id: ctx.request_id.clone(),
            operation: "PostObject".to_owned(),
            content_md5: Some(base64::engine::general_purpose::STANDARD.encode(digest)),
            crc64: Some(crc64),
            image: sniffer.image_info(),
            ..ObjectFacts::default()
        };
        let vars: Vec<(String, String)> = submission
            .fields
            .iter()
            .filter(|(name, _)| name.starts_with("x:"))
            .cloned()
            .collect();
        let body = spec.render_body(&facts, &vars);
        let mut response = match oss.callbacks.send(&spec, body).await {
            Outcome::Answered(json) => {
                let mut response = Response::new(Body::from(json));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Outcome::Failed(reason) => {
                let rejected = respond::rejected(203, "CallbackFailed", reason.clone(), reason);
                respond::error(ctx, &rejected)
            }
        };
        set_object_headers(response.headers_mut(), &etag, &location, crc64);
        return Ok(response);
    }

    if let Some(redirect) = &accepted.redirect {
        let mut response = respond::empty(StatusCode::SEE_OTHER);
        respond::insert(response.headers_mut(), "etag", &etag);
        respond::insert(
            response.headers_mut(),
            "x-oss-hash-crc64ecma",
            &crc64.to_string(),
        );
        respond::insert(response.headers_mut(), "location", redirect);
        return Ok(response);
    }
    let mut response = match accepted.status {
        201 => {
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse>\n  <Bucket>{}</Bucket>\n  <Location>{}</Location>\n  <Key>{}</Key>\n  <ETag>{}</ETag>\n</PostResponse>\n",
                xml_escape(&oss.bucket),
                xml_escape(&location),
                xml_escape(&accepted.key),
                xml_escape(&etag)
            );
            let mut response = Response::new(Body::from(xml));
            *response.status_mut() = StatusCode::CREATED;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            response
        }
        200 => respond::empty(StatusCode::OK),
        _ => respond::empty(StatusCode::NO_CONTENT),
    };
    set_object_headers(response.headers_mut(), &etag, &location, crc64);
    Ok(response)
}

fn set_object_headers(headers: &mut HeaderMap, etag: &str, location: &str, crc64: u64) {
    respond::insert(headers, "etag", etag);
    respond::insert(headers, "location", location);
    respond::insert(headers, "x-oss-hash-crc64ecma", &crc64.to_string());
}

/// `x-oss-forbid-overwrite: true` among the accepted metadata.
fn forbids_overwrite(accepted: &Accepted) -> bool {
    accepted
        .metadata
        .iter()
        .any(|(name, value)| name == "x-oss-forbid-overwrite" && value.eq_ignore_ascii_case("true"))
}

fn already_exists(key: &str) -> Rejected {
    respond::rejected(
        409,
        "FileAlreadyExists",
        "The object you specified already exists and can not be overwritten.",
        format!("the object `{key}` exists and the form sets x-oss-forbid-overwrite: true"),
    )
}

/// The core's rejection of a file of `size` bytes.
fn size_rejection(
    oss: &Oss,
    submission: &mut Submission,
    size: u64,
    now: DateTime<Utc>,
) -> Rejected {
    if let Some(info) = submission.file.as_mut() {
        info.size = Some(size);
    }
    match oss.verifier.verify(submission, now) {
        Err(rejected) => rejected,
        Ok(_) => internal(format!(
            "the file grew to {size} bytes, beyond the range the verifier allowed"
        )),
    }
}
