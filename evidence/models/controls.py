"""Control evaluations: the catalog's controls judged against the evidence of a scope and period.

A `ControlEvaluation` is one run of `evidence.controls.evaluate` for an organisation (optionally
one fleet) and a period, as known at `known_at` (the period's end, or now for a period still
running); it records the catalog version and digest it used. Each of its `ControlAssessment`s
is one control's outcome: the status, every metric with its threshold, the rationale in plain
words, and references to the evidence (exposure ids, SBOM sha256s, feed runs). Evaluations are
never edited: evaluating again makes a new one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from evidence.models.fleet import Fleet
from portal.accounts.models import Organization


class AssessmentStatus(models.TextChoices):
    MET = "met", "Met"
    PARTIALLY_MET = "partially_met", "Partially met"
    NOT_MET = "not_met", "Not met"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence", "Insufficient evidence"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class EvaluationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ControlEvaluation(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="control_evaluations"
    )
    fleet = models.ForeignKey(
        Fleet, on_delete=models.CASCADE, null=True, blank=True, related_name="control_evaluations"
    )
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive: the period ends at the end of this day.")
    as_of = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The moment the figures describe: the period's end, or "
        "the evaluation time for a period still running.",
    )
    known_at = models.DateTimeField(
        null=True, blank=True, help_text="Only evidence Patchproof held at this moment was used."
    )
    catalog_version = models.CharField(max_length=32, blank=True)
    catalog_digest = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=16, choices=EvaluationStatus.choices, default=EvaluationStatus.QUEUED
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    # The Celery task id that claimed the row (queued → running). A redelivery of that same
    # message (its worker died: acks_late) may claim it again; any other delivery may not.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="evaluation_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in EvaluationStatus]),
                name="evaluation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Evaluation {self.pk} {self.period_start}..{self.period_end} ({self.status})"


class ControlAssessment(models.Model):
    evaluation = models.ForeignKey(
        ControlEvaluation, on_delete=models.CASCADE, related_name="assessments"
    )
    control_id = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=24, choices=AssessmentStatus.choices)
    # [{id, label, unit, value, threshold: {op, param, value} | None, partial: ..., outcome}]
    metrics = models.JSONField(default=list)
    # [{id, holds, detail}] for the evidence conditions the control requires.
    conditions = models.JSONField(default=list)
    rationale = models.TextField()
    # {kind: {"count": n, "refs": [...first refs...]}}, kinds: exposures, sbom_documents, ...
    evidence = models.JSONField(default=dict)

    class Meta:
        ordering = ["evaluation", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "control_id"], name="assessment_once_per_evaluation"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AssessmentStatus]),
                name="assessment_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.control_id}: {self.status}"
