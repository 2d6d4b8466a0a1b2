"""Ingest one SBOM file inline (no broker needed) and report the outcome.

Exit status: 0 ingested or duplicate, 3 rejected, 1 for usage errors (unknown organisation...).
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.ingest import UploadRefused, host_resolve, sbom_ingest, sbom_receive
from evidence.models import Fleet, SbomStatus
from portal.accounts.models import Organization

REJECTED_EXIT = 3


class Command(BaseCommand):
    help = "Ingest an SBOM file for an organisation (and optionally a fleet and host)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--fleet", help="fleet slug")
        parser.add_argument("--host", help="hostname (needs --fleet); created on first sight")
        parser.add_argument(
            "--format",
            default="",
            help="a hint when the content is ambiguous (e.g. cyclonedx, spdx); detection "
            "from the content wins",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"no organisation with slug {options['org']!r}")
        fleet = None
        if options["fleet"]:
            fleet = Fleet.objects.filter(organization=org, slug=options["fleet"]).first()
            if fleet is None:
                raise CommandError(f"organisation {org.slug!r} has no fleet {options['fleet']!r}")
        host = None
        if options["host"]:
            if fleet is None:
                raise CommandError("--host needs --fleet")
            host = host_resolve(fleet=fleet, hostname=options["host"])
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        data = path.read_bytes() if size <= settings.SBOM_MAX_BYTES else None
        try:
            doc = sbom_receive(
                organization=org,
                data=data,
                size=size,
                filename=path.name,
                content_type=options["format"],
                fleet=fleet,
                host=host,
                dispatch=False,
            )
        except UploadRefused as refused:
            doc = refused.document
        if doc.status == SbomStatus.QUEUED:
            doc = sbom_ingest(document_id=doc.pk)
        payload = {
            "id": doc.pk,
            "status": doc.status,
            "format": doc.format or None,
            "spec_version": doc.spec_version or None,
            "encoding": doc.encoding or None,
            "components": doc.component_count,
            "warnings": doc.warnings,
            "sha256": doc.sha256 or None,
            "error": doc.error if doc.status == SbomStatus.REJECTED else None,
        }
        if options["json"]:
            self.stdout.write(json.dumps(payload))
        else:
            line = f"SBOM {doc.pk}: {doc.status}"
            if doc.status != SbomStatus.REJECTED:
                line += f", {doc.component_count} components"
                line += f", {len(doc.warnings)} warnings" if doc.warnings else ""
            self.stdout.write(line)
            for warning in doc.warnings[:20]:
                self.stdout.write(f"  warning: {warning}")
        if doc.status == SbomStatus.REJECTED:
            raise CommandError(f"{path}: rejected: {doc.error}", returncode=REJECTED_EXIT)
