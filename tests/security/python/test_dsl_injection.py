"""Policy injection through request data, through the Python API.

Observed: a policy built with an f-string from a request header let the value
`"#` widen `key starts-with "user/…/"` to every user's files, and
`42/"; expires at 2099-01-01T00:00:00Z #` push the expiry decades out. With
`Policy.parse(template, params)` (and the builder) a parameter is a value:
whatever it holds, the signed policy holds it literally and nothing else
changes."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest

from postpolicy import Credentials, FileInfo, OssSigner, Policy, Rejected, S3Signer, Verifier

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY_ID, SECRET = "LTAI5tInjectionTest1", "InjectionTestSecretKZo149BD9GLPN"
TEMPLATE = 'expires in 10m\nkey starts-with "user/{user}/"\ncontent-length 1..10MiB'

# The two payloads, then what else was tried.
HOSTILE = [
    '"#',
    '42/"; expires at 2099-01-01T00:00:00Z #',
    '42/"\nexpires at 2099-01-01T00:00:00Z\nkey starts-with "',
    '42/"\r\nkey starts-with "',
    '42/"\u2028key starts-with "',
    '42/"\u0085x = "',
    "\\",
    '\\"',
    '42\\"; key starts-with "',
    '"]\nkey in ["',
    ']; key starts-with "',
    "{user}",
    "{{",
    "}",
    "${filename}",
    "$",
    "\x00",
    '\x00"; expires at 2099-01-01T00:00:00Z',
    "#",
    ";",
    "",
    " ",
    "\ufeffexpires at 2099-01-01T00:00:00Z",
    "\u202egnp.exe",
    "\x1b[2J",
    '42/" ; content-length 0..99999999999 ; x = "',
    "x" * 10 * 1024,
    '"#\n' * 4096,
]


def signed_policy(form: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(base64.b64decode(form.fields["policy"]))
    return document


def signer(version: str = "v4") -> OssSigner:
    return OssSigner(Credentials(KEY_ID, SECRET), "cn-hangzhou", "examplebucket", version=version)


def verifier() -> Verifier:
    return Verifier("examplebucket", "cn-hangzhou", keys={KEY_ID: SECRET})


def fields(form: Any, key: str) -> list[tuple[str, str]]:
    return [("key", key), *form.fields.items()]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("version", ["v1", "v4"])
def test_a_parameter_is_one_literal_value(value: str, version: str) -> None:
    policy = Policy.parse(TEMPLATE, {"user": value})
    assert len(policy) == 2
    assert policy.expires_at(NOW) == NOW + datetime.timedelta(minutes=10)
    form = signer(version).sign(policy, now=NOW)
    document = signed_policy(form)
    assert document["expiration"] == "2026-11-21T12:10:00.000Z"
    assert ["starts-with", "$key", f"user/{value}/"] in document["conditions"]
    assert ["content-length-range", 1, 10485760] in document["conditions"]
    # Printed and parsed back, with no parameters, it is the same policy.
    assert Policy.parse(policy.to_dsl()) == policy


def test_the_quote_and_comment_payload() -> None:
    policy = Policy.parse(TEMPLATE, {"user": '"#'})
    assert policy.to_dsl().splitlines()[1] == 'key starts-with "user/\\"#/"'
    form = signer().sign(policy, now=NOW)
    png = FileInfo("avatar.png", "image/png", 100)
    with pytest.raises(Rejected) as raised:
        verifier().verify(fields(form, "user/42/avatar.png"), png, now=NOW)
    assert raised.value.service_code == "AccessDenied"
    verifier().verify(fields(form, 'user/"#/avatar.png'), png, now=NOW)


def test_the_expires_payload_does_not_move_the_expiry() -> None:
    payload = '42/"; expires at 2099-01-01T00:00:00Z #'
    form = signer("v1").sign(Policy.parse(TEMPLATE, {"user": payload}), now=NOW)
    assert form.expires_at == NOW + datetime.timedelta(minutes=10)
    png = FileInfo("avatar.png", "image/png", 100)
    key = f"user/{payload}/avatar.png"
    verifier().verify(fields(form, key), png, now=NOW + datetime.timedelta(minutes=5))
    with pytest.raises(Rejected) as raised:
        verifier().verify(fields(form, key), png, now=NOW + datetime.timedelta(days=365))
    assert "expired" in raised.value.message


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_every_value_position(value: str) -> None:
    template = (
        'x-oss-meta-a = {v}\nx-oss-meta-b = "<{v}>"\n'
        'content-type in [{v}, "image/{v}"]\nx-oss-meta-c not-in [{v}]'
    )
    document = json.loads(Policy.parse(template, {"v": value}).to_json(NOW))
    assert document["conditions"] == [
        {"x-oss-meta-a": value},
        {"x-oss-meta-b": f"<{value}>"},
        ["in", "$content-type", [value, f"image/{value}"]],
        ["not-in", "$x-oss-meta-c", [value]],
    ]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_the_builder_takes_them_as_values(value: str) -> None:
    policy = (
        Policy.builder()
        .expires_in(600)
        .key_prefix(f"user/{value}/")
        .metadata("x-amz-meta-owner", value)
        .size(1, 10 * 1024 * 1024)
        .build()
    )
    assert policy == Policy.parse(
        'expires in 10m\nkey starts-with "user/{v}/"\nx-amz-meta-owner = {v}\ncontent-length 1..10MiB',
        {"v": value},
    )
    s3 = S3Signer(Credentials("AKIAIOSFODNN7EXAMPLE", "secret"), "us-east-1", "examplebucket")
    document = signed_policy(s3.sign(policy, now=NOW))
    assert ["starts-with", "$key", f"user/{value}/"] in document["conditions"]
    assert {"x-amz-meta-owner": value} in document["conditions"]
