from __future__ import annotations

from django import forms

from portal.earlyaccess.models import Registration


class RegistrationForm(forms.ModelForm):
    consent = forms.BooleanField(
        required=True,
        label="I agree that Patchproof processes these details to run the early-access "
        "programme, as described in the privacy notice above.",
        error_messages={"required": "We can only register you with your consent."},
    )

    class Meta:
        model = Registration
        fields = [
            "organization_name",
            "contact_name",
            "work_email",
            "fleet_size",
            "current_distribution",
        ]

    def validate_unique(self) -> None:
        # The same address registering again updates its registration (see the service);
        # the form must not reveal that the address is already known.
        pass
