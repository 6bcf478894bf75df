"""Every public function and class of the package, and every exception path."""

from __future__ import annotations

import base64
import datetime
import json
import pickle
from typing import Optional

import pytest

import postpolicy
from postpolicy import (
    Accepted,
    Credentials,
    Diagnostic,
    FileInfo,
    OssSigner,
    Policy,
    PolicyError,
    PolicySyntaxError,
    Rejected,
    SignatureError,
    SignedForm,
    SyntaxErrorDetail,
    Verifier,
    explain,
    sign_v1,
    sign_v4,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY_ID = "LTAI5tTestKey0001"
SECRET = "TestSecretKZo149BD9GLPNiDIEmdQ7dyN"
BUCKET = "examplebucket"
REGION = "cn-hangzhou"

DSL = """
expires in 1h
key starts-with "user/42/"
content-length 1..10MiB
content-type in [image/png, image/jpeg]
x-oss-meta-owner = "42"
success_action_status = 201
"""


@pytest.fixture
def policy() -> Policy:
    return Policy.parse(DSL)


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(KEY_ID, SECRET)


@pytest.fixture
def signer(credentials: Credentials) -> OssSigner:
    return OssSigner(credentials, region=REGION, bucket=BUCKET)


@pytest.fixture
def verifier() -> Verifier:
    return Verifier(bucket=BUCKET, region=REGION, keys={KEY_ID: SECRET})


def submitted(form: SignedForm, key: str = "user/42/cat.png") -> list[tuple[str, str]]:
    """What a browser sends: the form's fields with the key filled in."""
    fields = dict(form.fields)
    fields["key"] = key
    fields["Content-Type"] = "image/png"
    return list(fields.items())


PNG = FileInfo("cat.png", "image/png", 1234)


# ---- package ----


def test_version_and_exports() -> None:
    assert isinstance(postpolicy.__version__, str) and postpolicy.__version__
    for name in postpolicy.__all__:
        assert hasattr(postpolicy, name), name


def test_error_hierarchy() -> None:
    for cls in (PolicySyntaxError, PolicyError, SignatureError, Rejected):
        assert issubclass(cls, postpolicy.Error)
    assert issubclass(postpolicy.Error, ValueError)


# ---- Policy ----


def test_parse_and_print_round_trip(policy: Policy) -> None:
    text = policy.to_dsl()
    assert "key starts-with user/42/" in text
    again = Policy.parse(text)
    assert again == policy
    assert again.to_dsl() == text
    assert str(policy) == text
    assert len(policy) == 5
    assert repr(policy).startswith("Policy.parse(")
    assert Policy.parse("key = a") != Policy.parse("key = b")
    assert policy != "not a policy"


def test_policy_is_not_hashable(policy: Policy) -> None:
    with pytest.raises(TypeError):
        hash(policy)


def test_parse_error_has_line_column_and_every_error() -> None:
    with pytest.raises(PolicySyntaxError) as info:
        Policy.parse("key starts-with\ncontent-length 10..\nbucket = ok")
    e = info.value
    assert (e.line, e.column) == (1, 16)
    assert e.code == "POLICY_SYNTAX"
    assert len(e.errors) == 2
    first, second = e.errors
    assert isinstance(first, SyntaxErrorDetail)
    assert (first.line, first.column) == (1, 16)
    assert first.expected == "value"
    assert str(first) == f"line 1, column 16: {first.reason}"
    assert first.reason.startswith("expected value, found ")
    assert second.line == 2
    assert 0 <= first.start <= first.end
    assert str(e).startswith("line 1, column 16: expected value")
    assert "(and 1 more)" in str(e)
    assert isinstance(e, ValueError)


def test_from_json_and_base64() -> None:
    text = '{"expiration":"2026-11-21T13:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"]]}'
    p = Policy.from_json(text)
    assert p.to_json(NOW) == text
    b64 = base64.b64encode(text.encode()).decode()
    assert Policy.from_base64(b64) == p
    assert p.expires_at() == datetime.datetime(2026, 11, 21, 13, 0, tzinfo=UTC)


def test_from_json_error_is_a_policy_error() -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_json('{"conditions": []}')
    e = info.value
    assert e.code == "POLICY_INVALID"
    assert e.service_code == "InvalidPolicyDocument"
    assert e.service_message.startswith("Invalid Policy")
    assert e.reason and str(e) == e.reason


def test_from_base64_error_is_a_policy_error() -> None:
    with pytest.raises(PolicyError):
        Policy.from_base64("%%% not base64 %%%")


def test_to_json_resolves_relative_expiration(policy: Policy) -> None:
    doc = json.loads(policy.to_json(NOW))
    assert doc["expiration"] == "2026-11-21T13:00:00.000Z"
    assert ["starts-with", "$key", "user/42/"] in doc["conditions"]
    # Without `now`, the binding reads the clock.
    later = json.loads(policy.to_json())["expiration"]
    assert later > "2026-01-01"


def test_expires_at(policy: Policy) -> None:
    assert policy.expires_at(NOW) == NOW + datetime.timedelta(hours=1)
    default = Policy.parse("key = a")
    assert default.expires_at(NOW) == NOW + datetime.timedelta(hours=1)
    before = datetime.datetime.now(UTC)
    got = default.expires_at()
    assert before + datetime.timedelta(minutes=59) < got < before + datetime.timedelta(minutes=61)


def test_lint_findings() -> None:
    findings = Policy.parse(
        "expires in 30d\ncontent-length 10..1\nkey = a\nkey starts-with b/"
    ).lint(NOW)
    codes = {d.code for d in findings}
    assert {"long-expiration", "range-min-above-max", "eq-contradicts-starts-with"} <= codes
    range_error = next(d for d in findings if d.code == "range-min-above-max")
    assert isinstance(range_error, Diagnostic)
    assert range_error.severity == "error" and range_error.is_error
    assert range_error.condition_index == 0
    assert range_error.span is not None
    start, end = range_error.span
    assert "content-length 10..1".startswith(
        b"expires in 30d\ncontent-length 10..1\n"[start:end].decode()[:14]
    )
    assert str(range_error).startswith("error[range-min-above-max]")
    assert "range-min-above-max" in repr(range_error)
    warning = next(d for d in findings if d.code == "long-expiration")
    assert warning.severity == "warning" and not warning.is_error
    assert Policy.parse('key starts-with "u/"\ncontent-length 1..10').lint(NOW) == []


def test_lint_of_an_expired_policy() -> None:
    p = Policy.parse("expires at 2020-01-01T00:00:00Z\nkey = a\ncontent-length 1..2")
    assert [d.code for d in p.lint(NOW)] == ["expired"]


# ---- Credentials ----


def test_credentials(credentials: Credentials) -> None:
    assert credentials.access_key_id == KEY_ID
    assert credentials.security_token is None
    assert SECRET not in repr(credentials)
    sts = Credentials("STS.abc", "s3cret", "token-value")
    assert sts.security_token == "token-value"
    assert "token-value" not in repr(sts)
    assert Credentials("id", "secret", "").security_token is None


@pytest.mark.parametrize(
    "key_id, secret",
    [("", "secret"), ("   ", "secret"), ("a/b", "secret"), ("a b", "s"), ("id", "")],
)
def test_invalid_credentials(key_id: str, secret: str) -> None:
    with pytest.raises(SignatureError) as info:
        Credentials(key_id, secret)
    assert info.value.code == "SIGNING_INVALID"
    assert "invalid credentials" in str(info.value)


ENV_NAMES = [
    "OSS_ACCESS_KEY_ID",
    "OSS_ACCESS_KEY_SECRET",
    "OSS_SESSION_TOKEN",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env_oss_names(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OSS_ACCESS_KEY_ID", "oss-id")
    clean_env.setenv("OSS_ACCESS_KEY_SECRET", "oss-secret")
    clean_env.setenv("OSS_SESSION_TOKEN", "oss-token")
    clean_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "ali-id")
    clean_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ali-secret")
    creds = Credentials.from_env()
    assert creds is not None
    assert creds.access_key_id == "oss-id"
    assert creds.security_token == "oss-token"


def test_from_env_alibaba_cloud_names(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "ali-id")
    clean_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ali-secret")
    clean_env.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "ali-token")
    creds = Credentials.from_env()
    assert creds is not None
    assert (creds.access_key_id, creds.security_token) == ("ali-id", "ali-token")


def test_from_env_none_and_invalid(clean_env: pytest.MonkeyPatch) -> None:
    assert Credentials.from_env() is None
    clean_env.setenv("OSS_ACCESS_KEY_ID", "only-the-id")
    assert Credentials.from_env() is None
    clean_env.setenv("OSS_ACCESS_KEY_SECRET", "secret")
    clean_env.setenv("OSS_ACCESS_KEY_ID", "bad/id")
    with pytest.raises(SignatureError):
        Credentials.from_env()


# ---- OssSigner and SignedForm ----


def test_signer_properties(signer: OssSigner) -> None:
    assert signer.url == "https://examplebucket.oss-cn-hangzhou.aliyuncs.com"
    assert (signer.bucket, signer.region, signer.version) == (BUCKET, REGION, "v4")
    assert signer.credentials.access_key_id == KEY_ID
    assert "examplebucket" in repr(signer)
    v1 = OssSigner(Credentials(KEY_ID, SECRET), "oss-cn-hangzhou", BUCKET, version="v1")
    assert (v1.region, v1.version) == ("cn-hangzhou", "v1")


def test_endpoints(credentials: Credentials) -> None:
    host = OssSigner(credentials, REGION, BUCKET, endpoint="oss-cn-hangzhou-internal.aliyuncs.com")
    assert host.url == "https://examplebucket.oss-cn-hangzhou-internal.aliyuncs.com"
    url = OssSigner(credentials, REGION, BUCKET, endpoint="http://127.0.0.1:9000/examplebucket/")
    assert url.url == "http://127.0.0.1:9000/examplebucket"


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"region": "CN Hangzhou"}, "invalid region"),
        ({"bucket": "Bad_Bucket"}, "invalid bucket"),
        ({"endpoint": "ftp://x"}, "invalid endpoint"),
        ({"version": "v3"}, "unknown signature version"),
        ({"cloudbox_id": "Not Valid"}, "invalid region"),
    ],
)
def test_invalid_signer(credentials: Credentials, kwargs: dict[str, str], fragment: str) -> None:
    args = {"region": REGION, "bucket": BUCKET, **kwargs}
    with pytest.raises(SignatureError) as info:
        OssSigner(credentials, **args)
    assert fragment in str(info.value)
    assert info.value.code == "SIGNING_INVALID"


