//! The OSS-compatible endpoint: routing, and `POST /<bucket>` (PostObject).
//!
//! The form is read with the bounded [`FormReader`] up to the `file` part,
//! judged by the core [`Verifier`] with the file size unknown, and the file is
//! then streamed into a new blob while its size is held to
//! [`Accepted::size_limit`]. When the size leaves that range the core is
//! asked again, with the size now known, so that the answer (EntityTooSmall /
//! EntityTooLarge) is the core's own. The fields after the file are read too
//! (bounded): OSS ignores them, but they let the core say that a `key` came
//! too late. Only a complete, accepted upload is committed under its key.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use postpolicy::callback::{CallbackSpec, ObjectFacts};
use postpolicy::{
    Accepted, Credentials, GcsCredentials, GcsVerifier, Rejected, Submission, Verifier,
};
use quick_xml::escape::escape as xml_escape;

use crate::Limits;
use crate::callback::{self, Outcome};
use crate::conn::IdleBody;
use crate::cors::{self, Cors};
use crate::facts;
use crate::form::{FormError, FormReader};
use crate::log::escaped;
use crate::objects;
use crate::respond::{self, Ctx};
use crate::store::{Committed, ObjectAttributes, Store, StoredMeta};

/// OSS's message for form fields beyond its limits.
const FIELDS_TOO_LONG: &str = "Your POST request fields exceed the maximum allowed size.";
/// OSS's (and S3's) message for a request body that stalled.
const REQUEST_TIMEOUT: &str = "Your socket connection to the server was not read from or written to within the timeout period.";

/// Characters escaped in an object URL's path (everything but unreserved and `/`).
const KEY_IN_URL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The service whose forms the endpoint judges.
enum FormVerifier {
    Oss(Verifier),
    Gcs(GcsVerifier),
}

impl FormVerifier {
    fn verify<'a>(
        &self,
        submission: &'a Submission,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected> {
        match self {
            FormVerifier::Oss(verifier) => verifier.verify(submission, now),
            FormVerifier::Gcs(verifier) => verifier.verify(submission, now),
        }
    }
}

pub(crate) struct Oss {
    pub(crate) bucket: String,
    verifier: FormVerifier,
    pub(crate) store: Store,
    callbacks: callback::Sender,
    cors: Cors,
    limits: Limits,
    log: bool,
}

pub(crate) struct OssConfig<'a> {
    pub bucket: &'a str,
    pub region: &'a str,
    pub credentials: &'a Credentials,
    /// Judge GCS V4 forms signed with these instead of OSS forms.
    pub gcs: Option<&'a GcsCredentials>,
    pub store: Store,
    pub callbacks: callback::Sender,
    pub cors: Cors,
    pub limits: Limits,
    pub log: bool,
}

