"""Callback key URLs are trusted by parsed URL (issue 12, item 5), through
the Python binding: every refused key URL is refused with the key source
never called, and the key cache is keyed by canonical URL and bounded."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Callable, Union

import pytest

from postpolicy import (
    CachedKeySource,
    CallbackError,
    CallbackSigner,
    KeyUrlPolicy,
    verify_callback,
)

ROOT = Path(__file__).resolve().parents[3]
KEY = json.loads((ROOT / "tests" / "vectors" / "oss-signatures.json").read_text("utf-8"))[
    "callback"
]["synthetic_test_key"]
SIGNER = CallbackSigner.from_pem(KEY["private_key_pem"])
PEM: str = KEY["public_key_pem"]
BODY = b"bucket=b&object=o"
WELL_KNOWN = "http://127.0.0.1:8080/.well-known/postpolicy/"


class Counting:
    """A key source (url -> PEM) that records every URL it is asked for."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, url: str) -> str:
        self.calls.append(url)
        return PEM


KeySource = Union[Counting, CachedKeySource]


# The signature covers path, query and body, not the key URL: sign once.
AUTHORIZATION = SIGNER.sign("/cb", None, BODY)


def verify(key_url: str, source: KeySource, trusted: Any) -> str:
    headers = {
        "authorization": AUTHORIZATION,
        "x-oss-pub-key-url": base64.b64encode(key_url.encode()).decode(),
    }
    return verify_callback("POST", "/cb", None, headers, BODY, source, trusted).public_key_url


def assert_refused_unfetched(key_url: str, trusted: Any = WELL_KNOWN) -> None:
    source = Counting()
    with pytest.raises(CallbackError) as info:
        verify(key_url, source, trusted)
    assert info.value.code == "CALLBACK_UNTRUSTED_KEY_URL", (key_url, str(info.value))
    assert source.calls == [], f"{key_url!r} was fetched"


def test_a_key_url_inside_the_trusted_folder_verifies() -> None:
    source = Counting()
    url = WELL_KNOWN + "callback_pub_key_v1.pem"
    assert verify(url, source, WELL_KNOWN) == url
    assert source.calls == [url]


@pytest.mark.parametrize(
    "url",
    [
        WELL_KNOWN + "../../postpolicy-dev/evil/k.pem",
        WELL_KNOWN + "./k.pem",
        WELL_KNOWN + "..;x/..;x/postpolicy-dev/evil/k.pem",
    ],
)
def test_dot_segments_are_refused_unfetched(url: str) -> None:
    assert_refused_unfetched(url)


@pytest.mark.parametrize(
    "url",
    [
        WELL_KNOWN + "%2e%2e/%2e%2e/postpolicy-dev/evil/k.pem",
        WELL_KNOWN + "%2E%2E/%2E%2E/postpolicy-dev/evil/k.pem",
        WELL_KNOWN + ".%2e/.%2E/postpolicy-dev/evil/k.pem",
        WELL_KNOWN + "..%2f..%2fpostpolicy-dev/evil/k.pem",
        WELL_KNOWN + "..%5c..%5cpostpolicy-dev/evil/k.pem",
        WELL_KNOWN + "%252e%252e/k.pem",
        WELL_KNOWN + "..\\..\\postpolicy-dev/evil/k.pem",
    ],
)
def test_encoded_dot_segments_and_backslashes_are_refused_unfetched(url: str) -> None:
    assert_refused_unfetched(url)


def test_a_prefix_matches_at_a_segment_boundary_only() -> None:
    policy = KeyUrlPolicy.none().allow("https://k.example.com/oss")
    assert_refused_unfetched("https://k.example.com/oss-uploads/evil.pem", policy)
    assert_refused_unfetched("https://k.example.com/ossevil.pem", policy)
    assert policy.check("https://k.example.com/oss/k.pem") == "https://k.example.com/oss/k.pem"
    assert policy.is_trusted("https://k.example.com/oss/k.pem")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080@evil.com/.well-known/postpolicy/k.pem",
        "http://user:pw@127.0.0.1:8080/.well-known/postpolicy/k.pem",
        "http://@127.0.0.1:8080/.well-known/postpolicy/k.pem",
    ],
)
def test_userinfo_is_refused_unfetched(url: str) -> None:
    assert_refused_unfetched(url)


