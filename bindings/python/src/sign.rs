//! `Credentials`, `OssSigner`, `SignedForm` and the low-level `sign_v1` /
//! `sign_v4`.

use std::sync::OnceLock;

use postpolicy::{
    Credentials, GcsCredentials, GcsSigner, OssSigner, OssVersion, S3Signer, ServiceAccountKey,
    SignOptions, SignatureError, SignedForm,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyType};

use crate::callback::PyCallbackSpec;
use crate::convert;
use crate::errors::{self, to_pyerr};
use crate::plans::Plans;
use crate::policy::PyPolicy;

/// An access key: id, secret and, for STS, the security token.
///
/// The secret is never readable back, and `repr` redacts it.
#[pyclass(name = "Credentials", module = "postpolicy._native", frozen)]
#[derive(Debug)]
pub struct PyCredentials(pub Credentials);

#[pymethods]
impl PyCredentials {
    #[new]
    #[pyo3(signature = (access_key_id, access_key_secret, security_token=None))]
    fn new(
        py: Python<'_>,
        access_key_id: &str,
        access_key_secret: &str,
        security_token: Option<String>,
    ) -> PyResult<Self> {
        Credentials::new(access_key_id, access_key_secret, security_token)
            .map(Self)
            .map_err(|e| to_pyerr(py, e))
    }

    /// Credentials from `os.environ`: `OSS_ACCESS_KEY_ID` /
    /// `OSS_ACCESS_KEY_SECRET` / `OSS_SESSION_TOKEN`, else
    /// `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET` /
    /// `ALIBABA_CLOUD_SECURITY_TOKEN`. `None` when no id/secret pair is set.
    #[classmethod]
    fn from_env(cls: &Bound<'_, PyType>) -> PyResult<Option<Self>> {
        let py = cls.py();
        let environ = py
            .import(intern!(py, "os"))?
            .getattr(intern!(py, "environ"))?;
        let lookup = |name: &str| -> Option<String> {
            environ
                .get_item(name)
                .ok()
                .and_then(|v| v.extract::<String>().ok())
        };
        match Credentials::from_lookup(lookup) {
            None => Ok(None),
            Some(Ok(credentials)) => Ok(Some(Self(credentials))),
            Some(Err(e)) => Err(to_pyerr(py, e)),
        }
    }

    #[getter]
    fn access_key_id(&self) -> &str {
        self.0.access_key_id()
    }

    #[getter]
    fn security_token(&self) -> Option<&str> {
        self.0.security_token()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = PyString::new(py, self.0.access_key_id());
        let token = if self.0.security_token().is_some() {
            "'***'"
        } else {
            "None"
        };
        Ok(format!(
            "Credentials(access_key_id={}, access_key_secret='***', security_token={token})",
            id.repr()?
        ))
    }
}

/// Signs policies for one OSS bucket with one access key (V4 by default).
#[pyclass(name = "OssSigner", module = "postpolicy._native", frozen)]
#[derive(Debug)]
pub struct PyOssSigner(OssSigner, Plans);

#[pymethods]
impl PyOssSigner {
    #[new]
    #[pyo3(signature = (credentials, region, bucket, endpoint=None, version="v4", cloudbox_id=None))]
    fn new(
        py: Python<'_>,
        credentials: &Bound<'_, PyCredentials>,
        region: &str,
        bucket: &str,
        endpoint: Option<&str>,
        version: &str,
        cloudbox_id: Option<&str>,
    ) -> PyResult<Self> {
        let build = || -> Result<OssSigner, postpolicy::SignatureError> {
            let version: OssVersion = version.parse()?;
            let mut signer = OssSigner::new(credentials.get().0.clone(), region, bucket)?;
            if let Some(endpoint) = endpoint {
                signer = signer.with_endpoint(endpoint)?;
            }
            if let Some(id) = cloudbox_id {
                signer = signer.with_cloudbox(id)?;
            }
            Ok(signer.with_version(version))
        };
        build()
            .map(|signer| Self(signer, Plans::default()))
            .map_err(|e| to_pyerr(py, e))
    }

