//! CORS for the upload endpoint, as a bucket's CORS rules give it: a page of
//! an allowed origin may post forms and read objects and answers; any other
//! origin gets what OSS gives without a matching rule: a preflight is
//! refused with 403 `AccessForbidden`, and answers carry no
//! `Access-Control-Allow-Origin`. Credentials are never allowed.
//!
//! Origins are compared parsed (scheme, host, port), never as text.
//!
//! The demo application's token endpoint has rules of its own
//! (`--app-cors-origin`): a front end served from another port fetches its
//! upload tokens there, with its cookies when it names an exact origin.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use url::{Origin, Url};

use crate::ServerError;
use crate::respond::{self, Ctx};

/// Response headers a page of an allowed origin may read.
pub(crate) const EXPOSED_HEADERS: &str =
    "ETag, Location, x-oss-request-id, x-oss-hash-crc64ecma, x-postpolicy-reason";
/// The methods a preflight may ask for: the ones the endpoint serves.
const ALLOWED_METHODS: &str = "GET, HEAD, POST";
/// How long a browser may cache an allowed preflight.
const MAX_AGE_SECONDS: &str = "600";
/// OSS's message for a preflight no rule allows (its wording, typos included).
const NOT_ALLOWED: &str = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource's CORS spec.";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Rule {
    /// `*`: every origin.
    Any,
    Exact(Origin),
}

/// The allowed origins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cors {
    rules: Vec<Rule>,
}

impl Cors {
    /// Parses `--cors-origin` values: `*` or `scheme://host[:port]`.
    pub(crate) fn parse(entries: &[String]) -> Result<Self, ServerError> {
        Self::parse_for("--cors-origin", entries)
    }

    /// Parses the values of the option `option`.
    pub(crate) fn parse_for(option: &str, entries: &[String]) -> Result<Self, ServerError> {
        let rules = entries
            .iter()
            .map(|entry| parse_rule(option, entry))
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The request's `Origin`, when it is an allowed one.
    fn allowed<'h>(&self, request: &'h HeaderMap) -> Option<&'h HeaderValue> {
        let value = request.get(header::ORIGIN)?;
        if self.rules.contains(&Rule::Any) {
            return Some(value);
        }
        let origin = Url::parse(value.to_str().ok()?).ok()?.origin();
        if !origin.is_tuple() {
            return None;
        }
        self.rules
            .iter()
            .any(|rule| *rule == Rule::Exact(origin.clone()))
            .then_some(value)
    }

    /// Adds the CORS headers an answer to `request` carries.
    pub(crate) fn decorate(&self, request: &HeaderMap, response: &mut Response<Body>) {
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = self.allowed(request) else {
            return;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }

    /// The answer to a preflight: allowed, or 403 `AccessForbidden`.
    pub(crate) fn preflight(&self, ctx: &Ctx, request: &HeaderMap) -> Response<Body> {
        let method_ok = request
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .is_some_and(|m| m == Method::GET || m == Method::HEAD || m == Method::POST);
        if self.allowed(request).is_none() || !method_ok {
            let origin = request
                .get(header::ORIGIN)
                .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned())
                .unwrap_or_default();
            let mut response = respond::error(
                ctx,
                &respond::rejected(
                    403,
                    "AccessForbidden",
                    NOT_ALLOWED,
                    format!(
                        "no CORS rule allows the origin `{origin}` with this method (postpolicy serve --cors-origin)"
                    ),
                ),
            );
            self.decorate(request, &mut response);
            // A refused preflight carries no Access-Control-* grant at all.
            for name in [
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
            ] {
                response.headers_mut().remove(name);
            }
            return response;
        }
        let mut response = respond::empty(StatusCode::OK);
        self.decorate(request, &mut response);
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECONDS),
        );
        response
    }
}

