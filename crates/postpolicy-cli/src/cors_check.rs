//! `postpolicy cors check URL --origin ORIGIN`: would a browser page on
//! ORIGIN be able to post a form to URL and read the answer?
//!
//! It does what the browser does: a preflight (`OPTIONS`, as the upload's
//! progress events make the browser ask first), then a real POST — signed
//! with the credentials in the environment (a 22-byte object is stored), or
//! else signed with a key the service cannot know, so that it must refuse
//! the form and its answer still shows the CORS headers. Each problem is one
//! line that says what to change. The verdicts follow the Fetch standard's
//! CORS check, as browsers apply it.

use std::time::Duration;

use chrono::Utc;
use postpolicy::{Credentials, OssSigner, Policy, S3Signer, SignOptions, SignedForm};
use reqwest::header::{self, HeaderMap};

use crate::cors::Dialect;
use crate::cors::check_header_name;
use crate::sign::s3_credentials_from_env;
use crate::{Exit, Failure, Outcome};

/// The test object's bytes (a signed check stores them).
const TEST_BODY: &[u8] = b"postpolicy cors check\n";
/// The access key id of the deliberately rejected form.
const UNKNOWN_KEY_ID: &str = "postpolicy-cors-check-unknown-key";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The form's action URL, where the page posts:
    /// https://BUCKET.oss-cn-hangzhou.aliyuncs.com, http://127.0.0.1:9090/BUCKET, ….
    url: String,
    /// The page's origin, such as https://app.example.com.
    #[arg(long, value_name = "ORIGIN")]
    origin: String,
    /// `oss` or `s3`: which credentials sign the test upload
    /// (OSS_ACCESS_KEY_ID / … or AWS_ACCESS_KEY_ID / …).
    #[arg(long, value_enum, default_value_t)]
    dialect: Dialect,
    /// A request header the uploader adds (repeatable): the preflight asks
    /// for it.
    #[arg(long = "header", value_name = "NAME")]
    headers: Vec<String>,
    /// The page sends the upload with credentials (cookies:
    /// `xhr.withCredentials`, `fetch(…, {credentials: 'include'})`).
    #[arg(long)]
    credentials: bool,
    /// The bucket of the signed test upload (default: from the URL).
    #[arg(long)]
    bucket: Option<String>,
    /// The region of the signed test upload (default: from the URL).
    #[arg(long)]
    region: Option<String>,
    /// The key of the signed test upload.
    #[arg(long, default_value = "postpolicy-cors-check.txt")]
    key: String,
    /// Seconds each request may take.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

/// An HTTP answer, as the checks read it.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    fn get(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a browser would refuse, one line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    Unreachable(String),
    PreflightRedirect { status: u16, location: String },
    OriginNotAllowed(String),
    PostNotAllowed(String),
    HeaderNotAllowed(String),
    CredentialsWildcard,
    CredentialsNotAllowed,
    AnswerNotReadable(String),
    EtagNotExposed(String),
    UploadRefused(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Unreachable(why) => write!(f, "unreachable: {why}"),
            Problem::PreflightRedirect { status, location } => write!(
                f,
                "redirect during preflight: the preflight was answered {status} (to `{location}`), and browsers do not follow a preflight's redirect; post to the final URL"
            ),
            Problem::OriginNotAllowed(detail) => write!(f, "origin not allowed: {detail}"),
            Problem::PostNotAllowed(detail) => write!(f, "POST not allowed: {detail}"),
            Problem::HeaderNotAllowed(detail) => write!(f, "header not allowed: {detail}"),
            Problem::CredentialsWildcard => write!(
                f,
                "credentials/wildcard clash: the answer allows any origin (`Access-Control-Allow-Origin: *`), which browsers refuse for a request with credentials; name the origin, or upload without credentials (a signed form needs none)"
            ),
            Problem::CredentialsNotAllowed => write!(
                f,
                "credentials not allowed: the page sends credentials but the answer lacks `Access-Control-Allow-Credentials: true`; upload without credentials (a signed form needs none)"
            ),
            Problem::AnswerNotReadable(detail) => {
                write!(f, "answer not readable: {detail}")
            }
            Problem::EtagNotExposed(detail) => write!(f, "ETag not exposed: {detail}"),
            Problem::UploadRefused(detail) => write!(f, "upload refused: {detail}"),
        }
    }
}

