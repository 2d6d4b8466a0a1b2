"""Syncing a feed source: fetch (or read a file or directory), keep the raw payload, parse,
store, and record the run and the source's health.

A run is `ok` when every record was stored, `partial` when some records (or, for a directory or
an index of documents, some documents) were refused and the rest stored, and `failed` when
nothing could be used: the fetch failed, or the document is not a feed of this kind. A failed
run stores nothing, so advisories already stored stay exactly as they were.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from pathlib import Path
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from evidence.feeds import model as feed
from evidence.feeds.fetch import FetchError, fetch, url_check
from evidence.feeds.store import (
    AdvisoryWriter,
    StoreCounts,
    advisories_store,
    kev_store,
    retired_advisories,
    retired_store,
    withdraw,
)
from evidence.models import FeedPayload, FeedRun, FeedSource, RunStatus
from evidence.sbom.jsondoc import gc_paused

# kind -> parser module (each has SOURCE and parse(data, *, limits, name) -> FeedParse; one
# that also has parse_stream(data, *, sink, limits, name), handing each advisory to `sink` as it
# reads it, is stored while it parses: see _process_streamed)
PARSERS = {
    "fedora-updateinfo": "evidence.feeds.updateinfo",
    "bodhi": "evidence.feeds.bodhi",
    "azurelinux-oval": "evidence.feeds.oval",
    "redhat-csaf": "evidence.feeds.csaf",
    "osv": "evidence.feeds.osv",
    "kev": "evidence.feeds.kev",
    "retired": "evidence.feeds.retired",
}

# Default sources: beat syncs the enabled ones with a URL at these intervals.
DEFAULT_SOURCES: dict[str, dict[str, Any]] = {
    "fedora-updateinfo": {"interval": timedelta(hours=6), "url": ""},
    "bodhi": {"interval": timedelta(hours=6), "url": ""},
    "azurelinux-oval": {"interval": timedelta(hours=6), "url": ""},
    "redhat-csaf": {
        "interval": timedelta(hours=6),
        "url": "https://security.access.redhat.com/data/csaf/v2/advisories/changes.csv",
    },
    "osv": {"interval": timedelta(hours=6), "url": ""},
    "kev": {
        "interval": timedelta(days=1),
        "url": "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
    },
    "retired": {"interval": timedelta(days=1), "url": ""},
}

MAX_ERRORS_KEPT = 200
MATCH_BATCH = 2000  # advisories per matching task
_COMPRESSED_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")
_FEED_SUFFIXES = (".json", ".xml", ".yaml", ".yml", ".gz", ".xz", ".zst", ".zip", ".csv")


def parser_for(kind: str) -> ModuleType:
    return importlib.import_module(PARSERS[kind])


def feed_limits() -> feed.FeedLimits:
    return feed.FeedLimits(
        max_bytes=settings.FEED_MAX_BYTES,
        max_decompressed_bytes=settings.FEED_MAX_DECOMPRESSED_BYTES,
    )


def sources_ensure() -> list[FeedSource]:
    """The default FeedSource rows (one per kind, slug = kind), created when missing; existing
    rows (admin-edited) are left as they are."""
    for kind, defaults in DEFAULT_SOURCES.items():
        FeedSource.objects.get_or_create(
            slug=kind, defaults={"kind": kind, "enabled": bool(defaults["url"]), **defaults}
        )
    return list(FeedSource.objects.all())


@dataclass
class _Document:
    name: str
    data: bytes
    fetched_at: datetime

    @cached_property
    def sha256(self) -> str:
        """Computed once: both the already-stored check and the payload need it."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class _Collected:
    documents: list[_Document] = field(default_factory=list)
    errors: list[feed.RecordError] = field(default_factory=list)
    withdrawn: list[tuple[str, datetime]] = field(default_factory=list)
    not_modified: bool = False
    etag: str = ""
    last_modified: str = ""
    cursor: dict[str, Any] = field(default_factory=dict)
    location: str = ""


class _RunFailed(Exception):
    pass


def _now() -> datetime:
    return timezone.now()


def _read_path(path: Path) -> _Collected:
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(_FEED_SUFFIXES)
        )
        if not files:
            raise _RunFailed(
                f"{path}: the directory holds no feed files ({', '.join(_FEED_SUFFIXES)})"
            )
        return _Collected(
            documents=[_Document(str(p.relative_to(path)), p.read_bytes(), _now()) for p in files],
            location=str(path),
        )
    if not path.is_file():
        raise _RunFailed(f"{path}: no such file or directory")
    return _Collected(
        documents=[_Document(path.name, path.read_bytes(), _now())], location=str(path)
    )


