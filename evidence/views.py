"""Web pages of the evidence app. Views connect requests to selectors and services only."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from evidence import exports, selectors, web_evidence
from evidence.forms import ApiTokenForm, FleetForm, PacketRequestForm, SbomUploadForm
from evidence.ingest import UploadRefused, host_resolve, sbom_receive
from evidence.models import PacketStatus, SbomStatus
from evidence.overview import overview_begin, overview_context
from evidence.packets.build import packet_request
from evidence.packets.signing import public_key_pem
from portal.accounts.access import Access
from portal.accounts.audit import audit_record
from portal.accounts.decorators import org_view
from portal.accounts.tokens import api_token_create, api_token_revoke


@org_view()
def dashboard(request: HttpRequest, access: Access) -> HttpResponse:
    # The overview's figures are started first; the page's lists are read while the longest
    # of their reads runs on a connection of its own (see overview_begin).
    overview_finish = overview_begin(access)
    context = {
        "access": access,
        "org": access.organization,
        "fleets": list(selectors.fleets_with_counts(access)),
        "hosts": list(selectors.hosts_visible(access).order_by("-last_seen_at", "hostname")[:20]),
        "sboms": list(selectors.sboms_visible(access)[:15]),
        "packets": list(selectors.packets_visible(access)[:5]),
        "packet_form": PacketRequestForm(fleets=selectors.fleets_visible(access)),
        **overview_context(overview_finish),
    }
    return render(request, "evidence/dashboard.html", context)


@org_view()
def evaluation_detail(request: HttpRequest, access: Access, evaluation_id: int) -> HttpResponse:
    evaluation = selectors.evaluation_get(access, evaluation_id=evaluation_id)
    context = {
        "access": access,
        "evaluation": evaluation,
        "assessments": evaluation.assessments.order_by("pk"),
    }
    return render(request, "evidence/evaluation_detail.html", context)


@org_view(write=True)
@require_http_methods(["GET", "POST"])
def fleet_create(request: HttpRequest, access: Access) -> HttpResponse:
    form = FleetForm(request.POST or None, organization=access.organization)
    if request.method == "POST" and form.is_valid():
        fleet = form.save(commit=False)
        fleet.organization = access.organization
        fleet.save()
        audit_record(
            action="fleet.created",
            actor=request.user,
            organization=access.organization,
            target=fleet,
            data={"slug": fleet.slug, "distribution": fleet.distribution},
        )
        messages.success(request, f"Fleet {fleet.name} created.")
        return redirect("evidence:fleet", org=access.organization.slug, fleet=fleet.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "evidence/fleet_form.html", {"access": access, "form": form}, status=status
    )


@org_view()
def fleet_detail(request: HttpRequest, access: Access, fleet: str) -> HttpResponse:
    obj = selectors.fleet_get(access, slug=fleet)
    context = {
        "access": access,
        "fleet": obj,
        "sboms": selectors.sboms_visible(access).filter(fleet=obj)[:20],
        "sla_changes": obj.sla_changes.select_related("changed_by").order_by("-changed_at")[:20],
        **web_evidence.fleet_figures(access, obj, request.GET.get("page")),
    }
    return render(request, "evidence/fleet_detail.html", context)


@org_view()
def host_detail(request: HttpRequest, access: Access, host_id: int) -> HttpResponse:
    host = selectors.host_get(access, host_id=host_id)
    installed = selectors.host_installed(access, host=host)
    context = {
        "access": access,
        "host": host,
        "sboms": selectors.sboms_visible(access).filter(host=host)[:50],
        "installed": installed[:500],
        "installed_count": installed.count(),
        "exposures": (exposures := web_evidence.host_exposures(access, host)),
        "chart": (
            web_evidence.host_timeline(host, exposures, timezone.now()) if exposures else None
        ),
        "chart_table_open": False,
    }
    return render(request, "evidence/host_detail.html", context)


@org_view()
def sbom_detail(request: HttpRequest, access: Access, sbom_id: int) -> HttpResponse:
    sbom = selectors.sbom_get(access, sbom_id=sbom_id)
    context = {"access": access, "sbom": sbom, "polled": request.headers.get("X-Poll") == "1"}
    if context["polled"]:
        return render(request, "evidence/_sbom_progress.html", context)
    return render(request, "evidence/sbom_detail.html", context)


@org_view()
def sbom_list(request: HttpRequest, access: Access) -> HttpResponse:
    """Every upload, newest first: status, warnings, and for a rejection its message."""
    sboms = selectors.sboms_visible(access).order_by("-received_at", "-pk")
    status = request.GET.get("status", "")
    if status in SbomStatus.values:
        sboms = sboms.filter(status=status)
    fleet = request.GET.get("fleet", "")
    if fleet:
        sboms = sboms.filter(fleet__slug=fleet)
    page = Paginator(sboms, 50).get_page(request.GET.get("page"))
    counts = dict(
        selectors.sboms_visible(access).order_by().values_list("status").annotate(n=Count("pk"))
    )
    context = {
        "access": access,
        "page": page,
        "status": status,
        "fleet": fleet,
        "fleets": selectors.fleets_visible(access).order_by("name"),
        "statuses": [(value, label, counts.get(value, 0)) for value, label in SbomStatus.choices],
        "in_flight": counts.get(SbomStatus.QUEUED, 0) + counts.get(SbomStatus.PROCESSING, 0),
    }
    return render(request, "evidence/sbom_list.html", context)


@org_view(write=True)
@require_http_methods(["GET", "POST"])
def sbom_upload(request: HttpRequest, access: Access) -> HttpResponse:
    fleets = selectors.fleets_visible(access)
    form = SbomUploadForm(request.POST or None, request.FILES or None, fleets=fleets)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        fleet = form.cleaned_data["fleet"]
        hostname = form.cleaned_data["hostname"].strip()
        host = host_resolve(fleet=fleet, hostname=hostname) if hostname else None

        data = upload.read() if upload.size <= settings.SBOM_MAX_BYTES else None
        try:
            doc = sbom_receive(
                organization=access.organization,
                data=data,
                size=upload.size,
                filename=upload.name,
                content_type=upload.content_type or "",
                fleet=fleet,
                host=host,
                submitted_by=request.user,
            )
        except UploadRefused as refused:
            form.add_error("file", f"Rejected: {refused.document.error}")
            context = {"access": access, "form": form, "refused": refused.document}
            return render(request, "evidence/sbom_upload.html", context, status=refused.status_code)
        messages.success(request, f"SBOM received ({doc.get_status_display().lower()}).")
        return redirect("evidence:sbom", org=access.organization.slug, sbom_id=doc.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "evidence/sbom_upload.html", {"access": access, "form": form}, status=status
    )


@org_view(write=True)
@require_POST
def packet_create(request: HttpRequest, access: Access) -> HttpResponse:
    form = PacketRequestForm(request.POST, fleets=selectors.fleets_visible(access))
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Packet not requested: {errors}")
        return redirect("evidence:dashboard", org=access.organization.slug)
    packet = packet_request(
        organization=access.organization,
        fleet=form.cleaned_data["fleet"],
        period_start=form.cleaned_data["period_start"],
        period_end=form.cleaned_data["period_end"],
        requested_by=request.user,
    )
    return redirect("evidence:packet", org=access.organization.slug, packet_id=packet.pk)


@org_view()
def packet_list(request: HttpRequest, access: Access) -> HttpResponse:
    packets = list(selectors.packets_visible(access)[:100])
    context = {
        "access": access,
        "packets": packets,
        "downloads": selectors.packet_download_counts(packets),
        "packet_form": PacketRequestForm(fleets=selectors.fleets_visible(access)),
    }
    return render(request, "evidence/packet_list.html", context)


@org_view()
def packet_detail(request: HttpRequest, access: Access, packet_id: int) -> HttpResponse:
    packet = selectors.packet_get(access, packet_id=packet_id)
    polling = request.headers.get("X-Poll") == "1"
    if not polling:  # the progress poll is not a view of the evidence
        audit_record(
            action="packet.viewed",
            actor=request.user,
            organization=access.organization,
            target=packet,
            data={"role": access.role},
        )
    context = {
        "access": access,
        "packet": packet,
        "downloads": selectors.packet_downloads(packet),
        "verification": selectors.packet_verification(packet),
        "assessments": packet.evaluation.assessments.all() if packet.evaluation else [],
    }
    if polling:
        return render(request, "evidence/_packet_progress.html", context)
    return render(request, "evidence/packet_detail.html", context)


def _packet_file(request: HttpRequest, access: Access, packet_id: int, which: str) -> FileResponse:
    packet = selectors.packet_get(access, packet_id=packet_id)
    if packet.status != PacketStatus.DONE or not packet.pdf:
        raise Http404("This packet has not been rendered yet.")
    audit_record(
        action=exports.FILES[which][2],
        actor=request.user,
        organization=access.organization,
        target=packet,
        data={"role": access.role, "sha256": packet.sha256, "manifest": packet.manifest_sha256},
    )
    return exports.file_response(packet, which)


@org_view()
def packet_download(request: HttpRequest, access: Access, packet_id: int) -> FileResponse:
    return _packet_file(request, access, packet_id, "pdf")


@org_view()
def packet_manifest(request: HttpRequest, access: Access, packet_id: int) -> FileResponse:
    return _packet_file(request, access, packet_id, "manifest")


@org_view(write=True)
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest, access: Access) -> HttpResponse:
    fleets = selectors.fleets_visible(access)
    form = ApiTokenForm(request.POST or None, fleets=fleets)
    secret = None
    if request.method == "POST" and form.is_valid():
        _, secret = api_token_create(
            organization=access.organization,
            fleet=form.cleaned_data["fleet"],
            name=form.cleaned_data["name"],
            created_by=request.user,
            expires_at=timezone.now() + timedelta(days=form.cleaned_data["expires_in_days"]),
        )
        form = ApiTokenForm(fleets=fleets)
    context = {
        "access": access,
        "form": form,
        "secret": secret,
        "tokens": selectors.tokens_visible(access),
    }
    return render(request, "evidence/token_list.html", context)


@org_view(write=True)
@require_POST
def token_revoke(request: HttpRequest, access: Access, token_id: int) -> HttpResponse:
    token = selectors.token_get(access, token_id=token_id)
    api_token_revoke(token=token, revoked_by=request.user)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("evidence:tokens", org=access.organization.slug)


@org_view()
def feed_list(request: HttpRequest, access: Access) -> HttpResponse:
    """Health of every advisory feed: last success, age, failures, stale."""
    context = {"access": access, "feeds": selectors.feeds_health()}
    return render(request, "evidence/feed_list.html", context)


@org_view()
def feed_detail(request: HttpRequest, access: Access, feed: str) -> HttpResponse:
    source = selectors.feed_get(slug=feed)
    context = {
        "access": access,
        "feed": selectors.feed_health(source),
        "runs": source.runs.select_related("payload")[:50],
    }
    return render(request, "evidence/feed_detail.html", context)


@org_view()
def packet_export(
    request: HttpRequest, access: Access, packet_id: int, kind: str
) -> StreamingHttpResponse:
    """The packet's scope and period as CSV (exposures, control assessments) or OSCAL."""
    packet = selectors.packet_get(access, packet_id=packet_id)
    if kind not in exports.KINDS or packet.status != PacketStatus.DONE or not packet.evaluation:
        raise Http404("No such export for this packet.")
    audit_record(
        action="packet.exported",
        actor=request.user,
        organization=access.organization,
        target=packet,
        data={"role": access.role, "export": kind},
    )
    return exports.export_response(packet, kind)


@require_GET
def signing_key_pem(request: HttpRequest) -> HttpResponse:
    """The public key audit packets are signed with (public: anyone may verify a packet)."""
    try:
        pem = public_key_pem()
    except ImproperlyConfigured:
        return HttpResponse(
            "This portal has no packet signing key configured yet.",
            status=503,
            content_type="text/plain",
        )
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Cache-Control"] = "public, max-age=3600"
    return response
