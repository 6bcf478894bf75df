"""Every case of tests/conformance/oss-verify.json through the Python API:
the verifier must answer as OSS does. Same checks and skip rule as
crates/postpolicy/tests/conformance.rs (ids listed in tests/DISPUTED.md are
skipped, and each skip is printed), one test per case."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from conftest import CONFORMANCE, instant, load, skip_if_disputed

import postpolicy

CASES: list[dict[str, Any]] = load(CONFORMANCE)["cases"]


def test_full_case_set() -> None:
    assert len(CASES) >= 60


def pairs(items: list[list[str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in items]


def file_info(case: dict[str, Any]) -> Optional[postpolicy.FileInfo]:
    f = case["file"]
    if not isinstance(f, dict):
        return None
    size = f.get("size")
    content_type = f.get("content_type")
    return postpolicy.FileInfo(
        f["filename"],
        content_type if isinstance(content_type, str) else None,
        size if isinstance(size, int) and size >= 0 else None,
    )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_conformance_case(case: dict[str, Any]) -> None:
    skip_if_disputed(case["id"])
    verifier = postpolicy.Verifier(case["bucket"], case["region"], dict(case["keys"]))
    now = instant(case["now"])
    expect = case["expect"]
    try:
        accepted: Optional[postpolicy.Accepted] = verifier.verify(
            pairs(case["fields"]),
            file_info(case),
            now=now,
            fields_after_file=pairs(case["fields_after_file"]),
        )
        rejected: Optional[postpolicy.Rejected] = None
    except postpolicy.Rejected as r:
        accepted, rejected = None, r

    problems = []
    if expect["accepted"]:
        if accepted is None:
            pytest.fail(f"rejected: {rejected}")
        if accepted.key != expect["key"]:
            problems.append(f"key {accepted.key!r} != {expect['key']!r}")
        if accepted.status != expect["status"]:
            problems.append(f"status {accepted.status} != {expect['status']}")
    else:
        if rejected is None:
            assert accepted is not None
            pytest.fail(f"accepted as {accepted.key!r}, expected a rejection")
        if rejected.status != expect["status"]:
            problems.append(f"status {rejected.status} != {expect['status']}")
        if rejected.service_code != expect["code"]:
            problems.append(f"code {rejected.service_code} != {expect['code']}")
        message = expect.get("message")
        if isinstance(message, str) and rejected.message != message:
            problems.append(f"message {rejected.message!r} != {message!r}")
        index = expect.get("condition_index")
        index = index if isinstance(index, int) and index >= 0 else None
        if rejected.condition_index != index:
            problems.append(f"condition_index {rejected.condition_index} != {index}")
        assert rejected.reason, "empty reason"
        assert rejected.code == "REJECTED"
    assert not problems, "; ".join(problems)
