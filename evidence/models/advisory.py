"""Upstream advisories and the feeds they come from.

Advisories are global (not per organisation): every tenant's hosts are matched against the same
upstream facts. They are keyed by (source, external_id); a newer `modified_at` replaces an older
record, an older one never overwrites a newer, and a withdrawn advisory is marked, never deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

SOURCE_KINDS = (
    ("fedora-updateinfo", "Fedora / Azure Linux updateinfo.xml"),
    ("bodhi", "Fedora Bodhi updates"),
    ("azurelinux-oval", "Azure Linux / CBL-Mariner OVAL"),
    ("redhat-csaf", "Red Hat CSAF advisories and VEX"),
    ("osv", "OSV records"),
    ("kev", "CISA Known Exploited Vulnerabilities"),
    ("retired", "Retired packages"),
)


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


class FeedSource(models.Model):
    """One configured feed: which parser reads it, where it comes from, how often, and how it
    is doing. Admin-editable; the Celery beat schedule follows `enabled` and `interval`."""

    slug = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, choices=SOURCE_KINDS)
    enabled = models.BooleanField(default=True)
    url = models.URLField(
        max_length=1000,
        blank=True,
        help_text="http(s) URL of the feed (for redhat-csaf: the provider's changes.csv).",
    )
    interval = models.DurationField(
        default=timedelta(hours=6), help_text="How often beat syncs it; stale after twice this."
    )
    # HTTP validators and incremental cursors of the last successful run.
    etag = models.CharField(max_length=255, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    # Health.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def stale_after(self) -> timedelta:
        return 2 * self.interval

    def age(self, now: datetime | None = None) -> timedelta | None:
        if self.last_success_at is None:
            return None
        return (now or timezone.now()) - self.last_success_at

    def is_stale(self, now: datetime | None = None) -> bool:
        """True when the feed never synced or its last success is older than `stale_after`."""
        age = self.age(now)
        return age is None or age > self.stale_after


def _payload_path(instance: FeedPayload, filename: str) -> str:
    suffix = ".gz" if instance.gzipped else ""
    return f"feeds/{instance.sha256[:2]}/{instance.sha256}{suffix}"


class FeedPayload(models.Model):
    """A fetched feed document, kept as the evidence advisories came from: gzip-compressed,
    unless it came compressed already (zip, gzip, xz, zstd), then as it came."""

    sha256 = models.CharField(max_length=64, unique=True)
    gzipped = models.BooleanField(default=True, help_text="Stored gzip-compressed by us.")
    size = models.PositiveBigIntegerField()
    name = models.CharField(max_length=1000, blank=True, help_text="File name or URL.")
    raw = models.FileField(upload_to=_payload_path, max_length=255)
    fetched_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name or self.sha256[:12]} ({self.size:,} bytes)"


class FeedRun(models.Model):
    """One sync of one source: what was fetched, what changed, what went wrong."""

    source = models.ForeignKey(FeedSource, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    trigger = models.CharField(max_length=16, default="manual")  # beat, manual, cli
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=1000, blank=True, help_text="File or URL read.")
    payload = models.ForeignKey(
        FeedPayload, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    sha256 = models.CharField(max_length=64, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    not_modified = models.BooleanField(default=False, help_text="The server answered 304.")
    documents = models.PositiveIntegerField(default=0)
    advisories_created = models.PositiveIntegerField(default=0)
    advisories_updated = models.PositiveIntegerField(default=0)
    advisories_unchanged = models.PositiveIntegerField(default=0)
    affected_packages = models.PositiveIntegerField(default=0)
    records_failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["source", "-started_at"], name="feedrun_source_started")]

    def __str__(self) -> str:
        return f"{self.source_id} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class Advisory(models.Model):
    """One upstream advisory (an RHSA, a Fedora update, an OSV record, an OVAL definition)."""

    source = models.CharField(max_length=32, choices=SOURCE_KINDS)
    external_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, default="security")
    title = models.TextField(blank=True)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=16, blank=True)
    cvss_vector = models.CharField(max_length=255, blank=True)
    cvss_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    modified_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    references = models.JSONField(default=list, blank=True)
    milestones = models.JSONField(default=dict, blank=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the normalised record.")
    payload = models.ForeignKey(
        FeedPayload, on_delete=models.SET_NULL, null=True, blank=True, related_name="advisories"
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["source", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="advisory_natural_key")
        ]
        indexes = [models.Index(fields=["published_at"], name="advisory_published")]
        verbose_name_plural = "advisories"

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class AdvisoryAlias(models.Model):
    """Another id of the issue an advisory is about (CVE ids first of all).

    Indexed as it is queried, and no more (every index slows down storing a feed): the unique
    (advisory, alias) index serves the lookups by advisory (with or without an alias prefix),
    `advisory_alias` the lookups by alias (`alias=`, `alias__in`). No pattern index: nothing
    looks aliases up by prefix alone (the admin search is a substring search)."""

    # The reference to the advisory is checked by triggers a statement at a time, not by a
    # foreign key constraint a row at a time (migration 0020_advisory_children_triggers).
    advisory = models.ForeignKey(
        Advisory,
        on_delete=models.CASCADE,
        related_name="aliases",
        db_index=False,
        db_constraint=False,
    )
    alias = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["advisory", "alias"], name="advisory_alias_once")
        ]
        indexes = [models.Index(fields=["alias"], name="advisory_alias")]

    def __str__(self) -> str:
        return self.alias


class AffectedPackage(models.Model):
    """A package (per distribution release) an advisory affects, with its affected range
    (`vers`), first fixed version and when that fix became available."""

    # Checked by triggers, as AdvisoryAlias.advisory is.
    advisory = models.ForeignKey(
        Advisory, on_delete=models.CASCADE, related_name="affected", db_constraint=False
    )
    package_type = models.CharField(max_length=32)
    namespace = models.CharField(max_length=255, blank=True)
    distro = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255)
    vers = models.TextField(blank=True)
    fixed_version = models.CharField(max_length=255, blank=True)
    fix_available_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=24, default="affected")
    product = models.TextField(blank=True)
    arch = models.CharField(max_length=32, blank=True)
    module = models.CharField(max_length=255, blank=True)
    justification = models.CharField(max_length=255, blank=True)

    class Meta:
        # Indexed as it is queried, and no more (every index slows down storing a feed):
        # matching and VEX look rows up by name (`name__in`), the advisory pages by advisory.
        # A (package_type, distro, name) index served no query and cost a sixth of the
        # database's time storing an OSV archive (issue 4); it was dropped in 0019.
        indexes = [models.Index(fields=["name"], name="affected_name")]

    def __str__(self) -> str:
        return f"{self.package_type}/{self.distro}/{self.name} {self.vers}"


class KevEntry(models.Model):
    """A CVE in CISA's Known Exploited Vulnerabilities catalog (joined to advisories by CVE)."""

    cve_id = models.CharField(max_length=32, unique=True)
    vendor = models.CharField(max_length=255, blank=True)
    product = models.CharField(max_length=255, blank=True)
    name = models.TextField(blank=True)
    description = models.TextField(blank=True)
    date_added = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    ransomware = models.CharField(max_length=32, blank=True)
    required_action = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    digest = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date_added", "cve_id"]
        verbose_name = "KEV entry"
        verbose_name_plural = "KEV entries"

    def __str__(self) -> str:
        return self.cve_id


class RetiredPackage(models.Model):
    """A package its distribution stopped maintaining: hosts should not keep it installed."""

    package_type = models.CharField(max_length=32, default="rpm")
    distro = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    retired_at = models.DateField()
    reason = models.TextField()
    reference_url = models.URLField(max_length=1000)
    kind = models.CharField(
        max_length=16,
        default="retired",
        choices=[("retired", "retired package"), ("end-of-life", "end-of-life release")],
        help_text="retired: the distribution dropped the package; end-of-life: the package "
        "marks a release that is no longer supported",
    )
    digest = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["distro", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["package_type", "distro", "name"], name="retired_package_once"
            )
        ]

    def __str__(self) -> str:
        if self.kind == "end-of-life":
            return f"{self.distro} end of life {self.retired_at} ({self.name})"
        return f"{self.distro}/{self.name} retired {self.retired_at}"
