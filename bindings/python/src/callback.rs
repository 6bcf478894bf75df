//! Upload callbacks: `CallbackSpec`, `verify_callback` with `KeyUrlPolicy`,
//! `CachedKeySource` and `VerifiedCallback`, and the sending side
//! `CallbackSigner`.
//!
//! Verifying asks the core which key URL the request names (checked against
//! the `KeyUrlPolicy` before anything is fetched), fetches that key with the
//! Python callable (`url -> PEM`) unless the cache has it, and verifies once
//! with it: the callable runs here, not inside the core, so what it raises
//! stays an ordinary Python exception.

use std::sync::Arc;

use postpolicy::callback::{
    BodyType, CallbackError, CallbackRequest, CallbackSigner, CallbackSpec, KeyCache, KeySource,
    KeyUrlPolicy, PublicKey, VerifiedCallback, trusted_key_url,
    verify_callback as core_verify_callback,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyDict, PyString, PyType};

use crate::convert;
use crate::errors::{self, to_pyerr};

/// What `CallbackSpec(url, …)` takes: a URL, or the URLs OSS tries in order.
fn urls(value: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if value.is_instance_of::<PyString>() {
        return Ok(vec![value.extract()?]);
    }
    let Ok(items) = value.try_iter() else {
        return Err(errors::not_urls(value));
    };
    let mut out = Vec::new();
    for item in items {
        let item = item?;
        if !item.is_instance_of::<PyString>() {
            return Err(errors::not_urls(&item));
        }
        out.push(item.extract()?);
    }
    Ok(out)
}

/// Custom variables: a dict or `(name, value)` pairs, in order; `None` is none.
fn vars(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    match value.filter(|v| !v.is_none()) {
        Some(v) => convert::pairs(v, "vars"),
        None => Ok(Vec::new()),
    }
}

/// An upload callback: where OSS posts after the upload (`url`, or up to five
/// URLs tried in order) and the body template it sends (`${object}`,
/// `${size}`, …, `${x:name}`), with the custom variables `vars` (`x:` names).
///
/// Everything OSS would refuse is checked when the spec is made (raises
/// `CallbackError`). `to_fields()` gives the form fields; pass the spec to
/// `OssSigner.sign(policy, callback=spec)` to sign them into a form.
#[pyclass(
    name = "CallbackSpec",
    module = "postpolicy._native",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyCallbackSpec(pub CallbackSpec);

impl PyCallbackSpec {
    /// The spec with `vars`, validated when they are given.
    fn decoded(
        py: Python<'_>,
        decoded: Result<CallbackSpec, CallbackError>,
        vars: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let spec = decoded.map_err(|e| to_pyerr(py, e))?;
        if vars.is_none_or(|v| v.is_none()) {
            return Ok(Self(spec));
        }
        let spec = spec.with_vars(self::vars(vars)?);
        spec.validate().map_err(|e| to_pyerr(py, e))?;
        Ok(Self(spec))
    }
}

#[pymethods]
impl PyCallbackSpec {
    #[new]
    #[pyo3(signature = (url, body, body_type="application/x-www-form-urlencoded", host=None, vars=None, sni=false))]
    fn new(
        py: Python<'_>,
        url: &Bound<'_, PyAny>,
        body: &str,
        body_type: &str,
        host: Option<&str>,
        vars: Option<&Bound<'_, PyAny>>,
        sni: bool,
    ) -> PyResult<Self> {
        let body_type: BodyType = body_type.parse().map_err(|e| to_pyerr(py, e))?;
        let mut spec = CallbackSpec::new("", body)
            .with_urls(urls(url)?)
            .with_body_type(body_type)
            .with_sni(sni)
            .with_vars(self::vars(vars)?);
        if let Some(host) = host {
            spec = spec.with_host(host);
        }
        spec.validate().map_err(|e| to_pyerr(py, e))?;
        Ok(Self(spec))
    }

    /// Decodes a `callback` form field (base64 of the callback JSON). The
    /// custom variables travel as separate `x:` fields: give them as `vars`
    /// to have them checked against the body too.
    #[classmethod]
    #[pyo3(signature = (callback, vars=None))]
    fn from_base64(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        callback: &str,
        vars: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Self::decoded(py, CallbackSpec::from_base64(callback), vars)
    }

