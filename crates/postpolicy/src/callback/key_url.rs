//! Which public-key URLs a callback may name, decided on the parsed URL, and
//! the bounded cache of the keys fetched from them.
//!
//! A callback names the URL of the key that signed it, so whoever can make a
//! trusted host serve a PEM can sign callbacks. The check therefore compares
//! parsed URLs (scheme, host and port exactly, the path at a segment
//! boundary) and refuses every form that a fetcher or a server might read
//! differently from this check: dot segments (resolved by URL parsers and
//! servers alike), percent-encoded `.` `/` `\` `%`, backslashes, userinfo, a
//! query or a fragment, and anything not already written the way the URL
//! parser would write it. What passes is returned in that canonical form, and
//! only that form is fetched and cached.

use std::sync::{Mutex, MutexGuard, PoisonError};

use indexmap::IndexMap;
use url::Url;

use super::CallbackError;

/// The host OSS publishes its callback key on. Keys from it are always
/// fetched over https, whatever scheme the callback names.
pub const OSS_KEY_HOST: &str = "gosspublic.alicdn.com";

/// How many keys a key cache keeps; the least recently used goes first.
/// OSS uses one key; the bound keeps forged URLs from growing the cache.
pub const KEY_CACHE_CAPACITY: usize = 32;

/// The longest key URL considered (OSS's own is 53 bytes).
pub const MAX_KEY_URL_BYTES: usize = 2048;

/// One trusted prefix, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Prefix {
    /// The prefix as the URL parser writes it.
    text: String,
    scheme: String,
    host: String,
    port: u16,
    /// The path, `/` at least; a path not ending in `/` also names itself.
    path: String,
}

impl Prefix {
    fn parse(text: &str) -> Result<Self, CallbackError> {
        let invalid = |reason: String| CallbackError::InvalidKeyUrlPrefix {
            prefix: text.to_owned(),
            reason,
        };
        if let Some(reason) = raw_problem(text) {
            return Err(invalid(reason.to_owned()));
        }
        // The URL parser reads `https:///keys/` as host `keys`: ask for the
        // host to be written where it belongs.
        let authority = text
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or_default());
        if authority.is_none_or(str::is_empty) {
            return Err(invalid(
                "it is not an absolute URL with a host (`https://host/path/`)".to_owned(),
            ));
        }
        let url = Url::parse(text).map_err(|e| invalid(format!("it is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "its scheme is `{}`; keys are fetched over http or https only",
                url.scheme()
            )));
        }
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(invalid("it has no host".to_owned()));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it has user information (`user@`)".to_owned()));
        }
        Ok(Self {
            text: url.as_str().to_owned(),
            scheme: url.scheme().to_owned(),
            host: host.to_owned(),
            port,
            path: url.path().to_owned(),
        })
    }

    /// Whether the canonical `url` is under this prefix: same scheme, host
    /// and port, and the path equal to the prefix's or below it at a `/`.
    fn covers(&self, url: &Url) -> bool {
        url.scheme() == self.scheme
            && url.host_str() == Some(self.host.as_str())
            && url.port_or_known_default() == Some(self.port)
            && under(url.path(), &self.path)
    }
}

