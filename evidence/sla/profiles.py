"""SLA profiles: remediation deadlines per tier, as data, and their application to exposures.

A profile is one YAML file in `evidence/sla/data/<slug>.yaml`, validated strictly on load (an
unknown or duplicate key, an unknown condition or clock, a missing catch-all tier or a negative
number of days is a `ProfileError` naming the file and the key):

    slug: balanced                      a-z 0-9 . -; equals the file name in data/
    name: Balanced (default)
    version: 1                          an integer >= 1 or a date "YYYY-MM-DD"
    description: ...                    what the policy says, in our own words
    sources:                            at least one citation
      - {title: ..., url: https://..., section: "6.3.3", secondary: false}
    clock: fix_available_or_first_seen  one of CLOCKS, below
    kev_due_date_overrides: true        an earlier CISA KEV due date replaces the tier's
    tiers:                              evaluated in order, first match wins
      - id: P0                          A-Z 0-9 _ -, unique
        label: Exploited and exposed
        days: 3                         calendar days >= 0, or null for no calendar deadline
        note: ...                       optional, repeated in the rationale
        when: {kev: true, internet_exposed: true}
      - {id: P4, label: Low, days: 180, when: {always: true}}   the last tier, and only it
    retired:                            retired / end-of-life packages: remove or migrate
      {id: EOL, label: ..., days: 30, basis: why this figure}

Conditions (`when`, parsed and evaluated in `evidence.sla.conditions`) are mappings; every key
of a mapping must hold:

    always: true                 the catch-all (last tier only)
    kev: true|false              listed in CISA's Known Exploited Vulnerabilities catalog
    internet_exposed: true|false the host is reachable from the internet
    automatable: true|false      SSVC "automatable"; an unknown value matches neither
    impact_in: [total, partial]  SSVC technical impact
    cvss_at_least: 7.0           CVSS base score >= the figure; no score never matches
    vendor_severity_in: [...]    critical, important, high, moderate, medium, low, none
                                 (important counts as high and moderate as medium)
    missing_any: [...] / missing_all: [...]
                                 of cvss_score, severity, automatable, impact: true when
                                 any / all of these facts are unknown
    any: [cond, ...] / all: [cond, ...]

Clocks (when the deadline's count of days starts):

    fix_available_or_first_seen  the fixed package reached the distribution's update
                                 repository, or the host was first seen if that is later;
                                 not started while no fix is available
    published                    the advisory (or CVE) was published
    detected                     the vulnerable version was first detected on this host
    kev_or_detected_earliest     the earlier of the CVE's KEV addition and its detection
                                 on this host (only detection when the CVE is not in KEV)

Time: every instant is timezone-aware and reported in UTC. A date without a time (a KEV
`dateAdded`, a retirement date) starts at 00:00 UTC of that day. A due date is the clock start
plus the tier's calendar days, to the second. A KEV `dueDate` means the end of that day UTC
(23:59:59.999999); with `kev_due_date_overrides` it replaces the tier's due date when it is
earlier, or when the tier gives none (no clock start yet, or no calendar deadline).

Retired packages: `assess_retired` counts the retired rule's days from the retirement date, or
from when the host was first seen if that is later.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from evidence.sla.conditions import (
    FACT_NAMES,
    IMPACTS,
    MAX_DEPTH,
    SEVERITIES,
    SEVERITY_ALIASES,
    Condition,
    ProfileError,
    Term,
    _At,
    _bool,
    _condition_data,
    _instant,
    _list,
    _parse_condition,
    _type_name,
    _when,
)

# The condition language's public names (from evidence.sla.conditions) are re-exported here.
__all__ = [
    "CLOCKS",
    "DEFAULT_SLUG",
    "FACT_NAMES",
    "IMPACTS",
    "MAX_DAYS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_TIERS",
    "SEVERITIES",
    "SEVERITY_ALIASES",
    "Assessment",
    "Condition",
    "Facts",
    "Profile",
    "ProfileError",
    "RetiredRule",
    "Source",
    "Term",
    "Tier",
    "UnknownProfileError",
    "assess",
    "assess_retired",
    "profile_canonical",
    "profile_digest",
    "profile_from_file",
    "profile_from_mapping",
    "profile_from_text",
    "profile_load",
    "profiles_all",
]

DEFAULT_SLUG = "balanced"
MAX_FILE_BYTES = 256 * 1024
MAX_DAYS = 3650
MAX_TIERS = 32

CLOCKS: dict[str, str] = {
    "fix_available_or_first_seen": "fix available, or host first seen if later",
    "published": "advisory published",
    "detected": "first detected on the host",
    "kev_or_detected_earliest": "earlier of KEV addition and detection on the host",
}

_SLUG = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")
_TIER_ID = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_END_OF_DAY = time.max


class UnknownProfileError(LookupError):
    """No shipped profile has this slug."""


# --- facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What an exposure knows when its tier and due date are decided.

    `severity` is the normalised vendor severity (critical, high, medium, low, none, or ""
    when unknown); "important" and "moderate" are accepted and normalised to high and medium.
    `impact` is the SSVC technical impact, "total" or "partial". Datetimes must be
    timezone-aware; `kev_added_at` and `kev_due_date` are the KEV catalog's dates.
    """

    kev: bool = False
    kev_added_at: date | None = None
    kev_due_date: date | None = None
    internet_exposed: bool = False
    cvss_score: float | None = None
    severity: str = ""
    automatable: bool | None = None
    impact: str | None = None
    published_at: datetime | None = None
    fix_available_at: datetime | None = None
    detected_at: datetime | None = None
    host_first_seen_at: datetime | None = None

    def __post_init__(self) -> None:
        """Normalises severity and impact; ValueError for values assess cannot judge."""
        severity = _severity_word(self.severity)
        if severity is None:
            raise ValueError(f"Facts.severity: unknown severity {self.severity!r}")
        object.__setattr__(self, "severity", severity)
        if self.impact is not None:
            impact = self.impact.strip().lower()
            if impact not in IMPACTS:
                raise ValueError(f"Facts.impact: {self.impact!r} is not one of {IMPACTS}")
            object.__setattr__(self, "impact", impact)
        if self.cvss_score is not None and not 0.0 <= self.cvss_score <= 10.0:
            raise ValueError(f"Facts.cvss_score: {self.cvss_score} is outside 0.0-10.0")
        for name in ("published_at", "fix_available_at", "detected_at", "host_first_seen_at"):
            value = getattr(self, name)
            if value is not None:
                _instant(value, f"Facts.{name}")
        for name in ("kev_added_at", "kev_due_date"):
            value = getattr(self, name)
            if value is not None:
                _instant(value, f"Facts.{name}")


