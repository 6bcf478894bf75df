//! The demo application server: what a real web application does around a
//! form upload. It signs forms (`GET /upload-token`), receives and verifies
//! the upload callbacks (`POST /callback`), lists what was stored
//! (`/uploads`) and serves an upload page (`/`) that uses `browser.js`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use axum::routing::{get, post};
use chrono::Utc;
use postpolicy::callback::{
    BodyType, CallbackRequest, CallbackSpec, KeyCache, KeyUrlPolicy, PublicKey, trusted_key_url,
    verify_callback,
};
use postpolicy::{Credentials, OssSigner, Policy, SignOptions};
use quick_xml::escape::escape as xml_escape;
use serde::Serialize;

use crate::ServerError;
use crate::cors::Cors;
use crate::store::Store;

/// The browser helper, shipped in the npm package and served to the page.
const BROWSER_JS: &str = include_str!("../assets/browser.js");
const INDEX_HTML: &str = include_str!("../assets/index.html");

/// The callback body the demo asks for (JSON, OSS system variables plus the
/// session as a custom variable).
const CALLBACK_BODY: &str = r#"{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},"mimeType":${mimeType},"session":${x:session}}"#;
const SESSION_COOKIE: &str = "pp_session";
const MAX_CALLBACK_BYTES: usize = 1024 * 1024;
const KEEP_RECORDS: usize = 1000;
/// The largest public key answer read (a PEM key is well under 1 KiB), as
/// the Python and Node fetchers.
const MAX_KEY_BYTES: usize = 64 * 1024;
/// How long a key fetch may take in all (OSS gives a whole callback 5 s).
const KEY_FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// A callback the demo application received and verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallbackRecord {
    pub object: String,
    pub size: Option<u64>,
    pub etag: String,
    pub mime_type: String,
    pub session: String,
    /// The raw callback body.
    pub body: String,
    pub received_at: String,
}

pub(crate) struct DemoConfig {
    pub credentials: Credentials,
    pub region: String,
    pub bucket: String,
    pub upload_url: String,
    pub oss_origin: String,
    pub app_origin: String,
    pub policy: Policy,
    pub key_url_prefix: String,
    pub store: Store,
    pub log_requests: bool,
    /// Origins whose pages may fetch tokens (`--app-cors-origin`).
    pub cors: Cors,
}

#[derive(Debug)]
pub(crate) struct Demo {
    signer: OssSigner,
    policy: Policy,
    bucket: String,
    oss_origin: String,
    app_origin: String,
    key_urls: KeyUrlPolicy,
    /// Fetched PEM keys by canonical URL (bounded, least recently used goes).
    keys: KeyCache<String>,
    /// The key fetcher: no proxy, no redirects, a timeout.
    client: reqwest::Client,
    records: Mutex<Vec<CallbackRecord>>,
    store: Store,
    log: bool,
    cors: Cors,
}

impl Demo {
    pub(crate) fn new(config: DemoConfig) -> Result<Self, ServerError> {
        let signer = OssSigner::new(config.credentials, &config.region, &config.bucket)?
            .with_endpoint(&config.upload_url)?;
        // The URL the core trusted is the one fetched: redirects are not followed.
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(KEY_FETCH_TIMEOUT)
            .build()
            .map_err(|e| ServerError::Config(format!("cannot build the HTTP client: {e}")))?;
        let key_urls = KeyUrlPolicy::default().allow(&config.key_url_prefix)?;
        Ok(Self {
            signer,
            policy: config.policy,
            bucket: config.bucket,
            oss_origin: config.oss_origin,
            app_origin: config.app_origin,
            key_urls,
            keys: KeyCache::new(),
            client,
            records: Mutex::new(Vec::new()),
            store: config.store,
            log: config.log_requests,
            cors: config.cors,
        })
    }

