"""The Flask example's callback route, served for real on 127.0.0.1 (werkzeug
`make_server`, port 0, in a thread): callbacks signed with the vectors' test
key pass, the same with one body byte changed does not. The public key is
served by the same server and fetched over HTTP by the package's own fetcher
(`fetch_public_key`), whose URL prefix the app is configured to trust."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Optional

import pytest
from conftest import VECTORS, load

import postpolicy
from postpolicy import CachedKeySource, CallbackSigner, fetch_public_key

flask = pytest.importorskip("flask")
serving = pytest.importorskip("werkzeug.serving")

from test_flask_example import KEY_ID, SECRET, load_example  # noqa: E402

TEST_KEY = load(VECTORS)["callback"]["synthetic_test_key"]
BODY = b"bucket=examplebucket&object=user%2F42%2Fcat.png&size=2048&mimeType=image%2Fpng&user=42"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Served:
    port: int
    key_url: str
    key_fetches: list[str] = field(default_factory=list)

    def post(self, target: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, Any]:
        """POSTs `body` to `target` exactly as given (a bare `?` included)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", target, body=body, headers={**FORM, **headers})
            response = conn.getresponse()
            data = response.read()
            return response.status, response.getheader("Content-Type", ""), json.loads(data)
        finally:
            conn.close()


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


@pytest.fixture
def served(example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    # The key is fetched from 127.0.0.1: never through a proxy.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    signer = postpolicy.OssSigner(
        postpolicy.Credentials(KEY_ID, SECRET), region="cn-hangzhou", bucket="examplebucket"
    )
    app = example.create_app(signer, key_source=CachedKeySource(fetch_public_key))
    fetches: list[str] = []

    # The test's key server, on the same app: what OSS's gosspublic host is in
    # production.
    def public_key() -> Any:
        fetches.append(flask.request.path)
        return flask.Response(TEST_KEY["public_key_pem"], mimetype="application/x-pem-file")

    app.add_url_rule("/keys/callback_pub_key.pem", view_func=public_key)

    # threaded: the callback route fetches the key from this same server.
    server = serving.make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    app.config["OSS_CALLBACK_TRUSTED_KEY_URLS"] = f"http://127.0.0.1:{port}/keys/"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield Served(port, f"http://127.0.0.1:{port}/keys/callback_pub_key.pem", fetches)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def signed(key_url: str, path: str, query: Optional[str], body: bytes) -> dict[str, str]:
    return CallbackSigner.from_pem(TEST_KEY["private_key_pem"]).headers(key_url, path, query, body)


def test_a_signed_callback_is_answered_ok(served: Served) -> None:
    headers = signed(served.key_url, "/oss-callback", "src=oss", BODY)
    status, content_type, answer = served.post("/oss-callback?src=oss", BODY, headers)
    assert (status, answer) == (200, {"Status": "OK"})
    assert content_type == "application/json"
    assert served.key_fetches == ["/keys/callback_pub_key.pem"]

    # The key is kept: a second callback does not fetch it again.
    other = BODY.replace(b"size=2048", b"size=4096")
    status, _, answer = served.post(
        "/oss-callback?src=oss", other, signed(served.key_url, "/oss-callback", "src=oss", other)
    )
    assert (status, answer) == (200, {"Status": "OK"})
    assert len(served.key_fetches) == 1


def test_one_changed_body_byte_is_refused(served: Served) -> None:
    headers = signed(served.key_url, "/oss-callback", "src=oss", BODY)
    tampered = bytearray(BODY)
    tampered[-1] ^= 1  # user=42 -> user=43
    status, content_type, answer = served.post("/oss-callback?src=oss", bytes(tampered), headers)
    assert status == 400
    assert content_type == "application/json"
    assert answer["code"] == "CALLBACK_BAD_SIGNATURE"
    assert "signature" in answer["message"]
    assert "Status" not in answer


def test_the_raw_target_is_what_is_verified(served: Served) -> None:
    # A bare `?` is part of what OSS signs, and so is a percent-encoded query.
    headers = signed(served.key_url, "/oss-callback", "", BODY)
    assert served.post("/oss-callback?", BODY, headers)[0] == 200
    assert served.post("/oss-callback", BODY, headers)[0] == 400
    query = "name=%E4%B8%AD&x=a%2Bb"
    headers = signed(served.key_url, "/oss-callback", query, BODY)
    assert served.post(f"/oss-callback?{query}", BODY, headers)[0] == 200
    assert served.post("/oss-callback?name=%E4%B8%AD&x=a+b", BODY, headers)[0] == 400


def test_untrusted_key_urls_are_refused_unfetched(served: Served) -> None:
    evil = f"http://127.0.0.1:{served.port}/evil/callback_pub_key.pem"
    status, _, answer = served.post(
        "/oss-callback", BODY, signed(evil, "/oss-callback", None, BODY)
    )
    assert status == 400 and answer["code"] == "CALLBACK_UNTRUSTED_KEY_URL"
    assert "/evil/" in answer["message"]
    assert served.key_fetches == []


def test_unsigned_and_garbled_requests_get_json_errors(served: Served) -> None:
    status, _, answer = served.post("/oss-callback", BODY, {})
    assert (status, answer["code"]) == (400, "CALLBACK_MISSING_PUB_KEY_URL")
    headers = {
        "Authorization": "not base64!",
        "X-OSS-Pub-Key-Url": base64.b64encode(served.key_url.encode()).decode(),
    }
    status, _, answer = served.post("/oss-callback", BODY, headers)
    assert (status, answer["code"]) == (400, "CALLBACK_HEADER_NOT_BASE64")
