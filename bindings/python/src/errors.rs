//! The one place that turns errors into Python exceptions.
//!
//! The exception classes are plain Python (`postpolicy/errors.py`), imported
//! here with `import_exception!`. [`to_pyerr`] maps every core error; the few
//! argument errors of the binding itself (a naive datetime, a malformed
//! `fields` list, …) are built by the helpers below, so no other file builds
//! a `PyErr`.

use pyo3::PyTypeInfo;
use pyo3::exceptions::{PyException, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};

/// The Python classes of `postpolicy.errors`.
mod py {
    pyo3::import_exception!(postpolicy.errors, Error);
    pyo3::import_exception!(postpolicy.errors, PolicySyntaxError);
    pyo3::import_exception!(postpolicy.errors, PolicyError);
    pyo3::import_exception!(postpolicy.errors, SignatureError);
    pyo3::import_exception!(postpolicy.errors, Rejected);
    pyo3::import_exception!(postpolicy.errors, CallbackError);
    pyo3::import_exception!(postpolicy.errors, TimeRangeError);
}

/// Maps a core error to its Python exception, attributes set.
pub fn to_pyerr(py: Python<'_>, error: impl Into<postpolicy::Error>) -> PyErr {
    let error = error.into();
    let code = error.code();
    let built = match &error {
        postpolicy::Error::Syntax(errors) => syntax_error(py, errors, code),
        postpolicy::Error::Policy(e) => policy_error(py, &error.to_string(), e, code),
        postpolicy::Error::Signature(postpolicy::SignatureError::Policy(e)) => {
            policy_error(py, &error.to_string(), e, code)
        }
        postpolicy::Error::Time(_)
        | postpolicy::Error::Signature(postpolicy::SignatureError::Time(_)) => {
            instantiate::<py::TimeRangeError>(py, &error.to_string(), code, |_| Ok(()))
        }
        postpolicy::Error::Signature(_) => {
            instantiate::<py::SignatureError>(py, &error.to_string(), code, |_| Ok(()))
        }
        postpolicy::Error::Rejected(r) => rejected(py, r).map(Bound::into_any),
        postpolicy::Error::Callback(e) => {
            instantiate::<py::CallbackError>(py, &error.to_string(), code, |kw| {
                kw.set_item(
                    pyo3::intern!(py, "is_verification_failure"),
                    e.is_verification_failure(),
                )
            })
        }
        // The core's `Error` is non-exhaustive: anything newer is a plain
        // `postpolicy.Error` with its stable code until it gets a class.
        _ => instantiate::<py::Error>(py, &error.to_string(), code, |_| Ok(())),
    };
    match built {
        Ok(exception) => PyErr::from_value(exception),
        Err(e) => e,
    }
}

/// A `Rejected` exception object (not raised): `explain` returns a list of them.
pub fn rejected<'py>(py: Python<'py>, r: &postpolicy::Rejected) -> PyResult<Bound<'py, PyAny>> {
    instantiate::<py::Rejected>(py, &r.to_string(), "REJECTED", |kw| {
        kw.set_item(pyo3::intern!(py, "status"), r.status)?;
        kw.set_item(pyo3::intern!(py, "service_code"), r.service_code)?;
        kw.set_item(pyo3::intern!(py, "message"), &r.message)?;
        kw.set_item(pyo3::intern!(py, "condition_index"), r.condition_index)?;
        kw.set_item(pyo3::intern!(py, "reason"), &r.reason)
    })
}

fn syntax_error<'py>(
    py: Python<'py>,
    errors: &postpolicy::SyntaxErrors,
    code: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let detail_class = py
        .import(pyo3::intern!(py, "postpolicy.errors"))?
        .getattr(pyo3::intern!(py, "SyntaxErrorDetail"))?;
    let details = PyList::empty(py);
    for e in errors.iter() {
        let span = e.span();
        details.append(detail_class.call1((
            e.line(),
            e.column(),
            e.expected(),
            e.found(),
            span.start,
            span.end,
        ))?)?;
    }
    instantiate::<py::PolicySyntaxError>(py, &errors.to_string(), code, |kw| {
        kw.set_item(pyo3::intern!(py, "errors"), &details)
    })
}

fn policy_error<'py>(
    py: Python<'py>,
    text: &str,
    e: &postpolicy::PolicyError,
    code: &str,
) -> PyResult<Bound<'py, PyAny>> {
    instantiate::<py::PolicyError>(py, text, code, |kw| {
        kw.set_item(pyo3::intern!(py, "service_code"), e.service_code())?;
        kw.set_item(pyo3::intern!(py, "service_message"), e.service_message())?;
        kw.set_item(pyo3::intern!(py, "reason"), e.reason())
    })
}

/// `error`, caused by the exception a Python callback (a key source) raised
/// while the core ran: chained as `__cause__` when it is an `Exception`, and
/// raised itself otherwise (`KeyboardInterrupt`, `SystemExit`, …).
pub fn with_cause(py: Python<'_>, error: PyErr, raised: Option<PyErr>) -> PyErr {
    match raised {
        Some(cause) if cause.is_instance_of::<PyException>(py) => {
            error.set_cause(py, Some(cause));
            error
        }
        Some(other) => other,
        None => error,
    }
}

