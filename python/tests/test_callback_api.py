"""Upload callbacks through the Python API: the CallbackSpec builder (round
trips and every validation error, code and message), signing a callback into
a form (pinned or not), every verification failure, key sources, the key URL
policy, the callback signer and the HTTP key fetcher (on 127.0.0.1). Mirrors
crates/postpolicy/tests/callback.rs where the two overlap."""

from __future__ import annotations

import base64
import datetime
import email.message
import http.server
import json
import pickle
import threading
import time
import urllib.error
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from conftest import VECTORS, load

import postpolicy
from postpolicy import (
    CachedKeySource,
    CallbackError,
    CallbackSigner,
    CallbackSpec,
    Credentials,
    FileInfo,
    KeyUrlPolicy,
    OssSigner,
    Policy,
    VerifiedCallback,
    Verifier,
    fetch_public_key,
    verify_callback,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TEST_KEY = load(VECTORS)["callback"]["synthetic_test_key"]
PRIVATE_PEM: str = TEST_KEY["private_key_pem"]
PUBLIC_PEM: str = TEST_KEY["public_key_pem"]
OSS_KEY_URL = "https://gosspublic.alicdn.com/callback_pub_key_v1.pem"
LOCAL_KEY_URL = "http://127.0.0.1:8080/callback_pub_key.pem"
SYSTEM_VARIABLES = [
    "bucket", "object", "etag", "size", "mimeType", "imageInfo.height", "imageInfo.width",
    "imageInfo.format", "crc64", "contentMd5", "clientIp", "reqId", "operation", "vpcId",
]  # fmt: skip


def decode(callback: str) -> dict[str, Any]:
    value = json.loads(base64.b64decode(callback))
    assert isinstance(value, dict)
    return value


@pytest.fixture(scope="module")
def signer() -> CallbackSigner:
    return CallbackSigner.from_pem(PRIVATE_PEM)


def stub(pem: str = PUBLIC_PEM) -> Any:
    calls: list[str] = []

    def fetch(url: str) -> str:
        calls.append(url)
        return pem

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


# ---- builder ------------------------------------------------------------------


def test_builder_round_trip() -> None:
    spec = CallbackSpec(
        ["https://app.example.com/oss/cb?src=web", "http://backup.example.com:8080/cb"],
        "bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}&n=${x:n}",
        host="app.example.com",
        vars={"x:uid": "42", "x:n": "名字 & more"},
    )
    fields = spec.to_fields()
    assert list(fields) == ["callback", "x:uid", "x:n"]
    assert base64.b64decode(fields["callback"]).decode() == (
        '{"callbackUrl":"https://app.example.com/oss/cb?src=web;http://backup.example.com:8080/cb",'
        '"callbackHost":"app.example.com",'
        '"callbackBody":"bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}&n=${x:n}",'
        '"callbackBodyType":"application/x-www-form-urlencoded"}'
    )
    assert spec.to_json() == base64.b64decode(fields["callback"]).decode()
    assert fields["x:uid"] == "42" and fields["x:n"] == "名字 & more"

    # Decoding gives the same spec back; the vars travel as separate fields.
    decoded = CallbackSpec.from_base64(fields["callback"])
    assert decoded.urls == spec.urls
    assert decoded.host == "app.example.com"
    assert decoded.body == spec.body
    assert decoded.body_type == "application/x-www-form-urlencoded"
    assert decoded.sni is False
    assert decoded.vars == {}
    assert decoded != spec
    again = CallbackSpec.from_base64(
        fields["callback"], vars=[("x:uid", "42"), ("x:n", "名字 & more")]
    )
    assert again == spec
    assert again.to_fields() == fields
    assert CallbackSpec.from_json(spec.to_json(), vars=spec.vars) == spec


def test_builder_json_has_exactly_the_fields_given() -> None:
    spec = CallbackSpec(
        "http://a.example.com/cb", '{"object":${object}}', body_type="application/json", sni=True
    )
    fields = spec.to_fields()
    assert list(fields) == ["callback"]
    data = decode(fields["callback"])
    assert list(data) == ["callbackUrl", "callbackBody", "callbackBodyType", "callbackSNI"]
    assert data == {
        "callbackUrl": "http://a.example.com/cb",
        "callbackBody": '{"object":${object}}',
        "callbackBodyType": "application/json",
        "callbackSNI": True,
    }
    plain = decode(CallbackSpec("http://a.example.com/cb", "x=${etag}").to_fields()["callback"])
    assert plain == {
        "callbackUrl": "http://a.example.com/cb",
        "callbackBody": "x=${etag}",
        "callbackBodyType": "application/x-www-form-urlencoded",
    }
    # Positional arguments in the documented order; the body type is read
    # case-insensitively and given back canonical.
    spec = CallbackSpec("https://a.example.com/", "s=${size}", "Application/JSON", "h.example.com")
    assert (spec.body_type, spec.host) == ("application/json", "h.example.com")


def test_builder_accepts_every_system_variable() -> None:
    body = "&".join(f"{v}=${{{v}}}" for v in SYSTEM_VARIABLES)
    assert (
        decode(CallbackSpec("https://a.example.com/", body).to_fields()["callback"])["callbackBody"]
        == body
    )


def test_builder_values_and_repr() -> None:
    spec = CallbackSpec("https://a.example.com/cb", "u=${x:u}", vars=[("x:u", "1")], sni=True)
    assert spec.urls == ["https://a.example.com/cb"]
    assert spec.vars == {"x:u": "1"}
    assert spec.host is None and spec.sni is True
    assert repr(spec) == (
        "CallbackSpec('https://a.example.com/cb', 'u=${x:u}', vars={'x:u': '1'}, sni=True)"
    )
    assert spec == CallbackSpec(
        ("https://a.example.com/cb",), "u=${x:u}", vars={"x:u": "1"}, sni=True
    )
    assert spec != CallbackSpec("https://a.example.com/cb", "u=${x:u}", vars={"x:u": "2"}, sni=True)


def ok(**changes: Any) -> dict[str, Any]:
    """A valid spec's arguments with some changed."""
    args: dict[str, Any] = {
        "url": "https://a.example.com/cb",
        "body": "o=${object}&v=${x:v}",
        "vars": {"x:v": "1"},
    }
    args.update(changes)
    return args


SIX = [f"https://h{i}.example.com/" for i in range(6)]
VALIDATION_CASES: list[tuple[dict[str, Any], str]] = [
    (ok(url=[]), "CALLBACK_NO_URL"),
    (ok(url=SIX), "CALLBACK_TOO_MANY_URLS"),
    (ok(url="ftp://a.example.com/"), "CALLBACK_URL_SCHEME"),
    (ok(url="https://a.example.com:99999/"), "CALLBACK_URL_PORT"),
    (ok(url="https://a.example.com:0/"), "CALLBACK_URL_PORT"),
    (ok(url="http://[2001:db8::1]/cb"), "CALLBACK_URL_IPV6"),
    (ok(url="https:///cb"), "CALLBACK_URL_INVALID"),
    (ok(url="https://a.example.com/a;b"), "CALLBACK_URL_INVALID"),
    (ok(host=""), "CALLBACK_HOST_INVALID"),
    (ok(host="http://a/"), "CALLBACK_HOST_INVALID"),
    (ok(body="", vars=None), "CALLBACK_EMPTY_BODY"),
    (ok(body="a=${object", vars=None), "CALLBACK_BODY_SYNTAX"),
    (ok(body="a=${}", vars=None), "CALLBACK_BODY_SYNTAX"),
    (ok(body="a=${x:${b}}", vars=None), "CALLBACK_BODY_SYNTAX"),
    (ok(body="a=${filename}", vars=None), "CALLBACK_UNKNOWN_VARIABLE"),
    (ok(body="a=${x:Name}", vars={"x:Name": "1"}), "CALLBACK_VAR_NAME"),
    (ok(vars={"x:v": "1", "my_var": "1"}), "CALLBACK_VAR_NAME"),
    (ok(vars={"x:v": "1", "X:v2": "1"}), "CALLBACK_VAR_NAME"),
    (ok(vars=[("x:v", "1"), ("x:v", "2")]), "CALLBACK_DUPLICATE_VAR"),
    (ok(body="a=${x:missing}", vars=None), "CALLBACK_UNDEFINED_VAR"),
    (ok(vars={"x:v": "1", "x:unused": "1"}), "CALLBACK_UNUSED_VAR"),
    (ok(body_type="text/xml"), "CALLBACK_BODY_TYPE"),
]


@pytest.mark.parametrize(
    "args, code", VALIDATION_CASES, ids=[f"{i:02}-{c}" for i, (_, c) in enumerate(VALIDATION_CASES)]
)
def test_builder_validation_errors(args: dict[str, Any], code: str) -> None:
    CallbackSpec(**ok())  # the base case is valid
    with pytest.raises(CallbackError) as info:
        CallbackSpec(**args)
    error = info.value
    assert (error.code, error.code) == (code, code)
    assert error.is_verification_failure is False
    assert isinstance(error, postpolicy.Error) and isinstance(error, ValueError)
    assert str(error) and "\n" not in str(error)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            {"url": "https://a.example.com/", "body": "t=${mimetype}"},
            "callbackBody uses `${mimetype}`, which is not an OSS system variable "
            "(did you mean `${mimeType}`?)",
        ),
        (
            {"url": "https://a.example.com/", "body": "u=${x:uid}"},
            "callbackBody uses `${x:uid}` but no custom variable `x:uid` is given",
        ),
        (
            {"url": "https://a.example.com/", "body": "s=${size}", "vars": {"x:uid": "1"}},
            "custom variable `x:uid` is given but callbackBody never uses `${x:uid}`",
        ),
        (
            {"url": "https://a.example.com:70000/", "body": "s=${size}"},
            "callback URL `https://a.example.com:70000/` has an invalid port `70000`: "
            "expected a number from 1 to 65535",
        ),
        (
            {"url": [f"https://h{i}.example.com/" for i in range(7)], "body": "s=${size}"},
            "callbackUrl lists 7 URLs; OSS accepts at most 5",
        ),
        (
            {"url": "https://a.example.com/", "body": ""},
            "callbackBody is empty; OSS rejects a callback without a body template",
        ),
        (
            {"url": "https://a.example.com/", "body": "s=${size}", "body_type": "text/plain"},
            "callbackBodyType `text/plain` is not supported: expected "
            "application/x-www-form-urlencoded or application/json",
        ),
    ],
)
def test_validation_messages_name_the_problem(args: dict[str, Any], message: str) -> None:
    with pytest.raises(CallbackError) as info:
        CallbackSpec(**args)
    assert str(info.value) == message