    pub(crate) fn records(&self) -> Vec<CallbackRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn object_url(&self, key: &str) -> String {
        const KEY_IN_URL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~')
            .remove(b'/');
        format!(
            "{}/{}/{}",
            self.oss_origin,
            self.bucket,
            percent_encoding::utf8_percent_encode(key, KEY_IN_URL)
        )
    }
}

pub(crate) fn router(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/browser.js", get(browser_js))
        .route("/upload-token", get(upload_token).options(token_preflight))
        .route("/callback", post(callback))
        .route("/uploads", get(uploads))
        .route("/callbacks", get(callbacks))
        .with_state(demo)
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    respond(status, "application/json", value.to_string())
}

async fn index(State(demo): State<Arc<Demo>>) -> Response<Body> {
    let page = INDEX_HTML
        .replace("{{BUCKET}}", &xml_escape(&demo.bucket))
        .replace("{{UPLOAD_URL}}", &xml_escape(demo.signer.url()))
        .replace("{{POLICY}}", &xml_escape(demo.policy.to_dsl()));
    respond(StatusCode::OK, "text/html; charset=utf-8", page)
}

async fn browser_js() -> Response<Body> {
    respond(StatusCode::OK, "text/javascript; charset=utf-8", BROWSER_JS)
}

/// The session id from the cookie, if it looks like one of ours.
fn session_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn upload_token(State(demo): State<Arc<Demo>>, headers: HeaderMap) -> Response<Body> {
    let (session, new_session) = match session_from(&headers) {
        Some(session) => (session, false),
        None => (crate::random_hex(8), true),
    };
    let callback = CallbackSpec::new(format!("{}/callback", demo.app_origin), CALLBACK_BODY)
        .with_body_type(BodyType::Json)
        .with_var("x:session", session.clone());
    let signed = callback
        .to_fields()
        .map_err(ServerError::from)
        .and_then(|fields| {
            let options = SignOptions::default()
                .key(format!("uploads/{session}/${{filename}}"))
                .callback(fields.callback, fields.vars);
            Ok(demo.signer.sign_with(&demo.policy, &options, Utc::now())?)
        });
    let mut response = match signed {
        Ok(form) => respond(StatusCode::OK, "application/json", form.to_json()),
        Err(e) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({"error": e.to_string()}),
        ),
    };
    if !demo.cors.is_empty() {
        demo.cors.decorate_app(&headers, &mut response);
    }
    if new_session {
        let cookie = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    if demo.log {
        eprintln!(
            "[app] GET /upload-token -> session {}",
            crate::log::escaped(&session)
        );
    }
    response
}

/// A front end on another origin asks before it fetches a token with its
/// cookies or headers of its own (`--app-cors-origin`).
async fn token_preflight(State(demo): State<Arc<Demo>>, headers: HeaderMap) -> Response<Body> {
    demo.cors.app_preflight(&headers)
}