/// Calls exception class `T` with the message and keyword attributes.
fn instantiate<'py, T: PyTypeInfo>(
    py: Python<'py>,
    text: &str,
    code: &str,
    attributes: impl FnOnce(&Bound<'py, PyDict>) -> PyResult<()>,
) -> PyResult<Bound<'py, PyAny>> {
    let class: Bound<'py, PyType> = T::type_object(py);
    let kwargs = PyDict::new(py);
    kwargs.set_item(pyo3::intern!(py, "code"), code)?;
    attributes(&kwargs)?;
    class.call(PyTuple::new(py, [text])?, Some(&kwargs))
}

// ---- argument errors of the binding (not core errors) ----

/// `now` (or another instant) is not a `datetime.datetime`.
pub fn not_a_datetime(what: &str, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{what} must be a timezone-aware datetime.datetime, not {}",
        type_name(value)
    ))
}

/// A naive datetime: refused rather than guessed to be local time.
pub fn naive_datetime(what: &str) -> PyErr {
    PyValueError::new_err(format!(
        "{what} is a naive datetime (no tzinfo); pass an aware one, e.g. datetime.now(timezone.utc)"
    ))
}

/// A duration that does not fit (too large, or not finite).
pub fn duration_out_of_range(what: &str) -> PyErr {
    PyOverflowError::new_err(format!("{what} is out of range"))
}

/// `clock_skew` is neither a `timedelta` nor a number of seconds.
pub fn not_a_duration(what: &str, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{what} must be a datetime.timedelta or a number of seconds, not {}",
        type_name(value)
    ))
}

/// An item of a field list is not a `(name, value)` pair of strings.
pub fn not_a_pair(what: &str, index: usize, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{what}[{index}] must be a (name, value) pair of str, not {}",
        type_name(value)
    ))
}

/// `file` is not a `FileInfo`, a dict or `None`.
pub fn not_a_file(value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "file must be a FileInfo, a dict with `filename` (and optional `content_type`, `size`) or None, not {}",
        type_name(value)
    ))
}

/// A `file` dict without `filename`.
pub fn file_without_name() -> PyErr {
    PyValueError::new_err("the file dict has no `filename`")
}

/// `keys` is neither a dict nor a callable.
pub fn not_a_key_store(value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "keys must be a dict of access key id -> secret, or a callable returning the secret or None, not {}",
        type_name(value)
    ))
}

/// `sign` got something other than a `Policy`.
pub fn not_a_policy(value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "policy must be a postpolicy.Policy (build one with Policy.parse, from_json or from_base64), not {}",
        type_name(value)
    ))
}

/// `sign(callback=…)` got something other than a `CallbackSpec`.
pub fn not_a_callback_spec(value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "callback must be a postpolicy.CallbackSpec, not {}",
        type_name(value)
    ))
}

/// `CallbackSpec(url=…)` is neither a URL nor an iterable of URLs.
pub fn not_urls(value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "url must be a str or an iterable of str (the URLs OSS tries in order), not {}",
        type_name(value)
    ))
}

/// `trusted_key_urls` is neither a `KeyUrlPolicy` nor prefixes.
pub fn not_key_urls(value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "trusted_key_urls must be None, a KeyUrlPolicy, a URL prefix (str) or an iterable of them, not {}",
        type_name(value)
    ))
}

/// `key_source` is neither a `CachedKeySource` nor a callable.
pub fn not_a_key_source(value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "key_source must be a CachedKeySource or a callable (url) -> PEM text, not {}",
        type_name(value)
    ))
}

/// A key source returned something other than PEM text.
pub fn not_a_pem(value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "the key source must return the PEM text as str or bytes, not {}",
        type_name(value)
    ))
}

/// A request body (or another byte string) that is not bytes.
pub fn not_bytes(what: &str, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{what} must be bytes (the raw bytes as received), not {}",
        type_name(value)
    ))
}

/// DSL parameters that are not a mapping.
pub fn not_a_str_mapping(what: &str, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{what} must be a mapping of str to str (e.g. a dict), not {}",
        type_name(value)
    ))
}

/// A key of a str-to-str mapping that is not a `str`.
pub fn mapping_key_not_str(what: &str, key: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{what} keys must be str, not {} ({})",
        type_name(key),
        short_repr(key)
    ))
}

/// A value of a str-to-str mapping that is not a `str`.
pub fn mapping_value_not_str(
    what: &str,
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyErr {
    PyTypeError::new_err(format!(
        "{what}[{}] must be str, not {} (convert it with str() if that is what you mean)",
        short_repr(key),
        type_name(value)
    ))
}

/// Something other than an iterable of `str` (or a lone `str`).
pub fn not_strings(what: &str, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{what} must be a list of str, not {}",
        type_name(value)
    ))
}

/// `repr(value)`, cut short, for naming a key in a message.
fn short_repr(value: &Bound<'_, PyAny>) -> String {
    const MAX_CHARS: usize = 40;
    let text = value
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    if text.chars().count() > MAX_CHARS {
        let mut cut: String = text.chars().take(MAX_CHARS).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an unknown type".to_owned())
}
