"""System check: the privacy notice version that consents are recorded against must exist."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from portal.earlyaccess.notice import notice_exists


@register()
def privacy_notice_exists(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    version = settings.PRIVACY_NOTICE_VERSION
    if notice_exists(version):
        return []
    return [
        Error(
            f"PRIVACY_NOTICE_VERSION={version!r} has no text: "
            f"add templates/earlyaccess/privacy/{version}.html",
            id="earlyaccess.E001",
        )
    ]