/// The request headers the preflight names, as browsers send them: lower
/// case, sorted, comma-separated.
pub(crate) fn request_headers(names: &[String]) -> Option<String> {
    let mut names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    (!names.is_empty()).then(|| names.join(","))
}

/// A comma-separated header's items, trimmed.
fn items(value: Option<&str>) -> Vec<&str> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The CORS check of an answer's `Access-Control-Allow-Origin` (and
/// `-Credentials` when the page sends them), as the Fetch standard has it.
fn origin_problems(answer: &Answer, origin: &str, credentials: bool, what: &str) -> Vec<Problem> {
    let allowed = answer.get(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    match allowed {
        None => {
            return vec![Problem::OriginNotAllowed(format!(
                "the {what} (HTTP {}) has no Access-Control-Allow-Origin for `{origin}`; add it to the bucket's CORS AllowedOrigin (postpolicy cors --origin {origin})",
                answer.status
            ))];
        }
        Some("*") if credentials => return vec![Problem::CredentialsWildcard],
        Some("*") => {}
        Some(value) if value == origin => {}
        Some(value) => {
            return vec![Problem::OriginNotAllowed(format!(
                "the {what} allows the origin `{value}`, not `{origin}` (browsers compare the two exactly)"
            ))];
        }
    }
    let allows_credentials = answer.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS) == Some("true");
    if credentials && !allows_credentials {
        return vec![Problem::CredentialsNotAllowed];
    }
    Vec::new()
}

/// Judges the preflight answer; `probe` answers another preflight for a
/// method and request headers (to tell which part a refusal is about).
pub(crate) fn judge_preflight(
    answer: &Answer,
    origin: &str,
    headers: &[String],
    credentials: bool,
    probe: &mut dyn FnMut(&str, &[String]) -> Option<Answer>,
) -> Vec<Problem> {
    if (300..400).contains(&answer.status) {
        return vec![Problem::PreflightRedirect {
            status: answer.status,
            location: answer.get(header::LOCATION).unwrap_or("").to_owned(),
        }];
    }
    let grants = |a: &Answer| {
        (200..300).contains(&a.status) && origin_problems(a, origin, credentials, "").is_empty()
    };
    if !grants(answer) {
        let answered = (200..300).contains(&answer.status);
        if answered && answer.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_some() {
            return origin_problems(answer, origin, credentials, "preflight answer");
        }
        // A service answers a preflight no rule allows without saying which
        // part failed: ask again without the headers, then for GET.
        if !headers.is_empty() && probe("POST", &[]).is_some_and(|a| grants(&a)) {
            return headers
                .iter()
                .filter(|h| !probe("POST", std::slice::from_ref(h)).is_some_and(|a| grants(&a)))
                .map(|h| {
                    Problem::HeaderNotAllowed(format!(
                        "a preflight asking for `{h}` is refused; add it to the rule's AllowedHeader (postpolicy cors --header {h})"
                    ))
                })
                .collect();
        }
        if probe("GET", &[]).is_some_and(|a| grants(&a)) {
            return vec![Problem::PostNotAllowed(format!(
                "the preflight for POST from `{origin}` is refused (HTTP {}), GET is allowed; add POST to the rule's AllowedMethod",
                answer.status
            ))];
        }
        if answered {
            return origin_problems(answer, origin, credentials, "preflight answer");
        }
        return vec![Problem::OriginNotAllowed(format!(
            "the preflight from `{origin}` is refused (HTTP {}{}); add the origin to the bucket's CORS AllowedOrigin with POST (postpolicy cors --origin {origin})",
            answer.status,
            error_code(&answer.body)
                .map(|c| format!(" {c}"))
                .unwrap_or_default()
        ))];
    }
    let mut problems = Vec::new();
    // POST is a CORS-safelisted method: no Access-Control-Allow-Methods
    // needed. Every header asked for must be allowed.
    let allowed = items(answer.get(header::ACCESS_CONTROL_ALLOW_HEADERS));
    let any = allowed.contains(&"*") && !credentials;
    for name in headers {
        if !any && !allowed.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            problems.push(Problem::HeaderNotAllowed(format!(
                "`{name}` is not in Access-Control-Allow-Headers (`{}`); add it to the rule's AllowedHeader (postpolicy cors --header {name})",
                allowed.join(", ")
            )));
        }
    }
    problems
}

