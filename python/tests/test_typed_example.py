"""The typed example (python/examples/typed_example.py) runs; the lint step
also checks it with mypy --strict."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "typed_example.py"


def test_typed_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "user/42/cat.png 204"
    assert out[2].startswith("403 AccessDenied at 0: key `elsewhere/cat.png`")
    assert out[-1] == "1:16: expected value, found end of input"
