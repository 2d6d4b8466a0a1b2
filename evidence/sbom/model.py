"""The parser interface's data types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class SbomParseError(ValueError):
    """The document cannot be read. `location` says where (a JSON path, a line), if known."""

    def __init__(self, message: str, *, location: str = "") -> None:
        self.message = message
        self.location = location
        super().__init__(f"{message} (at {location})" if location else message)


@dataclass(frozen=True)
class ParsedSbom:
    format: str
    spec_version: str
    component_count: int
    created_at: datetime | None = None
    warnings: list[str] = field(default_factory=list)
