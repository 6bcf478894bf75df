"""Upload endpoints for Django: ``pip install postpolicy[django]``.

::

    # urls.py
    from django.urls import include, path
    from postpolicy.django import upload_urls

    urlpatterns = [path("uploads/", include(upload_urls(signer, policy)))]

gives ``GET uploads/upload-token`` (the signed form as JSON, for
``postpolicy/browser.js``; URL name ``upload-token``) and, when the forms
carry a callback or ``on_callback`` is given, ``POST uploads/oss-callback``
(URL name ``oss-callback``, exempt from CSRF: OSS signs it instead).
:func:`upload_views` gives the two views themselves. Django is imported
when the views are made, so this module imports without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

    from django.http import HttpRequest, HttpResponse
    from django.urls import URLPattern

__all__ = ["DEFAULT_CALLBACK_LIMIT", "UploadCallback", "UploadViews", "upload_urls", "upload_views"]


@dataclass(frozen=True)
class UploadViews:
    """The two views: ``upload_token`` (GET only) and ``oss_callback`` (POST
    only, CSRF-exempt; ``None`` when there are no callbacks), and ``urls``,
    their URL patterns for ``include()``."""

    upload_token: Callable[[HttpRequest], HttpResponse]
    oss_callback: Optional[Callable[[HttpRequest], HttpResponse]]
    urls: list[URLPattern] = field(default_factory=list)


def upload_views(
    signer: Union[OssSigner, S3Signer],
    policy: Union[Policy, Callable[[HttpRequest], Policy]],
    *,
    callback: Union[CallbackSpec, Callable[[HttpRequest], Optional[CallbackSpec]], None] = None,
    on_callback: Optional[Callable[[UploadCallback[HttpRequest]], Any]] = None,
    key: Union[str, Callable[[HttpRequest], Optional[str]], None] = None,
    key_source: Optional[KeySource] = None,
    trusted_key_urls: Union[TrustedKeyUrls, Callable[[HttpRequest], Any], None] = None,
    public_path: Union[str, Callable[[HttpRequest], str], None] = None,
    limit: int = DEFAULT_CALLBACK_LIMIT,
    logger: Optional[logging.Logger] = None,
) -> UploadViews:
    """The views for ``GET upload-token`` and ``POST oss-callback``.

    ``policy``, ``key``, ``callback``, ``trusted_key_urls`` and
    ``public_path`` are each a value or a function of the request (for
    per-user prefixes and ``x:`` variables); such a function may raise
    ``PermissionDenied`` (403) or return through ``Http404`` to refuse.
    Request data goes into a policy as a parameter (``Policy.parse(text,
    params)``), through ``Policy.builder()`` or the ``key`` option, never
    into the DSL text.

    The token view lints the policy as it is signed (with ``key``): an
    error-level diagnostic is answered with 500 and ``{"code":
    "POLICY_LINT", "message", "diagnostics"}`` (nothing is signed); each
    distinct diagnostic is logged once to ``logger`` (default: the
    ``postpolicy`` logger). ``callback`` is signed into the form and pinned
    in the policy.

    The callback view exists when ``callback`` or ``on_callback`` is given.
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
        from django.http import HttpResponse
        from django.urls import path
        from django.views.decorators.csrf import csrf_exempt
        from django.views.decorators.http import require_GET, require_POST
    except ImportError as e:  # pragma: no cover - exercised in a subprocess test
        raise ImportError("postpolicy.django needs Django: pip install 'postpolicy[django]'") from e

    endpoints: UploadEndpoints[HttpRequest] = UploadEndpoints(
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

    def respond(reply: Reply) -> HttpResponse:
        response = HttpResponse(reply.body, status=reply.status)
        for name, value in reply.headers:
            response[name] = value
        return response

    def token_view(request: HttpRequest) -> HttpResponse:
        return respond(endpoints.token(request))

    upload_token: Callable[[HttpRequest], HttpResponse] = require_GET(token_view)
    urls = [path("upload-token", upload_token, name="upload-token")]
    if not endpoints.serves_callbacks:
        return UploadViews(upload_token, None, urls)

    def callback_view(request: HttpRequest) -> HttpResponse:
        refused = endpoints.declared_too_large(request.META.get("CONTENT_LENGTH"))
        if refused is not None:
            return respond(refused)
        body = _upload.read_limited(request.read, endpoints.limit)
        if body is None:
            return respond(endpoints.too_large())
        target = _upload.wsgi_target(request.META)
        outcome = endpoints.verify(request, request.method or "POST", target, request.headers, body)
        if isinstance(outcome, Reply):
            return respond(outcome)
        result = on_callback(outcome) if on_callback is not None else None
        return respond(endpoints.answer(result))

    # OSS cannot send a CSRF token: its signature is what is checked.
    oss_callback: Callable[[HttpRequest], HttpResponse] = csrf_exempt(require_POST(callback_view))
    urls.append(path("oss-callback", oss_callback, name="oss-callback"))
    return UploadViews(upload_token, oss_callback, urls)


def upload_urls(
    signer: Union[OssSigner, S3Signer],
    policy: Union[Policy, Callable[[HttpRequest], Policy]],
    **options: Any,
) -> list[URLPattern]:
    """The URL patterns of :func:`upload_views` (same arguments), for
    ``include()``."""
    return upload_views(signer, policy, **options).urls