    /// Signs `policy` at `now` (default: the current time). `key` is the object
    /// key, or a template ending in `${filename}` (which becomes a
    /// `starts-with` condition on the part before it). `callback` (a
    /// `CallbackSpec`) adds the `callback` and `x:` fields, pinned in the
    /// policy unless `pin_callback` is false.
    #[pyo3(signature = (policy, now=None, key=None, callback=None, pin_callback=true))]
    fn sign(
        &self,
        py: Python<'_>,
        policy: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
        key: Option<&str>,
        callback: Option<&Bound<'_, PyAny>>,
        pin_callback: bool,
    ) -> PyResult<PySignedForm> {
        let policy = policy
            .cast::<PyPolicy>()
            .map_err(|_| errors::not_a_policy(policy))?;
        let now = convert::now_or_clock(now)?;
        let callback = match callback.filter(|c| !c.is_none()) {
            Some(spec) => {
                let spec = spec
                    .cast::<PyCallbackSpec>()
                    .map_err(|_| errors::not_a_callback_spec(spec))?;
                Some(spec.get().0.to_fields().map_err(|e| to_pyerr(py, e))?)
            }
            None => None,
        };
        let mut options = SignOptions::default().pin_callback(pin_callback);
        if let Some(key) = key {
            options = options.key(key);
        }
        if let Some(fields) = callback {
            options = options.callback_fields(fields);
        }
        let signed = self.1.sign(
            policy,
            |policy| self.0.plan(policy).ok(),
            |plan| self.0.sign_planned(plan, &options, now),
            |policy| self.0.sign_with(policy, &options, now),
        );
        Ok(PySignedForm::new(signed.map_err(|e| to_pyerr(py, e))?))
    }

    /// Signs an exact policy JSON text without changing a byte of it (to
    /// reproduce another SDK's output); only the signature fields are returned.
    #[pyo3(signature = (policy_json, now=None))]
    fn sign_json(
        &self,
        py: Python<'_>,
        policy_json: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySignedForm> {
        signed_json(py, &self.0, policy_json, now)
    }

    /// The form's action URL.
    #[getter]
    fn url(&self) -> &str {
        self.0.url()
    }

    #[getter]
    fn bucket(&self) -> &str {
        self.0.bucket()
    }

    #[getter]
    fn region(&self) -> &str {
        self.0.region()
    }

    /// `"v1"` or `"v4"`.
    #[getter]
    fn version(&self) -> &'static str {
        match self.0.version() {
            OssVersion::V1 => "v1",
            OssVersion::V4 => "v4",
        }
    }

    #[getter]
    fn credentials(&self) -> PyCredentials {
        PyCredentials(self.0.credentials().clone())
    }

    fn __repr__(&self) -> String {
        format!(
            "OssSigner(bucket='{}', region='{}', url='{}', version='{}')",
            self.0.bucket(),
            self.0.region(),
            self.0.url(),
            self.version()
        )
    }
}

/// Signs S3 presigned POST forms (AWS SigV4) for one bucket with one access
/// key: AWS S3, MinIO, Garage, R2, ….
#[pyclass(name = "S3Signer", module = "postpolicy._native", frozen)]
#[derive(Debug)]
pub struct PyS3Signer(S3Signer, Plans);

#[pymethods]
impl PyS3Signer {
    #[new]
    #[pyo3(signature = (credentials, region, bucket, endpoint=None, path_style=None))]
    fn new(
        py: Python<'_>,
        credentials: &Bound<'_, PyCredentials>,
        region: &str,
        bucket: &str,
        endpoint: Option<&str>,
        path_style: Option<bool>,
    ) -> PyResult<Self> {
        let build = || -> Result<S3Signer, postpolicy::SignatureError> {
            let mut signer = S3Signer::new(credentials.get().0.clone(), region, bucket)?;
            if let Some(endpoint) = endpoint {
                signer = signer.with_endpoint(endpoint)?;
            }
            if let Some(path_style) = path_style {
                signer = signer.with_path_style(path_style);
            }
            Ok(signer)
        };
        build()
            .map(|signer| Self(signer, Plans::default()))
            .map_err(|e| to_pyerr(py, e))
    }