    /// Decodes the callback JSON (the decoded `callback` field); see
    /// `from_base64`.
    #[classmethod]
    #[pyo3(signature = (text, vars=None))]
    fn from_json(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        text: &str,
        vars: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Self::decoded(py, CallbackSpec::from_json(text), vars)
    }

    /// The form fields: `callback` (base64 of the callback JSON) first, then
    /// the `x:` variables, in order.
    fn to_fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let fields = self.0.to_fields().map_err(|e| to_pyerr(py, e))?;
        let out = PyDict::new(py);
        for (name, value) in fields.into_form_fields() {
            out.set_item(name, value)?;
        }
        Ok(out)
    }

    /// The compact callback JSON (`callbackUrl`, `callbackHost` when set,
    /// `callbackBody`, `callbackBodyType`, `callbackSNI` when true).
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        self.0.to_json().map_err(|e| to_pyerr(py, e))
    }

    /// The callback URLs, in the order OSS tries them.
    #[getter]
    fn urls(&self) -> Vec<String> {
        self.0.urls().to_vec()
    }

    /// The body template.
    #[getter]
    fn body(&self) -> &str {
        self.0.body()
    }

    /// `"application/x-www-form-urlencoded"` or `"application/json"`.
    #[getter]
    fn body_type(&self) -> &'static str {
        self.0.body_type().content_type()
    }

    /// `callbackHost`, or `None` for the host of the URL.
    #[getter]
    fn host(&self) -> Option<&str> {
        self.0.host()
    }

    /// `callbackSNI`.
    #[getter]
    fn sni(&self) -> bool {
        self.0.sni()
    }

    /// The custom variables (`x:` names), in order.
    #[getter]
    fn vars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (name, value) in self.0.vars() {
            out.set_item(name, value)?;
        }
        Ok(out)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let text = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        let urls = match self.0.urls() {
            [one] => text(one)?,
            many => format!(
                "[{}]",
                many.iter()
                    .map(|u| text(u))
                    .collect::<PyResult<Vec<_>>>()?
                    .join(", ")
            ),
        };
        let mut out = format!("CallbackSpec({urls}, {}", text(self.0.body())?);
        if self.0.body_type() != BodyType::default() {
            out.push_str(&format!(", body_type={}", text(self.body_type())?));
        }
        if let Some(host) = self.0.host() {
            out.push_str(&format!(", host={}", text(host)?));
        }
        if !self.0.vars().is_empty() {
            out.push_str(&format!(", vars={}", self.vars(py)?.repr()?));
        }
        if self.0.sni() {
            out.push_str(", sni=True");
        }
        out.push(')');
        Ok(out)
    }
}

// ---- verifying -----------------------------------------------------------------

/// Asks a Python fetch function `(url) -> PEM text` (`str` or UTF-8
/// `bytes`) for the key at `url`: the text, or the reason it failed with what
/// the function raised (the cause of the `CALLBACK_KEY_FETCH_FAILED` error).
fn fetch_pem(fetch: &Bound<'_, PyAny>, url: &str) -> Result<String, (String, Option<PyErr>)> {
    let answer = fetch.call1((url,)).and_then(|pem| {
        if let Ok(text) = pem.extract::<String>() {
            return Ok(Ok(text));
        }
        match pem.extract::<PyBackedBytes>() {
            Ok(bytes) => Ok(String::from_utf8(bytes.to_vec())
                .map_err(|_| "the key source returned bytes that are not UTF-8".to_owned())),
            Err(_) => Err(errors::not_a_pem(&pem)),
        }
    });
    match answer {
        Ok(pem) => pem.map_err(|reason| (reason, None)),
        Err(raised) => Err((raised.to_string(), Some(raised))),
    }
}

/// A key source that knows one answer: the PEM text fetched for the URL a
/// callback names (or why it could not be had), so the core turns it into a
/// key, or into its `CALLBACK_KEY_FETCH_FAILED` / `CALLBACK_INVALID_PUBLIC_KEY`
/// error, by its own rules.
struct Fetched(Result<String, String>);

impl KeySource for Fetched {
    fn public_key_pem(&self, _url: &str) -> Result<String, String> {
        self.0.clone()
    }
}

