"""Evaluating the control catalog for a scope and period: statuses, rationales, stored results.

For each control of the catalog (`evidence.controls.catalog`): its evidence conditions are
checked first, and one that fails makes the control `insufficient_evidence` (stale inventory,
stale feeds, no host...), never `met`. Otherwise each metric is computed
(`evidence.controls.metrics`) and compared with its thresholds: a metric that misses its
threshold but holds its `partial` one makes the control `partially_met`, one that misses both
makes it `not_met`; a control whose thresholded metrics have nothing to measure (no exposure
fell due, no KEV item in scope) is `not_applicable`; otherwise `met`. The rationale says all of
this in plain words, with the figures.

The period is whole days in UTC, `period_start` to `period_end` inclusive: [start 00:00,
end + 1 day 00:00). Figures describe `as_of` = the period's end, or now for a period still
running, and use only the evidence Patchproof held at `as_of` (see evidence.controls.metrics).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from evidence.controls.catalog import Catalog, Control, Metric, catalog_load
from evidence.controls.metrics import CONDITIONS, METRICS, REFS_KEPT, Facts, Measure
from evidence.models import (
    AssessmentStatus,
    ControlAssessment,
    ControlEvaluation,
    EvaluationStatus,
    Fleet,
)
from portal.accounts.access import Access
from portal.accounts.audit import audit_record
from portal.accounts.models import Organization

log = logging.getLogger(__name__)

_OUTCOME_WORDS = {
    "met": "meets its target",
    "partially_met": "misses its target but meets the partial threshold",
    "not_met": "misses its target",
}


class EvaluationPeriodError(ValueError):
    pass


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after end 00:00 UTC)."""
    if end < start:
        raise EvaluationPeriodError(f"the period ends ({end}) before it starts ({start})")
    return (
        datetime.combine(start, time(), tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC),
    )


@dataclass
class AssessmentResult:
    control_id: str
    title: str
    status: str
    metrics: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    rationale: str
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "control": self.control_id,
            "title": self.title,
            "status": self.status,
            "metrics": self.metrics,
            "conditions": self.conditions,
            "rationale": self.rationale,
            "evidence": self.evidence,
        }


@dataclass
class Evaluated:
    """The outcome of one evaluation, before or without storing it."""

    catalog: Catalog
    start: datetime
    end: datetime
    as_of: datetime
    known_at: datetime
    facts: Facts
    results: list[AssessmentResult]


def format_value(value: float | None, unit: str) -> str:
    """A metric value for people: ratios as percentages, days and hours with units."""
    if value is None:
        return "no data"
    if unit == "ratio":
        return f"{value * 100:.1f}%".replace(".0%", "%")
    if unit == "bool":
        return "yes" if value >= 1 else "no"
    if unit == "count":
        return f"{int(value)}"
    number = f"{value:.1f}".removesuffix(".0")
    return f"{number} {'days' if unit == 'days' else 'h' if unit == 'hours' else unit}".strip()


def _holds(op: str, value: float, limit: float) -> bool:
    return value >= limit if op == ">=" else value <= limit


def _metric(metric: Metric, measure: Measure, params: dict[str, float]) -> dict[str, Any]:
    """One metric's stored form, with its outcome against the thresholds."""
    threshold = partial_t = None
    outcome = "info"
    if metric.threshold is not None:
        limit = params[metric.threshold.param]
        threshold = {"op": metric.threshold.op, "param": metric.threshold.param, "value": limit}
        if measure.value is None:
            outcome = "no_data"
        elif _holds(metric.threshold.op, measure.value, limit):
            outcome = "met"
        else:
            outcome = "not_met"
        if metric.partial is not None:
            partial_limit = params[metric.partial.param]
            partial_t = {
                "op": metric.partial.op,
                "param": metric.partial.param,
                "value": partial_limit,
            }
            if outcome == "not_met" and _holds(
                metric.partial.op, measure.value or 0.0, partial_limit
            ):
                outcome = "partially_met"
    return {
        "id": metric.id,
        "label": metric.label,
        "unit": metric.unit,
        "formula": metric.formula,
        "value": measure.value,
        "shown": format_value(measure.value, metric.unit),
        "threshold": threshold,
        "partial": partial_t,
        "outcome": outcome,
        "detail": measure.detail,
    }


