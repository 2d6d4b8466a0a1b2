"""Rebuild a host's package ledger from its stored SBOMs."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.ingest import sbom_limits
from evidence.ledger import ledger_rebuild
from evidence.models import Host, PackageInterval


class Command(BaseCommand):
    help = "Rebuild one host's package ledger by replaying its ingested SBOMs in snapshot order."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--host", required=True, help="hostname")
        parser.add_argument("--fleet", help="fleet slug, when the hostname is in several fleets")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        hosts = Host.objects.filter(
            fleet__organization__slug=options["org"], hostname=options["host"].lower()
        )
        if options["fleet"]:
            hosts = hosts.filter(fleet__slug=options["fleet"])
        found = list(hosts.select_related("fleet")[:2])
        if not found:
            raise CommandError(f"no host {options['host']!r} in organisation {options['org']!r}")
        if len(found) > 1:
            raise CommandError(f"host {options['host']!r} is in several fleets; add --fleet")
        host = found[0]
        snapshots = ledger_rebuild(host=host, limits=sbom_limits())
        intervals = PackageInterval.objects.filter(host=host).count()
        open_now = PackageInterval.objects.filter(host=host, present_until__isnull=True).count()
        payload = {
            "host": host.hostname,
            "fleet": host.fleet.slug,
            "snapshots": snapshots,
            "intervals": intervals,
            "installed": open_now,
        }
        if options["json"]:
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(
                f"{host.hostname}: replayed {snapshots} snapshots, {intervals} intervals, "
                f"{open_now} packages installed now"
            )