def test_sign_v4_form(signer: OssSigner, policy: Policy) -> None:
    form = signer.sign(policy, now=NOW)
    assert form.url == signer.url
    names = list(form.fields)
    assert names[-5:] == [
        "policy",
        "x-oss-signature-version",
        "x-oss-credential",
        "x-oss-date",
        "x-oss-signature",
    ]
    assert form.fields["x-oss-credential"] == f"{KEY_ID}/20261121/cn-hangzhou/oss/aliyun_v4_request"
    assert form.fields["x-oss-date"] == "20261121T120000Z"
    assert form.fields["x-oss-meta-owner"] == "42"
    assert form.fields["success_action_status"] == "201"
    expected = sign_v4(SECRET, form.fields["policy"], "20261121", REGION)
    assert form.fields["x-oss-signature"] == expected
    assert form.expires_at == NOW + datetime.timedelta(hours=1)
    assert form.expires_at.tzinfo is not None
    assert form.fields_to_fill == ["key", "Content-Type"]
    assert form.fields is form.fields  # built once, at signing
    assert "fields=<" in repr(form)


def test_sign_v1_form(credentials: Credentials, policy: Policy) -> None:
    signer = OssSigner(credentials, REGION, BUCKET, version="v1")
    form = signer.sign(policy, now=NOW)
    assert list(form.fields)[-3:] == ["OSSAccessKeyId", "policy", "Signature"]
    assert form.fields["Signature"] == sign_v1(SECRET, form.fields["policy"])


