"""DRF serializers: explicit fields, no business logic."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from evidence.models import (
    Exposure,
    Fleet,
    Host,
    RiskException,
    SbomDocument,
    SlaProfileChange,
    VexUpload,
)


class FleetSerializer(serializers.ModelSerializer[Fleet]):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:fleet-detail", lookup_field="slug", lookup_url_kwarg="fleet"
    )

    class Meta:
        model = Fleet
        fields = [
            "url",
            "slug",
            "name",
            "distribution",
            "environment",
            "processes_personal_data",
            "internet_exposed",
            "sla_profile",
            "created_at",
        ]
        read_only_fields = ["created_at", "sla_profile"]

    def validate_slug(self, value: str) -> str:
        organization = self.context["access"].organization
        if Fleet.objects.filter(organization=organization, slug=value).exists():
            raise serializers.ValidationError("Another fleet of this organisation uses this slug.")
        return value


class HostSerializer(serializers.ModelSerializer[Host]):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:host-detail", lookup_url_kwarg="host_id"
    )
    fleet = serializers.SlugRelatedField(slug_field="slug", queryset=Fleet.objects.none())

    class Meta:
        model = Host
        fields = ["url", "id", "fleet", "hostname", "first_seen_at", "last_seen_at"]
        read_only_fields = ["first_seen_at", "last_seen_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fleets = self.context.get("fleets")
        if fleets is not None:
            self.fields["fleet"].queryset = fleets  # type: ignore[attr-defined]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["hostname"] = attrs["hostname"].strip().lower()
        if Host.objects.filter(fleet=attrs["fleet"], hostname=attrs["hostname"]).exists():
            raise serializers.ValidationError({"hostname": "This fleet already has this host."})
        return attrs


class SbomDocumentSerializer(serializers.ModelSerializer[SbomDocument]):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:sbom-detail", lookup_url_kwarg="sbom_id"
    )
    fleet: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    host: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="hostname", read_only=True, allow_null=True
    )

    class Meta:
        model = SbomDocument
        fields = [
            "url",
            "id",
            "fleet",
            "host",
            "filename",
            "content_type",
            "sha256",
            "size",
            "received_at",
            "status",
            "error",
            "format",
            "encoding",
            "spec_version",
            "component_count",
            "warnings",
            "schema_valid",
            "ntia",
            "ntia_completeness",
            "document_created_at",
            "snapshot_at",
            "packages_added",
            "packages_removed",
            "duplicate_of",
            "ingested_at",
        ]
        read_only_fields = fields


class ExposureSerializer(serializers.ModelSerializer[Exposure]):
    """One exposure window with its timeline and SLA verdict."""

    host = serializers.CharField(source="host.hostname")
    fleet = serializers.CharField(source="fleet.slug")
    package = serializers.CharField(source="package.purl")
    advisory = serializers.SerializerMethodField()
    cves = serializers.SerializerMethodField()
    status = serializers.CharField(source="current_status")
    upstream_lag_days = serializers.SerializerMethodField()
    deployment_lag_days = serializers.SerializerMethodField()

    class Meta:
        model = Exposure
        fields = [
            "id", "host", "fleet", "package", "advisory", "cves", "tier", "status",
            "published_at", "fix_available_at", "kev_added_at", "kev_due_at", "detected_at",
            "fixed_at", "due_at", "closed_reason", "regression", "upstream_lag_days",
            "deployment_lag_days", "sla_profile", "sla_rationale",
        ]  # fmt: skip
        read_only_fields = fields

    def get_advisory(self, obj: Exposure) -> dict[str, str]:
        return {"source": obj.advisory.source, "id": obj.advisory.external_id}

    def get_cves(self, obj: Exposure) -> list[str]:
        return sorted(a.alias for a in obj.advisory.aliases.all() if a.alias.startswith("CVE-"))

    def get_upstream_lag_days(self, obj: Exposure) -> float | None:
        """Days from publication to the fix being available upstream."""
        if obj.published_at is None or obj.fix_available_at is None:
            return None
        return round((obj.fix_available_at - obj.published_at).total_seconds() / 86400, 2)

    def get_deployment_lag_days(self, obj: Exposure) -> float | None:
        """Days from the fix being available (or the host first seen, if later) to fixed."""
        if obj.fixed_at is None or obj.fix_available_at is None:
            return None
        start = obj.fix_available_at
        if obj.host.first_seen_at and obj.host.first_seen_at > start:
            start = obj.host.first_seen_at
        return round(max((obj.fixed_at - start).total_seconds(), 0) / 86400, 2)


class SlaProfileAssignSerializer(serializers.Serializer[Any]):
    profile = serializers.CharField(max_length=64, help_text="an SLA profile slug")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class SlaProfileChangeSerializer(serializers.ModelSerializer[SlaProfileChange]):
    changed_by = serializers.SerializerMethodField()

    class Meta:
        model = SlaProfileChange
        fields = [
            "profile", "profile_version", "profile_digest", "previous", "previous_digest",
            "changed_by", "changed_at", "reason",
        ]  # fmt: skip
        read_only_fields = fields

    def get_changed_by(self, obj: SlaProfileChange) -> str:
        return obj.changed_by.get_username() if obj.changed_by else ""


class RiskExceptionSerializer(serializers.ModelSerializer[RiskException]):
    """A risk exception: for one exposure (`exposure`) or an advisory across a fleet
    (`fleet` + `advisory` as "source:id")."""

    fleet = serializers.CharField(source="fleet.slug", read_only=True)
    advisory = serializers.SerializerMethodField()
    requested_by = serializers.SerializerMethodField()
    approved_by = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()

    class Meta:
        model = RiskException
        fields = [
            "id", "fleet", "exposure", "advisory", "justification", "compensating_controls",
            "requested_by", "requested_at", "approved_by", "approved_at", "expires_at",
            "revoked_at", "state",
        ]  # fmt: skip
        read_only_fields = fields

    def get_advisory(self, obj: RiskException) -> str | None:
        return f"{obj.advisory.source}:{obj.advisory.external_id}" if obj.advisory else None

    def get_requested_by(self, obj: RiskException) -> str:
        return obj.requested_by.get_username()

    def get_approved_by(self, obj: RiskException) -> str | None:
        return obj.approved_by.get_username() if obj.approved_by else None

    def get_state(self, obj: RiskException) -> str:
        return obj.state_at()


class RiskExceptionRequestSerializer(serializers.Serializer[Any]):
    fleet = serializers.SlugField(required=False, help_text="fleet slug (with `advisory`)")
    exposure = serializers.IntegerField(required=False, help_text="an exposure id")
    advisory = serializers.CharField(
        required=False, max_length=300, help_text='"source:id", e.g. "redhat-csaf:RHSA-2024:6163"'
    )
    justification = serializers.CharField(max_length=5000)
    compensating_controls = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    expires_at = serializers.DateTimeField()


class VexUploadSerializer(serializers.ModelSerializer[VexUpload]):
    fleet = serializers.CharField(source="fleet.slug", read_only=True, allow_null=True)
    statements = serializers.SerializerMethodField()

    class Meta:
        model = VexUpload
        fields = [
            "id", "fleet", "filename", "sha256", "size", "uploaded_at", "status", "error",
            "format", "document_id", "author", "warnings", "statements",
        ]  # fmt: skip
        read_only_fields = fields

    def get_statements(self, obj: VexUpload) -> list[dict[str, str]]:
        return [
            {
                "vulnerability": s.vulnerability,
                "status": s.status,
                "justification": s.justification,
                "purl": s.purl,
            }
            for s in obj.statements.all()[:1000]
        ]
