"""The scope and period arguments shared by the reporting commands (evaluate_controls,
build_packet): `--org SLUG [--fleet SLUG] --start DATE --end DATE`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from evidence.models import Fleet
from portal.accounts.models import Organization


@dataclass(frozen=True)
class Scope:
    organization: Organization
    fleet: Fleet | None
    start: date
    end: date


def scope_arguments(parser: CommandParser) -> None:
    parser.add_argument("--org", required=True, help="organisation slug")
    parser.add_argument("--fleet", help="fleet slug (default: every fleet)")
    parser.add_argument("--start", help="first day, YYYY-MM-DD")
    parser.add_argument("--end", help="last day (inclusive), YYYY-MM-DD")
    parser.add_argument(
        "--last-quarter",
        action="store_true",
        help="the last full calendar quarter (instead of --start and --end)",
    )


def last_quarter(today: date) -> tuple[date, date]:
    """The last calendar quarter that has ended before `today`."""
    first_month = 3 * ((today.month - 1) // 3) + 1  # this quarter's first month
    end = date(today.year, first_month, 1) - timedelta(days=1)
    return date(end.year, end.month - 2, 1), end


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date (use YYYY-MM-DD)") from None


def scope_from(options: dict[str, Any]) -> Scope:
    """The organisation, fleet and period the options name; CommandError saying what is wrong."""
    org = Organization.objects.filter(slug=options["org"]).first()
    if org is None:
        raise CommandError(f"no organisation with slug {options['org']!r}")
    fleet = None
    if options.get("fleet"):
        fleet = Fleet.objects.filter(organization=org, slug=options["fleet"]).first()
        if fleet is None:
            raise CommandError(f"organisation {org.slug!r} has no fleet {options['fleet']!r}")
    if options.get("last_quarter"):
        if options.get("start") or options.get("end"):
            raise CommandError("give either --last-quarter or --start and --end, not both")
        start, end = last_quarter(timezone.now().date())
        return Scope(org, fleet, start, end)
    if not options.get("start") or not options.get("end"):
        raise CommandError("give the period: --start and --end, or --last-quarter")
    start, end = _date(options["start"], "--start"), _date(options["end"], "--end")
    if end < start:
        raise CommandError(f"the period ends ({end}) before it starts ({start})")
    return Scope(org, fleet, start, end)