def _fetch_url(source: FeedSource, url: str, *, conditional: bool) -> _Collected:
    etag = source.etag if conditional else ""
    modified = source.last_modified if conditional else ""
    try:
        fetched = fetch(url, etag=etag, last_modified=modified)
    except FetchError as exc:
        raise _RunFailed(str(exc)) from None
    collected = _Collected(
        etag=fetched.etag, last_modified=fetched.last_modified, location=url, cursor=source.cursor
    )
    if fetched.body is None:
        collected.not_modified = True
        return collected
    if source.kind == "redhat-csaf" and url.lower().split("?")[0].endswith("changes.csv"):
        return _csaf_index(source, url, fetched.body, collected)
    collected.documents.append(_Document(url, fetched.body, _now()))
    if source.kind == "bodhi":
        _bodhi_pages(url, fetched.body, collected)
    return collected


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _bodhi_pages(url: str, first: bytes, collected: _Collected) -> None:
    """Follow a Bodhi updates list's further pages (`page=N`), up to FEED_MAX_DOCUMENTS."""
    bodhi = parser_for("bodhi")
    try:
        _page, pages = bodhi.pages(first, limits=feed_limits(), name=url)
    except feed.FeedError:
        return  # the parse step reports what is wrong with the first page
    for number in range(2, min(pages, settings.FEED_MAX_DOCUMENTS) + 1):
        page_url = _with_query(url, page=str(number))
        try:
            fetched = fetch(page_url)
        except FetchError as exc:
            collected.errors.append(feed.RecordError(f"page {number}", str(exc)))
            continue
        if fetched.body is not None:
            collected.documents.append(_Document(page_url, fetched.body, _now()))


def _csaf_index(source: FeedSource, url: str, index: bytes, collected: _Collected) -> _Collected:
    """Fetch the documents a CSAF provider's changes.csv lists as changed since the cursor."""
    csaf = parser_for("redhat-csaf")
    try:
        entries: list[tuple[str, datetime]] = csaf.parse_changes_csv(index)
    except feed.FeedError as exc:
        raise _RunFailed(f"{url}: {exc}") from None
    since_text = (source.cursor or {}).get("changes_after", "")
    since = datetime.fromisoformat(since_text) if since_text else None
    todo = sorted(
        ((path, when) for path, when in entries if since is None or when > since),
        key=lambda item: item[1],
    )[: settings.FEED_MAX_DOCUMENTS]
    newest = since
    for path, when in todo:
        document_url = urllib.parse.urljoin(url, path)
        try:
            url_check(document_url)
            fetched = fetch(document_url)
        except FetchError as exc:
            collected.errors.append(feed.RecordError(path, str(exc)))
            continue
        if fetched.body is not None:
            collected.documents.append(_Document(path, fetched.body, _now()))
        if newest is None or when > newest:
            newest = when
    deletions_url = urllib.parse.urljoin(url, "deletions.csv")
    try:
        deletions = fetch(deletions_url)
        if deletions.body:
            for path, when in csaf.parse_deletions_csv(deletions.body):
                if since is None or when > since:
                    collected.withdrawn.append((_csaf_id(path), when))
    except (FetchError, feed.FeedError):
        pass  # the deletions index is optional
    cursor = dict(source.cursor or {})
    if newest is not None:
        cursor["changes_after"] = newest.isoformat()
    collected.cursor = cursor
    return collected


def _csaf_id(path: str) -> str:
    """'2024/rhsa-2024_6163.json' -> 'RHSA-2024:6163' (Red Hat's file naming)."""
    stem = Path(path).name.removesuffix(".json")
    return stem.upper().replace("_", ":")


def _payload(document: _Document) -> FeedPayload:
    return _payload_kept(document)[0]


def _payload_kept(document: _Document) -> tuple[FeedPayload, bool]:
    """The document's FeedPayload, and whether it was created (its file written) now."""
    sha256 = document.sha256
    existing = FeedPayload.objects.filter(sha256=sha256).first()
    if existing is not None:
        return existing, False
    compressed = document.data.startswith(_COMPRESSED_MAGIC)
    payload = FeedPayload(
        gzipped=not compressed,
        sha256=sha256,
        size=len(document.data),
        name=document.name[:1000],
        fetched_at=document.fetched_at,
    )
    content = document.data if compressed else gzip.compress(document.data, 6)
    payload.raw.save(sha256, ContentFile(content), save=False)
    payload.save()
    return payload, True


@dataclass
class _Outcome:
    counts: StoreCounts = field(default_factory=StoreCounts)
    errors: list[dict[str, str]] = field(default_factory=list)
    records_failed: int = 0
    payload: FeedPayload | None = None


