"""postpolicy: signed browser form uploads to Alibaba Cloud OSS.

A web application writes a :class:`Policy` (which keys, how large, which
content types), signs it with an :class:`OssSigner`, and hands the signed
form (:class:`SignedForm`) to the browser, which POSTs the file straight to
OSS. A :class:`Verifier` checks a submitted form exactly as the service
would and says which condition failed (:class:`Rejected`). The same policy
signs S3 presigned POST forms too (:class:`S3Signer`, :class:`S3Verifier`).

Everything runs in the Rust core (``postpolicy._native``); this package
re-exports it with typed exceptions (``postpolicy.errors``).
"""

from ._native import (
    Accepted,
    Credentials,
    Diagnostic,
    FileInfo,
    OssSigner,
    Policy,
    S3Signer,
    S3Verifier,
    SignedForm,
    Verifier,
    __version__,
    explain,
    sign_s3_v4,
    sign_v1,
    sign_v4,
)
from .errors import (
    Error,
    PolicyError,
    PolicySyntaxError,
    Rejected,
    SignatureError,
    SyntaxErrorDetail,
)

__all__ = [
    "Accepted",
    "Credentials",
    "Diagnostic",
    "Error",
    "FileInfo",
    "OssSigner",
    "Policy",
    "PolicyError",
    "PolicySyntaxError",
    "Rejected",
    "S3Signer",
    "S3Verifier",
    "SignatureError",
    "SignedForm",
    "SyntaxErrorDetail",
    "Verifier",
    "__version__",
    "explain",
    "sign_s3_v4",
    "sign_v1",
    "sign_v4",
]
