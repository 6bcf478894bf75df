#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/seeds/<target>/ from the repository's test
cases, in each target's input format (see the doc comment of each target and
of fuzz/src/form.rs). The DSL target reads tests/dsl/ok and tests/dsl/err
directly. Run from anywhere: python3 fuzz/seeds.py
"""

import base64
import json
import random
import re
import shutil
import struct
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "seeds"
NOW_ORIGIN = 1_577_836_800  # 2020-01-01T00:00:00Z, see fuzz/src/form.rs

seeds: dict[str, dict[str, bytes]] = {}


def add(target: str, name: str, data: bytes) -> None:
    seeds.setdefault(target, {})[name] = data


def load(path: str):
    return json.loads((ROOT / path).read_text(encoding="utf-8"))


def epoch(text: str) -> int:
    return int(
        datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()
    )


def records(resign: bool, now: int, size, fields, file, after) -> bytes:
    """The records shape of fuzz/src/form.rs."""
    flags = (1 if resign else 0) | (2 if size is not None else 0)
    out = bytes([flags]) + struct.pack("<IQ", max(0, now - NOW_ORIGIN), size or 0)
    lines = [f"{n}={v}" for n, v in fields]
    if file is not None:
        filename, content_type = file
        lines.append(
            f"file={filename}|{content_type}" if content_type is not None else f"file={filename}"
        )
    lines += [f"{n}={v}" for n, v in after]
    return out + "".join(line + "\n" for line in lines).encode()


def with_policy_json(fields):
    """The fields with `policy` replaced by `policy-json` (for re-signing)."""
    out = []
    for name, value in fields:
        if name == "policy":
            try:
                text = base64.b64decode(value, validate=True).decode()
            except Exception:
                return None
            if "\n" in text:
                return None
            out.append(("policy-json", text))
        else:
            out.append((name, value))
    return out


def multipart(boundary: str, fields, file, after) -> bytes:
    parts = []
    for name, value in fields:
        parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}')
    if file is not None:
        filename, content_type = file
        head = f'Content-Disposition: form-data; name="file"; filename="{filename}"'
        if content_type is not None:
            head += f"\r\nContent-Type: {content_type}"
        parts.append(head + "\r\n\r\nhello, fuzz")
    for name, value in after:
        parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}')
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"
    return body.encode()


# OSS conformance cases: verify_oss (as sent, and re-signed from policy JSON),
# policy_json (their decoded policies), multipart (as the browser sends them).
for i, case in enumerate(load("tests/conformance/oss-verify.json")["cases"]):
    fields = [tuple(f) for f in case["fields"]]
    after = [tuple(f) for f in case.get("fields_after_file") or []]
    file = case.get("file")
    file_info = (file["filename"], file.get("content_type")) if file else None
    size = file.get("size") if file else None
    now = epoch(case["now"])
    add("verify_oss", case["id"], records(False, now, size, fields, file_info, after))
    resigned = with_policy_json(fields)
    if resigned is not None:
        add(
            "verify_oss",
            case["id"] + "-resign",
            records(True, now, size, resigned, file_info, after),
        )
        for name, value in resigned:
            if name == "policy-json":
                add("policy_json", "conformance-" + case["id"], value.encode())
    body = multipart(f"----fuzz{i}", fields, file_info, after)
    if i % 2:
        add("multipart", case["id"], body)
    else:
        add("multipart", case["id"] + "-boundary", f"----fuzz{i}".encode() + b"\0" + body)

# OSS signature vectors: policy JSON as each SDK writes it, and its base64.
for vector in load("tests/vectors/oss-signatures.json")["vectors"]:
    add("policy_json", vector["id"], vector["policy_json"].encode())
    add("policy_json", vector["id"] + "-b64", vector["policy_b64"].encode())

# S3 vectors: verify_s3 (the SDK's form, as sent and re-signed) and policy_json.
for vector in load("tests/vectors/s3-signatures.json")["vectors"]:
    add("policy_json", vector["id"], vector["policy_json"].encode())
    fields = list(vector["outputs"]["fields"].items())
    if not any(n == "key" for n, _ in fields):
        fields.insert(0, ("key", vector["inputs"].get("key") or "uploads/a.txt"))
    now = epoch(vector["inputs"]["time"]) + 60
    add("verify_s3", vector["id"], records(False, now, 10, fields, ("a.txt", "text/plain"), []))
    resigned = with_policy_json(fields)
    if resigned is not None:
        add(
            "verify_s3",
            vector["id"] + "-resign",
            records(True, now, None, resigned, ("a.txt", None), []),
        )

# The built (arbitrary) shape of the verifier targets: a few random inputs.
rng = random.Random(13)
for target in ("verify_oss", "verify_s3"):
    for n in range(8):
        add(target, f"built-{n}", bytes([0x80 + n]) + rng.randbytes(96 + 32 * n))

# Callback vectors as raw requests, the served key given by x-fuzz-pem; and
# requests the target signs itself.
for vector in load("tests/vectors/oss-signatures.json")["callback_vectors"]:
    head = [f"{vector['request_method']} {vector['raw_path_and_query']}"]
    head += [f"{n}: {v}" for n, v in vector["headers"].items()]
    head.append("x-fuzz-pem: " + vector["public_key_pem"].replace("\n", "\\n"))
    add("callback", vector["id"], ("\n".join(head) + "\n\n" + vector["body"]).encode())
for n, (url, target) in enumerate(
    [
        ("https://gosspublic.alicdn.com/callback_pub_key_v1.pem", "/cb?a=1&b=%20"),
        ("http://127.0.0.1:8080/key.pem", "/callback"),
        ("http://gosspublic.alicdn.com.evil.example/k.pem", "/a%2Fb?"),
    ]
):
    request = (
        f"POST {target}\nx-fuzz-sign: {url}\ncontent-type: application/json\n\n"
        + '{"bucket":"b","size":3}'
    )
    add("callback", f"signed-{n}", request.encode())

# Callback specs written in the callback tests, as JSON and as base64, and
# body templates of both kinds.
source = (ROOT / "crates/postpolicy/tests/oss_callback.rs").read_text(encoding="utf-8")
specs = sorted(set(re.findall(r'r#"(\{"callbackUrl".*?\})"#', source)))
templates = [
    ("0", "bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}"),
    ("2", '{"bucket":${bucket},"object":"${object}","size":${size},"uid":"${x:uid}"}'),
    ("2", '{"mimeType":${mimeType},"w":${imageInfo.width},"v":${x:var1},"m":"a${x:uid}b"}'),
    ("2", '{"a":["${etag}",${crc64},"${contentMd5}"],"b":{"c":${vpcId}}}'),
]
for n, spec in enumerate(specs):
    flags, template = templates[n % len(templates)]
    vars_ = 'x:uid=42\nx:n=7\nx:var1="q\\\n'
    add("callback_spec", f"spec-{n}-json", f"{flags}{spec}\0{template}\0{vars_}".encode())
    b64 = base64.b64encode(spec.encode()).decode()
    add("callback_spec", f"spec-{n}-b64", f"{int(flags) | 1}{b64}\0{template}\0{vars_}".encode())

if OUT.exists():
    shutil.rmtree(OUT)
total = 0
for target, files in sorted(seeds.items()):
    folder = OUT / target
    folder.mkdir(parents=True)
    for name, data in sorted(files.items()):
        (folder / name).write_bytes(data)
        total += len(data)
    print(f"{target}: {len(files)} seeds")
print(f"{total} bytes in {OUT.relative_to(ROOT)}")
