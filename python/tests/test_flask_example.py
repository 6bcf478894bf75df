"""The Flask example (python/examples/flask_app.py), driven by its test
client: the token it hands out is a form that the verifier accepts for the
signed-in user's prefix, and only there."""

from __future__ import annotations

import datetime
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import postpolicy

flask = pytest.importorskip("flask")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flask_app.py"
KEY_ID, SECRET = "LTAI5tFlaskExample01", "FlaskExampleSecretKZo149BD9GLPN"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flask_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["flask_app"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


@pytest.fixture
def client(example: ModuleType) -> Any:
    signer = postpolicy.OssSigner(
        postpolicy.Credentials(KEY_ID, SECRET), region="cn-hangzhou", bucket="examplebucket"
    )
    return example.create_app(signer).test_client()


def browser_fields(token: dict[str, Any], key: str) -> list[tuple[str, str]]:
    """What the upload page sends: the token's fields, the key filled in, and
    every type field it asks for (Content-Type, x-oss-content-type) set to
    the file's type, as browser.js does."""
    fields = dict(token["fields"])
    fields["key"] = key
    for name in token["fields_to_fill"]:
        if name.lower() in ("content-type", "x-oss-content-type"):
            fields[name] = "image/png"
    return list(fields.items())


def test_upload_token_for_a_user(client: Any) -> None:
    response = client.get("/upload-token", headers={"X-User-Id": "42"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    token = response.get_json()
    assert set(token) == {"url", "fields", "expires_at", "fields_to_fill", "rules"}
    assert token["url"] == "https://examplebucket.oss-cn-hangzhou.aliyuncs.com"
    assert token["fields"]["key"] == "user/42/${filename}"
    assert token["fields"]["success_action_status"] == "201"
    assert token["fields"]["x-oss-signature-version"] == "OSS4-HMAC-SHA256"
    assert token["fields_to_fill"] == ["Content-Type", "x-oss-content-type"]
    # The fields keep their signing order through Flask's JSON.
    assert list(token["fields"])[-1] == "x-oss-signature"

    expires = datetime.datetime.fromisoformat(token["expires_at"].replace("Z", "+00:00"))
    now = expires - datetime.timedelta(minutes=5)
    verifier = postpolicy.Verifier("examplebucket", "cn-hangzhou", {KEY_ID: SECRET})
    png = postpolicy.FileInfo("cat.png", "image/png", 2048)
    accepted = verifier.verify(browser_fields(token, "user/42/${filename}"), png, now=now)
    assert (accepted.key, accepted.status) == ("user/42/cat.png", 201)

    with pytest.raises(postpolicy.Rejected) as info:
        verifier.verify(browser_fields(token, "user/7/cat.png"), png, now=now)
    assert info.value.service_code == "AccessDenied"
    too_big = postpolicy.FileInfo("cat.png", "image/png", 11 * 1024 * 1024)
    with pytest.raises(postpolicy.Rejected) as info:
        verifier.verify(browser_fields(token, "user/42/${filename}"), too_big, now=now)
    assert info.value.service_code == "EntityTooLarge"


def test_each_user_gets_their_own_prefix(client: Any) -> None:
    a = client.get("/upload-token", headers={"X-User-Id": "1"}).get_json()
    b = client.get("/upload-token", headers={"X-User-Id": "2"}).get_json()
    assert a["fields"]["key"] == "user/1/${filename}"
    assert b["fields"]["key"] == "user/2/${filename}"
    assert a["fields"]["x-oss-signature"] != b["fields"]["x-oss-signature"]


def test_anonymous_requests_get_no_token(client: Any) -> None:
    response = client.get("/upload-token")
    assert response.status_code == 401
    assert "policy" not in response.get_data(as_text=True)
    assert client.get("/upload-token", headers={"X-User-Id": "../etc"}).status_code == 401


def test_app_from_env(example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit):
        example.app_from_env()
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", SECRET)
    app = example.app_from_env()
    token = app.test_client().get("/upload-token", headers={"X-User-Id": "5"}).get_json()
    assert token["fields"]["x-oss-credential"].startswith(KEY_ID + "/")


def test_token_with_a_callback(example: ModuleType) -> None:
    signer = postpolicy.OssSigner(
        postpolicy.Credentials(KEY_ID, SECRET), region="cn-hangzhou", bucket="examplebucket"
    )
    app = example.create_app(signer, callback_url="https://app.example.com/oss-callback")
    token = app.test_client().get("/upload-token", headers={"X-User-Id": "42"}).get_json()
    fields = token["fields"]
    spec = postpolicy.CallbackSpec.from_base64(fields["callback"], vars={"x:user": "42"})
    assert spec.urls == ["https://app.example.com/oss-callback"]
    assert spec.body == example.CALLBACK_BODY
    assert fields["x:user"] == "42"
    # Pinned in the policy: the browser cannot swap the callback or the user.
    policy = postpolicy.Policy.from_base64(fields["policy"]).to_dsl()
    assert f"callback = {fields['callback']}" in policy and "x:user = 42" in policy

    expires = datetime.datetime.fromisoformat(token["expires_at"].replace("Z", "+00:00"))
    now = expires - datetime.timedelta(minutes=5)
    verifier = postpolicy.Verifier("examplebucket", "cn-hangzhou", {KEY_ID: SECRET})
    png = postpolicy.FileInfo("cat.png", "image/png", 2048)
    verifier.verify(browser_fields(token, "user/42/${filename}"), png, now=now)
    swapped = [(k, "7" if k == "x:user" else v) for k, v in browser_fields(token, "user/42/a.png")]
    with pytest.raises(postpolicy.Rejected):
        verifier.verify(swapped, png, now=now)


def test_callback_route_refuses_unsigned_requests(client: Any) -> None:
    response = client.post("/oss-callback", data=b"object=a.png")
    assert response.status_code == 400
    assert response.get_json()["code"] == "CALLBACK_MISSING_PUB_KEY_URL"


def make_client(example: ModuleType, policy: postpolicy.Policy) -> Any:
    signer = postpolicy.OssSigner(
        postpolicy.Credentials(KEY_ID, SECRET), region="cn-hangzhou", bucket="examplebucket"
    )
    return example.create_app(signer, policy=policy).test_client()


def test_a_policy_with_a_lint_error_is_refused_with_500(
    example: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    bad = postpolicy.Policy.parse("expires in 10m\ncontent-length 10..1")
    client = make_client(example, bad)
    for _ in range(3):
        response = client.get("/upload-token", headers={"X-User-Id": "42"})
        assert response.status_code == 500
        body = response.get_json()
        assert body["code"] == "POLICY_LINT"
        assert "fields" not in body
        assert body["diagnostics"] == [
            {
                "code": "range-min-above-max",
                "severity": "error",
                "message": "content-length-range minimum 10 is above its maximum 1: no file can match",
                "condition_index": 0,
            }
        ]
        assert "range-min-above-max: content-length-range minimum 10" in body["message"]
    logged = [r for r in caplog.records if "range-min-above-max" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelname == "ERROR"


def test_warnings_are_logged_once_and_the_key_option_counts(
    example: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    # No size limit: a warning, logged once however many tokens are signed.
    client = make_client(example, postpolicy.Policy.parse("expires in 10m"))
    for user in ("1", "2", "1"):
        assert client.get("/upload-token", headers={"X-User-Id": user}).status_code == 200
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert [r.getMessage() for r in warnings] == [
        "upload policy warning no-size-limit: 'no content-length-range: uploads of any size up to 5 GB are allowed'"
    ]
    # The default policy has no finding: the key given at signing is its key condition.
    caplog.clear()
    default = make_client(example, example.UPLOAD_POLICY)
    assert default.get("/upload-token", headers={"X-User-Id": "42"}).status_code == 200
    assert [r.getMessage() for r in caplog.records if "upload policy" in r.getMessage()] == []
