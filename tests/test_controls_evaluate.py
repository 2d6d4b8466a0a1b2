"""Control evaluation outcomes for hand-built evidence: met, not met, insufficient evidence.

A quarter (Q3 2026) of a two-host Fedora 40 fleet, built through the product's own pipeline
with frozen clocks: weekly SBOM snapshots, advisories stored by the feed code, the KEV catalog
and the retired/end-of-life lists synced from files. Every expected figure is worked out in the
comments.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from evidence.controls.catalog import catalog_load
from evidence.controls.evaluate import controls_evaluate
from evidence.controls.metrics import CONDITIONS, METRICS
from evidence.feeds.sync import feed_sync, sources_ensure
from evidence.models import (
    AssessmentStatus,
    ControlAssessment,
    ControlEvaluation,
    FeedSource,
    Fleet,
)
from portal.accounts.models import AuditEvent
from tests.test_matching import (
    advisory as advisory,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    run_commits as run_commits,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    snapshot as snapshot,  # re-exported: the fixture, used by name
)

pytestmark = pytest.mark.django_db

Q3 = (date(2026, 7, 1), date(2026, 9, 30))
END = datetime(2026, 10, 1, tzinfo=UTC)  # as of: the day after the period's last day
DATA = Path(__file__).resolve().parents[1] / "evidence" / "feeds" / "data"
OLD = {"openssl": "1:3.2.1-2.fc40", "bash": "5.2-1.fc40"}
NEW = {"openssl": "1:3.2.2-1.fc40", "bash": "5.2-1.fc40"}


def noon(month: int, dom: int) -> datetime:
    return datetime(2026, month, dom, 12, tzinfo=UTC)


@pytest.fixture
def fleet() -> Fleet:
    from tests.factories import FleetFactory

    return FleetFactory.create(distribution="fedora-40", sla_profile="balanced", slug="web")


def kev_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "kev.json"
    path.write_text(
        json.dumps(
            {
                "title": "CISA Catalog of Known Exploited Vulnerabilities",
                "catalogVersion": "2026.09.30",
                "dateReleased": "2026-09-30T12:00:00Z",
                "count": 0,
                "vulnerabilities": [],
            }
        )
    )
    return path


def at(when: datetime, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with time_machine.travel(when, tick=False):
        return fn(*args, **kwargs)


def feeds_synced(when: datetime, tmp_path: Path, run_commits: Callable[..., Any]) -> None:
    """The feeds in use: KEV and the retired / end-of-life lists (Red Hat's CSAF feed, enabled
    by default, is switched off: this fleet is Fedora)."""
    with time_machine.travel(when, tick=False):
        sources_ensure()
        FeedSource.objects.filter(slug="redhat-csaf").update(enabled=False)
        for slug, path in (("kev", kev_catalog(tmp_path)), ("retired", DATA)):
            run = run_commits(feed_sync, FeedSource.objects.get(slug=slug), path=path)
            assert run.status == "ok", run.errors


def weekly(snapshot: Any, hostname: str, first: datetime, last: datetime, packages: Any) -> None:
    """A snapshot every 7 days from `first` to `last`; `packages(when)` gives its contents."""
    when = first
    while when <= last:
        at(when, snapshot, hostname, when, packages(when))
        when += timedelta(days=7)


def evaluate(fleet: Fleet) -> dict[str, ControlAssessment]:
    with time_machine.travel(END + timedelta(days=1), tick=False):
        out = io.StringIO()
        call_command(
            "evaluate_controls",
            f"--org={fleet.organization.slug}",
            f"--start={Q3[0]}",
            f"--end={Q3[1]}",
            "--json",
            stdout=out,
        )
    evaluation = ControlEvaluation.objects.get(pk=json.loads(out.getvalue())["evaluation"])
    return {a.control_id: a for a in evaluation.assessments.all()}


def metric(assessment: ControlAssessment, metric_id: str) -> Any:
    return next(m["value"] for m in assessment.metrics if m["id"] == metric_id)


def test_catalog_metrics_and_conditions_all_have_implementations() -> None:
    catalog = catalog_load()
    metric_ids = {m.id for c in catalog.controls for m in c.metrics}
    assert metric_ids == set(METRICS)
    assert {r for c in catalog.controls for r in c.requires} <= set(CONDITIONS)


def test_a_well_run_quarter_is_met(
    snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Any, tmp_path: Path
) -> None:
    at(
        noon(6, 20),
        advisory,
        "FEDORA-2026-0001",
        noon(7, 1),
        [("openssl", "1:3.2.2-1.fc40", noon(7, 1))],
    )
    # web-1 upgrades on Jul 19 (18 days after the fix; medium severity: P3, 90 days).
    weekly(snapshot, "web-1", noon(6, 28), noon(9, 27), lambda t: OLD if t < noon(7, 19) else NEW)
    weekly(snapshot, "web-2", noon(6, 28), noon(9, 27), lambda t: NEW)
    feeds_synced(noon(9, 30), tmp_path, run_commits)

    result = evaluate(fleet)

    patch = result["PTL-PATCH-01"]
    assert patch.status == AssessmentStatus.MET, patch.rationale
    assert metric(patch, "in_sla_ratio") == 1.0  # 1 of 1 fixed within SLA
    assert metric(patch, "ttr_p50_days") == 18.0  # Jul 1 12:00 -> Jul 19 12:00
    assert result["PTL-INV-01"].status == AssessmentStatus.MET
    # Newest snapshot Sep 27 12:00, as of Oct 1 00:00: 3.5 days old.
    assert metric(result["PTL-INV-01"], "inventory_age_days_max") == 3.5
    assert result["PTL-VULN-01"].status == AssessmentStatus.MET
    assert result["PTL-VULN-02"].status == AssessmentStatus.MET  # a snapshot every 7 days
    assert metric(result["PTL-VULN-02"], "assessment_gap_days_max") == 7.0
    assert result["PTL-INV-03"].status == AssessmentStatus.MET  # lists loaded, nothing retired
    assert result["PTL-AUD-01"].status == AssessmentStatus.MET
    # No evaluation or packet was produced during the quarter: reporting is not met.
    assert result["PTL-AUD-02"].status == AssessmentStatus.NOT_MET
    assert "0 of 3 month(s)" in result["PTL-AUD-02"].rationale
    assert AuditEvent.objects.filter(action="controls.evaluated").count() == 1


def test_an_overdue_high_exposure_is_not_met(
    snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Any, tmp_path: Path
) -> None:
    at(
        noon(6, 20),
        advisory,
        "FEDORA-2026-0002",
        noon(7, 1),
        [("openssl", "1:3.2.2-1.fc40", noon(7, 1))],
        severity="important",
    )
    # web-2 never upgrades: P2 (important), due 30 days after the fix, Jul 31 12:00.
    weekly(snapshot, "web-1", noon(6, 28), noon(9, 27), lambda t: NEW)
    weekly(snapshot, "web-2", noon(6, 28), noon(9, 27), lambda t: OLD)
    feeds_synced(noon(9, 30), tmp_path, run_commits)

    result = evaluate(fleet)

    patch = result["PTL-PATCH-01"]
    assert patch.status == AssessmentStatus.NOT_MET
    assert metric(patch, "in_sla_ratio") == 0.0  # the one exposure that fell due missed it
    assert metric(patch, "overdue_open") == 1
    assert "0%" in patch.rationale and "misses its target" in patch.rationale
    assert list(patch.evidence) == ["exposures"]
    assert patch.evidence["exposures"]["count"] == 1
    exceptions = result["PTL-EXC-01"]
    assert exceptions.status == AssessmentStatus.NOT_MET  # overdue and not excepted
    assert metric(exceptions, "overdue_covered_ratio") == 0.0


def test_stale_inventory_is_insufficient_evidence_never_met(
    snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Any, tmp_path: Path
) -> None:
    weekly(snapshot, "web-1", noon(6, 28), noon(9, 27), lambda t: NEW)
    weekly(snapshot, "web-2", noon(6, 28), noon(8, 16), lambda t: NEW)  # then silent
    feeds_synced(noon(9, 30), tmp_path, run_commits)

    result = evaluate(fleet)

    inventory = result["PTL-INV-01"]
    assert inventory.status == AssessmentStatus.NOT_MET  # 1 of 2 hosts reporting: 50% < 90%
    assert metric(inventory, "hosts_reporting_ratio") == 0.5
    assert "web-2" in inventory.rationale
    patch = result["PTL-PATCH-01"]
    assert patch.status == AssessmentStatus.INSUFFICIENT_EVIDENCE
    assert "web-2" in patch.rationale and "Insufficient evidence" in patch.rationale
    condition = next(c for c in patch.conditions if c["id"] == "inventory_fresh")
    assert condition["holds"] is False


def test_no_feeds_is_insufficient_evidence(snapshot: Any, fleet: Fleet) -> None:
    weekly(snapshot, "web-1", noon(6, 28), noon(9, 27), lambda t: NEW)

    result = evaluate(fleet)

    assert result["PTL-VULN-01"].status == AssessmentStatus.INSUFFICIENT_EVIDENCE
    assert result["PTL-PATCH-01"].status == AssessmentStatus.INSUFFICIENT_EVIDENCE
    assert result["PTL-PATCH-02"].status == AssessmentStatus.INSUFFICIENT_EVIDENCE
    assert "KEV" in result["PTL-PATCH-02"].rationale


def test_evaluation_is_read_only_and_repeatable(snapshot: Any, fleet: Fleet) -> None:
    weekly(snapshot, "web-1", noon(6, 28), noon(9, 27), lambda t: NEW)
    first = controls_evaluate(
        organization=fleet.organization,
        fleet=None,
        period_start=Q3[0],
        period_end=Q3[1],
        now=END + timedelta(days=3),
    )
    second = controls_evaluate(
        organization=fleet.organization,
        fleet=fleet,
        period_start=Q3[0],
        period_end=Q3[1],
        now=END + timedelta(days=30),
    )
    assert [r.as_dict() for r in first.results] == [r.as_dict() for r in second.results]
    assert ControlEvaluation.objects.count() == 0


def test_bad_command_input_names_the_problem() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no organisation with slug 'nope'"):
        call_command("evaluate_controls", "--org=nope", "--start=2026-07-01", "--end=2026-09-30")
    from tests.factories import OrganizationFactory

    OrganizationFactory.create(slug="acme")
    with pytest.raises(CommandError, match="--start '2026-13-01' is not a date"):
        call_command("evaluate_controls", "--org=acme", "--start=2026-13-01", "--end=2026-09-30")
    with pytest.raises(CommandError, match=r"ends .* before it starts"):
        call_command("evaluate_controls", "--org=acme", "--start=2026-09-01", "--end=2026-08-01")
    with pytest.raises(CommandError, match=r"starts \(2099-01-01\) in the future"):
        call_command("evaluate_controls", "--org=acme", "--start=2099-01-01", "--end=2099-02-01")
    assert ControlEvaluation.objects.count() == 0  # nothing recorded for refused input


def test_monthly_evaluation_is_scheduled_and_runs_once_per_month(fleet: Fleet) -> None:
    from django_celery_beat.models import PeriodicTask

    from evidence.controls.periodic import SCHEDULE_NAME, evaluations_monthly

    task = PeriodicTask.objects.get(name=SCHEDULE_NAME)  # created after migrate
    assert (task.crontab.day_of_month, task.crontab.hour, task.queue) == ("1", "3", "packets")
    first = evaluations_monthly(today=date(2026, 11, 1))
    assert [(e.period_start, e.period_end, e.fleet) for e in first] == [
        (date(2026, 10, 1), date(2026, 10, 31), None)
    ]
    assert evaluations_monthly(today=date(2026, 11, 15)) == []  # that month is done already
    assert ControlEvaluation.objects.filter(period_start=date(2026, 10, 1)).count() == 1