def test_malformed_placeholder_message_has_the_offset() -> None:
    with pytest.raises(CallbackError, match="at byte 2") as info:
        CallbackSpec("https://a.example.com/", "a=${size")
    assert info.value.code == "CALLBACK_BODY_SYNTAX"


def enc(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "callback, code",
    [
        ("@@not base64@@", "CALLBACK_NOT_BASE64"),
        (enc("not json"), "CALLBACK_NOT_JSON"),
        (enc("[1]"), "CALLBACK_NOT_JSON"),
        (enc('{"callbackBody":"a=${size}"}'), "CALLBACK_MISSING_FIELD"),
        (enc('{"callbackUrl":"http://a/"}'), "CALLBACK_MISSING_FIELD"),
        (enc('{"callbackUrl":"http://a/","callbackBody":""}'), "CALLBACK_EMPTY_BODY"),
        (enc('{"callbackUrl":"","callbackBody":"a=${size}"}'), "CALLBACK_NO_URL"),
        (
            enc('{"callbackUrl":"http://a/;http://b/;http://c/;http://d/;http://e/;http://f/",'
                '"callbackBody":"a"}'),
            "CALLBACK_TOO_MANY_URLS",
        ),
        (
            enc('{"callbackUrl":"http://a/","callbackBody":"a","callbackBodyType":"text/xml"}'),
            "CALLBACK_BODY_TYPE",
        ),
        (enc('{"callbackUrl":"http://a/","callbackBody":7}'), "CALLBACK_FIELD_TYPE"),
        (
            enc('{"callbackUrl":"http://a/","callbackBody":"a","callbackSNI":"yes"}'),
            "CALLBACK_FIELD_TYPE",
        ),
        (
            enc('{"callbackUrl":"http://a/","callbackBody":"a",'
                '"calbackBodyType":"application/json"}'),
            "CALLBACK_UNKNOWN_FIELD",
        ),
        (
            enc('{"callbackUrl":"http://a/","callbackBody":"a=${imageinfo.width}"}'),
            "CALLBACK_UNKNOWN_VARIABLE",
        ),
    ],
)  # fmt: skip
def test_decoding_validates_like_the_service(callback: str, code: str) -> None:
    with pytest.raises(CallbackError) as info:
        CallbackSpec.from_base64(callback)
    assert info.value.code == code


