"""Show (or, with --create, make on first deployment) the key audit packets are signed with."""

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.packets.signing import key_id, public_key_pem, signing_key, signing_key_ensure


class Command(BaseCommand):
    help = (
        "Print the packet signing key's id and public key (PEM). --create generates the private "
        "key at PACKET_SIGNING_KEY_FILE if it does not exist yet (an existing key is kept)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true", help="generate it if missing")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = signing_key_ensure() if options["create"] else signing_key()
        except (ImproperlyConfigured, OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        public = key.public_key()
        payload = {
            "path": str(settings.PACKET_SIGNING_KEY_FILE),
            "key_id": key_id(public),
            "public_key": public_key_pem(public),
        }
        if options["json"]:
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(f"key {payload['key_id']} at {payload['path']}\n")
            self.stdout.write(payload["public_key"])