def test_sign_with_key_and_token(policy: Policy) -> None:
    signer = OssSigner(Credentials("STS.id", "secret", "sts-token"), REGION, BUCKET)
    form = signer.sign(policy, now=NOW, key="user/42/${filename}")
    assert form.fields["key"] == "user/42/${filename}"
    assert form.fields["x-oss-security-token"] == "sts-token"
    assert "key" not in form.fields_to_fill
    doc = json.loads(base64.b64decode(form.fields["policy"]))
    assert {"x-oss-security-token": "sts-token"} in doc["conditions"]
    exact = signer.sign(policy, now=NOW, key="user/42/exact.png")
    assert exact.fields["key"] == "user/42/exact.png"


def test_to_dict_matches_to_json(signer: OssSigner, policy: Policy) -> None:
    form = signer.sign(policy, now=NOW)
    token = form.to_dict()
    assert token == json.loads(form.to_json())
    assert list(token) == ["url", "fields", "expires_at", "fields_to_fill", "rules"]
    assert token["expires_at"] == "2026-11-21T13:00:00.000Z"
    assert json.loads(json.dumps(token)) == token


def test_rules_are_plain_data_with_the_verifier_s_wording(signer: OssSigner) -> None:
    policy = Policy.parse("expires in 10m\ncontent-length 1..10MiB\ncontent-type in [image/png]")
    form = signer.sign(policy, now=NOW, key="user/42/${filename}")
    rules = form.rules
    assert rules == json.loads(form.to_json())["rules"] == form.to_dict()["rules"]
    assert [(r["op"], r.get("field")) for r in rules] == [
        ("required", "key"),
        ("content-length-range", None),
        ("in", "content-type"),
        ("starts-with", "key"),
    ]
    size = next(r for r in rules if r["op"] == "content-length-range")
    assert (size["min"], size["max"]) == (1, 10 * 1024 * 1024)
    # What the page would say for a file one byte too large is what the
    # verifier says.
    too_big = 10 * 1024 * 1024 + 1
    verifier = Verifier(BUCKET, REGION, {KEY_ID: SECRET})
    fields = dict(form.fields)
    fields["key"] = "user/42/cat.png"
    fields["Content-Type"] = "image/png"
    with pytest.raises(Rejected) as info:
        verifier.verify(list(fields.items()), FileInfo("cat.png", "image/png", too_big), now=NOW)
    assert info.value.service_code == size["too_large"]["service_code"] == "EntityTooLarge"
    assert info.value.reason == size["too_large"]["reason"].replace("{size}", str(too_big))