def test_decoding_what_the_sdks_send() -> None:
    # Scheme-less URL with a port, pretty-printed JSON, callbackSNI as a JSON
    # boolean, custom variables only referenced.
    text = json.dumps(
        {
            "callbackUrl": "121.43.113.8:23456/index.html",
            "callbackBody": '{"mimeType":${mimeType},"v":${x:var1}}',
            "callbackBodyType": "application/json",
            "callbackSNI": False,
        },
        indent=2,
    )
    spec = CallbackSpec.from_base64(enc(text))
    assert spec.urls == ["121.43.113.8:23456/index.html"]
    assert spec.body_type == "application/json"
    # Without the upload's x: fields the spec cannot make fields; with them it can.
    with pytest.raises(CallbackError) as info:
        spec.to_fields()
    assert info.value.code == "CALLBACK_UNDEFINED_VAR"
    with pytest.raises(CallbackError) as info:
        CallbackSpec.from_base64(enc(text), vars={})
    assert info.value.code == "CALLBACK_UNDEFINED_VAR"
    with pytest.raises(CallbackError) as info:
        CallbackSpec.from_json(text, vars={"x:var1": "1", "x:var2": "2"})
    assert info.value.code == "CALLBACK_UNUSED_VAR"
    full = CallbackSpec.from_base64(enc(text), vars={"x:var1": "1"})
    assert full.to_fields()["x:var1"] == "1"


