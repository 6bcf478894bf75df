"""Bad input never crashes the interpreter: wrong types, huge values, lone
surrogates, deep nesting and random text all end in a Python exception (or a
result), never in a panic or an abort."""

from __future__ import annotations

import base64
import datetime
import random
import threading
from typing import Any, Callable

import pytest

import postpolicy
from postpolicy import Credentials, FileInfo, OssSigner, Policy, Verifier

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SURROGATE = "\ud800"


@pytest.fixture
def signer() -> OssSigner:
    return OssSigner(Credentials("LTAI5tRobust", "secret"), "cn-hangzhou", "examplebucket")


@pytest.fixture
def verifier() -> Verifier:
    return Verifier("examplebucket", "cn-hangzhou", {"LTAI5tRobust": "secret"})


def no_panic(call: Callable[[], Any]) -> Any:
    """Runs `call`; any exception is fine except a Rust panic surfacing."""
    try:
        return call()
    except BaseException as e:
        assert type(e).__name__ != "PanicException", repr(e)
        assert isinstance(e, Exception), repr(e)
        return e


WRONG_TYPE_CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("parse(None)", lambda: Policy.parse(None)),  # type: ignore[arg-type]
    ("parse(bytes)", lambda: Policy.parse(b"key = a")),  # type: ignore[arg-type]
    ("from_json(1)", lambda: Policy.from_json(1)),  # type: ignore[arg-type]
    ("from_base64([])", lambda: Policy.from_base64([])),  # type: ignore[arg-type]
    ("to_json('now')", lambda: Policy.parse("key = a").to_json("now")),  # type: ignore[arg-type]
    ("lint(0)", lambda: Policy.parse("key = a").lint(0)),  # type: ignore[arg-type]
    ("Credentials(1, 2)", lambda: Credentials(1, 2)),  # type: ignore[arg-type]
    ("Credentials(token=3)", lambda: Credentials("a", "b", 3)),  # type: ignore[arg-type]
    ("OssSigner(str)", lambda: OssSigner("creds", "cn-hangzhou", "bucket")),  # type: ignore[arg-type]
    ("OssSigner(region=None)", lambda: OssSigner(Credentials("a", "b"), None, "bkt")),  # type: ignore[arg-type]
    ("sign_v1(None)", lambda: postpolicy.sign_v1(None, "p")),  # type: ignore[arg-type]
    ("sign_v4(date=20240101)", lambda: postpolicy.sign_v4("s", "p", 20240101, "cn-hangzhou")),  # type: ignore[arg-type]
    ("Verifier(1, 2, {})", lambda: Verifier(1, 2, {})),  # type: ignore[arg-type]
    ("FileInfo(None)", lambda: FileInfo(None)),  # type: ignore[arg-type]
    ("FileInfo(size='1')", lambda: FileInfo("a", None, "1")),  # type: ignore[arg-type]
    ("explain(None, ...)", lambda: postpolicy.explain(None, [], None)),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("name, call", WRONG_TYPE_CALLS, ids=[n for n, _ in WRONG_TYPE_CALLS])
def test_wrong_types_raise_type_error(name: str, call: Callable[[], Any]) -> None:
    with pytest.raises(TypeError):
        call()


def test_wrong_types_in_signer_and_verifier(signer: OssSigner, verifier: Verifier) -> None:
    policy = Policy.parse("key = a")
    with pytest.raises(TypeError):
        signer.sign(policy, key=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        signer.sign_json(None)  # type: ignore[arg-type]
    for fields in ([1, 2], [("a", "b", "c")], [(None, "x")], {"a": 1}, {1: "a"}, object()):
        with pytest.raises(TypeError):
            verifier.verify(fields, None, now=NOW)  # type: ignore[arg-type]
    for file in (
        {"filename": 1},
        {"filename": "a", "size": "big"},
        {"filename": "a", "content_type": 1},
        3.5,
    ):
        with pytest.raises(TypeError):
            verifier.verify([("key", "a")], file, now=NOW)  # type: ignore[arg-type]


SURROGATE_CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("parse", lambda: Policy.parse("key = \ud800")),
    ("parse params", lambda: Policy.parse("key = {v}", {"v": SURROGATE})),
    ("from_json", lambda: Policy.from_json(f'{{"{SURROGATE}": 1}}')),
    ("from_base64", lambda: Policy.from_base64(SURROGATE)),
    ("Credentials id", lambda: Credentials(SURROGATE, "secret")),
    ("Credentials secret", lambda: Credentials("id", SURROGATE)),
    ("sign_v1", lambda: postpolicy.sign_v1(SURROGATE, "p")),
    ("sign_v4", lambda: postpolicy.sign_v4("s", "p", "20240101", SURROGATE)),
    ("FileInfo", lambda: FileInfo(SURROGATE)),
    ("Verifier bucket", lambda: Verifier(SURROGATE, "cn-hangzhou", {})),
    ("Verifier keys", lambda: Verifier("b", "cn-hangzhou", {SURROGATE: "x"})),
]


