//! `Verifier`, `FileInfo`, `Accepted` and `explain`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use postpolicy::{
    Accepted, FileInfo, GcsVerifier, KeyStore, Rejected, S3Verifier, Submission, Verifier,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::convert;
use crate::errors::{self, to_pyerr};
use crate::policy::PyPolicy;

/// The file part of a form: its `filename`, its part `Content-Type`, and its
/// size in bytes when known.
#[pyclass(
    name = "FileInfo",
    module = "postpolicy._native",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyFileInfo(pub FileInfo);

#[pymethods]
impl PyFileInfo {
    #[new]
    #[pyo3(signature = (filename, content_type=None, size=None))]
    fn new(filename: String, content_type: Option<String>, size: Option<u64>) -> Self {
        Self(FileInfo {
            filename,
            content_type,
            size,
        })
    }

    #[getter]
    fn filename(&self) -> &str {
        &self.0.filename
    }

    #[getter]
    fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }

    #[getter]
    fn size(&self) -> Option<u64> {
        self.0.size
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let text = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        Ok(format!(
            "FileInfo(filename={}, content_type={}, size={})",
            text(&self.0.filename)?,
            match &self.0.content_type {
                Some(c) => text(c)?,
                None => "None".to_owned(),
            },
            self.0
                .size
                .map_or_else(|| "None".to_owned(), |s| s.to_string())
        ))
    }
}

/// A successful upload: the final object `key`, the HTTP `status` to answer
/// (200, 201 or 204), the `redirect` (which takes precedence over `status`),
/// the object's `content_type`, the `metadata` stored with it (lower-case
/// names, in form order), the allowed `size_limit` `(min, max)` and the
/// `access_key_id` that signed the form.
#[pyclass(
    name = "Accepted",
    module = "postpolicy._native",
    frozen,
    eq,
    skip_from_py_object
)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyAccepted(Accepted<'static>);

#[pymethods]
impl PyAccepted {
    #[getter]
    fn key(&self) -> &str {
        &self.0.key
    }

    #[getter]
    fn status(&self) -> u16 {
        self.0.status
    }

    #[getter]
    fn redirect(&self) -> Option<&str> {
        self.0.redirect.as_deref()
    }

    #[getter]
    fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }

    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (name, value) in &self.0.metadata {
            out.set_item(name, value)?;
        }
        Ok(out)
    }

    #[getter]
    fn size_limit(&self) -> (u64, u64) {
        (self.0.size_limit.min, self.0.size_limit.max)
    }

    #[getter]
    fn access_key_id(&self) -> Option<&str> {
        self.0.access_key_id.as_deref()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Accepted(key={}, status={}, redirect={})",
            PyString::new(py, &self.0.key).repr()?,
            self.0.status,
            match &self.0.redirect {
                Some(r) => PyString::new(py, r).repr()?.to_string(),
                None => "None".to_owned(),
            }
        ))
    }
}

/// Where a verifier finds secrets: a dict, copied into the core's map when
/// the verifier is made, or a Python callable `(access_key_id) -> secret |
/// None`, asked before each verification for the id the form names.
enum Keys {
    Map(HashMap<String, String>),
    Callable(Py<PyAny>),
}

impl Keys {
    fn from_py(keys: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(map) = keys.cast::<PyDict>() {
            Ok(Keys::Map(map.extract()?))
        } else if keys.is_callable() {
            Ok(Keys::Callable(keys.clone().unbind()))
        } else {
            Err(errors::not_a_key_store(keys))
        }
    }

    /// The core verifier's own store (empty for a callable, which is asked
    /// per call instead), and the callable.
    fn split(self) -> (HashMap<String, String>, Option<Py<PyAny>>) {
        match self {
            Keys::Map(map) => (map, None),
            Keys::Callable(lookup) => (HashMap::new(), Some(lookup)),
        }
    }
}

/// What every core verifier offers a binding whose store is a Python callable.
trait KeyedVerifier: Sync {
    fn key_id<'a>(&self, submission: &'a Submission) -> Option<&'a str>;
    fn verify_with<'a>(
        &self,
        submission: &'a Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected>;
    fn verify<'a>(
        &self,
        submission: &'a Submission,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected>;
}

