"""Run one notification scan now: record the events due and queue (or, eagerly, send) them."""

import json
from typing import Any

from django.core.management.base import BaseCommand

from evidence.notifications.send import notifications_scan


class Command(BaseCommand):
    help = "Scan for overdue exposures, KEV items, expiring exceptions and stale feeds; notify."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = notifications_scan().as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
        else:
            self.stdout.write(
                f"{counts['found']} events due, {counts['created']} new notifications, "
                f"{counts['requeued']} deliveries queued again"
            )