@pytest.mark.parametrize(
    "args, match",
    [
        ({"url": 5, "body": "s=${size}"}, "url must be a str or an iterable of str"),
        ({"url": ["https://a/", b"x"], "body": "s=${size}"}, "not bytes"),
        ({"url": "https://a/", "body": "s=${size}", "vars": ["x:a"]}, r"vars\[0\]"),
        ({"url": "https://a/", "body": "s=${size}", "vars": {"x:a": 1}}, r"vars\[0\]"),
    ],
)
def test_builder_type_errors(args: dict[str, Any], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        CallbackSpec(**args)


# ---- signing a form with a callback --------------------------------------------------

CREDS_SECRET = "TestSecretKZo149BD9GLPNiDIEmdQ7dyN"
CREDS = Credentials("LTAI5tTestKey0001", CREDS_SECRET)
SPEC = CallbackSpec(
    "https://app.example.com/oss-callback",
    "object=${object}&size=${size}&uid=${x:uid}",
    vars={"x:uid": "42"},
)


def conditions(form: postpolicy.SignedForm) -> list[Any]:
    policy = json.loads(base64.b64decode(form.fields["policy"]))
    conds = policy["conditions"]
    assert isinstance(conds, list)
    return conds


def sent(form: postpolicy.SignedForm, **changes: str) -> list[tuple[str, str]]:
    fields = dict(form.fields)
    fields["key"] = "user/42/cat.png"
    fields.update(changes)
    return list(fields.items())


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_sign_with_a_pinned_callback(version: str) -> None:
    signer = OssSigner(CREDS, "cn-hangzhou", "examplebucket", version=version)
    policy = Policy.parse('expires in 1h\nkey starts-with "user/42/"')
    form = signer.sign(policy, now=NOW, callback=SPEC)
    callback_fields = SPEC.to_fields()
    assert {k: form.fields[k] for k in callback_fields} == callback_fields
    names = list(form.fields)
    assert names.index("callback") < names.index("x:uid") < names.index("policy")
    assert {"callback": callback_fields["callback"]} in conditions(form)
    assert {"x:uid": "42"} in conditions(form)

    verifier = Verifier("examplebucket", "cn-hangzhou", {CREDS.access_key_id: CREDS_SECRET})
    png = FileInfo("cat.png", "image/png", 10)
    assert verifier.verify(sent(form), png, now=NOW).key == "user/42/cat.png"
    other = CallbackSpec("https://evil.example.com/", "o=${object}").to_fields()["callback"]
    for changed in ({"callback": other}, {"x:uid": "7"}):
        with pytest.raises(postpolicy.Rejected) as info:
            verifier.verify(sent(form, **changed), png, now=NOW)
        assert info.value.service_code == "AccessDenied"


def test_sign_with_an_unpinned_callback() -> None:
    signer = OssSigner(CREDS, "cn-hangzhou", "examplebucket")
    form = signer.sign(
        Policy.parse("expires in 1h"),
        now=NOW,
        key="user/42/a.png",
        callback=SPEC,
        pin_callback=False,
    )
    assert form.fields["callback"] == SPEC.to_fields()["callback"]
    assert form.fields["x:uid"] == "42" and form.fields["key"] == "user/42/a.png"
    assert not [c for c in conditions(form) if "callback" in c or "x:uid" in c]
    # Not pinned: the browser may change it (which is what pin_callback=False is for).
    verifier = Verifier("examplebucket", "cn-hangzhou", {CREDS.access_key_id: CREDS_SECRET})
    png = FileInfo("a.png", "image/png", 10)
    verifier.verify(sent(form, key="user/42/a.png", **{"x:uid": "7"}), png, now=NOW)
    # Without a callback, pin_callback changes nothing.
    plain = signer.sign(Policy.parse("expires in 1h"), now=NOW, pin_callback=False)
    assert plain.fields == signer.sign(Policy.parse("expires in 1h"), now=NOW).fields


def test_sign_with_an_incomplete_decoded_callback_raises() -> None:
    signer = OssSigner(CREDS, "cn-hangzhou", "examplebucket")
    decoded = CallbackSpec.from_base64(SPEC.to_fields()["callback"])  # no x:uid value
    with pytest.raises(CallbackError) as info:
        signer.sign(Policy.parse("expires in 1h"), now=NOW, callback=decoded)
    assert info.value.code == "CALLBACK_UNDEFINED_VAR"
    with pytest.raises(TypeError, match=r"callback must be a postpolicy.CallbackSpec"):
        signer.sign(Policy.parse("expires in 1h"), callback=SPEC.to_fields()["callback"])  # type: ignore[arg-type]


# ---- verifying ---------------------------------------------------------------


def test_every_verifier_failure_has_its_own_error(signer: CallbackSigner) -> None:
    good = signer.sign("/cb", None, b"x=1")
    oss = enc(OSS_KEY_URL)
    evil = enc("https://evil.example.com/key.pem")
    lookalike = enc("https://gosspublic.alicdn.com.evil.example.com/key.pem")
    cases: list[tuple[dict[str, str], str]] = [
        ({"x-oss-pub-key-url": oss}, "CALLBACK_MISSING_AUTHORIZATION"),
        ({"authorization": good}, "CALLBACK_MISSING_PUB_KEY_URL"),
        ({"authorization": "not base64!", "x-oss-pub-key-url": oss}, "CALLBACK_HEADER_NOT_BASE64"),
        ({"authorization": good, "x-oss-pub-key-url": "%%%"}, "CALLBACK_HEADER_NOT_BASE64"),
        ({"authorization": good, "x-oss-pub-key-url": evil}, "CALLBACK_UNTRUSTED_KEY_URL"),
        ({"authorization": good, "x-oss-pub-key-url": lookalike}, "CALLBACK_UNTRUSTED_KEY_URL"),
        ({"Authorization": "AAAA", "X-OSS-Pub-Key-Url": oss}, "CALLBACK_BAD_SIGNATURE"),
    ]
    keys = stub()
    for headers, code in cases:
        before = len(keys.calls)
        with pytest.raises(CallbackError) as info:
            verify_callback("POST", "/cb", None, headers, b"x=1", key_source=keys)
        assert info.value.code == code, headers
        assert info.value.is_verification_failure
        if code == "CALLBACK_UNTRUSTED_KEY_URL":
            assert len(keys.calls) == before, "fetched an untrusted URL"
            assert "evil.example.com" in str(info.value)
    # Correct headers, looked up case-insensitively.
    verified = verify_callback(
        "POST", "/cb", None, {"AUTHORIZATION": good, "x-oss-pub-key-url": oss}, b"x=1", keys
    )
    assert isinstance(verified, VerifiedCallback)
    assert verified.public_key_url == OSS_KEY_URL
    assert repr(verified) == f"VerifiedCallback(public_key_url='{OSS_KEY_URL}')"


def oss_signed(signer: CallbackSigner, body: bytes = b"x=1") -> dict[str, str]:
    return signer.headers(OSS_KEY_URL, "/cb", None, body)


def test_a_raising_key_source_is_a_fetch_failure(signer: CallbackSigner) -> None:
    def refused(url: str) -> str:
        raise ConnectionRefusedError(111, "connection refused")

    with pytest.raises(CallbackError) as info:
        verify_callback("POST", "/cb", None, oss_signed(signer), b"x=1", key_source=refused)
    assert info.value.code == "CALLBACK_KEY_FETCH_FAILED"
    assert info.value.is_verification_failure
    assert "connection refused" in str(info.value) and OSS_KEY_URL in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)

    def wrong_type(url: str) -> Any:
        return 42

    with pytest.raises(CallbackError) as info:
        verify_callback("POST", "/cb", None, oss_signed(signer), b"x=1", key_source=wrong_type)
    assert info.value.code == "CALLBACK_KEY_FETCH_FAILED"
    assert "must return the PEM text as str or bytes, not int" in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)


