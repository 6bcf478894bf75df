# Hand-written stubs for the native module (bindings/python). Checked against
# the built module by `python -m mypy.stubtest postpolicy._native`.

import datetime
import os
from collections.abc import Iterable, Mapping
from typing import (
    Any,
    Callable,
    ClassVar,
    Optional,
    Protocol,
    Union,
    final,
)

from typing_extensions import TypeAlias

from .errors import Rejected

__version__: str
_build_profile: str  # "debug" or "release"
__all__ = [
    "Accepted",
    "CachedKeySource",
    "CallbackSigner",
    "CallbackSpec",
    "Credentials",
    "Diagnostic",
    "FileInfo",
    "GcsSigner",
    "GcsVerifier",
    "KeyUrlPolicy",
    "OssSigner",
    "Policy",
    "PolicyBuilder",
    "S3Signer",
    "S3Verifier",
    "SignedForm",
    "VerifiedCallback",
    "Verifier",
    "__version__",
    "_build_profile",
    "callback_string_to_sign",
    "explain",
    "sign_s3_v4",
    "sign_v1",
    "sign_v4",
    "verify_callback",
]

_Fields: TypeAlias = Union[Mapping[str, str], Iterable[tuple[str, str]]]
"""Form fields as sent: (name, value) pairs in order, or a dict."""

_File: TypeAlias = Union[FileInfo, Mapping[str, object], None]
"""A FileInfo, a dict {"filename", "content_type", "size"} or None."""
_Seconds: TypeAlias = Union[datetime.timedelta, int, float]
_Bytes: TypeAlias = Union[bytes, bytearray]

class _HeaderItems(Protocol):
    def items(self) -> Iterable[tuple[str, str]]: ...

_Headers: TypeAlias = Union[_HeaderItems, Iterable[tuple[str, str]]]
"""Request headers: a dict, a headers object with items() (Flask's
request.headers, http.server's self.headers) or (name, value) pairs."""

_KeySource: TypeAlias = Union[CachedKeySource, Callable[[str], Union[str, bytes]]]
"""A CachedKeySource, or a callable url -> PEM text called on every verification."""

_TrustedKeyUrls: TypeAlias = Union[KeyUrlPolicy, str, Iterable[str]]
"""A KeyUrlPolicy, or URL prefixes trusted in addition to OSS's own."""

@final
class Policy:
    """An upload policy: an expiration and an ordered list of conditions."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    @classmethod
    def parse(cls, source: str, params: Optional[Mapping[str, str]] = None) -> Policy:
        """Parses the policy DSL, its {name} placeholders filled from `params`
        as values (never as policy text); raises PolicySyntaxError listing
        every error, TypeError for a parameter that is not str."""
    @classmethod
    def builder(cls) -> PolicyBuilder:
        """A builder for a policy written in code."""
    @classmethod
    def from_json(cls, text: str) -> Policy:
        """Parses policy JSON as the services accept it; raises PolicyError."""
    @classmethod
    def from_base64(cls, policy_b64: str) -> Policy:
        """Decodes a `policy` form field; raises PolicyError."""
    def to_dsl(self) -> str:
        """The canonical DSL text."""
    def to_json(self, now: Optional[datetime.datetime] = None) -> str:
        """Compact policy JSON; a relative expiration resolves against `now`."""
    def lint(
        self, now: Optional[datetime.datetime] = None, key: Optional[str] = None
    ) -> list[Diagnostic]:
        """Errors and warnings as if the policy were signed at `now` with the
        signer's `key` option (linted as the key condition it adds)."""
    def expires_at(self, now: Optional[datetime.datetime] = None) -> datetime.datetime:
        """When the policy expires if signed at `now`."""
    def __len__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class PolicyBuilder:
    """Builds a Policy condition by condition; the methods chain, and
    build() raises PolicyError for input that makes no sensible policy."""

    def expires_in(self, lifetime: _Seconds) -> PolicyBuilder:
        """`expires in …`: a timedelta or whole seconds from signing."""
    def expires_at(self, at: datetime.datetime) -> PolicyBuilder:
        """`expires at …`: an aware datetime."""
    def key_prefix(self, prefix: str) -> PolicyBuilder:
        """`key starts-with prefix`."""
    def key(self, key: str) -> PolicyBuilder:
        """`key = key`."""
    def content_type(self, content_type: str) -> PolicyBuilder:
        """`content-type = content_type`."""
    def content_type_prefix(self, prefix: str) -> PolicyBuilder:
        """`content-type starts-with prefix`."""
    def content_types(self, types: Iterable[str]) -> PolicyBuilder:
        """`content-type in [...]` (a list of str, at least one)."""
    def size(self, min: int, max: int) -> PolicyBuilder:
        """`content-length min..max` (bytes, inclusive)."""
    def field(self, name: str, value: str) -> PolicyBuilder:
        """`name = value`: an exact form field."""
    def metadata(self, name: str, value: str) -> PolicyBuilder:
        """`x-oss-meta-NAME = value` (or x-amz-meta-), the whole name."""
    def build(self) -> Policy:
        """The policy; raises PolicyError for the first problem met."""