/// A key source holding the key already found for the request's URL.
struct Known(Arc<PublicKey>);

impl KeySource for Known {
    fn public_key_pem(&self, url: &str) -> Result<String, String> {
        Err(format!("no key was fetched for {url}"))
    }

    fn public_key(&self, _url: &str) -> Result<Arc<PublicKey>, CallbackError> {
        Ok(Arc::clone(&self.0))
    }
}

/// Keeps each public key a fetch function returned, parsed, by its canonical
/// URL, so a key is fetched once per process; at most 32 keys (the least
/// recently used goes); failures are not kept.
///
/// `fetch(url)` returns the PEM text (`str` or `bytes`) and raises on
/// failure. `postpolicy.default_key_source` is one of these around
/// `postpolicy.fetch_public_key`.
#[pyclass(name = "CachedKeySource", module = "postpolicy._native", frozen)]
pub struct PyCachedKeySource {
    fetch: Py<PyAny>,
    keys: KeyCache<Arc<PublicKey>>,
}

impl std::fmt::Debug for PyCachedKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedKeySource")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

#[pymethods]
impl PyCachedKeySource {
    #[new]
    fn new(fetch: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !fetch.is_callable() {
            return Err(errors::not_a_key_source(fetch));
        }
        Ok(Self {
            fetch: fetch.clone().unbind(),
            keys: KeyCache::new(),
        })
    }

    /// The wrapped fetch function.
    #[getter]
    fn fetch(&self, py: Python<'_>) -> Py<PyAny> {
        self.fetch.clone_ref(py)
    }

    /// Forgets every cached key.
    fn clear(&self) {
        self.keys.clear();
    }

    /// The number of cached keys.
    fn __len__(&self) -> usize {
        self.keys.len()
    }

    fn __repr__(&self) -> String {
        format!("CachedKeySource(<{} cached keys>)", self.keys.len())
    }
}

/// Which public-key URLs a callback may name; checked on the parsed URL
/// before anything is fetched. `KeyUrlPolicy()` trusts only where OSS
/// publishes its key (`http(s)://gosspublic.alicdn.com/`, fetched over
/// https); `allow(prefix)` returns a policy that also trusts the URLs under
/// `prefix` (e.g. a local endpoint's key folder); `KeyUrlPolicy.none()`
/// trusts nothing.
#[pyclass(
    name = "KeyUrlPolicy",
    module = "postpolicy._native",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyKeyUrlPolicy(KeyUrlPolicy);

#[pymethods]
impl PyKeyUrlPolicy {
    #[new]
    fn new() -> Self {
        Self(KeyUrlPolicy::default())
    }

    /// A policy that trusts no URL (add prefixes with `allow`).
    #[classmethod]
    fn none(_cls: &Bound<'_, PyType>) -> Self {
        Self(KeyUrlPolicy::none())
    }

    /// This policy, also trusting the URLs under `prefix` (same scheme, host
    /// and port; the path at a `/` boundary). Raises `CallbackError`
    /// (`CALLBACK_KEY_URL_PREFIX`) when `prefix` is not an http(s) URL.
    fn allow(&self, py: Python<'_>, prefix: &str) -> PyResult<Self> {
        self.0
            .clone()
            .allow(prefix)
            .map(Self)
            .map_err(|e| to_pyerr(py, e))
    }

    /// The trusted prefixes, as a URL parser writes them.
    #[getter]
    fn prefixes(&self) -> Vec<String> {
        self.0.prefixes().into_iter().map(str::to_owned).collect()
    }

    /// Whether a callback naming `url` as its key URL may be verified.
    fn is_trusted(&self, url: &str) -> bool {
        self.0.is_trusted(url)
    }

    /// The URL a key named `url` is fetched from (canonical; https for OSS's
    /// key host), or raises `CallbackError` (`CALLBACK_UNTRUSTED_KEY_URL`)
    /// with the reason.
    fn check(&self, py: Python<'_>, url: &str) -> PyResult<String> {
        self.0.check(url).map_err(|e| to_pyerr(py, e))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let prefixes = pyo3::types::PyList::new(py, self.0.prefixes())?;
        Ok(format!("KeyUrlPolicy(prefixes={})", prefixes.repr()?))
    }
}

