"""S3Signer, S3Verifier and sign_s3_v4: every method and error path."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Optional

import pytest

import postpolicy
from postpolicy import Credentials, FileInfo, Policy, Rejected, S3Signer, S3Verifier, SignatureError

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
POLICY = Policy.parse('expires in 1h\ncontent-length 1..10MiB\ncontent-type starts-with "image/"')


@pytest.fixture
def signer() -> S3Signer:
    return S3Signer(Credentials(KEY_ID, SECRET), "us-east-1", "examplebucket")


def browser(form: postpolicy.SignedForm) -> list[tuple[str, str]]:
    return [*form.fields.items(), ("Content-Type", "image/png")]


def test_signer_properties_and_urls(signer: S3Signer) -> None:
    assert signer.url == "https://examplebucket.s3.us-east-1.amazonaws.com/"
    assert (signer.bucket, signer.region, signer.path_style) == (
        "examplebucket",
        "us-east-1",
        False,
    )
    assert signer.credentials.access_key_id == KEY_ID
    assert "examplebucket" in repr(signer)
    garage = S3Signer(
        Credentials(KEY_ID, SECRET), "garage", "photos", endpoint="http://127.0.0.1:3900"
    )
    assert garage.path_style and garage.url == "http://127.0.0.1:3900/photos"
    vhost = S3Signer(
        Credentials(KEY_ID, SECRET),
        "auto",
        "photos",
        endpoint="https://r2.example.com",
        path_style=False,
    )
    assert vhost.url == "https://photos.r2.example.com/"


@pytest.mark.parametrize(
    "region, bucket, endpoint",
    [
        ("us east", "b-ok", None),
        ("us-east-1", "Bad_Bucket", None),
        ("us-east-1", "ok-b", "ftp://x"),
    ],
)
def test_invalid_signer(region: str, bucket: str, endpoint: Optional[str]) -> None:
    with pytest.raises(SignatureError):
        S3Signer(Credentials(KEY_ID, SECRET), region, bucket, endpoint=endpoint)


def test_sign_and_verify(signer: S3Signer) -> None:
    form = signer.sign(POLICY, now=NOW, key="user/42/${filename}")
    assert list(form.fields)[0] == "key"
    assert form.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert form.fields["x-amz-credential"] == f"{KEY_ID}/20260301/us-east-1/s3/aws4_request"
    doc = json.loads(base64.b64decode(form.fields["policy"]))
    assert {"bucket": "examplebucket"} in doc["conditions"]
    expected = postpolicy.sign_s3_v4(SECRET, form.fields["policy"], "20260301", "us-east-1")
    assert form.fields["x-amz-signature"] == expected

    verifier = S3Verifier("examplebucket", "us-east-1", {KEY_ID: SECRET})
    assert (verifier.bucket, verifier.region) == ("examplebucket", "us-east-1")
    assert "examplebucket" in repr(verifier)
    accepted = verifier.verify(browser(form), FileInfo("cat.png", "image/png", 10), now=NOW)
    assert accepted.key == "user/42/cat.png"
    with pytest.raises(Rejected) as info:
        verifier.verify(browser(form), FileInfo("cat.png", "image/png", 0), now=NOW)
    assert info.value.service_code == "EntityTooSmall"


def test_in_conditions_are_oss_only(signer: S3Signer) -> None:
    with pytest.raises(SignatureError, match="does not support"):
        signer.sign(Policy.parse("content-type in [image/png]"), now=NOW)


def test_sign_json_and_low_level(signer: S3Signer) -> None:
    text = '{"expiration":"2026-03-01T13:00:00Z","conditions":[{"bucket":"examplebucket"}]}'
    form = signer.sign_json(text, now=NOW)
    assert form.fields["policy"] == base64.b64encode(text.encode()).decode()
    with pytest.raises(postpolicy.PolicyError):
        signer.sign_json("[", now=NOW)
    with pytest.raises(SignatureError):
        postpolicy.sign_s3_v4("s", "p", "2026-03-01", "us-east-1")
    with pytest.raises(SignatureError):
        postpolicy.sign_s3_v4("s", "p", "20260301", "us east")


def test_callable_keys_and_max_date_age(signer: S3Signer) -> None:
    form = signer.sign(Policy.parse("expires in 7d\ncontent-length 1..10"), now=NOW, key="a.png")

    def lookup(key_id: str) -> Optional[str]:
        if key_id == "boom":
            raise LookupError(key_id)
        return SECRET if key_id == KEY_ID else None

    later = NOW + datetime.timedelta(days=2)
    file = FileInfo("a.png", None, 5)
    sent = list(form.fields.items())
    assert (
        S3Verifier("examplebucket", "us-east-1", lookup).verify(sent, file, now=later).key
        == "a.png"
    )
    strict = S3Verifier(
        "examplebucket", "us-east-1", lookup, max_date_age=datetime.timedelta(days=1)
    )
    with pytest.raises(Rejected):
        strict.verify(sent, file, now=later)
    with pytest.raises(Rejected):
        S3Verifier("examplebucket", "us-east-1", lookup, max_date_age=86_400).verify(
            sent, file, now=later
        )
    boom = [(n, v.replace(KEY_ID, "boom")) for n, v in sent]
    with pytest.raises(LookupError):
        S3Verifier("examplebucket", "us-east-1", lookup).verify(boom, file, now=NOW)
    with pytest.raises(TypeError, match="keys must be"):
        S3Verifier("examplebucket", "us-east-1", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_date_age"):
        S3Verifier("examplebucket", "us-east-1", {}, max_date_age="1d")  # type: ignore[arg-type]


def test_anonymous_and_explain() -> None:
    closed = S3Verifier("examplebucket", "us-east-1", {})
    with pytest.raises(Rejected) as info:
        closed.verify([("key", "a")], FileInfo("a"), now=NOW)
    assert info.value.service_code == "AccessDenied"
    open_bucket = S3Verifier("examplebucket", "us-east-1", {}, allow_anonymous=True)
    assert open_bucket.verify([("key", "a")], FileInfo("a"), now=NOW).access_key_id is None

    policy = Policy.parse('key starts-with "u/"\ncontent-type in [image/png]')
    failures = closed.explain(policy, [("key", "x")], FileInfo("x"), now=NOW)
    assert failures and all(isinstance(f, Rejected) for f in failures)
    assert any(f.condition_index == 0 for f in failures)
    assert (
        closed.explain(
            Policy.parse('key starts-with "u/"'), [("key", "u/a")], FileInfo("a"), now=NOW
        )
        == []
    )
    with pytest.raises(TypeError, match=r"postpolicy.Policy"):
        closed.explain("key = a", [], None)  # type: ignore[arg-type]
