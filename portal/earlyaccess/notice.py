"""The versioned privacy notice: one template per version, never edited once published.

Consent records name the version they were given against, so the text behind a version must
stay as it was; a change of wording is a new file and a new PRIVACY_NOTICE_VERSION.
"""

from __future__ import annotations

import re

from django.template import TemplateDoesNotExist
from django.template.loader import get_template

_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")


def notice_template(version: str) -> str:
    """The template name of a notice version; ValueError for names that cannot be versions."""
    if not _VERSION.fullmatch(version):
        raise ValueError(f"not a privacy notice version: {version!r}")
    return f"earlyaccess/privacy/{version}.html"


def notice_exists(version: str) -> bool:
    try:
        get_template(notice_template(version))
    except (TemplateDoesNotExist, ValueError):
        return False
    return True