def test_now_in_another_timezone_is_the_same_instant(signer: OssSigner, policy: Policy) -> None:
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    a = signer.sign(policy, now=NOW)
    b = signer.sign(policy, now=NOW.astimezone(shanghai))
    assert a.fields == b.fields


def test_now_zoneinfo(signer: OssSigner, policy: Policy) -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    form = signer.sign(policy, now=NOW.astimezone(tz))
    assert form.fields["x-oss-date"] == "20261121T120000Z"


def test_naive_now_is_refused(signer: OssSigner, policy: Policy) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        signer.sign(policy, now=datetime.datetime(2026, 11, 21, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        policy.to_json(datetime.datetime(2026, 1, 1))

    class NoOffset(datetime.tzinfo):
        def utcoffset(self, dt: Optional[datetime.datetime]) -> None:
            return None

        def dst(self, dt: Optional[datetime.datetime]) -> None:
            return None

        def tzname(self, dt: Optional[datetime.datetime]) -> str:
            return "?"

    with pytest.raises(ValueError, match="naive"):
        policy.lint(datetime.datetime(2026, 1, 1, tzinfo=NoOffset()))


def test_now_must_be_a_datetime(signer: OssSigner, policy: Policy) -> None:
    for bad in ("2026-11-21T12:00:00Z", 1_700_000_000, datetime.date(2026, 1, 1)):
        with pytest.raises(TypeError, match="aware datetime"):
            signer.sign(policy, now=bad)  # type: ignore[arg-type]


def test_now_none_reads_the_clock(signer: OssSigner, policy: Policy) -> None:
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    form = signer.sign(policy)
    after = datetime.datetime.now(UTC)
    assert (
        before + datetime.timedelta(hours=1)
        <= form.expires_at
        <= after + datetime.timedelta(hours=1)
    )


def test_sign_conflicting_policy_is_a_policy_error(signer: OssSigner) -> None:
    with pytest.raises(PolicyError) as info:
        signer.sign(Policy.parse("bucket = otherbucket"), now=NOW)
    assert info.value.code == "POLICY_INVALID"
    assert "otherbucket" in info.value.reason


def test_sign_wants_a_policy(signer: OssSigner) -> None:
    with pytest.raises(TypeError, match=r"postpolicy.Policy"):
        signer.sign("key = a")  # type: ignore[arg-type]


def test_sign_json(signer: OssSigner) -> None:
    text = '{"expiration":"2026-11-21T13:00:00.000Z","conditions":[{"bucket":"examplebucket"}]}'
    form = signer.sign_json(text, now=NOW)
    assert form.fields["policy"] == base64.b64encode(text.encode()).decode()
    assert form.expires_at == datetime.datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    with pytest.raises(PolicyError):
        signer.sign_json("not json", now=NOW)


# ---- low-level signatures ----


def test_sign_v1_and_v4() -> None:
    assert sign_v1("secret", "cG9saWN5") == sign_v1("secret", "cG9saWN5")
    assert len(base64.b64decode(sign_v1("secret", "cG9saWN5"))) == 20
    v4 = sign_v4("secret", "cG9saWN5", "20240115", "cn-hangzhou")
    assert len(v4) == 64 and v4 == v4.lower()
    assert v4 == sign_v4("secret", "cG9saWN5", "20240115", "cn-hangzhou", "oss")
    assert v4 != sign_v4("secret", "cG9saWN5", "20240115", "cn-hangzhou", product="oss-cloudbox")


# ---- Verifier ----


def test_verify_accepts_the_signed_form(
    signer: OssSigner, policy: Policy, verifier: Verifier
) -> None:
    form = signer.sign(policy, now=NOW)
    accepted = verifier.verify(submitted(form), PNG, now=NOW + datetime.timedelta(minutes=5))
    assert isinstance(accepted, Accepted)
    assert accepted.key == "user/42/cat.png"
    assert accepted.status == 201
    assert accepted.redirect is None
    assert accepted.content_type == "image/png"
    assert accepted.metadata == {"x-oss-meta-owner": "42"}
    assert accepted.size_limit == (1, 10 * 1024 * 1024)
    assert accepted.access_key_id == KEY_ID
    assert "user/42/cat.png" in repr(accepted)
    assert verifier.bucket == BUCKET and BUCKET in repr(verifier)


def test_verify_file_as_dict_and_fields_as_dict(
    signer: OssSigner, policy: Policy, verifier: Verifier
) -> None:
    form = signer.sign(policy, now=NOW)
    fields = dict(submitted(form))
    file = {"filename": "cat.png", "content_type": "image/png", "size": 10}
    assert verifier.verify(fields, file, now=NOW).key == "user/42/cat.png"
    assert verifier.verify(fields, {"filename": "cat.png"}, now=NOW).status == 201


def test_verify_rejects_with_the_failing_condition(
    signer: OssSigner, policy: Policy, verifier: Verifier
) -> None:
    form = signer.sign(policy, now=NOW)
    with pytest.raises(Rejected) as info:
        verifier.verify(submitted(form, key="user/43/cat.png"), PNG, now=NOW)
    r = info.value
    assert (r.status, r.service_code) == (403, "AccessDenied")
    assert r.message.startswith("Invalid according to Policy: Policy Condition failed")
    assert r.condition_index is not None
    assert "user/43/cat.png" in r.reason
    assert r.code == "REJECTED"
    assert str(r) == f"AccessDenied (403): {r.reason}"
    assert "AccessDenied" in repr(r)


def test_verify_rejects_a_tampered_signature(
    signer: OssSigner, policy: Policy, verifier: Verifier
) -> None:
    form = signer.sign(policy, now=NOW)
    fields = [(n, "0" * 64 if n == "x-oss-signature" else v) for n, v in submitted(form)]
    with pytest.raises(Rejected) as info:
        verifier.verify(fields, PNG, now=NOW)
    assert info.value.service_code == "SignatureDoesNotMatch"
    assert info.value.condition_index is None


def test_verify_expired_and_unknown_key(signer: OssSigner, policy: Policy) -> None:
    form = signer.sign(policy, now=NOW)
    v = Verifier(BUCKET, REGION, {KEY_ID: SECRET})
    with pytest.raises(Rejected, match="expired"):
        v.verify(submitted(form), PNG, now=NOW + datetime.timedelta(hours=2))
    with pytest.raises(Rejected) as info:
        Verifier(BUCKET, REGION, {}).verify(submitted(form), PNG, now=NOW)
    assert info.value.service_code == "InvalidAccessKeyId"


def test_verify_without_file_and_with_key_after_file(verifier: Verifier) -> None:
    with pytest.raises(Rejected) as info:
        verifier.verify([("key", "a")], None, now=NOW)
    assert info.value.service_code == "MalformedPOSTRequest"
    with pytest.raises(Rejected) as info:
        verifier.verify([], PNG, now=NOW, fields_after_file=[("key", "a")])
    assert info.value.service_code == "InvalidArgument"
    assert "after the file" in info.value.reason


def test_verify_with_callable_keys(signer: OssSigner, policy: Policy) -> None:
    asked: list[str] = []

    def lookup(key_id: str) -> Optional[str]:
        asked.append(key_id)
        return SECRET if key_id == KEY_ID else None

    form = signer.sign(policy, now=NOW)
    v = Verifier(BUCKET, REGION, lookup)
    assert v.verify(submitted(form), PNG, now=NOW).status == 201
    assert asked == [KEY_ID]
    other = OssSigner(Credentials("LTAI5tUnknown", "x"), REGION, BUCKET).sign(policy, now=NOW)
    with pytest.raises(Rejected) as info:
        v.verify(submitted(other), PNG, now=NOW)
    assert info.value.service_code == "InvalidAccessKeyId"


def test_callable_keys_exceptions_propagate(signer: OssSigner, policy: Policy) -> None:
    def broken(key_id: str) -> Optional[str]:
        raise RuntimeError(f"key store down for {key_id}")

    form = signer.sign(policy, now=NOW)
    v = Verifier(BUCKET, REGION, broken)
    with pytest.raises(RuntimeError, match="key store down"):
        v.verify(submitted(form), PNG, now=NOW)
    wrong_type = Verifier(BUCKET, REGION, lambda key_id: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError):
        wrong_type.verify(submitted(form), PNG, now=NOW)
    # The failure does not linger into the next call.
    fine = Verifier(BUCKET, REGION, lambda key_id: SECRET)
    assert fine.verify(submitted(form), PNG, now=NOW).status == 201


def test_callable_keys_are_asked_once_for_the_form_s_key_id(
    credentials: Credentials, policy: Policy
) -> None:
    asked: list[str] = []

    def lookup(key_id: str) -> Optional[str]:
        asked.append(key_id)
        return SECRET

    v = Verifier(BUCKET, REGION, lookup)
    for version in ("v1", "v4"):
        form = OssSigner(credentials, REGION, BUCKET, version=version).sign(policy, now=NOW)
        assert v.verify(submitted(form), PNG, now=NOW).access_key_id == KEY_ID
    assert asked == [KEY_ID, KEY_ID]
    # An unsigned form names no key: the store is not asked.
    with pytest.raises(Rejected) as info:
        v.verify([("key", "user/42/cat.png")], PNG, now=NOW)
    assert info.value.service_code == "AccessDenied"
    assert asked == [KEY_ID, KEY_ID]


def test_callable_keys_from_several_threads(credentials: Credentials, policy: Policy) -> None:
    # The store is asked on the calling thread; the verification itself runs
    # without the interpreter, so threads share one verifier.
    import concurrent.futures

    other = Credentials("LTAI5tOtherKey000001", "OtherSecretKZo149BD9GLPNiDIEm")
    secrets = {KEY_ID: SECRET, other.access_key_id: "OtherSecretKZo149BD9GLPNiDIEm"}
    v = Verifier(BUCKET, REGION, secrets.get)
    forms = [OssSigner(c, REGION, BUCKET).sign(policy, now=NOW) for c in (credentials, other)] * 50
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda f: v.verify(submitted(f), PNG, now=NOW).access_key_id, forms))
    assert ids == [KEY_ID, other.access_key_id] * 50