/// Judges the answer to the POST: can the page read it, and its ETag?
pub(crate) fn judge_post(
    answer: &Answer,
    origin: &str,
    credentials: bool,
    signed: bool,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if signed && !(200..300).contains(&answer.status) {
        problems.push(Problem::UploadRefused(format!(
            "the signed test upload was answered HTTP {}{}: check the credentials, the bucket, the region and the key's permissions",
            answer.status,
            error_code(&answer.body)
                .map(|c| format!(" {c}"))
                .unwrap_or_default()
        )));
    }
    let readable = origin_problems(answer, origin, credentials, "upload answer");
    if !readable.is_empty() {
        for problem in readable {
            problems.push(match problem {
                Problem::OriginNotAllowed(detail) => Problem::AnswerNotReadable(format!(
                    "{detail}; the page cannot read whether the upload worked"
                )),
                other => other,
            });
        }
        return problems;
    }
    let exposed = items(answer.get(header::ACCESS_CONTROL_EXPOSE_HEADERS));
    let etag_exposed = exposed.iter().any(|h| h.eq_ignore_ascii_case("etag"))
        || (exposed.contains(&"*") && !credentials);
    if !etag_exposed {
        problems.push(Problem::EtagNotExposed(format!(
            "Access-Control-Expose-Headers is `{}`; add ETag to the rule's ExposeHeader so the page can read the stored object's ETag",
            exposed.join(", ")
        )));
    } else if signed && (200..300).contains(&answer.status) && answer.get(header::ETAG).is_none() {
        problems.push(Problem::EtagNotExposed(
            "the upload's answer has no ETag header".to_owned(),
        ));
    }
    problems
}

/// The `<Code>` of an error XML answer.
fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body.get(start..)?.find("</Code>")?;
    body.get(start..start + end)
}

/// The bucket and region a form URL names: virtual-hosted OSS
/// (`b.oss-cn-hangzhou.aliyuncs.com`) or S3 (`b.s3.us-west-2.amazonaws.com`)
/// hosts, else the path's first segment as the bucket.
pub(crate) fn bucket_and_region(url: &url::Url) -> (Option<String>, Option<String>) {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    if let [bucket, endpoint, "aliyuncs", "com"] = labels.as_slice()
        && let Some(region) = endpoint.strip_prefix("oss-")
    {
        let region = region.strip_suffix("-internal").unwrap_or(region);
        return (Some((*bucket).to_owned()), Some(region.to_owned()));
    }
    match labels.as_slice() {
        [bucket, "s3", region, "amazonaws", "com"] => {
            return (Some((*bucket).to_owned()), Some((*region).to_owned()));
        }
        [bucket, "s3", "amazonaws", "com"] => {
            return (Some((*bucket).to_owned()), Some("us-east-1".to_owned()));
        }
        [bucket, endpoint, "amazonaws", "com"] if endpoint.starts_with("s3-") => {
            let region = endpoint.trim_start_matches("s3-");
            return (Some((*bucket).to_owned()), Some(region.to_owned()));
        }
        _ => {}
    }
    let bucket = url
        .path_segments()
        .and_then(|mut s| s.next())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    (bucket, None)
}

