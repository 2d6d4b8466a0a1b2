"""Warnings collected while reading a document, capped per kind so a bad document cannot flood
the record with a million near-identical lines."""

from __future__ import annotations

CAP_PER_KIND = 50


class Findings:
    """Warnings in the order found; after `cap` messages of one kind, only a count is kept.

    `kind` groups messages that repeat per component (schema violations, missing purls,
    duplicate refs) so that each group is capped on its own.
    """

    def __init__(self, *, cap: int = CAP_PER_KIND) -> None:
        self._cap = cap
        self._kept: dict[str, list[str]] = {}
        self._dropped: dict[str, int] = {}

    def add(self, kind: str, message: str) -> None:
        kept = self._kept.setdefault(kind, [])
        if len(kept) < self._cap:
            kept.append(message)
        else:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1

    def count(self, kind: str) -> int:
        """How many messages of `kind` were added, kept or not."""
        return len(self._kept.get(kind, ())) + self._dropped.get(kind, 0)

    def as_list(self) -> list[str]:
        """Every kept message, each kind followed by the count of the ones left out."""
        out: list[str] = []
        for kind, kept in self._kept.items():
            out.extend(kept)
            dropped = self._dropped.get(kind, 0)
            if dropped:
                out.append(f"... and {dropped:,} more {kind} warnings")
        return out
