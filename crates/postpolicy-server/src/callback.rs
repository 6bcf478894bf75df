//! The endpoint's side of upload callbacks: sign the rendered body with the
//! endpoint's own RSA key (core [`CallbackSigner`]), POST it with a timeout,
//! and relay the application's JSON answer — or report why it failed, so the
//! upload is answered with 203 `CallbackFailed` as OSS does.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use futures_util::StreamExt as _;
use postpolicy::callback::{CallbackSigner, CallbackSpec};

use crate::ServerError;

/// Largest application answer relayed to the uploader (OSS: 1–3 MB).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// What came of a callback.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The application answered 200 with this JSON body.
    Answered(Vec<u8>),
    /// Every URL failed; the message for `CallbackFailed`.
    Failed(String),
}

pub(crate) struct Sender {
    signer: CallbackSigner,
    key_url: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl Sender {
    pub(crate) fn new(
        signer: CallbackSigner,
        key_url: String,
        timeout: Duration,
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
        let mut failure = String::from("The callback has no URL.");
        for url in spec.urls() {
            match self.send_one(url, spec, &body).await {
                Ok(answer) => return Outcome::Answered(answer),
                Err(reason) => failure = reason,
            }
        }
        Outcome::Failed(failure)
    }

    async fn send_one(
        &self,
        url: &str,
        spec: &CallbackSpec,
        body: &str,
    ) -> Result<Vec<u8>, String> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| format!("Callback URL {url} is invalid: {e}."))?;
        let signature = self
            .signer
            .headers(
                &self.key_url,
                parsed.path(),
                parsed.query(),
                body.as_bytes(),
            )
            .map_err(|e| format!("Cannot sign the callback: {e}."))?;
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
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!(
                    "Callback to {url} timed out after {} s.",
                    self.timeout.as_secs_f32()
                )
            } else {
                format!("Callback to {url} failed: cannot connect ({e}).")
            }
        })?;
        let status = response.status();
        let mut answer = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| format!("Callback to {url} failed while reading the answer: {e}."))?;
            if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(format!(
                    "Callback to {url} answered more than {MAX_ANSWER_BYTES} bytes."
                ));
            }
            answer.extend_from_slice(&chunk);
        }
        if status != reqwest::StatusCode::OK {
            return Err(format!("Error status : {}.", status.as_u16()));
        }
        if serde_json::from_slice::<serde_json::Value>(&answer).is_err() {
            return Err("Response body is not valid json format.".to_owned());
        }
        Ok(answer)
    }
}
