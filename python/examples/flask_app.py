"""A Flask application that hands browsers signed upload forms and receives
OSS upload callbacks.

``GET /upload-token`` returns the JSON token of a form that lets the signed-in
user upload one image of up to 10 MiB under ``user/<id>/`` and nowhere else.
The page then POSTs the token's ``fields`` (in order) plus the file, named
``file`` and last, to the token's ``url``. When a callback URL is configured,
the form also asks OSS to call it after the upload (signed into the policy,
so the browser cannot change it).

The policy is linted before it is signed: a policy with an error-level
diagnostic gets 500 and ``{"error": "POLICY_LINT", "message", "diagnostics"}``
naming each one (nothing is signed); warnings are logged once each.

``POST /oss-callback`` is that callback: it answers ``{"Status":"OK"}`` only
when the request carries a valid OSS signature, and 400 with a JSON error
otherwise.

Run it with real credentials in the environment::

    OSS_ACCESS_KEY_ID=... OSS_ACCESS_KEY_SECRET=... \\
    OSS_CALLBACK_URL=https://app.example.com/oss-callback flask --app flask_app run

This file is also a test: python/tests/test_flask_example.py drives it with
Flask's test client, and python/tests/test_flask_callback.py serves it on
127.0.0.1 and posts signed callbacks to it.
"""

from __future__ import annotations

import os
from typing import Callable, Optional, Union
from urllib.parse import quote

from flask import Flask, Response, jsonify, request

from postpolicy import (
    CachedKeySource,
    CallbackError,
    CallbackSpec,
    Credentials,
    Diagnostic,
    KeyUrlPolicy,
    OssSigner,
    Policy,
    verify_callback,
)

# One policy for everyone; the per-user part is the key prefix given at
# signing (the signer's `key` option): the user id is a value, never policy
# text. (Policy.parse(text, {"user": user_id}) and Policy.builder() are the
# other safe ways; an f-string into Policy.parse is not.)
UPLOAD_POLICY = Policy.parse(
    """
    expires in 10m
    content-length 1..10MiB
    content-type in [image/png, image/jpeg, image/webp]
    x-oss-content-type in [image/png, image/jpeg, image/webp]
    success_action_status = 201
    """
)

# What OSS posts to the callback after an upload.
CALLBACK_BODY = "bucket=${bucket}&object=${object}&size=${size}&mimeType=${mimeType}&user=${x:user}"


def current_user() -> Optional[str]:
    """Stand-in for the application's authentication: the user id header."""
    user = request.headers.get("X-User-Id", "")
    return user if user.isdigit() else None


def request_target() -> tuple[str, Optional[str]]:
    """The raw path and query of this request, as OSS signed them (the query
    is None when the target has no `?`)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path, sep, query = raw.partition("?")
        return path, (query if sep else None)
    # A server that gives neither: the signature covers the decoded path, so
    # re-quoting it is equivalent; an empty query is taken as no `?`.
    query = request.query_string.decode("latin-1")
    return quote(request.script_root + request.path), (query or None)


# At most this many distinct diagnostics are remembered as logged.
MAX_LOGGED = 256


def create_app(
    signer: OssSigner,
    user: Callable[[], Optional[str]] = current_user,
    callback_url: Optional[str] = None,
    key_source: Union[CachedKeySource, Callable[[str], str], None] = None,
    trusted_key_urls: Union[KeyUrlPolicy, str, None] = None,
    policy: Policy = UPLOAD_POLICY,
) -> Flask:
    """The application. `callback_url` turns callbacks on; `key_source`
    (default: fetch over HTTP, cached) and `trusted_key_urls` (default: OSS's
    own key URL only) are read from `app.config` on each callback, so a test
    can set them once the server's port is known. `policy` is what the tokens
    allow (besides the per-user key prefix)."""
    app = Flask(__name__)
    app.config["OSS_CALLBACK_URL"] = callback_url
    app.config["OSS_CALLBACK_KEY_SOURCE"] = key_source
    app.config["OSS_CALLBACK_TRUSTED_KEY_URLS"] = trusted_key_urls
    logged: set[tuple[str, str, str]] = set()

    def log_once(diagnostic: Diagnostic) -> None:
        """Logs a lint finding the first time it is seen, not on every request."""
        seen = (diagnostic.severity, diagnostic.code, diagnostic.message)
        if seen in logged:
            return
        if len(logged) >= MAX_LOGGED:
            logged.clear()
        logged.add(seen)
        log = app.logger.error if diagnostic.is_error else app.logger.warning
        # %r: the message may quote request data; keep it on one line.
        log("upload policy %s %s: %r", diagnostic.severity, diagnostic.code, diagnostic.message)

    @app.get("/upload-token")
    def upload_token() -> tuple[Response, int]:
        user_id = user()
        if user_id is None:
            return jsonify(error="sign in first"), 401
        key = f"user/{user_id}/${{filename}}"
        # Lint what is signed (the key condition included) before signing it.
        diagnostics = policy.lint(key=key)
        for diagnostic in diagnostics:
            log_once(diagnostic)
        errors = [d for d in diagnostics if d.is_error]
        if errors:
            return (
                jsonify(
                    error="POLICY_LINT",
                    message="the upload policy is not signed: "
                    + "; ".join(f"{d.code}: {d.message}" for d in errors),
                    diagnostics=[
                        {
                            "code": d.code,
                            "severity": d.severity,
                            "message": d.message,
                            "condition_index": d.condition_index,
                        }
                        for d in errors
                    ],
                ),
                500,
            )
        callback = None
        if app.config["OSS_CALLBACK_URL"]:
            callback = CallbackSpec(
                app.config["OSS_CALLBACK_URL"], CALLBACK_BODY, vars={"x:user": user_id}
            )
        form = signer.sign(policy, key=key, callback=callback)
        # The core's JSON keeps the fields in signing order (jsonify would sort them).
        return Response(form.to_json(), mimetype="application/json"), 200

    @app.post("/oss-callback")
    def oss_callback() -> tuple[Response, int]:
        path, query = request_target()
        try:
            verify_callback(
                request.method,
                path,
                query,
                request.headers,
                request.get_data(),
                key_source=app.config["OSS_CALLBACK_KEY_SOURCE"],
                trusted_key_urls=app.config["OSS_CALLBACK_TRUSTED_KEY_URLS"],
            )
        except CallbackError as e:
            return jsonify(error=e.code, message=str(e)), 400
        # Signed by OSS: the body's values can be trusted now.
        app.logger.info(
            "user %s stored %s (%s bytes)",
            request.form.get("user"),
            request.form.get("object"),
            request.form.get("size"),
        )
        return jsonify(Status="OK"), 200

    return app


def app_from_env() -> Flask:
    credentials = Credentials.from_env()
    if credentials is None:
        raise SystemExit("set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET")
    return create_app(
        OssSigner(credentials, region="cn-hangzhou", bucket="examplebucket"),
        callback_url=os.environ.get("OSS_CALLBACK_URL") or None,
    )


if __name__ == "__main__":
    app_from_env().run()
