"""Helpers shared by the CSAF parser tests."""

from __future__ import annotations

from tests.feeds.helpers import FIXTURES
from tests.feeds.helpers import fixture as _fixture

__all__ = ["FIXTURES", "_fixture"]
