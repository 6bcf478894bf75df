"""postpolicy.fastapi, postpolicy.django and postpolicy.flask, each driven by
its framework's own test client (tests/frameworks.py): the same token, lint
gate, headers and callback verification from all three."""

from __future__ import annotations

import datetime
import json
import logging
import subprocess
import sys
from typing import Any, Callable, NoReturn

import pytest
from conftest import VECTORS, load
from frameworks import MOUNTS, Mounted

import postpolicy
from postpolicy import (
    CallbackError,
    CallbackSigner,
    CallbackSpec,
    Credentials,
    FileInfo,
    OssSigner,
    Policy,
    S3Signer,
    S3Verifier,
    Verifier,
)

KEY_ID, SECRET = "LTAI5tFrameworks0001", "FrameworksSecretKZo149BD9GLPN"
TEST_KEY = load(VECTORS)["callback"]["synthetic_test_key"]
KEY_URL = "https://keys.example.com/callback_pub_key.pem"
KEYS = {KEY_URL: TEST_KEY["public_key_pem"]}
FORM = "application/x-www-form-urlencoded"
BODY = b"bucket=examplebucket&object=user%2F42%2Fcat.png&size=2048&mimeType=image%2Fpng&user=42"
POLICY = Policy.parse("expires in 10m\ncontent-length 1..10MiB\nsuccess_action_status = 201")

FRAMEWORKS = sorted(MOUNTS)


def refusal(framework: str) -> tuple[Callable[[], NoReturn], int]:
    """How each framework's request function refuses, and the status it gives."""
    if framework == "fastapi":
        from fastapi import HTTPException

        def refuse_fastapi() -> NoReturn:
            raise HTTPException(401, "sign in first")

        return refuse_fastapi, 401
    if framework == "django":
        from django.core.exceptions import PermissionDenied

        def refuse_django() -> NoReturn:
            raise PermissionDenied("sign in first")

        return refuse_django, 403
    import flask

    def refuse_flask() -> NoReturn:
        flask.abort(401)

    return refuse_flask, 401


def signer() -> OssSigner:
    return OssSigner(Credentials(KEY_ID, SECRET), region="cn-hangzhou", bucket="examplebucket")


def mount(framework: str, policy: Any = POLICY, **options: Any) -> Mounted:
    return MOUNTS[framework](options.pop("signer", None) or signer(), policy, **options)


def callback_options(**more: Any) -> dict[str, Any]:
    return {"key_source": KEYS.__getitem__, "trusted_key_urls": "https://keys.example.com/", **more}


def signed_headers(
    path: str, query: str | None, body: bytes, content_type: str = FORM
) -> dict[str, str]:
    headers = CallbackSigner.from_pem(TEST_KEY["private_key_pem"]).headers(
        KEY_URL, path, query, body
    )
    return {**headers, "Content-Type": content_type}


def browser_fields(token: dict[str, Any], key: str) -> list[tuple[str, str]]:
    fields = dict(token["fields"])
    fields["key"] = key
    return list(fields.items())


def signed_at(token: dict[str, Any]) -> datetime.datetime:
    expires = datetime.datetime.fromisoformat(token["expires_at"].replace("Z", "+00:00"))
    return expires - datetime.timedelta(minutes=5)


