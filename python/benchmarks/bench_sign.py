"""Signing speed: postpolicy's OssSigner.sign against the pure-Python V4 code
the OSS documentation shows (json.dumps + base64 + hmac, "seed style") and
boto3's generate_presigned_post, in one run.

All three produce the same kind of token for the same policy: expiration in
one hour, the bucket, a per-user key prefix (``user/42/${filename}``), a
1 B..10 MiB size range and ``success_action_status = 201``, read from the clock
at each call, with the fields as a dict. Before timing, the seed-style form is
checked with postpolicy's Verifier, so both sides do the same work.

Build the extension in release mode first, as the wheel pip installs on this
Python (on 3.10 and later the cp310-abi3 one, with vectorcall methods)::

    cd python && maturin develop --release --no-default-features --features abi3-py310
    # (plain ``maturin develop --release`` on 3.9: the cp39-abi3 wheel)

then::

    pip install boto3        # optional: its row is skipped without it
    python python/benchmarks/bench_sign.py [--rounds 21] [--min-time 0.05]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import importlib
import importlib.metadata
import json
import statistics
import sys
import time
from typing import Any, Callable, Optional

import postpolicy
from postpolicy import Credentials, FileInfo, OssSigner, Policy, Verifier

AK_ID = "LTAI5tBenchmark0001"
AK_SECRET = "BenchSecretKZo149BD9GLPNiDIEmdQ7dyN"
REGION = "cn-hangzhou"
BUCKET = "examplebucket"
PREFIX = "user/42/"
MAX_SIZE = 10 * 1024 * 1024


# ---- seed style: the official Python V4 PostObject sample ----
# (alibabacloud-oss-python-sdk-v2 sample/post_object.py, with this run's
# conditions: utcnow → strftime, json.dumps, base64, the HMAC key chain.)


def seed_sign() -> dict[str, Any]:
    product = "oss"
    utc_time = datetime.datetime.now(datetime.timezone.utc)
    date = utc_time.strftime("%Y%m%d")
    expiration = utc_time + datetime.timedelta(hours=1)
    policy_map = {
        "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [
            {"bucket": BUCKET},
            {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
            {"x-oss-credential": f"{AK_ID}/{date}/{REGION}/{product}/aliyun_v4_request"},
            {"x-oss-date": utc_time.strftime("%Y%m%dT%H%M%SZ")},
            ["content-length-range", 1, MAX_SIZE],
            {"success_action_status": "201"},
            ["starts-with", "$key", PREFIX],
        ],
    }
    policy = json.dumps(policy_map)
    string_to_sign = base64.b64encode(policy.encode()).decode()

    signing_key = "aliyun_v4" + AK_SECRET
    h1_key = hmac.new(signing_key.encode(), date.encode(), hashlib.sha256).digest()
    h2_key = hmac.new(h1_key, REGION.encode(), hashlib.sha256).digest()
    h3_key = hmac.new(h2_key, product.encode(), hashlib.sha256).digest()
    h4_key = hmac.new(h3_key, b"aliyun_v4_request", hashlib.sha256).digest()
    signature = hmac.new(h4_key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    field_dict = {}
    field_dict["key"] = PREFIX + "${filename}"
    field_dict["success_action_status"] = "201"
    field_dict["policy"] = string_to_sign
    field_dict["x-oss-signature-version"] = "OSS4-HMAC-SHA256"
    field_dict["x-oss-credential"] = f"{AK_ID}/{date}/{REGION}/{product}/aliyun_v4_request"
    field_dict["x-oss-date"] = f"{utc_time.strftime('%Y%m%dT%H%M%SZ')}"
    field_dict["x-oss-signature"] = signature
    return {
        "url": f"https://{BUCKET}.oss-{REGION}.aliyuncs.com",
        "fields": field_dict,
        "expires_at": policy_map["expiration"],
    }


# ---- postpolicy ----

SIGNER = OssSigner(Credentials(AK_ID, AK_SECRET), region=REGION, bucket=BUCKET)
POLICY = Policy.parse("content-length 1..10MiB\nsuccess_action_status = 201")
KEY = PREFIX + "${filename}"


def postpolicy_sign() -> postpolicy.SignedForm:
    return SIGNER.sign(POLICY, key=KEY)


def postpolicy_sign_fields() -> dict[str, str]:
    # The same product as the other rows: the fields as a dict (SignedForm
    # builds its dict on first access; a handler that only calls to_json()
    # never pays for it).
    return SIGNER.sign(POLICY, key=KEY).fields


# ---- boto3 (S3 presigned POST, SigV4) ----


def boto3_signer() -> Optional[Callable[[], Any]]:
    try:
        boto3: Any = importlib.import_module("boto3")
    except ImportError:
        return None
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=AK_ID,
        aws_secret_access_key=AK_SECRET,
    )

    def sign() -> Any:
        return client.generate_presigned_post(
            BUCKET,
            KEY,
            Fields={"success_action_status": "201"},
            Conditions=[{"success_action_status": "201"}, ["content-length-range", 1, MAX_SIZE]],
            ExpiresIn=3600,
        )

    return sign


# ---- checks and timing ----


def check_same_work() -> None:
    verifier = Verifier(BUCKET, REGION, {AK_ID: AK_SECRET})
    png = FileInfo("cat.png", "image/png", 1234)
    for token in (seed_sign()["fields"], postpolicy_sign().fields):
        fields = dict(token)
        fields["key"] = PREFIX + "cat.png"
        accepted = verifier.verify(list(fields.items()), png)
        assert (accepted.key, accepted.status) == (PREFIX + "cat.png", 201)
    ours = json.loads(base64.b64decode(postpolicy_sign().fields["policy"]))
    seed = json.loads(base64.b64decode(seed_sign()["fields"]["policy"]))
    assert sorted(map(json.dumps, ours["conditions"])) == sorted(
        map(json.dumps, seed["conditions"])
    )


def calibrate(fn: Callable[[], Any], min_time: float) -> int:
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start >= min_time:
            return n
        n *= 2


def ns_per_op(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n


def wheel_tag() -> str:
    """The installed wheel's tag without its platform (cp39-abi3, cp310-abi3)."""
    try:
        wheel = importlib.metadata.distribution("postpolicy").read_text("WHEEL") or ""
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
    tags = [line[5:].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return "-".join(tags[0].split("-")[:2]) if tags else "unknown"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=21, help="timed rounds per implementation")
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds per round (about)")
    parser.add_argument(
        "--goal", type=float, default=20.0, help="required speed-up over seed style"
    )
    args = parser.parse_args(argv)

    check_same_work()
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("postpolicy OssSigner.sign", postpolicy_sign),
        ("postpolicy sign + .fields dict", postpolicy_sign_fields),
        ("seed style (json+base64+hmac)", seed_sign),
    ]
    boto = boto3_signer()
    if boto is not None:
        rows.append(("boto3 generate_presigned_post", boto))

    counts = {name: calibrate(fn, args.min_time) for name, fn in rows}
    samples: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _ in range(args.rounds):  # interleaved, so drift hits every row alike
        for name, fn in rows:
            samples[name].append(ns_per_op(fn, counts[name]))
    median = {name: statistics.median(values) for name, values in samples.items()}

    base = median["postpolicy OssSigner.sign"]
    build = getattr(postpolicy._native, "_build_profile", "unknown")
    print(
        f"Python {sys.version.split()[0]}, postpolicy {postpolicy.__version__} ({build} build, "
        f"{wheel_tag()} wheel), {args.rounds} rounds, median ns/op"
    )
    print(f"{'implementation':<32} {'median ns/op':>14} {'vs OssSigner.sign':>18}")
    for name, _ in rows:
        print(f"{name:<32} {median[name]:>14,.0f} {median[name] / base:>17.1f}x")
    if boto is None:
        print("(boto3 not installed: its row is skipped)")
    seed = median["seed style (json+base64+hmac)"]
    for name in ("postpolicy OssSigner.sign", "postpolicy sign + .fields dict"):
        speedup = seed / median[name]
        verdict = "met" if speedup >= args.goal else "NOT met"
        print(f"seed style / {name}: {speedup:.1f}x (goal >= {args.goal:g}x: {verdict})")
    if build == "debug":
        print(
            "warning: the extension is a debug build;"
            " use pip install ./python or maturin develop --release"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