    /// Signs `policy` at `now` (default: the current time). `key` is the object
    /// key, or a template ending in `${filename}`.
    #[pyo3(signature = (policy, now=None, key=None))]
    fn sign(
        &self,
        py: Python<'_>,
        policy: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
        key: Option<&str>,
    ) -> PyResult<PySignedForm> {
        let policy = policy
            .cast::<PyPolicy>()
            .map_err(|_| errors::not_a_policy(policy))?;
        let now = convert::now_or_clock(now)?;
        let mut options = SignOptions::default();
        if let Some(key) = key {
            options = options.key(key);
        }
        let signed = self.1.sign(
            policy,
            |policy| self.0.plan(policy).ok(),
            |plan| self.0.sign_planned(plan, &options, now),
            |policy| self.0.sign_with(policy, &options, now),
        );
        Ok(PySignedForm::new(signed.map_err(|e| to_pyerr(py, e))?))
    }

    /// Signs an exact policy JSON text without changing a byte of it; only the
    /// signature fields are returned.
    #[pyo3(signature = (policy_json, now=None))]
    fn sign_json(
        &self,
        py: Python<'_>,
        policy_json: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySignedForm> {
        signed_json(py, &self.0, policy_json, now)
    }

    /// The form's action URL.
    #[getter]
    fn url(&self) -> &str {
        self.0.url()
    }

    #[getter]
    fn bucket(&self) -> &str {
        self.0.bucket()
    }

    #[getter]
    fn region(&self) -> &str {
        self.0.region()
    }

    /// Whether the URL is path-style (`<endpoint>/<bucket>`).
    #[getter]
    fn path_style(&self) -> bool {
        self.0.path_style()
    }

    #[getter]
    fn credentials(&self) -> PyCredentials {
        PyCredentials(self.0.credentials().clone())
    }

    fn __repr__(&self) -> String {
        format!(
            "S3Signer(bucket='{}', region='{}', url='{}')",
            self.0.bucket(),
            self.0.region(),
            self.0.url()
        )
    }
}

/// A service account key from a path (`str` or `os.PathLike`) or from the
/// key file's content as a dict.
pub(crate) fn service_account(
    py: Python<'_>,
    account: &Bound<'_, PyAny>,
) -> PyResult<ServiceAccountKey> {
    let key = if account.cast::<PyDict>().is_ok() {
        let json = py.import("json")?.call_method1("dumps", (account,))?;
        ServiceAccountKey::from_json(&json.extract::<String>()?)
    } else {
        let path = py.import("os")?.call_method1("fspath", (account,))?;
        ServiceAccountKey::from_file(path.extract::<std::path::PathBuf>()?)
    };
    key.map_err(|e| to_pyerr(py, e))
}

/// Signs Google Cloud Storage V4 POST forms for one bucket: with a service
/// account key (a path or the key file as a dict; `GOOG4-RSA-SHA256`), or
/// with an HMAC key through `GcsSigner.hmac` (`GOOG4-HMAC-SHA256`).
///
/// `url_style` is `path` (default), `virtual-hosted` or `bucket-bound`
/// (with `bound_hostname`); `scheme` is `https` or `http`; `endpoint`
/// replaces `storage.googleapis.com` (a local server).
#[pyclass(name = "GcsSigner", module = "postpolicy._native", frozen)]
#[derive(Debug)]
pub struct PyGcsSigner(GcsSigner);

impl PyGcsSigner {
    fn build(
        py: Python<'_>,
        credentials: GcsCredentials,
        bucket: &str,
        url_style: &str,
        bound_hostname: Option<&str>,
        scheme: &str,
        endpoint: Option<&str>,
    ) -> PyResult<Self> {
        GcsSigner::new(credentials, bucket)
            .and_then(|s| {
                s.with_url_options(Some(url_style), bound_hostname, Some(scheme), endpoint)
            })
            .map(Self)
            .map_err(|e| to_pyerr(py, e))
    }
}

#[pymethods]
impl PyGcsSigner {
    #[new]
    #[pyo3(signature = (service_account, bucket, url_style="path", bound_hostname=None, scheme="https", endpoint=None))]
    fn new(
        py: Python<'_>,
        service_account: &Bound<'_, PyAny>,
        bucket: &str,
        url_style: &str,
        bound_hostname: Option<&str>,
        scheme: &str,
        endpoint: Option<&str>,
    ) -> PyResult<Self> {
        let key = self::service_account(py, service_account)?;
        Self::build(
            py,
            key.into(),
            bucket,
            url_style,
            bound_hostname,
            scheme,
            endpoint,
        )
    }

