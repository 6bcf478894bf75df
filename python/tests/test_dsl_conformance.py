"""The DSL conformance cases of tests/dsl (see its README), through the Python
API: every ok/NAME.policy prints canonical/NAME.policy, every err/NAME.policy
reports err/NAME.err; a NAME.params file beside a case gives its parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pytest
from conftest import ROOT

from postpolicy import Policy, PolicySyntaxError

CASES = ROOT / "tests" / "dsl"


def names(folder: str) -> list[str]:
    return sorted(p.stem for p in (CASES / folder).glob("*.policy"))


def read(path: Path) -> str:
    # Byte for byte: no newline translation.
    return path.read_bytes().decode("utf-8")


def params(folder: str, name: str) -> Optional[dict[str, str]]:
    path = CASES / folder / f"{name}.params"
    if not path.exists():
        return None
    loaded = json.loads(read(path))
    assert isinstance(loaded, dict) and all(isinstance(v, str) for v in loaded.values())
    return loaded


def test_there_are_cases() -> None:
    assert len(names("ok")) >= 40 and len(names("err")) >= 40
    assert len(list(CASES.glob("*/*.params"))) >= 10


@pytest.mark.parametrize("name", names("ok"))
def test_ok(name: str) -> None:
    policy = Policy.parse(read(CASES / "ok" / f"{name}.policy"), params("ok", name))
    canonical = read(CASES / "canonical" / f"{name}.policy")
    assert policy.to_dsl() == canonical
    assert Policy.parse(canonical) == policy


@pytest.mark.parametrize("name", names("err"))
def test_err(name: str) -> None:
    with pytest.raises(PolicySyntaxError) as raised:
        Policy.parse(read(CASES / "err" / f"{name}.policy"), params("err", name))
    reported = "".join(f"{e.line}:{e.column}: {e.reason}\n" for e in raised.value.errors)
    assert reported == read(CASES / "err" / f"{name}.err")
