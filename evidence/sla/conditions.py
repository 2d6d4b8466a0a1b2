"""The condition language of SLA profiles: a tier's `when` mapping, parsed and evaluated.

A condition is a mapping whose every key must hold for an exposure's `Facts`; `any` and `all`
nest further conditions (at most MAX_DEPTH levels). The vocabulary is listed in
`evidence.sla.profiles`' docstring. `_parse_condition` validates a mapping into a `Condition`
(a `ProfileError` naming the file and the key when it does not follow the format);
`Condition.matches` and `Condition.explain` judge it against `Facts` and say why in plain
words; `_condition_data` writes it back as plain data for a profile's canonical form.

This module also holds what both it and `evidence.sla.profiles` build on: the fact vocabulary
(severities, impacts, fact names), `ProfileError` and the error location `_At` with the
primitive value checks, and the UTC instant helpers used in rationales.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evidence.sla.profiles import Facts

MAX_DEPTH = 8

SEVERITIES = ("critical", "high", "medium", "low", "none")
SEVERITY_ALIASES = {"important": "high", "moderate": "medium"}
IMPACTS = ("total", "partial")
# Facts a `missing_any` / `missing_all` condition may name, with their words in rationales.
FACT_NAMES = {
    "cvss_score": "CVSS score",
    "severity": "vendor severity",
    "automatable": "automatable",
    "impact": "technical impact",
}


class ProfileError(ValueError):
    """A profile file or mapping that does not follow the format (message: where and what)."""


# --- parsing helpers --------------------------------------------------------------------------


@dataclass(frozen=True)
class _At:
    """Where in which file a value is, for error messages."""

    origin: str
    path: str = ""

    def key(self, name: str | int) -> _At:
        """The location of a child key or list index."""
        if isinstance(name, int):
            return _At(self.origin, f"{self.path}[{name}]")
        return _At(self.origin, f"{self.path}.{name}" if self.path else name)

    def error(self, message: str) -> ProfileError:
        """A ProfileError naming the file and the key."""
        where = f"{self.origin}: {self.path}" if self.path else self.origin
        return ProfileError(f"{where}: {message}")


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _bool(value: object, at: _At) -> bool:
    if not isinstance(value, bool):
        raise at.error(f"expected true or false, got {_type_name(value)}")
    return value


def _list(value: object, at: _At) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise at.error("expected a non-empty list")
    return value


# --- instants --------------------------------------------------------------------------------


def _instant(value: date, what: str) -> datetime:
    """`value` as an aware UTC datetime; a date starts at 00:00 UTC. Naive -> ValueError."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{what}: {value.isoformat()} has no time zone")
        return value.astimezone(UTC)
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def _when(value: datetime) -> str:
    """A UTC instant for a rationale: the date alone at midnight, else date and time."""
    utc = value.astimezone(UTC)
    if utc.time() == time(0, 0):
        return utc.date().isoformat()
    if utc.second or utc.microsecond:
        return utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    return utc.strftime("%Y-%m-%d %H:%M UTC")


# --- conditions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One key of a condition mapping: a name from the vocabulary and its value."""

    name: str
    value: bool | float | tuple[str, ...] | tuple[Condition, ...]


@dataclass(frozen=True)
class Condition:
    """A condition mapping: every term must hold."""

    terms: tuple[Term, ...]

    def matches(self, facts: Facts) -> bool:
        """True when every term holds for `facts`."""
        return all(_TERMS[term.name].matches(term.value, facts) for term in self.terms)

    def explain(self, facts: Facts) -> str:
        """Plain words for why this (matching) condition holds."""
        return " and ".join(_TERMS[term.name].explain(term.value, facts) for term in self.terms)

    def is_catch_all(self) -> bool:
        """True for exactly `{always: true}`."""
        return self.terms == (Term("always", True),)

    def mentions_always(self) -> bool:
        """True when `always` appears anywhere in this condition."""
        return any(_mentions_always(term) for term in self.terms)


def _mentions_always(term: Term) -> bool:
    if term.name == "always":
        return True
    if term.name in ("any", "all"):
        return any(sub.mentions_always() for sub in _conditions(term.value))
    return False


def _conditions(value: object) -> tuple[Condition, ...]:
    """The sub-conditions of an `any` / `all` term's value."""
    items = value if isinstance(value, tuple) else ()
    return tuple(item for item in items if isinstance(item, Condition))


def _strings(value: object) -> tuple[str, ...]:
    """The words of a list-valued term's value."""
    items = value if isinstance(value, tuple) else ()
    return tuple(item for item in items if isinstance(item, str))


def _missing(facts: Facts, name: str) -> bool:
    value = getattr(facts, name)
    return value is None or value == ""


def _kev_text(value: object, facts: Facts) -> str:
    if not value:
        return "not in CISA KEV"
    if facts.kev_added_at is None:
        return "listed in CISA KEV"
    return f"listed in CISA KEV (added {_when(_instant(facts.kev_added_at, 'kev_added_at'))})"


def _any_text(value: object, facts: Facts) -> str:
    first = next(sub for sub in _conditions(value) if sub.matches(facts))
    return first.explain(facts)


def _catch_all_text(facts: Facts) -> str:
    cvss = "no CVSS score" if facts.cvss_score is None else f"CVSS {facts.cvss_score:.1f}"
    severity = f"vendor severity {facts.severity}" if facts.severity else "no vendor severity"
    return f"no earlier tier applies ({cvss}, {severity})"