# ---- GET /upload-token --------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_token_is_the_signed_form_json(framework: str) -> None:
    app = mount(framework, key="user/42/${filename}")
    answer = app.get("/upload-token")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "no-store"
    token = answer.json()
    assert set(token) == {"url", "fields", "expires_at", "fields_to_fill", "rules"}
    assert token["url"] == "https://examplebucket.oss-cn-hangzhou.aliyuncs.com"
    # The fields keep their signing order through the framework.
    assert list(token["fields"])[0] == "key"
    assert list(token["fields"])[-1] == "x-oss-signature"
    assert token["fields"]["key"] == "user/42/${filename}"
    # What the page can check before it sends a byte travels with the form.
    sizes = [r for r in token["rules"] if r["op"] == "content-length-range"]
    assert [(r["min"], r["max"]) for r in sizes] == [(1, 10 * 1024 * 1024)]

    verifier = Verifier("examplebucket", "cn-hangzhou", {KEY_ID: SECRET})
    png = FileInfo("cat.png", "image/png", 2048)
    now = signed_at(token)
    accepted = verifier.verify(browser_fields(token, "user/42/${filename}"), png, now=now)
    assert (accepted.key, accepted.status) == ("user/42/cat.png", 201)
    with pytest.raises(postpolicy.Rejected) as info:
        verifier.verify(browser_fields(token, "user/7/cat.png"), png, now=now)
    assert info.value.service_code == "AccessDenied"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_policy_and_key_are_functions_of_the_request(framework: str) -> None:
    seen: list[Any] = []

    def policy(request: Any) -> Policy:
        seen.append(request)
        user = request.headers.get("X-User-Id")
        # The user id is a parameter, never policy text.
        return Policy.parse(
            'expires in 10m\nkey starts-with "user/{user}/"\ncontent-length 1..1MiB', {"user": user}
        )

    app = mount(framework, policy, key=lambda request: None)
    token = app.get("/upload-token", {"X-User-Id": '7"]'}).json()
    assert len(seen) == 1 and hasattr(seen[0], "headers")
    assert token["fields_to_fill"] == ["key"]
    conditions = json.loads(postpolicy.Policy.from_base64(token["fields"]["policy"]).to_json())
    assert ["starts-with", "$key", 'user/7"]/'] in conditions["conditions"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_request_function_may_refuse(framework: str) -> None:
    refuse, status = refusal(framework)

    def key(request: Any) -> str:
        refuse()

    answer = mount(framework, key=key).get("/upload-token")
    assert answer.status == status
    assert b"policy" not in answer.body


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_policy_with_a_lint_error_is_refused_with_500(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = mount(framework, Policy.parse("expires in 10m\ncontent-length 10..1"))
    with caplog.at_level(logging.WARNING, logger="postpolicy"):
        for _ in range(2):
            answer = app.get("/upload-token")
            assert answer.status == 500
            assert answer.headers["cache-control"] == "no-store"
            body = answer.json()
            assert body["code"] == "POLICY_LINT"
            assert "fields" not in body
            assert [d["code"] for d in body["diagnostics"]] == ["range-min-above-max"]
            assert body["diagnostics"][0]["condition_index"] == 0
    logged = [r for r in caplog.records if "range-min-above-max" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelname == "ERROR"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_key_option_is_linted_as_signed(
    framework: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The key given at signing is the key condition: no `no-key-condition`
    # warning with it, and a key outside the policy's own prefix is an error.
    with caplog.at_level(logging.WARNING, logger="postpolicy"):
        assert mount(framework, POLICY, key="user/1/${filename}").get("/upload-token").status == 200
        assert caplog.records == []
        assert mount(framework, POLICY).get("/upload-token").status == 200
        assert [r.getMessage().split(":")[0] for r in caplog.records] == [
            "upload policy warning no-key-condition"
        ]
    policy = Policy.parse('expires in 10m\nkey starts-with "user/1/"\ncontent-length 1..1KiB')
    answer = mount(framework, policy, key="user/2/cat.png").get("/upload-token")
    assert answer.status == 500
    assert [d["code"] for d in answer.json()["diagnostics"]] == ["eq-contradicts-starts-with"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_callback_is_signed_into_the_token_per_request(framework: str) -> None:
    def callback(request: Any) -> CallbackSpec:
        user = request.headers.get("X-User-Id", "")
        return CallbackSpec(
            "https://app.example.com/oss-callback", "o=${object}&u=${x:user}", vars={"x:user": user}
        )

    app = mount(framework, key="user/42/${filename}", callback=callback)
    token = app.get("/upload-token", {"X-User-Id": "42"}).json()
    fields = token["fields"]
    assert fields["x:user"] == "42"
    spec = CallbackSpec.from_base64(fields["callback"], vars={"x:user": "42"})
    assert spec.urls == ["https://app.example.com/oss-callback"]
    pinned = Policy.from_base64(fields["policy"]).to_dsl()
    assert f"callback = {fields['callback']}" in pinned and "x:user = 42" in pinned


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_s3_signer_works_without_callbacks(framework: str) -> None:
    s3 = S3Signer(Credentials(KEY_ID, SECRET), region="us-east-1", bucket="examplebucket")
    token = mount(framework, signer=s3, key="user/42/${filename}").get("/upload-token").json()
    assert token["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    verifier = S3Verifier("examplebucket", "us-east-1", {KEY_ID: SECRET})
    png = FileInfo("cat.png", "image/png", 10)
    accepted = verifier.verify(browser_fields(token, "user/42/a.png"), png, now=signed_at(token))
    assert accepted.key == "user/42/a.png"


def test_arguments_are_checked_when_the_helper_is_made() -> None:
    from postpolicy.flask import upload_blueprint

    with pytest.raises(TypeError, match="signer must be"):
        upload_blueprint("signer", POLICY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="never from formatted text"):
        upload_blueprint(signer(), "expires in 10m")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key must be"):
        upload_blueprint(signer(), POLICY, key=42)  # type: ignore[arg-type]
    s3 = S3Signer(Credentials(KEY_ID, SECRET), region="us-east-1", bucket="examplebucket")
    spec = CallbackSpec("https://app.example.com/cb", "o=${object}")
    with pytest.raises(TypeError, match="S3Signer cannot sign one"):
        upload_blueprint(s3, POLICY, callback=spec)
    with pytest.raises(TypeError, match="limit must be"):
        upload_blueprint(signer(), POLICY, on_callback=print, limit=-1)
    with pytest.raises(CallbackError) as info:
        upload_blueprint(signer(), POLICY, on_callback=print, trusted_key_urls="ftp://keys/")
    assert info.value.code == "CALLBACK_KEY_URL_PREFIX"


# ---- POST /oss-callback ---------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_signed_callback_reaches_on_callback(framework: str) -> None:
    received: list[Any] = []

    def on_callback(upload: Any) -> dict[str, Any]:
        received.append(upload)
        return {"Status": "OK", "stored": upload.params["object"]}

    app = mount(framework, **callback_options(on_callback=on_callback))
    answer = app.post(
        "/oss-callback?src=oss", BODY, signed_headers("/oss-callback", "src=oss", BODY)
    )
    assert (answer.status, answer.json()) == (200, {"Status": "OK", "stored": "user/42/cat.png"})
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "no-store"
    (upload,) = received
    assert upload.body == BODY
    assert upload.params == {
        "bucket": "examplebucket",
        "object": "user/42/cat.png",
        "size": "2048",
        "mimeType": "image/png",
        "user": "42",
    }
    assert upload.public_key_url == KEY_URL
    assert hasattr(upload.request, "headers")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_json_callback_and_the_default_answer(framework: str) -> None:
    received: list[Any] = []
    app = mount(framework, **callback_options(on_callback=lambda upload: received.append(upload)))
    body = b'{"object":"a.png","size":12,"x:user":"42"}'
    headers = signed_headers("/oss-callback", None, body, "application/json")
    answer = app.post("/oss-callback", body, headers)
    assert (answer.status, answer.json()) == (200, {"Status": "OK"})
    assert received[0].params == {"object": "a.png", "size": 12, "x:user": "42"}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_one_changed_body_byte_is_refused(framework: str) -> None:
    calls: list[Any] = []
    app = mount(framework, **callback_options(on_callback=calls.append))
    headers = signed_headers("/oss-callback", None, BODY)
    tampered = bytearray(BODY)
    tampered[-1] ^= 1  # user=42 -> user=43
    answer = app.post("/oss-callback", bytes(tampered), headers)
    assert answer.status == 400
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json()["code"] == "CALLBACK_BAD_SIGNATURE"
    # Signed for another path or query: refused too.
    assert app.post("/oss-callback?x=1", BODY, headers).status == 400
    assert calls == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_unsigned_and_untrusted_callbacks_are_refused_unfetched(framework: str) -> None:
    fetched: list[str] = []

    def key_source(url: str) -> str:
        fetched.append(url)
        return str(TEST_KEY["public_key_pem"])

    app = mount(
        framework,
        on_callback=print,
        key_source=key_source,
        trusted_key_urls="https://keys.example.com/",
    )
    answer = app.post("/oss-callback", BODY, {"Content-Type": FORM})
    assert (answer.status, answer.json()["code"]) == (400, "CALLBACK_MISSING_PUB_KEY_URL")
    evil = CallbackSigner.from_pem(TEST_KEY["private_key_pem"]).headers(
        "https://evil.example.com/k.pem", "/oss-callback", None, BODY
    )
    answer = app.post("/oss-callback", BODY, {**evil, "Content-Type": FORM})
    assert (answer.status, answer.json()["code"]) == (400, "CALLBACK_UNTRUSTED_KEY_URL")
    assert fetched == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_trusted_key_urls_may_be_read_per_request(framework: str) -> None:
    trusted = {"prefix": "https://other.example.com/"}
    app = mount(
        framework,
        on_callback=print,
        key_source=KEYS.__getitem__,
        trusted_key_urls=lambda request: trusted["prefix"],
    )
    headers = signed_headers("/oss-callback", None, BODY)
    assert app.post("/oss-callback", BODY, headers).json()["code"] == "CALLBACK_UNTRUSTED_KEY_URL"
    trusted["prefix"] = "https://keys.example.com/"
    assert app.post("/oss-callback", BODY, headers).status == 200


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_body_over_the_limit_is_refused_with_413(framework: str) -> None:
    calls: list[Any] = []
    app = mount(framework, **callback_options(on_callback=calls.append, limit=len(BODY) - 1))
    answer = app.post("/oss-callback", BODY, signed_headers("/oss-callback", None, BODY))
    assert answer.status == 413
    assert answer.json()["code"] == "BODY_TOO_LARGE"
    assert str(len(BODY) - 1) in answer.json()["message"]
    assert calls == []
    exact = mount(framework, **callback_options(on_callback=calls.append, limit=len(BODY)))
    assert (
        exact.post("/oss-callback", BODY, signed_headers("/oss-callback", None, BODY)).status == 200
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_public_path_is_what_oss_called_behind_a_proxy(framework: str) -> None:
    # OSS called https://app.example.com/api/oss-callback?src=oss; the proxy
    # forwarded it here as /oss-callback.
    headers = signed_headers("/api/oss-callback", "src=oss", BODY)
    plain = mount(framework, **callback_options(on_callback=print))
    assert plain.post("/oss-callback?src=oss", BODY, headers).status == 400
    behind = mount(
        framework, **callback_options(on_callback=print, public_path="/api/oss-callback")
    )
    assert behind.post("/oss-callback?src=oss", BODY, headers).status == 200
    whole = mount(
        framework,
        **callback_options(on_callback=print, public_path=lambda r: "/api/oss-callback?src=oss"),
    )
    assert whole.post("/oss-callback", BODY, headers).status == 200


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_routes_and_methods(framework: str) -> None:
    # No callback and no on_callback: no callback route.
    assert mount(framework).post("/oss-callback", BODY, {"Content-Type": FORM}).status in (404, 405)
    app = mount(framework, **callback_options(on_callback=print))
    assert app.get("/oss-callback").status == 405
    # (Django's CSRF check answers a POST before the view can: 403.)
    token_post = app.post("/upload-token", b"", {"Content-Type": FORM}).status
    assert token_post == (403 if framework == "django" else 405)
    prefixed = mount(framework, prefix="/uploads", **callback_options(on_callback=print))
    assert prefixed.get("/uploads/upload-token").status == 200
    headers = signed_headers("/uploads/oss-callback", None, BODY)
    assert prefixed.post("/uploads/oss-callback", BODY, headers).status == 200


# ---- what only one framework has ------------------------------------------------


def test_django_callback_needs_no_csrf_token_but_other_posts_do() -> None:
    # tests/frameworks.py's Django client enforces CSRF checks: the callback
    # passes on OSS's signature alone.
    from django.http import HttpResponse
    from django.test import Client, override_settings
    from django.urls import include, path

    from postpolicy.django import upload_urls, upload_views

    views = upload_views(signer(), POLICY, **callback_options(on_callback=print))
    assert views.oss_callback is not None
    assert [p.name for p in views.urls] == ["upload-token", "oss-callback"]
    assert upload_views(signer(), POLICY).oss_callback is None

    def form_post(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    import types

    urls = types.ModuleType("csrf_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("", include(upload_urls(signer(), POLICY, **callback_options(on_callback=print)))),
        path("form", form_post),
    ]
    client = Client(enforce_csrf_checks=True)
    headers = signed_headers("/oss-callback", None, BODY)
    with override_settings(ROOT_URLCONF=urls):
        assert client.post("/form", data=b"a=1", content_type=FORM).status_code == 403
        answer = client.post("/oss-callback", data=BODY, content_type=FORM, headers=headers)
        assert answer.status_code == 200


def test_fastapi_dependencies_guard_both_routes() -> None:
    from fastapi import Depends, FastAPI, Header, HTTPException
    from fastapi.testclient import TestClient

    from postpolicy.fastapi import upload_router

    def signed_in(x_user_id: str = Header(default="")) -> str:
        if not x_user_id.isdigit():
            raise HTTPException(401, "sign in first")
        return x_user_id

    app = FastAPI()
    app.include_router(
        upload_router(
            signer(), POLICY, key="user/42/${filename}", dependencies=[Depends(signed_in)]
        )
    )
    client = TestClient(app)
    assert client.get("/upload-token").status_code == 401
    assert client.get("/upload-token", headers={"X-User-Id": "42"}).status_code == 200
    assert "/upload-token" in client.get("/openapi.json").json()["paths"]


def test_fastapi_on_callback_may_be_a_coroutine_function() -> None:
    received: list[str] = []

    async def on_callback(upload: Any) -> dict[str, str]:
        received.append(upload.params["object"])
        return {"Status": "OK"}

    app = mount("fastapi", **callback_options(on_callback=on_callback))
    answer = app.post("/oss-callback", BODY, signed_headers("/oss-callback", None, BODY))
    assert (answer.status, answer.json()) == (200, {"Status": "OK"})
    assert received == ["user/42/cat.png"]


@pytest.mark.parametrize(
    "module, factory",
    [("fastapi", "upload_router"), ("django", "upload_views"), ("flask", "upload_blueprint")],
)
def test_the_modules_import_without_their_framework(module: str, factory: str) -> None:
    # The framework is imported when the helper is made: `import
    # postpolicy.<framework>` works without the extra, and the helper says
    # which extra to install.
    script = f"""
import sys
sys.modules[{module!r}] = None  # as if it were not installed
import postpolicy
from postpolicy.{module} import {factory}
signer = postpolicy.OssSigner(postpolicy.Credentials("id", "secret"), "cn-hangzhou", "bucket")
try:
    {factory}(signer, postpolicy.Policy.parse("expires in 1h"))
except ImportError as e:
    print(e)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert f"pip install 'postpolicy[{module}]'" in out.stdout