/// The trait for each verifier: the core's inherent methods of the same names.
macro_rules! keyed_verifier {
    ($($verifier:ident),+) => {$(
        impl KeyedVerifier for $verifier {
            fn key_id<'a>(&self, submission: &'a Submission) -> Option<&'a str> {
                $verifier::key_id(self, submission)
            }
            fn verify_with<'a>(
                &self,
                submission: &'a Submission,
                keys: &dyn KeyStore,
                now: DateTime<Utc>,
            ) -> Result<Accepted<'a>, Rejected> {
                $verifier::verify_with(self, submission, keys, now)
            }
            fn verify<'a>(
                &self,
                submission: &'a Submission,
                now: DateTime<Utc>,
            ) -> Result<Accepted<'a>, Rejected> {
                $verifier::verify(self, submission, now)
            }
        }
    )+};
}

keyed_verifier!(Verifier, S3Verifier, GcsVerifier);

/// Runs one verification, detached from the interpreter. With a callable
/// store, the callable is asked first, here, for the id the form names (what
/// it raises propagates as it is), and the core verifies once with a store
/// holding that one answer.
fn run_verify(
    py: Python<'_>,
    verifier: &impl KeyedVerifier,
    lookup: Option<&Py<PyAny>>,
    submission: &Submission,
    now: DateTime<Utc>,
) -> PyResult<PyAccepted> {
    let outcome = match lookup {
        None => py.detach(|| verifier.verify(submission, now).map(Accepted::into_owned)),
        Some(lookup) => {
            let mut keys = HashMap::new();
            if let Some(id) = verifier.key_id(submission) {
                let secret: Option<String> = lookup.call1(py, (id,))?.extract(py)?;
                if let Some(secret) = secret {
                    keys.insert(id.to_owned(), secret);
                }
            }
            py.detach(|| {
                verifier
                    .verify_with(submission, &keys, now)
                    .map(Accepted::into_owned)
            })
        }
    };
    // The answer is made owned above, while the interpreter runs on.
    outcome.map(PyAccepted).map_err(|r| to_pyerr(py, r))
}

/// Verifies forms posted to one bucket, as OSS would.
///
/// `keys` maps access key ids to secrets: a dict (copied when the verifier is
/// made) or a callable `(access_key_id) -> secret | None` asked on every
/// verification. `clock_skew` is how far in the future an `x-oss-date` may be
/// (a `timedelta` or seconds; default 15 minutes).
#[pyclass(name = "Verifier", module = "postpolicy._native", frozen)]
#[derive(Debug)]
pub struct PyVerifier {
    verifier: Verifier,
    /// The key store, when it is a Python callable.
    lookup: Option<Py<PyAny>>,
}

#[pymethods]
impl PyVerifier {
    #[new]
    #[pyo3(signature = (bucket, region, keys, clock_skew=None, allow_anonymous=false, cloudbox_id=None))]
    fn new(
        py: Python<'_>,
        bucket: &str,
        region: &str,
        keys: &Bound<'_, PyAny>,
        clock_skew: Option<&Bound<'_, PyAny>>,
        allow_anonymous: bool,
        cloudbox_id: Option<&str>,
    ) -> PyResult<Self> {
        let (keys, lookup) = Keys::from_py(keys)?.split();
        let mut verifier = Verifier::new(bucket, region, keys);
        if let Some(skew) = clock_skew.filter(|s| !s.is_none()) {
            verifier = verifier
                .with_clock_skew(convert::duration(skew, "clock_skew")?)
                .map_err(|e| to_pyerr(py, e))?;
        }
        verifier = verifier.allow_anonymous(allow_anonymous);
        if let Some(id) = cloudbox_id {
            verifier = verifier.with_cloudbox(id);
        }
        Ok(Self { verifier, lookup })
    }

    /// Accepts or rejects a submitted form at `now` (default: the current
    /// time). `fields` are the `(name, value)` pairs before the file part, as
    /// sent (a dict also works); `file` is a `FileInfo`, an equivalent dict or
    /// `None`. Returns `Accepted` or raises `Rejected`.
    #[pyo3(signature = (fields, file, now=None, fields_after_file=None))]
    fn verify(
        &self,
        py: Python<'_>,
        fields: &Bound<'_, PyAny>,
        file: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
        fields_after_file: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyAccepted> {
        let submission = submission(fields, file, fields_after_file)?;
        let now = convert::now_or_clock(now)?;
        run_verify(py, &self.verifier, self.lookup.as_ref(), &submission, now)
    }

    /// Every reason OSS would reject the submission under `policy` at `now`
    /// (this verifier's bucket included), without checking a signature: a
    /// list of `Rejected` (not raised), empty when the upload would pass.
    #[pyo3(signature = (policy, fields, file, now=None, fields_after_file=None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        policy: &Bound<'py, PyAny>,
        fields: &Bound<'py, PyAny>,
        file: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
        fields_after_file: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let policy = policy
            .cast::<PyPolicy>()
            .map_err(|_| errors::not_a_policy(policy))?;
        let submission = submission(fields, file, fields_after_file)?;
        let now = convert::now_or_clock(now)?;
        rejections(
            py,
            &self.verifier.explain(&policy.get().0, &submission, now),
        )
    }