@pytest.mark.parametrize("name, call", SURROGATE_CALLS, ids=[n for n, _ in SURROGATE_CALLS])
def test_lone_surrogates_raise_unicode_errors(name: str, call: Callable[[], Any]) -> None:
    with pytest.raises(UnicodeEncodeError):
        call()


def test_lone_surrogates_in_forms(signer: OssSigner, verifier: Verifier) -> None:
    with pytest.raises(UnicodeEncodeError):
        signer.sign(Policy.parse("key = a"), key=SURROGATE)
    with pytest.raises(UnicodeEncodeError):
        verifier.verify([("key", SURROGATE)], None, now=NOW)
    with pytest.raises(UnicodeEncodeError):
        verifier.verify([(SURROGATE, "a")], None, now=NOW)
    with pytest.raises(UnicodeEncodeError):
        verifier.verify([("key", "a")], {"filename": SURROGATE}, now=NOW)
    # A callable key store returning a surrogate: its error surfaces.
    form = signer.sign(Policy.parse("key = a"), now=NOW)
    odd = Verifier("examplebucket", "cn-hangzhou", lambda key_id: SURROGATE)
    with pytest.raises(UnicodeEncodeError):
        odd.verify([*form.fields.items(), ("key", "a")], FileInfo("a"), now=NOW)


def test_huge_sizes(verifier: Verifier) -> None:
    with pytest.raises(OverflowError):
        FileInfo("a", None, 2**64)
    with pytest.raises(OverflowError):
        FileInfo("a", None, -1)
    with pytest.raises(OverflowError):
        verifier.verify([("key", "a")], {"filename": "a", "size": 10**30}, now=NOW)
    open_bucket = Verifier("examplebucket", "cn-hangzhou", {}, allow_anonymous=True)
    with pytest.raises(postpolicy.Rejected) as info:
        open_bucket.verify([("key", "a")], FileInfo("a", None, 2**64 - 1), now=NOW)
    assert info.value.service_code == "EntityTooLarge"


def test_huge_numbers_in_policies(signer: OssSigner) -> None:
    top = Policy.parse("content-length 0..18446744073709551615\nkey = a")
    assert "range-above-5gb" in {d.code for d in top.lint(NOW)}
    with pytest.raises(postpolicy.PolicySyntaxError):
        Policy.parse("content-length 0..18446744073709551616")
    with pytest.raises(postpolicy.PolicySyntaxError):
        Policy.parse("content-length 0..99999999999999999999GiB")
    forever = Policy.parse("expires in 99999999999999d\nkey = a")
    no_panic(lambda: forever.to_json(NOW))
    no_panic(lambda: forever.expires_at(NOW))
    no_panic(lambda: signer.sign(forever, now=NOW))
    no_panic(
        lambda: Policy.from_json(
            '{"expiration":"2026-01-01T00:00:00.000Z","conditions":[["content-length-range",0,1e400]]}'
        )
    )
    no_panic(
        lambda: Policy.from_json(
            '{"expiration":"2026-01-01T00:00:00.000Z","conditions":[["content-length-range",-1,99999999999999999999999]]}'
        )
    )


def test_extreme_instants(signer: OssSigner) -> None:
    policy = Policy.parse("key = a")
    for now in (
        datetime.datetime.max.replace(tzinfo=UTC),
        datetime.datetime.min.replace(tzinfo=UTC),
        datetime.datetime(1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=23))),
        datetime.datetime(
            9999, 12, 31, 23, 59, tzinfo=datetime.timezone(-datetime.timedelta(hours=23))
        ),
    ):
        no_panic(lambda: signer.sign(policy, now=now))
        no_panic(lambda: policy.to_json(now))
        no_panic(lambda: policy.lint(now))
        no_panic(lambda: postpolicy.explain(policy, [("key", "a")], FileInfo("a"), now=now))


