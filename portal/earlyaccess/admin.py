"""Staff side of early access: triage registrations, maintain bundles, see retention runs.

Registrations are changed through actions only (each one a service call that is audited and
emails the registrant); the registrant's own details are read-only here. Unconfirmed
registrations are not leads: the list hides them unless asked, masks their details, and no
action or export touches them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from portal.earlyaccess.azure import AZURE_REGIONS
from portal.earlyaccess.countries import COUNTRIES
from portal.earlyaccess.models import (
    Bundle,
    BundleLink,
    ErasureReason,
    Registration,
    RetentionRun,
    Status,
    Workload,
)
from portal.earlyaccess.selectors import registration_history
from portal.earlyaccess.services import registration_erase
from portal.earlyaccess.triage import (
    leads_export,
    registration_approve_and_invite,
    registration_bundle_assign,
    registration_decide,
)

MASK = "— (unconfirmed)"


class ConfirmedFilter(admin.SimpleListFilter):
    """Confirmed leads by default; unconfirmed ones only when asked for."""

    title = "confirmed"
    parameter_name = "confirmed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("yes", "Confirmed (leads)"),
            ("no", "Awaiting confirmation"),
            ("all", "All"),
        ]

    def value(self) -> str:
        return str(super().value() or "yes")

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(confirmed_at__isnull=True, status=Status.UNCONFIRMED)
        if self.value() == "all":
            return queryset
        return queryset.filter(confirmed_at__isnull=False)


class CountryFilter(admin.SimpleListFilter):
    """Only the countries registrations come from, by name (not all 249 of ISO 3166)."""

    title = "country"
    parameter_name = "country"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = dict(COUNTRIES)
        used = Registration.objects.exclude(country="").values_list("country", flat=True)
        return sorted(((c, names.get(c, c)) for c in set(used)), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(country=self.value()) if self.value() else queryset


def _decision(status: str, verb: str) -> Callable[..., None]:
    def action(model_admin: RegistrationAdmin, request: HttpRequest, queryset: Any) -> None:
        done = [
            registration_decide(registration_id=pk, status=status, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        ]
        model_admin.report(request, verb, done)

    action.__name__ = f"mark_{status}"
    return admin.action(
        description=f"{verb.capitalize()} (emails the registrant)", permissions=["change"]
    )(action)


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin[Registration]):
    list_display = [
        "id",
        "organisation",
        "contact",
        "email",
        "country",
        "fleet_size",
        "current_distribution",
        "status",
        "confirmed",
        "bundle",
        "created_at",
    ]
    list_display_links = ["id", "organisation"]
    list_filter = [
        "status",
        ConfirmedFilter,
        "current_distribution",
        "fleet_size",
        "wants_migration_tooling",
        CountryFilter,
        "bundle",
    ]
    search_fields = ["organization_name", "contact_name", "work_email", "=id"]
    search_help_text = "Organisation, contact name, email, or a registration number."
    list_select_related = ["bundle"]
    list_per_page = 50
    list_max_show_all = 1000
    ordering = ["-created_at"]
    actions = [
        _decision(Status.APPROVED, "approve"),
        "approve_and_invite",
        _decision(Status.WAITLISTED, "waitlist"),
        _decision(Status.REJECTED, "reject"),
        _decision(Status.ONBOARDED, "mark onboarded"),
        "assign_matching_bundle",
        "export_selected_csv",
        "erase_personal_data",
    ]
    readonly_fields = [
        "status",
        "organization_name",
        "contact_name",
        "work_email",
        "country",
        "fleet_size",
        "current_distribution",
        "regions",
        "workload_list",
        "workloads_other",
        "wants_migration_tooling",
        "consent_notice_version",
        "consented_at",
        "confirmed_at",
        "pending",
        "status_changed_at",
        "status_changed_by",
        "organization",
        "portal_user",
        "created_at",
        "updated_at",
        "erased_at",
        "erasure_reason",
        "history",
    ]
    _registrant = (
        "organization_name",
        "contact_name",
        "work_email",
        "country",
        "fleet_size",
        "current_distribution",
        "regions",
        "workload_list",
        "workloads_other",
        "wants_migration_tooling",
    )
    _state = (
        "status",
        "confirmed_at",
        "status_changed_at",
        "status_changed_by",
        "bundle",
        "organization",
        "portal_user",
    )
    _record = (
        "consent_notice_version",
        "consented_at",
        "pending",
        "created_at",
        "updated_at",
        "erased_at",
        "erasure_reason",
    )

    # -- permissions: registrations come from the public form and leave by erasure only

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # -- the change page

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not obj.is_confirmed:
            # Not a lead: its details stay out of sight until the address confirms them.
            return [("Awaiting confirmation", {"fields": ["status", "created_at", "updated_at"]})]
        return [
            ("Registrant", {"fields": self._registrant}),
            ("Triage", {"fields": self._state}),
            ("Consent and record", {"fields": self._record}),
            ("History", {"fields": ["history"]}),
        ]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "bundle" in form.base_fields:
            field = form.base_fields["bundle"]
            field.queryset = Bundle.objects.filter(is_active=True)  # type: ignore[attr-defined]
            field.required = True
            field.help_text = "Registrants already approved are emailed the bundle's links."
        return form

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and (not obj.is_confirmed or obj.status == Status.DELETED):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Registration, form: Any, change: bool) -> None:
        # Only the bundle is editable here; assigning it is audited and may email.
        if "bundle" in form.changed_data and obj.bundle is not None:
            registration_bundle_assign(
                registration_id=obj.pk, actor=request.user, bundle=obj.bundle
            )

    # -- columns

    @admin.display(description="organisation", ordering="organization_name")
    def organisation(self, obj: Registration) -> str:
        return obj.organization_name if obj.is_confirmed else MASK

    @admin.display(description="contact", ordering="contact_name")
    def contact(self, obj: Registration) -> str:
        return obj.contact_name if obj.is_confirmed else MASK

    @admin.display(description="email", ordering="work_email")
    def email(self, obj: Registration) -> str:
        return (obj.work_email or "") if obj.is_confirmed else MASK

    @admin.display(description="confirmed", boolean=True, ordering="confirmed_at")
    def confirmed(self, obj: Registration) -> bool:
        return obj.is_confirmed

    @admin.display(description="Azure regions")
    def regions(self, obj: Registration) -> str:
        labels = dict(AZURE_REGIONS)
        return ", ".join(labels.get(code, code) for code in obj.azure_regions) or "—"

    @admin.display(description="workloads")
    def workload_list(self, obj: Registration) -> str:
        labels = dict(Workload.choices)
        return ", ".join(labels.get(code, code) for code in obj.workloads) or "—"

    @admin.display(description="details awaiting the registrant's confirmation")
    def pending(self, obj: Registration) -> str:
        if not obj.pending_changes:
            return "—"
        return ", ".join(f"{k}: {v}" for k, v in obj.pending_changes.items())

    @admin.display(description="history (audit log)")
    def history(self, obj: Registration) -> str:
        events = registration_history(obj)
        if not events:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} · {} · {}</li>",
                (
                    (
                        timezone.localtime(e.occurred_at).strftime("%Y-%m-%d %H:%M"),
                        e.action.removeprefix("earlyaccess."),
                        e.actor_label,
                    )
                    for e in events
                ),
            ),
        )

    # -- actions

    def report(self, request: HttpRequest, verb: str, done: list[Any]) -> None:
        changed = sum(1 for d in done if d)
        skipped = len(done) - changed
        text = f"{verb.capitalize()}: {changed} registration{'s' if changed != 1 else ''}."
        if skipped:
            text += f" {skipped} skipped: not a confirmed lead, or not allowed from its status."
        self.message_user(request, text, messages.SUCCESS if changed else messages.WARNING)

    @admin.action(
        description="Approve and invite to the portal (creates the organisation)",
        permissions=["change"],
    )
    def approve_and_invite(self, request: HttpRequest, queryset: Any) -> None:
        done = [
            registration_approve_and_invite(registration_id=pk, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        ]
        self.report(request, "approved and invited", done)

    @admin.action(description="Assign the bundle for their distribution", permissions=["change"])
    def assign_matching_bundle(self, request: HttpRequest, queryset: Any) -> None:
        done = [
            registration_bundle_assign(registration_id=pk, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        ]
        self.report(request, "bundle assigned", done)

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_selected_csv(self, request: HttpRequest, queryset: Any) -> HttpResponse:
        return self._csv_response(request, queryset)

    @admin.action(
        description="Erase personal data (a request received elsewhere)", permissions=["change"]
    )
    def erase_personal_data(self, request: HttpRequest, queryset: Any) -> None:
        ids = list(queryset.exclude(status=Status.DELETED).values_list("pk", flat=True))
        for pk in ids:
            registration_erase(registration_id=pk, reason=ErasureReason.STAFF, actor=request.user)
        self.report(request, "erased", [True] * len(ids))

    # -- CSV of the filtered list

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_csv_view),
            name="earlyaccess_registration_export",
        )
        return [export, *super().get_urls()]

    def export_csv_view(self, request: HttpRequest) -> HttpResponse:
        """The list as filtered and searched on the page, every page of it, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return self._csv_response(request, changelist.get_queryset(request))

    def _csv_response(self, request: HttpRequest, queryset: Any) -> HttpResponse:
        body = leads_export(queryset=queryset, actor=request.user)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="early-access-{stamp}.csv"'
        response["Cache-Control"] = "no-store, private"
        return response


class BundleLinkInline(admin.TabularInline[BundleLink, Bundle]):
    model = BundleLink
    extra = 1
    fields = ["position", "kind", "label", "url"]


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin[Bundle]):
    list_display = ["name", "distribution", "is_active", "links_count", "updated_at"]
    list_filter = ["distribution", "is_active"]
    search_fields = ["name"]
    inlines = [BundleLinkInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Bundle]:
        return super().get_queryset(request).annotate(n_links=Count("links"))

    @admin.display(description="links")
    def links_count(self, obj: Bundle) -> int:
        return int(getattr(obj, "n_links", 0))


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin[RetentionRun]):
    list_display = [
        "ran_at",
        "unconfirmed_deleted",
        "rejected_erased",
        "pending_discarded",
        "unconfirmed_days",
        "rejected_days",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
