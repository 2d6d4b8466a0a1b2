"""Retired-package lists: this project's small JSON format for "the distribution stopped
maintaining these packages" (Fedora retirements, end-of-life packages), plain or
gzip/xz/zstd-compressed. evidence/feeds/data/README.md documents it for administrators.

    {
      "format": "patchproof-retired",           required, exactly this
      "version": 1,                              required, this parser reads version 1
      "distribution": "fedora",                  required, os-release ID (a-z 0-9 . _ -)
      "releases": ["fedora-41", "fedora-42"],    optional: omitted = every release from the date
      "package_type": "rpm",                     optional: "rpm" (default) or "deb"
      "kind": "retired",                         optional: "retired" (default: packages the
                                                 distribution dropped) or "end-of-life" (the
                                                 releases themselves; `releases` required and
                                                 `packages` names each release's marker
                                                 package, such as fedora-release-common)
      "retired_at": "2026-05-19",                required, YYYY-MM-DD
      "reason": "why, in a sentence or two",     required
      "reference_url": "https://...",            required, http(s)
      "comment": "...",                          optional, ignored
      "packages": ["name", ...,                  required; a name, or an object that
                   {"name": "...", "retired_at": "...", "reason": "...",
                    "reference_url": "...", "comment": "..."}]   overrides the defaults
    }

One RetiredPackage per (package, release), or per package with `distro` = the distribution
when `releases` is omitted. An end-of-life list says the same of a release's marker package,
so matching finds every host still on the release (one finding per host and release).
Document-level problems (unknown format or version, a missing or
malformed top-level field, an unknown top-level key) are FeedErrors; a bad package entry (name
outside the package type's character set, bad date or URL, unknown key, a name listed twice) is
a RecordError at "packages[i] (name)" and the other packages are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from evidence.feeds.common import decompress, feed_json
from evidence.feeds.model import FeedError, FeedLimits, FeedParse, RecordError, RetiredPackage
from evidence.feeds.osv_documents import describe_document, describe_text
from evidence.sbom.jsondoc import json_type

SOURCE = "retired"
FORMAT = "patchproof-retired"
VERSION = 1

_TOP_REQUIRED = (
    "format",
    "version",
    "distribution",
    "retired_at",
    "reason",
    "reference_url",
    "packages",
)
_TOP_OPTIONAL = ("releases", "package_type", "kind", "comment")
KINDS = ("retired", "end-of-life")
_PACKAGE_KEYS = ("name", "retired_at", "reason", "reference_url", "comment")
_DISTRIBUTION = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_RELEASE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# rpm: letters, digits and . _ + - (Fedora naming guidelines); deb: Debian policy 5.6.1.
_NAMES = {
    "rpm": (re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}"), "letters, digits, . _ + -"),
    "deb": (re.compile(r"[a-z0-9][a-z0-9.+-]{1,254}"), "lowercase letters, digits, . + -"),
}
_MAX_REASON = 4000
_MAX_URL = 2000


class _Bad(Exception):
    """One package entry cannot be used; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Defaults:
    """The document-level values every package entry starts from."""

    distros: tuple[str, ...]
    package_type: str
    kind: str
    retired_at: date
    reason: str
    reference_url: str


def parse(data: bytes, *, limits: FeedLimits = FeedLimits(), name: str = "") -> FeedParse:
    """The retired packages of a patchproof-retired document (see the module docstring).
    FeedError for document-level problems; RecordErrors for bad package entries."""
    data = decompress(data, limits)
    kind = describe_text(data)
    if kind:
        raise FeedError(f"this is {kind}, not a {FORMAT} list")
    document = feed_json(data, limits)
    _check_header(document)
    defaults = _defaults(document)
    packages = document["packages"]
    if not isinstance(packages, list):
        raise FeedError(f'"packages" must be an array, found {json_type(packages)}', location="$")
    if len(packages) > limits.max_records:
        raise FeedError(
            f"{len(packages):,} packages; the limit is {limits.max_records:,} (max_records)"
        )
    result = FeedParse()
    _read_packages(packages, defaults, limits, result)
    scope = ", ".join(defaults.distros) if "releases" in document else "every release"
    if defaults.kind == "end-of-life":
        result.note = (
            f"{scope}: end of life {defaults.retired_at.isoformat()} "
            f"({len(packages)} release marker package(s))"
        )
    else:
        result.note = (
            f"{document['distribution']}: {len(packages)} package(s) retired "
            f"{defaults.retired_at.isoformat()} ({scope})"
        )
    return result