/// `trusted_key_urls`: `None` (OSS's own), a `KeyUrlPolicy`, or prefixes
/// trusted in addition to OSS's own (one `str` or an iterable of them).
fn key_url_policy(value: Option<&Bound<'_, PyAny>>) -> PyResult<KeyUrlPolicy> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(KeyUrlPolicy::default());
    };
    if let Ok(policy) = value.cast::<PyKeyUrlPolicy>() {
        return Ok(policy.get().0.clone());
    }
    let py = value.py();
    if value.is_instance_of::<PyString>() {
        return KeyUrlPolicy::default()
            .allow(value.extract::<String>()?)
            .map_err(|e| to_pyerr(py, e));
    }
    let Ok(items) = value.try_iter() else {
        return Err(errors::not_key_urls(value));
    };
    let mut policy = KeyUrlPolicy::default();
    for item in items {
        let item = item?;
        if !item.is_instance_of::<PyString>() {
            return Err(errors::not_key_urls(&item));
        }
        policy = policy
            .allow(item.extract::<String>()?)
            .map_err(|e| to_pyerr(py, e))?;
    }
    Ok(policy)
}

/// The request headers: a dict, anything with `items()` (Flask's
/// `request.headers`, `http.server`'s `self.headers`, …) or `(name, value)`
/// pairs.
fn headers(value: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if value.is_instance_of::<PyDict>() || value.is_instance_of::<PyString>() {
        return convert::pairs(value, "headers");
    }
    let py = value.py();
    match value.getattr(intern!(py, "items")) {
        Ok(items) if items.is_callable() => convert::pairs(&items.call0()?, "headers"),
        _ => convert::pairs(value, "headers"),
    }
}

/// Raw bytes: `bytes` or `bytearray` (a `str` is refused: a signature covers
/// bytes, and guessing an encoding would break it).
fn raw_bytes(value: &Bound<'_, PyAny>, what: &str) -> PyResult<PyBackedBytes> {
    if value.is_instance_of::<PyString>() {
        return Err(errors::not_bytes(what, value));
    }
    value
        .extract::<PyBackedBytes>()
        .map_err(|_| errors::not_bytes(what, value))
}

/// A callback request whose signature checked out: `public_key_url` is the
/// canonical URL of the key that verified it (https for OSS's key host).
#[pyclass(
    name = "VerifiedCallback",
    module = "postpolicy._native",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyVerifiedCallback(VerifiedCallback);

#[pymethods]
impl PyVerifiedCallback {
    #[getter]
    fn public_key_url(&self) -> &str {
        &self.0.public_key_url
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "VerifiedCallback(public_key_url={})",
            PyString::new(py, &self.0.public_key_url).repr()?
        ))
    }
}

/// The key for the canonical `url`: kept by a `CachedKeySource`, or fetched
/// by the Python function (kept afterwards when the source caches). What the
/// function raises is the cause of the error, or propagates as it is when it
/// is not an `Exception` (`KeyboardInterrupt`, …).
fn key_for(py: Python<'_>, key_source: &Bound<'_, PyAny>, url: &str) -> PyResult<Arc<PublicKey>> {
    let cached = key_source.cast::<PyCachedKeySource>().ok();
    let fetch = match &cached {
        Some(cached) => {
            if let Some(key) = cached.get().keys.get(url) {
                return Ok(key);
            }
            cached.get().fetch.bind(py).clone()
        }
        None if key_source.is_callable() => key_source.clone(),
        None => return Err(errors::not_a_key_source(key_source)),
    };
    let (pem, raised) = match fetch_pem(&fetch, url) {
        Ok(pem) => (Ok(pem), None),
        Err((reason, raised)) => (Err(reason), raised),
    };
    let key = Fetched(pem)
        .public_key(url)
        .map_err(|e| errors::with_cause(py, to_pyerr(py, e), raised))?;
    if let Some(cached) = cached {
        cached.get().keys.insert(url, Arc::clone(&key));
    }
    Ok(key)
}

