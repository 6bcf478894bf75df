"""Every vector of tests/vectors/s3-signatures.json (computed with boto3 and the
AWS SDK for JavaScript), through the Python API: the same checks as
crates/postpolicy/tests/s3_vectors.rs, one test per vector.

- the signature of the SDK's policy matches byte for byte (`sign_s3_v4` and
  `S3Signer.sign_json`, which also reproduces the `x-amz-*` fields);
- our `S3Signer`, given the same key and user conditions, produces the same
  conditions, expiration and form fields;
- our `S3Verifier` accepts the SDK's form at the signing time, and rejects it
  once the policy has expired, with a wrong signature, or with an extra field.
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest
from conftest import ROOT, instant, load, skip_if_disputed

import postpolicy

DOC = load(ROOT / "tests" / "vectors" / "s3-signatures.json")
VECTORS: list[dict[str, Any]] = DOC["vectors"]
IDS = [v["id"] for v in VECTORS]
SIGNER_OWNED = [
    "bucket",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-security-token",
]


def test_full_vector_set() -> None:
    assert DOC["count"] == len(VECTORS)
    assert len(VECTORS) >= 20, "expected the full vector set"


def signer(v: dict[str, Any]) -> postpolicy.S3Signer:
    i = v["inputs"]
    credentials = postpolicy.Credentials(
        i["access_key_id"], i["secret_access_key"], i["session_token"]
    )
    endpoint = i["endpoint_url"]
    return postpolicy.S3Signer(
        credentials,
        i["region"],
        i["bucket"],
        endpoint=endpoint,
        path_style=True if endpoint is not None else None,
    )


def sdk_fields(v: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): value for k, value in v["outputs"]["fields"].items()}


def field_name(condition: Any) -> str | None:
    """The field a wire condition names (lower case, no `$`), if any."""
    if isinstance(condition, dict) and len(condition) == 1:
        name = next(iter(condition))
    elif isinstance(condition, list) and len(condition) == 3 and isinstance(condition[1], str):
        if str(condition[0]).lower() == "content-length-range":
            return None
        name = condition[1]
    else:
        return None
    return str(name).lstrip("$").lower()


def canonical(condition: Any, expiration: str) -> str:
    """One condition as the core prints it (names normalised, eq forms unified)."""
    text = json.dumps({"expiration": expiration, "conditions": [condition]})
    return postpolicy.Policy.from_json(text).to_dsl()


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_signature_matches(v: dict[str, Any]) -> None:
    skip_if_disputed(v["id"])
    encoded = base64.b64encode(v["policy_json"].encode("utf-8")).decode("ascii")
    assert encoded == v["policy_b64"], "base64 of policy_json"
    i = v["inputs"]
    signature = postpolicy.sign_s3_v4(
        i["secret_access_key"], v["policy_b64"], v["scope_date"], i["region"]
    )
    assert signature == v["outputs"]["signature"]


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_sign_json_reproduces_the_sdk_auth_fields(v: dict[str, Any]) -> None:
    skip_if_disputed(v["id"])
    form = signer(v).sign_json(v["policy_json"], now=instant(v["inputs"]["time"]))
    sdk = sdk_fields(v)
    for name, value in form.fields.items():
        assert sdk.get(name.lower()) == value, f"field {name}"
    assert len(form.fields) == 5 + int("x-amz-security-token" in sdk)


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_our_signer_agrees_with_the_sdks(v: dict[str, Any]) -> None:
    skip_if_disputed(v["id"])
    i = v["inputs"]
    key = i["key"]
    sdk_doc = json.loads(v["policy_json"])
    expiration = sdk_doc["expiration"]
    if key.endswith("${filename}"):
        key_condition = canonical(["starts-with", "$key", key[: -len("${filename}")]], expiration)
    else:
        key_condition = canonical({"key": key}, expiration)
    # The user's part of the SDK policy: what our signer is handed.
    user = [
        c
        for c in sdk_doc["conditions"]
        if canonical(c, expiration) != key_condition and field_name(c) not in SIGNER_OWNED
    ]
    user_policy = postpolicy.Policy.from_json(
        json.dumps({"expiration": expiration, "conditions": user})
    )
    sdk_policy = postpolicy.Policy.from_json(v["policy_json"])
    now = instant(i["time"])
    form = signer(v).sign(user_policy, now=now, key=key)
    ours_doc = json.loads(base64.b64decode(form.fields["policy"]))
    ours = postpolicy.Policy.from_json(json.dumps(ours_doc))

    # Same expiration, same conditions (as a multiset).
    assert ours.expires_at(now) == sdk_policy.expires_at(now)
    a = sorted(canonical(c, expiration) for c in ours_doc["conditions"])
    b = sorted(canonical(c, expiration) for c in sdk_doc["conditions"])
    assert a == b, "conditions"

    # Same fields, apart from the policy text and its signature (and the
    # JavaScript SDK's `bucket` field, which S3 does not need).
    sdk = sdk_fields(v)
    for name in ("bucket", "policy", "x-amz-signature"):
        sdk.pop(name, None)
    mine = {k.lower(): value for k, value in form.fields.items()}
    mine.pop("policy")
    mine.pop("x-amz-signature")
    assert mine == sdk, "fields"

    # The JavaScript SDK resolves the regional URL, as we do; boto3 uses the
    # global endpoint unless given one.
    if v["sdk"].startswith("@aws-sdk") or i["endpoint_url"] is not None:
        assert form.url == v["outputs"]["url"], "url"


def browser_submission(v: dict[str, Any]) -> tuple[list[tuple[str, str]], postpolicy.FileInfo]:
    """The SDK's form as a browser would send it: its fields, a value for every
    field the page must fill (`starts-with`), and a file in range."""
    conditions = json.loads(v["policy_json"])["conditions"]
    fields = list(v["outputs"]["fields"].items())
    size = 1
    for c in conditions:
        if isinstance(c, list) and len(c) == 3 and str(c[0]).lower() == "starts-with":
            written = str(c[1]).lstrip("$")
            if not any(n.lower() == written.lower() for n, _ in fields):
                fields.append((written, f"{c[2]}x"))
        if isinstance(c, list) and len(c) == 3 and str(c[0]).lower() == "content-length-range":
            size = max(size, int(c[1]))
    fields.append(("x-ignore-tracking", "anything"))
    return fields, postpolicy.FileInfo("photo.png", "image/png", size)


def verifier(v: dict[str, Any]) -> postpolicy.S3Verifier:
    i = v["inputs"]
    return postpolicy.S3Verifier(
        i["bucket"], i["region"], {i["access_key_id"]: i["secret_access_key"]}
    )


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_our_verifier_accepts_the_sdk_forms(v: dict[str, Any]) -> None:
    skip_if_disputed(v["id"])
    i = v["inputs"]
    fields, file = browser_submission(v)
    now = instant(i["time"]) + datetime.timedelta(seconds=1)
    accepted = verifier(v).verify(fields, file, now=now)
    assert accepted.key == i["key"].replace("${filename}", "photo.png")
    assert accepted.access_key_id == i["access_key_id"]

    # Expired.
    late = instant(i["time"]) + datetime.timedelta(seconds=i["expires_in"] + 1)
    with pytest.raises(postpolicy.Rejected) as expired:
        verifier(v).verify(fields, file, now=late)
    assert expired.value.service_code == "AccessDenied"
    assert expired.value.message == "Invalid according to Policy: Policy expired."

    # A flipped signature digit.
    bad = []
    for name, value in fields:
        if name.lower() == "x-amz-signature":
            value = ("1" if value.startswith("0") else "0") + value[1:]
        bad.append((name, value))
    with pytest.raises(postpolicy.Rejected) as mismatch:
        verifier(v).verify(bad, file, now=now)
    assert mismatch.value.service_code == "SignatureDoesNotMatch"

    # An uncovered field.
    extra = [("x-amz-meta-sneaky", "1"), *fields]
    with pytest.raises(postpolicy.Rejected) as uncovered:
        verifier(v).verify(extra, file, now=now)
    assert (
        uncovered.value.message
        == "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky"
    )
