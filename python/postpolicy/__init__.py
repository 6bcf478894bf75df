"""postpolicy: signed browser form uploads to Alibaba Cloud OSS.

A web application writes a :class:`Policy` (which keys, how large, which
content types), signs it with an :class:`OssSigner`, and hands the signed
form (:class:`SignedForm`) to the browser, which POSTs the file straight to
OSS. A :class:`Verifier` checks a submitted form exactly as the service
would and says which condition failed (:class:`Rejected`). The same policy
signs S3 presigned POST forms too (:class:`S3Signer`, :class:`S3Verifier`).
Upload callbacks: a :class:`CallbackSpec` signed into the form, and
:func:`verify_callback` on the application server (:class:`CallbackSigner`
signs callbacks locally, for tests).

Everything runs in the Rust core (``postpolicy._native``); this package
re-exports it with typed exceptions (``postpolicy.errors``).
"""

from ._native import (
    Accepted,
    CachedKeySource,
    CallbackSigner,
    CallbackSpec,
    Credentials,
    Diagnostic,
    FileInfo,
    GcsSigner,
    GcsVerifier,
    KeyUrlPolicy,
    OssSigner,
    Policy,
    PolicyBuilder,
    S3Signer,
    S3Verifier,
    SignedForm,
    VerifiedCallback,
    Verifier,
    __version__,
    explain,
    sign_s3_v4,
    sign_v1,
    sign_v4,
)
from .callback import default_key_source, fetch_public_key, verify_callback
from .errors import (
    CallbackError,
    Error,
    PolicyError,
    PolicySyntaxError,
    Rejected,
    SignatureError,
    SyntaxErrorDetail,
    TimeRangeError,
)

__all__ = [
    "Accepted",
    "CachedKeySource",
    "CallbackError",
    "CallbackSigner",
    "CallbackSpec",
    "Credentials",
    "Diagnostic",
    "Error",
    "FileInfo",
    "GcsSigner",
    "GcsVerifier",
    "KeyUrlPolicy",
    "OssSigner",
    "Policy",
    "PolicyBuilder",
    "PolicyError",
    "PolicySyntaxError",
    "Rejected",
    "S3Signer",
    "S3Verifier",
    "SignatureError",
    "SignedForm",
    "SyntaxErrorDetail",
    "TimeRangeError",
    "VerifiedCallback",
    "Verifier",
    "__version__",
    "default_key_source",
    "explain",
    "fetch_public_key",
    "sign_s3_v4",
    "sign_v1",
    "sign_v4",
    "verify_callback",
]