    /// A signer with an HMAC key (access id and secret).
    #[classmethod]
    #[pyo3(signature = (access_id, secret, bucket, url_style="path", bound_hostname=None, scheme="https", endpoint=None))]
    #[allow(clippy::too_many_arguments)]
    fn hmac(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        access_id: &str,
        secret: &str,
        bucket: &str,
        url_style: &str,
        bound_hostname: Option<&str>,
        scheme: &str,
        endpoint: Option<&str>,
    ) -> PyResult<Self> {
        let credentials = GcsCredentials::hmac(access_id, secret).map_err(|e| to_pyerr(py, e))?;
        Self::build(
            py,
            credentials,
            bucket,
            url_style,
            bound_hostname,
            scheme,
            endpoint,
        )
    }

    /// Signs `policy` at `now` (default: the current time). `key` is the
    /// object name, or a template ending in `${filename}`.
    #[pyo3(signature = (policy, now=None, key=None))]
    fn sign(
        &self,
        py: Python<'_>,
        policy: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
        key: Option<&str>,
    ) -> PyResult<PySignedForm> {
        let policy = policy
            .cast::<PyPolicy>()
            .map_err(|_| errors::not_a_policy(policy))?;
        let now = convert::now_or_clock(now)?;
        let signed = match key {
            None => self.0.sign(&policy.get().0, now),
            Some(key) => self
                .0
                .sign_with(&policy.get().0, &SignOptions::default().key(key), now),
        };
        Ok(PySignedForm::new(signed.map_err(|e| to_pyerr(py, e))?))
    }

    /// Signs an exact policy JSON text without changing a byte of it; only
    /// the signature fields are returned.
    #[pyo3(signature = (policy_json, now=None))]
    fn sign_json(
        &self,
        py: Python<'_>,
        policy_json: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySignedForm> {
        signed_json(py, &self.0, policy_json, now)
    }

    /// The form's action URL.
    #[getter]
    fn url(&self) -> &str {
        self.0.url()
    }

    #[getter]
    fn bucket(&self) -> &str {
        self.0.bucket()
    }

    /// `GOOG4-RSA-SHA256` or `GOOG4-HMAC-SHA256`.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.0.credentials().algorithm()
    }

    /// The service account's e-mail or the HMAC access id.
    #[getter]
    fn access_id(&self) -> &str {
        self.0.credentials().access_id()
    }

