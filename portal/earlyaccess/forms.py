"""The public early-access forms. Every field is bounded; choices are closed lists."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.earlyaccess.azure import AZURE_REGIONS
from portal.earlyaccess.countries import COUNTRIES
from portal.earlyaccess.models import CurrentDistribution, FleetSize, Workload

HONEYPOT = "website"


class RegistrationForm(forms.Form):
    organization_name = forms.CharField(label="Organisation", max_length=200)
    contact_name = forms.CharField(label="Your name", max_length=200)
    work_email = forms.EmailField(
        label="Work email",
        max_length=254,
        help_text="We send a link to confirm it; nothing happens until you click it.",
    )
    country = forms.ChoiceField(choices=[("", "Choose a country"), *COUNTRIES])
    fleet_size = forms.ChoiceField(
        label="Fleet size", choices=[("", "Choose a band"), *FleetSize.choices]
    )
    current_distribution = forms.ChoiceField(
        label="Current distribution",
        choices=[("", "Choose one"), *CurrentDistribution.choices],
    )
    azure_regions = forms.MultipleChoiceField(
        label="Azure regions",
        choices=AZURE_REGIONS,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Hold Ctrl (or ⌘) to choose several.",
    )
    workloads = forms.MultipleChoiceField(
        label="Workloads",
        choices=Workload.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    workloads_other = forms.CharField(label="Other workloads", max_length=300, required=False)
    wants_migration_tooling = forms.BooleanField(
        label="We are interested in the migration tooling (from CBL-Mariner or Azure Linux 3)",
        required=False,
    )
    consent = forms.BooleanField(
        required=True,
        label="I agree that Patchproof processes these details to run the early-access "
        "programme, as described in the privacy notice.",
        error_messages={"required": "We can only register you with your consent."},
    )
    # The honeypot: hidden from people (see register.html), filled in by naive bots.
    website = forms.CharField(
        label="Leave this field empty",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean_azure_regions(self) -> list[str]:
        # Closed choices, de-duplicated in the order given: a repeated value cannot grow a row.
        return list(dict.fromkeys(self.cleaned_data["azure_regions"]))

    def clean_workloads(self) -> list[str]:
        return list(dict.fromkeys(self.cleaned_data["workloads"]))

    @property
    def looks_automated(self) -> bool:
        return bool(self.data.get(HONEYPOT, ""))

    def registration_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k not in {"consent", HONEYPOT}}


class DataLinkForm(forms.Form):
    work_email = forms.EmailField(label="Work email you registered with", max_length=254)