    #[getter]
    fn bucket(&self) -> &str {
        self.verifier.bucket().unwrap_or_default()
    }

    fn __repr__(&self) -> String {
        format!(
            "Verifier(bucket='{}')",
            self.verifier.bucket().unwrap_or_default()
        )
    }
}

/// Verifies S3 presigned POST forms (AWS SigV4) posted to one bucket, as S3
/// would. `keys` as for `Verifier`; `max_date_age` (a `timedelta` or seconds)
/// refuses forms whose `x-amz-date` is older, as Garage does (S3 itself goes
/// by the policy's expiration only, the default).
#[pyclass(name = "S3Verifier", module = "postpolicy._native", frozen)]
#[derive(Debug)]
pub struct PyS3Verifier {
    verifier: S3Verifier,
    /// The key store, when it is a Python callable.
    lookup: Option<Py<PyAny>>,
}

#[pymethods]
impl PyS3Verifier {
    #[new]
    #[pyo3(signature = (bucket, region, keys, max_date_age=None, allow_anonymous=false))]
    fn new(
        py: Python<'_>,
        bucket: &str,
        region: &str,
        keys: &Bound<'_, PyAny>,
        max_date_age: Option<&Bound<'_, PyAny>>,
        allow_anonymous: bool,
    ) -> PyResult<Self> {
        let (keys, lookup) = Keys::from_py(keys)?.split();
        let age = match max_date_age.filter(|a| !a.is_none()) {
            Some(age) => Some(convert::duration(age, "max_date_age")?),
            None => None,
        };
        let verifier = S3Verifier::new(bucket, region, keys)
            .with_max_date_age(age)
            .map_err(|e| to_pyerr(py, e))?
            .allow_anonymous(allow_anonymous);
        Ok(Self { verifier, lookup })
    }

    /// Accepts or rejects a submitted form at `now`, as `Verifier.verify`.
    #[pyo3(signature = (fields, file, now=None, fields_after_file=None))]
    fn verify(
        &self,
        py: Python<'_>,
        fields: &Bound<'_, PyAny>,
        file: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
        fields_after_file: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyAccepted> {
        let submission = submission(fields, file, fields_after_file)?;
        let now = convert::now_or_clock(now)?;
        run_verify(py, &self.verifier, self.lookup.as_ref(), &submission, now)
    }

    /// Every reason S3 would reject the submission under `policy` at `now`,
    /// without checking a signature: a list of `Rejected` (not raised).
    #[pyo3(signature = (policy, fields, file, now=None, fields_after_file=None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        policy: &Bound<'py, PyAny>,
        fields: &Bound<'py, PyAny>,
        file: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
        fields_after_file: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let policy = policy
            .cast::<PyPolicy>()
            .map_err(|_| errors::not_a_policy(policy))?;
        let submission = submission(fields, file, fields_after_file)?;
        let now = convert::now_or_clock(now)?;
        rejections(
            py,
            &self.verifier.explain(&policy.get().0, &submission, now),
        )
    }

    #[getter]
    fn bucket(&self) -> &str {
        self.verifier.bucket()
    }

    #[getter]
    fn region(&self) -> &str {
        self.verifier.region()
    }

    fn __repr__(&self) -> String {
        format!(
            "S3Verifier(bucket='{}', region='{}')",
            self.verifier.bucket(),
            self.verifier.region()
        )
    }
}

/// Verifies Google Cloud Storage V4 POST forms posted to one bucket, as GCS
/// would.
///
/// `keys` holds HMAC secrets by access id (a dict, or a callable
/// `(access_id) -> secret | None`); `service_accounts` lists the service
/// accounts whose RSA signatures are accepted (paths or key dicts; only
/// their public keys are kept).
#[pyclass(name = "GcsVerifier", module = "postpolicy._native", frozen)]
#[derive(Debug)]
pub struct PyGcsVerifier {
    verifier: GcsVerifier,
    lookup: Option<Py<PyAny>>,
}

