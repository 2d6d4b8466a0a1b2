"""The only URL fetcher WeasyPrint gets: the portal's own static files, nothing else.

No file:// URLs, no outside hosts: a packet must not leak a request to anyone, and advisory or
SBOM text placed in it must not be able to pull content in.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders

# Relative URLs in the packet template resolve against this base; it is never contacted.
BASE_URL = "https://patchproof.invalid/"


class FetchRefused(ValueError):
    pass


def static_only_fetcher(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    parts = urlsplit(url)
    base = urlsplit(BASE_URL)
    static_prefix = settings.STATIC_URL
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith(
        static_prefix
    ):
        raise FetchRefused(f"packet rendering fetches only the portal's static files, not {url!r}")
    relative = unquote(parts.path[len(static_prefix) :])
    if ".." in Path(relative).parts:
        raise FetchRefused(f"refusing path traversal in {url!r}")
    found = finders.find(relative)
    if not found or isinstance(found, list):
        raise FetchRefused(f"no static file {relative!r}")
    mime, _ = mimetypes.guess_type(found)
    return {
        "string": Path(found).read_bytes(),
        "mime_type": mime or "application/octet-stream",
        "redirected_url": url,
    }
