"""Shared fixtures: the repository's cross-language test data."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "oss-signatures.json"
CONFORMANCE = ROOT / "tests" / "conformance" / "oss-verify.json"
DISPUTED = ROOT / "tests" / "DISPUTED.md"


def load(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def disputed() -> list[str]:
    """Ids listed in tests/DISPUTED.md as lines "- `id` ..." (same rule as the Rust runner)."""
    if not DISPUTED.exists():
        return []
    out = []
    for line in DISPUTED.read_text(encoding="utf-8").splitlines():
        if line.startswith("- `"):
            out.append(line[len("- `") :].split("`")[0])
    return out


def skip_if_disputed(item_id: str) -> None:
    """Skips (and prints) an id listed in tests/DISPUTED.md."""
    if item_id in disputed():
        print(f"SKIP {item_id} (listed in tests/DISPUTED.md)")
        pytest.skip(f"SKIP {item_id} (listed in tests/DISPUTED.md)")


def instant(text: str) -> datetime.datetime:
    """An RFC 3339 UTC instant such as 2026-11-21T12:00:00Z."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