/// Whether `path` is `prefix` or lies below it at a segment boundary:
/// `/oss` covers `/oss` and `/oss/k.pem`, not `/oss-uploads/k.pem`.
fn under(path: &str, prefix: &str) -> bool {
    if prefix.ends_with('/') {
        return path.starts_with(prefix);
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// The first problem of a key URL or prefix visible in its text, before any
/// parser resolves it away (the URL parser drops tabs and newlines, turns
/// `\` into `/`, and resolves `.`, `..`, `%2e` and `%2E` segments).
fn raw_problem(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        return Some("it is empty");
    }
    if text.len() > MAX_KEY_URL_BYTES {
        return Some("it is longer than 2048 bytes");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains whitespace or a control character");
    }
    if !text.is_ascii() {
        return Some("it contains a character outside ASCII");
    }
    if text.contains('\\') {
        return Some("it contains a backslash");
    }
    if text.contains('#') {
        return Some("it has a fragment (`#`)");
    }
    if text.contains('?') {
        return Some("it has a query (`?`)");
    }
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('%') {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
            return Some("it has a `%` that is not followed by two hex digits");
        };
        if matches!(byte, b'.' | b'/' | b'\\' | b'%') || byte.is_ascii_control() {
            return Some(
                "it percent-encodes `.`, `/`, `\\`, `%` or a control character (as `%2e`, `%2f`, `%5c`, `%25`, …)",
            );
        }
    }
    let after_scheme = text
        .find("://")
        .and_then(|i| text.get(i + 3..))
        .unwrap_or(text);
    let (authority, path) = match after_scheme.find('/') {
        Some(i) => after_scheme.split_at(i),
        None => (after_scheme, ""),
    };
    if authority.contains('@') {
        return Some("it has user information (`user@`)");
    }
    // Path parameters (`..;x`) count: some servers strip them before
    // resolving dot segments.
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        let name = segment.split(';').next().unwrap_or_default();
        if name == "." || name == ".." {
            return Some("it has a `.` or `..` path segment");
        }
        if segment.is_empty() && segments.peek().is_some() {
            return Some("it has an empty path segment (`//`)");
        }
    }
    None
}

/// Which public-key URLs a callback may name. The URL is checked **before**
/// anything is fetched, otherwise an attacker could sign with his own key;
/// [`check`](Self::check) gives the canonical URL to fetch.
///
/// The default trusts only `http://gosspublic.alicdn.com/` and
/// `https://gosspublic.alicdn.com/`, where OSS publishes its key (fetched
/// over https either way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUrlPolicy {
    prefixes: Vec<Prefix>,
}

