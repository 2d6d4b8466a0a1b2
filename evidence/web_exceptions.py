"""The Exceptions pages: request a risk exception for an exposure (or for an advisory across a
fleet), approve it as a different person, end it early; see what each one covers.

The rules (four eyes, at most `RiskException.MAX_DAYS`, a justification) live in
`evidence.exceptions`; these views only collect the input and show the refusal when a rule
says no.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from evidence import selectors
from evidence.exceptions import (
    ExceptionRefused,
    exception_approve,
    exception_request,
    exception_revoke,
)
from evidence.models import Advisory, Exposure, Fleet, RiskException
from evidence.models.exposure import exceptions_in_force
from portal.accounts.access import Access
from portal.accounts.decorators import org_view
from portal.accounts.models import AuditEvent

STATES = (
    ("requested", "Awaiting approval"),
    ("approved", "In force"),
    ("expired", "Expired"),
    ("revoked", "Ended early"),
)


def state_filter(state: str, now: datetime) -> Q:
    """The exceptions in `state` at `now`, as `RiskException.state_at` decides it."""
    revoked = Q(revoked_at__isnull=False, revoked_at__lte=now)
    expired = Q(expires_at__lte=now) & ~revoked
    if state == "revoked":
        return revoked
    if state == "expired":
        return expired
    if state == "approved":
        return exceptions_in_force(now)
    return Q(approved_at__isnull=True, expires_at__gt=now) & ~revoked


def _with_coverage(qs: QuerySet[RiskException]) -> QuerySet[RiskException]:
    """Annotate `covered_count`: the exposures an advisory-wide exception covers in its fleet
    (one exposure otherwise)."""
    across_fleet = (
        Exposure.objects.filter(fleet_id=OuterRef("fleet_id"), advisory_id=OuterRef("advisory_id"))
        .order_by()
        .values("fleet_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(
        covered_count=Subquery(across_fleet, output_field=IntegerField())
    ).select_related("exposure__host", "exposure__package")


@org_view()
def exception_list(request: HttpRequest, access: Access) -> HttpResponse:
    now = timezone.now()
    state = request.GET.get("state", "")
    visible = selectors.exceptions_visible(access)
    counts = visible.aggregate(
        **{name: Count("pk", filter=state_filter(name, now)) for name, _ in STATES}
    )
    shown = visible.filter(state_filter(state, now)) if state in dict(STATES) else visible
    context = {
        "access": access,
        "now": now,
        "max_days": RiskException.MAX_DAYS,
        "state": state if state in dict(STATES) else "",
        "tabs": [(name, label, counts[name]) for name, label in STATES],
        "total": sum(counts.values()),
        "exceptions": _with_coverage(shown)[:200],
    }
    return render(request, "evidence/exception_list.html", context)


@org_view()
def exception_detail(request: HttpRequest, access: Access, exception_id: int) -> HttpResponse:
    exception = get_object_or_404(
        _with_coverage(selectors.exceptions_visible(access)), pk=exception_id
    )
    covered = selectors.exposures_visible(access)
    if exception.exposure_ref is not None:
        # the exposure it now covers (matching may have replaced the one it was approved for)
        covered = covered.filter(pk=exception.exposure_id or exception.exposure_ref)
    else:
        covered = covered.filter(fleet_id=exception.fleet_id, advisory=exception.advisory)
    history = AuditEvent.objects.filter(
        organization_id=access.organization.pk,
        target_type=RiskException._meta.label_lower,
        target_id=str(exception.pk),
    ).order_by("seq")
    context = {
        "access": access,
        "exception": exception,
        "state": exception.state_at(),
        "exposures": covered.order_by("host__hostname", "package_name")[:200],
        "history": history,
        "can_approve": access.can_write
        and access.user is not None
        and access.user.pk != exception.requested_by_id,
    }
    return render(request, "evidence/exception_detail.html", context)


class ExceptionRequestForm(forms.Form):
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        help_text="Why the risk is accepted for now, and what ends it (a migration, a fix date).",
    )
    compensating_controls = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        required=False,
        help_text="What limits the risk meanwhile (network isolation, monitoring, …).",
    )
    expires_on = forms.DateField(
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),  # ISO for the picker
        help_text=f"At most {RiskException.MAX_DAYS} days from today; the exception ends at "
        "00:00 UTC that day.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.now().date()
        self.fields["expires_on"].initial = today + timedelta(days=30)
        self.fields["expires_on"].widget.attrs["min"] = str(today + timedelta(days=1))
        self.fields["expires_on"].widget.attrs["max"] = str(
            today + timedelta(days=RiskException.MAX_DAYS)
        )


def _target(access: Access, params: Any) -> tuple[Fleet, Exposure | None, Advisory | None]:
    """What the request is for: `?exposure=ID`, or `?advisory=ID&fleet=SLUG`."""
    if params.get("exposure"):
        exposure = get_object_or_404(
            selectors.exposures_visible(access).select_related(
                "fleet", "host", "advisory", "package"
            ),
            pk=params["exposure"] if str(params["exposure"]).isdigit() else -1,
        )
        return exposure.fleet, exposure, None
    advisory_id = str(params.get("advisory", ""))
    advisory = get_object_or_404(Advisory, pk=advisory_id if advisory_id.isdigit() else -1)
    fleet = get_object_or_404(selectors.fleets_visible(access), slug=params.get("fleet", ""))
    return fleet, None, advisory


@org_view(write=True)
@require_http_methods(["GET", "POST"])
def exception_create(request: HttpRequest, access: Access) -> HttpResponse:
    if not request.GET.get("exposure") and not request.GET.get("advisory"):
        # reached without saying what for: explain where requests start
        status = 400 if request.method == "POST" else 200
        return render(
            request, "evidence/exception_form.html", {"access": access, "form": None}, status=status
        )
    fleet, exposure, advisory = _target(access, request.GET)
    form = ExceptionRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        expires_at = datetime.combine(form.cleaned_data["expires_on"], time(0), tzinfo=UTC)
        try:
            created = exception_request(
                fleet=fleet,
                exposure=exposure,
                advisory=advisory,
                requested_by=request.user,
                justification=form.cleaned_data["justification"],
                compensating_controls=form.cleaned_data["compensating_controls"],
                expires_at=expires_at,
            )
        except ExceptionRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                "Exception requested. Another officer or owner of this organisation must "
                "approve it before it counts.",
            )
            return redirect(
                "evidence:exception", org=access.organization.slug, exception_id=created.pk
            )
    status = 400 if request.method == "POST" else 200
    context = {
        "access": access,
        "form": form,
        "fleet": fleet,
        "exposure": exposure,
        "advisory": advisory or (exposure.advisory if exposure else None),
    }
    return render(request, "evidence/exception_form.html", context, status=status)


def _act(request: HttpRequest, access: Access, exception_id: int, verb: str) -> HttpResponse:
    exception = get_object_or_404(selectors.exceptions_visible(access), pk=exception_id)
    try:
        if verb == "approve":
            exception_approve(exception=exception, approver=request.user)
            messages.success(request, "Exception approved: the exposures it covers are excepted.")
        else:
            exception_revoke(exception=exception, actor=request.user)
            messages.success(request, "Exception ended: the exposures it covered count again.")
    except ExceptionRefused as exc:
        messages.error(request, f"Not done: {exc}.")
    return HttpResponseRedirect(
        reverse(
            "evidence:exception",
            kwargs={"org": access.organization.slug, "exception_id": exception.pk},
        )
    )


@org_view(write=True)
@require_POST
def exception_approve_view(request: HttpRequest, access: Access, exception_id: int) -> HttpResponse:
    return _act(request, access, exception_id, "approve")


@org_view(write=True)
@require_POST
def exception_revoke_view(request: HttpRequest, access: Access, exception_id: int) -> HttpResponse:
    return _act(request, access, exception_id, "revoke")