#[pymethods]
impl PyGcsVerifier {
    #[new]
    #[pyo3(signature = (bucket, keys=None, service_accounts=None))]
    fn new(
        py: Python<'_>,
        bucket: &str,
        keys: Option<&Bound<'_, PyAny>>,
        service_accounts: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (store, lookup) = match keys.filter(|k| !k.is_none()) {
            Some(keys) => Keys::from_py(keys)?.split(),
            None => (HashMap::new(), None),
        };
        let mut verifier = GcsVerifier::new(bucket, store);
        if let Some(accounts) = service_accounts.filter(|a| !a.is_none()) {
            for account in accounts.try_iter()? {
                let key = crate::sign::service_account(py, &account?)?;
                verifier = verifier.with_service_account(&key);
            }
        }
        Ok(Self { verifier, lookup })
    }

    /// Accepts or rejects a submitted form at `now`, as `Verifier.verify`.
    #[pyo3(signature = (fields, file, now=None, fields_after_file=None))]
    fn verify(
        &self,
        py: Python<'_>,
        fields: &Bound<'_, PyAny>,
        file: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
        fields_after_file: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyAccepted> {
        let submission = submission(fields, file, fields_after_file)?;
        let now = convert::now_or_clock(now)?;
        run_verify(py, &self.verifier, self.lookup.as_ref(), &submission, now)
    }

    /// Every reason GCS would reject the submission under `policy` at `now`,
    /// without checking a signature: a list of `Rejected` (not raised).
    #[pyo3(signature = (policy, fields, file, now=None, fields_after_file=None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        policy: &Bound<'py, PyAny>,
        fields: &Bound<'py, PyAny>,
        file: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
        fields_after_file: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let policy = policy
            .cast::<PyPolicy>()
            .map_err(|_| errors::not_a_policy(policy))?;
        let submission = submission(fields, file, fields_after_file)?;
        let now = convert::now_or_clock(now)?;
        rejections(
            py,
            &self.verifier.explain(&policy.get().0, &submission, now),
        )
    }

    #[getter]
    fn bucket(&self) -> Option<&str> {
        self.verifier.bucket()
    }

    fn __repr__(&self) -> String {
        format!(
            "GcsVerifier(bucket='{}')",
            self.verifier.bucket().unwrap_or_default()
        )
    }
}

fn rejections<'py>(py: Python<'py>, failures: &[Rejected]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for failure in failures {
        out.append(errors::rejected(py, failure)?)?;
    }
    Ok(out)
}

/// Every reason `policy` would reject the submission at `now`, without
/// checking a signature: a list of `Rejected` exceptions (not raised), empty
/// when the upload would pass. `bucket` conditions are judged only when
/// `bucket` is given.
#[pyfunction]
#[pyo3(signature = (policy, fields, file, now=None, fields_after_file=None, bucket=None))]
pub fn explain<'py>(
    py: Python<'py>,
    policy: &Bound<'py, PyAny>,
    fields: &Bound<'py, PyAny>,
    file: Option<&Bound<'py, PyAny>>,
    now: Option<&Bound<'py, PyAny>>,
    fields_after_file: Option<&Bound<'py, PyAny>>,
    bucket: Option<&str>,
) -> PyResult<Bound<'py, PyList>> {
    let policy = policy
        .cast::<PyPolicy>()
        .map_err(|_| errors::not_a_policy(policy))?;
    let submission = submission(fields, file, fields_after_file)?;
    let now = convert::now_or_clock(now)?;
    let no_keys = |_: &str| None;
    let checker = match bucket {
        Some(bucket) => Verifier::new(bucket, "cn-hangzhou", no_keys),
        None => Verifier::for_any_bucket("cn-hangzhou", no_keys),
    };
    rejections(py, &checker.explain(&policy.get().0, &submission, now))
}

fn submission(
    fields: &Bound<'_, PyAny>,
    file: Option<&Bound<'_, PyAny>>,
    fields_after_file: Option<&Bound<'_, PyAny>>,
) -> PyResult<Submission> {
    Ok(Submission {
        fields: convert::pairs(fields, "fields")?,
        fields_after_file: match fields_after_file.filter(|f| !f.is_none()) {
            Some(after) => convert::pairs(after, "fields_after_file")?,
            None => Vec::new(),
        },
        file: convert::file_info(file)?,
    })
}
