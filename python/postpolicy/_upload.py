"""What the framework helpers (``postpolicy.fastapi``, ``postpolicy.django``,
``postpolicy.flask``) share, with no framework imported: choosing the policy,
key and callback for a request, the lint gate, the token JSON, reading and
verifying a callback, and the JSON answers. Each adapter only turns its
framework's request into these calls and a :class:`Reply` into its response.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Callable, Generic, Optional, TypeVar, Union
from urllib.parse import parse_qsl, quote

from ._native import (
    CachedKeySource,
    CallbackSpec,
    Diagnostic,
    KeyUrlPolicy,
    OssSigner,
    Policy,
    S3Signer,
    SignedForm,
)
from .callback import verify_callback
from .errors import CallbackError

__all__ = [
    "DEFAULT_CALLBACK_LIMIT",
    "MAX_LOGGED",
    "Reply",
    "UploadCallback",
    "UploadEndpoints",
]

Req = TypeVar("Req")
T = TypeVar("T")

DEFAULT_CALLBACK_LIMIT = 1024 * 1024
"""The largest callback body read, in bytes. OSS renders a small template
(object key, size, type, a few ``x:`` variables): a body anywhere near this
is not from OSS."""

MAX_LOGGED = 256
"""At most this many distinct lint diagnostics are remembered as logged
(then the memory starts over), so a policy built per request cannot grow it."""

_READ_CHUNK = 64 * 1024

_HEADERS = (("Content-Type", "application/json"), ("Cache-Control", "no-store"))

KeySource = Union[CachedKeySource, Callable[[str], Union[str, bytes]]]
TrustedKeyUrls = Union[KeyUrlPolicy, str, Iterable[str]]


@dataclass(frozen=True)
class Reply:
    """An answer for the adapter to send: a status, a JSON body and the headers
    (``Content-Type: application/json`` and ``Cache-Control: no-store``)."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = _HEADERS

    @classmethod
    def json(cls, status: int, value: object) -> Reply:
        return cls(status, json.dumps(value, ensure_ascii=False).encode())

    @classmethod
    def error(cls, status: int, code: str, message: str) -> Reply:
        return cls.json(status, {"code": code, "message": message})


@dataclass(frozen=True)
class UploadCallback(Generic[Req]):
    """A callback request that OSS signed, handed to ``on_callback``.

    ``body`` is the raw body as received, ``params`` its values: the
    form-urlencoded body as a dict (``bucket``, ``object``, ``size``, the
    ``x:`` variables named in the template, ...), the JSON body parsed, or
    ``None`` when it is neither. ``public_key_url`` is the key that verified
    it; ``request`` the framework's own request object.
    """

    request: Req
    body: bytes
    params: Any
    public_key_url: str


