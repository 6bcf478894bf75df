//! Verifying, on the application server, that a callback request came from OSS
//! (spec §6.2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest as _, Md5};
use percent_encoding::percent_decode_str;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::{Pkcs1v15Sign, RsaPublicKey};

use super::CallbackError;

/// The key URL prefixes OSS itself uses (spec §6.2).
const OSS_KEY_URL_PREFIXES: [&str; 2] = [
    "http://gosspublic.alicdn.com/",
    "https://gosspublic.alicdn.com/",
];

/// A callback request as the application server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackRequest<'a> {
    /// The HTTP method (OSS sends `POST`; not part of the signature).
    pub method: &'a str,
    /// The raw path, still percent-encoded, without the query.
    pub path: &'a str,
    /// The raw query without the `?`; `Some("")` for a bare `?`, `None` when
    /// the target has no `?` at all.
    pub query: Option<&'a str>,
    /// The headers; names are looked up case-insensitively.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The raw body bytes.
    pub body: &'a [u8],
}

impl<'a> CallbackRequest<'a> {
    /// A request from its parts.
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: Option<&'a str>,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &'a [u8],
    ) -> Self {
        Self {
            method,
            path,
            query,
            headers: headers.into_iter().collect(),
            body,
        }
    }

    /// A request from the raw request target (`/path?query`), as most
    /// frameworks expose it; the split is at the first `?`.
    pub fn from_raw_path_and_query(
        method: &'a str,
        target: &'a str,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &'a [u8],
    ) -> Self {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        Self::new(method, path, query, headers, body)
    }

    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }
}

/// The bytes OSS signs: the percent-decoded path, then `?` + the raw query if
/// the target had a `?`, then `\n`, then the raw body.
///
/// The path is decoded like Python's `unquote` (`%XX` only; `+` stays `+`;
/// a malformed `%` stays as is); the query is used exactly as received.
pub fn string_to_sign(req: &CallbackRequest<'_>) -> Vec<u8> {
    string_to_sign_parts(req.path, req.query, req.body)
}

pub(crate) fn string_to_sign_parts(path: &str, query: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = percent_decode_str(path).collect();
    if let Some(query) = query {
        out.push(b'?');
        out.extend_from_slice(query.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

pub(crate) fn md5_padding() -> Pkcs1v15Sign {
    Pkcs1v15Sign::new::<Md5>()
}

pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// An RSA public key that verifies callback signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(RsaPublicKey);

impl PublicKey {
    /// Parses a PEM public key: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, as
    /// OSS publishes it) or PKCS#1 (`BEGIN RSA PUBLIC KEY`). The reason of a
    /// failure is a sentence for a person.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        // PEM decoders want LF line ends and no surrounding blank space.
        let pem = pem.trim().replace("\r\n", "\n");
        let key = if pem.starts_with("-----BEGIN PUBLIC KEY-----") {
            RsaPublicKey::from_public_key_pem(&pem).map_err(|e| e.to_string())?
        } else if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
            RsaPublicKey::from_pkcs1_pem(&pem).map_err(|e| e.to_string())?
        } else {
            return Err(
                "expected a PEM block `-----BEGIN PUBLIC KEY-----` or `-----BEGIN RSA PUBLIC KEY-----`"
                    .to_string(),
            );
        };
        Ok(Self(key))
    }

    /// Whether `signature` is an RSA PKCS#1 v1.5 signature of MD5(`message`).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0
            .verify(md5_padding(), &md5(message), signature)
            .is_ok()
    }

    /// The modulus size in bits (OSS's own key has 512).
    pub fn bits(&self) -> usize {
        rsa::traits::PublicKeyParts::size(&self.0) * 8
    }

    pub(crate) fn from_rsa(key: RsaPublicKey) -> Self {
        Self(key)
    }
}

/// Where public keys come from. The core does no I/O: the application
/// supplies the fetch (an HTTP GET of the URL, a file, a constant…).
///
/// Implemented for closures `Fn(&str) -> Result<String, String>`.
pub trait KeySource {
    /// The PEM text of the key at `url`; `Err` holds a reason for a person.
    /// Only called for URLs the [`KeyUrlPolicy`] trusts.
    fn public_key_pem(&self, url: &str) -> Result<String, String>;

