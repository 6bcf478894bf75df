"""Every vector of tests/vectors/oss-signatures.json (computed with the
official SDKs), through the Python API: the same checks as
crates/postpolicy/tests/vectors.rs, one test per vector. Ids listed in
tests/DISPUTED.md are skipped, and each skip is printed."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from conftest import VECTORS, instant, load, skip_if_disputed

import postpolicy

DOC = load(VECTORS)
VECTOR_LIST: list[dict[str, Any]] = DOC["vectors"]
IDS = [v["id"] for v in VECTOR_LIST]


def test_full_vector_set() -> None:
    assert len(VECTOR_LIST) >= 20, "expected the full vector set"


def signature(v: dict[str, Any], secret: str) -> str:
    if v["signature_version"] == "v1":
        return postpolicy.sign_v1(secret, v["policy_b64"])
    if v["signature_version"] == "v4":
        return postpolicy.sign_v4(
            secret, v["policy_b64"], v["scope_date"], v["signing_region"], v["product"]
        )
    raise AssertionError(f"unknown version {v['signature_version']}")


@pytest.mark.parametrize("v", VECTOR_LIST, ids=IDS)
def test_signature_matches(v: dict[str, Any]) -> None:
    skip_if_disputed(v["id"])
    encoded = base64.b64encode(v["policy_json"].encode("utf-8")).decode("ascii")
    assert encoded == v["policy_b64"], "base64 of policy_json"
    assert signature(v, v["access_key_secret"]) == v["signature"]


@pytest.mark.parametrize("v", VECTOR_LIST, ids=IDS)
def test_must_not_verify_signatures_differ(v: dict[str, Any]) -> None:
    skip_if_disputed(v["id"])
    ours = signature(v, v["access_key_secret"])
    assert v["must_not_verify"], "every vector lists wrong signatures"
    for bad in v["must_not_verify"]:
        assert ours != bad["signature"], bad["reason"]


@pytest.mark.parametrize("v", VECTOR_LIST, ids=IDS)
def test_signing_the_same_text_yields_the_same_fields(v: dict[str, Any]) -> None:
    skip_if_disputed(v["id"])
    creds = postpolicy.Credentials(v["access_key_id"], v["access_key_secret"], v["security_token"])
    if v["signature_version"] == "v1":
        signer = postpolicy.OssSigner(creds, "cn-hangzhou", "examplebucket", version="v1")
        now = datetime.datetime.fromtimestamp(1_700_000_000, tz=datetime.timezone.utc)
    else:
        now = instant(v["request_datetime_utc"])
        cloudbox = v["signing_region"] if v["product"] == "oss-cloudbox" else None
        signer = postpolicy.OssSigner(
            creds, v["region_configured"], "examplebucket", cloudbox_id=cloudbox
        )
    form = signer.sign_json(v["policy_json"], now=now)
    assert list(form.fields.items()) == list(v["form_fields"].items())


def test_region_with_oss_prefix_signs_the_same() -> None:
    a = postpolicy.sign_v4("secret", "cG9saWN5", "20240115", "oss-cn-hangzhou", "oss")
    b = postpolicy.sign_v4("secret", "cG9saWN5", "20240115", "cn-hangzhou", "oss")
    assert a == b


@pytest.mark.parametrize(
    "date, region",
    [("2024-01-15", "cn-hangzhou"), ("20241315", "cn-hangzhou"), ("20240115", "CN Hangzhou")],
)
def test_bad_low_level_inputs_are_typed_errors(date: str, region: str) -> None:
    with pytest.raises(postpolicy.SignatureError) as info:
        postpolicy.sign_v4("s", "p", date, region, "oss")
    assert info.value.code == "SIGNING_INVALID"
