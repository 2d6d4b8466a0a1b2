"""Outbound HTTP for feeds: http(s) only, bounded in size and time, conditional (ETag /
If-Modified-Since), retried with backoff on transient failures only."""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

from django.conf import settings

_CHUNK = 256 * 1024
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class FetchError(Exception):
    """The feed could not be fetched; the message says what happened and where."""


@dataclass(frozen=True)
class Fetched:
    """A fetch's outcome: `body` is None when the server answered 304 Not Modified."""

    url: str
    body: bytes | None
    etag: str = ""
    last_modified: str = ""
    attempts: int = 1


class _NoRedirectToOtherSchemes(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        url_check(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]


_OPENER = urllib.request.build_opener(_NoRedirectToOtherSchemes())


def url_check(url: str) -> str:
    """`url` if it is an absolute http(s) URL; FetchError otherwise (no file:, ftp:, data:)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"refusing to fetch {url[:200]!r}: only http:// and https:// URLs")
    return url


def _read_bounded(response: http.client.HTTPResponse, url: str, deadline: float) -> bytes:
    limit = settings.FEED_MAX_BYTES
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FetchError(
            f"{url}: the server announces {int(declared):,} bytes; the limit is {limit:,}"
        )
    out = io.BytesIO()
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}: the download took longer than the time allowed")
        chunk = response.read(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise FetchError(f"{url}: the body passes the {limit:,}-byte limit (FEED_MAX_BYTES)")
        out.write(chunk)
    if declared and declared.isdigit() and total < int(declared):
        raise http.client.IncompleteRead(out.getvalue(), int(declared) - total)
    return out.getvalue()


def _attempt(url: str, etag: str, last_modified: str) -> Fetched:
    timeout = settings.FEED_HTTP_TIMEOUT
    headers = {"User-Agent": "Patchproof feed sync", "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (url_check: http(s) only)
    deadline = time.monotonic() + 10 * timeout
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = _read_bounded(response, url, deadline)
            return Fetched(
                url=response.geturl(),
                body=body,
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(url=url, body=None, etag=etag, last_modified=last_modified)
        raise


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in _TRANSIENT_STATUS
    return isinstance(
        exc,
        TimeoutError
        | socket.timeout
        | ConnectionError
        | http.client.IncompleteRead
        | http.client.RemoteDisconnected
        | urllib.error.URLError,
    )


def _describe(url: str, exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"{url}: the server answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, http.client.IncompleteRead):
        return (
            f"{url}: the body is truncated ({len(exc.partial):,} bytes received, "
            f"{exc.expected:,} more announced)"
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{url}: no answer within {settings.FEED_HTTP_TIMEOUT} s (timeout)"
    if isinstance(exc, urllib.error.URLError):
        return f"{url}: cannot connect ({exc.reason})"
    return f"{url}: {exc.__class__.__name__}: {exc}"


def fetch(url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET `url`, conditionally when validators are given. Transient failures (timeouts,
    resets, truncated bodies, 429 and 5xx) are retried FEED_HTTP_RETRIES times with doubling
    backoff; anything else, or the last failure, raises FetchError describing it."""
    url_check(url)
    retries = settings.FEED_HTTP_RETRIES
    delay = settings.FEED_HTTP_BACKOFF
    for attempt in range(1, retries + 2):
        try:
            fetched = _attempt(url, etag, last_modified)
        except FetchError:
            raise
        except Exception as exc:
            if not _transient(exc):
                raise FetchError(_describe(url, exc)) from exc
            if attempt > retries:
                message = _describe(url, exc)
                raise FetchError(f"{message}; gave up after {attempt} attempts") from exc
            time.sleep(delay)
            delay *= 2
            continue
        return Fetched(fetched.url, fetched.body, fetched.etag, fetched.last_modified, attempt)
    raise AssertionError("unreachable")