def test_an_interrupt_in_the_key_source_is_not_swallowed(signer: CallbackSigner) -> None:
    def interrupted(url: str) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        verify_callback("POST", "/cb", None, oss_signed(signer), b"x=1", key_source=interrupted)


def test_key_source_answers(signer: CallbackSigner) -> None:
    headers = oss_signed(signer)
    with pytest.raises(CallbackError) as info:
        verify_callback("POST", "/cb", None, headers, b"x=1", key_source=stub("<html>404</html>"))
    assert info.value.code == "CALLBACK_INVALID_PUBLIC_KEY"
    # bytes work as well as str.
    verify_callback(
        "POST", "/cb", None, headers, b"x=1", key_source=lambda url: PUBLIC_PEM.encode()
    )
    with pytest.raises(CallbackError) as info:
        verify_callback("POST", "/cb", None, headers, b"x=1", key_source=lambda url: b"\xff\xfe")
    assert info.value.code == "CALLBACK_KEY_FETCH_FAILED" and info.value.__cause__ is None
    with pytest.raises(TypeError, match="key_source must be a CachedKeySource or a callable"):
        verify_callback("POST", "/cb", None, headers, b"x=1", key_source=PUBLIC_PEM)  # type: ignore[arg-type]


def test_cached_key_source_keeps_keys_not_failures(signer: CallbackSigner) -> None:
    attempts: list[str] = []

    def flaky(url: str) -> str:
        attempts.append(url)
        if len(attempts) == 1:
            raise TimeoutError("timed out")
        return PUBLIC_PEM

    keys = CachedKeySource(flaky)
    assert keys.fetch is flaky
    headers = oss_signed(signer)
    with pytest.raises(CallbackError) as info:
        verify_callback("POST", "/cb", None, headers, b"x=1", key_source=keys)
    assert isinstance(info.value.__cause__, TimeoutError)
    assert len(keys) == 0
    verify_callback("POST", "/cb", None, headers, b"x=1", key_source=keys)
    verify_callback("POST", "/cb", None, headers, b"x=1", key_source=keys)
    assert attempts == [OSS_KEY_URL, OSS_KEY_URL]
    assert len(keys) == 1
    assert repr(keys) == "CachedKeySource(<1 cached keys>)"
    keys.clear()
    assert len(keys) == 0
    with pytest.raises(TypeError, match="key_source must be"):
        CachedKeySource("not callable")  # type: ignore[arg-type]