pub(crate) fn run(args: &Args) -> Outcome {
    let origin = postpolicy_server::normalize_origin(&args.origin)
        .map_err(|why| Failure(format!("--origin {why}")))?;
    let url = url::Url::parse(&args.url)
        .map_err(|e| Failure(format!("`{}` is not a URL: {e}", args.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure(format!(
            "`{}`: the URL must be http or https",
            args.url
        )));
    }
    for name in &args.headers {
        check_header_name(name)?;
    }
    let credentials = match args.dialect {
        Dialect::Oss => Credentials::from_env(),
        Dialect::S3 => s3_credentials_from_env(),
    }
    .transpose()?;
    let signed = credentials.is_some();
    let form = test_form(args, &url, credentials)?;

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .build()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(check(&client, args, &url, &origin, &form, signed));

    let mut out = std::io::stdout().lock();
    use std::io::Write as _;
    for line in &report.notes {
        writeln!(out, "{line}")?;
    }
    if report.problems.is_empty() {
        writeln!(
            out,
            "ok: a page on {origin} can upload to {url} and read the answer and its ETag"
        )?;
        return Ok(Exit::Ok);
    }
    for problem in &report.problems {
        writeln!(out, "{problem}")?;
    }
    Ok(Exit::Warnings)
}

/// The test form: signed with the caller's credentials for a tiny object,
/// or with a key no service knows.
fn test_form(
    args: &Args,
    url: &url::Url,
    credentials: Option<Credentials>,
) -> Result<SignedForm, Failure> {
    let (url_bucket, url_region) = bucket_and_region(url);
    let signed = credentials.is_some();
    let credentials = match credentials {
        Some(credentials) => credentials,
        None => Credentials::new(UNKNOWN_KEY_ID, "not-a-secret", None)?,
    };
    let need = |value: Option<String>, what: &str| -> Result<String, Failure> {
        match value {
            Some(value) => Ok(value),
            None if signed => Err(Failure(format!(
                "cannot tell the {what} from {url}; pass --{what}"
            ))),
            // Any valid value does for a form the service must refuse.
            None => Ok(match (what, args.dialect) {
                ("bucket", _) => "postpolicy-cors-check".to_owned(),
                (_, Dialect::Oss) => "cn-hangzhou".to_owned(),
                (_, Dialect::S3) => "us-east-1".to_owned(),
            }),
        }
    };
    let bucket = need(args.bucket.clone().or(url_bucket), "bucket")?;
    let region = need(args.region.clone().or(url_region), "region")?;
    let policy = Policy::builder()
        .expires_in(Duration::from_secs(300))
        .key(args.key.clone())
        .size(1, 1024)
        .build()?;
    let now = Utc::now();
    let options = SignOptions::default();
    Ok(match args.dialect {
        Dialect::Oss => OssSigner::new(credentials, &region, &bucket)?
            .with_endpoint(url.as_str())?
            .sign_with(&policy, &options, now)?,
        Dialect::S3 => S3Signer::new(credentials, &region, &bucket)?
            .with_endpoint(url.as_str())?
            .sign_with(&policy, &options, now)?,
    })
}

#[derive(Debug, Default)]
struct Report {
    notes: Vec<String>,
    problems: Vec<Problem>,
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer, String> {
    let response = request.send().await.map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    })?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn preflight_request(
    client: &reqwest::Client,
    url: &url::Url,
    origin: &str,
    method: &str,
    headers: &[String],
) -> reqwest::RequestBuilder {
    let mut request = client
        .request(reqwest::Method::OPTIONS, url.clone())
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, method);
    if let Some(names) = request_headers(headers) {
        request = request.header(header::ACCESS_CONTROL_REQUEST_HEADERS, names);
    }
    request
}

