//! [`CallbackSpec`]: what OSS should call after an upload, and its form fields.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::CallbackError;
use super::template::{self, Piece, VarRef};

/// OSS accepts at most this many callback URLs (tried in order).
pub const MAX_URLS: usize = 5;

/// How OSS encodes the callback body (`callbackBodyType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BodyType {
    /// `application/x-www-form-urlencoded` (the OSS default): substituted
    /// values are percent-encoded.
    #[default]
    FormUrlEncoded,
    /// `application/json`: substituted values are inserted as JSON.
    Json,
}

impl BodyType {
    /// The `Content-Type` / `callbackBodyType` string.
    pub fn content_type(self) -> &'static str {
        match self {
            BodyType::FormUrlEncoded => "application/x-www-form-urlencoded",
            BodyType::Json => "application/json",
        }
    }

    /// Parses a `callbackBodyType` value (ASCII case-insensitive).
    pub fn from_content_type(value: &str) -> Option<Self> {
        [BodyType::FormUrlEncoded, BodyType::Json]
            .into_iter()
            .find(|t| t.content_type().eq_ignore_ascii_case(value.trim()))
    }
}

impl std::fmt::Display for BodyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.content_type())
    }
}

impl std::str::FromStr for BodyType {
    type Err = CallbackError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BodyType::from_content_type(s).ok_or_else(|| CallbackError::UnsupportedBodyType {
            value: s.to_string(),
        })
    }
}

/// The form fields a callback adds to a PostObject form.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallbackFields {
    /// The `callback` field: base64 of the compact callback JSON.
    pub callback: String,
    /// The custom variables, as `x:<name>` form fields, in the order given.
    pub vars: Vec<(String, String)>,
}

impl CallbackFields {
    /// All fields in form order: `callback` first, then the `x:` fields.
    pub fn into_form_fields(self) -> Vec<(String, String)> {
        let mut fields = Vec::with_capacity(1 + self.vars.len());
        fields.push(("callback".to_string(), self.callback));
        fields.extend(self.vars);
        fields
    }
}

/// An upload callback: where OSS posts after the upload and what it sends.
///
/// Build it with [`CallbackSpec::new`] and the `with_*` methods, then call
/// [`to_fields`](CallbackSpec::to_fields), which validates everything OSS
/// would refuse with `InvalidArgument` (and a few mistakes OSS lets through,
/// such as a `${x:name}` without a value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackSpec {
    urls: Vec<String>,
    host: Option<String>,
    body: String,
    body_type: BodyType,
    sni: bool,
    vars: Vec<(String, String)>,
}