def test_the_default_key_source_is_cached_and_untrusted_urls_never_reach_it(
    signer: CallbackSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[str] = []

    def fetch(url: str) -> str:
        fetched.append(url)
        return PUBLIC_PEM

    monkeypatch.setattr(postpolicy.callback, "default_key_source", CachedKeySource(fetch))
    for _ in range(2):
        verify_callback("POST", "/cb", None, oss_signed(signer), b"x=1")
    assert fetched == [OSS_KEY_URL]
    local = signer.headers(LOCAL_KEY_URL, "/cb", None, b"x=1")
    with pytest.raises(CallbackError) as info:
        verify_callback("POST", "/cb", None, local, b"x=1")
    assert info.value.code == "CALLBACK_UNTRUSTED_KEY_URL"
    assert fetched == [OSS_KEY_URL]
    assert isinstance(postpolicy.default_key_source, CachedKeySource)
    assert postpolicy.default_key_source.fetch is fetch_public_key


def verify_with(
    headers: dict[str, str], path: str, query: Optional[str], body: bytes, pem: str = PUBLIC_PEM
) -> None:
    verify_callback(
        "POST",
        path,
        query,
        headers,
        body,
        key_source=stub(pem),
        trusted_key_urls="http://127.0.0.1:8080",
    )


def test_sender_round_trip_with_the_vector_key(signer: CallbackSigner) -> None:
    path = "/%E5%9B%9E%E8%B0%83/notify.php"
    body = b"bucket=examplebucket&object=a%2Fb.jpg&size=5"
    for query in (None, "", "name=%E4%B8%AD&x=a%2Bb"):
        headers = signer.headers(LOCAL_KEY_URL, path, query, body)
        verify_with(headers, path, query, body)
        tampered = bytes([body[0] ^ 1]) + body[1:]
        for args in ((path, query, tampered), ("/other", query, body)):
            with pytest.raises(CallbackError) as info:
                verify_with(headers, *args)
            assert info.value.code == "CALLBACK_BAD_SIGNATURE"
    # `?` with an empty query is not the same as no `?`.
    headers = signer.headers(LOCAL_KEY_URL, "/cb", None, b"x")
    with pytest.raises(CallbackError, match="does not match"):
        verify_with(headers, "/cb", "", b"x")


def test_request_parts_in_every_accepted_form(signer: CallbackSigner) -> None:
    body = b"a=1"
    signed = signer.headers(OSS_KEY_URL, "/cb", "q=1", body)
    message = email.message.Message()
    for name, value in signed.items():
        message[name] = value
    werkzeug = pytest.importorskip("werkzeug.datastructures")
    forms: list[Any] = [
        signed,
        list(signed.items()),
        iter(signed.items()),
        message,
        werkzeug.Headers(list(signed.items())),
        werkzeug.EnvironHeaders(
            {
                "HTTP_AUTHORIZATION": signed["authorization"],
                "HTTP_X_OSS_PUB_KEY_URL": signed["x-oss-pub-key-url"],
            }
        ),
    ]
    for headers in forms:
        verify_callback("GET", "/cb", "q=1", headers, bytearray(body), key_source=stub())
    with pytest.raises(TypeError, match=r"body must be bytes .*not str"):
        verify_callback("POST", "/cb", "q=1", signed, "a=1", key_source=stub())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"headers\[0\]"):
        verify_callback("POST", "/cb", "q=1", ["authorization"], body, key_source=stub())  # type: ignore[list-item]