async fn check(
    client: &reqwest::Client,
    args: &Args,
    url: &url::Url,
    origin: &str,
    form: &SignedForm,
    signed: bool,
) -> Report {
    let mut report = Report::default();
    let answer = match send(preflight_request(
        client,
        url,
        origin,
        "POST",
        &args.headers,
    ))
    .await
    {
        Ok(answer) => answer,
        Err(why) => {
            report.problems.push(Problem::Unreachable(format!(
                "the preflight to {url} failed: {why}"
            )));
            return report;
        }
    };
    // The probes run only when the preflight is refused; they are few.
    let mut probes: Vec<(String, Vec<String>, Option<Answer>)> = Vec::new();
    if !(200..300).contains(&answer.status)
        || answer
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    {
        let mut wanted: Vec<(&str, Vec<String>)> = vec![("GET", Vec::new())];
        if !args.headers.is_empty() {
            wanted.push(("POST", Vec::new()));
            for h in &args.headers {
                wanted.push(("POST", vec![h.clone()]));
            }
        }
        for (method, headers) in wanted {
            let probe = send(preflight_request(client, url, origin, method, &headers))
                .await
                .ok();
            probes.push((method.to_owned(), headers, probe));
        }
    }
    let mut probe = |method: &str, headers: &[String]| {
        probes
            .iter()
            .find(|(m, h, _)| m == method && h.as_slice() == headers)
            .and_then(|(_, _, a)| a.clone())
    };
    let preflight = judge_preflight(&answer, origin, &args.headers, args.credentials, &mut probe);
    report.notes.push(format!(
        "preflight: OPTIONS {url} from {origin} (POST{}) -> HTTP {}",
        request_headers(&args.headers)
            .map(|h| format!(", headers {h}"))
            .unwrap_or_default(),
        answer.status
    ));
    if answer.get(header::ACCESS_CONTROL_ALLOW_ORIGIN) == Some("*")
        && answer.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS) == Some("true")
        && !args.credentials
    {
        report.notes.push("note: the answer allows credentials with `Access-Control-Allow-Origin: *`, a pair browsers refuse for requests with credentials (this upload sends none); an upload rule needs no credentials".to_owned());
    }
    report.problems.extend(preflight);

    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in &form.fields {
        multipart = multipart.text(name.to_owned(), value.to_owned());
    }
    let file = match reqwest::multipart::Part::bytes(TEST_BODY)
        .file_name("postpolicy-cors-check.txt")
        .mime_str("text/plain")
    {
        Ok(file) => file,
        Err(e) => {
            report.problems.push(Problem::Unreachable(e.to_string()));
            return report;
        }
    };
    multipart = multipart.part("file", file);
    let post = client
        .post(url.clone())
        .header(header::ORIGIN, origin)
        .multipart(multipart);
    let what = if signed {
        format!(
            "signed test upload of `{}` ({} bytes)",
            args.key,
            TEST_BODY.len()
        )
    } else {
        "a form signed with an unknown key (no credentials set), which the service must refuse"
            .to_owned()
    };
    match send(post).await {
        Ok(answer) => {
            report.notes.push(format!(
                "upload: POST {url} from {origin}, {what} -> HTTP {}{}",
                answer.status,
                error_code(&answer.body)
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            ));
            if !signed && (200..300).contains(&answer.status) {
                report.notes.push("note: the service accepted a form signed with an unknown key: the bucket takes anonymous uploads (public-read-write)".to_owned());
            }
            // A browser whose preflight is refused never posts: then only
            // what the POST adds (the ETag, the upload itself) is news.
            let preflight_failed = !report.problems.is_empty();
            report.problems.extend(
                judge_post(&answer, origin, args.credentials, signed)
                    .into_iter()
                    .filter(|p| {
                        !preflight_failed
                            || matches!(p, Problem::EtagNotExposed(_) | Problem::UploadRefused(_))
                    }),
            );
        }
        Err(why) => report.problems.push(Problem::Unreachable(format!(
            "the POST to {url} failed: {why}"
        ))),
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const ORIGIN: &str = "https://app.example.com";

    fn answer(status: u16, headers: &[(&'static str, &str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        Answer {
            status,
            headers: map,
            body: String::new(),
        }
    }

    fn no_probe(_: &str, _: &[String]) -> Option<Answer> {
        None
    }

    #[test]
    fn a_granted_preflight_passes_and_a_redirect_does_not() {
        let ok = answer(200, &[("access-control-allow-origin", ORIGIN)]);
        assert_eq!(judge_preflight(&ok, ORIGIN, &[], false, &mut no_probe), []);
        let moved = answer(301, &[("location", "https://elsewhere.example/b")]);
        let problems = judge_preflight(&moved, ORIGIN, &[], false, &mut no_probe);
        assert!(
            problems[0]
                .to_string()
                .starts_with("redirect during preflight:"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_refused_preflight_is_explained_by_probing() {
        let refused = answer(403, &[]);
        let problems = judge_preflight(&refused, ORIGIN, &[], false, &mut no_probe);
        assert!(problems[0].to_string().starts_with("origin not allowed:"));
        // GET is allowed, POST is not.
        let mut get_ok = |method: &str, _: &[String]| {
            (method == "GET").then(|| answer(200, &[("access-control-allow-origin", ORIGIN)]))
        };
        let problems = judge_preflight(&refused, ORIGIN, &[], false, &mut get_ok);
        assert!(
            problems[0].to_string().starts_with("POST not allowed:"),
            "{problems:?}"
        );
        // POST alone is allowed, but not with `x-trace`.
        let asked = ["x-trace".to_owned()];
        let mut header_refused = |method: &str, headers: &[String]| {
            (method == "POST" && headers.is_empty())
                .then(|| answer(200, &[("access-control-allow-origin", ORIGIN)]))
        };
        let problems = judge_preflight(&refused, ORIGIN, &asked, false, &mut header_refused);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .starts_with("header not allowed: a preflight asking for `x-trace`")
        );
    }

    #[test]
    fn origins_and_credentials_follow_the_cors_check() {
        let other = answer(
            200,
            &[("access-control-allow-origin", "https://other.example")],
        );
        let problems = judge_preflight(&other, ORIGIN, &[], false, &mut no_probe);
        assert!(
            problems[0]
                .to_string()
                .contains("`https://other.example`, not `https://app.example.com`")
        );
        let any = answer(
            200,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-credentials", "true"),
            ],
        );
        assert_eq!(judge_preflight(&any, ORIGIN, &[], false, &mut no_probe), []);
        assert_eq!(
            judge_preflight(&any, ORIGIN, &[], true, &mut no_probe),
            [Problem::CredentialsWildcard]
        );
        assert!(
            Problem::CredentialsWildcard
                .to_string()
                .starts_with("credentials/wildcard clash:")
        );
        let exact = answer(200, &[("access-control-allow-origin", ORIGIN)]);
        assert_eq!(
            judge_preflight(&exact, ORIGIN, &[], true, &mut no_probe),
            [Problem::CredentialsNotAllowed]
        );
        let headers = answer(
            200,
            &[
                ("access-control-allow-origin", ORIGIN),
                ("access-control-allow-headers", "content-type"),
            ],
        );
        let problems = judge_preflight(
            &headers,
            ORIGIN,
            &["X-Trace".to_owned()],
            false,
            &mut no_probe,
        );
        assert!(
            problems[0]
                .to_string()
                .starts_with("header not allowed: `X-Trace`")
        );
    }

    #[test]
    fn the_upload_answer_must_be_readable_with_its_etag() {
        let fine = answer(
            204,
            &[
                ("access-control-allow-origin", ORIGIN),
                ("access-control-expose-headers", "ETag, Location"),
                ("etag", "\"abc\""),
            ],
        );
        assert_eq!(judge_post(&fine, ORIGIN, false, true), []);
        let hidden = answer(
            204,
            &[
                ("access-control-allow-origin", ORIGIN),
                ("access-control-expose-headers", "x-oss-request-id"),
            ],
        );
        let problems = judge_post(&hidden, ORIGIN, false, true);
        assert!(
            problems[0].to_string().starts_with("ETag not exposed:"),
            "{problems:?}"
        );
        let unreadable = answer(403, &[]);
        let problems = judge_post(&unreadable, ORIGIN, false, false);
        assert!(
            problems[0].to_string().starts_with("answer not readable:"),
            "{problems:?}"
        );
        let refused = Answer {
            body: "<Error><Code>AccessDenied</Code></Error>".to_owned(),
            ..answer(
                403,
                &[
                    ("access-control-allow-origin", ORIGIN),
                    ("access-control-expose-headers", "ETag"),
                ],
            )
        };
        let problems = judge_post(&refused, ORIGIN, false, true);
        assert!(
            problems[0].to_string().contains("HTTP 403 AccessDenied"),
            "{problems:?}"
        );
        assert_eq!(judge_post(&refused, ORIGIN, false, false), []);
    }

    #[test]
    fn buckets_and_regions_come_from_the_url() {
        let parse = |u: &str| bucket_and_region(&url::Url::parse(u).unwrap());
        assert_eq!(
            parse("https://photos.oss-cn-hangzhou.aliyuncs.com"),
            (Some("photos".into()), Some("cn-hangzhou".into()))
        );
        assert_eq!(
            parse("https://photos.oss-cn-shanghai-internal.aliyuncs.com/"),
            (Some("photos".into()), Some("cn-shanghai".into()))
        );
        assert_eq!(
            parse("https://photos.s3.eu-west-1.amazonaws.com"),
            (Some("photos".into()), Some("eu-west-1".into()))
        );
        assert_eq!(
            parse("https://photos.s3.amazonaws.com"),
            (Some("photos".into()), Some("us-east-1".into()))
        );
        assert_eq!(
            parse("http://127.0.0.1:9090/postpolicy-dev"),
            (Some("postpolicy-dev".into()), None)
        );
        assert_eq!(
            request_headers(&["X-B".into(), "x-a".into()]).as_deref(),
            Some("x-a,x-b")
        );
    }
}