impl Oss {
    pub(crate) fn new(config: OssConfig<'_>) -> Self {
        let id = config.credentials.access_key_id().to_owned();
        let secret = config.credentials.secret().expose().to_owned();
        let keys = move |access_key_id: &str| (access_key_id == id).then(|| secret.clone());
        Self {
            bucket: config.bucket.to_owned(),
            verifier: match config.gcs {
                Some(gcs) => FormVerifier::Gcs(GcsVerifier::for_credentials(config.bucket, gcs)),
                None => FormVerifier::Oss(Verifier::new(config.bucket, config.region, keys)),
            },
            store: config.store,
            callbacks: config.callbacks,
            cors: config.cors,
            limits: config.limits,
            log: config.log,
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
    let mut response = if cors::is_preflight(&method, &headers) {
        oss.cors.preflight(&ctx, &headers)
    } else {
        let mut response = route(&oss, &ctx, peer, request).await;
        oss.cors.decorate(&headers, &mut response);
        response
    };
    respond::insert(response.headers_mut(), "x-oss-request-id", &ctx.request_id);
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if oss.log {
        eprintln!(
            "[oss] {} {} -> {} ({})",
            escaped(method.as_str()),
            escaped(&path),
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

/// The answer for a form the reader could not read.
fn unreadable(oss: &Oss, e: &FormError, timed_out: &AtomicBool, now: DateTime<Utc>) -> Rejected {
    if timed_out.load(Ordering::Relaxed) {
        return request_timeout(oss);
    }
    match e {
        FormError::PartHeaderTooLong { .. }
        | FormError::TooManyFields { .. }
        | FormError::FieldsTooLarge { .. } => {
            respond::rejected(400, "FieldItemTooLong", FIELDS_TOO_LONG, e.to_string())
        }
        _ => {
            let mut rejected = malformed(oss, now);
            rejected.reason = e.to_string();
            rejected
        }
    }
}

fn request_timeout(oss: &Oss) -> Rejected {
    respond::rejected(
        400,
        "RequestTimeout",
        REQUEST_TIMEOUT,
        format!(
            "the request body paused for more than {} s",
            oss.limits.idle_timeout.as_secs_f32()
        ),
    )
}

/// Why an upload was not stored.
enum Failure {
    /// The verifier's verdict on the form before the file: reading the
    /// fields after the file may give it a clearer reason.
    Verdict(Rejected),
    Other(Rejected),
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
    // The file is no longer than the body: a small one reserves no more
    // upload memory than it can use.
    let size_hint = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = IdleBody::new(
        request.into_body().into_data_stream(),
        oss.limits.idle_timeout,
    );
    let timed_out = body.flag();
    let mut form = FormReader::new(body, &boundary, oss.limits.form.clone());
    // What the explanation of a rejection already read of the drain budget.
    let mut drain_spent = (0u64, Duration::ZERO);
    let outcome = match form.read_head().await {
        Err(e) => Err(Failure::Other(unreadable(oss, &e, &timed_out, now))),
        Ok(head) => {
            let mut submission = Submission {
                fields: head.fields,
                fields_after_file: Vec::new(),
                file: head.file,
            };
            let outcome = receive(
                oss,
                ctx,
                peer,
                &object_base,
                &mut submission,
                &mut form,
                &timed_out,
                size_hint,
                now,
            )
            .await;
            match outcome {
                Ok(response) => Ok(response),
                Err(Failure::Verdict(rejected)) => {
                    let started = Instant::now();
                    let (rejected, read) =
                        explain(oss, &mut form, &mut submission, rejected, now).await;
                    drain_spent = (read, started.elapsed());
                    Err(Failure::Other(rejected))
                }
                Err(other) => Err(other),
            }
        }
    };
    // Read (and discard) what is left so that the client, maybe still
    // sending, sees the answer; within the drain bounds, or the connection
    // is closed after the answer.
    let drained = tokio::time::timeout(
        oss.limits.drain_time.saturating_sub(drain_spent.1),
        form.skip_rest(oss.limits.drain_bytes.saturating_sub(drain_spent.0)),
    )
    .await
    .unwrap_or(false);
    let mut response = match outcome {
        Ok(response) => response,
        Err(Failure::Verdict(rejected) | Failure::Other(rejected)) => {
            respond::error(ctx, &rejected)
        }
    };
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads past the file to the fields after it (within the drain budget) and
/// asks the core again, so that its reason can say that a field such as
/// `key` came after the file part. Returns the answer and the file bytes
/// read (spent of the drain budget).
async fn explain(
    oss: &Oss,
    form: &mut FormReader<'_>,
    submission: &mut Submission,
    rejected: Rejected,
    now: DateTime<Utc>,
) -> (Rejected, u64) {
    let budget = oss.limits.drain_bytes;
    let mut read = 0u64;
    let read_tail = async {
        while let Some(chunk) = form.file_chunk().await.ok()? {
            read = read.saturating_add(chunk.len() as u64);
            if read > budget {
                return None;
            }
        }
        form.read_tail().await.ok()
    };
    let tail = tokio::time::timeout(oss.limits.drain_time, read_tail)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    if tail.is_empty() {
        return (rejected, read);
    }
    submission.fields_after_file = tail;
    let answer = oss
        .verifier
        .verify(submission, now)
        .err()
        .unwrap_or(rejected);
    (answer, read)
}

/// Verifies, streams, commits and answers.
#[allow(clippy::too_many_arguments)]
async fn receive(
    oss: &Oss,
    ctx: &Ctx,
    peer: SocketAddr,
    object_base: &str,
    submission: &mut Submission,
    form: &mut FormReader<'_>,
    timed_out: &AtomicBool,
    size_hint: Option<u64>,
    now: DateTime<Utc>,
) -> Result<Response<Body>, Failure> {
    let accepted = oss
        .verifier
        .verify(submission, now)
        .map_err(Failure::Verdict)?;
    if submission.file.is_none() {
        // The verifier rejects forms without a file; never reached.
        return Err(Failure::Other(malformed(oss, now)));
    }
    let callback = match submission.field("callback").filter(|c| !c.is_empty()) {
        None => None,
        Some(b64) => match CallbackSpec::from_base64(b64) {
            Ok(spec) => Some(spec),
            Err(e) => {
                return Err(Failure::Other(respond::rejected(
                    400,
                    "InvalidArgument",
                    e.to_string(),
                    format!("the callback field is invalid: {e}"),
                )));
            }
        },
    };
    let Some(object) = Store::locate(&oss.bucket, &accepted.key) else {
        return Err(Failure::Other(respond::rejected(
            400,
            "InvalidObjectName",
            "The specified object is not valid.",
            format!(
                "the key `{}` is empty, longer than 1023 bytes, or starts with `/` or `\\`",
                accepted.key
            ),
        )));
    };
    let no_overwrite = forbids_overwrite(&accepted);
    if no_overwrite {
        match oss.store.exists(&object).await {
            Ok(false) => {}
            Ok(true) => return Err(Failure::Other(already_exists(&accepted.key))),
            Err(e) => return Err(Failure::Other(respond::internal(ctx, e))),
        }
    }

    // Stream the file into the store, holding it to the size range.
    let attributes = object_attributes(&accepted);
    let mut upload = oss
        .store
        .begin(&object, &attributes, size_hint)
        .await
        .map_err(|e| Failure::Other(respond::internal(ctx, e)))?;
    let limit = accepted.size_limit;
    let mut size: u64 = 0;
    let mut sniffer = facts::Sniffer::default();
    loop {
        let chunk: Bytes = match form.file_chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // The client stalled, went away or broke the body; `upload` is
            // dropped and leaves nothing behind.
            Err(e) => return Err(Failure::Other(unreadable(oss, &e, timed_out, now))),
        };
        size = size.saturating_add(chunk.len() as u64);
        if size > limit.max {
            return Err(Failure::Other(size_rejection(oss, submission, size, now)));
        }
        sniffer.update(&chunk);
        if let Err(e) = upload.write(chunk).await {
            return Err(Failure::Other(respond::internal(ctx, e)));
        }
    }
    // Fields after the file are ignored, as OSS does; they are read (bounded)
    // so that the body is consumed and the core sees them.
    match form.read_tail().await {
        Ok(tail) => submission.fields_after_file = tail,
        Err(_) if timed_out.load(Ordering::Relaxed) => {
            return Err(Failure::Other(request_timeout(oss)));
        }
        Err(_) => {}
    }
    // The final word on the complete file comes from the core.
    if let Some(info) = submission.file.as_mut() {
        info.size = Some(size);
    }
    let accepted = oss
        .verifier
        .verify(submission, now)
        .map_err(Failure::Other)?;

    let staged = upload
        .finish()
        .await
        .map_err(|e| Failure::Other(respond::internal(ctx, e)))?;
    let meta = StoredMeta::new(
        &accepted.key,
        // The final verification reads the same fields: the same attributes.
        &attributes,
        &staged.digests(),
        Utc::now(),
    );
    let digests = match oss.store.commit(staged, &object, meta, no_overwrite).await {
        Ok(Committed::Stored(digests)) => digests,
        Ok(Committed::AlreadyExists) => {
            return Err(Failure::Other(already_exists(&accepted.key)));
        }
        Err(e) => return Err(Failure::Other(respond::internal(ctx, e))),
    };
    let crc64 = digests.crc64;
    let etag_hex = digests.md5_hex();
    let etag = digests.etag();
    let location = format!(
        "{object_base}{}",
        percent_encoding::utf8_percent_encode(&accepted.key, KEY_IN_URL)
    );

    if let Some(spec) = callback {
        use base64::Engine as _;
        let facts = ObjectFacts {
            bucket: oss.bucket.clone(),
            object: accepted.key.to_string(),
            etag: etag_hex,
            size,
            mime_type: accepted
                .content_type
                .as_deref()
                .unwrap_or_default()
                .to_owned(),
            client_ip: peer.ip().to_string(),
            request_id: ctx.request_id.clone(),
            operation: "PostObject".to_owned(),
            content_md5: Some(base64::engine::general_purpose::STANDARD.encode(digests.md5)),
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
            Outcome::Failed { message, reason } => {
                let rejected = respond::rejected(203, "CallbackFailed", message, reason);
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
                xml_escape(&*accepted.key),
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

/// What is stored with the object: its Content-Type and the accepted
/// headers and metadata, owned (the form is read on after this).
fn object_attributes(accepted: &Accepted<'_>) -> ObjectAttributes {
    ObjectAttributes {
        content_type: accepted.content_type.as_deref().map(str::to_owned),
        metadata: accepted
            .metadata
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
    }
}

/// `x-oss-forbid-overwrite: true` among the accepted metadata.
fn forbids_overwrite(accepted: &Accepted<'_>) -> bool {
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
        Ok(_) => respond::rejected(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size.",
            format!("the file grew to {size} bytes, beyond the range the verifier allowed"),
        ),
    }
}
