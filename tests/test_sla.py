"""SLA profiles: every shipped profile and tier, the clocks, KEV due dates, retired packages,
strict validation of the YAML files and the policy digest. Pure Python: no database.

Every expected due date below is computed by hand from the fixed datetimes (calendar days;
2024 is a leap year).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence.sla import (
    Facts,
    Profile,
    ProfileError,
    UnknownProfileError,
    assess,
    assess_retired,
    profile_canonical,
    profile_digest,
    profile_from_file,
    profile_from_mapping,
    profile_load,
    profiles_all,
)

SLUGS = [
    "balanced",
    "cisa-bod-26-04",
    "fedramp-rev5-ra-5d",
    "pci-dss-4-6.3.3",
    "uk-cyber-essentials",
]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def eod(year: int, month: int, day: int) -> datetime:
    """The end of a day UTC: how a KEV due date is read."""
    return datetime(year, month, day, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.fixture(scope="module")
def balanced() -> Profile:
    return profile_load("balanced")


@pytest.fixture(scope="module")
def pci() -> Profile:
    return profile_load("pci-dss-4-6.3.3")


@pytest.fixture(scope="module")
def fedramp() -> Profile:
    return profile_load("fedramp-rev5-ra-5d")


@pytest.fixture(scope="module")
def ce() -> Profile:
    return profile_load("uk-cyber-essentials")


@pytest.fixture(scope="module")
def bod() -> Profile:
    return profile_load("cisa-bod-26-04")


# --- shipped data -----------------------------------------------------------------------------


def test_every_shipped_profile_loads_and_is_in_the_package() -> None:
    data = resources.files("evidence.sla").joinpath("data")
    shipped = sorted(item.name for item in data.iterdir() if item.name.endswith(".yaml"))
    assert shipped == [f"{slug}.yaml" for slug in SLUGS]
    assert [profile.slug for profile in profiles_all()] == SLUGS
    for profile in profiles_all():
        assert profile.sources and all(s.url.startswith("https://") for s in profile.sources)
        assert profile.tiers[-1].when.is_catch_all()
        assert profile.retired.days >= 0


def test_profile_load_unknown_slug() -> None:
    with pytest.raises(UnknownProfileError, match="known: balanced"):
        profile_load("nope")
    with pytest.raises(UnknownProfileError):
        profile_load("../profiles")


def test_canonical_data_reads_back_to_the_same_profile() -> None:
    for profile in profiles_all():
        assert profile_from_mapping(profile_canonical(profile)) == profile


# --- Balanced ---------------------------------------------------------------------------------

SEEN = utc(2024, 1, 2)
FIX = utc(2024, 3, 30)


def test_balanced_p0_kev_and_exposed(balanced: Profile) -> None:
    facts = Facts(
        kev=True,
        kev_added_at=date(2024, 3, 29),
        kev_due_date=date(2024, 4, 19),
        internet_exposed=True,
        fix_available_at=FIX,
        host_first_seen_at=SEEN,
    )
    result = assess(balanced, facts)
    assert (result.tier_id, result.days) == ("P0", 3)
    assert result.clock_start == FIX
    assert result.due_at == utc(2024, 4, 2)
    assert "host is internet-exposed" in result.rationale
    assert "forensic triage" in result.rationale


def test_balanced_p0_kev_automatable_total_control(balanced: Profile) -> None:
    facts = Facts(kev=True, automatable=True, impact="total", fix_available_at=FIX)
    result = assess(balanced, facts)
    assert result.tier_id == "P0"
    assert result.due_at == utc(2024, 4, 2)
    assert "exploitation is automatable and technical impact is total" in result.rationale


def test_balanced_p1_kev_rationale_in_full(balanced: Profile) -> None:
    facts = Facts(
        kev=True,
        kev_added_at=date(2024, 3, 29),
        kev_due_date=date(2024, 4, 19),
        cvss_score=7.8,
        fix_available_at=FIX,
        host_first_seen_at=SEEN,
    )
    result = assess(balanced, facts)
    assert (result.tier_id, result.tier_label, result.days) == (
        "P1",
        "Exploited, or exposed and critical",
        14,
    )
    assert result.clock_start == FIX
    assert result.due_at == utc(2024, 4, 13)
    assert result.rationale == (
        "P1 Exploited, or exposed and critical: listed in CISA KEV (added 2024-03-29); "
        "14 days from fix available 2024-03-30 (later than host first seen 2024-01-02) "
        "→ due 2024-04-13; KEV due date 2024-04-19 is later, so not applied."
    )


def test_balanced_p1_exposed_and_critical(balanced: Profile) -> None:
    facts = Facts(internet_exposed=True, cvss_score=9.8, fix_available_at=FIX)
    result = assess(balanced, facts)
    assert result.tier_id == "P1"
    assert result.due_at == utc(2024, 4, 13)
    assert "host is internet-exposed and CVSS 9.8 is at least 9.0" in result.rationale


@pytest.mark.parametrize(
    ("facts", "tier", "days", "due"),
    [
        (Facts(cvss_score=7.0), "P2", 30, utc(2024, 4, 29)),
        (Facts(severity="important"), "P2", 30, utc(2024, 4, 29)),
        (Facts(severity="critical", internet_exposed=False), "P2", 30, utc(2024, 4, 29)),
        (Facts(cvss_score=6.9), "P3", 90, utc(2024, 6, 28)),
        (Facts(severity="moderate"), "P3", 90, utc(2024, 6, 28)),
        (Facts(severity="low", cvss_score=3.9), "P4", 180, utc(2024, 9, 26)),
        (Facts(), "P4", 180, utc(2024, 9, 26)),
    ],
)
def test_balanced_severity_tiers(
    balanced: Profile, facts: Facts, tier: str, days: int, due: datetime
) -> None:
    facts = replace(facts, fix_available_at=FIX, host_first_seen_at=SEEN)
    result = assess(balanced, facts)
    assert (result.tier_id, result.days, result.due_at) == (tier, days, due)


def test_balanced_unrated_catch_all_says_what_it_knew(balanced: Profile) -> None:
    result = assess(balanced, Facts(fix_available_at=FIX))
    assert "P4 Low or unrated: no earlier tier applies (no CVSS score, no vendor severity)" in (
        result.rationale
    )


def test_fix_clock_starts_at_host_first_seen_when_later(balanced: Profile) -> None:
    facts = Facts(
        cvss_score=8.1,
        fix_available_at=utc(2024, 3, 1, 10, 0),
        host_first_seen_at=utc(2024, 3, 5, 12, 0),
    )
    result = assess(balanced, facts)
    assert result.clock_start == utc(2024, 3, 5, 12, 0)
    assert result.due_at == utc(2024, 4, 4, 12, 0)
    assert (
        "30 days from host first seen 2024-03-05 12:00 UTC "
        "(later than fix available 2024-03-01 10:00 UTC) → due 2024-04-04 12:00 UTC"
    ) in result.rationale


def test_fix_clock_host_first_seen_unknown(balanced: Profile) -> None:
    result = assess(balanced, Facts(cvss_score=8.1, fix_available_at=FIX))
    assert result.clock_start == FIX
    assert "(host first seen unknown)" in result.rationale


def test_fix_clock_reads_other_time_zones_as_utc(balanced: Profile) -> None:
    plus_two = timezone(timedelta(hours=2))
    fix = datetime(2024, 3, 30, 2, 0, tzinfo=plus_two)  # 2024-03-30 00:00 UTC
    result = assess(balanced, Facts(cvss_score=8.1, fix_available_at=fix))
    assert result.due_at == utc(2024, 4, 29)
    assert "from fix available 2024-03-30 (host first seen unknown)" in result.rationale


def test_no_fix_yet_clock_not_started(balanced: Profile) -> None:
    result = assess(balanced, Facts(cvss_score=8.1, host_first_seen_at=SEEN))
    assert (result.tier_id, result.days) == ("P2", 30)
    assert result.clock_start is None
    assert result.due_at is None
    assert "no fix is available yet, so the clock has not started" in result.rationale
    assert "due 30 days after it starts" in result.rationale


def test_no_fix_yet_but_kev_due_date_applies(balanced: Profile) -> None:
    facts = Facts(kev=True, kev_due_date=date(2024, 4, 19), host_first_seen_at=SEEN)
    result = assess(balanced, facts)
    assert result.tier_id == "P1"
    assert result.clock_start is None
    assert result.due_at == eod(2024, 4, 19)
    assert "KEV due date 2024-04-19 applies → due 2024-04-19 end of day UTC" in result.rationale


def test_kev_due_date_earlier_overrides(balanced: Profile) -> None:
    facts = Facts(
        kev=True,
        kev_added_at=date(2024, 3, 29),
        kev_due_date=date(2024, 4, 5),
        fix_available_at=FIX,
        host_first_seen_at=SEEN,
    )
    result = assess(balanced, facts)
    assert result.tier_id == "P1"
    assert result.clock_start == FIX
    assert result.due_at == eod(2024, 4, 5)
    assert result.rationale.endswith(
        "→ due 2024-04-13; KEV due date 2024-04-05 is earlier, so it applies "
        "→ due 2024-04-05 end of day UTC."
    )


def test_kev_due_date_same_day_is_later_than_midnight(balanced: Profile) -> None:
    # Tier due 2024-04-13 00:00; a KEV due date of 2024-04-13 ends later that day.
    facts = Facts(kev=True, kev_due_date=date(2024, 4, 13), fix_available_at=FIX)
    assert assess(balanced, facts).due_at == utc(2024, 4, 13)


def test_kev_due_date_ignored_when_not_in_kev(balanced: Profile) -> None:
    facts = Facts(kev=False, kev_due_date=date(2024, 4, 1), cvss_score=7.5, fix_available_at=FIX)
    result = assess(balanced, facts)
    assert result.due_at == utc(2024, 4, 29)
    assert "KEV" not in result.rationale


# --- PCI DSS 4.0 6.3.3 ------------------------------------------------------------------------


def test_pci_critical_one_month_from_release(pci: Profile) -> None:
    facts = Facts(cvss_score=9.1, fix_available_at=utc(2024, 1, 31), host_first_seen_at=SEEN)
    result = assess(pci, facts)
    assert (result.tier_id, result.days) == ("CRITICAL", 30)
    assert result.clock_start == utc(2024, 1, 31)
    assert result.due_at == utc(2024, 3, 1)


def test_pci_vendor_critical(pci: Profile) -> None:
    result = assess(pci, Facts(severity="critical", fix_available_at=utc(2024, 1, 31)))
    assert result.tier_id == "CRITICAL"
    assert "vendor severity is critical" in result.rationale


def test_pci_other_has_no_deadline(pci: Profile) -> None:
    facts = Facts(cvss_score=8.8, severity="high", fix_available_at=FIX)
    result = assess(pci, facts)
    assert (result.tier_id, result.days, result.due_at) == ("OTHER", None, None)
    assert result.clock_start == FIX
    assert "no calendar deadline" in result.rationale
    assert "clock runs from fix available 2024-03-30" in result.rationale


def test_pci_kev_due_date_not_applied(pci: Profile) -> None:
    facts = Facts(kev=True, kev_due_date=date(2024, 2, 7), cvss_score=9.8, fix_available_at=FIX)
    result = assess(pci, facts)
    assert result.due_at == utc(2024, 4, 29)
    assert "KEV due date 2024-02-07 not applied: this profile does not use KEV due dates" in (
        result.rationale
    )


# --- FedRAMP Rev5 RA-5(d) ---------------------------------------------------------------------

DETECTED = utc(2024, 5, 10, 9, 15)


@pytest.mark.parametrize(
    ("facts", "tier", "days", "due"),
    [
        (Facts(cvss_score=7.0), "HIGH", 30, utc(2024, 6, 9, 9, 15)),
        (Facts(severity="high"), "HIGH", 30, utc(2024, 6, 9, 9, 15)),
        (Facts(cvss_score=6.9), "MODERATE", 90, utc(2024, 8, 8, 9, 15)),
        (Facts(severity="medium"), "MODERATE", 90, utc(2024, 8, 8, 9, 15)),
        (Facts(cvss_score=3.9, severity="low"), "LOW", 180, utc(2024, 11, 6, 9, 15)),
        (Facts(), "LOW", 180, utc(2024, 11, 6, 9, 15)),
    ],
)
def test_fedramp_tiers_from_detection(
    fedramp: Profile, facts: Facts, tier: str, days: int, due: datetime
) -> None:
    # The fix and host dates do not move a detection clock.
    facts = replace(
        facts,
        detected_at=DETECTED,
        fix_available_at=utc(2024, 7, 1),
        host_first_seen_at=utc(2024, 5, 1),
    )
    result = assess(fedramp, facts)
    assert (result.tier_id, result.days, result.clock_start, result.due_at) == (
        tier,
        days,
        DETECTED,
        due,
    )
    assert "from detection on this host 2024-05-10 09:15 UTC" in result.rationale


def test_fedramp_kev_due_date_overrides(fedramp: Profile) -> None:
    facts = Facts(kev=True, kev_due_date=date(2024, 5, 24), cvss_score=5.0, detected_at=DETECTED)
    result = assess(fedramp, facts)
    assert result.tier_id == "MODERATE"
    assert result.due_at == eod(2024, 5, 24)


def test_fedramp_kev_due_date_later_not_applied(fedramp: Profile) -> None:
    facts = Facts(kev=True, kev_due_date=date(2024, 7, 1), cvss_score=9.0, detected_at=DETECTED)
    assert assess(fedramp, facts).due_at == utc(2024, 6, 9, 9, 15)


def test_fedramp_not_detected_yet(fedramp: Profile) -> None:
    result = assess(fedramp, Facts(cvss_score=9.0, fix_available_at=FIX))
    assert (result.clock_start, result.due_at) == (None, None)
    assert "not detected on this host yet, so the clock has not started" in result.rationale


# --- UK Cyber Essentials ----------------------------------------------------------------------

RELEASED = utc(2024, 2, 20)


@pytest.mark.parametrize(
    ("facts", "tier", "why"),
    [
        (Facts(cvss_score=7.0), "HIGH", "CVSS 7.0 is at least 7.0"),
        (Facts(severity="high"), "HIGH", "vendor severity is high"),
        (Facts(severity="important"), "HIGH", "vendor severity is high"),
        (Facts(), "HIGH", "no CVSS score or vendor severity given"),
    ],
)
def test_cyber_essentials_14_days_from_release(
    ce: Profile, facts: Facts, tier: str, why: str
) -> None:
    facts = replace(facts, fix_available_at=RELEASED, host_first_seen_at=SEEN)
    result = assess(ce, facts)
    assert (result.tier_id, result.days) == (tier, 14)
    assert result.due_at == utc(2024, 3, 5)
    assert why in result.rationale


@pytest.mark.parametrize("facts", [Facts(cvss_score=6.5), Facts(severity="none")])
def test_cyber_essentials_other_no_deadline(ce: Profile, facts: Facts) -> None:
    facts = replace(facts, fix_available_at=RELEASED)
    result = assess(ce, facts)
    assert (result.tier_id, result.days, result.due_at) == ("OTHER", None, None)


# --- CISA BOD 26-04 ---------------------------------------------------------------------------


def bod_facts(exposed: bool, kev: bool, auto: bool, total: bool) -> Facts:
    return Facts(
        internet_exposed=exposed,
        kev=kev,
        automatable=auto,
        impact="total" if total else "partial",
        detected_at=utc(2024, 4, 2, 10, 0),
    )


# (exposed, kev, automatable, total control) -> band; see cisa-bod-26-04.yaml.
BOD_MATRIX = [
    ((True, True, True, True), "D3"),
    ((True, True, False, True), "D3"),
    ((True, False, True, True), "D3"),
    ((True, True, True, False), "D14"),
    ((True, True, False, False), "D14"),
    ((True, False, True, False), "D14"),
    ((False, True, True, True), "D14"),
    ((False, True, False, True), "D14"),
    ((False, True, True, False), "D14"),
    ((False, True, False, False), "D14"),
    ((True, False, False, True), "D60"),
    ((True, False, False, False), "D60"),
    ((False, False, True, True), "D60"),
    ((False, False, True, False), "D60"),
    ((False, False, False, True), "D60"),
    ((False, False, False, False), "UPGRADE"),
]


@pytest.mark.parametrize(("answers", "band"), BOD_MATRIX)
def test_bod_26_04_matrix(bod: Profile, answers: tuple[bool, bool, bool, bool], band: str) -> None:
    assert assess(bod, bod_facts(*answers)).tier_id == band


def test_bod_26_04_matrix_covers_all_sixteen_combinations() -> None:
    assert len({answers for answers, _band in BOD_MATRIX}) == 16


def test_bod_3_days_from_kev_addition_when_earlier(bod: Profile) -> None:
    facts = Facts(
        internet_exposed=True,
        kev=True,
        kev_added_at=date(2024, 3, 29),
        automatable=False,
        impact="total",
        detected_at=utc(2024, 4, 2, 10, 0),
    )
    result = assess(bod, facts)
    assert (result.tier_id, result.days) == ("D3", 3)
    assert result.clock_start == utc(2024, 3, 29)
    assert result.due_at == utc(2024, 4, 1)
    assert "forensic triage" in result.rationale
    assert "from KEV addition 2024-03-29 (not later than detection 2024-04-02 10:00 UTC)" in (
        result.rationale
    )


def test_bod_3_days_automatable_not_kev_from_detection(bod: Profile) -> None:
    result = assess(bod, bod_facts(True, False, True, True))
    assert result.clock_start == utc(2024, 4, 2, 10, 0)
    assert result.due_at == utc(2024, 4, 5, 10, 0)
    assert "(not in KEV)" in result.rationale


def test_bod_14_days_from_detection_when_earlier(bod: Profile) -> None:
    facts = Facts(
        kev=True,
        kev_added_at=date(2024, 3, 29),
        kev_due_date=date(2024, 3, 10),
        automatable=False,
        impact="partial",
        detected_at=utc(2024, 3, 1, 6, 0),
    )
    result = assess(bod, facts)
    assert (result.tier_id, result.days) == ("D14", 14)
    assert result.clock_start == utc(2024, 3, 1, 6, 0)
    assert result.due_at == utc(2024, 3, 15, 6, 0)  # the KEV due date is not applied
    assert "(earlier than KEV addition 2024-03-29)" in result.rationale
    assert "KEV due date 2024-03-10 not applied" in result.rationale


def test_bod_kev_addition_before_any_detection(bod: Profile) -> None:
    facts = Facts(kev=True, kev_added_at=date(2024, 3, 29))
    result = assess(bod, facts)
    assert result.clock_start == utc(2024, 3, 29)
    assert result.due_at == utc(2024, 4, 12)


def test_bod_stale_kev_date_ignored_when_not_in_kev(bod: Profile) -> None:
    facts = Facts(kev=False, kev_added_at=date(2020, 1, 1), detected_at=utc(2024, 1, 1))
    assert assess(bod, facts).clock_start == utc(2024, 1, 1)


def test_bod_no_metadata_not_in_kev_is_60_days(bod: Profile) -> None:
    facts = Facts(internet_exposed=True, detected_at=utc(2024, 1, 1))
    result = assess(bod, facts)
    assert (result.tier_id, result.days) == ("D60-NODATA", 60)
    assert result.due_at == utc(2024, 3, 1)
    assert "no automatable or technical impact given" in result.rationale


def test_bod_upgrade_has_no_calendar_deadline(bod: Profile) -> None:
    result = assess(bod, bod_facts(False, False, False, False))
    assert (result.days, result.due_at) == (None, None)
    assert result.clock_start == utc(2024, 4, 2, 10, 0)
    assert "next scheduled system upgrade" in result.rationale


def test_bod_clock_not_started(bod: Profile) -> None:
    result = assess(bod, Facts(kev=True))
    assert (result.tier_id, result.clock_start, result.due_at) == ("D14", None, None)
    assert "neither a KEV addition nor a detection" in result.rationale


# --- retired packages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "days", "due"),
    [
        ("balanced", 30, utc(2026, 6, 18)),
        ("pci-dss-4-6.3.3", 30, utc(2026, 6, 18)),
        ("fedramp-rev5-ra-5d", 30, utc(2026, 6, 18)),
        ("uk-cyber-essentials", 14, utc(2026, 6, 2)),
        ("cisa-bod-26-04", 60, utc(2026, 7, 18)),
    ],
)
def test_retired_from_retirement_date(slug: str, days: int, due: datetime) -> None:
    result = assess_retired(profile_load(slug), date(2026, 5, 19), utc(2026, 1, 2))
    assert (result.days, result.clock_start, result.due_at) == (days, utc(2026, 5, 19), due)
    assert "(later than host first seen 2026-01-02)" in result.rationale


def test_retired_from_host_first_seen_when_later(balanced: Profile) -> None:
    result = assess_retired(balanced, date(2026, 5, 19), utc(2026, 6, 1, 8, 30))
    assert result.tier_id == "EOL"
    assert result.clock_start == utc(2026, 6, 1, 8, 30)
    assert result.due_at == utc(2026, 7, 1, 8, 30)
    assert result.rationale == (
        "EOL Retired or end-of-life package (remove or migrate): 30 days from host first seen "
        "2026-06-01 08:30 UTC (later than retirement 2026-05-19) → due 2026-07-01 08:30 UTC."
    )


def test_retired_host_first_seen_unknown(balanced: Profile) -> None:
    result = assess_retired(balanced, date(2026, 5, 19), None)
    assert result.due_at == utc(2026, 6, 18)


# --- facts ------------------------------------------------------------------------------------


def test_facts_normalise_and_refuse() -> None:
    assert Facts(severity="Important").severity == "high"
    assert Facts(severity="moderate").severity == "medium"
    assert Facts(impact="Total").impact == "total"
    with pytest.raises(ValueError, match="severity"):
        Facts(severity="urgent")
    with pytest.raises(ValueError, match="impact"):
        Facts(impact="some")
    with pytest.raises(ValueError, match="cvss_score"):
        Facts(cvss_score=11.0)
    with pytest.raises(ValueError, match="no time zone"):
        Facts(detected_at=datetime(2024, 1, 1))  # noqa: DTZ001 - the naive value is the point


# --- validation -------------------------------------------------------------------------------


def balanced_data() -> dict[str, Any]:
    text = resources.files("evidence.sla").joinpath("data/balanced.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def write(tmp_path: Path, data: object, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def broken(change: str) -> dict[str, Any]:
    """The Balanced data with one defect."""
    data = copy.deepcopy(balanced_data())
    tiers = data["tiers"]
    if change == "unknown top key":
        data["colour"] = "blue"
    elif change == "unknown tier key":
        tiers[1]["deadline"] = 3
    elif change == "unknown condition":
        tiers[2]["when"] = {"cvss_at_leest": 7.0}
    elif change == "unknown nested condition":
        tiers[1]["when"]["any"][1]["any"][0] = {"impact": "total"}
    elif change == "no catch-all":
        del tiers[-1]
    elif change == "early catch-all":
        tiers[1]["when"] = {"any": [{"always": True}, {"kev": True}]}
    elif change == "negative days":
        tiers[0]["days"] = -1
    elif change == "fractional days":
        tiers[0]["days"] = 2.5
    elif change == "negative retired days":
        data["retired"]["days"] = -30
    elif change == "null retired days":
        data["retired"]["days"] = None
    elif change == "unknown clock":
        data["clock"] = "whenever"
    elif change == "unknown severity":
        tiers[2]["when"]["any"][1]["vendor_severity_in"] = ["urgent"]
    elif change == "cvss out of range":
        tiers[2]["when"]["any"][0]["cvss_at_least"] = 12
    elif change == "duplicate tier id":
        tiers[1]["id"] = "P0"
    elif change == "missing key":
        del data["tiers"]
    elif change == "bad version":
        data["version"] = 0
    elif change == "bad url":
        data["sources"][0]["url"] = "ftp://example.org/x"
    elif change == "string boolean":
        data["kev_due_date_overrides"] = "yes"
    return data


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        ("unknown top key", "colour", "unknown key"),
        ("unknown tier key", "tiers[1].deadline", "unknown key"),
        ("unknown condition", "tiers[2].when.cvss_at_leest", "unknown condition"),
        ("unknown nested condition", "tiers[1].when.any[1].any[0].impact", "unknown condition"),
        ("no catch-all", "tiers[3].when", "catch-all"),
        ("early catch-all", "tiers[1].when", "only allowed as the last tier"),
        ("negative days", "tiers[0].days", "must not be negative"),
        ("fractional days", "tiers[0].days", "whole number of days"),
        ("negative retired days", "retired.days", "must not be negative"),
        ("null retired days", "retired.days", "whole number of days"),
        ("unknown clock", "clock", "unknown clock"),
        ("unknown severity", "tiers[2].when.any[1].vendor_severity_in[0]", "'urgent'"),
        ("cvss out of range", "tiers[2].when.any[0].cvss_at_least", "between 0.0 and 10.0"),
        ("duplicate tier id", "tiers[1].id", "appears twice"),
        ("missing key", "tiers", "required key is missing"),
        ("bad version", "version", "integer >= 1"),
        ("bad url", "sources[0].url", "not an http(s) URL"),
        ("string boolean", "kev_due_date_overrides", "true or false"),
    ],
)
def test_validation_names_the_file_and_the_key(
    tmp_path: Path, change: str, where: str, what: str
) -> None:
    path = write(tmp_path, broken(change))
    with pytest.raises(ProfileError) as excinfo:
        profile_from_file(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: {where}: "), message
    assert what in message
    assert isinstance(excinfo.value, ValueError)


def test_unbroken_copy_loads(tmp_path: Path) -> None:
    profile = profile_from_file(write(tmp_path, balanced_data(), "copy.yaml"))
    assert profile == profile_load("balanced")


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    text = resources.files("evidence.sla").joinpath("data/balanced.yaml").read_text("utf-8")
    path.write_text(text + "clock: detected\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"dup\.yaml: not valid YAML: .*duplicate key 'clock'"):
        profile_from_file(path)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("tiers: [\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping, got list"),
        ("", "expected a mapping, got null"),
        ("!!python/object:os.system {}\n", "not valid YAML"),
    ],
)
def test_not_a_profile_document(tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=what):
        profile_from_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot be read"):
        profile_from_file(tmp_path / "absent.yaml")


def test_date_version_accepted(tmp_path: Path) -> None:
    data = balanced_data()
    path = tmp_path / "dated.yaml"
    text = yaml.safe_dump({**data, "version": 1}, sort_keys=False)
    path.write_text(text.replace("version: 1", "version: 2026-06-10"), encoding="utf-8")
    assert profile_from_file(path).version == "2026-06-10"


# --- digest -----------------------------------------------------------------------------------


def test_digest_is_stable(tmp_path: Path) -> None:
    shipped = profile_load("balanced")
    digest = profile_digest(shipped)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert profile_digest(profile_load("balanced")) == digest
    # Layout, key order and quoting of the YAML do not matter, only the data.
    data = balanced_data()
    reordered = dict(reversed(list(data.items())))
    path = tmp_path / "reordered.yaml"
    path.write_text(yaml.safe_dump(reordered, sort_keys=True, width=60), encoding="utf-8")
    assert profile_digest(profile_from_file(path)) == digest
    assert len({profile_digest(profile) for profile in profiles_all()}) == len(SLUGS)


@pytest.mark.parametrize(
    "edit",
    [
        lambda data: data["tiers"][2].update(days=31),
        lambda data: data.update(version=2),
        lambda data: data.update(kev_due_date_overrides=False),
        lambda data: data["tiers"][3]["when"]["any"][0].update(cvss_at_least=4.5),
        lambda data: data["retired"].update(days=29),
        lambda data: data.update(description="Another policy text."),
    ],
)
def test_digest_changes_when_the_data_changes(tmp_path: Path, edit: Any) -> None:
    data = balanced_data()
    edit(data)
    changed = profile_from_file(write(tmp_path, data, "changed.yaml"))
    assert profile_digest(changed) != profile_digest(profile_load("balanced"))
