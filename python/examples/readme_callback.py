"""The README's callback example, kept runnable: tests/test_readme.py checks
that the block between the markers is the one in python/README.md, runs it,
and posts a signed callback to its route."""

# START readme-callback
from collections.abc import Mapping
from typing import Optional

import postpolicy
from postpolicy import CallbackSpec, Credentials, OssSigner, Policy

# 1. Ask OSS to call the application after the upload. The `callback` field and
#    the `x:` variables are signed into the form and pinned in the policy.
callback = CallbackSpec(
    "https://app.example.com/oss-callback",
    "bucket=${bucket}&object=${object}&size=${size}&user=${x:user}",
    vars={"x:user": "42"},
)
signer = OssSigner(
    Credentials("LTAI5tExampleKeyId", "ExampleSecret"), "cn-hangzhou", "examplebucket"
)
form = signer.sign(Policy.parse("expires in 10m"), key="user/42/${filename}", callback=callback)
print(list(form.fields)[:3])  # ['key', 'callback', 'x:user']


# 2. The callback route (Flask: see examples/flask_app.py) answers OSS only
#    when the request carries OSS's signature.
def on_oss_callback(
    method: str, path: str, query: Optional[str], headers: Mapping[str, str], body: bytes
) -> tuple[int, dict[str, str]]:
    try:
        postpolicy.verify_callback(method, path, query, headers, body)
    except postpolicy.CallbackError as e:
        return 400, {"code": e.code, "message": str(e)}
    return 200, {"Status": "OK"}


# A key URL that is not OSS's own is refused before anything is fetched.
forged = {"authorization": "AAAA", "x-oss-pub-key-url": "aHR0cDovL2V2aWwuZXhhbXBsZS9rLnBlbQ=="}
print(on_oss_callback("POST", "/oss-callback", None, forged, b"size=1")[1]["code"])
# END readme-callback