impl CallbackSpec {
    /// A callback to `url` with the body template `body`
    /// (form-urlencoded, no host override, no SNI, no custom variables).
    pub fn new(url: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            urls: vec![url.into()],
            host: None,
            body: body.into(),
            body_type: BodyType::default(),
            sni: false,
            vars: Vec::new(),
        }
    }

    /// Adds a fallback URL (OSS tries the URLs in order; at most 5).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.urls.push(url.into());
        self
    }

    /// Replaces all URLs.
    pub fn with_urls<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.urls = urls.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `callbackHost`, the `Host` header of the callback request.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Sets `callbackBodyType`.
    pub fn with_body_type(mut self, body_type: BodyType) -> Self {
        self.body_type = body_type;
        self
    }

    /// Sets `callbackSNI` (send SNI to the callback host over HTTPS).
    pub fn with_sni(mut self, sni: bool) -> Self {
        self.sni = sni;
        self
    }

    /// Adds a custom variable; `name` includes the `x:` prefix.
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// Adds several custom variables, in order.
    pub fn with_vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.vars
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// The callback URLs, in the order OSS tries them.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// `callbackHost`, if set.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The body template.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// `callbackBodyType`.
    pub fn body_type(&self) -> BodyType {
        self.body_type
    }

    /// `callbackSNI`.
    pub fn sni(&self) -> bool {
        self.sni
    }

    /// The custom variables (`x:` names), in order.
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// Checks everything [`to_fields`](Self::to_fields) checks.
    pub fn validate(&self) -> Result<(), CallbackError> {
        let used = self.validate_structure()?;
        let mut defined: Vec<&str> = Vec::with_capacity(self.vars.len());
        for (name, _) in &self.vars {
            template::check_custom_name(name)?;
            if defined.contains(&name.as_str()) {
                return Err(CallbackError::DuplicateVar { name: name.clone() });
            }
            defined.push(name);
        }
        if let Some(name) = used.iter().find(|name| !defined.contains(name)) {
            return Err(CallbackError::UndefinedVar {
                name: (*name).to_string(),
            });
        }
        if let Some(name) = defined.iter().find(|name| !used.contains(name)) {
            return Err(CallbackError::UnusedVar {
                name: (*name).to_string(),
            });
        }
        Ok(())
    }

    /// Checks URLs, host and body; returns the custom variables the body uses.
    fn validate_structure(&self) -> Result<Vec<&str>, CallbackError> {
        if self.urls.is_empty() {
            return Err(CallbackError::NoUrl);
        }
        if self.urls.len() > MAX_URLS {
            return Err(CallbackError::TooManyUrls {
                count: self.urls.len(),
            });
        }
        for url in &self.urls {
            check_url(url)?;
        }
        if let Some(host) = &self.host {
            check_host(host)?;
        }
        if self.body.is_empty() {
            return Err(CallbackError::EmptyBody);
        }
        let mut used = Vec::new();
        for piece in template::parse(&self.body)? {
            if let Piece::Var { name, .. } = piece
                && let VarRef::Custom(name) = template::classify(name)?
                && !used.contains(&name)
            {
                used.push(name);
            }
        }
        Ok(used)
    }

    /// The compact callback JSON (validated): `callbackUrl` (URLs joined by
    /// `;`), `callbackHost` (only if set), `callbackBody`, `callbackBodyType`,
    /// `callbackSNI` (JSON `true`, only when enabled).
    pub fn to_json(&self) -> Result<String, CallbackError> {
        self.validate()?;
        Ok(self.json())
    }

    fn json(&self) -> String {
        let mut map = Map::new();
        map.insert("callbackUrl".into(), Value::String(self.urls.join(";")));
        if let Some(host) = &self.host {
            map.insert("callbackHost".into(), Value::String(host.clone()));
        }
        map.insert("callbackBody".into(), Value::String(self.body.clone()));
        map.insert(
            "callbackBodyType".into(),
            Value::String(self.body_type.content_type().into()),
        );
        if self.sni {
            map.insert("callbackSNI".into(), Value::Bool(true));
        }
        Value::Object(map).to_string()
    }

    /// The validated form fields: `callback` and the `x:` variables.
    pub fn to_fields(&self) -> Result<CallbackFields, CallbackError> {
        let json = self.to_json()?;
        Ok(CallbackFields {
            callback: BASE64.encode(json.as_bytes()),
            vars: self.vars.clone(),
        })
    }

    /// Decodes a `callback` form field, as OSS (or the local endpoint) reads it.
    ///
    /// The result has no custom variables: their values travel in separate
    /// `x:` form fields. Everything else is validated as in
    /// [`validate`](Self::validate); unknown JSON keys are refused.
    pub fn from_base64(callback: &str) -> Result<Self, CallbackError> {
        let bytes = BASE64
            .decode(callback.trim().as_bytes())
            .map_err(|_| CallbackError::NotBase64)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CallbackError::NotJson {
            reason: "not UTF-8".to_string(),
        })?;
        Self::from_json(text)
    }

    /// Decodes callback JSON (the decoded `callback` field); see
    /// [`from_base64`](Self::from_base64).
    pub fn from_json(json: &str) -> Result<Self, CallbackError> {
        let value: Value = serde_json::from_str(json).map_err(|e| CallbackError::NotJson {
            reason: e.to_string(),
        })?;
        let Value::Object(map) = value else {
            return Err(CallbackError::NotJson {
                reason: "the JSON value is not an object".to_string(),
            });
        };
        let mut url = None;
        let mut host = None;
        let mut body = None;
        let mut body_type = BodyType::default();
        let mut sni = false;
        for (key, value) in map {
            match key.as_str() {
                "callbackUrl" => url = Some(string_field("callbackUrl", value)?),
                "callbackHost" => host = Some(string_field("callbackHost", value)?),
                "callbackBody" => body = Some(string_field("callbackBody", value)?),
                "callbackBodyType" => {
                    body_type = string_field("callbackBodyType", value)?.parse()?;
                }
                "callbackSNI" => {
                    sni = match value {
                        Value::Bool(b) => b,
                        Value::String(s) if s == "true" => true,
                        Value::String(s) if s == "false" => false,
                        _ => {
                            return Err(CallbackError::FieldType {
                                field: "callbackSNI",
                                expected: "a boolean",
                            });
                        }
                    }
                }
                _ => return Err(CallbackError::UnknownField { field: key }),
            }
        }
        let url = url.ok_or(CallbackError::MissingField {
            field: "callbackUrl",
        })?;
        let body = body.ok_or(CallbackError::MissingField {
            field: "callbackBody",
        })?;
        let urls = if url.is_empty() {
            Vec::new()
        } else {
            url.split(';').map(str::to_string).collect()
        };
        let spec = Self {
            urls,
            host,
            body,
            body_type,
            sni,
            vars: Vec::new(),
        };
        spec.validate_structure()?;
        Ok(spec)
    }

    /// The body OSS posts for this callback; see
    /// [`render_body`](super::render_body).
    pub fn render_body(&self, facts: &super::ObjectFacts, vars: &[(String, String)]) -> String {
        super::render_body(&self.body, self.body_type, facts, vars)
    }
}

