"""Upload endpoints for Flask: ``pip install postpolicy[flask]``.

::

    from postpolicy.flask import upload_blueprint

    app.register_blueprint(upload_blueprint(signer, policy))

gives ``GET /upload-token`` (the signed form as JSON, for
``postpolicy/browser.js``) and, when the forms carry a callback or
``on_callback`` is given, ``POST /oss-callback`` (verifies that OSS signed
the callback, then answers what ``on_callback`` returns). Flask is imported
when the blueprint is made, so this module imports without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from . import _upload
from ._native import CallbackSpec, OssSigner, Policy, S3Signer
from ._upload import (
    DEFAULT_CALLBACK_LIMIT,
    KeySource,
    Reply,
    TrustedKeyUrls,
    UploadCallback,
    UploadEndpoints,
)

if TYPE_CHECKING:
    import logging

    from flask import Blueprint, Request, Response

__all__ = ["DEFAULT_CALLBACK_LIMIT", "UploadCallback", "upload_blueprint"]


def upload_blueprint(
    signer: Union[OssSigner, S3Signer],
    policy: Union[Policy, Callable[[Request], Policy]],
    *,
    callback: Union[CallbackSpec, Callable[[Request], Optional[CallbackSpec]], None] = None,
    on_callback: Optional[Callable[[UploadCallback[Request]], Any]] = None,
    key: Union[str, Callable[[Request], Optional[str]], None] = None,
    key_source: Optional[KeySource] = None,
    trusted_key_urls: Union[TrustedKeyUrls, Callable[[Request], Any], None] = None,
    public_path: Union[str, Callable[[Request], str], None] = None,
    limit: int = DEFAULT_CALLBACK_LIMIT,
    logger: Optional[logging.Logger] = None,
    name: str = "postpolicy",
    url_prefix: Optional[str] = None,
) -> Blueprint:
    """A blueprint with ``GET /upload-token`` and ``POST /oss-callback``.

    ``policy``, ``key``, ``callback``, ``trusted_key_urls`` and
    ``public_path`` are each a value or a function of the request (for
    per-user prefixes and ``x:`` variables); such a function may raise an
    HTTP exception (``flask.abort(401)``) to refuse. Request data goes into a
    policy as a parameter (``Policy.parse(text, params)``), through
    ``Policy.builder()`` or the ``key`` option, never into the DSL text.

    The token route lints the policy as it is signed (with ``key``): an
    error-level diagnostic is answered with 500 and ``{"code":
    "POLICY_LINT", "message", "diagnostics"}`` (nothing is signed); each
    distinct diagnostic is logged once to ``logger`` (default: the
    ``postpolicy`` logger). ``callback`` is signed into the form and pinned
    in the policy.

    The callback route exists when ``callback`` or ``on_callback`` is given.
    It reads the raw body (at most ``limit`` bytes, else 413), verifies it
    against the request target as received (``public_path`` replaces the
    path, and the query when it has a ``?``, behind a proxy that rewrites
    them) with ``key_source`` and ``trusted_key_urls`` as
    :func:`postpolicy.verify_callback` takes them; a request OSS did not sign
    gets 400 and ``{"code": "CALLBACK_…", "message"}``. Then
    ``on_callback(UploadCallback)`` runs, and what it returns (a JSON-ready
    value; ``None`` for ``{"Status": "OK"}``) is the answer OSS hands to the
    browser. Every answer has ``Cache-Control: no-store``.
    """
    try:
        import flask
    except ImportError as e:  # pragma: no cover - exercised in a subprocess test
        raise ImportError("postpolicy.flask needs Flask: pip install 'postpolicy[flask]'") from e

    endpoints: UploadEndpoints[Request] = UploadEndpoints(
        signer,
        policy,
        key=key,
        callback=callback,
        on_callback=on_callback,
        key_source=key_source,
        trusted_key_urls=trusted_key_urls,
        public_path=public_path,
        limit=limit,
        logger=logger,
    )

    def respond(reply: Reply) -> Response:
        return flask.Response(reply.body, status=reply.status, headers=list(reply.headers))

    def current() -> Request:
        # The request itself, not the context-local proxy: a callback handed
        # to on_callback may be kept after the request.
        return flask.request._get_current_object()  # type: ignore[attr-defined,no-any-return]

    blueprint = flask.Blueprint(name, __name__, url_prefix=url_prefix)

    @blueprint.get("/upload-token")
    def upload_token() -> Response:
        return respond(endpoints.token(current()))

    if endpoints.serves_callbacks:

        @blueprint.post("/oss-callback")
        def oss_callback() -> Response:
            request = current()
            refused = endpoints.declared_too_large(request.headers.get("Content-Length"))
            if refused is not None:
                return respond(refused)
            body = _upload.read_limited(request.stream.read, endpoints.limit)
            if body is None:
                return respond(endpoints.too_large())
            target = _upload.wsgi_target(request.environ)
            outcome = endpoints.verify(request, request.method, target, request.headers, body)
            if isinstance(outcome, Reply):
                return respond(outcome)
            result = on_callback(outcome) if on_callback is not None else None
            return respond(endpoints.answer(result))

    return blueprint
