"""Combines the boto3 and AWS SDK for JavaScript vectors into s3-signatures.json.

python combine.py boto3.json aws-sdk-js.json > ../s3-signatures.json
"""

import json
import sys

DESCRIPTION = (
    "S3 presigned POST (AWS SigV4) vectors computed by boto3's generate_presigned_post "
    "and @aws-sdk/s3-presigned-post's createPresignedPost with a frozen clock and fixed "
    "credentials; see README-s3.md. inputs = what the SDK was given; policy_json / policy_b64 = "
    "the policy it produced; outputs = its url, form fields and signature "
    "(hex HMAC-SHA256 of policy_b64 with the AWS4 key for scope_date/region/s3/aws4_request)."
)


def main(paths):
    vectors = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            vectors.extend(json.load(f))
    doc = {"description": DESCRIPTION, "count": len(vectors), "vectors": vectors}
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