impl Cors {
    /// True when the request's origin is one of the exact origins (not
    /// only allowed by `*`).
    fn names_exactly(&self, request: &HeaderMap) -> bool {
        let Some(origin) = request
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Url::parse(v).ok())
            .map(|url| url.origin())
        else {
            return false;
        };
        origin.is_tuple() && self.rules.contains(&Rule::Exact(origin))
    }

    /// Adds the CORS headers of the demo application's token endpoint: an
    /// allowed origin may read the token, and an exactly named one may send
    /// its cookies (the session the token is signed for).
    pub(crate) fn decorate_app(&self, request: &HeaderMap, response: &mut Response<Body>) {
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = self.allowed(request) else {
            return;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if self.names_exactly(request) {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// The token endpoint's answer to a preflight: GET (or HEAD) from an
    /// allowed origin, else 403.
    pub(crate) fn app_preflight(&self, request: &HeaderMap) -> Response<Body> {
        let method_ok = request
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .is_some_and(|m| m == Method::GET || m == Method::HEAD);
        if self.allowed(request).is_none() || !method_ok {
            let mut response = Response::new(Body::from(
                "This CORS request is not allowed: no --app-cors-origin names this origin, or the method is not GET.\n",
            ));
            *response.status_mut() = StatusCode::FORBIDDEN;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Origin"));
            return response;
        }
        let mut response = respond::empty(StatusCode::NO_CONTENT);
        self.decorate_app(request, &mut response);
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD"),
        );
        if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECONDS),
        );
        response
    }
}

fn parse_rule(option: &str, entry: &str) -> Result<Rule, ServerError> {
    if entry == "*" {
        return Ok(Rule::Any);
    }
    parse_origin(entry)
        .map(Rule::Exact)
        .map_err(|why| ServerError::Config(format!("{option} {why}")))
}

/// An origin as browsers send it (`https://app.example.com`, default port
/// left out, host lower-case): the one way postpolicy reads an origin a
/// person typed, for `serve --cors-origin` and `postpolicy cors`. The error
/// names the entry and what is wrong with it.
pub fn normalize_origin(entry: &str) -> Result<String, String> {
    parse_origin(entry).map(|origin| origin.ascii_serialization())
}

fn parse_origin(entry: &str) -> Result<Origin, String> {
    let bad = |why: &str| {
        format!(
            "`{entry}`: {why}; expected `*` or an origin such as https://app.example.com or http://127.0.0.1:8080"
        )
    };
    let url = Url::parse(entry).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(bad("an origin has no user, path, query or fragment"));
    }
    Ok(url.origin())
}

/// True for a CORS preflight.
pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers
    }

    #[test]
    fn origins_are_compared_parsed() {
        let cors = Cors::parse(&["http://127.0.0.1:8080".to_owned()]).unwrap();
        assert!(cors.allowed(&request("http://127.0.0.1:8080")).is_some());
        assert!(cors.allowed(&request("HTTP://127.0.0.1:8080")).is_some());
        for other in [
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
            "http://127.0.0.1:8080.evil.example",
            "http://localhost:8080",
            "null",
            "http://127.0.0.1",
        ] {
            assert!(cors.allowed(&request(other)).is_none(), "{other}");
        }
        let default_port = Cors::parse(&["https://app.example.com".to_owned()]).unwrap();
        assert!(
            default_port
                .allowed(&request("https://app.example.com:443"))
                .is_some()
        );
        let any = Cors::parse(&["*".to_owned()]).unwrap();
        assert!(any.allowed(&request("https://evil.example")).is_some());
        assert!(any.allowed(&HeaderMap::new()).is_none());
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "127.0.0.1:8080",
            "ftp://x.example",
            "https://x.example/path",
            "https://u@x.example",
            "https://x.example?q",
            "",
        ] {
            assert!(Cors::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_normalized_as_browsers_send_them() {
        assert_eq!(
            normalize_origin("HTTPS://App.Example.com:443").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:5173/").unwrap(),
            "http://127.0.0.1:5173"
        );
        let error = normalize_origin("app.example.com").unwrap_err();
        assert!(error.contains("`app.example.com`"), "{error}");
    }

    #[test]
    fn the_token_endpoint_lets_exact_origins_send_cookies() {
        let cors = Cors::parse_for(
            "--app-cors-origin",
            &["http://127.0.0.1:5173".to_owned(), "*".to_owned()],
        )
        .unwrap();
        let mut exact = request("http://127.0.0.1:5173");
        let mut response = respond::empty(StatusCode::OK);
        cors.decorate_app(&exact, &mut response);
        let h = response.headers();
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://127.0.0.1:5173"
        );
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");

        let mut response = respond::empty(StatusCode::OK);
        cors.decorate_app(&request("https://other.example"), &mut response);
        let h = response.headers();
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://other.example"
        );
        assert!(h.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());

        exact.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        assert_eq!(cors.app_preflight(&exact).status(), StatusCode::FORBIDDEN);
        exact.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("GET"),
        );
        let answer = cors.app_preflight(&exact);
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            answer.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET, HEAD"
        );
    }
}
