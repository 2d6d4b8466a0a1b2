"""Package URLs: the canonical form of a purl string, and purls derived from names and CPEs.

packageurl-python is the reference. Parsing every purl with it costs ~20 us, which would be
most of the time of a 10,000-component document, so a purl made only of characters that need no
percent-encoding, of a type without type-specific normalisation, is split here directly (its
qualifiers sorted if they are not). `purl_parse` gives the same result as packageurl-python for
those strings (tests/sbom/test_purls.py checks it on every purl of the fixtures and on tricky
ones); anything else goes through packageurl-python, with a small cache.
"""

from __future__ import annotations

import re
from functools import lru_cache
from sys import intern
from typing import NamedTuple

from packageurl import PackageURL
from packageurl import quote as packageurl_quote


class Purl(NamedTuple):
    """A parsed purl. `canonical` is packageurl-python's `to_string()`; the other fields are
    decoded (no percent-escapes), empty strings when absent. `arch`, `distro` and `epoch` are
    the qualifiers of those names. Strings that repeat across a document (type, namespace,
    qualifier values) are interned."""

    canonical: str
    type: str
    namespace: str
    name: str
    version: str
    qualifiers: dict[str, str]
    arch: str
    distro: str
    epoch: str


# A purl whose type, namespace segments, name and version are made only of characters that
# percent-encoding leaves alone ('#', '%', '?', '&', '=', '+' and spaces are not among them),
# so that it needs no decoding: type, namespace (segments joined by single slashes), name,
# version (':' allowed, as in an epoch) and the raw query after the first '?'.
# Possessive quantifiers: no backtracking; the namespace group keeps its trailing slash.
_FAST_PURL = re.compile(
    r"pkg:([A-Za-z0-9._~-]++)/((?:[A-Za-z0-9._~-]++/)*+)([A-Za-z0-9._~-]++)"
    r"(?:@([A-Za-z0-9._~:-]++))?(?:\?(.*))?"
).fullmatch
_QUALIFIER = re.compile(r"([a-z][a-z0-9._-]*)=([A-Za-z0-9._~:/-]+)")
# Types for which packageurl-python applies no type-specific normalisation to such strings.
_FAST_TYPES = frozenset(
    {
        "rpm", "deb", "maven", "golang", "generic", "cargo", "gem", "nuget", "conan",
        "conda", "cocoapods", "swift", "docker", "cran", "swid",
    }
)  # fmt: skip
# Types whose name (and namespace) packageurl-python lowercases: fast only when already lowercase.
_LOWERCASED_TYPES = frozenset({"npm", "pypi", "composer", "apk", "alpm", "github", "gitlab", "oci"})
_new_purl = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path
_NO_QUALIFIERS: dict[str, str] = {}  # shared: Purl.qualifiers is read-only by convention
_Query = tuple[str, dict[str, str], str, str, str]
_queries: dict[str, _Query | None] = {}
_QUERIES_KEPT = 4096
_UNSEEN: _Query = ("", {}, "", "", "")  # a marker: never a cached value

_EPOCH_PREFIX = re.compile(r"(\d+):")


def _query(query: str) -> _Query | None:
    """(canonical query, qualifiers, arch, distro, epoch) of a query made only of safe
    characters and lowercase keys, each key once; None otherwise. Documents repeat a handful of
    queries (arch, distro, epoch) thousands of times, so results are kept."""
    if query in _queries:
        return _queries[query]
    pairs: list[tuple[str, str]] = []
    for pair in query.split("&"):
        match = _QUALIFIER.fullmatch(pair)
        if match is None:
            pairs = []
            break
        pairs.append((match.group(1), match.group(2)))
    qualifiers = dict(pairs)
    result = None
    if pairs and len(qualifiers) == len(pairs):
        ordered = {intern(key): intern(value) for key, value in sorted(pairs)}
        result = (
            "&".join(f"{key}={value}" for key, value in ordered.items()),
            ordered,
            *_qualifier_fields(ordered),
        )
    if len(_queries) >= _QUERIES_KEPT:
        _queries.clear()
    _queries[query] = result
    return result


def _qualifier_fields(qualifiers: dict[str, str]) -> tuple[str, str, str]:
    return (
        intern(qualifiers.get("arch", "")),
        intern(qualifiers.get("distro", "")),
        intern(qualifiers.get("epoch", "")),
    )