def _severity_word(value: str) -> str | None:
    """The normalised severity of `value` ("" for empty), None when the word is unknown."""
    word = value.strip().lower()
    word = SEVERITY_ALIASES.get(word, word)
    if word == "" or word in SEVERITIES:
        return word
    return None


# --- parsing helpers --------------------------------------------------------------------------


def _mapping(
    value: object, at: _At, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`value` as a mapping with all `required` keys and no key outside required + optional."""
    if not isinstance(value, dict):
        raise at.error(f"expected a mapping, got {_type_name(value)}")
    for key in value:
        if key not in required and key not in optional:
            known = ", ".join((*required, *optional))
            raise at.key(str(key)).error(f"unknown key (known: {known})")
    for key in required:
        if key not in value:
            raise at.key(key).error("required key is missing")
    return value


def _text(value: object, at: _At, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise at.error(f"expected {'a' if empty else 'a non-empty'} string")
    return value.strip()


def _days(value: object, at: _At, *, nullable: bool = False) -> int:
    """A whole, non-negative number of days (`nullable` only changes the error message)."""
    if isinstance(value, bool) or not isinstance(value, int):
        allowed = "a whole number of days or null" if nullable else "a whole number of days"
        raise at.error(f"expected {allowed}, got {_type_name(value)}")
    if value < 0:
        raise at.error(f"days must not be negative, got {value}")
    if value > MAX_DAYS:
        raise at.error(f"days must be at most {MAX_DAYS}, got {value}")
    return value


def _pattern(value: object, at: _At, pattern: re.Pattern[str], what: str) -> str:
    text = _text(value, at)
    if not pattern.fullmatch(text):
        raise at.error(f"{text!r} is not a valid {what}")
    return text


# --- profiles ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A citation for a profile: document title, link and the section relied on."""

    title: str
    url: str
    section: str
    secondary: bool = False


@dataclass(frozen=True)
class Tier:
    """One SLA tier: its deadline in calendar days (None: no calendar deadline) and condition."""

    id: str
    label: str
    days: int | None
    when: Condition
    note: str = ""


@dataclass(frozen=True)
class RetiredRule:
    """The deadline for removing or migrating a retired / end-of-life package."""

    id: str
    label: str
    days: int
    basis: str


@dataclass(frozen=True)
class Profile:
    """One version of an SLA profile (see the module docstring for the file format)."""

    slug: str
    name: str
    version: int | str
    description: str
    sources: tuple[Source, ...]
    clock: str
    kev_due_date_overrides: bool
    tiers: tuple[Tier, ...]
    retired: RetiredRule


_PROFILE_KEYS = (
    "slug",
    "name",
    "version",
    "description",
    "sources",
    "clock",
    "kev_due_date_overrides",
    "tiers",
    "retired",
)


def profile_from_mapping(data: object, *, origin: str = "<profile>") -> Profile:
    """A validated Profile from parsed data; ProfileError naming `origin` and the key."""
    at = _At(origin)
    raw = _mapping(data, at, _PROFILE_KEYS)
    clock = _text(raw["clock"], at.key("clock"))
    if clock not in CLOCKS:
        raise at.key("clock").error(f"unknown clock {clock!r} (known: {', '.join(CLOCKS)})")
    tiers = _tiers(raw["tiers"], at.key("tiers"))
    retired = _retired(raw["retired"], at.key("retired"))
    if retired.id in {tier.id for tier in tiers}:
        raise at.key("retired").key("id").error(f"{retired.id!r} is also a tier id")
    return Profile(
        slug=_pattern(raw["slug"], at.key("slug"), _SLUG, "slug"),
        name=_text(raw["name"], at.key("name")),
        version=_version(raw["version"], at.key("version")),
        description=" ".join(_text(raw["description"], at.key("description")).split()),
        sources=tuple(
            _source(item, at.key("sources").key(index))
            for index, item in enumerate(_list(raw["sources"], at.key("sources")))
        ),
        clock=clock,
        kev_due_date_overrides=_bool(
            raw["kev_due_date_overrides"], at.key("kev_due_date_overrides")
        ),
        tiers=tiers,
        retired=retired,
    )


def _version(value: object, at: _At) -> int | str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise at.error(f"expected an integer >= 1 or a date YYYY-MM-DD, got {value!r}")


def _source(value: object, at: _At) -> Source:
    raw = _mapping(value, at, ("title", "url", "section"), ("secondary",))
    url = _text(raw["url"], at.key("url"))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise at.key("url").error(f"{url!r} is not an http(s) URL")
    return Source(
        title=_text(raw["title"], at.key("title")),
        url=url,
        section=_text(raw["section"], at.key("section")),
        secondary=_bool(raw.get("secondary", False), at.key("secondary")),
    )


def _tiers(value: object, at: _At) -> tuple[Tier, ...]:
    items = _list(value, at)
    if len(items) > MAX_TIERS:
        raise at.error(f"at most {MAX_TIERS} tiers")
    tiers = tuple(_tier(item, at.key(index)) for index, item in enumerate(items))
    seen: set[str] = set()
    for index, tier in enumerate(tiers):
        if tier.id in seen:
            raise at.key(index).key("id").error(f"tier id {tier.id!r} appears twice")
        seen.add(tier.id)
        if index < len(tiers) - 1 and tier.when.mentions_always():
            raise (
                at.key(index)
                .key("when")
                .error("`always` is only allowed as the last tier's whole condition")
            )
    if not tiers[-1].when.is_catch_all():
        raise (
            at.key(len(tiers) - 1)
            .key("when")
            .error("the last tier must be the catch-all `when: {always: true}`")
        )
    return tiers


def _tier(value: object, at: _At) -> Tier:
    raw = _mapping(value, at, ("id", "label", "days", "when"), ("note",))
    return Tier(
        id=_pattern(raw["id"], at.key("id"), _TIER_ID, "tier id (A-Z 0-9 _ -)"),
        label=_text(raw["label"], at.key("label")),
        days=None if raw["days"] is None else _days(raw["days"], at.key("days"), nullable=True),
        when=_parse_condition(raw["when"], at.key("when")),
        note=_text(raw.get("note", ""), at.key("note"), empty=True),
    )


def _retired(value: object, at: _At) -> RetiredRule:
    raw = _mapping(value, at, ("id", "label", "days", "basis"))
    return RetiredRule(
        id=_pattern(raw["id"], at.key("id"), _TIER_ID, "rule id (A-Z 0-9 _ -)"),
        label=_text(raw["label"], at.key("label")),
        days=_days(raw["days"], at.key("days")),
        basis=" ".join(_text(raw["basis"], at.key("basis")).split()),
    )


# --- YAML and files ---------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that repeats a key."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def profile_from_text(text: str, *, origin: str) -> Profile:
    """A validated Profile from YAML text; ProfileError naming `origin` and the key."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ProfileError(f"{origin}: larger than {MAX_FILE_BYTES} bytes")
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ProfileError(f"{origin}: not valid YAML: {exc}") from exc
    return profile_from_mapping(data, origin=origin)


def profile_from_file(path: str | Path) -> Profile:
    """A validated Profile from a YAML file at `path` (any file name)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ProfileError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot be read: {exc}") from exc
    return profile_from_text(text, origin=str(path))


def _data_dir() -> Traversable:
    return resources.files("evidence.sla").joinpath("data")


def _load_resource(resource: Traversable) -> Profile:
    origin = f"evidence/sla/data/{resource.name}"
    profile = profile_from_text(resource.read_text(encoding="utf-8"), origin=origin)
    expected = resource.name.removesuffix(".yaml")
    if profile.slug != expected:
        raise ProfileError(f"{origin}: slug: {profile.slug!r} differs from the file name")
    return profile


def profile_load(slug: str) -> Profile:
    """The shipped profile `slug` (evidence/sla/data/<slug>.yaml); UnknownProfileError if none."""
    resource = _data_dir().joinpath(f"{slug}.yaml")
    if not _SLUG.fullmatch(slug) or not resource.is_file():
        known = ", ".join(profile.slug for profile in profiles_all())
        raise UnknownProfileError(f"unknown SLA profile {slug!r} (known: {known})")
    return _load_resource(resource)


def profiles_all() -> list[Profile]:
    """Every shipped profile, ordered by slug."""
    resources_ = [item for item in _data_dir().iterdir() if item.name.endswith(".yaml")]
    return [_load_resource(item) for item in sorted(resources_, key=lambda item: item.name)]


# --- canonical form and digest ----------------------------------------------------------------


def profile_canonical(profile: Profile) -> dict[str, Any]:
    """The profile as plain JSON-ready data; `profile_from_mapping` reads it back unchanged."""
    return {
        "slug": profile.slug,
        "name": profile.name,
        "version": profile.version,
        "description": profile.description,
        "sources": [
            {"title": s.title, "url": s.url, "section": s.section, "secondary": s.secondary}
            for s in profile.sources
        ],
        "clock": profile.clock,
        "kev_due_date_overrides": profile.kev_due_date_overrides,
        "tiers": [
            {
                "id": tier.id,
                "label": tier.label,
                "days": tier.days,
                "note": tier.note,
                "when": _condition_data(tier.when),
            }
            for tier in profile.tiers
        ],
        "retired": {
            "id": profile.retired.id,
            "label": profile.retired.label,
            "days": profile.retired.days,
            "basis": profile.retired.basis,
        },
    }


def profile_digest(profile: Profile) -> str:
    """sha256 (hex) of the canonical data: names exactly which policy version was applied."""
    text = json.dumps(
        profile_canonical(profile), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- clocks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    """A clock start (None: not started) and how it was chosen, in words."""

    start: datetime | None
    text: str


def _later_of(name: str, at: datetime, seen: datetime | None) -> tuple[datetime, str]:
    """`at`, or the host's first sighting if that is later, and how it was chosen."""
    if seen is None:
        return at, f"from {name} {_when(at)} (host first seen unknown)"
    if seen > at:
        return seen, f"from host first seen {_when(seen)} (later than {name} {_when(at)})"
    if seen == at:
        return at, f"from {name} {_when(at)} (same time as host first seen)"
    return at, f"from {name} {_when(at)} (later than host first seen {_when(seen)})"


def _clock_fix(facts: Facts) -> _Clock:
    if facts.fix_available_at is None:
        return _Clock(None, "no fix is available yet, so the clock has not started")
    return _Clock(*_later_of("fix available", facts.fix_available_at, facts.host_first_seen_at))


def _clock_published(facts: Facts) -> _Clock:
    if facts.published_at is None:
        return _Clock(None, "the publication date is unknown, so the clock has not started")
    return _Clock(facts.published_at, f"from advisory published {_when(facts.published_at)}")


def _clock_detected(facts: Facts) -> _Clock:
    if facts.detected_at is None:
        return _Clock(None, "not detected on this host yet, so the clock has not started")
    return _Clock(facts.detected_at, f"from detection on this host {_when(facts.detected_at)}")


def _kev_added(facts: Facts) -> datetime | None:
    """When the CVE entered KEV (00:00 UTC of `dateAdded`); None when not in KEV or unknown."""
    if not facts.kev or facts.kev_added_at is None:
        return None
    return _instant(facts.kev_added_at, "kev_added_at")


def _clock_kev_or_detected(facts: Facts) -> _Clock:
    added, detected = _kev_added(facts), facts.detected_at
    if detected is not None and (added is None or detected < added):
        if added is not None:
            why = f"earlier than KEV addition {_when(added)}"
        else:
            why = "KEV addition date unknown" if facts.kev else "not in KEV"
        return _Clock(detected, f"from detection on this host {_when(detected)} ({why})")
    if added is not None:
        why = "not detected on this host yet"
        if detected is not None:
            why = f"not later than detection {_when(detected)}"
        return _Clock(added, f"from KEV addition {_when(added)} ({why})")
    return _Clock(None, "neither a KEV addition nor a detection, so the clock has not started")


_CLOCK_RULES: dict[str, Callable[[Facts], _Clock]] = {
    "fix_available_or_first_seen": _clock_fix,
    "published": _clock_published,
    "detected": _clock_detected,
    "kev_or_detected_earliest": _clock_kev_or_detected,
}


# --- assessment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """The tier an exposure falls in and its deadline, with the reasoning in plain words.

    `days` is the tier's figure (None: no calendar deadline); `clock_start` is None while the
    clock has not started; `due_at` is None when there is no deadline (yet).
    """

    tier_id: str
    tier_label: str
    days: int | None
    clock_start: datetime | None
    due_at: datetime | None
    rationale: str


def _tier_for(profile: Profile, facts: Facts) -> Tier:
    """The first tier whose condition holds (a validated profile ends with a catch-all)."""
    for tier in profile.tiers:
        if tier.when.matches(facts):
            return tier
    raise AssertionError("a validated profile ends with a catch-all tier")


def _days_text(days: int) -> str:
    return f"{days} day{'' if days == 1 else 's'}"


def _deadline_text(tier: Tier, clock: _Clock, due: datetime | None) -> str:
    """The tier's deadline and clock start in words."""
    if tier.days is None:
        what = tier.note or "this profile sets no calendar deadline for this tier"
        started = clock.text if clock.start is None else f"clock runs {clock.text}"
        return f"no calendar deadline ({what}); {started}"
    if due is None:
        text = f"{clock.text}; due {_days_text(tier.days)} after it starts"
    else:
        text = f"{_days_text(tier.days)} {clock.text} → due {_when(due)}"
    return f"{text}; {tier.note}" if tier.note else text


def _kev_override(
    profile: Profile, facts: Facts, due: datetime | None
) -> tuple[datetime | None, str]:
    """The due date after the KEV due-date rule, and a sentence on it ("" when irrelevant)."""
    if not facts.kev:
        return due, ""
    if facts.kev_due_date is None:
        return due, "no KEV due date recorded" if profile.kev_due_date_overrides else ""
    kev_day = facts.kev_due_date.isoformat()
    if not profile.kev_due_date_overrides:
        return due, f"KEV due date {kev_day} not applied: this profile does not use KEV due dates"
    kev_due = datetime.combine(facts.kev_due_date, _END_OF_DAY, tzinfo=UTC)
    if due is None:
        return kev_due, f"KEV due date {kev_day} applies → due {kev_day} end of day UTC"
    if kev_due < due:
        return (
            kev_due,
            f"KEV due date {kev_day} is earlier, so it applies → due {kev_day} end of day UTC",
        )
    return due, f"KEV due date {kev_day} is later, so not applied"


def assess(profile: Profile, facts: Facts) -> Assessment:
    """The tier, clock start and due date `profile` gives an exposure with these `facts`."""
    tier = _tier_for(profile, facts)
    clock = _CLOCK_RULES[profile.clock](facts)
    due = None
    if clock.start is not None and tier.days is not None:
        due = clock.start + timedelta(days=tier.days)
    parts = [
        f"{tier.id} {tier.label}: {tier.when.explain(facts)}",
        _deadline_text(tier, clock, due),
    ]
    due, kev = _kev_override(profile, facts, due)
    if kev:
        parts.append(kev)
    return Assessment(
        tier_id=tier.id,
        tier_label=tier.label,
        days=tier.days,
        clock_start=clock.start,
        due_at=due,
        rationale="; ".join(parts) + ".",
    )


def assess_retired(
    profile: Profile, retired_at: date, host_first_seen_at: datetime | None
) -> Assessment:
    """The deadline for removing a package retired upstream on `retired_at` from a host."""
    rule = profile.retired
    if host_first_seen_at is not None:
        _instant(host_first_seen_at, "host_first_seen_at")
    start, how = _later_of("retirement", _instant(retired_at, "retired_at"), host_first_seen_at)
    due = start + timedelta(days=rule.days)
    return Assessment(
        tier_id=rule.id,
        tier_label=rule.label,
        days=rule.days,
        clock_start=start,
        due_at=due,
        rationale=f"{rule.id} {rule.label}: {_days_text(rule.days)} {how} → due {_when(due)}.",
    )
