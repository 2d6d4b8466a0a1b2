"""Build an audit packet PDF inline and write it to a directory."""

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.models import Fleet, PacketStatus
from evidence.packets.build import PacketPeriodError, packet_render, packet_request
from portal.accounts.models import Organization


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (use YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Render the audit packet for an organisation (or one fleet) and period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--fleet", help="fleet slug (default: every fleet)")
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--out", required=True, type=Path, help="directory for the PDF")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"no organisation with slug {options['org']!r}")
        fleet = None
        if options["fleet"]:
            fleet = Fleet.objects.filter(organization=org, slug=options["fleet"]).first()
            if fleet is None:
                raise CommandError(f"organisation {org.slug!r} has no fleet {options['fleet']!r}")
        try:
            packet = packet_request(
                organization=org,
                fleet=fleet,
                period_start=_date(options["start"]),
                period_end=_date(options["end"]),
                dispatch=False,
            )
        except PacketPeriodError as exc:
            raise CommandError(str(exc)) from None
        packet = packet_render(packet_id=packet.pk)
        if packet.status != PacketStatus.DONE:
            raise CommandError(f"packet {packet.pk} failed: {packet.error}")
        out_dir: Path = options["out"]
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / Path(packet.pdf.name).name
        with packet.pdf.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        payload = {"id": packet.pk, "path": str(target), "sha256": packet.sha256}
        if options["json"]:
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(f"{target} (sha256 {packet.sha256})")