def _params(content_type: Optional[str], body: bytes) -> Any:
    """The callback's values, by its body type (OSS sends one of the two)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    text = body.decode("utf-8", errors="replace")
    if kind == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            return None
    if kind in ("", "application/x-www-form-urlencoded"):
        return dict(parse_qsl(text, keep_blank_values=True))
    return None


def _split_target(target: str) -> tuple[str, Optional[str]]:
    path, sep, query = target.partition("?")
    return path, (query if sep else None)


def wsgi_target(environ: Mapping[str, Any]) -> tuple[str, Optional[str]]:
    """The raw path and query of a WSGI request, as OSS signed them (the
    query is ``None`` when the target has no ``?``).

    Servers that keep the request target (gunicorn's ``RAW_URI``, uWSGI's and
    werkzeug's ``REQUEST_URI``) give it exactly; otherwise the decoded path is
    quoted again, which verifies the same (OSS signs the decoded path), and an
    empty query is taken as no ``?``.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        return _split_target(raw)
    # PEP 3333: the path's bytes, decoded as latin-1.
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    query = str(environ.get("QUERY_STRING", ""))
    return quote(path.encode("latin-1")), (query or None)


def asgi_target(scope: Mapping[str, Any]) -> tuple[str, Optional[str]]:
    """The raw path and query of an ASGI request. ASGI keeps no trace of a
    bare ``?``, so an empty query is taken as no ``?``."""
    raw_path = scope.get("raw_path")
    if isinstance(raw_path, bytes) and raw_path:
        path = raw_path.decode("latin-1")
    else:
        path = quote((str(scope.get("root_path", "")) + str(scope["path"])).encode())
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    return path, (query or None)


def read_limited(read: Callable[[int], bytes], limit: int) -> Optional[bytes]:
    """The whole body from ``read(n)`` calls, or ``None`` past ``limit``
    bytes (reading stops there)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def _resolve(value: Union[T, Callable[[Req], T]], request: Req) -> T:
    """A setting that is either a value or a function of the request."""
    if callable(value):
        return value(request)
    return value


class UploadEndpoints(Generic[Req]):
    """The two endpoints, framework-neutral; see the adapters for the
    arguments. Every per-request setting is a value or a function of the
    request; a function may raise the framework's HTTP exception to refuse
    (401 for a visitor who is not signed in, ...)."""

    def __init__(
        self,
        signer: Union[OssSigner, S3Signer],
        policy: Union[Policy, Callable[[Req], Policy]],
        *,
        key: Union[str, Callable[[Req], Optional[str]], None] = None,
        callback: Union[CallbackSpec, Callable[[Req], Optional[CallbackSpec]], None] = None,
        on_callback: Optional[Callable[[UploadCallback[Req]], Any]] = None,
        key_source: Optional[KeySource] = None,
        trusted_key_urls: Union[TrustedKeyUrls, Callable[[Req], Any], None] = None,
        public_path: Union[str, Callable[[Req], str], None] = None,
        limit: int = DEFAULT_CALLBACK_LIMIT,
        logger: Optional[logging.Logger] = None,
    ) -> None:
        if not isinstance(signer, (OssSigner, S3Signer)):
            raise TypeError(
                f"signer must be a postpolicy.OssSigner or S3Signer, not {type(signer).__name__}"
            )
        if not (isinstance(policy, Policy) or callable(policy)):
            raise TypeError(
                "policy must be a postpolicy.Policy or a function of the request returning one,"
                f" not {type(policy).__name__} (build it with Policy.parse(text, params),"
                " never from formatted text)"
            )
        if not (key is None or isinstance(key, str) or callable(key)):
            raise TypeError(
                f"key must be a str or a function of the request, not {type(key).__name__}"
            )
        if not (callback is None or isinstance(callback, CallbackSpec) or callable(callback)):
            raise TypeError(
                "callback must be a postpolicy.CallbackSpec or a function of the request,"
                f" not {type(callback).__name__}"
            )
        if callback is not None and isinstance(signer, S3Signer):
            raise TypeError("callback is an OSS feature: an S3Signer cannot sign one")
        if on_callback is not None and not callable(on_callback):
            raise TypeError("on_callback must be a function of the verified callback")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise TypeError("limit must be a number of bytes (an int >= 0)")
        if public_path is not None and not (isinstance(public_path, str) or callable(public_path)):
            raise TypeError("public_path must be a str or a function of the request")
        self.signer = signer
        self.policy = policy
        self.key = key
        self.callback = callback
        self.on_callback = on_callback
        self.key_source = key_source
        # A fixed setting is checked now: a bad prefix is a configuration
        # error (CallbackError CALLBACK_KEY_URL_PREFIX), not a 400 per request.
        self.trusted_key_urls = (
            trusted_key_urls
            if trusted_key_urls is None or callable(trusted_key_urls)
            else _key_url_policy(trusted_key_urls)
        )
        self.public_path = public_path
        self.limit = limit
        self.logger = logger or logging.getLogger("postpolicy")
        self._logged: set[tuple[str, str, str]] = set()
        self._logged_lock = threading.Lock()

    @property
    def serves_callbacks(self) -> bool:
        """Whether there is a callback route: only when the forms ask for
        callbacks or the application handles them."""
        return self.callback is not None or self.on_callback is not None

    # ---- GET /upload-token ----------------------------------------------------

    def token(self, request: Req) -> Reply:
        """The signed form as JSON, or 500 ``POLICY_LINT`` when the policy, as
        it would be signed, has an error-level diagnostic (nothing is signed)."""
        policy = _resolve(self.policy, request)
        if not isinstance(policy, Policy):
            raise TypeError(f"the policy function returned {type(policy).__name__}, not a Policy")
        key = _resolve(self.key, request)
        if key is not None and not isinstance(key, str):
            raise TypeError(f"the key function returned {type(key).__name__}, not a str or None")
        spec = _resolve(self.callback, request)
        if spec is not None and not isinstance(spec, CallbackSpec):
            raise TypeError(
                f"the callback function returned {type(spec).__name__}, not a CallbackSpec or None"
            )
        # Linted as signed: with the key condition the `key` option adds.
        diagnostics = policy.lint(key=key)
        for diagnostic in diagnostics:
            self._log_once(diagnostic)
        errors = [d for d in diagnostics if d.is_error]
        if errors:
            return _lint_refusal(errors)
        form: SignedForm
        if isinstance(self.signer, OssSigner):
            form = self.signer.sign(policy, key=key, callback=spec)
        elif spec is not None:
            raise TypeError("callback is an OSS feature: an S3Signer cannot sign one")
        else:
            form = self.signer.sign(policy, key=key)
        # The core's JSON keeps the fields in signing order.
        return Reply(200, form.to_json().encode())

    def _log_once(self, diagnostic: Diagnostic) -> None:
        seen = (diagnostic.severity, diagnostic.code, diagnostic.message)
        with self._logged_lock:
            if seen in self._logged:
                return
            if len(self._logged) >= MAX_LOGGED:
                self._logged.clear()
            self._logged.add(seen)
        log = self.logger.error if diagnostic.is_error else self.logger.warning
        # %r: the message may quote request data; keep it on one line.
        log("upload policy %s %s: %r", diagnostic.severity, diagnostic.code, diagnostic.message)

    # ---- POST /oss-callback ---------------------------------------------------

    def declared_too_large(self, content_length: Optional[str]) -> Optional[Reply]:
        """413 when the request says its body is over the limit (nothing is read)."""
        try:
            declared = int(content_length) if content_length else None
        except ValueError:
            return Reply.error(400, "BAD_CONTENT_LENGTH", "the Content-Length is not a number")
        if declared is not None and declared > self.limit:
            return Reply.error(
                413,
                "BODY_TOO_LARGE",
                f"the callback body ({declared} bytes) is larger than the limit"
                f" of {self.limit} bytes",
            )
        return None

    def too_large(self) -> Reply:
        return Reply.error(
            413,
            "BODY_TOO_LARGE",
            f"the callback body is larger than the limit of {self.limit} bytes",
        )

    def verify(
        self,
        request: Req,
        method: str,
        target: tuple[str, Optional[str]],
        headers: Any,
        body: bytes,
    ) -> Union[UploadCallback[Req], Reply]:
        """The verified callback, or 400 with its ``CALLBACK_*`` code."""
        path, query = target
        if self.public_path is not None:
            public = _resolve(self.public_path, request)
            if not isinstance(public, str):
                raise TypeError(f"public_path gave {type(public).__name__}, not a str")
            if "?" in public:
                path, query = _split_target(public)
            else:
                path = public
        trusted: Any = _resolve(self.trusted_key_urls, request)
        try:
            verified = verify_callback(
                method,
                path,
                query,
                headers,
                body,
                key_source=self.key_source,
                trusted_key_urls=trusted,
            )
        except CallbackError as e:
            return Reply.error(400, e.code, str(e))
        content_type = _header(headers, "content-type")
        return UploadCallback(request, body, _params(content_type, body), verified.public_key_url)

    @staticmethod
    def answer(result: object) -> Reply:
        """200 with what ``on_callback`` returned (OSS hands it to the
        browser as the upload's response), ``{"Status": "OK"}`` for ``None``."""
        return Reply.json(200, {"Status": "OK"} if result is None else result)


def _key_url_policy(value: TrustedKeyUrls) -> KeyUrlPolicy:
    if isinstance(value, KeyUrlPolicy):
        return value
    policy = KeyUrlPolicy()
    for prefix in [value] if isinstance(value, str) else value:
        policy = policy.allow(prefix)
    return policy


def _header(headers: Any, name: str) -> Optional[str]:
    """One header of any of the frameworks' header mappings (all
    case-insensitive lookups with ``get``)."""
    value = headers.get(name)
    return value if isinstance(value, str) else None


def _lint_refusal(errors: list[Diagnostic]) -> Reply:
    return Reply.json(
        500,
        {
            "code": "POLICY_LINT",
            "message": "the upload policy is not signed: "
            + "; ".join(f"{d.code}: {d.message}" for d in errors),
            "diagnostics": [
                {
                    "code": d.code,
                    "severity": d.severity,
                    "message": d.message,
                    "condition_index": d.condition_index,
                }
                for d in errors
            ],
        },
    )
