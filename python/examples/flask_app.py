"""A Flask application that hands browsers signed upload forms.

``GET /upload-token`` returns the JSON token of a form that lets the signed-in
user upload one image of up to 10 MiB under ``user/<id>/`` and nowhere else.
The page then POSTs the token's ``fields`` (in order) plus the file, named
``file`` and last, to the token's ``url``.

Run it with real credentials in the environment::

    OSS_ACCESS_KEY_ID=... OSS_ACCESS_KEY_SECRET=... flask --app flask_app run

This file is also a test: python/tests/test_flask_example.py drives it with
Flask's test client.
"""

from __future__ import annotations

from typing import Callable, Optional

from flask import Flask, Response, jsonify, request

from postpolicy import Credentials, OssSigner, Policy

# One policy for everyone; the per-user part is the key prefix given at signing.
UPLOAD_POLICY = Policy.parse(
    """
    expires in 10m
    content-length 1..10MiB
    content-type in [image/png, image/jpeg, image/webp]
    success_action_status = 201
    """
)


def current_user() -> Optional[str]:
    """Stand-in for the application's authentication: the user id header."""
    user = request.headers.get("X-User-Id", "")
    return user if user.isdigit() else None


def create_app(
    signer: OssSigner, user: Callable[[], Optional[str]] = current_user
) -> Flask:
    app = Flask(__name__)

    @app.get("/upload-token")
    def upload_token() -> tuple[Response, int]:
        user_id = user()
        if user_id is None:
            return jsonify(error="sign in first"), 401
        form = signer.sign(UPLOAD_POLICY, key=f"user/{user_id}/${{filename}}")
        # The core's JSON keeps the fields in signing order (jsonify would sort them).
        return Response(form.to_json(), mimetype="application/json"), 200

    return app


def app_from_env() -> Flask:
    credentials = Credentials.from_env()
    if credentials is None:
        raise SystemExit("set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET")
    return create_app(OssSigner(credentials, region="cn-hangzhou", bucket="examplebucket"))


if __name__ == "__main__":
    app_from_env().run()
