from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal.earlyaccess.forms import RegistrationForm
from portal.earlyaccess.services import registration_submit


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        registration_submit(data=form.cleaned_data)
        return redirect("earlyaccess:thanks")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "notice_version": settings.PRIVACY_NOTICE_VERSION}
    return render(request, "earlyaccess/register.html", context, status=status)


def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "earlyaccess/thanks.html")
