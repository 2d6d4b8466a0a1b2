"""Sync one advisory feed source now, from a file, a directory, a URL or its configured URL.

Exit status: 0 for ok or partial, 2 for failed, 1 for usage errors (unknown source...).
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.feeds.sync import PARSERS, feed_sync, run_summary, sources_ensure
from evidence.models import FeedSource, RunStatus

FAILED_EXIT = 2


class Command(BaseCommand):
    help = (
        "Sync an advisory feed: SOURCE is a feed source slug (the defaults are named after "
        f"their kind: {', '.join(PARSERS)})."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="feed source slug, e.g. osv or kev")
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--file", type=Path, help="a feed file or a directory of them")
        where.add_argument("--url", help="an http(s) URL to fetch instead of the configured one")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        sources_ensure()
        source = FeedSource.objects.filter(slug=options["source"]).first()
        if source is None:
            known = ", ".join(FeedSource.objects.values_list("slug", flat=True))
            raise CommandError(f"no feed source {options['source']!r} (known: {known})")
        run = feed_sync(source, path=options["file"], url=options["url"] or "", trigger="cli")
        summary = run_summary(run)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"{source.slug}: {run.status} — {run.advisories_created} created, "
                f"{run.advisories_updated} updated, {run.advisories_unchanged} unchanged, "
                f"{run.affected_packages} affected packages, {run.records_failed} failed"
                + (" (not modified since the last run)" if run.not_modified else "")
            )
            for error in summary["errors"][:20]:
                self.stderr.write(f"  {error}")
        if run.status == RunStatus.FAILED:
            raise SystemExit(FAILED_EXIT)
