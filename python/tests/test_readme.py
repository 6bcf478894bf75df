"""The README's examples are the tested files', and they run."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from conftest import VECTORS, load

import postpolicy

HERE = Path(__file__).resolve().parents[1]


def block(path: Path, name: str = "readme-python") -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(f"# START {name}")
    end = text.index(f"# END {name}")
    return text[start:end]


def test_readme_block_is_the_tested_example() -> None:
    assert block(HERE / "README.md") == block(HERE / "examples" / "readme_example.py")


def test_readme_callback_block_is_the_tested_example() -> None:
    name = "readme-callback"
    assert block(HERE / "README.md", name) == block(HERE / "examples" / "readme_callback.py", name)


def test_readme_callback_example_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = runpy.run_path(str(HERE / "examples" / "readme_callback.py"), run_name="__main__")
    assert capsys.readouterr().out.splitlines() == [
        "['key', 'callback', 'x:user']",
        "CALLBACK_UNTRUSTED_KEY_URL",
    ]
    # A callback signed for OSS's key URL: OK with the right key, 400 with a
    # changed body. The default key source is swapped for one with no network.
    key = load(VECTORS)["callback"]["synthetic_test_key"]
    fetched: list[str] = []

    def fetch(url: str) -> str:
        fetched.append(url)
        return str(key["public_key_pem"])

    monkeypatch.setattr(
        postpolicy.callback, "default_key_source", postpolicy.CachedKeySource(fetch)
    )
    body = b"bucket=examplebucket&object=user%2F42%2Fcat.png&size=5&user=42"
    oss_key = "https://gosspublic.alicdn.com/callback_pub_key_v1.pem"
    headers = postpolicy.CallbackSigner.from_pem(key["private_key_pem"]).headers(
        oss_key, "/oss-callback", None, body
    )
    on_oss_callback = example["on_oss_callback"]
    assert on_oss_callback("POST", "/oss-callback", None, headers, body) == (200, {"Status": "OK"})
    status, answer = on_oss_callback("POST", "/oss-callback", None, headers, body + b"3")
    assert (status, answer["code"]) == (400, "CALLBACK_BAD_SIGNATURE")
    assert fetched == [oss_key]


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(HERE / "examples" / "readme_example.py"), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('{"url":"https://examplebucket.oss-cn-hangzhou.aliyuncs.com"')
    assert out[1] == "key `avatars/cat.png` does not start with `user/42/`"