def _status(conditions: list[dict[str, Any]], metrics: list[dict[str, Any]]) -> str:
    if any(not c["holds"] for c in conditions):
        return AssessmentStatus.INSUFFICIENT_EVIDENCE
    judged = [m["outcome"] for m in metrics if m["outcome"] not in ("info", "no_data")]
    if not judged:
        return AssessmentStatus.NOT_APPLICABLE
    if "not_met" in judged:
        return AssessmentStatus.NOT_MET
    if "partially_met" in judged:
        return AssessmentStatus.PARTIALLY_MET
    return AssessmentStatus.MET


def target_text(threshold: dict[str, Any], unit: str) -> str:
    """ "≥ 95%", "≤ 7 days", or "yes" for a yes/no metric."""
    if unit == "bool":
        return format_value(threshold["value"], unit)
    sign = "\u2265" if threshold["op"] == ">=" else "\u2264"
    return f"{sign} {format_value(threshold['value'], unit)}"


def _rationale(status: str, conditions: list[dict[str, Any]], metrics: list[dict[str, Any]]) -> str:
    """The outcome in plain words, with every figure that decided it."""
    if status == AssessmentStatus.INSUFFICIENT_EVIDENCE:
        missing = "; ".join(c["detail"] for c in conditions if not c["holds"])
        return (
            f"Insufficient evidence: {missing}. The control cannot be judged met on this "
            "evidence; the figures below are shown for information only."
        )
    sentences = []
    for m in metrics:
        if m["threshold"] is None:
            continue
        target = target_text(m["threshold"], m["unit"])
        if m["outcome"] == "no_data":
            sentences.append(f"{m['label']}: nothing to measure in this period (target {target})")
            continue
        sentence = f"{m['label']} is {m['shown']} (target {target}): {_OUTCOME_WORDS[m['outcome']]}"
        if m["detail"] and m["outcome"] != "met":
            sentence += f" ({m['detail']})"
        sentences.append(sentence)
    lead = {
        AssessmentStatus.MET: "Met.",
        AssessmentStatus.PARTIALLY_MET: "Partially met.",
        AssessmentStatus.NOT_MET: "Not met.",
        AssessmentStatus.NOT_APPLICABLE: "Not applicable: nothing in scope to measure.",
    }[AssessmentStatus(status)]
    return " ".join([lead, *(f"{s}." for s in sentences)])


def _evidence(measures: list[Measure]) -> dict[str, dict[str, Any]]:
    """Each kind's references, in first-seen order without repeats: their count, and the
    first REFS_KEPT of them."""
    merged: dict[str, dict[Any, None]] = {}  # an insertion-ordered set
    for measure in measures:
        for kind, values in measure.evidence.items():
            merged.setdefault(kind, {}).update(dict.fromkeys(values))
    return {
        kind: {"count": len(values), "refs": list(values)[:REFS_KEPT]}
        for kind, values in merged.items()
    }


def _assess(control: Control, facts: Facts, params: dict[str, float]) -> AssessmentResult:
    conditions = []
    for condition in control.requires:
        holds, detail = CONDITIONS[condition](facts)
        conditions.append({"id": condition, "holds": holds, "detail": detail})
    measures = [METRICS[metric.id](facts) for metric in control.metrics]
    metrics = [
        _metric(m, measure, params) for m, measure in zip(control.metrics, measures, strict=True)
    ]
    status = _status(conditions, metrics)
    return AssessmentResult(
        control_id=control.id,
        title=control.title,
        status=status,
        metrics=metrics,
        conditions=conditions,
        rationale=_rationale(status, conditions, metrics),
        evidence=_evidence(measures),
    )


def controls_evaluate(
    *,
    organization: Organization,
    fleet: Fleet | None,
    period_start: date,
    period_end: date,
    now: datetime | None = None,
    exclude_evaluation_id: int | None = None,
) -> Evaluated:
    """Evaluate every control for the scope and period (reads only; nothing is stored)."""
    catalog = catalog_load()
    start, end = period_bounds(period_start, period_end)
    now = now or timezone.now()
    if now < start:
        raise EvaluationPeriodError(f"the period starts ({period_start}) in the future")
    as_of = min(end, now)
    params = {pid: float(p.value) for pid, p in catalog.parameters.items()}
    facts = Facts(
        access=Access(organization=organization, role="owner"),
        fleet=fleet,
        start=start,
        end=end,
        as_of=as_of,
        known_at=as_of,
        params=params,
        exclude_evaluation_id=exclude_evaluation_id,
    )
    results = [_assess(control, facts, params) for control in catalog.controls]
    return Evaluated(catalog, start, end, as_of, as_of, facts, results)


