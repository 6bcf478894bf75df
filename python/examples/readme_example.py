"""The README's Python example, kept runnable: tests/test_readme.py checks that
the block between the markers is the one in python/README.md, and runs it."""

# START readme-python
from datetime import datetime, timedelta, timezone

import postpolicy
from postpolicy import Credentials, FileInfo, OssSigner, Policy, Verifier

# 1. The application server writes a policy and signs it. Request data (here
#    the signed-in user's id) is a parameter: a value, never DSL text.
user_id = "42"
policy = Policy.parse(
    """
    expires in 10m
    key starts-with "user/{user}/"
    content-type in [image/png, image/jpeg]
    content-length 1..10MiB
    success_action_status = 201
    """,
    {"user": user_id},
)
# The same policy, written in code:
built = (
    Policy.builder()
    .expires_in(timedelta(minutes=10))
    .key_prefix(f"user/{user_id}/")
    .content_types(["image/png", "image/jpeg"])
    .size(1, 10 * 1024 * 1024)
    .field("success_action_status", "201")
    .build()
)
assert built == policy
assert not [d for d in policy.lint() if d.is_error]
credentials = Credentials("LTAI5tExampleKeyId", "ExampleSecret")  # or Credentials.from_env()
signer = OssSigner(credentials, region="cn-hangzhou", bucket="examplebucket")
form = signer.sign(policy)
print(form.to_json())  # hand this to the browser

# 2. The browser posts the fields, then the file (last).
fields = [("key", "avatars/cat.png"), *form.fields.items(), ("Content-Type", "image/png")]
upload = FileInfo("cat.png", "image/png", 5_000)

# 3. OSS (or `postpolicy serve`, or your tests) checks it, and says why not.
verifier = Verifier("examplebucket", "cn-hangzhou", keys={"LTAI5tExampleKeyId": "ExampleSecret"})
try:
    verifier.verify(fields, upload, now=datetime.now(timezone.utc) + timedelta(seconds=5))
except postpolicy.Rejected as rejected:
    assert rejected.service_code == "AccessDenied" and rejected.condition_index is not None
    print(rejected.reason)  # key `avatars/cat.png` does not start with `user/42/`
# END readme-python
