from django.contrib import admin

from evidence.models import AuditPacket, Fleet, Host, SbomDocument


@admin.register(Fleet)
class FleetAdmin(admin.ModelAdmin[Fleet]):
    list_display = ["name", "slug", "organization", "distribution", "environment"]
    list_filter = ["organization", "distribution"]


@admin.register(Host)
class HostAdmin(admin.ModelAdmin[Host]):
    list_display = ["hostname", "fleet", "first_seen_at", "last_seen_at"]
    search_fields = ["hostname"]


@admin.register(SbomDocument)
class SbomDocumentAdmin(admin.ModelAdmin[SbomDocument]):
    list_display = ["pk", "organization", "host", "status", "component_count", "received_at"]
    list_filter = ["status", "organization"]
    readonly_fields = ["sha256", "size", "raw"]


@admin.register(AuditPacket)
class AuditPacketAdmin(admin.ModelAdmin[AuditPacket]):
    list_display = ["pk", "organization", "period_start", "period_end", "status"]
    list_filter = ["status"]
