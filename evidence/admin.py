from functools import partial
from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from evidence.models import (
    Advisory,
    AffectedPackage,
    AuditPacket,
    FeedRun,
    FeedSource,
    Fleet,
    Host,
    KevEntry,
    Notification,
    NotificationPreference,
    RetiredPackage,
    SbomDocument,
    WebhookEndpoint,
)
from portal.accounts.audit import audit_record


@admin.register(Fleet)
class FleetAdmin(admin.ModelAdmin[Fleet]):
    list_display = ["name", "slug", "organization", "distribution", "environment"]
    list_filter = ["organization", "distribution"]


@admin.register(Host)
class HostAdmin(admin.ModelAdmin[Host]):
    list_display = ["hostname", "fleet", "first_seen_at", "last_seen_at"]
    search_fields = ["hostname"]


class _RetainedEvidenceAdmin(admin.ModelAdmin):  # type: ignore[type-arg,unused-ignore]
    """Raw evidence is kept (EVIDENCE_RETENTION_DAYS, five years by default) and never edited.
    The one way to remove a document is a superuser deleting it on its own page: no bulk
    action, and each deletion goes into the audit log with who did it and what it was (the
    stored file goes with the row)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        files = [f for f in (getattr(obj, n, None) for n in ("raw", "pdf", "manifest_file")) if f]
        with transaction.atomic():
            audit_record(
                action="evidence.deleted",
                actor=request.user,
                organization=obj.organization,
                target=obj,
                data={
                    "model": obj._meta.label_lower,
                    "sha256": getattr(obj, "sha256", ""),
                    "files": [f.name for f in files],
                },
            )
            super().delete_model(request, obj)
            for field_file in files:
                transaction.on_commit(partial(field_file.storage.delete, field_file.name))


@admin.register(SbomDocument)
class SbomDocumentAdmin(_RetainedEvidenceAdmin):
    list_display = ["pk", "organization", "host", "status", "component_count", "received_at"]
    list_filter = ["status", "organization"]
    readonly_fields = ["sha256", "size", "raw"]


@admin.register(AuditPacket)
class AuditPacketAdmin(_RetainedEvidenceAdmin):
    list_display = ["pk", "organization", "period_start", "period_end", "status"]
    list_filter = ["status"]


@admin.register(FeedSource)
class FeedSourceAdmin(admin.ModelAdmin[FeedSource]):
    """Admins choose which feeds run, from where and how often; the rest is health."""

    list_display = [
        "slug", "kind", "enabled", "url", "interval", "last_success_at", "consecutive_failures",
    ]  # fmt: skip
    list_filter = ["kind", "enabled"]
    fields = [
        "slug", "kind", "enabled", "url", "interval", "etag", "last_modified", "cursor",
        "last_attempt_at", "last_success_at", "consecutive_failures", "last_error",
    ]  # fmt: skip
    readonly_fields = [
        "etag", "last_modified", "cursor", "last_attempt_at", "last_success_at",
        "consecutive_failures", "last_error",
    ]  # fmt: skip


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg,unused-ignore]
    """Evidence is not edited by hand: feeds write it, admins read it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(FeedRun)
class FeedRunAdmin(_ReadOnlyAdmin):
    list_display = [
        "source", "started_at", "status", "advisories_created", "advisories_updated",
        "records_failed",
    ]  # fmt: skip
    list_filter = ["status", "source"]


class AffectedInline(admin.TabularInline):  # type: ignore[type-arg,unused-ignore]
    model = AffectedPackage
    extra = 0
    can_delete = False
    fields = [
        "package_type",
        "distro",
        "name",
        "vers",
        "fixed_version",
        "fix_available_at",
        "status",
    ]
    readonly_fields = (
        "package_type", "distro", "name", "vers", "fixed_version", "fix_available_at", "status",
    )  # fmt: skip


@admin.register(Advisory)
class AdvisoryAdmin(_ReadOnlyAdmin):
    list_display = [
        "external_id",
        "source",
        "severity",
        "published_at",
        "modified_at",
        "withdrawn_at",
    ]
    list_filter = ["source", "severity"]
    search_fields = ["external_id", "aliases__alias", "title"]
    inlines = [AffectedInline]


@admin.register(KevEntry)
class KevEntryAdmin(_ReadOnlyAdmin):
    list_display = ["cve_id", "vendor", "product", "date_added", "due_date", "ransomware"]
    search_fields = ["cve_id", "vendor", "product"]


@admin.register(RetiredPackage)
class RetiredPackageAdmin(_ReadOnlyAdmin):
    list_display = ["name", "distro", "package_type", "retired_at"]
    search_fields = ["name"]


@admin.register(Notification)
class NotificationAdmin(_ReadOnlyAdmin):
    """What was notified, to whom, and how the webhook delivery went."""

    list_display = [
        "created_at", "organization", "kind", "subject", "emailed_at", "webhook_status",
        "webhook_attempts",
    ]  # fmt: skip
    list_filter = ["kind", "webhook_status", "organization"]
    search_fields = ["key", "subject"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin[NotificationPreference]):
    list_display = ["user", "organization", "kind", "email"]
    list_filter = ["kind", "email", "organization"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    """Admins may disable or remove an endpoint; creating one (and its secret, shown once) is
    `webhook_endpoint_create`, which checks the URL."""

    list_display = ["organization", "url", "enabled", "created_at"]
    fields = ["organization", "url", "enabled", "created_at"]
    readonly_fields = ["organization", "url", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