# ---- key URL policy ------------------------------------------------------------


def test_key_url_policy() -> None:
    default = KeyUrlPolicy()
    assert default.prefixes == ["http://gosspublic.alicdn.com/", "https://gosspublic.alicdn.com/"]
    assert default.is_trusted(OSS_KEY_URL)
    for bad in [
        "http://gosspublic.alicdn.com.evil.com/k.pem",
        "https://evil.com/http://gosspublic.alicdn.com/",
        "HTTP://gosspublic.alicdn.com/k.pem",
        "http://gosspublic.alicdn.com/k.pem\r\nHost: evil",
        "http://gosspublic.alicdn.com",
        "",
    ]:
        assert not default.is_trusted(bad), bad
    local = default.allow("http://127.0.0.1:8080")
    assert local.prefixes[-1] == "http://127.0.0.1:8080/"
    assert default.prefixes == KeyUrlPolicy().prefixes, "allow returns a copy"
    assert local.is_trusted("http://127.0.0.1:8080/key.pem")
    assert not local.is_trusted("http://127.0.0.1:80801/key.pem")
    assert not local.is_trusted("http://127.0.0.1:8080.evil.com/key.pem")
    only = KeyUrlPolicy.none().allow("http://localhost:9000/keys/")
    assert only.prefixes == ["http://localhost:9000/keys/"]
    assert not only.is_trusted(OSS_KEY_URL)
    assert only == KeyUrlPolicy.none().allow("http://localhost:9000/keys/")
    assert repr(only) == "KeyUrlPolicy(prefixes=['http://localhost:9000/keys/'])"


def test_trusted_key_urls_forms(signer: CallbackSigner) -> None:
    local = signer.headers(LOCAL_KEY_URL, "/cb", None, b"x=1")
    oss = oss_signed(signer)

    def run(headers: dict[str, str], trusted: Any) -> str:
        try:
            verify_callback("POST", "/cb", None, headers, b"x=1", stub(), trusted)
        except CallbackError as e:
            return e.code
        return "OK"

    for trusted in (
        "http://127.0.0.1:8080",
        ["http://127.0.0.1:8080/"],
        ("https://keys.example.com/", "http://127.0.0.1:8080/callback_pub_key.pem"),
        KeyUrlPolicy().allow("http://127.0.0.1:8080"),
    ):
        assert run(local, trusted) == "OK", trusted
        assert run(oss, trusted) == "OK", "prefixes are trusted in addition to OSS's own"
    assert run(local, None) == "CALLBACK_UNTRUSTED_KEY_URL"
    assert run(local, []) == "CALLBACK_UNTRUSTED_KEY_URL"
    # A prefix matches whole path segments, not a string prefix of one.
    assert run(local, "http://127.0.0.1:8080/callback_") == "CALLBACK_UNTRUSTED_KEY_URL"
    only_local = KeyUrlPolicy.none().allow("http://127.0.0.1:8080/")
    assert (run(local, only_local), run(oss, only_local)) == ("OK", "CALLBACK_UNTRUSTED_KEY_URL")
    for bad in (5, [5]):
        with pytest.raises(TypeError, match="trusted_key_urls must be"):
            run(local, bad)


# ---- signer ------------------------------------------------------------------------


def der(data: bytes, at: int = 0) -> tuple[bytes, int]:
    """The content of the DER element at `at`, and where the next one starts."""
    length = data[at + 1]
    start = at + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return data[start : start + length], start + length


def pem(label: str, body: bytes, newline: str = "\n") -> str:
    text = base64.b64encode(body).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return newline.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


def pem_body(text: str) -> bytes:
    return base64.b64decode("".join(text.strip().splitlines()[1:-1]))


def test_signer_key_formats(signer: CallbackSigner) -> None:
    # PKCS#8 -> PKCS#1: PrivateKeyInfo { version, algorithm, OCTET STRING(RSAPrivateKey) }.
    info, _ = der(pem_body(PRIVATE_PEM))
    _, at = der(info)  # version
    _, at = der(info, at)  # algorithm
    rsa_key, _ = der(info, at)
    pkcs1 = CallbackSigner.from_pem(pem("RSA PRIVATE KEY", rsa_key, "\r\n"))
    assert pkcs1.sign("/a", None, b"b") == signer.sign("/a", None, b"b")
    assert pkcs1.public_key_pem == signer.public_key_pem
    assert repr(signer) == "CallbackSigner(bits=1024)"
    assert "MII" not in repr(signer)

    for bad in ("nope", PUBLIC_PEM, PRIVATE_PEM.replace("MIIC", "MIID")):
        with pytest.raises(CallbackError) as info_:
            CallbackSigner.from_pem(bad)
        assert info_.value.code == "CALLBACK_INVALID_PRIVATE_KEY"
        assert not info_.value.is_verification_failure
        assert str(info_.value).startswith("invalid callback signing key: ")


