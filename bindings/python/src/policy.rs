//! `Policy` and lint `Diagnostic`.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};

use crate::convert;
use crate::errors::to_pyerr;

/// An upload policy: an expiration and an ordered list of conditions.
///
/// Build one with `Policy.parse` (DSL, with `params` for request data),
/// `Policy.builder()`, `Policy.from_json` or `Policy.from_base64`; print it
/// with `to_dsl` or `to_json`.
#[pyclass(
    name = "Policy",
    module = "postpolicy._native",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyPolicy(pub postpolicy::Policy);

#[pymethods]
impl PyPolicy {
    /// Parses the policy DSL, its `{name}` placeholders filled from `params`
    /// (a mapping of str to str) as values, never as policy text; raises
    /// `PolicySyntaxError` listing every error.
    #[classmethod]
    #[pyo3(signature = (source, params=None))]
    fn parse(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        source: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let params = match params.filter(|p| !p.is_none()) {
            Some(p) => convert::string_mapping(p, "params")?,
            None => Vec::new(),
        };
        postpolicy::Policy::parse_with(source, params)
            .map(Self)
            .map_err(|e| to_pyerr(py, e))
    }

    /// A builder for a policy written in code.
    #[classmethod]
    fn builder(_cls: &Bound<'_, PyType>) -> PyPolicyBuilder {
        PyPolicyBuilder(postpolicy::Policy::builder())
    }

    /// Parses policy JSON as the services accept it; raises `PolicyError`.
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, py: Python<'_>, text: &str) -> PyResult<Self> {
        postpolicy::Policy::from_json(text)
            .map(Self)
            .map_err(|e| to_pyerr(py, e))
    }

    /// Decodes a `policy` form field (base64 of the policy JSON).
    #[classmethod]
    fn from_base64(_cls: &Bound<'_, PyType>, py: Python<'_>, policy_b64: &str) -> PyResult<Self> {
        postpolicy::Policy::from_base64(policy_b64)
            .map(Self)
            .map_err(|e| to_pyerr(py, e))
    }

    /// The canonical DSL text (parses back to an equal policy).
    fn to_dsl(&self) -> String {
        self.0.to_dsl()
    }

    /// Compact policy JSON; a relative or missing expiration resolves against
    /// `now` (default: the current time).
    #[pyo3(signature = (now=None))]
    fn to_json(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
        self.0
            .to_json(convert::now_or_clock(now)?)
            .map_err(|e| to_pyerr(py, e))
    }

    /// Errors and warnings as if the policy were signed at `now` with the
    /// signer's `key` option (linted as the key condition the signer adds).
    #[pyo3(signature = (now=None, key=None))]
    fn lint(
        &self,
        now: Option<&Bound<'_, PyAny>>,
        key: Option<&str>,
    ) -> PyResult<Vec<PyDiagnostic>> {
        let now = convert::now_or_clock(now)?;
        Ok(self
            .0
            .lint_with_key(key, now)
            .into_iter()
            .map(PyDiagnostic)
            .collect())
    }

    /// When the policy expires if signed at `now` (default lifetime: 1 hour).
    #[pyo3(signature = (now=None))]
    fn expires_at<'py>(
        &self,
        py: Python<'py>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = convert::now_or_clock(now)?;
        let at = self.0.expires_at(now).map_err(|e| to_pyerr(py, e))?;
        convert::to_datetime(py, at)
    }

    /// The number of conditions.
    fn __len__(&self) -> usize {
        self.0.conditions.len()
    }

    fn __str__(&self) -> String {
        self.0.to_dsl()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let text = PyString::new(py, &self.0.to_dsl());
        Ok(format!("Policy.parse({})", text.repr()?))
    }
}

/// Builds a `Policy` condition by condition, each method adding what the
/// equivalent DSL statement would, in call order; the methods return the
/// builder, so they chain. `build()` raises `PolicyError` for input that
/// makes no sensible policy (min above max, an empty field name, …).
#[pyclass(name = "PolicyBuilder", module = "postpolicy._native")]
#[derive(Debug)]
pub struct PyPolicyBuilder(postpolicy::PolicyBuilder);

