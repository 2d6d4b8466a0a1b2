"""Create the demo data (idempotent)."""

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.demo import demo_seed


class Command(BaseCommand):
    help = "Create demo organisations, users, fleets, hosts and SBOMs. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (demo users!)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates users with a known password; with DEBUG off it needs --force"
            )
        counts = demo_seed()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
        else:
            summary = ", ".join(f"{v} {k}" for k, v in counts.items())
            self.stdout.write(self.style.SUCCESS(f"demo data ready: {summary}"))