def evaluation_request(
    *,
    organization: Organization,
    fleet: Fleet | None,
    period_start: date,
    period_end: date,
    requested_by: Any = None,
    dispatch: bool = True,
) -> ControlEvaluation:
    """Record an evaluation request and queue it (Celery) after the commit."""
    period_bounds(period_start, period_end)  # raises for a reversed period
    if period_start > timezone.now().date():
        raise EvaluationPeriodError(f"the period starts ({period_start}) in the future")
    if fleet is not None and fleet.organization_id != organization.pk:
        raise ValueError("fleet belongs to another organisation")
    with transaction.atomic():
        evaluation = ControlEvaluation.objects.create(
            organization=organization,
            fleet=fleet,
            period_start=period_start,
            period_end=period_end,
            requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        )
        if dispatch:
            from evidence.tasks import evaluate_controls

            transaction.on_commit(partial(evaluate_controls.delay, evaluation.pk))
    return evaluation


def evaluation_execute(
    *, evaluation_id: int, now: datetime | None = None, task_id: str | None = None
) -> ControlEvaluation:
    """Run a queued evaluation and store its assessments. Idempotent: an evaluation that is not
    queued (already running elsewhere, done or failed) is returned untouched, unless it is the
    same task's message redelivered after its worker died (see `claimed_by`)."""
    claimable = Q(status=EvaluationStatus.QUEUED)
    if task_id:
        claimable |= Q(status=EvaluationStatus.RUNNING, claimed_by=task_id)
    claimed = ControlEvaluation.objects.filter(claimable, pk=evaluation_id).update(
        status=EvaluationStatus.RUNNING,
        status_changed_at=timezone.now(),
        claimed_by=task_id or "",
    )
    evaluation = ControlEvaluation.objects.select_related("organization", "fleet").get(
        pk=evaluation_id
    )
    if not claimed:
        return evaluation
    try:
        evaluated = controls_evaluate(
            organization=evaluation.organization,
            fleet=evaluation.fleet,
            period_start=evaluation.period_start,
            period_end=evaluation.period_end,
            now=now,
            exclude_evaluation_id=evaluation.pk,
        )
    except (OperationalError, InterfaceError):
        # Transient (the database went away): back to the queue, so the task's retry can
        # claim it again.
        ControlEvaluation.objects.filter(pk=evaluation.pk).update(status=EvaluationStatus.QUEUED)
        raise
    except Exception as exc:
        # Recorded on the row, then re-raised so the worker logs the traceback too.
        ControlEvaluation.objects.filter(pk=evaluation.pk).update(
            status=EvaluationStatus.FAILED, error=f"evaluation failed: {exc}"
        )
        raise
    return evaluation_store(evaluation=evaluation, evaluated=evaluated)


def evaluation_store(*, evaluation: ControlEvaluation, evaluated: Evaluated) -> ControlEvaluation:
    """Write the assessments of `evaluated` to `evaluation` and mark it done (one transaction)."""
    with transaction.atomic():
        ControlAssessment.objects.bulk_create(
            ControlAssessment(
                evaluation=evaluation,
                control_id=r.control_id,
                title=r.title,
                status=r.status,
                metrics=r.metrics,
                conditions=r.conditions,
                rationale=r.rationale,
                evidence=r.evidence,
            )
            for r in evaluated.results
        )
        evaluation.as_of = evaluated.as_of
        evaluation.known_at = evaluated.known_at
        evaluation.catalog_version = evaluated.catalog.version
        evaluation.catalog_digest = evaluated.catalog.digest
        evaluation.status = EvaluationStatus.DONE
        evaluation.finished_at = timezone.now()
        evaluation.save()
        audit_record(
            action="controls.evaluated",
            actor=evaluation.requested_by,
            organization=evaluation.organization,
            target=evaluation,
            data={
                "start": evaluation.period_start,
                "end": evaluation.period_end,
                "fleet": evaluation.fleet.slug if evaluation.fleet else None,
                "catalog": evaluation.catalog_version,
                "statuses": {r.control_id: r.status for r in evaluated.results},
            },
        )
    return evaluation
