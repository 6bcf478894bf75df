"""S3 presigned POST interop against a real Garage server.

For every case, two forms are built for the same policy: one by our
`S3Signer` (the `s3_sign` example, or `postpolicy sign --dialect s3` when the
CLI has it) and one by boto3's `generate_presigned_post`. The same change is
made to both submissions (a wrong key, a missing field, a bad signature, ...),
both are POSTed to Garage, and both are judged by our `S3Verifier` (the
`s3_verify` example). All four verdicts must agree with the expected one.
Accept/reject is compared, not status codes: Garage answers policy violations
with 400 where AWS answers 403.

Run by scripts/test-garage.sh, which starts Garage and sets:
GARAGE_ENDPOINT, GARAGE_REGION, GARAGE_BUCKET, GARAGE_KEY_ID, GARAGE_SECRET,
POSTPOLICY_S3_SIGN and POSTPOLICY_S3_VERIFY (the example binaries).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import os
import subprocess
import uuid
from collections.abc import Callable

import boto3
import pytest
import requests
from botocore.config import Config

ENDPOINT = os.environ.get("GARAGE_ENDPOINT", "")
REGION = os.environ.get("GARAGE_REGION", "")
BUCKET = os.environ.get("GARAGE_BUCKET", "")
KEY_ID = os.environ.get("GARAGE_KEY_ID", "")
SECRET = os.environ.get("GARAGE_SECRET", "")
SIGN = os.environ.get("POSTPOLICY_S3_SIGN", "")
VERIFY = os.environ.get("POSTPOLICY_S3_VERIFY", "")

pytestmark = pytest.mark.skipif(
    not (ENDPOINT and SIGN and VERIFY), reason="run through scripts/test-garage.sh"
)

# What every test saw, printed as a table at the end (see conftest.py).
RESULTS: list[tuple[str, str, str, str, str, str]] = []

Fields = list[tuple[str, str]]


@dataclasses.dataclass
class Upload:
    fields: Fields
    filename: str
    body: bytes


@dataclasses.dataclass
class Case:
    name: str
    expect_accept: bool
    # Our side: DSL policy and key template.
    dsl: str = "content-type = text/plain\ncontent-length 5..64"
    # boto3's side: the same policy as Fields + Conditions.
    boto_fields: dict = dataclasses.field(default_factory=lambda: {"Content-Type": "text/plain"})
    boto_conditions: list = dataclasses.field(
        default_factory=lambda: [{"Content-Type": "text/plain"}, ["content-length-range", 5, 64]]
    )
    key: str = "uploads/${filename}"
    body: bytes = b"hello from postpolicy\n"
    # Signing changes.
    region: str | None = None  # sign for another region
    expired: bool = False  # an expiration in the past
    # The change made to the signed submission.
    mutate: Callable[[Upload], None] | None = None
    # For a rejection: what Garage's message must contain, and our code, so
    # that both reject for the intended reason and not by accident.
    garage_says: str = ""
    our_code: str = ""


def set_field(name: str, value: str) -> Callable[[Upload], None]:
    def mutate(upload: Upload) -> None:
        for i, (n, _) in enumerate(upload.fields):
            if n.lower() == name.lower():
                upload.fields[i] = (n, value)
                return
        upload.fields.append((name, value))

    return mutate


def drop_field(name: str) -> Callable[[Upload], None]:
    def mutate(upload: Upload) -> None:
        upload.fields = [(n, v) for n, v in upload.fields if n.lower() != name.lower()]

    return mutate


def flip_signature(upload: Upload) -> None:
    for i, (n, v) in enumerate(upload.fields):
        if n.lower() == "x-amz-signature":
            upload.fields[i] = (n, ("1" if v[0] == "0" else "0") + v[1:])


CT_STARTS_WITH = {
    "dsl": "content-type starts-with text/\ncontent-length 5..64",
    "boto_fields": {},
    "boto_conditions": [["starts-with", "$Content-Type", "text/"], ["content-length-range", 5, 64]],
}
TWO_RANGES = {
    "dsl": "content-length 1..64\ncontent-length 10..1000",
    "boto_fields": {},
    "boto_conditions": [["content-length-range", 1, 64], ["content-length-range", 10, 1000]],
}

CASES = [
    Case("upload-and-read-back", True),
    Case(
        "key-starts-with-violated",
        False,
        mutate=set_field("key", "elsewhere/${filename}"),
        garage_says="Key 'key' has value not allowed in policy",
        our_code="AccessDenied",
    ),
    Case(
        "content-type-eq-violated",
        False,
        mutate=set_field("Content-Type", "text/html"),
        garage_says="Key 'content-type' has value not allowed in policy",
        our_code="AccessDenied",
    ),
    Case(
        "content-type-missing",
        False,
        mutate=drop_field("Content-Type"),
        garage_says="Key 'content-type' is required in policy",
        our_code="AccessDenied",
    ),
    Case(
        "size-above-range",
        False,
        body=b"x" * 65,
        garage_says="File size does not match policy",
        our_code="EntityTooLarge",
    ),
    Case(
        "size-below-range",
        False,
        body=b"x" * 4,
        garage_says="File size does not match policy",
        our_code="EntityTooSmall",
    ),
    Case("size-at-both-bounds", True, body=b"x" * 64),
    Case(
        "uncovered-extra-field",
        False,
        mutate=set_field("x-amz-meta-extra", "1"),
        garage_says="Key 'x-amz-meta-extra' is not allowed in policy",
        our_code="AccessDenied",
    ),
    Case("x-ignore-field-allowed", True, mutate=set_field("x-ignore-note", "1")),
    Case(
        "wrong-region",
        False,
        region="us-west-2",
        garage_says="AuthorizationHeaderMalformed",
        our_code="AuthorizationHeaderMalformed",
    ),
    Case(
        "bad-signature",
        False,
        mutate=flip_signature,
        garage_says="Invalid signature",
        our_code="SignatureDoesNotMatch",
    ),
    Case(
        "expired-policy",
        False,
        expired=True,
        garage_says="Expiration date is in the past",
        our_code="AccessDenied",
    ),
    Case(
        "content-type-list-all-match",
        True,
        mutate=set_field("Content-Type", "text/plain,text/csv"),
        **CT_STARTS_WITH,
    ),
    Case(
        "content-type-list-one-off",
        False,
        mutate=set_field("Content-Type", "text/plain,image/png"),
        garage_says="Key 'content-type' has value not allowed in policy",
        our_code="AccessDenied",
        **CT_STARTS_WITH,
    ),
    Case(
        "size-ranges-intersect-below",
        False,
        body=b"x" * 9,
        garage_says="File size does not match policy",
        our_code="EntityTooSmall",
        **TWO_RANGES,
    ),
    Case(
        "size-ranges-intersect-above",
        False,
        body=b"x" * 65,
        garage_says="File size does not match policy",
        our_code="EntityTooLarge",
        **TWO_RANGES,
    ),
    Case("size-ranges-intersect-inside", True, body=b"x" * 10, **TWO_RANGES),
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def our_form(case: Case) -> dict:
    dsl = case.dsl
    if case.expired:
        past = (utcnow() - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        dsl = f"expires at {past}\n{dsl}"
    args = [
        SIGN,
        "--policy", dsl,
        "--access-key-id", KEY_ID,
        "--secret", SECRET,
        "--region", case.region or REGION,
        "--bucket", BUCKET,
        "--endpoint", ENDPOINT,
        "--path-style", "true",
        "--key", case.key,
    ]  # fmt: skip
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)


def boto_client(region: str | None = None):
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=region or REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def boto_form(case: Case) -> dict:
    return boto_client(case.region).generate_presigned_post(
        Bucket=BUCKET,
        Key=case.key,
        Fields=dict(case.boto_fields),
        Conditions=list(case.boto_conditions),
        ExpiresIn=-300 if case.expired else 600,
    )


def post_to_garage(url: str, upload: Upload) -> tuple[bool, str]:
    """(accepted, what Garage said). Garage may close the connection on a
    rejected upload before the body is sent; that is a rejection too."""
    try:
        resp = requests.post(
            url,
            data=upload.fields,
            files={"file": (upload.filename, upload.body, "application/octet-stream")},
            timeout=30,
        )
    except requests.ConnectionError as e:
        return False, f"connection closed ({type(e).__name__})"
    ok = 200 <= resp.status_code < 300
    detail = str(resp.status_code)
    if not ok:
        code = resp.text.split("<Code>")[-1].split("</Code>")[0] if "<Code>" in resp.text else ""
        message = (
            resp.text.split("<Message>")[-1].split("</Message>")[0]
            if "<Message>" in resp.text
            else ""
        )
        detail = html.unescape(f"{resp.status_code} {code}: {message}".strip())
    return ok, detail


def our_verdict(upload: Upload) -> tuple[bool, str]:
    request = {
        "bucket": BUCKET,
        "region": REGION,
        "keys": {KEY_ID: SECRET},
        "fields": [list(f) for f in upload.fields],
        "file": {"filename": upload.filename, "size": len(upload.body)},
        "max_date_age_hours": 24,
    }
    out = subprocess.run(
        [VERIFY], input=json.dumps(request), check=True, capture_output=True, text=True, timeout=60
    )
    verdict = json.loads(out.stdout)
    if verdict["accepted"]:
        return True, f"accepted key={verdict['key']}"
    index = verdict["condition_index"]
    where = f" [condition {index}]" if index is not None else ""
    return False, f"{verdict['code']}{where}: {verdict['message']} / {verdict['reason']}"


def make_upload(fields: Fields, case: Case, who: str) -> Upload:
    upload = Upload(list(fields), f"{case.name}-{who}-{uuid.uuid4().hex[:8]}.txt", case.body)
    if case.mutate:
        case.mutate(upload)
    return upload


def mark(ok: bool) -> str:
    return "accept" if ok else "reject"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_garage_ours_and_boto3_agree(case: Case) -> None:
    ours = our_form(case)
    boto = boto_form(case)
    assert ours["url"] == boto["url"], "both forms post to the same URL"

    ours_upload = make_upload(list(ours["fields"].items()), case, "ours")
    boto_upload = make_upload(list(boto["fields"].items()), case, "boto3")

    garage_ours = post_to_garage(ours["url"], ours_upload)
    garage_boto = post_to_garage(boto["url"], boto_upload)
    verifier_ours = our_verdict(ours_upload)
    verifier_boto = our_verdict(boto_upload)

    RESULTS.append(
        (
            case.name,
            mark(case.expect_accept),
            mark(garage_ours[0]),
            mark(garage_boto[0]),
            mark(verifier_ours[0]),
            mark(verifier_boto[0]),
        )
    )
    report = (
        f"\n  Garage, our form:     {garage_ours[1]}"
        f"\n  Garage, boto3's form: {garage_boto[1]}"
        f"\n  S3Verifier, ours:     {verifier_ours[1]}"
        f"\n  S3Verifier, boto3's:  {verifier_boto[1]}"
    )
    print(f"{case.name}:{report}")
    verdicts = [garage_ours[0], garage_boto[0], verifier_ours[0], verifier_boto[0]]
    assert verdicts == [case.expect_accept] * 4, report
    if not case.expect_accept:
        for said in (garage_ours[1], garage_boto[1]):
            assert case.garage_says in said, report
        for said in (verifier_ours[1], verifier_boto[1]):
            assert said.startswith(case.our_code), report

    if case.expect_accept:
        # Both objects read back byte for byte.
        client = boto_client()
        for upload in (ours_upload, boto_upload):
            key = {n.lower(): v for n, v in upload.fields}["key"].replace(
                "${filename}", upload.filename
            )
            got = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            assert got == upload.body, key