def test_extreme_clock_skews() -> None:
    for skew in (datetime.timedelta.max, datetime.timedelta.min, 10**18, -(10**18), 0, -5.5):
        no_panic(lambda: Verifier("examplebucket", "cn-hangzhou", {}, clock_skew=skew))
    for skew in (10**30, 1e300, float("inf"), float("nan")):
        with pytest.raises(OverflowError):
            Verifier("examplebucket", "cn-hangzhou", {}, clock_skew=skew)


def test_deep_and_long_inputs(verifier: Verifier) -> None:
    with pytest.raises(postpolicy.PolicyError):
        Policy.from_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(postpolicy.PolicyError):
        Policy.from_base64(base64.b64encode(b"{" * 50_000).decode())
    long_dsl = "\n".join(f"x-oss-meta-k{i} = v{i}" for i in range(20_000))
    assert len(Policy.parse(long_dsl)) == 20_000
    with pytest.raises(postpolicy.PolicySyntaxError) as info:
        Policy.parse("key starts-with\n" * 5_000)
    assert len(info.value.errors) == 5_000
    big = [("key", "a"), ("x-oss-meta-big", "x" * (3 * 1024 * 1024))]
    with pytest.raises(postpolicy.Rejected) as rejected:
        verifier.verify(big, FileInfo("a"), now=NOW)
    assert rejected.value.service_code == "FieldItemTooLong"


ALPHABET = [
    "expires",
    "in",
    "at",
    "1h",
    "30m",
    "2026-12-01T00:00:00Z",
    "key",
    "$key",
    "bucket",
    "content-type",
    "content-length",
    "content-length-range",
    "starts-with",
    "in",
    "not-in",
    "=",
    "..",
    "[",
    "]",
    ",",
    ";",
    "#",
    "\n",
    " ",
    '"',
    "\\",
    "\\u{1F600}",
    "\\u{",
    "}",
    "10MiB",
    "0",
    "18446744073709551615",
    "x-oss-meta-",
    "x:var",
    "é",
    "\u0000",
    "\ufeff",
]


def test_random_dsl_never_panics() -> None:
    rng = random.Random(20261121)
    parsed = 0
    for _ in range(3_000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24)))
        result = no_panic(lambda: Policy.parse(text))
        if isinstance(result, Policy):
            parsed += 1
            assert Policy.parse(result.to_dsl()) == result
            no_panic(lambda: result.lint(NOW))
            no_panic(lambda: Policy.from_json(result.to_json(NOW)))
        else:
            assert isinstance(result, postpolicy.PolicySyntaxError), repr(result)
    assert parsed > 10


def test_random_json_never_panics() -> None:
    rng = random.Random(7)
    pieces = [
        "{",
        "}",
        "[",
        "]",
        '"expiration"',
        '"conditions"',
        ":",
        ",",
        '"2026-01-01T00:00:00Z"',
        '"eq"',
        '"$key"',
        '"starts-with"',
        '"content-length-range"',
        "1",
        "-1",
        "1e999",
        "null",
        "true",
        '"\\ud800"',
        '"\\u0000"',
        '"in"',
        '["a"]',
    ]
    for _ in range(3_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 20)))
        result = no_panic(lambda: Policy.from_json(text))
        assert isinstance(result, (Policy, postpolicy.PolicyError)), repr(result)
        b64 = base64.b64encode(text.encode()).decode()
        result = no_panic(lambda: Policy.from_base64(b64))
        assert isinstance(result, (Policy, postpolicy.PolicyError)), repr(result)


def test_threads_share_a_signer_and_a_verifier(signer: OssSigner) -> None:
    policy = Policy.parse('key starts-with "u/"\ncontent-length 1..100')
    keys_seen: list[str] = []

    def lookup(key_id: str) -> str:
        keys_seen.append(key_id)
        return "secret"

    verifiers = [
        Verifier("examplebucket", "cn-hangzhou", {"LTAI5tRobust": "secret"}),
        Verifier("examplebucket", "cn-hangzhou", lookup),
    ]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                form = signer.sign(policy, now=NOW)
                fields = [*form.fields.items(), ("key", f"u/{n}/{i}")]
                accepted = verifiers[i % 2].verify(fields, FileInfo("f", None, 10), now=NOW)
                assert accepted.key == f"u/{n}/{i}"
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(keys_seen) == 400