def test_verifier_explain_is_a_method(policy: Policy) -> None:
    v = Verifier(BUCKET, REGION, {KEY_ID: SECRET})
    sent = [("key", "elsewhere/a.exe"), ("Content-Type", "application/x-msdownload")]
    big = FileInfo("a.exe", None, 20 * 1024 * 1024)
    failures = v.explain(policy, sent, big, now=NOW)
    assert [(f.service_code, f.condition_index) for f in failures] == [
        (f.service_code, f.condition_index)
        for f in postpolicy.explain(policy, sent, big, now=NOW, bucket=BUCKET)
    ]
    assert failures and all(isinstance(f, Rejected) for f in failures)
    pinned = Policy.parse("bucket = examplebucket\nkey = a")
    assert v.explain(pinned, [("key", "a")], PNG, now=NOW) == []
    other = Verifier("otherbucket", REGION, {})
    assert [f.condition_index for f in other.explain(pinned, [("key", "a")], PNG, now=NOW)] == [0]


def test_clock_skew(credentials: Credentials, policy: Policy) -> None:
    future = NOW + datetime.timedelta(minutes=10)
    form = OssSigner(credentials, REGION, BUCKET).sign(policy, now=future)
    keys = {KEY_ID: SECRET}
    assert Verifier(BUCKET, REGION, keys).verify(submitted(form), PNG, now=NOW).status == 201
    for skew in (datetime.timedelta(minutes=5), 300, 300.0):
        with pytest.raises(Rejected) as info:
            Verifier(BUCKET, REGION, keys, clock_skew=skew).verify(submitted(form), PNG, now=NOW)
        assert info.value.service_code == "RequestTimeTooSkewed"