def test_a_thousand_query_urls_fetch_and_cache_nothing() -> None:
    counting = Counting()
    cache = CachedKeySource(counting)
    for i in range(1000):
        with pytest.raises(CallbackError) as info:
            verify(f"{WELL_KNOWN}callback_pub_key_v1.pem?v={i}", cache, WELL_KNOWN)
        assert info.value.code == "CALLBACK_UNTRUSTED_KEY_URL"
    assert counting.calls == []
    assert len(cache) == 0


def test_a_fragment_is_refused_unfetched() -> None:
    assert_refused_unfetched(WELL_KNOWN + "k.pem#x")


@pytest.mark.parametrize(
    "url",
    [
        WELL_KNOWN + "k.pem\r\nHost: evil",
        WELL_KNOWN + "k\t.pem",
        "HTTP://127.0.0.1:8080/.well-known/postpolicy/k.pem",
        "http://2130706433:8080/.well-known/postpolicy/k.pem",
        "http://127.1:8080/.well-known/postpolicy/k.pem",
        "http://127.0.0.1:8080/.well-known//postpolicy/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/\uff4b.pem",
        "//127.0.0.1:8080/.well-known/postpolicy/k.pem",
        "http://127.0.0.1:80801/.well-known/postpolicy/k.pem",
        "https://127.0.0.1:8080/.well-known/postpolicy/k.pem",
    ],
)
def test_forms_a_parser_would_rewrite_are_refused_unfetched(url: str) -> None:
    assert_refused_unfetched(url)


def test_oss_key_host_is_fetched_over_https_and_cached_once() -> None:
    counting = Counting()
    cache = CachedKeySource(counting)
    http = "http://gosspublic.alicdn.com/callback_pub_key_v1.pem"
    https = "https://gosspublic.alicdn.com/callback_pub_key_v1.pem"
    assert verify(http, cache, None) == https
    assert verify(https, cache, None) == https
    assert counting.calls == [https]
    assert len(cache) == 1
    assert KeyUrlPolicy().check(http) == https


def test_the_key_cache_is_bounded_least_recently_used_first() -> None:
    counting = Counting()
    cache = CachedKeySource(counting)

    def url(i: int) -> str:
        return f"{WELL_KNOWN}k{i}.pem"

    for i in range(40):
        verify(url(i), cache, WELL_KNOWN)
        verify(url(0), cache, WELL_KNOWN)  # key 0 stays the most recently used
    assert len(cache) == 32
    assert len(counting.calls) == 40
    verify(url(0), cache, WELL_KNOWN)
    assert len(counting.calls) == 40, "key 0 is still cached"
    verify(url(1), cache, WELL_KNOWN)
    assert counting.calls[-1] == url(1), "key 1 went first and is fetched again"
    assert len(cache) == 32


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "not a url",
        "ftp://k.example.com/keys/",
        "https://user@k.example.com/keys/",
        "https://k.example.com/keys/?v=1",
        "https://k.example.com/keys/#x",
        "https://k.example.com/keys/../other/",
        "https:///keys/",
    ],
)
def test_a_bad_prefix_is_a_configuration_error(prefix: str) -> None:
    make: list[Callable[[], object]] = [
        lambda: KeyUrlPolicy().allow(prefix),
        lambda: verify_callback("POST", "/cb", None, {}, b"", Counting(), prefix),
    ]
    for call in make:
        with pytest.raises(CallbackError) as info:
            call()
        assert info.value.code == "CALLBACK_KEY_URL_PREFIX"
        assert isinstance(info.value, ValueError)
