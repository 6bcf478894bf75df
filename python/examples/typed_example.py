"""A small typed tour of the API; `mypy --strict` checks it in the lint step
(scripts/test-python.sh) and pytest runs it (tests/test_typed_example.py)."""

from __future__ import annotations

import datetime

import postpolicy
from postpolicy import (
    Accepted,
    Credentials,
    Diagnostic,
    FileInfo,
    OssSigner,
    Policy,
    Rejected,
    SignedForm,
    Verifier,
)

NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=datetime.timezone.utc)


def sign_and_verify() -> tuple[SignedForm, Accepted, list[Rejected]]:
    policy: Policy = Policy.parse(
        'expires in 1h\nkey starts-with "user/42/"\ncontent-length 1..10MiB'
    )
    findings: list[Diagnostic] = policy.lint(NOW)
    assert not [d for d in findings if d.is_error]

    credentials = Credentials("LTAI5tExample0001", "ExampleSecret0001")
    signer = OssSigner(credentials, region="cn-hangzhou", bucket="examplebucket")
    form: SignedForm = signer.sign(policy, now=NOW)
    url: str = form.url
    fields: dict[str, str] = form.fields
    expires: datetime.datetime = form.expires_at
    assert url.startswith("https://") and expires > NOW

    sent = [("key", "user/42/cat.png"), *fields.items()]
    verifier = Verifier(
        bucket="examplebucket",
        region="cn-hangzhou",
        keys={credentials.access_key_id: "ExampleSecret0001"},
        clock_skew=datetime.timedelta(minutes=5),
    )
    accepted: Accepted = verifier.verify(sent, FileInfo("cat.png", "image/png", 1234), now=NOW)
    failures: list[Rejected] = postpolicy.explain(
        policy, [("key", "elsewhere/cat.png")], {"filename": "cat.png", "size": 0}, now=NOW
    )
    return form, accepted, failures


def describe(error: postpolicy.Error) -> str:
    if isinstance(error, postpolicy.PolicySyntaxError):
        return f"{error.line}:{error.column}: {error.errors[0].reason}"
    if isinstance(error, Rejected):
        index = error.condition_index if error.condition_index is not None else -1
        return f"{error.status} {error.service_code} at {index}: {error.reason}"
    return f"{error.code}: {error}"


def main() -> None:
    form, accepted, failures = sign_and_verify()
    print(form.to_json())
    print(accepted.key, accepted.status)
    for failure in failures:
        print(describe(failure))
    try:
        Policy.parse("key starts-with")
    except postpolicy.Error as e:
        print(describe(e))


if __name__ == "__main__":
    main()
