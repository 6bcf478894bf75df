"""A Flask application that hands browsers signed upload forms and receives
OSS upload callbacks, through ``postpolicy.flask.upload_blueprint``.

``GET /upload-token`` returns the JSON token of a form that lets the signed-in
user upload one image of up to 10 MiB under ``user/<id>/`` and nowhere else.
The page then POSTs the token's ``fields`` (in order) plus the file, named
``file`` and last, to the token's ``url``. When a callback URL is configured,
the form also asks OSS to call it after the upload (signed into the policy,
so the browser cannot change it).

The policy is linted before it is signed: a policy with an error-level
diagnostic gets 500 and ``{"code": "POLICY_LINT", "message", "diagnostics"}``
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

from flask import Flask, Request, abort, jsonify, make_response, request

from postpolicy import (
    CachedKeySource,
    CallbackSpec,
    Credentials,
    KeyUrlPolicy,
    OssSigner,
    Policy,
)
from postpolicy.flask import UploadCallback, upload_blueprint

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


def create_app(
    signer: OssSigner,
    user: Callable[[], Optional[str]] = current_user,
    callback_url: Optional[str] = None,
    key_source: Union[CachedKeySource, Callable[[str], str], None] = None,
    trusted_key_urls: Union[KeyUrlPolicy, str, None] = None,
    policy: Policy = UPLOAD_POLICY,
) -> Flask:
    """The application. `callback_url` turns callbacks on; `key_source`
    (default: fetch over HTTP, cached) is where OSS's public key comes from,
    and `trusted_key_urls` (default: OSS's own key URL only) is read from
    `app.config` on each callback, so a test can set it once the server's
    port is known. `policy` is what the tokens allow (besides the per-user
    key prefix)."""
    app = Flask(__name__)
    app.config["OSS_CALLBACK_URL"] = callback_url
    app.config["OSS_CALLBACK_TRUSTED_KEY_URLS"] = trusted_key_urls

    def signed_in() -> str:
        user_id = user()
        if user_id is None:
            abort(make_response(jsonify(error="sign in first"), 401))
        return user_id

    def key(_: Request) -> str:
        return f"user/{signed_in()}/${{filename}}"

    def callback(_: Request) -> Optional[CallbackSpec]:
        url = app.config["OSS_CALLBACK_URL"]
        if not url:
            return None
        # Signed into the form and pinned in the policy: the browser cannot
        # change the callback or the user it names.
        return CallbackSpec(url, CALLBACK_BODY, vars={"x:user": signed_in()})

    def stored(upload: UploadCallback[Request]) -> None:
        # Signed by OSS: the body's values can be trusted now.
        values = upload.params or {}
        app.logger.info(
            "user %s stored %s (%s bytes)",
            values.get("user"),
            values.get("object"),
            values.get("size"),
        )

    app.register_blueprint(
        upload_blueprint(
            signer,
            policy,
            key=key,
            callback=callback,
            on_callback=stored,
            key_source=key_source,
            trusted_key_urls=lambda _: app.config["OSS_CALLBACK_TRUSTED_KEY_URLS"],
        )
    )
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