@final
class Diagnostic:
    """One lint finding."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> str:
        """ "error" or "warning"."""
    @property
    def message(self) -> str: ...
    @property
    def condition_index(self) -> Optional[int]: ...
    @property
    def span(self) -> Optional[tuple[int, int]]:
        """Byte offsets (start, end) of the condition in the DSL source."""
    @property
    def is_error(self) -> bool: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Credentials:
    """An access key: id, secret and, for STS, the security token."""

    def __new__(
        cls,
        access_key_id: str,
        access_key_secret: str,
        security_token: Optional[str] = None,
    ) -> Credentials: ...
    @classmethod
    def from_env(cls) -> Optional[Credentials]:
        """From OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET / OSS_SESSION_TOKEN,
        else the ALIBABA_CLOUD_* names; None when no id/secret pair is set."""
    @property
    def access_key_id(self) -> str: ...
    @property
    def security_token(self) -> Optional[str]: ...

@final
class OssSigner:
    """Signs policies for one OSS bucket with one access key."""

    def __new__(
        cls,
        credentials: Credentials,
        region: str,
        bucket: str,
        endpoint: Optional[str] = None,
        version: str = "v4",
        cloudbox_id: Optional[str] = None,
    ) -> OssSigner: ...
    def sign(
        self,
        policy: Policy,
        now: Optional[datetime.datetime] = None,
        key: Optional[str] = None,
        callback: Optional[CallbackSpec] = None,
        pin_callback: bool = True,
    ) -> SignedForm:
        """Signs `policy` at `now`; `key` is an object key or a template
        ending in `${filename}`; `callback` adds the `callback` and `x:`
        fields, pinned in the policy unless `pin_callback` is False."""
    def sign_json(self, policy_json: str, now: Optional[datetime.datetime] = None) -> SignedForm:
        """Signs an exact policy JSON text, byte for byte."""
    @property
    def url(self) -> str: ...
    @property
    def bucket(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def credentials(self) -> Credentials: ...

@final
class S3Signer:
    """Signs S3 presigned POST forms (AWS SigV4): AWS S3, MinIO, Garage, R2, …"""

    def __new__(
        cls,
        credentials: Credentials,
        region: str,
        bucket: str,
        endpoint: Optional[str] = None,
        path_style: Optional[bool] = None,
    ) -> S3Signer: ...
    def sign(
        self,
        policy: Policy,
        now: Optional[datetime.datetime] = None,
        key: Optional[str] = None,
    ) -> SignedForm:
        """Signs `policy` at `now`; refuses `in` / `not-in` (OSS only)."""
    def sign_json(self, policy_json: str, now: Optional[datetime.datetime] = None) -> SignedForm:
        """Signs an exact policy JSON text, byte for byte."""
    @property
    def url(self) -> str: ...
    @property
    def bucket(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def path_style(self) -> bool: ...
    @property
    def credentials(self) -> Credentials: ...

@final
class SignedForm:
    """A signed upload form: POST `fields` (in order) to `url`, with the file
    as the last part, named `file`; `to_json()` is the token for the browser."""

    @property
    def url(self) -> str: ...
    @property
    def fields(self) -> dict[str, str]: ...
    @property
    def expires_at(self) -> datetime.datetime: ...
    @property
    def fields_to_fill(self) -> list[str]: ...
    @property
    def rules(self) -> list[dict[str, Any]]:
        """What a page can check before it sends a byte, as plain data."""
    def to_dict(self) -> dict[str, object]:
        """{"url", "fields", "expires_at" (ISO 8601 text), "fields_to_fill", "rules"}."""
    def to_json(self) -> str:
        """The JSON token for the browser."""

@final
class FileInfo:
    """The file part of a form."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(
        cls,
        filename: str,
        content_type: Optional[str] = None,
        size: Optional[int] = None,
    ) -> FileInfo: ...
    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> Optional[str]: ...
    @property
    def size(self) -> Optional[int]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Accepted:
    """A successful upload."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    @property
    def key(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def redirect(self) -> Optional[str]: ...
    @property
    def content_type(self) -> Optional[str]: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def size_limit(self) -> tuple[int, int]: ...
    @property
    def access_key_id(self) -> Optional[str]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Verifier:
    """Verifies forms posted to one bucket, as OSS would."""

    def __new__(
        cls,
        bucket: str,
        region: str,
        keys: Union[Mapping[str, str], Callable[[str], Optional[str]]],
        clock_skew: Optional[_Seconds] = None,
        allow_anonymous: bool = False,
        cloudbox_id: Optional[str] = None,
    ) -> Verifier: ...
    def verify(
        self,
        fields: _Fields,
        file: _File,
        now: Optional[datetime.datetime] = None,
        fields_after_file: Optional[_Fields] = None,
    ) -> Accepted:
        """Returns Accepted or raises Rejected; a callable `keys` is asked
        once, for the access key id the form names."""
    def explain(
        self,
        policy: Policy,
        fields: _Fields,
        file: _File,
        now: Optional[datetime.datetime] = None,
        fields_after_file: Optional[_Fields] = None,
    ) -> list[Rejected]:
        """Every reason OSS would reject the submission (not raised)."""
    @property
    def bucket(self) -> str: ...

@final
class GcsSigner:
    """Signs Google Cloud Storage V4 POST forms (service account or HMAC key)."""

    def __new__(
        cls,
        service_account: Union[str, os.PathLike[str], Mapping[str, Any]],
        bucket: str,
        url_style: str = "path",
        bound_hostname: Optional[str] = None,
        scheme: str = "https",
        endpoint: Optional[str] = None,
    ) -> GcsSigner: ...
    @classmethod
    def hmac(
        cls,
        access_id: str,
        secret: str,
        bucket: str,
        url_style: str = "path",
        bound_hostname: Optional[str] = None,
        scheme: str = "https",
        endpoint: Optional[str] = None,
    ) -> GcsSigner:
        """A signer with an HMAC key (access id and secret)."""
    def sign(
        self,
        policy: Policy,
        now: Optional[datetime.datetime] = None,
        key: Optional[str] = None,
    ) -> SignedForm:
        """Signs `policy` at `now`; refuses `in` / `not-in` (OSS only)."""
    def sign_json(self, policy_json: str, now: Optional[datetime.datetime] = None) -> SignedForm:
        """Signs an exact policy JSON text, byte for byte."""
    @property
    def url(self) -> str: ...
    @property
    def bucket(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def access_id(self) -> str: ...

@final
class GcsVerifier:
    """Verifies Google Cloud Storage V4 POST forms posted to one bucket, as GCS would."""

    def __new__(
        cls,
        bucket: str,
        keys: Union[Mapping[str, str], Callable[[str], Optional[str]], None] = None,
        service_accounts: Optional[
            Iterable[Union[str, os.PathLike[str], Mapping[str, Any]]]
        ] = None,
    ) -> GcsVerifier: ...
    def verify(
        self,
        fields: _Fields,
        file: _File,
        now: Optional[datetime.datetime] = None,
        fields_after_file: Optional[_Fields] = None,
    ) -> Accepted:
        """Returns Accepted or raises Rejected."""
    def explain(
        self,
        policy: Policy,
        fields: _Fields,
        file: _File,
        now: Optional[datetime.datetime] = None,
        fields_after_file: Optional[_Fields] = None,
    ) -> list[Rejected]:
        """Every reason GCS would reject the submission (not raised)."""
    @property
    def bucket(self) -> Optional[str]: ...

@final
class S3Verifier:
    """Verifies S3 presigned POST forms posted to one bucket, as S3 would."""

    def __new__(
        cls,
        bucket: str,
        region: str,
        keys: Union[Mapping[str, str], Callable[[str], Optional[str]]],
        max_date_age: Optional[_Seconds] = None,
        allow_anonymous: bool = False,
    ) -> S3Verifier: ...
    def verify(
        self,
        fields: _Fields,
        file: _File,
        now: Optional[datetime.datetime] = None,
        fields_after_file: Optional[_Fields] = None,
    ) -> Accepted:
        """Returns Accepted or raises Rejected."""
    def explain(
        self,
        policy: Policy,
        fields: _Fields,
        file: _File,
        now: Optional[datetime.datetime] = None,
        fields_after_file: Optional[_Fields] = None,
    ) -> list[Rejected]:
        """Every reason S3 would reject the submission (not raised)."""
    @property
    def bucket(self) -> str: ...
    @property
    def region(self) -> str: ...

def explain(
    policy: Policy,
    fields: _Fields,
    file: _File,
    now: Optional[datetime.datetime] = None,
    fields_after_file: Optional[_Fields] = None,
    bucket: Optional[str] = None,
) -> list[Rejected]:
    """Every reason `policy` would reject the submission (not raised)."""

def sign_v1(secret: str, policy_b64: str) -> str:
    """base64(HMAC-SHA1(secret, policy_b64))."""

def sign_v4(secret: str, policy_b64: str, date: str, region: str, product: str = "oss") -> str:
    """The OSS V4 signature (hex) of an already-encoded policy; date is yyyymmdd."""

def sign_s3_v4(secret: str, policy_b64: str, date: str, region: str) -> str:
    """The S3 SigV4 signature (hex) of an already-encoded policy; date is yyyymmdd."""

@final
class CallbackSpec:
    """An upload callback: URL(s), body template, body type, host, SNI and
    custom variables; validated when made (raises CallbackError)."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(
        cls,
        url: Union[str, Iterable[str]],
        body: str,
        body_type: str = "application/x-www-form-urlencoded",
        host: Optional[str] = None,
        vars: Optional[_Fields] = None,
        sni: bool = False,
    ) -> CallbackSpec: ...
    @classmethod
    def from_base64(cls, callback: str, vars: Optional[_Fields] = None) -> CallbackSpec:
        """Decodes a `callback` form field; `vars` (the `x:` fields) are checked too when given."""
    @classmethod
    def from_json(cls, text: str, vars: Optional[_Fields] = None) -> CallbackSpec:
        """Decodes the callback JSON; see from_base64."""
    def to_fields(self) -> dict[str, str]:
        """{"callback": base64 of the JSON, "x:…": value, …}, in order."""
    def to_json(self) -> str:
        """The compact callback JSON."""
    @property
    def urls(self) -> list[str]: ...
    @property
    def body(self) -> str: ...
    @property
    def body_type(self) -> str: ...
    @property
    def host(self) -> Optional[str]: ...
    @property
    def sni(self) -> bool: ...
    @property
    def vars(self) -> dict[str, str]: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class CachedKeySource:
    """Keeps the key each canonical URL gave, parsed (at most 32, least
    recently used first out)."""

    def __new__(cls, fetch: Callable[[str], Union[str, bytes]]) -> CachedKeySource: ...
    @property
    def fetch(self) -> Callable[[str], Union[str, bytes]]: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...

