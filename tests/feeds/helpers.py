"""What the feed parser tests share: the fixtures folder and small readers of results."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.feeds.model import Advisory, FeedParse

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"


def fixture(relative: str) -> bytes:
    path = FIXTURES / relative
    if not path.is_file():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return path.read_bytes()


def fixtures_in(directory: str) -> list[Path]:
    found = sorted(p for p in (FIXTURES / directory).glob("*") if p.is_file())
    if not found:
        pytest.skip(f"shared fixtures not found at {FIXTURES / directory}")
    return found


def by_id(result: FeedParse) -> dict[str, Advisory]:
    return {advisory.external_id: advisory for advisory in result.advisories}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
