"""S3 presigned POST vectors from boto3's generate_presigned_post.

Reads cases.json (beside this file), freezes the clock at each case's `time`
with freezegun, and prints one vector per case as JSON on stdout. Nothing goes
over the network: creating a client and presigning are local computations.

    python gen_boto3.py > boto3.json
"""

import base64
import json
import os
import sys

os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
for name in (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
):
    os.environ.pop(name, None)

# Imported only now: boto3 reads the environment cleaned above.
import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402
from freezegun import freeze_time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def vector(index, case):
    config = {"signature_version": "s3v4"}
    if case.get("endpoint_url"):
        config["s3"] = {"addressing_style": "path"}
    client = boto3.client(
        "s3",
        region_name=case["region"],
        aws_access_key_id=case["access_key_id"],
        aws_secret_access_key=case["secret_access_key"],
        aws_session_token=case.get("session_token"),
        endpoint_url=case.get("endpoint_url"),
        config=Config(**config),
    )
    with freeze_time(case["time"]):
        post = client.generate_presigned_post(
            Bucket=case["bucket"],
            Key=case["key"],
            Fields=dict(case["fields"]),
            Conditions=list(case["conditions"]),
            ExpiresIn=case["expires_in"],
        )
    fields = post["fields"]
    policy_b64 = fields["policy"]
    policy_json = base64.b64decode(policy_b64).decode("utf-8")
    return {
        "id": f"s3-boto3-{index:02d}-{case['name']}",
        "sdk": f"boto3 {boto3.__version__} (botocore {botocore.__version__})",
        "inputs": {
            "access_key_id": case["access_key_id"],
            "secret_access_key": case["secret_access_key"],
            "session_token": case.get("session_token"),
            "region": case["region"],
            "bucket": case["bucket"],
            "endpoint_url": case.get("endpoint_url"),
            "time": case["time"],
            "expires_in": case["expires_in"],
            "key": case["key"],
            "fields": case["fields"],
            "conditions": case["conditions"],
        },
        "policy_json": policy_json,
        "policy_b64": policy_b64,
        "scope_date": case["time"][:10].replace("-", ""),
        "outputs": {
            "url": post["url"],
            "fields": fields,
            "signature": fields["x-amz-signature"],
        },
    }


def main():
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    vectors = [vector(i + 1, c) for i, c in enumerate(cases)]
    json.dump(vectors, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
