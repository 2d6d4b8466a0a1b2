"""REST API views. Querysets come from the organisation-scoped selectors."""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from evidence import selectors
from evidence.api.access import OrgAccess, api_access
from evidence.api.serializers import (
    ExposureSerializer,
    FleetSerializer,
    HostSerializer,
    RiskExceptionRequestSerializer,
    RiskExceptionSerializer,
    SbomDocumentSerializer,
    SlaProfileAssignSerializer,
    SlaProfileChangeSerializer,
    VexUploadSerializer,
)
from evidence.exceptions import (
    ExceptionRefused,
    exception_approve,
    exception_request,
    exception_revoke,
)
from evidence.ingest import UploadRefused, host_resolve, sbom_receive
from evidence.models import (
    Advisory,
    Exposure,
    Fleet,
    Host,
    RiskException,
    SbomDocument,
    VexUpload,
)
from evidence.sla.assign import sla_profile_assign
from evidence.sla.profiles import profile_canonical, profile_digest, profiles_all
from evidence.vex_upload import MAX_BYTES as VEX_MAX_BYTES
from evidence.vex_upload import vex_receive
from portal.accounts.audit import audit_record

_M = TypeVar("_M", bound=Model)
# An upload's 400: the stored record of a refused document (its `error` says why), or field
# errors when the request itself names no file or an unknown fleet or host.
REFUSED_OR_INVALID = OpenApiResponse(
    {"type": "object", "additionalProperties": {}},
    description="The refused upload's record (see `error`), or field errors.",
)


class _ScopedViewSet(viewsets.GenericViewSet[_M]):
    """A viewset whose every query goes through the caller's `Access`."""

    permission_classes = [OrgAccess]

    def get_serializer_context(self) -> dict[str, Any]:
        context: dict[str, Any] = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        context["access"] = api_access(self.request)
        context["fleets"] = selectors.fleets_visible(context["access"])
        return context


class FleetViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    _ScopedViewSet[Fleet],
):
    """Fleets of the caller's organisation (a fleet-scoped token sees its fleet only)."""

    serializer_class = FleetSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "fleet"
    lookup_value_regex = "[-a-zA-Z0-9_]+"  # a SlugField; also published as the schema's pattern

    def get_queryset(self) -> QuerySet[Fleet]:
        if getattr(self, "swagger_fake_view", False):
            return Fleet.objects.none()
        return selectors.fleets_visible(api_access(self.request))

    @extend_schema(
        request=SlaProfileAssignSerializer, responses={200: SlaProfileChangeSerializer(many=True)}
    )
    @action(detail=True, methods=["get", "post"], url_path="sla-profile", pagination_class=None)
    def sla_profile(self, request: Request, fleet: str) -> Response:
        """GET: the fleet's SLA profile history (newest first). POST {"profile", "reason"}:
        assign a profile; recorded, audited, and the exposures are recomputed under it."""
        target = self.get_object()
        if request.method == "POST":
            body = SlaProfileAssignSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            access = api_access(request)
            try:
                sla_profile_assign(
                    fleet=target,
                    slug=body.validated_data["profile"],
                    actor=access.user,
                    actor_label=f"token:{access.token.prefix}" if access.token else "",
                    reason=body.validated_data.get("reason", ""),
                )
            except (ValueError, LookupError) as exc:  # unknown or unreadable profile
                raise ValidationError({"profile": str(exc)}) from None
        changes = target.sla_changes.select_related("changed_by")
        return Response(SlaProfileChangeSerializer(changes, many=True).data)

    def perform_create(self, serializer: serializers.BaseSerializer[Fleet]) -> None:
        access = api_access(self.request)
        if access.is_fleet_scoped:
            raise PermissionDenied("A fleet-scoped token cannot create fleets.")
        fleet = serializer.save(organization=access.organization)
        audit_record(
            action="fleet.created",
            actor=access.user,
            actor_label=f"token:{access.token.prefix}" if access.token else "",
            organization=access.organization,
            target=fleet,
            data={"slug": fleet.slug, "distribution": fleet.distribution},
        )


class HostViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    _ScopedViewSet[Host],
):
    """Hosts of the caller's fleets. Filter with `?fleet=<slug>`."""

    serializer_class = HostSerializer
    lookup_url_kwarg = "host_id"

    def get_queryset(self) -> QuerySet[Host]:
        if getattr(self, "swagger_fake_view", False):
            return Host.objects.none()
        qs = selectors.hosts_visible(api_access(self.request))
        fleet = self.request.query_params.get("fleet")
        return qs.filter(fleet__slug=fleet) if fleet else qs


class SbomViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    _ScopedViewSet[SbomDocument],
):
    """SBOM documents: upload one, then follow its status until it is ingested or rejected."""

    serializer_class = SbomDocumentSerializer
    lookup_url_kwarg = "sbom_id"
    # Raw bodies (any content type) are read from the stream in `create`, not parsed by DRF.
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[SbomDocument]:
        if getattr(self, "swagger_fake_view", False):
            return SbomDocument.objects.none()
        return selectors.sboms_visible(api_access(self.request))

    def _target(self, request: Request) -> tuple[Fleet | None, Host | None]:
        access = api_access(request)
        fleets = selectors.fleets_visible(access)
        params = request.query_params
        fleet_slug = params.get("fleet") or (
            request.data.get("fleet") if self._is_multipart(request) else None
        )
        hostname = params.get("host") or (
            request.data.get("host") if self._is_multipart(request) else None
        )
        fleet: Fleet | None = None
        if fleet_slug:
            fleet = fleets.filter(slug=fleet_slug).first()
            if fleet is None:
                raise ValidationError({"fleet": f"No fleet {fleet_slug!r} that you can write to."})
        elif access.fleet_id is not None:
            fleet = fleets.first()
        if hostname:
            if fleet is None:
                raise ValidationError({"fleet": "Name the host's fleet with ?fleet=<slug>."})
            if len(hostname) > 253:
                raise ValidationError({"host": "A hostname has at most 253 characters."})
            return fleet, host_resolve(fleet=fleet, hostname=hostname)
        return fleet, None

    @staticmethod
    def _is_multipart(request: Request) -> bool:
        return (request.content_type or "").startswith("multipart/form-data")

    def _read_body(self, request: Request) -> tuple[bytes | None, int, str, str]:
        limit = settings.SBOM_MAX_BYTES
        if self._is_multipart(request):
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationError({"file": "Send the SBOM in a multipart field named 'file'."})
            size = upload.size or 0
            data = upload.read() if size <= limit else None
            return data, size, upload.name or "", upload.content_type or ""
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > limit:
            return None, declared, "", request.content_type or ""
        stream = request.stream
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            return None, len(data), "", request.content_type or ""
        return data, len(data), "", request.content_type or ""

    @extend_schema(
        request={
            "application/vnd.cyclonedx+json": OpenApiTypes.BINARY,
            "application/json": OpenApiTypes.BINARY,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        parameters=[
            OpenApiParameter("fleet", str, description="Fleet slug (defaults to the token's)."),
            OpenApiParameter("host", str, description="Hostname; created on first upload."),
        ],
        responses={
            202: SbomDocumentSerializer,
            400: REFUSED_OR_INVALID,
            413: SbomDocumentSerializer,
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Upload an SBOM: the raw document as the body (with its content type), or a
        multipart field `file`. Answers 202 with the status resource; poll its `url`."""
        access = api_access(request)
        data, size, filename, content_type = self._read_body(request)
        fleet, host = self._target(request)
        try:
            doc = sbom_receive(
                organization=access.organization,
                data=data,
                size=size,
                filename=filename,
                content_type=content_type,
                fleet=fleet,
                host=host,
                submitted_by=access.user,
                submitted_token=access.token,
            )
        except UploadRefused as refused:
            body = self.get_serializer(refused.document).data
            return Response(body, status=refused.status_code)
        body = self.get_serializer(doc).data
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": str(body["url"])}
        )


@extend_schema(
    parameters=[
        OpenApiParameter(name, OpenApiTypes.STR, description=description)
        for name, description in (
            ("fleet", "fleet slug"),
            ("host", "host id or hostname"),
            ("advisory", "advisory id, e.g. RHSA-2024:6163"),
            ("cve", "CVE id"),
            ("tier", "SLA tier, e.g. P1"),
            (
                "status",
                "open, overdue, fixed_in_sla, fixed_late, not_affected, excepted, regressed",
            ),
            ("kev", "true: only exposures whose CVE is in CISA KEV; false: only the others"),
        )
    ]
)
class ExposureViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    _ScopedViewSet[Exposure],
):
    """Exposure windows of the caller's hosts: when each advisory's vulnerable version was
    on a host, when it was fixed, and whether that met the fleet's SLA."""

    serializer_class = ExposureSerializer
    lookup_url_kwarg = "exposure_id"

    def get_queryset(self) -> QuerySet[Exposure]:
        if getattr(self, "swagger_fake_view", False):
            return Exposure.objects.none()
        access = api_access(self.request)
        return selectors.exposures_filtered(access, self.request.query_params).prefetch_related(
            "advisory__aliases"
        )


class SlaProfileViewSet(viewsets.ViewSet):
    """The SLA profiles fleets can follow: tiers, clocks and sources, with each version's
    digest (what exposures record as the policy applied)."""

    permission_classes = [OrgAccess]

    @extend_schema(responses={200: {"type": "object", "additionalProperties": {}}})
    def list(self, request: Request) -> Response:
        return Response(
            [
                {**profile_canonical(profile), "digest": profile_digest(profile)}
                for profile in profiles_all()
            ]
        )


class RiskExceptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    _ScopedViewSet[RiskException],
):
    """Risk exceptions: request one (POST), approve it (a different person), revoke it.
    An exposure an approved, unexpired exception covers has the status `excepted`."""

    serializer_class = RiskExceptionSerializer
    lookup_url_kwarg = "exception_id"

    def get_queryset(self) -> QuerySet[RiskException]:
        if getattr(self, "swagger_fake_view", False):
            return RiskException.objects.none()
        return selectors.exceptions_visible(api_access(self.request))

    @extend_schema(request=RiskExceptionRequestSerializer, responses={201: RiskExceptionSerializer})
    def create(self, request: Request) -> Response:
        body = RiskExceptionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        access = api_access(request)
        exposure = None
        advisory = None
        if data.get("exposure") is not None:
            exposure = get_object_or_404(selectors.exposures_visible(access), pk=data["exposure"])
            fleet = exposure.fleet
        else:
            if not data.get("fleet") or not data.get("advisory"):
                raise ValidationError("Name an exposure, or a fleet and an advisory.")
            fleet = get_object_or_404(selectors.fleets_visible(access), slug=data["fleet"])
            source, _, external_id = data["advisory"].partition(":")
            advisory = Advisory.objects.filter(source=source, external_id=external_id).first()
            if advisory is None:
                raise ValidationError({"advisory": f"no advisory {data['advisory']!r}"})
        try:
            created = exception_request(
                fleet=fleet,
                exposure=exposure,
                advisory=advisory,
                requested_by=access.user,
                justification=data["justification"],
                compensating_controls=data.get("compensating_controls", ""),
                expires_at=data["expires_at"],
            )
        except ExceptionRefused as exc:
            raise ValidationError(str(exc)) from None
        return Response(RiskExceptionSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: RiskExceptionSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, exception_id: str) -> Response:
        try:
            done = exception_approve(exception=self.get_object(), approver=api_access(request).user)
        except ExceptionRefused as exc:
            raise ValidationError(str(exc)) from None
        return Response(RiskExceptionSerializer(done).data)

    @extend_schema(request=None, responses={200: RiskExceptionSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, exception_id: str) -> Response:
        try:
            done = exception_revoke(exception=self.get_object(), actor=api_access(request).user)
        except ExceptionRefused as exc:
            raise ValidationError(str(exc)) from None
        return Response(RiskExceptionSerializer(done).data)


class VexViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    _ScopedViewSet[VexUpload],
):
    """VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX) about your packages: a `not_affected`
    statement closes the matching exposures as not affected, with the statement as evidence."""

    serializer_class = VexUploadSerializer
    lookup_url_kwarg = "vex_id"
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[VexUpload]:
        if getattr(self, "swagger_fake_view", False):
            return VexUpload.objects.none()
        access = api_access(self.request)
        qs = VexUpload.objects.filter(organization=access.organization)
        if access.fleet_id is not None:
            qs = qs.filter(fleet_id=access.fleet_id)
        return qs.prefetch_related("statements").select_related("fleet")

    @extend_schema(
        request={
            "application/json": OpenApiTypes.BINARY,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        parameters=[OpenApiParameter("fleet", str, description="Limit it to one fleet.")],
        responses={201: VexUploadSerializer, 400: REFUSED_OR_INVALID},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Upload a VEX document as the body, or a multipart field `file`. 201 with its
        statements, or 400 with the reason it could not be read (the upload is kept)."""
        access = api_access(request)
        multipart = (request.content_type or "").startswith("multipart/form-data")
        filename = ""
        if multipart:
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationError({"file": "Send the VEX document in a field named 'file'."})
            data = upload.read(VEX_MAX_BYTES + 1)
            filename = upload.name or ""
        else:
            stream = request.stream
            data = stream.read(VEX_MAX_BYTES + 1) if stream is not None else b""
        if len(data) > VEX_MAX_BYTES:
            raise ValidationError(f"The document is larger than {VEX_MAX_BYTES:,} bytes.")
        fleet = None
        slug = request.query_params.get("fleet") or (
            request.data.get("fleet") if multipart else None
        )
        if slug:
            fleet = selectors.fleets_visible(access).filter(slug=slug).first()
            if fleet is None:
                raise ValidationError({"fleet": f"No fleet {slug!r} that you can write to."})
        elif access.fleet_id is not None:
            fleet = selectors.fleets_visible(access).first()
        stored = vex_receive(
            organization=access.organization,
            data=data,
            filename=filename,
            fleet=fleet,
            uploaded_by=access.user,
        )
        code = status.HTTP_201_CREATED if stored.status == "accepted" else 400
        return Response(self.get_serializer(stored).data, status=code)