    /// The parsed key at `url`. The default fetches and parses on each call;
    /// [`CachedKeySource`] keeps the result.
    fn public_key(&self, url: &str) -> Result<Arc<PublicKey>, CallbackError> {
        let pem = self
            .public_key_pem(url)
            .map_err(|reason| CallbackError::KeyFetch {
                url: url.to_string(),
                reason,
            })?;
        PublicKey::from_pem(&pem)
            .map(Arc::new)
            .map_err(|reason| CallbackError::InvalidPublicKey {
                url: url.to_string(),
                reason,
            })
    }
}

impl<F> KeySource for F
where
    F: Fn(&str) -> Result<String, String>,
{
    fn public_key_pem(&self, url: &str) -> Result<String, String> {
        self(url)
    }
}

/// A [`KeySource`] that keeps each successfully parsed key by URL, so the key
/// is fetched once per process. Failures are not cached.
pub struct CachedKeySource<S> {
    source: S,
    keys: Mutex<HashMap<String, Arc<PublicKey>>>,
}

impl<S: KeySource> CachedKeySource<S> {
    /// Wraps `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.source
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is cached.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets every cached key.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<PublicKey>>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: KeySource> KeySource for CachedKeySource<S> {
    fn public_key_pem(&self, url: &str) -> Result<String, String> {
        self.source.public_key_pem(url)
    }

    fn public_key(&self, url: &str) -> Result<Arc<PublicKey>, CallbackError> {
        if let Some(key) = self.lock().get(url) {
            return Ok(Arc::clone(key));
        }
        // Fetch without holding the lock; two racing first calls may both fetch.
        let key = self.source.public_key(url)?;
        self.lock().insert(url.to_string(), Arc::clone(&key));
        Ok(key)
    }
}

impl<S> std::fmt::Debug for CachedKeySource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self
            .keys
            .lock()
            .map(|keys| keys.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("CachedKeySource")
            .field("cached_urls", &urls)
            .finish_non_exhaustive()
    }
}

/// Which public-key URLs a callback may name. The URL is checked **before**
/// anything is fetched, otherwise an attacker could sign with his own key.
///
/// The default trusts only `http://gosspublic.alicdn.com/` and
/// `https://gosspublic.alicdn.com/`, where OSS publishes its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUrlPolicy {
    prefixes: Vec<String>,
}

impl Default for KeyUrlPolicy {
    fn default() -> Self {
        Self {
            prefixes: OSS_KEY_URL_PREFIXES.iter().map(|p| p.to_string()).collect(),
        }
    }
}

impl KeyUrlPolicy {
    /// A policy that trusts no URL at all (add prefixes with [`allow`](Self::allow)).
    pub fn none() -> Self {
        Self {
            prefixes: Vec::new(),
        }
    }

    /// Also trusts URLs starting with `prefix`, e.g. the key URL of a local
    /// dev endpoint. A prefix that ends right after the host
    /// (`http://127.0.0.1:8080`) gets a `/`, so that it cannot match
    /// `http://127.0.0.1:80801…` or `http://127.0.0.1:8080.evil.com/`.
    pub fn allow(mut self, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        let after_scheme = prefix.find("://").map_or(0, |i| i + 3);
        if !prefix
            .get(after_scheme..)
            .is_some_and(|rest| rest.contains('/'))
        {
            prefix.push('/');
        }
        if !self.prefixes.contains(&prefix) {
            self.prefixes.push(prefix);
        }
        self
    }

    /// The trusted prefixes.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// Whether `url` may be fetched: it starts with a trusted prefix
    /// (case-sensitively) and has no whitespace or control characters.
    pub fn is_trusted(&self, url: &str) -> bool {
        !url.chars().any(|c| c.is_whitespace() || c.is_control())
            && self.prefixes.iter().any(|p| url.starts_with(p.as_str()))
    }
}

/// A callback request whose signature checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedCallback {
    /// The (trusted) URL of the key that verified the signature.
    pub public_key_url: String,
}