    fn __repr__(&self) -> String {
        format!(
            "GcsSigner(bucket='{}', access_id='{}', url='{}')",
            self.0.bucket(),
            self.0.credentials().access_id(),
            self.0.url()
        )
    }
}

/// What both signers do, so that one function serves either.
trait FormSigner {
    fn sign_json(
        &self,
        policy_json: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SignedForm, SignatureError>;
}

impl FormSigner for OssSigner {
    fn sign_json(
        &self,
        policy_json: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SignedForm, SignatureError> {
        OssSigner::sign_json(self, policy_json, now)
    }
}

impl FormSigner for S3Signer {
    fn sign_json(
        &self,
        policy_json: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SignedForm, SignatureError> {
        S3Signer::sign_json(self, policy_json, now)
    }
}

impl FormSigner for GcsSigner {
    fn sign_json(
        &self,
        policy_json: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SignedForm, SignatureError> {
        GcsSigner::sign_json(self, policy_json, now)
    }
}

/// Either signer's `sign_json`, with `now` defaulting to the clock.
fn signed_json(
    py: Python<'_>,
    signer: &impl FormSigner,
    policy_json: &str,
    now: Option<&Bound<'_, PyAny>>,
) -> PyResult<PySignedForm> {
    let now = convert::now_or_clock(now)?;
    let signed = signer
        .sign_json(policy_json, now)
        .map_err(|e| to_pyerr(py, e))?;
    Ok(PySignedForm::new(signed))
}

/// A signed upload form: POST `fields` (in order) to `url`, with the file as
/// the last part, named `file`.
///
/// `fields` is a dict built on first access and the same object afterwards
/// (a handler that only calls `to_json()` never pays for it). `to_dict()` is
/// the JSON-ready token for the browser (`expires_at` as an ISO 8601 string),
/// and `to_json()` its text.
#[pyclass(name = "SignedForm", module = "postpolicy._native", frozen)]
pub struct PySignedForm {
    form: SignedForm,
    /// A std `OnceLock`, filled with the GIL held: `PyOnceLock` detaches from
    /// the interpreter around its first fill (to avoid a deadlock when the
    /// fill blocks), which costs a GIL release and re-acquire per form.
    fields: OnceLock<Py<PyDict>>,
}

impl std::fmt::Debug for PySignedForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedForm")
            .field("form", &self.form)
            .finish_non_exhaustive()
    }
}

impl PySignedForm {
    fn new(form: SignedForm) -> Self {
        Self {
            form,
            fields: OnceLock::new(),
        }
    }
}

/// The rules as Python lists, dicts, strings and ints: the core's JSON of
/// them, read by `json.loads`, so the data is exactly the token's.
fn rules_data<'py>(py: Python<'py>, rules: &postpolicy::Rules) -> PyResult<Bound<'py, PyAny>> {
    py.import(intern!(py, "json"))?
        .call_method1(intern!(py, "loads"), (rules.to_json(),))
}

/// The fields as a dict, in order, keys interned.
fn fields_dict<'py>(
    py: Python<'py>,
    fields: &postpolicy::FormFields,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in fields {
        dict.set_item(field_name(py, name), field_value(py, value))?;
    }
    Ok(dict)
}

/// The names the signers emit, interned once: building the dict then costs
/// no string allocation and no hashing for them.
fn field_name<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    let interned = match name {
        "key" => intern!(py, "key"),
        "policy" => intern!(py, "policy"),
        "x-oss-signature-version" => intern!(py, "x-oss-signature-version"),
        "x-oss-credential" => intern!(py, "x-oss-credential"),
        "x-oss-date" => intern!(py, "x-oss-date"),
        "x-oss-signature" => intern!(py, "x-oss-signature"),
        "x-oss-security-token" => intern!(py, "x-oss-security-token"),
        "OSSAccessKeyId" => intern!(py, "OSSAccessKeyId"),
        "Signature" => intern!(py, "Signature"),
        "success_action_status" => intern!(py, "success_action_status"),
        "success_action_redirect" => intern!(py, "success_action_redirect"),
        "Content-Type" => intern!(py, "Content-Type"),
        "callback" => intern!(py, "callback"),
        "x-amz-algorithm" => intern!(py, "x-amz-algorithm"),
        "x-amz-credential" => intern!(py, "x-amz-credential"),
        "x-amz-date" => intern!(py, "x-amz-date"),
        "x-amz-signature" => intern!(py, "x-amz-signature"),
        "x-amz-security-token" => intern!(py, "x-amz-security-token"),
        other => return PyString::new(py, other),
    };
    interned.clone()
}

