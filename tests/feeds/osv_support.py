"""What the OSV parser tests share: the fixtures folder, a minimal record and small readers."""

from __future__ import annotations

from typing import Any

from evidence.feeds.model import Advisory, FeedParse
from tests.feeds.helpers import FIXTURES, fixture

__all__ = ["FIXTURES", "affected_with", "fixture", "only", "record"]


def only(result: FeedParse) -> Advisory:
    assert len(result.advisories) == 1, result.errors
    return result.advisories[0]


def record(**fields: Any) -> dict[str, Any]:
    """A minimal valid OSV record with `fields` replacing or adding members."""
    value: dict[str, Any] = {
        "id": "TEST-2024-1",
        "modified": "2024-05-01T00:00:00Z",
        "published": "2024-04-01T10:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "demo"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}
                ],
            }
        ],
    }
    value.update(fields)
    return value


def affected_with(ecosystem: str, name: str = "demo", **package: str) -> dict[str, Any]:
    return {
        "package": {"ecosystem": ecosystem, "name": name, **package},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0-1"}]}],
    }
