"""Evaluate the control catalog for an organisation (or one fleet) and period, and store it."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.controls.evaluate import (
    EvaluationPeriodError,
    evaluation_execute,
    evaluation_request,
)
from evidence.management.scope import scope_arguments, scope_from
from evidence.models import EvaluationStatus


class Command(BaseCommand):
    help = "Evaluate every control for a scope and period; prints each control's status."

    def add_arguments(self, parser: CommandParser) -> None:
        scope_arguments(parser)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = scope_from(options)
        try:
            evaluation = evaluation_request(
                organization=scope.organization,
                fleet=scope.fleet,
                period_start=scope.start,
                period_end=scope.end,
                dispatch=False,
            )
            evaluation = evaluation_execute(evaluation_id=evaluation.pk)
        except EvaluationPeriodError as exc:
            raise CommandError(str(exc)) from None
        if evaluation.status != EvaluationStatus.DONE:
            raise CommandError(f"evaluation {evaluation.pk} failed: {evaluation.error}")
        assessments = list(evaluation.assessments.order_by("pk"))
        if options["json"]:
            payload = {
                "evaluation": evaluation.pk,
                "organization": scope.organization.slug,
                "fleet": scope.fleet.slug if scope.fleet else None,
                "start": scope.start.isoformat(),
                "end": scope.end.isoformat(),
                "as_of": evaluation.as_of.isoformat() if evaluation.as_of else None,
                "catalog": {
                    "version": evaluation.catalog_version,
                    "digest": evaluation.catalog_digest,
                },
                "controls": [
                    {
                        "id": a.control_id,
                        "title": a.title,
                        "status": a.status,
                        "metrics": {m["id"]: m["value"] for m in a.metrics},
                        "rationale": a.rationale,
                    }
                    for a in assessments
                ],
            }
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(
            f"evaluation {evaluation.pk}: {scope.organization.slug}"
            f"{'/' + scope.fleet.slug if scope.fleet else ''} {scope.start}..{scope.end} "
            f"(catalog {evaluation.catalog_version})"
        )
        width = max((len(a.control_id) for a in assessments), default=0)
        for a in assessments:
            self.stdout.write(f"  {a.control_id:<{width}}  {a.get_status_display():<21}  {a.title}")