fn field_value<'py>(py: Python<'py>, value: &str) -> Bound<'py, PyString> {
    match value {
        "OSS4-HMAC-SHA256" => intern!(py, "OSS4-HMAC-SHA256").clone(),
        "AWS4-HMAC-SHA256" => intern!(py, "AWS4-HMAC-SHA256").clone(),
        // The `success_action_status` values the services accept.
        "200" => intern!(py, "200").clone(),
        "201" => intern!(py, "201").clone(),
        "204" => intern!(py, "204").clone(),
        other => PyString::new(py, other),
    }
}

#[pymethods]
impl PySignedForm {
    #[getter]
    fn url(&self) -> &str {
        &self.form.url
    }

    /// The hidden form fields, in the order they must be sent.
    #[getter]
    fn fields(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        if let Some(dict) = self.fields.get() {
            return Ok(dict.clone_ref(py));
        }
        // Building the dict runs no Python code, so no other thread fills the
        // cell meanwhile; if one ever did, its dict is kept and ours dropped.
        let dict = fields_dict(py, &self.form.fields)?.unbind();
        Ok(self.fields.get_or_init(|| dict).clone_ref(py))
    }

    /// When the policy expires (an aware datetime in UTC).
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_datetime(py, self.form.expires_at)
    }

    /// Fields the page must still fill (constrained by `starts-with`, `in`,
    /// `not-in`), e.g. `key` under a prefix.
    #[getter]
    fn fields_to_fill(&self) -> Vec<String> {
        self.form.fields_to_fill.clone()
    }

    /// What a page can check before it sends a byte (size range, key and
    /// content-type conditions), as plain data: a list of dicts, each with
    /// the verifier's wording for a failure. The token's `rules` member.
    #[getter]
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        rules_data(py, &self.form.rules)
    }

    /// `{"url", "fields", "expires_at", "fields_to_fill", "rules"}`, ready for
    /// `json.dumps`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        out.set_item(intern!(py, "url"), &self.form.url)?;
        out.set_item(intern!(py, "fields"), fields_dict(py, &self.form.fields)?)?;
        out.set_item(
            intern!(py, "expires_at"),
            postpolicy::format_timestamp(self.form.expires_at),
        )?;
        out.set_item(
            intern!(py, "fields_to_fill"),
            PyList::new(py, &self.form.fields_to_fill)?,
        )?;
        out.set_item(intern!(py, "rules"), rules_data(py, &self.form.rules)?)?;
        Ok(out)
    }

    /// The JSON token for the browser (the text of `to_dict()`).
    fn to_json(&self) -> String {
        self.form.to_json()
    }

    fn __repr__(&self) -> String {
        format!(
            "SignedForm(url='{}', fields=<{} fields>, expires_at='{}')",
            self.form.url,
            self.form.fields.len(),
            postpolicy::format_timestamp(self.form.expires_at)
        )
    }
}

/// The V1 signature of an already-encoded policy:
/// base64(HMAC-SHA1(secret, policy_b64)).
#[pyfunction]
pub fn sign_v1(secret: &str, policy_b64: &str) -> String {
    postpolicy::sign_v1(secret, policy_b64)
}

/// The V4 signature (lower-case hex) of an already-encoded policy, for the day
/// `date` (`yyyymmdd`) and `region` (with or without the `oss-` prefix).
#[pyfunction]
#[pyo3(signature = (secret, policy_b64, date, region, product="oss"))]
pub fn sign_v4(
    py: Python<'_>,
    secret: &str,
    policy_b64: &str,
    date: &str,
    region: &str,
    product: &str,
) -> PyResult<String> {
    postpolicy::sign_v4(secret, policy_b64, date, region, product).map_err(|e| to_pyerr(py, e))
}

/// The S3 SigV4 signature (lower-case hex) of an already-encoded policy, for
/// the day `date` (`yyyymmdd`) and `region`.
#[pyfunction]
pub fn sign_s3_v4(
    py: Python<'_>,
    secret: &str,
    policy_b64: &str,
    date: &str,
    region: &str,
) -> PyResult<String> {
    postpolicy::sign_s3_v4(secret, policy_b64, date, region).map_err(|e| to_pyerr(py, e))
}