def test_anonymous_uploads(verifier: Verifier) -> None:
    with pytest.raises(Rejected) as info:
        verifier.verify([("key", "a.png")], PNG, now=NOW)
    assert info.value.service_code == "AccessDenied"
    open_bucket = Verifier(BUCKET, REGION, {}, allow_anonymous=True)
    accepted = open_bucket.verify([("key", "a.png")], PNG, now=NOW)
    assert accepted.access_key_id is None and accepted.status == 204


def test_verifier_argument_errors() -> None:
    with pytest.raises(TypeError, match="keys must be"):
        Verifier(BUCKET, REGION, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Verifier(BUCKET, REGION, {"id": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="clock_skew"):
        Verifier(BUCKET, REGION, {}, clock_skew="15m")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock_skew"):
        Verifier(BUCKET, REGION, {}, clock_skew=True)


def test_verify_argument_errors(verifier: Verifier) -> None:
    with pytest.raises(TypeError, match=r"fields\[1\]"):
        verifier.verify([("key", "a"), ("lonely",)], PNG, now=NOW)  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"fields\[0\]"):
        verifier.verify([("key", 1)], PNG, now=NOW)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="fields"):
        verifier.verify("key=a", PNG, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verifier.verify(42, PNG, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="file must be"):
        verifier.verify([("key", "a")], "cat.png", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="filename"):
        verifier.verify([("key", "a")], {"size": 1}, now=NOW)
    with pytest.raises(ValueError, match="naive"):
        verifier.verify([("key", "a")], PNG, now=datetime.datetime(2026, 1, 1))


# ---- FileInfo ----


def test_file_info() -> None:
    f = FileInfo("a.png", "image/png", 3)
    assert (f.filename, f.content_type, f.size) == ("a.png", "image/png", 3)
    assert f == FileInfo("a.png", "image/png", 3)
    assert f != FileInfo("a.png")
    bare = FileInfo("b")
    assert (bare.content_type, bare.size) == (None, None)
    assert repr(f) == "FileInfo(filename='a.png', content_type='image/png', size=3)"
    with pytest.raises(OverflowError):
        FileInfo("a", None, -1)


# ---- explain ----


def test_explain_lists_every_failure(policy: Policy) -> None:
    failures = explain(
        policy,
        [("key", "elsewhere/a.exe"), ("Content-Type", "application/x-msdownload")],
        FileInfo("a.exe", None, 20 * 1024 * 1024),
        now=NOW,
    )
    assert all(isinstance(f, Rejected) for f in failures)
    codes = [(f.service_code, f.condition_index) for f in failures]
    assert ("AccessDenied", 0) in codes
    assert ("EntityTooLarge", 1) in codes
    assert ("AccessDenied", 2) in codes
    assert ("AccessDenied", 3) in codes  # x-oss-meta-owner missing
    with pytest.raises(Rejected):
        raise failures[0]


def test_explain_passes_and_bucket(policy: Policy) -> None:
    ok = [
        ("key", "user/42/a.png"),
        ("Content-Type", "image/png"),
        ("x-oss-meta-owner", "42"),
        ("success_action_status", "201"),
    ]
    assert explain(policy, ok, PNG, now=NOW) == []
    pinned = Policy.parse("bucket = examplebucket\nkey = a")
    assert explain(pinned, [("key", "a")], PNG, now=NOW) == []
    wrong = explain(pinned, [("key", "a")], PNG, now=NOW, bucket="other")
    assert [f.condition_index for f in wrong] == [0]
    fixed = Policy.parse("expires at 2026-11-21T13:00:00Z\nkey = a")
    expired = explain(fixed, [("key", "a")], PNG, now=NOW + datetime.timedelta(days=1))
    assert [f.service_code for f in expired] == ["AccessDenied"]
    assert "expired" in expired[0].reason


def test_explain_wants_a_policy() -> None:
    with pytest.raises(TypeError, match=r"postpolicy.Policy"):
        explain("key = a", [], None)  # type: ignore[arg-type]


# ---- exceptions as values ----


def test_exceptions_pickle() -> None:
    with pytest.raises(PolicySyntaxError) as syntax:
        Policy.parse("key starts-with")
    with pytest.raises(PolicyError) as policy_error:
        Policy.from_json("[]")
    with pytest.raises(SignatureError) as signature:
        Credentials("", "x")
    rejected = explain(Policy.parse("key = a"), [("key", "b")], PNG, now=NOW)[0]
    for e in (syntax.value, policy_error.value, signature.value, rejected):
        copy = pickle.loads(pickle.dumps(e))
        assert type(copy) is type(e)
        assert str(copy) == str(e)
        assert copy.__dict__ == e.__dict__


def test_exceptions_can_be_raised_by_applications() -> None:
    r = Rejected(
        "AccessDenied (403): nope",
        status=403,
        service_code="AccessDenied",
        message="m",
        reason="nope",
    )
    assert (r.status, r.condition_index, r.code) == (403, None, "REJECTED")
    e = PolicySyntaxError("bad", errors=[SyntaxErrorDetail(2, 3, "value", "end of input", 5, 5)])
    assert (e.line, e.column) == (2, 3)
    assert PolicyError("why").reason == "why"
    assert SignatureError("x").code == "SIGNING_INVALID"
    assert postpolicy.Error("x").code == "ERROR"


def test_signed_form_has_its_own_docstring() -> None:
    doc = postpolicy.SignedForm.__doc__ or ""
    assert doc.startswith("A signed upload form: POST `fields` (in order) to `url`")
    assert "to_json()" in doc
