"""The README's example is the tested file's, and it runs."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]


def block(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index("# START readme-python")
    end = text.index("# END readme-python")
    return text[start:end]


def test_readme_block_is_the_tested_example() -> None:
    assert block(HERE / "README.md") == block(HERE / "examples" / "readme_example.py")


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(HERE / "examples" / "readme_example.py"), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('{"url":"https://examplebucket.oss-cn-hangzhou.aliyuncs.com"')
    assert out[1] == "key `avatars/cat.png` does not start with `user/42/`"