/// Checks that a callback request was signed by OSS (docs/oss.md#callback-signature) and returns
/// `VerifiedCallback`, or raises `CallbackError`.
///
/// `path` is the raw (still percent-encoded) path, `query` the raw query
/// without `?` (`None` when the request target has no `?`), `headers` a dict,
/// a headers object with `items()` or `(name, value)` pairs, `body` the raw
/// bytes. `key_source` is a `CachedKeySource` or a callable `(url) -> PEM`;
/// it is called only for key URLs that `trusted_key_urls` trusts (`None`:
/// OSS's own; a `KeyUrlPolicy`; or prefixes trusted in addition).
#[pyfunction]
#[pyo3(signature = (method, path, query, headers, body, key_source, trusted_key_urls=None))]
#[allow(clippy::too_many_arguments)]
pub fn verify_callback(
    py: Python<'_>,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
    key_source: &Bound<'_, PyAny>,
    trusted_key_urls: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyVerifiedCallback> {
    let headers = self::headers(headers)?;
    let body = raw_bytes(body, "body")?;
    let policy = key_url_policy(trusted_key_urls)?;
    if !(key_source.is_instance_of::<PyCachedKeySource>() || key_source.is_callable()) {
        return Err(errors::not_a_key_source(key_source));
    }
    let request = CallbackRequest::new(
        method,
        path,
        query,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &body,
    );
    // Which key, checked against the trusted prefixes before anything is
    // fetched; then the key, from the cache or from Python; then one
    // verification with it.
    let url = trusted_key_url(&request, &policy).map_err(|e| to_pyerr(py, e))?;
    let key = key_for(py, key_source, &url)?;
    core_verify_callback(&request, &Known(key), &policy)
        .map(PyVerifiedCallback)
        .map_err(|e| to_pyerr(py, e))
}

/// The bytes OSS signs for a callback request: the percent-decoded `path`,
/// then `?` and the raw `query` when the target had a `?`, then `\n`, then
/// the raw `body`.
#[pyfunction]
#[pyo3(signature = (path, query, body))]
pub fn callback_string_to_sign<'py>(
    py: Python<'py>,
    path: &str,
    query: Option<&str>,
    body: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let body = raw_bytes(body, "body")?;
    let request = CallbackRequest::new("POST", path, query, [], &body);
    Ok(pyo3::types::PyBytes::new(
        py,
        &postpolicy::callback::string_to_sign(&request),
    ))
}

// ---- signing (the sending side) ---------------------------------------------------

/// Signs callback requests as OSS does (RSA PKCS#1 v1.5 over MD5), with a
/// local private key: for a local dev endpoint and for tests.
#[pyclass(name = "CallbackSigner", module = "postpolicy._native", frozen)]
#[derive(Debug)]
pub struct PyCallbackSigner(CallbackSigner);

#[pymethods]
impl PyCallbackSigner {
    /// From a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`); raises `CallbackError` otherwise.
    #[classmethod]
    fn from_pem(_cls: &Bound<'_, PyType>, py: Python<'_>, pem: &str) -> PyResult<Self> {
        CallbackSigner::from_pem(pem)
            .map(Self)
            .map_err(|e| to_pyerr(py, e))
    }

    /// The public key as `BEGIN PUBLIC KEY` PEM: what the key URL serves.
    #[getter]
    fn public_key_pem(&self) -> &str {
        self.0.public_key_pem()
    }

    /// The `authorization` header of a callback to `path` (raw, still
    /// percent-encoded) with `query` (raw, without `?`; `None` when there is
    /// no `?`) and `body` (bytes).
    #[pyo3(signature = (path, query, body))]
    fn sign(
        &self,
        py: Python<'_>,
        path: &str,
        query: Option<&str>,
        body: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        let body = raw_bytes(body, "body")?;
        self.0.sign(path, query, &body).map_err(|e| to_pyerr(py, e))
    }

    /// Both signature headers, `authorization` and `x-oss-pub-key-url` (the
    /// base64 of `public_key_url`), as a dict.
    #[pyo3(signature = (public_key_url, path, query, body))]
    fn headers<'py>(
        &self,
        py: Python<'py>,
        public_key_url: &str,
        path: &str,
        query: Option<&str>,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let body = raw_bytes(body, "body")?;
        let headers = self
            .0
            .headers(public_key_url, path, query, &body)
            .map_err(|e| to_pyerr(py, e))?;
        let out = PyDict::new(py);
        for (name, value) in headers {
            out.set_item(name, value)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!("CallbackSigner(bits={})", self.0.public_key().bits())
    }
}