def purl_fast(purl: str) -> Purl | None:
    """The parsed purl if it needs no decoding and no type-specific normalisation, else None
    (then packageurl-python decides: see `purl_parse`)."""
    match = _FAST_PURL(purl)
    if match is None:
        return None
    ptype, namespace, name, version, query = match.groups()
    if namespace:
        namespace = intern(namespace[:-1])
    if ptype not in _FAST_TYPES:
        if ptype not in _LOWERCASED_TYPES:
            return None
        if name != name.lower() or (namespace and namespace != namespace.lower()):
            return None
        if ptype == "pypi" and "_" in name:
            return None
        if ptype == "oci" and version and version != version.lower():
            return None
    if query is None:
        return _new_purl(
            Purl,
            (
                purl, intern(ptype), namespace, name, version or "", _NO_QUALIFIERS, "", "", "",
            ),
        )  # fmt: skip
    parsed = _queries.get(query, _UNSEEN)
    if parsed is _UNSEEN:
        parsed = _query(query)
    if parsed is None:
        return None
    canonical_query, qualifiers, arch, distro, epoch = parsed
    if canonical_query != query:
        purl = f"{purl[: match.start(5) - 1]}?{canonical_query}"
    return _new_purl(
        Purl,
        (
            purl, intern(ptype), namespace, name, version or "", qualifiers, arch, distro, epoch,
        ),
    )  # fmt: skip


@lru_cache(maxsize=4096)
def purl_slow(purl: str) -> Purl:
    """packageurl-python's reading of `purl` (ValueError if it is not one), cached."""
    parsed = PackageURL.from_string(purl)
    qualifiers = dict(parsed.qualifiers or {})
    return Purl(
        parsed.to_string(),
        intern(parsed.type),
        intern(parsed.namespace or ""),
        parsed.name,
        parsed.version or "",
        qualifiers,
        *_qualifier_fields(qualifiers),
    )


def purl_parse(purl: str) -> Purl:
    """The purl `purl` parsed and in canonical form. Raises ValueError if it is not a purl.

    The `qualifiers` dict may be shared between results: do not modify it."""
    return purl_fast(purl) or purl_slow(purl)


def purl_generic(*, name: str, version: str = "", namespace: str = "") -> Purl:
    """The `pkg:generic` purl for a component that has no purl of its own."""
    built = PackageURL(
        type="generic", namespace=namespace or None, name=name, version=version or None
    )
    if "/" not in name:
        return purl_slow(built.to_string())
    # packageurl-python leaves a '/' inside a name unencoded, which reads back as a namespace
    # ('debian-gnu/linux' would become namespace 'debian-gnu', name 'linux'); the purl spec
    # percent-encodes it, so build that form and keep the name as given.
    text = "pkg:generic/"
    if namespace:
        text += "/".join(packageurl_quote(part) for part in namespace.split("/")) + "/"
    text += packageurl_quote(name).replace("/", "%2F")
    if version:
        text += "@" + packageurl_quote(version)
    return Purl(text, "generic", namespace, name, version, {}, *_qualifier_fields({}))


def epoch_of(purl: Purl) -> str:
    """The rpm/deb epoch: the `epoch` qualifier, else an `E:` prefix of the version."""
    if purl.epoch:
        return purl.epoch
    match = _EPOCH_PREFIX.match(purl.version)
    return intern(match.group(1)) if match else ""


_CPE23 = re.compile(r"cpe:2\.3:[aho\*\-]:((?:[^:\\]|\\.)*):((?:[^:\\]|\\.)*):((?:[^:\\]|\\.)*)")
_CPE22 = re.compile(r"cpe:/[aho]?:([^:]*):([^:]*)(?::([^:]*))?")
_CPE_ANY = frozenset({"", "*", "-", "NA"})


def cpe_parts(cpe: str) -> tuple[str, str, str] | None:
    """(vendor, product, version) of a CPE 2.3 formatted string or CPE 2.2 URI, unescaped,
    with ANY/NA values as ''; None if `cpe` is neither or names no product."""
    match = _CPE23.match(cpe)
    if match:
        vendor, product, version = (re.sub(r"\\(.)", r"\1", g) for g in match.groups())
    else:
        match = _CPE22.match(cpe)
        if match is None:
            return None
        vendor, product, version = (g or "" for g in match.groups())
    vendor, product, version = ("" if v in _CPE_ANY else v for v in (vendor, product, version))
    if not product:
        return None
    return vendor, product, version