impl Demo {
    /// The PEM at `url` (a canonical URL the key policy trusted), fetched
    /// once and kept while it parses as a key: status 200 only, no redirects,
    /// at most [`MAX_KEY_BYTES`], within [`KEY_FETCH_TIMEOUT`].
    async fn fetch_key(&self, url: &str) -> Result<String, String> {
        if let Some(pem) = self.keys.get(url) {
            return Ok(pem);
        }
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_KEY_BYTES as u64)
        {
            return Err(format!("the answer is larger than {MAX_KEY_BYTES} bytes"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_KEY_BYTES {
                return Err(format!("the answer is larger than {MAX_KEY_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let pem = String::from_utf8_lossy(&body).into_owned();
        if PublicKey::from_pem(&pem).is_ok() {
            self.keys.insert(url, pem.clone());
        }
        Ok(pem)
    }
}

async fn callback(State(demo): State<Arc<Demo>>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_CALLBACK_BYTES).await {
        Ok(body) => body,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"Status": "Error", "message": e.to_string()}),
            );
        }
    };
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let request = CallbackRequest::new(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        headers,
        &body,
    );
    // The core checks the headers and the key URL and gives the canonical
    // URL to fetch (asynchronously, so before `verify_callback`); nothing is
    // fetched for a URL it refuses.
    let fetched = match trusted_key_url(&request, &demo.key_urls) {
        Ok(url) => Some((demo.fetch_key(&url).await, url)),
        Err(_) => None,
    };
    let source = |url: &str| -> Result<String, String> {
        match &fetched {
            Some((result, fetched_url)) if fetched_url == url => result.clone(),
            _ => Err("the key was not fetched".to_owned()),
        }
    };
    if let Err(e) = verify_callback(&request, &source, &demo.key_urls) {
        if demo.log {
            eprintln!(
                "[app] POST /callback -> rejected: {}",
                crate::log::escaped(&e.to_string())
            );
        }
        return json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"Status": "Error", "code": e.code(), "message": e.to_string()}),
        );
    }
    let fields: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let record = CallbackRecord {
        object: text("object"),
        size: fields.get("size").and_then(serde_json::Value::as_u64),
        etag: text("etag"),
        mime_type: text("mimeType"),
        session: text("session"),
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: postpolicy::format_timestamp(Utc::now()),
    };
    if demo.log {
        eprintln!(
            "[app] POST /callback -> verified: {} ({} bytes)",
            crate::log::escaped(&record.object),
            record.size.unwrap_or_default()
        );
    }
    let answer = serde_json::json!({
        "Status": "OK",
        "object": record.object,
        "size": record.size,
        "etag": record.etag,
        "url": demo.object_url(&record.object),
    });
    {
        let mut records = demo.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= KEEP_RECORDS {
            records.remove(0);
        }
        records.push(record);
    }
    json(StatusCode::OK, &answer)
}

#[derive(serde::Deserialize)]
struct ListQuery {
    format: Option<String>,
}

async fn uploads(State(demo): State<Arc<Demo>>, Query(query): Query<ListQuery>) -> Response<Body> {
    let listed = match demo.store.list(&demo.bucket).await {
        Ok(listed) => listed,
        Err(e) => {
            // The detail may name files of this machine: log it only.
            eprintln!(
                "[app] GET /uploads -> cannot list: {}",
                crate::log::escaped(&e.to_string())
            );
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({"error": "the store cannot be listed; see the server log"}),
            );
        }
    };
    if query.format.as_deref() == Some("json") {
        let items: Vec<serde_json::Value> = listed
            .iter()
            .map(|o| {
                serde_json::json!({
                    "key": o.key, "size": o.size, "last_modified": o.last_modified,
                    "url": demo.object_url(&o.key),
                })
            })
            .collect();
        return json(StatusCode::OK, &serde_json::Value::Array(items));
    }
    let mut rows = String::new();
    for o in &listed {
        rows.push_str(&format!(
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td></tr>\n",
            xml_escape(demo.object_url(&o.key)),
            xml_escape(&o.key),
            o.size,
            xml_escape(&o.last_modified)
        ));
    }
    if listed.is_empty() {
        rows.push_str("<tr><td colspan=\"3\">Nothing uploaded yet.</td></tr>\n");
    }
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>postpolicy uploads</title>\
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}td,th{{padding:.25rem .75rem;text-align:left}}</style></head>\
<body><h1>Uploads in <code>{}</code></h1><p><a href=\"/\">Upload page</a> · <a href=\"/uploads?format=json\">JSON</a> · <a href=\"/callbacks\">callbacks received</a></p>\
<table><thead><tr><th>key</th><th>bytes</th><th>stored</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>\n",
        xml_escape(&demo.bucket)
    );
    respond(StatusCode::OK, "text/html; charset=utf-8", page)
}

async fn callbacks(State(demo): State<Arc<Demo>>) -> Response<Body> {
    let records = demo.records();
    match serde_json::to_value(records) {
        Ok(value) => json(StatusCode::OK, &value),
        Err(e) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({"error": e.to_string()}),
        ),
    }
}
