"""`postpolicy serve --store s3://…` keeps its objects in Garage.

The dev stack runs its OSS-compatible endpoint on free ports with the store
pointed at a Garage bucket. A form from its own `/upload-token` uploads a file
through the endpoint; the object is then read back from Garage itself (boto3)
and through the endpoint, byte for byte. A rejected upload leaves nothing in
the bucket.

Run by scripts/test-garage.sh, which also sets POSTPOLICY_BIN and
GARAGE_SERVE_BUCKET.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore.config import Config

ENDPOINT = os.environ.get("GARAGE_ENDPOINT", "")
REGION = os.environ.get("GARAGE_REGION", "")
KEY_ID = os.environ.get("GARAGE_KEY_ID", "")
SECRET = os.environ.get("GARAGE_SECRET", "")
BIN = os.environ.get("POSTPOLICY_BIN", "")
BUCKET = os.environ.get("GARAGE_SERVE_BUCKET", "")

pytestmark = pytest.mark.skipif(
    not (ENDPOINT and BIN and BUCKET), reason="run through scripts/test-garage.sh"
)


@pytest.fixture(scope="module")
def serve() -> Iterator[dict[str, str]]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OSS_", "ALIBABA_CLOUD_", "AWS_"))
    }
    env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, NO_COLOR="1")
    store = f"s3://{BUCKET}?endpoint={ENDPOINT}&region={REGION}"
    args = [BIN, "serve", "--port", "0", "--oss-port", "0", "--quiet", "--store", store]
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    urls: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        for line in proc.stdout:
            words = line.split()
            if words[:2] == ["upload", "page"]:
                urls["app"] = words[2].rstrip("/")
            elif words[:2] == ["OSS", "endpoint"]:
                urls["oss"] = words[2]
            elif words[:1] == ["storage"]:
                urls["storage"] = " ".join(words[1:])
            elif words[:1] == ["Press"] or time.monotonic() > deadline:
                break
        if "app" not in urls:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"postpolicy serve did not start: {err}")
        yield urls
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def garage():
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def keys_in_bucket() -> list[str]:
    listing = garage().list_objects_v2(Bucket=BUCKET)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def upload(session: requests.Session, urls: dict[str, str], name: str, body: bytes):
    token = session.get(f"{urls['app']}/upload-token", timeout=30).json()
    assert token["url"] == urls["oss"], token
    fields = list(token["fields"].items())
    key = token["fields"]["key"].replace("${filename}", name)
    try:
        resp = session.post(
            token["url"],
            data=fields,
            files={"file": (name, body, "application/octet-stream")},
            timeout=60,
        )
    except requests.ConnectionError:
        return key, None
    return key, resp


def test_serve_stores_objects_in_garage(serve: dict[str, str]) -> None:
    assert serve.get("storage", "").startswith(f"s3://{BUCKET}"), serve
    before = keys_in_bucket()
    session = requests.Session()
    body = os.urandom(300 * 1024) + "é\u65e5\n".encode()
    key, resp = upload(session, serve, "garage-backed.bin", body)
    assert resp is not None and 200 <= resp.status_code < 300, resp and resp.text

    # In Garage itself, byte for byte: the dev store keeps each object under
    # its own key, `<bucket>/<key>`, with its Content-Type and OSS digests as
    # the object's own attributes (one PUT, no sidecar).
    oss_bucket = serve["oss"].rstrip("/").rsplit("/", 1)[-1]
    md5 = hashlib.md5(body).hexdigest()
    stored = f"{oss_bucket}/{key}"
    assert stored in keys_in_bucket(), (stored, keys_in_bucket())
    got = garage().get_object(Bucket=BUCKET, Key=stored)
    assert got["Body"].read() == body
    assert got["ETag"].strip('"') == md5
    assert got["ContentLength"] == len(body)
    assert got["ContentType"] == "application/octet-stream"
    assert got["Metadata"]["postpolicy-etag"] == md5.upper()
    # And back through the dev endpoint.
    bucket_url = serve["oss"].rstrip("/")
    back = requests.get(f"{bucket_url}/{quote(key)}", timeout=30)
    assert back.status_code == 200 and back.content == body

    # A rejected upload (above the 10 MiB range) leaves nothing behind.
    too_big = b"\0" * (10 * 1024 * 1024 + 1)
    big_key, resp = upload(session, serve, "too-big.bin", too_big)
    assert resp is None or resp.status_code >= 400, resp.status_code
    after = keys_in_bucket()
    assert not [k for k in after if k.endswith(big_key)], after
    assert sorted(set(after) - set(before)) == [stored], after
