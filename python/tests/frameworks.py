"""One driver per web framework, so the same tests run against
postpolicy.fastapi (FastAPI's TestClient), postpolicy.django (Django's test
client, CSRF checks on) and postpolicy.flask (Flask's test client): each
mounts the helper with the given arguments and sends requests through the
framework itself."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from typing import Any, Callable, Optional

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="postpolicy-tests-only",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()

urlpatterns: list[Any] = []


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Mounted:
    """A helper mounted in an application, and how to send it requests."""

    get: Callable[..., Answer]
    post: Callable[..., Answer]


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def mount_flask(signer: Any, policy: Any, prefix: str = "", **options: Any) -> Mounted:
    import flask

    from postpolicy.flask import upload_blueprint

    app = flask.Flask("postpolicy_tests")
    app.register_blueprint(upload_blueprint(signer, policy, **options), url_prefix=prefix or None)
    client = app.test_client()

    def get(path: str, headers: Optional[dict[str, str]] = None) -> Answer:
        r = client.get(path, headers=headers or {})
        return Answer(r.status_code, _lower(r.headers), r.get_data())

    def post(path: str, body: bytes, headers: Optional[dict[str, str]] = None) -> Answer:
        r = client.post(path, data=body, headers=headers or {})
        return Answer(r.status_code, _lower(r.headers), r.get_data())

    return Mounted(get, post)


def mount_fastapi(signer: Any, policy: Any, prefix: str = "", **options: Any) -> Mounted:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from postpolicy.fastapi import upload_router

    app = FastAPI()
    app.include_router(upload_router(signer, policy, **options), prefix=prefix)
    client = TestClient(app)

    def get(path: str, headers: Optional[dict[str, str]] = None) -> Answer:
        r = client.get(path, headers=headers or {})
        return Answer(r.status_code, _lower(r.headers), r.content)

    def post(path: str, body: bytes, headers: Optional[dict[str, str]] = None) -> Answer:
        r = client.post(path, content=body, headers=headers or {})
        return Answer(r.status_code, _lower(r.headers), r.content)

    return Mounted(get, post)


def mount_django(signer: Any, policy: Any, prefix: str = "", **options: Any) -> Mounted:
    from django.test import Client, override_settings
    from django.urls import include, path

    from postpolicy.django import upload_urls

    urls = types.ModuleType("postpolicy_tests_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path(
            prefix.lstrip("/") + ("/" if prefix else ""),
            include(upload_urls(signer, policy, **options)),
        )
    ]
    client = Client(enforce_csrf_checks=True)

    def answer(r: Any) -> Answer:
        return Answer(r.status_code, _lower(r.headers), r.content)

    def get(target: str, headers: Optional[dict[str, str]] = None) -> Answer:
        with override_settings(ROOT_URLCONF=urls):
            return answer(client.get(target, headers=headers or {}))

    def post(target: str, body: bytes, headers: Optional[dict[str, str]] = None) -> Answer:
        headers = dict(headers or {})
        content_type = headers.pop("Content-Type", "application/octet-stream")
        with override_settings(ROOT_URLCONF=urls):
            return answer(
                client.post(target, data=body, content_type=content_type, headers=headers)
            )

    return Mounted(get, post)


MOUNTS: dict[str, Callable[..., Mounted]] = {
    "fastapi": mount_fastapi,
    "django": mount_django,
    "flask": mount_flask,
}