/// Checks that `req` was signed by OSS (spec §6.2).
///
/// In order: the `x-oss-pub-key-url` header must be present and base64, and
/// the URL in it trusted by `policy` (nothing is fetched otherwise); the
/// `authorization` header must be present and base64; the key comes from
/// `keys`; the signature must be RSA PKCS#1 v1.5 over
/// MD5([`string_to_sign`]). The method is not checked.
pub fn verify_callback(
    req: &CallbackRequest<'_>,
    keys: &dyn KeySource,
    policy: &KeyUrlPolicy,
) -> Result<VerifiedCallback, CallbackError> {
    let key_url_b64 = req
        .header("x-oss-pub-key-url")
        .ok_or(CallbackError::MissingPubKeyUrl)?;
    let key_url_bytes = decode_header(key_url_b64, "x-oss-pub-key-url")?;
    let key_url = String::from_utf8(key_url_bytes).map_err(|e| CallbackError::UntrustedKeyUrl {
        url: String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })?;
    if !policy.is_trusted(&key_url) {
        return Err(CallbackError::UntrustedKeyUrl { url: key_url });
    }
    let authorization = req
        .header("authorization")
        .ok_or(CallbackError::MissingAuthorization)?;
    let signature = decode_header(authorization, "authorization")?;
    let key = keys.public_key(&key_url)?;
    if key.verify(&string_to_sign(req), &signature) {
        Ok(VerifiedCallback {
            public_key_url: key_url,
        })
    } else {
        Err(CallbackError::BadSignature)
    }
}

fn decode_header(value: &str, header: &'static str) -> Result<Vec<u8>, CallbackError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(CallbackError::HeaderNotBase64 { header });
    }
    BASE64
        .decode(value)
        .map_err(|_| CallbackError::HeaderNotBase64 { header })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_raw_target() {
        let r = CallbackRequest::from_raw_path_and_query("POST", "/a?b=1?c", [], b"");
        assert_eq!((r.path, r.query), ("/a", Some("b=1?c")));
        let r = CallbackRequest::from_raw_path_and_query("POST", "/a?", [], b"");
        assert_eq!((r.path, r.query), ("/a", Some("")));
        let r = CallbackRequest::from_raw_path_and_query("POST", "/a", [], b"");
        assert_eq!((r.path, r.query), ("/a", None));
    }

    #[test]
    fn string_to_sign_decodes_only_the_path() {
        let r = CallbackRequest::new("POST", "/a%20b+c/%E4%B8%AD%zz", Some("q=%20+"), [], b"x");
        assert_eq!(
            string_to_sign(&r),
            "/a b+c/中%zz?q=%20+\nx".as_bytes().to_vec()
        );
        let r = CallbackRequest::new("POST", "/%FF", None, [], b"");
        assert_eq!(string_to_sign(&r), vec![b'/', 0xff, b'\n']);
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let r = CallbackRequest::new("POST", "/", None, [("Authorization", "x")], b"");
        assert_eq!(r.header("authorization"), Some("x"));
        assert_eq!(r.header("AUTHORIZATION"), Some("x"));
        assert_eq!(r.header("x-oss-pub-key-url"), None);
    }

    #[test]
    fn key_url_policy() {
        let p = KeyUrlPolicy::default();
        assert!(p.is_trusted("http://gosspublic.alicdn.com/callback_pub_key_v1.pem"));
        assert!(p.is_trusted("https://gosspublic.alicdn.com/callback_pub_key_v1.pem"));
        for bad in [
            "http://gosspublic.alicdn.com.evil.com/k.pem",
            "https://evil.com/http://gosspublic.alicdn.com/",
            "HTTP://gosspublic.alicdn.com/k.pem",
            "http://gosspublic.alicdn.com/k.pem\r\nHost: evil",
            "http://gosspublic.alicdn.com",
            "",
        ] {
            assert!(!p.is_trusted(bad), "{bad:?}");
        }
        let p = KeyUrlPolicy::default().allow("http://127.0.0.1:8080");
        assert!(p.is_trusted("http://127.0.0.1:8080/key.pem"));
        assert!(!p.is_trusted("http://127.0.0.1:80801/key.pem"));
        assert!(!p.is_trusted("http://127.0.0.1:8080.evil.com/key.pem"));
        let p = KeyUrlPolicy::none().allow("http://localhost:9000/keys/");
        assert_eq!(p.prefixes(), ["http://localhost:9000/keys/"]);
        assert!(!p.is_trusted("http://gosspublic.alicdn.com/callback_pub_key_v1.pem"));
    }

    #[test]
    fn rejects_non_pem_keys() {
        assert!(PublicKey::from_pem("not a key").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
    }
}