@final
class KeyUrlPolicy:
    """Which public-key URLs a callback may name (default: OSS's own)."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls) -> KeyUrlPolicy: ...
    @classmethod
    def none(cls) -> KeyUrlPolicy:
        """A policy that trusts no URL."""
    def allow(self, prefix: str) -> KeyUrlPolicy:
        """A copy that also trusts the URLs under `prefix` (raises
        CallbackError when it is not an http(s) URL)."""
    @property
    def prefixes(self) -> list[str]: ...
    def is_trusted(self, url: str) -> bool: ...
    def check(self, url: str) -> str:
        """The canonical URL to fetch, or raises CallbackError."""
    def __eq__(self, value: object, /) -> bool: ...

@final
class VerifiedCallback:
    """A callback request whose signature checked out."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    @property
    def public_key_url(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...

def verify_callback(
    method: str,
    path: str,
    query: Optional[str],
    headers: _Headers,
    body: _Bytes,
    key_source: _KeySource,
    trusted_key_urls: Optional[_TrustedKeyUrls] = None,
) -> VerifiedCallback:
    """Returns VerifiedCallback or raises CallbackError; `path` raw, `query`
    raw without `?` (None when absent)."""

def callback_string_to_sign(path: str, query: Optional[str], body: _Bytes) -> bytes:
    """unquote(path) + ("?" + query when not None) + "\\n" + body: what OSS signs."""

@final
class CallbackSigner:
    """Signs callback requests as OSS does, with a local private key."""

    @classmethod
    def from_pem(cls, pem: str) -> CallbackSigner:
        """From a PKCS#8 or PKCS#1 PEM private key."""
    @property
    def public_key_pem(self) -> str: ...
    def sign(self, path: str, query: Optional[str], body: _Bytes) -> str:
        """The `authorization` header."""
    def headers(
        self, public_key_url: str, path: str, query: Optional[str], body: _Bytes
    ) -> dict[str, str]:
        """{"authorization": …, "x-oss-pub-key-url": base64(public_key_url)}."""
