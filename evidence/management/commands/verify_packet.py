"""Verify a sealed audit packet offline: exit 0 when valid, 1 with the reason otherwise."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.packets.signing import packet_verify, public_key_load, verification_keys


class Command(BaseCommand):
    help = (
        "Check a packet PDF's signature, bytes and embedded manifest. Exit 0: valid; "
        "exit 1: not valid (the reason is printed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the packet PDF")
        parser.add_argument(
            "--public-key",
            type=Path,
            action="append",
            help="PEM public key to accept (repeatable; default: this portal's signing key, "
            "as served at /.well-known/patchproof-signing-key.pem)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
        if options["public_key"]:
            try:
                keys = [public_key_load(p.read_bytes()) for p in options["public_key"]]
            except (OSError, ValueError) as exc:
                raise CommandError(f"--public-key: {exc}") from None
        else:
            try:
                keys = verification_keys()
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from None
        result = packet_verify(data, keys)
        if options["json"]:
            self.stdout.write(json.dumps({"path": str(path), **result.as_dict()}))
        else:
            self.stdout.write(f"{path}: {result.reason}")
            if result.ok and result.manifest:
                packet = result.manifest.get("packet", {})
                self.stdout.write(
                    f"  packet {packet.get('id')} · {packet.get('organization')} · "
                    f"{packet.get('period_start')} to {packet.get('period_end')} · "
                    f"key {result.key_id}"
                )
        if not result.ok:
            sys.exit(1)
