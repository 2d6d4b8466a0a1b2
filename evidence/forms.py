"""Web forms of the evidence app."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from evidence.models import Fleet


class FleetForm(forms.ModelForm):
    class Meta:
        model = Fleet
        fields = [
            "name",
            "slug",
            "distribution",
            "environment",
            "processes_personal_data",
            "internet_exposed",
        ]

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        if Fleet.objects.filter(organization=self.organization, slug=slug).exists():
            raise forms.ValidationError("Another fleet of this organisation uses this slug.")
        return slug


class SbomUploadForm(forms.Form):
    file = forms.FileField(help_text="A CycloneDX JSON SBOM of one host.")
    fleet = forms.ModelChoiceField(queryset=Fleet.objects.none())
    hostname = forms.CharField(
        max_length=253, required=False, help_text="Leave empty for an image or application SBOM."
    )

    def __init__(self, *args: Any, fleets: QuerySet[Fleet], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fleet"].queryset = fleets  # type: ignore[attr-defined]


def _default_start() -> date:
    today = timezone.now().date()
    return today - timedelta(days=90)


class PacketRequestForm(forms.Form):
    fleet = forms.ModelChoiceField(
        queryset=Fleet.objects.none(), required=False, empty_label="All fleets"
    )
    # <input type=date> only accepts ISO dates, whatever the display locale.
    period_start = forms.DateField(
        initial=_default_start, widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d")
    )
    period_end = forms.DateField(
        initial=lambda: timezone.now().date(),
        widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, fleets: QuerySet[Fleet], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fleet"].queryset = fleets  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            raise forms.ValidationError("The period must end on or after its start date.")
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'agent on web-01'.")
    fleet = forms.ModelChoiceField(
        queryset=Fleet.objects.none(),
        required=False,
        empty_label="Every fleet",
        help_text="Limit the token to one fleet.",
    )
    expires_in_days = forms.TypedChoiceField(
        coerce=int,
        choices=[(30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")],
        initial=365,
        label="Expires after",
        help_text="A token stops working on its own then; create a new one before.",
    )

    def __init__(self, *args: Any, fleets: QuerySet[Fleet], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fleet"].queryset = fleets  # type: ignore[attr-defined]