def _store_document(
    source: FeedSource, parsed: feed.FeedParse, payload: FeedPayload
) -> StoreCounts:
    counts = StoreCounts()
    if parsed.advisories:
        counts.add(advisories_store(source.kind, parsed.advisories, payload=payload))
    if parsed.kev:
        counts.add(kev_store(parsed.kev))
    if parsed.retired:
        counts.add(retired_store(parsed.retired))
        found = advisories_store("retired", retired_advisories(parsed.retired), payload=payload)
        counts.changed_advisories |= found.changed_advisories
    return counts


def _error(location: str, message: str) -> dict[str, str]:
    return {"location": location[:500], "message": message[:2000]}


def _already_stored(source: FeedSource, collected: _Collected, outcome: _Outcome) -> bool:
    """True (and `outcome` filled in) when this exact payload was already stored in full by an
    `ok` run of this source: every record in it is unchanged, so it is not parsed again.
    (Records since replaced by newer ones stay newer: an older record never overwrites.)"""
    sha256 = collected.documents[0].sha256
    earlier = (
        FeedRun.objects.filter(source=source, sha256=sha256, status=RunStatus.OK)
        .select_related("payload")
        .first()
    )
    if earlier is None or earlier.payload is None:
        return False
    outcome.payload = earlier.payload
    outcome.counts.unchanged = (
        earlier.advisories_created + earlier.advisories_updated + earlier.advisories_unchanged
    )
    return True


def _process(source: FeedSource, collected: _Collected) -> _Outcome:
    """Parse every document, then store everything in one transaction. A single document that
    cannot be used fails the run; one of several is a per-document error."""
    parser = parser_for(source.kind)
    limits = feed_limits()
    outcome = _Outcome()
    for error in collected.errors:
        outcome.errors.append(_error(error.location, error.message))
        outcome.records_failed += 1
    parsed_documents: list[tuple[_Document, feed.FeedParse]] = []
    single = len(collected.documents) == 1 and not collected.errors
    if single and not collected.withdrawn and _already_stored(source, collected, outcome):
        return outcome
    if hasattr(parser, "parse_stream"):
        _process_streamed(source, collected, parser, outcome)
        return outcome
    for document in collected.documents:
        try:
            parsed = parser.parse(document.data, limits=limits, name=document.name)
        except feed.FeedError as exc:
            if single:
                # The run's location already names the document.
                raise _RunFailed(str(exc).removeprefix(f"{document.name}: ")) from None
            outcome.errors.append(
                _error(document.name, str(exc).removeprefix(f"{document.name}: "))
            )
            outcome.records_failed += 1
            continue
        parsed_documents.append((document, parsed))
        for error in parsed.errors:
            outcome.errors.append(_error(f"{document.name}: {error.location}", error.message))
        outcome.records_failed += len(parsed.errors)
    if collected.documents and not parsed_documents:
        raise _RunFailed(f"none of the {len(collected.documents)} documents could be read")
    with transaction.atomic():
        FeedSource.objects.select_for_update().filter(pk=source.pk).first()  # one run at a time
        for document, parsed in parsed_documents:
            payload = _payload(document)
            outcome.payload = payload
            outcome.counts.add(_store_document(source, parsed, payload))
        if collected.withdrawn:
            withdraw(source.kind, collected.withdrawn)
        _match_later(outcome.counts)
    return outcome


def _process_streamed(
    source: FeedSource, collected: _Collected, parser: ModuleType, outcome: _Outcome
) -> None:
    """`_process` for a parser that hands over each advisory as soon as it is read
    (`parse_stream`): each document is stored while it is parsed (see AdvisoryWriter), in the
    run's transaction and a savepoint of its own, so that a document that turns out to be
    unusable part way leaves nothing: the run fails (a single document) or the document is a
    per-document error, exactly as if it had been parsed before anything was stored."""
    limits = feed_limits()
    single = len(collected.documents) == 1 and not collected.errors
    stored = 0
    with transaction.atomic(), gc_paused():  # gc: as in the parsers, many objects, no cycles
        FeedSource.objects.select_for_update().filter(pk=source.pk).first()  # one run at a time
        for document in collected.documents:
            try:
                payload, parsed, counts = _stream_document(source, parser, document, limits)
            except feed.FeedError as exc:
                message = str(exc).removeprefix(f"{document.name}: ")
                if single:
                    raise _RunFailed(message) from None  # the run's location names the document
                outcome.errors.append(_error(document.name, message))
                outcome.records_failed += 1
                continue
            stored += 1
            outcome.payload = payload
            outcome.counts.add(counts)
            for error in parsed.errors:
                outcome.errors.append(_error(f"{document.name}: {error.location}", error.message))
            outcome.records_failed += len(parsed.errors)
        if collected.documents and not stored:
            raise _RunFailed(f"none of the {len(collected.documents)} documents could be read")
        if collected.withdrawn:
            withdraw(source.kind, collected.withdrawn)
        _match_later(outcome.counts)


