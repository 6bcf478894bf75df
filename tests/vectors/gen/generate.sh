#!/usr/bin/env bash
# Regenerates tests/vectors/s3-signatures.json from the official SDKs, in a
# throwaway folder (a Python venv and an npm folder), with pinned versions.
# The committed vectors are the oracle: regenerate only to add cases, and
# review the diff of the existing ones (it must be empty).
# Usage: bash tests/vectors/gen/generate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q boto3==1.44.5 botocore==1.44.5 freezegun==1.5.5
"$work/venv/bin/python" "$here/gen_boto3.py" > "$work/boto3.json"

mkdir -p "$work/node"
(cd "$work/node" && npm init -y > /dev/null &&
  npm install -q --no-audit --no-fund @aws-sdk/s3-presigned-post@3.1162.0 @aws-sdk/client-s3@3.1169.0 > /dev/null)
(cd "$work/node" && node --no-warnings "$here/gen_aws_sdk_js.mjs") > "$work/aws-sdk-js.json"

"$work/venv/bin/python" "$here/combine.py" "$work/boto3.json" "$work/aws-sdk-js.json" \
  > "$here/../s3-signatures.json"
echo "wrote $(cd "$here/.." && pwd)/s3-signatures.json"
