//! The endpoint's side of upload callbacks: sign the rendered body with the
//! endpoint's own RSA key (core [`CallbackSigner`]), POST it with a timeout,
//! and relay the application's JSON answer — or report why it failed, so the
//! upload is answered with 203 `CallbackFailed` as OSS does.
//!
//! Callbacks go only to allowed hosts ([`AllowList`], `--callback-allow`):
//! anyone may post a form signed with the public development key, and the
//! endpoint must not become their relay into this machine's network. A URL
//! that is not allowed fails exactly as an unreachable one does, with one
//! generic reason, so the answer never tells whether a port is open; the
//! detail goes to the server's log. A `callbackHost` (the Host header) is
//! honoured only when it names an allowed host; otherwise the callback fails
//! the same way, so that a form cannot steer a reverse proxy on an allowed
//! host to an internal virtual host.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use futures_util::StreamExt as _;
use postpolicy::callback::{CallbackSigner, CallbackSpec};

use crate::ServerError;
use crate::log::escaped;

/// Largest application answer relayed to the uploader (OSS: 1–3 MB).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// OSS's message when it cannot reach the callback URL; also ours for a URL
/// that is not allowed.
pub(crate) const UNREACHABLE: &str =
    "Error status : -1.OSS can not connect to your callbackUrl, please check it";
/// OSS's message when the application takes longer than the timeout.
const TOO_SLOW: &str = "Cost too long time.";
/// The reason shown for [`UNREACHABLE`], whichever of the two it was.
pub(crate) const UNREACHABLE_REASON: &str = "the callback was not delivered: its URL (or callbackHost) is not on the allow list (postpolicy serve --callback-allow HOST[:PORT]) or it could not be reached; the server's log says which";

/// One allowed callback destination.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Allowed {
    host: url::Host<String>,
    /// `None`: the default port of the callback URL's scheme.
    port: Option<u16>,
}

/// Where callbacks may go: hosts and ports, compared parsed (a host name
/// lower-cased, an IP address by value, `2130706433` is `127.0.0.1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AllowList {
    allowed: Vec<Allowed>,
}

impl AllowList {
    /// Parses `--callback-allow` values: `HOST[:PORT]` (IPv6 in brackets).
    pub(crate) fn parse(entries: &[String]) -> Result<Self, ServerError> {
        let allowed = entries
            .iter()
            .map(|entry| parse_allowed(entry))
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed })
    }

    /// True when `url` (http or https) goes to an allowed host and port.
    fn allows_url(&self, url: &reqwest::Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.to_owned();
        let default = if url.scheme() == "https" { 443 } else { 80 };
        self.allowed
            .iter()
            .any(|a| a.host == host && a.port.unwrap_or(default) == port)
    }

    /// True when `host_header` (a `callbackHost`, maybe with a port) names
    /// an allowed host.
    fn allows_host_header(&self, host_header: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(&format!("http://{host_header}/")) else {
            return false;
        };
        if url.path() != "/" || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let Some(host) = url.host().map(|h| h.to_owned()) else {
            return false;
        };
        self.allowed.iter().any(|a| a.host == host)
    }
}

fn parse_allowed(entry: &str) -> Result<Allowed, ServerError> {
    let bad = |why: &str| {
        ServerError::Config(format!(
            "--callback-allow `{entry}`: {why}; expected HOST or HOST:PORT, such as app.example.com, 127.0.0.1:8080 or [::1]:3000"
        ))
    };
    if entry.is_empty() || entry.contains(['/', '@', '?', '#', '\\']) || entry.contains("://") {
        return Err(bad("not a host"));
    }
    let url = reqwest::Url::parse(&format!("http://{entry}/")).map_err(|e| bad(&e.to_string()))?;
    let host = url
        .host()
        .map(|h| h.to_owned())
        .ok_or_else(|| bad("no host"))?;
    // The URL parser drops a port equal to http's default; read it from the text.
    let port = match entry.rsplit_once(':') {
        Some((_, digits)) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(
                digits
                    .parse::<u16>()
                    .map_err(|_| bad("the port is out of range"))?,
            )
        }
        _ => None,
    };
    Ok(Allowed { host, port })
}

/// What came of a callback.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The application answered 200 with this JSON body.
    Answered(Vec<u8>),
    /// Every URL failed: the `CallbackFailed` message and the reason.
    Failed { message: String, reason: String },
}

pub(crate) struct Sender {
    signer: CallbackSigner,
    key_url: String,
    client: reqwest::Client,
    timeout: Duration,
    allowed: AllowList,
    log: bool,
}

/// Why one callback URL failed: what the uploader is told, and the detail
/// for the log.
struct Failure {
    message: String,
    reason: String,
    detail: String,
}

impl Failure {
    /// Not delivered: not allowed, or not reachable (the same answer).
    fn unreachable(detail: String) -> Self {
        Self {
            message: UNREACHABLE.to_owned(),
            reason: UNREACHABLE_REASON.to_owned(),
            detail,
        }
    }

    /// The application was reached and answered wrongly (its own host).
    fn answered(message: String, reason: String) -> Self {
        Self {
            detail: reason.clone(),
            message,
            reason,
        }
    }
}