impl PyPolicyBuilder {
    fn with(
        mut slf: PyRefMut<'_, Self>,
        step: impl FnOnce(postpolicy::PolicyBuilder) -> postpolicy::PolicyBuilder,
    ) -> PyRefMut<'_, Self> {
        slf.0 = step(std::mem::take(&mut slf.0));
        slf
    }
}

#[pymethods]
impl PyPolicyBuilder {
    /// `expires in …`: a `timedelta` or whole seconds from signing.
    fn expires_in<'py>(
        slf: PyRefMut<'py, Self>,
        lifetime: &Bound<'py, PyAny>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let lifetime = convert::duration(lifetime, "lifetime")?
            .to_std()
            .map_err(|_| crate::errors::duration_out_of_range("lifetime"))?;
        Ok(Self::with(slf, |b| b.expires_in(lifetime)))
    }

    /// `expires at …`: an aware datetime.
    fn expires_at<'py>(
        slf: PyRefMut<'py, Self>,
        at: &Bound<'py, PyAny>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let at = convert::instant(at, "at")?;
        Ok(Self::with(slf, |b| b.expires_at(at)))
    }

    /// `key starts-with prefix`.
    fn key_prefix(slf: PyRefMut<'_, Self>, prefix: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.key_prefix(prefix))
    }

    /// `key = key`.
    fn key(slf: PyRefMut<'_, Self>, key: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.key(key))
    }

    /// `content-type = content_type`.
    fn content_type(slf: PyRefMut<'_, Self>, content_type: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.content_type(content_type))
    }

    /// `content-type starts-with prefix`.
    fn content_type_prefix(slf: PyRefMut<'_, Self>, prefix: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.content_type_prefix(prefix))
    }

    /// `content-type in [...]` (a list of str).
    fn content_types<'py>(
        slf: PyRefMut<'py, Self>,
        types: &Bound<'py, PyAny>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let types = convert::strings(types, "types")?;
        Ok(Self::with(slf, |b| b.content_types(types)))
    }

    /// `content-length min..max` (bytes, inclusive).
    fn size(slf: PyRefMut<'_, Self>, min: u64, max: u64) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.size(min, max))
    }

    /// `name = value`: an exact form field.
    fn field<'py>(slf: PyRefMut<'py, Self>, name: &str, value: String) -> PyRefMut<'py, Self> {
        Self::with(slf, |b| b.field(name, value))
    }

    /// `x-oss-meta-…` / `x-amz-meta-…` = value (the whole field name).
    fn metadata<'py>(slf: PyRefMut<'py, Self>, name: &str, value: String) -> PyRefMut<'py, Self> {
        Self::with(slf, |b| b.metadata(name, value))
    }

    /// The policy; raises `PolicyError` for the first problem met. The
    /// builder stays usable.
    fn build(&self, py: Python<'_>) -> PyResult<PyPolicy> {
        self.0
            .clone()
            .build()
            .map(PyPolicy)
            .map_err(|e| to_pyerr(py, e))
    }
}

/// One lint finding: a stable `code`, a `severity` (`"error"` or
/// `"warning"`), a `message`, and where it applies: the condition index and,
/// for a policy parsed from DSL, the byte `span` of that condition.
#[pyclass(
    name = "Diagnostic",
    module = "postpolicy._native",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyDiagnostic(pub postpolicy::Diagnostic);

#[pymethods]
impl PyDiagnostic {
    #[getter]
    fn code(&self) -> &'static str {
        self.0.code
    }

    #[getter]
    fn severity(&self) -> String {
        self.0.severity.to_string()
    }

    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    #[getter]
    fn condition_index(&self) -> Option<usize> {
        self.0.condition_index
    }

    #[getter]
    fn span(&self) -> Option<(usize, usize)> {
        self.0.span.map(|s| (s.start, s.end))
    }

    #[getter]
    fn is_error(&self) -> bool {
        self.0.severity == postpolicy::Severity::Error
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Diagnostic(code='{}', severity='{}', condition_index={}, message={})",
            self.0.code,
            self.0.severity,
            self.0
                .condition_index
                .map_or_else(|| "None".to_owned(), |i| i.to_string()),
            PyString::new(py, &self.0.message).repr()?
        ))
    }
}
