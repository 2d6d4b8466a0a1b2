from django.contrib import admin

from portal.earlyaccess.models import Registration


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin[Registration]):
    list_display = [
        "organization_name",
        "contact_name",
        "work_email",
        "fleet_size",
        "current_distribution",
        "created_at",
    ]
    list_filter = ["fleet_size", "current_distribution"]
    search_fields = ["organization_name", "contact_name", "work_email"]
    readonly_fields = ["consent_notice_version", "consented_at", "created_at", "updated_at"]
