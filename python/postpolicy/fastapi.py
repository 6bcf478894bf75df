"""Upload endpoints for FastAPI: ``pip install postpolicy[fastapi]``.

::

    from postpolicy.fastapi import upload_router

    app.include_router(upload_router(signer, policy))

gives ``GET /upload-token`` (the signed form as JSON, for
``postpolicy/browser.js``) and, when the forms carry a callback or
``on_callback`` is given, ``POST /oss-callback`` (verifies that OSS signed
the callback, then answers what ``on_callback`` returns). FastAPI is
imported when the router is made, so this module imports without it.
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoints'
# annotations at run time, and they name classes imported inside the factory.

import inspect
import logging
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
    from fastapi import APIRouter, Request

__all__ = ["DEFAULT_CALLBACK_LIMIT", "UploadCallback", "upload_router"]


def upload_router(
    signer: Union[OssSigner, S3Signer],
    policy: Union[Policy, Callable[["Request"], Policy]],
    *,
    callback: Union[CallbackSpec, Callable[["Request"], Optional[CallbackSpec]], None] = None,
    on_callback: Optional[Callable[[UploadCallback["Request"]], Any]] = None,
    key: Union[str, Callable[["Request"], Optional[str]], None] = None,
    key_source: Optional[KeySource] = None,
    trusted_key_urls: Union[TrustedKeyUrls, Callable[["Request"], Any], None] = None,
    public_path: Union[str, Callable[["Request"], str], None] = None,
    limit: int = DEFAULT_CALLBACK_LIMIT,
    logger: Optional[logging.Logger] = None,
    **router_options: Any,
) -> "APIRouter":
    """An ``APIRouter`` with ``GET /upload-token`` and ``POST /oss-callback``.

    ``policy``, ``key``, ``callback``, ``trusted_key_urls`` and
    ``public_path`` are each a value or a (plain) function of the request,
    for per-user prefixes and ``x:`` variables; such a function may raise
    ``HTTPException`` to refuse, and ``dependencies=[Depends(...)]`` (passed
    on to the router with the other ``router_options``) guards both routes.
    Request data goes into a policy as a parameter (``Policy.parse(text,
    params)``), through ``Policy.builder()`` or the ``key`` option, never
    into the DSL text.

    The token route lints the policy as it is signed (with ``key``): an
    error-level diagnostic is answered with 500 and ``{"code":
    "POLICY_LINT", "message", "diagnostics"}`` (nothing is signed); each
    distinct diagnostic is logged once to ``logger`` (default: the
    ``postpolicy`` logger). ``callback`` is signed into the form and pinned
    in the policy.

    The callback route exists when ``callback`` or ``on_callback`` is given.
    It reads the raw body (at most ``limit`` bytes, else 413) and verifies it
    in a worker thread (fetching OSS's key blocks, once), against the raw
    request target (ASGI keeps no bare ``?``; ``public_path`` replaces the
    path, and the query when it has a ``?``), with ``key_source`` and
    ``trusted_key_urls`` as :func:`postpolicy.verify_callback` takes them; a
    request OSS did not sign gets 400 and ``{"code": "CALLBACK_…",
    "message"}``. Then ``on_callback(UploadCallback)`` runs (a coroutine
    function works too), and what it returns (a JSON-ready value; ``None``
    for ``{"Status": "OK"}``) is the answer OSS hands to the browser. Every
    answer has ``Cache-Control: no-store``.
    """
    try:
        from fastapi import APIRouter, Request, Response
        from starlette.concurrency import run_in_threadpool
    except ImportError as e:  # pragma: no cover - exercised in a subprocess test
        raise ImportError(
            "postpolicy.fastapi needs FastAPI: pip install 'postpolicy[fastapi]'"
        ) from e

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
        return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

    router = APIRouter(**router_options)

    @router.get("/upload-token", response_class=Response)
    def upload_token(request: Request) -> Response:
        # A plain function: FastAPI runs it in its thread pool, so policy and
        # key functions may block (a database lookup) without stalling the loop.
        return respond(endpoints.token(request))

    if endpoints.serves_callbacks:

        @router.post("/oss-callback", response_class=Response)
        async def oss_callback(request: Request) -> Response:
            refused = endpoints.declared_too_large(request.headers.get("content-length"))
            if refused is not None:
                return respond(refused)
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > endpoints.limit:
                    return respond(endpoints.too_large())
            outcome = await run_in_threadpool(
                endpoints.verify,
                request,
                request.method,
                _upload.asgi_target(request.scope),
                request.headers,
                bytes(body),
            )
            if isinstance(outcome, Reply):
                return respond(outcome)
            result = on_callback(outcome) if on_callback is not None else None
            if inspect.isawaitable(result):
                result = await result
            return respond(endpoints.answer(result))

    return router