impl Default for KeyUrlPolicy {
    fn default() -> Self {
        let oss = |scheme: &str, port: u16| Prefix {
            text: format!("{scheme}://{OSS_KEY_HOST}/"),
            scheme: scheme.to_owned(),
            host: OSS_KEY_HOST.to_owned(),
            port,
            path: "/".to_owned(),
        };
        Self {
            prefixes: vec![oss("http", 80), oss("https", 443)],
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

    /// Also trusts the URLs under `prefix`, e.g. the key URL folder of a
    /// local dev endpoint: same scheme, host and port, and a path equal to
    /// the prefix's or below it at a `/` (`http://127.0.0.1:8080` trusts the
    /// whole origin; `https://k.example.com/oss` trusts `/oss/k.pem` but not
    /// `/oss-uploads/k.pem`).
    ///
    /// An error ([`CallbackError::InvalidKeyUrlPrefix`]) when `prefix` is not
    /// an http(s) URL with a host, or has user information, a query, a
    /// fragment, dot segments or percent-encoded `.` `/` `\`: a prefix that
    /// could never match is a configuration mistake, not a silent refusal.
    pub fn allow(mut self, prefix: impl AsRef<str>) -> Result<Self, CallbackError> {
        let prefix = Prefix::parse(prefix.as_ref())?;
        if !self.prefixes.contains(&prefix) {
            self.prefixes.push(prefix);
        }
        Ok(self)
    }

    /// The trusted prefixes, as the URL parser writes them
    /// (`http://127.0.0.1:8080` becomes `http://127.0.0.1:8080/`).
    pub fn prefixes(&self) -> Vec<&str> {
        self.prefixes.iter().map(|p| p.text.as_str()).collect()
    }

    /// The URL to fetch the key from when `url` may be fetched; otherwise
    /// [`CallbackError::UntrustedKeyUrl`] with the reason.
    ///
    /// `url` must be an absolute http(s) URL written in canonical form (as
    /// the URL parser writes it: lower-case scheme and host, no default port)
    /// with no userinfo, query, fragment, backslash, dot segment, empty
    /// segment or percent-encoded `.` `/` `\` `%`, under a trusted prefix.
    /// A URL on OSS's key host is returned with `https`.
    pub fn check(&self, url: &str) -> Result<String, CallbackError> {
        let untrusted = |reason: String| CallbackError::UntrustedKeyUrl {
            url: url.to_owned(),
            reason,
        };
        if let Some(reason) = raw_problem(url) {
            return Err(untrusted(reason.to_owned()));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(untrusted(
                "it does not start with `http://` or `https://` (lower case)".to_owned(),
            ));
        }
        let mut parsed =
            Url::parse(url).map_err(|e| untrusted(format!("it is not a URL ({e})")))?;
        if parsed.as_str() != url {
            return Err(untrusted(format!(
                "it is not written in canonical form (a URL parser reads it as `{}`)",
                parsed.as_str()
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(untrusted("it has user information (`user@`)".to_owned()));
        }
        if !self.prefixes.iter().any(|p| p.covers(&parsed)) {
            return Err(untrusted(
                "it is not under a trusted prefix (OSS's key host, or one added with `allow`)"
                    .to_owned(),
            ));
        }
        if parsed.host_str() == Some(OSS_KEY_HOST)
            && parsed.scheme() == "http"
            && parsed.port().is_none()
            && parsed.set_scheme("https").is_err()
        {
            return Err(untrusted("it cannot be fetched over https".to_owned()));
        }
        Ok(parsed.into())
    }

    /// Whether [`check`](Self::check) accepts `url`.
    pub fn is_trusted(&self, url: &str) -> bool {
        self.check(url).is_ok()
    }
}

/// Values by canonical key URL, at most [`KEY_CACHE_CAPACITY`] of them; the
/// least recently used goes when a new one comes. Shared by
/// [`CachedKeySource`](super::CachedKeySource) and by callers that fetch
/// asynchronously (the dev server's demo app).
pub struct KeyCache<V> {
    entries: Mutex<IndexMap<String, V>>,
    capacity: usize,
}

impl<V: Clone> Default for KeyCache<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: Clone> KeyCache<V> {
    /// An empty cache of [`KEY_CACHE_CAPACITY`] entries.
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(IndexMap::new()),
            capacity: KEY_CACHE_CAPACITY,
        }
    }

    /// The value kept for `url`, which becomes the most recently used.
    pub fn get(&self, url: &str) -> Option<V> {
        let mut entries = self.lock();
        let index = entries.get_index_of(url)?;
        let last = entries.len() - 1;
        entries.move_index(index, last);
        entries.get_index(last).map(|(_, v)| v.clone())
    }

    /// Keeps `value` for `url` as the most recently used, dropping the least
    /// recently used entry when the cache is full.
    pub fn insert(&self, url: &str, value: V) {
        let mut entries = self.lock();
        entries.shift_remove(url);
        while entries.len() >= self.capacity {
            entries.shift_remove_index(0);
        }
        entries.insert(url.to_owned(), value);
    }

    /// Forgets the value kept for `url`.
    pub fn remove(&self, url: &str) -> Option<V> {
        self.lock().shift_remove(url)
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The URLs kept, least recently used first.
    pub fn urls(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, IndexMap<String, V>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<V> std::fmt::Debug for KeyCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self
            .entries
            .lock()
            .map(|entries| entries.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("KeyCache")
            .field("urls", &urls)
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_boundaries() {
        assert!(under("/oss", "/oss"));
        assert!(under("/oss/k.pem", "/oss"));
        assert!(!under("/oss-uploads/k.pem", "/oss"));
        assert!(under("/oss/k.pem", "/oss/"));
        assert!(!under("/oss", "/oss/"));
        assert!(under("/k.pem", "/"));
    }

    #[test]
    fn cache_drops_the_least_recently_used() {
        let cache = KeyCache::new();
        for i in 0..KEY_CACHE_CAPACITY {
            cache.insert(&format!("u{i}"), i);
        }
        assert_eq!(cache.get("u0"), Some(0));
        cache.insert("new", 99);
        assert_eq!(cache.len(), KEY_CACHE_CAPACITY);
        assert_eq!(cache.get("u1"), None, "u1 was the least recently used");
        assert_eq!(cache.get("u0"), Some(0));
        assert_eq!(cache.get("new"), Some(99));
        cache.insert("u0", 7);
        assert_eq!(cache.len(), KEY_CACHE_CAPACITY);
        assert_eq!(cache.get("u0"), Some(7));
    }
}
