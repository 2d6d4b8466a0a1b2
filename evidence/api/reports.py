"""REST API for reports: control evaluations and audit packets, with their downloads and exports.

Requests are queued for the `packets` Celery queue (a 202 with the new object's URL to poll);
every download or export is recorded in the audit log, like the web pages do.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from evidence import exports, selectors
from evidence.api.access import api_access
from evidence.api.views import _ScopedViewSet
from evidence.controls.evaluate import EvaluationPeriodError, evaluation_request
from evidence.models import (
    AuditPacket,
    ControlAssessment,
    ControlEvaluation,
    EvaluationStatus,
    PacketStatus,
)
from evidence.oscal import assessment_results_json
from evidence.packets.build import PacketPeriodError, packet_request
from portal.accounts.audit import audit_record


class ScopeRequestSerializer(serializers.Serializer[Any]):
    fleet = serializers.SlugField(required=False, allow_blank=True, help_text="default: all")
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="inclusive")


class AssessmentSerializer(serializers.ModelSerializer[ControlAssessment]):
    class Meta:
        model = ControlAssessment
        fields = ["control_id", "title", "status", "metrics", "conditions", "rationale", "evidence"]


class EvaluationSerializer(serializers.ModelSerializer[ControlEvaluation]):
    fleet: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    assessments = AssessmentSerializer(many=True, read_only=True)

    class Meta:
        model = ControlEvaluation
        fields = [
            "id", "fleet", "period_start", "period_end", "status", "error", "as_of", "known_at",
            "catalog_version", "catalog_digest", "created_at", "finished_at", "assessments",
        ]  # fmt: skip


class PacketSerializer(serializers.ModelSerializer[AuditPacket]):
    fleet: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    links = serializers.SerializerMethodField()

    class Meta:
        model = AuditPacket
        fields = [
            "id", "fleet", "period_start", "period_end", "status", "progress", "progress_note",
            "error", "created_at", "finished_at", "as_of", "known_at", "sha256", "size",
            "manifest_sha256", "signed_sha256", "key_id", "evaluation", "links",
        ]  # fmt: skip

    def get_links(self, packet: AuditPacket) -> dict[str, str]:
        if packet.status != PacketStatus.DONE:
            return {}
        base = reverse("api:packet-detail", kwargs={"packet_id": packet.pk})
        return {
            "pdf": f"{base}download/",
            "manifest": f"{base}manifest/",
            **{kind: f"{base}export/{kind}/" for kind in exports.KINDS},
        }


def _fleet(request: Request, slug: str | None) -> Any:
    """The fleet a request names; a fleet-scoped caller (token or auditor) always gets its own
    fleet, never the whole organisation."""
    access = api_access(request)
    if not slug:
        if access.fleet_id is not None:
            return selectors.fleets_visible(access).get(pk=access.fleet_id)
        return None
    return get_object_or_404(selectors.fleets_visible(access), slug=slug)


def _scoped_request(request: Request, service: Any, period_error: type[Exception]) -> Any:
    """Validate a scope-and-period request body and call `service` (evaluation_request or
    packet_request) for the caller's organisation; a bad period is a 400 on `period_end`."""
    body = ScopeRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    access = api_access(request)
    try:
        return service(
            organization=access.organization,
            fleet=_fleet(request, body.validated_data.get("fleet")),
            period_start=body.validated_data["period_start"],
            period_end=body.validated_data["period_end"],
            requested_by=access.user,
        )
    except period_error as exc:
        raise ValidationError({"period_end": str(exc)}) from None


class EvaluationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, _ScopedViewSet[ControlEvaluation]
):
    """Control evaluations: POST a scope and period to queue one; GET it for the assessments
    (status, metrics against thresholds, rationale, evidence references)."""

    serializer_class = EvaluationSerializer
    lookup_url_kwarg = "evaluation_id"

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ControlEvaluation.objects.none()
        return selectors.evaluations_visible(api_access(self.request)).prefetch_related(
            "assessments"
        )

    @extend_schema(request=ScopeRequestSerializer, responses={202: EvaluationSerializer})
    def create(self, request: Request) -> Response:
        evaluation = _scoped_request(request, evaluation_request, EvaluationPeriodError)
        return Response(EvaluationSerializer(evaluation).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="assessments.csv")
    def assessments_csv(self, request: Request, evaluation_id: str) -> StreamingHttpResponse:
        evaluation = self.get_object()
        if evaluation.status != EvaluationStatus.DONE:
            raise Http404("This evaluation has not finished.")
        response = StreamingHttpResponse(
            exports.assessments_csv(evaluation), content_type="text/csv"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="evaluation-{evaluation.pk}-assessments.csv"'
        )
        return response

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def oscal(self, request: Request, evaluation_id: str) -> StreamingHttpResponse:
        evaluation = self.get_object()
        if evaluation.status != EvaluationStatus.DONE:
            raise Http404("This evaluation has not finished.")
        return StreamingHttpResponse(
            [assessment_results_json(evaluation)], content_type="application/json"
        )


class PacketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ScopedViewSet[AuditPacket]):
    """Audit packets: POST a scope and period to queue one (poll `progress`); download the
    sealed PDF, its manifest, and the exports of the same scope and period."""

    serializer_class = PacketSerializer
    lookup_url_kwarg = "packet_id"

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return AuditPacket.objects.none()
        return selectors.packets_visible(api_access(self.request))

    @extend_schema(request=ScopeRequestSerializer, responses={202: PacketSerializer})
    def create(self, request: Request) -> Response:
        packet = _scoped_request(request, packet_request, PacketPeriodError)
        return Response(PacketSerializer(packet).data, status=status.HTTP_202_ACCEPTED)

    def _done(self, request: Request, action_name: str, **data: Any) -> AuditPacket:
        packet = self.get_object()
        if packet.status != PacketStatus.DONE or not packet.pdf:
            raise Http404("This packet has not been rendered.")
        access = api_access(request)
        audit_record(
            action=action_name,
            actor=access.user,
            actor_label="" if access.user else f"token {access.token and access.token.name}",
            organization=access.organization,
            target=packet,
            data={"role": access.role, "via": "api", **data},
        )
        return packet

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, packet_id: str) -> FileResponse:
        return exports.file_response(self._done(request, exports.FILES["pdf"][2]), "pdf")

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def manifest(self, request: Request, packet_id: str) -> FileResponse:
        packet = self._done(request, exports.FILES["manifest"][2])
        return exports.file_response(packet, "manifest")

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=sorted(exports.KINDS))
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    @action(detail=True, methods=["get"], url_path=r"export/(?P<kind>[a-z.]+)")
    def export(self, request: Request, packet_id: str, kind: str) -> StreamingHttpResponse:
        if kind not in exports.KINDS:
            raise Http404(f"No export {kind!r}; known: {', '.join(exports.KINDS)}.")
        packet = self._done(request, "packet.exported", export=kind)
        return exports.export_response(packet, kind)
