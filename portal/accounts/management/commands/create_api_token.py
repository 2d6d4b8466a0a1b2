"""Issue an API token and print it once."""

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from evidence.models import Fleet
from portal.accounts.models import Organization
from portal.accounts.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for an organisation (optionally limited to one fleet)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--fleet", help="limit the token to this fleet (slug)")
        parser.add_argument("--name", required=True, help="what the token is for")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            help="days until the token stops working (default: API_TOKEN_LIFETIME_DAYS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"no organisation with slug {options['org']!r}")
        fleet = None
        if options["fleet"]:
            fleet = Fleet.objects.filter(organization=org, slug=options["fleet"]).first()
            if fleet is None:
                raise CommandError(f"organisation {org.slug!r} has no fleet {options['fleet']!r}")
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be a positive number of days")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        token, secret = api_token_create(
            organization=org, fleet=fleet, name=options["name"], expires_at=expires_at
        )
        if options["json"]:
            expires = token.expires_at.isoformat() if token.expires_at else None
            payload = {
                "id": token.pk,
                "prefix": token.prefix,
                "token": secret,
                "expires_at": expires,
            }
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(secret)
            self.stderr.write("Store this token now: it is not shown again.")
