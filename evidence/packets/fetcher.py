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
from weasyprint.urls import URLFetcher, URLFetcherResponse

# Relative URLs in the packet template resolve against this base; it is never contacted.
BASE_URL = "https://patchproof.invalid/"


class FetchRefused(ValueError):
    pass


def static_path(url: str) -> Path:
    """The file behind a packet URL, or FetchRefused if the URL is not one of our static files."""
    parts = urlsplit(url)
    base = urlsplit(BASE_URL)
    prefix = settings.STATIC_URL
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith(
        prefix
    ):
        raise FetchRefused(f"packet rendering fetches only the portal's static files, not {url!r}")
    relative = unquote(parts.path[len(prefix) :])
    if ".." in Path(relative).parts:
        raise FetchRefused(f"refusing path traversal in {url!r}")
    found = finders.find(relative)
    if not found or isinstance(found, list):
        raise FetchRefused(f"no static file {relative!r}")
    return Path(found)


class StaticOnlyFetcher(URLFetcher):
    """A WeasyPrint fetcher that serves `static_path` files and refuses everything else."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        path = static_path(url)
        mime, _ = mimetypes.guess_type(path.name)
        return URLFetcherResponse(
            url, path.read_bytes(), {"Content-Type": mime or "application/octet-stream"}
        )
