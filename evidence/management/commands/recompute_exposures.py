"""Recompute every exposure of an organisation from its package ledger and the advisories.

The incremental paths (after each snapshot, after each feed run) give the same result; this is
the reference, and the way to apply a changed SLA profile or matching rule to history.
"""

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.matching import exposures_recompute
from evidence.models import Exposure
from portal.accounts.models import Organization


class Command(BaseCommand):
    help = "Recompute the exposures of an organisation (created / updated / deleted counts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"no organisation with slug {options['org']!r}")
        started = time.perf_counter()
        counts = exposures_recompute(organization_id=org.pk)
        summary = {
            "organization": org.slug,
            **counts.as_dict(),
            "exposures": Exposure.objects.filter(organization=org).count(),
            "unmapped_distributions": sorted(counts.unmapped),
            "unmapped_modules": sorted(counts.unmapped_modules),
            "seconds": round(time.perf_counter() - started, 3),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"{org.slug}: {summary['exposures']} exposures ({counts.created} created, "
                f"{counts.updated} updated, {counts.deleted} deleted, "
                f"{counts.unchanged} unchanged) in {summary['seconds']} s"
            )
            if counts.unmapped:
                self.stderr.write(
                    "packages of these distributions were not matched (no mapping): "
                    + ", ".join(sorted(counts.unmapped))
                )
            if counts.unmapped_modules:
                self.stderr.write(
                    "rpm module builds not matched (module stream unknown): "
                    + "; ".join(sorted(counts.unmapped_modules))
                )
