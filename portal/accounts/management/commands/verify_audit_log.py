"""Walk the audit log's hash chain; exit 1 if any row was edited or deleted."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.accounts.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the append-only audit log's hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if options["json"]:
            payload = {"ok": report.ok, "events": report.events, "problems": report.problems}
            self.stdout.write(json.dumps(payload))
        elif report.ok:
            self.stdout.write(self.style.SUCCESS(f"audit log intact: {report.events} events"))
        else:
            for problem in report.problems:
                self.stderr.write(problem)
        if not report.ok:
            raise CommandError(f"audit log broken: {len(report.problems)} problem(s)")
