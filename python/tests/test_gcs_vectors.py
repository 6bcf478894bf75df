"""Every case of tests/vectors/gcs-post-policy-v4.json (Google's own conformance
suite for V4 POST policies) through the Python API, as
crates/postpolicy/tests/gcs_vectors.rs does: `GcsSigner` gives byte for byte
the URL, every field, the decoded policy and the signature; `GcsVerifier`
accepts Google's form at its signing time and refuses it once expired.
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, instant, load

import postpolicy

DOC = load(ROOT / "tests" / "vectors" / "gcs-post-policy-v4.json")
CASES: list[dict[str, Any]] = DOC["postPolicyV4Tests"]
IDS = [c["description"] for c in CASES]
ACCOUNT: dict[str, Any] = DOC["service_account"]


def test_the_whole_suite() -> None:
    assert len(CASES) == 11


def signer(i: dict[str, Any]) -> postpolicy.GcsSigner:
    style = {
        None: "path",
        "VIRTUAL_HOSTED_STYLE": "virtual-hosted",
        "BUCKET_BOUND_HOSTNAME": "bucket-bound",
    }[i.get("urlStyle")]
    return postpolicy.GcsSigner(
        ACCOUNT,
        bucket=i["bucket"],
        url_style=style,
        bound_hostname=i.get("bucketBoundHostname"),
        scheme=i["scheme"],
    )


def policy(i: dict[str, Any]) -> postpolicy.Policy:
    """The case's conditions, then its fields in name order (as Google's
    libraries write them), as policy JSON with an absolute expiration."""
    conditions: list[Any] = []
    given = i.get("conditions", {})
    if "startsWith" in given:
        conditions.append(["starts-with", *given["startsWith"]])
    if "contentLengthRange" in given:
        conditions.append(["content-length-range", *given["contentLengthRange"]])
    conditions += [{name: value} for name, value in sorted(i.get("fields", {}).items())]
    expires = instant(i["timestamp"]) + datetime.timedelta(seconds=i["expiration"])
    document = {
        "expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": conditions,
    }
    return postpolicy.Policy.from_json(json.dumps(document))


def as_sent(decoded: str) -> str:
    """`expectedDecodedPolicy` with non-ASCII as the `policy` field has it."""
    return decoded.encode("ascii", "backslashreplace").decode().replace("\\x", "\\u00")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_google_case_byte_for_byte(case: dict[str, Any]) -> None:
    i, out = case["policyInput"], case["policyOutput"]
    form = signer(i).sign(policy(i), now=instant(i["timestamp"]), key=i["object"])
    assert form.url == out["url"]
    assert form.fields == out["fields"]
    decoded = base64.b64decode(form.fields["policy"]).decode()
    assert decoded == as_sent(out["expectedDecodedPolicy"])
    assert json.loads(decoded) == json.loads(out["expectedDecodedPolicy"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_google_form_verifies(case: dict[str, Any]) -> None:
    i, out = case["policyInput"], case["policyOutput"]
    fields = dict(out["fields"])
    if "startsWith" in i.get("conditions", {}):
        name, prefix = i["conditions"]["startsWith"]
        fields[name.lstrip("$")] = prefix + "-read"
    size = i.get("conditions", {}).get("contentLengthRange", [99])[0] + 1
    verifier = postpolicy.GcsVerifier(i["bucket"], service_accounts=[ACCOUNT])
    now = instant(i["timestamp"])
    file = postpolicy.FileInfo("photo.png", "image/png", size)
    accepted = verifier.verify(fields, file, now=now)
    assert accepted.key == i["object"]
    with pytest.raises(postpolicy.Rejected) as late:
        verifier.verify(fields, file, now=now + datetime.timedelta(seconds=10))
    assert late.value.service_code == "AccessDenied"


def test_hmac_keys_sign_and_verify(tmp_path: Path) -> None:
    signer = postpolicy.GcsSigner.hmac(
        "GOOG1EPYTHON", "cHl0aG9uLXNlY3JldA==", bucket="photos", url_style="virtual-hosted"
    )
    assert signer.url == "https://photos.storage.googleapis.com/"
    assert signer.algorithm == "GOOG4-HMAC-SHA256"
    assert "cHl0aG9uLXNlY3JldA" not in repr(signer)
    p = postpolicy.Policy.parse("expires in 10m\ncontent-length 1..1KiB")
    form = signer.sign(p, key="user/${filename}")
    verifier = postpolicy.GcsVerifier("photos", keys={"GOOG1EPYTHON": "cHl0aG9uLXNlY3JldA=="})
    file = postpolicy.FileInfo("a.txt", "text/plain", 10)
    assert verifier.verify(form.fields, file).key == "user/a.txt"
    extra = {**form.fields, "submit": "Upload"}
    with pytest.raises(postpolicy.Rejected) as refused:
        verifier.verify(extra, file)
    assert refused.value.service_code == "InvalidPolicyDocument"
    assert "Policy did not reference these fields: submit" in refused.value.message
    # The key file from a path works as the dict does.
    path = tmp_path / "key.json"
    path.write_text(json.dumps(ACCOUNT))
    assert postpolicy.GcsSigner(path, bucket="photos").access_id == ACCOUNT["client_email"]
    with pytest.raises(postpolicy.SignatureError):
        signer.sign(postpolicy.Policy.parse("content-type in [image/png]"))