impl Sender {
    pub(crate) fn new(
        signer: CallbackSigner,
        key_url: String,
        timeout: Duration,
        allowed: AllowList,
        log: bool,
    ) -> Result<Self, ServerError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServerError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            signer,
            key_url,
            client,
            timeout,
            allowed,
            log,
        })
    }

    /// The PEM public key that verifies this endpoint's callbacks.
    pub(crate) fn public_key_response(&self, head_only: bool) -> Response<Body> {
        let pem = self.signer.public_key_pem().to_owned();
        let length = pem.len();
        let mut response = Response::new(if head_only {
            Body::empty()
        } else {
            Body::from(pem)
        });
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-pem-file"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        response
    }

    /// Posts `body` to the callback URLs in order until one answers 200 with
    /// JSON.
    pub(crate) async fn send(&self, spec: &CallbackSpec, body: String) -> Outcome {
        let mut failure = Failure::unreachable("the callback has no URL".to_owned());
        for url in spec.urls() {
            match self.send_one(url, spec, &body).await {
                Ok(answer) => return Outcome::Answered(answer),
                Err(f) => {
                    if self.log {
                        eprintln!(
                            "[oss] callback to {} failed: {}",
                            escaped(url),
                            escaped(&f.detail)
                        );
                    }
                    failure = f;
                }
            }
        }
        Outcome::Failed {
            message: failure.message,
            reason: failure.reason,
        }
    }

    async fn send_one(
        &self,
        url: &str,
        spec: &CallbackSpec,
        body: &str,
    ) -> Result<Vec<u8>, Failure> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| Failure::unreachable(format!("the URL is invalid: {e}")))?;
        if !self.allowed.allows_url(&parsed) {
            return Err(Failure::unreachable(
                "its host and port are not allowed (--callback-allow)".to_owned(),
            ));
        }
        if let Some(host) = spec.host()
            && !self.allowed.allows_host_header(host)
        {
            return Err(Failure::unreachable(format!(
                "its callbackHost `{host}` does not name an allowed host (--callback-allow)"
            )));
        }
        let signature = self
            .signer
            .headers(
                &self.key_url,
                parsed.path(),
                parsed.query(),
                body.as_bytes(),
            )
            .map_err(|e| Failure::unreachable(format!("cannot sign the callback: {e}")))?;
        let mut request = self
            .client
            .post(parsed)
            .timeout(self.timeout)
            .header(header::CONTENT_TYPE, spec.body_type().content_type())
            .body(body.to_owned());
        for (name, value) in signature {
            request = request.header(name, value);
        }
        if let Some(host) = spec.host() {
            request = request.header(header::HOST, host);
        }
        let timed_out = |e: &reqwest::Error| {
            Failure::answered(
                TOO_SLOW.to_owned(),
                format!(
                    "the application did not answer within {} s",
                    self.timeout.as_secs_f32()
                ),
            )
            .with_detail(e.to_string())
        };
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                timed_out(&e)
            } else {
                Failure::unreachable(format!("cannot connect: {e}"))
            }
        })?;
        let status = response.status();
        let mut answer = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                if e.is_timeout() {
                    timed_out(&e)
                } else {
                    Failure::answered(
                        format!("Error status : {}.", status.as_u16()),
                        "the application's answer broke off".to_owned(),
                    )
                    .with_detail(e.to_string())
                }
            })?;
            if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(Failure::answered(
                    "Error Status : 400.User server return too long content-length value"
                        .to_owned(),
                    format!("the application answered more than {MAX_ANSWER_BYTES} bytes"),
                ));
            }
            answer.extend_from_slice(&chunk);
        }
        if status != reqwest::StatusCode::OK {
            return Err(Failure::answered(
                format!("Error status : {}.", status.as_u16()),
                format!("the application answered HTTP {}, not 200", status.as_u16()),
            ));
        }
        if serde_json::from_slice::<serde_json::Value>(&answer).is_err() {
            return Err(Failure::answered(
                "Response body is not valid json format.".to_owned(),
                "the application's answer is not JSON".to_owned(),
            ));
        }
        Ok(answer)
    }
}

impl Failure {
    fn with_detail(mut self, detail: String) -> Self {
        self.detail = detail;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    #[test]
    fn urls_are_matched_by_parsed_host_and_port() {
        let allowed = list(&["127.0.0.1:8080", "App.Example.com", "[::1]:3000"]);
        for ok in [
            "http://127.0.0.1:8080/callback",
            "http://2130706433:8080/x",
            "http://0x7f.0.0.1:8080/x",
            "http://app.example.com/cb",
            "https://APP.example.com/cb",
            "http://[0:0::1]:3000/",
        ] {
            assert!(allowed.allows_url(&url(ok)), "{ok}");
        }
        for refused in [
            "http://127.0.0.1:8081/callback",
            "http://127.0.0.1/callback",
            "http://localhost:8080/callback",
            "http://app.example.com:8080/cb",
            "http://app.example.com.evil.example/cb",
            "http://127.0.0.1:8080@evil.example/",
            "ftp://127.0.0.1:8080/",
            "http://[::1]:3001/",
        ] {
            assert!(!allowed.allows_url(&url(refused)), "{refused}");
        }
        // An explicit default port is kept.
        let eighty = list(&["hooks.example.com:80"]);
        assert!(eighty.allows_url(&url("http://hooks.example.com/")));
        assert!(!eighty.allows_url(&url("https://hooks.example.com/")));
    }

    #[test]
    fn callback_host_must_name_an_allowed_host() {
        let allowed = list(&["127.0.0.1:8080"]);
        assert!(allowed.allows_host_header("127.0.0.1:8080"));
        assert!(allowed.allows_host_header("127.0.0.1"));
        assert!(!allowed.allows_host_header("internal.admin"));
        assert!(!allowed.allows_host_header("internal.admin:8080"));
        assert!(!allowed.allows_host_header("127.0.0.1/x"));
        assert!(!allowed.allows_host_header(""));
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in [
            "",
            "http://x.example",
            "x.example/cb",
            "u@x.example",
            "x.example:99999",
            "::1",
        ] {
            assert!(AllowList::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