def test_public_key_formats(signer: CallbackSigner) -> None:
    # SubjectPublicKeyInfo -> PKCS#1 RSAPublicKey: the BIT STRING's content.
    spki, _ = der(pem_body(PUBLIC_PEM))
    _, at = der(spki)  # algorithm
    bits, _ = der(spki, at)
    pkcs1 = pem("RSA PUBLIC KEY", bits[1:])
    headers = signer.headers(LOCAL_KEY_URL, "/cb", None, b"x=1")
    verify_with(headers, "/cb", None, b"x=1", pkcs1)
    # CRLF line ends and surrounding blank lines are fine too.
    verify_with(headers, "/cb", None, b"x=1", "\r\n" + PUBLIC_PEM.replace("\n", "\r\n") + "\r\n")


def test_string_to_sign() -> None:
    string_to_sign = postpolicy.callback.string_to_sign
    assert (
        string_to_sign("/a%20b+c/%E4%B8%AD%zz", "q=%20+", b"x") == "/a b+c/中%zz?q=%20+\nx".encode()
    )
    assert string_to_sign("/%FF", None, b"") == b"/\xff\n"
    assert string_to_sign("/cb", "", bytearray(b"y")) == b"/cb?\ny"


def test_signer_bodies_must_be_bytes(signer: CallbackSigner) -> None:
    assert signer.sign("/cb", None, bytearray(b"x")) == signer.sign("/cb", None, b"x")
    with pytest.raises(TypeError, match="body must be bytes"):
        signer.sign("/cb", None, "x")  # type: ignore[arg-type]


# ---- errors --------------------------------------------------------------------


def test_callback_error_pickles_and_reads_well() -> None:
    with pytest.raises(CallbackError) as info:
        CallbackSpec("https://a.example.com/", "u=${x:uid}")
    error = info.value
    assert repr(error) == (
        "CallbackError(code='CALLBACK_UNDEFINED_VAR', message="
        "'callbackBody uses `${x:uid}` but no custom variable `x:uid` is given')"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is CallbackError
    assert (copy.code, copy.code, copy.is_verification_failure, str(copy)) == (
        error.code,
        error.code,
        False,
        str(error),
    )
    assert CallbackError("x").code == "CALLBACK_INVALID"


# ---- the HTTP key fetcher, against a server on 127.0.0.1 --------------------------------


class KeyServer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes: dict[str, tuple[int, dict[str, str], bytes]] = {
            "/key.pem": (200, {}, PUBLIC_PEM.encode()),
            "/moved.pem": (302, {"Location": "/key.pem"}, b""),
            "/huge.pem": (200, {}, b"A" * (postpolicy.callback.MAX_KEY_BYTES + 1)),
        }
        if self.path == "/slow.pem":
            time.sleep(1.0)
        status, headers, body = routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def key_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), KeyServer)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_fetch_public_key(key_server: str, signer: CallbackSigner) -> None:
    assert fetch_public_key(f"{key_server}/key.pem") == PUBLIC_PEM
    with pytest.raises(urllib.error.HTTPError) as http_error:
        fetch_public_key(f"{key_server}/moved.pem")  # redirects are not followed
    assert http_error.value.code == 302
    http_error.value.close()
    with pytest.raises(urllib.error.HTTPError) as http_error:
        fetch_public_key(f"{key_server}/missing.pem")
    http_error.value.close()
    with pytest.raises(ValueError, match="larger than"):
        fetch_public_key(f"{key_server}/huge.pem")
    with pytest.raises(OSError):  # socket.timeout / TimeoutError / URLError
        fetch_public_key(f"{key_server}/slow.pem", timeout=0.2)
    with pytest.raises(ValueError, match="only http and https"):
        fetch_public_key("file:///etc/hostname")

    # Through verify_callback, with the prefix of this server trusted.
    keys = CachedKeySource(fetch_public_key)
    url = f"{key_server}/key.pem"
    headers = signer.headers(url, "/cb", None, b"x=1")
    verified = verify_callback("POST", "/cb", None, headers, b"x=1", keys, key_server)
    assert verified.public_key_url == url
    moved = signer.headers(f"{key_server}/moved.pem", "/cb", None, b"x=1")
    with pytest.raises(CallbackError) as info:
        verify_callback("POST", "/cb", None, moved, b"x=1", keys, key_server)
    assert info.value.code == "CALLBACK_KEY_FETCH_FAILED" and "302" in str(info.value)
