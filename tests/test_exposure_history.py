"""Exposure history and as-of figures: what Patchproof knew at a moment stays what it knew.

Evidence arrives late (a snapshot taken in January uploaded in March, an advisory published in
January first fetched in March). The live exposures change; the figures of January as known
at January's end must not. Clocks are frozen with time-machine so "received" and "recorded"
times are the scenario's, and every write goes through the product's own pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from evidence.models import Exposure, ExposureVersion, Fleet, Host, versions_known_at
from evidence.timeline import timeline_figures
from portal.accounts.access import Access
from tests.test_matching import (
    advisory as advisory,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    day,
)
from tests.test_matching import (
    fleet as fleet,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    run_commits as run_commits,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    snapshot as snapshot,  # re-exported: the fixture, used by name
)

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def at(when: datetime, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with time_machine.travel(when, tick=False):
        return fn(*args, **kwargs)


def january(fleet: Fleet, *, known: bool) -> Any:
    access = Access(organization=fleet.organization, role="owner")
    return timeline_figures(
        access, fleet=None, start=JAN, end=FEB, now=NOW, known_at=FEB if known else None
    )


def build_history(snapshot: Any, advisory: Any) -> Host:
    """January: openssl vulnerable from Jan 5; fixed on Feb 10 (both received on the day)."""
    at(
        day(1, 5),
        advisory,
        "FEDORA-2026-0001",
        day(1, 2),
        [("openssl", "1:3.2.2-1.fc40", day(1, 2))],
    )
    host = at(
        day(1, 5), snapshot, "web-1", day(1, 5), {"openssl": "1:3.2.1-2.fc40", "bash": "5.2-1.fc40"}
    )
    at(
        day(2, 10),
        snapshot,
        "web-1",
        day(2, 10),
        {"openssl": "1:3.2.2-1.fc40", "bash": "5.2-1.fc40"},
    )
    return host


def test_every_write_leaves_a_version_and_the_current_one_matches(
    snapshot: Any, advisory: Any, fleet: Fleet
) -> None:
    host = build_history(snapshot, advisory)
    [exposure] = Exposure.objects.filter(host=host)
    versions = list(ExposureVersion.objects.filter(exposure_id=exposure.pk))
    assert [(v.recorded_from, v.recorded_until, v.fixed_at) for v in versions] == [
        (day(1, 5), day(2, 10), None),
        (day(2, 10), None, day(2, 10)),
    ]
    [known_in_january] = ExposureVersion.objects.filter(versions_known_at(day(1, 31)))
    assert known_in_january.fixed_at is None


def test_late_evidence_changes_the_live_figures_but_not_what_was_known(
    snapshot: Any, advisory: Any, fleet: Fleet
) -> None:
    build_history(snapshot, advisory)
    before = january(fleet, known=True)
    # Known at Feb 1: one exposure, open at the end of January, nothing fixed.
    assert (before.exposures, before.open_at_end, before.fixed) == (1, 1, 0)

    # March: a snapshot taken on Jan 20 (the fix was in by then) arrives late, and an advisory
    # published on Jan 15 about bash is fetched for the first time.
    at(
        day(3, 1),
        snapshot,
        "web-1",
        day(1, 20),
        {"openssl": "1:3.2.2-1.fc40", "bash": "5.2-1.fc40"},
    )
    at(day(3, 1), advisory, "FEDORA-2026-0002", day(1, 15), [("bash", "5.2-2.fc40", day(1, 15))])

    live = january(fleet, known=False)
    # What we know now: openssl was fixed on Jan 20, and bash has been exposed since Jan 5.
    assert (live.exposures, live.fixed, live.open_at_end) == (2, 1, 1)

    again = january(fleet, known=True)
    assert again == before  # every figure, field by field


def test_deleted_exposures_stay_in_the_history(snapshot: Any, advisory: Any, fleet: Fleet) -> None:
    host = build_history(snapshot, advisory)
    [exposure] = Exposure.objects.filter(host=host)
    # The advisory is withdrawn-equivalent: its row is replaced by one that no longer matches.
    at(
        day(4, 1),
        advisory,
        "FEDORA-2026-0001",
        day(1, 2),
        [("openssl", "1:3.0.0-1.fc40", day(1, 2))],
    )
    assert not Exposure.objects.filter(pk=exposure.pk).exists()
    last = ExposureVersion.objects.get(exposure_id=exposure.pk, recorded_from=day(2, 10))
    assert last.recorded_until == day(4, 1)
    assert january(fleet, known=True).exposures == 1
    assert january(fleet, known=False).exposures == 0


def test_an_exception_follows_its_exposure_when_late_evidence_moves_the_window(
    snapshot: Any, advisory: Any, fleet: Fleet
) -> None:
    from evidence.exceptions import exception_approve, exception_request
    from evidence.models import RiskException
    from portal.accounts.models import AuditEvent
    from tests.factories import UserFactory

    host = build_history(snapshot, advisory)
    [first] = Exposure.objects.filter(host=host)
    officer, approver = UserFactory.create(), UserFactory.create()
    with time_machine.travel(day(1, 20), tick=False):
        requested = exception_request(
            fleet=fleet,
            exposure=first,
            advisory=None,
            requested_by=officer,
            justification="Fix breaks the billing export; WAF rule in place.",
            compensating_controls="WAF rule 9001",
            expires_at=day(3, 1),
        )
        exception_approve(exception=requested, approver=approver)
    # March: a snapshot taken on Jan 3 arrives: the window now starts earlier, so matching
    # replaces the exposure row.
    at(day(3, 1), snapshot, "web-1", day(1, 3), {"openssl": "1:3.2.1-2.fc40", "bash": "5.2-1.fc40"})
    [second] = Exposure.objects.filter(host=host)
    assert second.pk != first.pk and second.window_start == day(1, 3)
    kept = RiskException.objects.get(pk=requested.pk)
    assert (kept.exposure_id, kept.exposure_ref) == (second.pk, first.pk)  # followed, not lost
    assert AuditEvent.objects.filter(action="exception.followed").count() == 1
    # History: in January the (old) exposure was excepted, as the packet built then said.
    known = january(fleet, known=True)
    assert (known.open_at_end, known.excepted_at_end) == (1, 1)
