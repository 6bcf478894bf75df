//! Verifying, on the application server, that a callback request came from OSS
//! (docs/oss.md#callback-signature).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest as _, Md5};
use percent_encoding::percent_decode_str;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::{Pkcs1v15Sign, RsaPublicKey};

use super::CallbackError;
use super::key_url::{KeyCache, KeyUrlPolicy};

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
    /// Only called with the canonical form of a URL the [`KeyUrlPolicy`]
    /// trusts.
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

/// A [`KeySource`] that keeps each successfully parsed key by its canonical
/// URL (the one [`KeyUrlPolicy::check`] gives), at most
/// [`KEY_CACHE_CAPACITY`](super::KEY_CACHE_CAPACITY) of them, least recently
/// used going first, so a key is fetched once per process and forged URLs
/// cannot grow the cache. Failures are not cached.
pub struct CachedKeySource<S> {
    source: S,
    keys: KeyCache<Arc<PublicKey>>,
}

impl<S: KeySource> CachedKeySource<S> {
    /// Wraps `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            keys: KeyCache::new(),
        }
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.source
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is cached.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Forgets every cached key.
    pub fn clear(&self) {
        self.keys.clear();
    }
}

impl<S: KeySource> KeySource for CachedKeySource<S> {
    fn public_key_pem(&self, url: &str) -> Result<String, String> {
        self.source.public_key_pem(url)
    }

    fn public_key(&self, url: &str) -> Result<Arc<PublicKey>, CallbackError> {
        if let Some(key) = self.keys.get(url) {
            return Ok(key);
        }
        // Fetch without holding the lock; two racing first calls may both fetch.
        let key = self.source.public_key(url)?;
        self.keys.insert(url, Arc::clone(&key));
        Ok(key)
    }
}

impl<S> std::fmt::Debug for CachedKeySource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedKeySource")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// A callback request whose signature checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedCallback {
    /// The canonical URL of the key that verified the signature (https for
    /// OSS's key host).
    pub public_key_url: String,
}

/// The canonical URL of the key that must verify `req`, after the checks
/// [`verify_callback`] makes before it asks for a key: the
/// `x-oss-pub-key-url` header is present, base64 and UTF-8, the URL in it
/// passes `policy` ([`KeyUrlPolicy::check`]), and the `authorization` header
/// is present and base64. For callers that fetch the key themselves
/// (asynchronously) and then call [`verify_callback`] with it.
pub fn trusted_key_url(
    req: &CallbackRequest<'_>,
    policy: &KeyUrlPolicy,
) -> Result<String, CallbackError> {
    checked_headers(req, policy).map(|(url, _)| url)
}

/// The canonical key URL and the decoded signature.
fn checked_headers(
    req: &CallbackRequest<'_>,
    policy: &KeyUrlPolicy,
) -> Result<(String, Vec<u8>), CallbackError> {
    let key_url_b64 = req
        .header("x-oss-pub-key-url")
        .ok_or(CallbackError::MissingPubKeyUrl)?;
    let key_url_bytes = decode_header(key_url_b64, "x-oss-pub-key-url")?;
    let key_url = String::from_utf8(key_url_bytes).map_err(|e| CallbackError::UntrustedKeyUrl {
        url: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        reason: "it is not UTF-8".to_owned(),
    })?;
    let key_url = policy.check(&key_url)?;
    let authorization = req
        .header("authorization")
        .ok_or(CallbackError::MissingAuthorization)?;
    let signature = decode_header(authorization, "authorization")?;
    Ok((key_url, signature))
}

/// Checks that `req` was signed by OSS (docs/oss.md#callback-signature).
///
/// In order: the `x-oss-pub-key-url` header must be present and base64, and
/// the URL in it trusted by `policy` (nothing is fetched otherwise); the
/// `authorization` header must be present and base64; the key comes from
/// `keys`, asked for the canonical URL [`KeyUrlPolicy::check`] gives; the
/// signature must be RSA PKCS#1 v1.5 over MD5([`string_to_sign`]). The
/// method is not checked.
pub fn verify_callback(
    req: &CallbackRequest<'_>,
    keys: &dyn KeySource,
    policy: &KeyUrlPolicy,
) -> Result<VerifiedCallback, CallbackError> {
    let (key_url, signature) = checked_headers(req, policy)?;
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
    fn rejects_non_pem_keys() {
        assert!(PublicKey::from_pem("not a key").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
    }
}