fn string_field(field: &'static str, value: Value) -> Result<String, CallbackError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(CallbackError::FieldType {
            field,
            expected: "a string",
        }),
    }
}

/// Checks one callback URL: `http://` or `https://` (no scheme means http, as
/// in the OSS documentation's own examples), a host that is not IPv6, an
/// optional port 1–65535, printable ASCII only and no `;`.
fn check_url(url: &str) -> Result<(), CallbackError> {
    let invalid = |reason| {
        Err(CallbackError::InvalidUrl {
            url: url.to_string(),
            reason,
        })
    };
    if url.is_empty() {
        return invalid("the URL is empty");
    }
    if url.contains(';') {
        return invalid("`;` separates callback URLs; give each URL separately");
    }
    if !url.is_ascii() {
        return invalid("non-ASCII characters must be percent-encoded");
    }
    if url
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return invalid("whitespace and control characters are not allowed");
    }
    let rest = match url.find("://") {
        Some(i) => {
            let scheme = url.get(..i).unwrap_or("");
            if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
                return Err(CallbackError::UnsupportedScheme {
                    url: url.to_string(),
                    scheme: scheme.to_string(),
                });
            }
            url.get(i + 3..).unwrap_or("")
        }
        None => url,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or("");
    if authority.contains('@') {
        return invalid("user information (`user@`) is not supported");
    }
    if authority.starts_with('[') || authority.matches(':').count() > 1 {
        return Err(CallbackError::Ipv6Host {
            url: url.to_string(),
        });
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return invalid("the host is missing");
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return invalid("the host may contain only letters, digits, `-`, `.` and `_`");
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
        if !valid {
            return Err(CallbackError::InvalidPort {
                url: url.to_string(),
                port: port.to_string(),
            });
        }
    }
    Ok(())
}

/// Checks `callbackHost`: a non-empty host name, optionally with a port.
fn check_host(host: &str) -> Result<(), CallbackError> {
    let invalid = |reason| {
        Err(CallbackError::InvalidHost {
            host: host.to_string(),
            reason,
        })
    };
    if host.is_empty() {
        return invalid("it is empty; leave it unset to use the host of the URL");
    }
    if !host.is_ascii()
        || host
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return invalid("it must be printable ASCII without spaces");
    }
    if host.contains(['/', '?', '#', '@', ';']) {
        return invalid("it must be a host name (optionally with `:port`), not a URL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "http://a.example.com/cb",
            "https://a.example.com:8443/cb?x=1",
            "HTTPS://a.example.com",
            "121.43.113.8:23456/index.html",
            "http://localhost:65535",
            "http://a.example.com/p%C3%A9",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}: {:?}", check_url(ok));
        }
        let code = |url: &str| check_url(url).unwrap_err().code();
        assert_eq!(code("ftp://a.example.com/"), "CALLBACK_URL_SCHEME");
        assert_eq!(code("http://a.example.com:0/"), "CALLBACK_URL_PORT");
        assert_eq!(code("http://a.example.com:65536/"), "CALLBACK_URL_PORT");
        assert_eq!(code("http://a.example.com:/"), "CALLBACK_URL_PORT");
        assert_eq!(code("http://a.example.com:8a/"), "CALLBACK_URL_PORT");
        assert_eq!(code("http://[::1]:8080/"), "CALLBACK_URL_IPV6");
        assert_eq!(code("http://::1/"), "CALLBACK_URL_IPV6");
        assert_eq!(code("http:///cb"), "CALLBACK_URL_INVALID");
        assert_eq!(code("http://a b/"), "CALLBACK_URL_INVALID");
        assert_eq!(code("http://a/é"), "CALLBACK_URL_INVALID");
        assert_eq!(code("http://a/;http://b/"), "CALLBACK_URL_INVALID");
        assert_eq!(code("http://u:p@a/"), "CALLBACK_URL_INVALID");
        assert_eq!(code(""), "CALLBACK_URL_INVALID");
    }

    #[test]
    fn hosts() {
        assert!(check_host("oss-cn-hangzhou.aliyuncs.com").is_ok());
        assert!(check_host("app.example.com:8080").is_ok());
        for bad in ["", "a b", "http://a/", "a;b"] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn body_type_strings() {
        assert_eq!(
            "application/json".parse::<BodyType>().unwrap(),
            BodyType::Json
        );
        assert_eq!(
            "Application/X-WWW-Form-Urlencoded"
                .parse::<BodyType>()
                .unwrap(),
            BodyType::FormUrlEncoded
        );
        assert!("text/plain".parse::<BodyType>().is_err());
        assert_eq!(BodyType::Json.to_string(), "application/json");
    }
}
