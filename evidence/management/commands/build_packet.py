"""Build an audit packet PDF inline and write it to a directory."""

import json
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.management.scope import scope_arguments, scope_from
from evidence.models import PacketStatus
from evidence.packets.build import PacketPeriodError, packet_render, packet_request


class Command(BaseCommand):
    help = "Render the audit packet for an organisation (or one fleet) and period."

    def add_arguments(self, parser: CommandParser) -> None:
        scope_arguments(parser)
        parser.add_argument("--out", required=True, type=Path, help="directory for the PDF")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = scope_from(options)
        try:
            packet = packet_request(
                organization=scope.organization,
                fleet=scope.fleet,
                period_start=scope.start,
                period_end=scope.end,
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