def _check_header(document: object) -> None:
    """FeedError unless `document` is a version-1 patchproof-retired object with only known
    top-level keys and every required one."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        kind = describe_document(document)
        if kind and kind != "a patchproof retired-packages list":
            raise FeedError(f"this is {kind}, not a {FORMAT} list")
        found = document.get("format") if isinstance(document, dict) else None
        what = f'"format" is {found!r:.60}' if found is not None else f"no {FORMAT!r} format"
        raise FeedError(f'not a {FORMAT} list: {what} (expected "format": "{FORMAT}")')
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        raise FeedError(
            f"unsupported {FORMAT} version {version!r:.20}; this parser reads version {VERSION}",
            location="$.version",
        )
    unknown = sorted(str(k) for k in document if k not in _TOP_REQUIRED + _TOP_OPTIONAL)
    if unknown:
        raise FeedError(
            f"unknown field(s) {', '.join(unknown)[:200]}; known fields are "
            f"{', '.join(_TOP_REQUIRED + _TOP_OPTIONAL)}"
        )
    missing = [key for key in _TOP_REQUIRED if key not in document]
    if missing:
        raise FeedError(f"missing required field(s): {', '.join(missing)}")


def _defaults(document: dict[str, Any]) -> _Defaults:
    """The document-level values, validated; FeedError naming the first bad one."""
    try:
        distribution = _distribution(document["distribution"])
        package_type = document.get("package_type", "rpm")
        if package_type not in _NAMES:
            raise _Bad(f'"package_type" must be one of {", ".join(_NAMES)}')
        kind = document.get("kind", "retired")
        if kind not in KINDS:
            raise _Bad(f'"kind" must be one of {", ".join(KINDS)}, found {kind!r:.40}')
        if kind == "end-of-life" and "releases" not in document:
            raise _Bad('an end-of-life list must name its "releases" (e.g. ["fedora-38"])')
        return _Defaults(
            distros=_releases(document.get("releases"), distribution),
            package_type=package_type,
            kind=kind,
            retired_at=_date(document["retired_at"], "retired_at"),
            reason=_reason(document["reason"]),
            reference_url=_url(document["reference_url"]),
        )
    except _Bad as exc:
        raise FeedError(exc.message, location="$") from None


def _distribution(value: object) -> str:
    """The `distribution` value if it is an os-release ID."""
    if not isinstance(value, str) or not _DISTRIBUTION.fullmatch(value):
        raise _Bad(
            f'"distribution" must be an os-release ID such as "fedora" (lowercase letters, '
            f"digits, . _ -), found {value!r:.60}"
        )
    return value


def _releases(value: object, distribution: str) -> tuple[str, ...]:
    """The `releases` ("fedora-41" ...), or (distribution,) when the field is absent."""
    if value is None:
        return (distribution,)
    if not isinstance(value, list) or not value:
        raise _Bad('"releases" must be a non-empty array (omit it for every release)')
    releases: list[str] = []
    for item in value:
        prefix = f"{distribution}-"
        if (
            not isinstance(item, str)
            or not item.startswith(prefix)
            or not _RELEASE_ID.fullmatch(item[len(prefix) :])
        ):
            raise _Bad(f'"releases" entries must look like "{prefix}41", found {item!r:.60}')
        if item in releases:
            raise _Bad(f'"releases" lists {item} twice')
        releases.append(item)
    return tuple(releases)


def _date(value: object, key: str) -> date:
    """A strict YYYY-MM-DD date."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise _Bad(f'"{key}" must be a YYYY-MM-DD date, found {value!r:.40}')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad(f'"{key}" {value!r} is not a valid date') from None


def _reason(value: object) -> str:
    """A non-empty reason, whitespace runs folded to single spaces."""
    if not isinstance(value, str) or not value.strip():
        raise _Bad('"reason" must be a non-empty string')
    if len(value) > _MAX_REASON:
        raise _Bad(f'"reason" is {len(value):,} characters long; the limit is {_MAX_REASON:,}')
    return " ".join(value.split())


def _url(value: object) -> str:
    """An absolute http(s) URL without spaces."""
    if not isinstance(value, str) or len(value) > _MAX_URL or any(c.isspace() for c in value):
        raise _Bad(f'"reference_url" must be an http(s) URL, found {value!r:.80}')
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Bad(f'"reference_url" must be an http(s) URL, found {value!r:.80}')
    return value


def _read_packages(
    packages: list[Any], defaults: _Defaults, limits: FeedLimits, result: FeedParse
) -> None:
    """Adds the RetiredPackage rows of each good entry, a RecordError for each bad one."""
    first_seen: dict[str, int] = {}
    for index, value in enumerate(packages):
        result.records_seen += 1
        location = _location(index, value)
        try:
            rows = _rows(value, defaults)
        except _Bad as exc:
            result.errors.append(RecordError(location, exc.message))
            continue
        package = rows[0].name
        if package in first_seen:
            first = first_seen[package]
            message = f"{package} is listed twice (first at packages[{first}])"
            result.errors.append(RecordError(location, message))
            continue
        first_seen[package] = index
        result.retired.extend(rows)


def _location(index: int, value: object) -> str:
    """ "packages[3] (name)", without the name when there is none."""
    name = value.get("name") if isinstance(value, dict) else value
    if isinstance(name, str) and name:
        return f"packages[{index}] ({name[:80]})"
    return f"packages[{index}]"


def _rows(value: object, defaults: _Defaults) -> list[RetiredPackage]:
    """One RetiredPackage per release for one package entry; _Bad when it is unusable."""
    entry: dict[str, Any] = {"name": value} if isinstance(value, str) else _entry(value)
    name = _name(entry.get("name"), defaults.package_type)
    retired_at = defaults.retired_at
    if "retired_at" in entry:
        retired_at = _date(entry["retired_at"], "retired_at")
    reason = _reason(entry["reason"]) if "reason" in entry else defaults.reason
    url = _url(entry["reference_url"]) if "reference_url" in entry else defaults.reference_url
    return [
        RetiredPackage(
            distro=distro,
            name=name,
            retired_at=retired_at,
            reason=reason,
            reference_url=url,
            package_type=defaults.package_type,
            kind=defaults.kind,
        )
        for distro in defaults.distros
    ]


def _entry(value: object) -> dict[str, Any]:
    """A package object with known keys only."""
    if not isinstance(value, dict):
        raise _Bad(f"expected a package name or an object, found {json_type(value)}")
    unknown = sorted(str(k) for k in value if k not in _PACKAGE_KEYS)
    if unknown:
        raise _Bad(
            f"unknown field(s) {', '.join(unknown)[:200]}; known fields are "
            f"{', '.join(_PACKAGE_KEYS)}"
        )
    return value


def _name(value: object, package_type: str) -> str:
    """A package name valid for `package_type`."""
    pattern, allowed = _NAMES[package_type]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _Bad(f"not a valid {package_type} package name ({allowed}): {value!r:.80}")
    return value