def _missing_text(names: tuple[str, ...]) -> str:
    return "no " + " or ".join(FACT_NAMES[name] for name in names) + " given"


@dataclass(frozen=True)
class _TermKind:
    """How a condition term is parsed, matched and explained."""

    parse: Callable[[object, _At, int], Any]
    matches: Callable[[Any, Facts], bool]
    explain: Callable[[Any, Facts], str]


# --- condition parsing ------------------------------------------------------------------------


def _parse_flag(value: object, at: _At, depth: int) -> bool:
    return _bool(value, at)


def _parse_always(value: object, at: _At, depth: int) -> bool:
    if value is not True:
        raise at.error("the catch-all is written `always: true`")
    return True


def _parse_score(value: object, at: _At, depth: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise at.error(f"expected a CVSS score, got {_type_name(value)}")
    if not 0.0 <= value <= 10.0:
        raise at.error(f"a CVSS score is between 0.0 and 10.0, got {value}")
    return float(value)


def _word_list(value: object, at: _At, allowed: tuple[str, ...]) -> tuple[str, ...]:
    words = []
    for index, item in enumerate(_list(value, at)):
        if not isinstance(item, str) or item not in allowed:
            raise at.key(index).error(f"{item!r} is not one of {', '.join(allowed)}")
        words.append(item)
    return tuple(words)


def _parse_severities(value: object, at: _At, depth: int) -> tuple[str, ...]:
    return _word_list(value, at, (*SEVERITIES, *SEVERITY_ALIASES))


def _parse_impacts(value: object, at: _At, depth: int) -> tuple[str, ...]:
    return _word_list(value, at, IMPACTS)


def _parse_fact_names(value: object, at: _At, depth: int) -> tuple[str, ...]:
    return _word_list(value, at, tuple(FACT_NAMES))


def _parse_conditions(value: object, at: _At, depth: int) -> tuple[Condition, ...]:
    return tuple(
        _parse_condition(item, at.key(index), depth + 1)
        for index, item in enumerate(_list(value, at))
    )


def _parse_condition(value: object, at: _At, depth: int = 0) -> Condition:
    """A condition mapping (see the module docstring) as a Condition."""
    if depth > MAX_DEPTH:
        raise at.error(f"conditions nest more than {MAX_DEPTH} levels deep")
    if not isinstance(value, dict) or not value:
        raise at.error(f"expected a non-empty condition mapping, got {_type_name(value)}")
    terms = []
    for name, raw in value.items():
        kind = _TERMS.get(name) if isinstance(name, str) else None
        if kind is None:
            known = ", ".join(_TERMS)
            raise at.key(str(name)).error(f"unknown condition (known: {known})")
        terms.append(Term(name, kind.parse(raw, at.key(name), depth)))
    return Condition(tuple(terms))


def _severity_in(value: tuple[str, ...], facts: Facts) -> bool:
    wanted = {SEVERITY_ALIASES.get(word, word) for word in value}
    return facts.severity != "" and facts.severity in wanted


_TERMS: dict[str, _TermKind] = {
    "always": _TermKind(_parse_always, lambda v, f: True, lambda v, f: _catch_all_text(f)),
    "kev": _TermKind(_parse_flag, lambda v, f: f.kev is v, _kev_text),
    "internet_exposed": _TermKind(
        _parse_flag,
        lambda v, f: f.internet_exposed is v,
        lambda v, f: "host is internet-exposed" if v else "host is not internet-exposed",
    ),
    "automatable": _TermKind(
        _parse_flag,
        lambda v, f: f.automatable is v,
        lambda v, f: "exploitation is automatable" if v else "exploitation is not automatable",
    ),
    "impact_in": _TermKind(
        _parse_impacts,
        lambda v, f: f.impact in v,
        lambda v, f: f"technical impact is {f.impact}",
    ),
    "cvss_at_least": _TermKind(
        _parse_score,
        lambda v, f: f.cvss_score is not None and f.cvss_score >= v,
        lambda v, f: f"CVSS {f.cvss_score:.1f} is at least {v:.1f}",
    ),
    "vendor_severity_in": _TermKind(
        _parse_severities, _severity_in, lambda v, f: f"vendor severity is {f.severity}"
    ),
    "missing_any": _TermKind(
        _parse_fact_names,
        lambda v, f: any(_missing(f, name) for name in v),
        lambda v, f: _missing_text(tuple(name for name in v if _missing(f, name))),
    ),
    "missing_all": _TermKind(
        _parse_fact_names,
        lambda v, f: all(_missing(f, name) for name in v),
        lambda v, f: _missing_text(v),
    ),
    "any": _TermKind(
        _parse_conditions,
        lambda v, f: any(sub.matches(f) for sub in v),
        _any_text,
    ),
    "all": _TermKind(
        _parse_conditions,
        lambda v, f: all(sub.matches(f) for sub in v),
        lambda v, f: " and ".join(sub.explain(f) for sub in v),
    ),
}


# --- canonical form ---------------------------------------------------------------------------


def _condition_data(condition: Condition) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for term in condition.terms:
        if term.name in ("any", "all"):
            data[term.name] = [_condition_data(sub) for sub in _conditions(term.value)]
        elif isinstance(term.value, tuple):
            data[term.name] = list(_strings(term.value))
        else:
            data[term.name] = term.value
    return data
