//! `Policy` and lint `Diagnostic`.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};

use crate::convert;
use crate::errors::to_pyerr;

/// An upload policy: an expiration and an ordered list of conditions.
///
/// Build one with `Policy.parse` (DSL), `Policy.from_json` or
/// `Policy.from_base64`; print it with `to_dsl` or `to_json`.
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
    /// Parses the policy DSL; raises `PolicySyntaxError` listing every error.
    #[classmethod]
    fn parse(_cls: &Bound<'_, PyType>, py: Python<'_>, source: &str) -> PyResult<Self> {
        postpolicy::Policy::parse(source)
            .map(Self)
            .map_err(|e| to_pyerr(py, e))
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

    /// Errors and warnings as if the policy were signed at `now`.
    #[pyo3(signature = (now=None))]
    fn lint(&self, now: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<PyDiagnostic>> {
        let now = convert::now_or_clock(now)?;
        Ok(self.0.lint(now).into_iter().map(PyDiagnostic).collect())
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