def _stream_document(
    source: FeedSource, parser: ModuleType, document: _Document, limits: feed.FeedLimits
) -> tuple[FeedPayload, feed.FeedParse, StoreCounts]:
    """Parses and stores one document in a savepoint: all of it, or (FeedError) nothing."""
    with transaction.atomic():
        payload, created = _payload_kept(document)
        try:
            with AdvisoryWriter(source.kind, payload=payload) as writer:
                parsed = parser.parse_stream(
                    document.data, sink=writer.add, limits=limits, name=document.name
                )
        except BaseException:
            if created:
                payload.raw.delete(save=False)  # its row goes with the savepoint
            raise
        counts = writer.counts
        counts.add(_store_document(source, parsed, payload))  # anything but advisories
    return payload, parsed, counts


def _match_later(counts: StoreCounts) -> None:
    """Once the run commits, match what changed against every ledger (a Celery task)."""
    from evidence.matching import kev_changed_advisories
    from evidence.tasks import exposures_for_advisories_task

    ids = set(counts.changed_advisories)
    if counts.changed_cves:
        ids |= kev_changed_advisories(counts.changed_cves)
    ordered = sorted(ids)
    for start in range(0, len(ordered), MATCH_BATCH):  # bounded tasks and query parameters
        batch = ordered[start : start + MATCH_BATCH]
        transaction.on_commit(partial(exposures_for_advisories_task.delay, batch))


def feed_sync(
    source: FeedSource, *, path: Path | None = None, url: str = "", trigger: str = "manual"
) -> FeedRun:
    """Run one sync of `source` from a file or directory (`path`), a URL given now, or the
    source's configured URL (conditionally, with the stored ETag / Last-Modified). Returns the
    finished FeedRun; the source's health fields are updated."""
    run = FeedRun.objects.create(
        source=source, trigger=trigger, location=str(path) if path else (url or source.url)
    )
    try:
        if path is not None:
            collected = _read_path(path)
        elif url or source.url:
            collected = _fetch_url(source, url or source.url, conditional=not url)
        else:
            raise _RunFailed(f"{source.slug}: no URL is configured; give a file or a URL")
        run.location = collected.location or run.location
        if collected.not_modified:
            run.not_modified = True
            outcome = _Outcome()
        else:
            outcome = _process(source, collected)
    except _RunFailed as exc:
        return _finish_failed(source, run, str(exc))
    except Exception as exc:  # a bug must still end the run as failed, visibly
        _finish_failed(source, run, f"internal error: {exc.__class__.__name__}: {exc}")
        raise
    run.documents = len(collected.documents)
    run.advisories_created = outcome.counts.created
    run.advisories_updated = outcome.counts.updated
    run.advisories_unchanged = outcome.counts.unchanged
    run.affected_packages = outcome.counts.affected_packages
    run.records_failed = outcome.records_failed
    run.errors = outcome.errors[:MAX_ERRORS_KEPT]
    run.payload = outcome.payload
    if outcome.payload is not None:
        run.sha256 = outcome.payload.sha256
        run.fetched_at = outcome.payload.fetched_at
    elif collected.not_modified:
        run.fetched_at = _now()
    run.status = RunStatus.PARTIAL if outcome.records_failed else RunStatus.OK
    run.finished_at = _now()
    run.save()
    source.last_attempt_at = run.started_at
    source.last_success_at = run.finished_at
    source.consecutive_failures = 0
    source.last_error = ""
    if not url and path is None:
        source.etag = collected.etag[:255]
        source.last_modified = collected.last_modified[:64]
        source.cursor = collected.cursor
    source.save()
    return run


def _finish_failed(source: FeedSource, run: FeedRun, message: str) -> FeedRun:
    run.status = RunStatus.FAILED
    run.finished_at = _now()
    run.errors = [_error(run.location, message)]
    run.save()
    FeedSource.objects.filter(pk=source.pk).update(
        last_attempt_at=run.started_at,
        consecutive_failures=source.consecutive_failures + 1,
        last_error=message[:2000],
    )
    source.refresh_from_db()
    return run


def run_summary(run: FeedRun) -> dict[str, Any]:
    """The run as the `sync_feed --json` object."""
    return {
        "source": run.source.slug,
        "status": run.status,
        "advisories_created": run.advisories_created,
        "advisories_updated": run.advisories_updated,
        "advisories_unchanged": run.advisories_unchanged,
        "affected_packages": run.affected_packages,
        "records_failed": run.records_failed,
        "errors": [f"{e['location']}: {e['message']}" for e in run.errors],
        "sha256": run.sha256 or None,
        "fetched_at": run.fetched_at.astimezone(UTC).isoformat() if run.fetched_at else None,
        "not_modified": run.not_modified,
        "documents": run.documents,
    }
