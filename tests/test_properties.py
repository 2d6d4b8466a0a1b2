"""Property tests: parsers of untrusted input fail only in their documented way, and version
comparison is a total order.

Every parser here reads bytes from outside (uploads, feeds): on any input it returns a result or
raises its module's documented refusal (SbomParseError, FeedError, VexError; all ValueErrors
that name the problem), never anything else. Inputs mix pure noise with near-misses built from
the formats' own skeletons, which reach deeper than random bytes do.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evidence import versions
from evidence.feeds import kev, osv, updateinfo
from evidence.feeds.model import FeedError, FeedLimits
from evidence.sbom.model import Limits, SbomParseError
from evidence.sbom.parse import sbom_parse
from evidence.sbom.purls import purl_parse
from evidence.vex import VexError, vex_parse

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
SMALL_SBOM = Limits(max_bytes=64 * 1024, max_decompressed_bytes=256 * 1024)
SMALL_FEED = FeedLimits(max_bytes=64 * 1024, max_decompressed_bytes=256 * 1024)

# --- generated documents -----------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _with(skeleton: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The skeleton with some keys replaced by arbitrary JSON and arbitrary keys added."""
    keys = sorted(skeleton)
    return st.builds(
        lambda replaced, extra: {**skeleton, **replaced, **extra},
        st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys)),
        st.dictionaries(st.text(max_size=10), json_values, max_size=3),
    )


CYCLONEDX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "version": 1,
    "metadata": {"component": {"type": "operating-system", "name": "web-01"}},
    "components": [
        {
            "type": "library",
            "name": "bash",
            "version": "5.2-1",
            "purl": "pkg:rpm/azurelinux/bash@5.2-1?arch=x86_64",
        }
    ],
}
SPDX2 = {
    "spdxVersion": "SPDX-2.3",
    "dataLicense": "CC0-1.0",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "web-01",
    "documentNamespace": "https://example.test/web-01",
    "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: x"]},
    "packages": [{"SPDXID": "SPDXRef-1", "name": "bash", "versionInfo": "5.2-1"}],
}
OSV = {
    "id": "OSV-2026-1",
    "modified": "2026-01-01T00:00:00Z",
    "summary": "overflow",
    "affected": [
        {
            "package": {"ecosystem": "Azure Linux:3", "name": "bash"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.2-2"}]}],
        }
    ],
}
KEV = {
    "catalogVersion": "2026.01.01",
    "count": 1,
    "vulnerabilities": [
        {"cveID": "CVE-2026-0001", "dateAdded": "2026-01-01", "dueDate": "2026-01-22"}
    ],
}


def _encoded(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return documents.map(lambda d: json.dumps(d, allow_nan=True).encode())


def _inputs(*skeletons: dict[str, Any]) -> st.SearchStrategy[bytes]:
    near = st.one_of(*[_encoded(_with(s)) for s in skeletons])
    return st.one_of(
        st.binary(max_size=512),
        st.text(max_size=256).map(str.encode),
        _encoded(json_values),
        near,
        near.map(gzip.compress),
    )


def _refuses_only_with(error: type[Exception], parse: Any, data: bytes) -> None:
    with contextlib.suppress(error):
        parse(data)


# --- SBOMs ---------------------------------------------------------------------------------------


@PROPERTY
@given(data=_inputs(CYCLONEDX, SPDX2))
def test_sbom_parse_raises_only_sbom_parse_error(data: bytes) -> None:
    _refuses_only_with(SbomParseError, functools.partial(sbom_parse, limits=SMALL_SBOM), data)


SPDX_TAG_VALUE = "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n"
CYCLONEDX_XML = '<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><components>'


@PROPERTY
@given(
    head=st.sampled_from([SPDX_TAG_VALUE, CYCLONEDX_XML, "<?xml version='1.0'?>", "---\n"]),
    tail=st.text(max_size=300),
)
def test_sbom_parse_of_broken_text_formats_raises_only_sbom_parse_error(
    head: str, tail: str
) -> None:
    data = (head + tail).encode()
    _refuses_only_with(SbomParseError, functools.partial(sbom_parse, limits=SMALL_SBOM), data)


# --- feeds and VEX -------------------------------------------------------------------------------


@PROPERTY
@given(data=_inputs(OSV, {"vulns": [OSV]}))
def test_osv_parse_raises_only_feed_error(data: bytes) -> None:
    _refuses_only_with(FeedError, functools.partial(osv.parse, limits=SMALL_FEED), data)


@PROPERTY
@given(data=_inputs(KEV))
def test_kev_parse_raises_only_feed_error(data: bytes) -> None:
    _refuses_only_with(FeedError, functools.partial(kev.parse, limits=SMALL_FEED), data)


UPDATEINFO = (
    '<?xml version="1.0"?><updates><update type="security" status="final">'
    '<id>{id}</id><title>{title}</title><issued date="{date}"/>'
    '<references><reference type="cve" id="{cve}"/></references>'
    '<pkglist><collection><package name="{name}" version="{version}" release="1" epoch="0" '
    'arch="x86_64"/></collection></pkglist></update></updates>'
)
xml_text = st.text(max_size=20).map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;"))


@PROPERTY
@given(
    data=st.one_of(
        st.binary(max_size=512),
        st.builds(
            lambda **fields: UPDATEINFO.format(**fields).encode(),
            id=xml_text,
            title=xml_text,
            date=xml_text,
            cve=xml_text,
            name=xml_text.map(lambda t: t.replace('"', "&quot;")),
            version=xml_text.map(lambda t: t.replace('"', "&quot;")),
        ),
        st.text(max_size=200).map(lambda t: f"<updates>{t}</updates>".encode()),
    )
)
def test_updateinfo_parse_raises_only_feed_error(data: bytes) -> None:
    _refuses_only_with(FeedError, functools.partial(updateinfo.parse, limits=SMALL_FEED), data)


OPENVEX = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    "@id": "https://example.test/vex-1",
    "author": "Acme",
    "timestamp": "2026-01-01T00:00:00Z",
    "version": 1,
    "statements": [
        {
            "vulnerability": {"name": "CVE-2026-0001"},
            "products": [{"@id": "pkg:rpm/azurelinux/bash@5.2-1"}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_present",
        }
    ],
}


@PROPERTY
@given(data=_inputs(OPENVEX))
def test_vex_parse_raises_only_vex_error(data: bytes) -> None:
    _refuses_only_with(VexError, functools.partial(vex_parse, max_bytes=64 * 1024), data)


# --- versions ------------------------------------------------------------------------------------

RPM_CHARS = "0123456789abzAZ._+~^"
rpm_versions = st.builds(
    lambda epoch, version, release: f"{epoch}{version}" + (f"-{release}" if release else ""),
    st.sampled_from(["", "0:", "1:", "2:"]),
    st.text(alphabet=RPM_CHARS, min_size=1, max_size=8),
    st.none() | st.text(alphabet=RPM_CHARS, min_size=1, max_size=6),
)
deb_versions = st.builds(
    lambda epoch, first, upstream, revision: (
        f"{epoch}{first}{upstream}" + (f"-{revision}" if revision else "")
    ),
    st.sampled_from(["", "0:", "1:"]),
    st.sampled_from("0123456789"),
    st.text(alphabet="0123456789abzAZ.+~", max_size=8),
    st.none() | st.text(alphabet="0123456789abzAZ.+~", min_size=1, max_size=6),
)
SCHEME_VERSIONS = {"rpm": rpm_versions, "deb": deb_versions}


def _valid(scheme: str, version: str) -> bool:
    try:
        versions.validate(scheme, version)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("scheme", sorted(SCHEME_VERSIONS))
@PROPERTY
@given(data=st.data())
def test_version_comparison_is_a_total_order(scheme: str, data: st.DataObject) -> None:
    drawn = data.draw(st.lists(SCHEME_VERSIONS[scheme], min_size=3, max_size=3))
    assume(all(_valid(scheme, v) for v in drawn))
    a, b, c = drawn
    cmp = functools.partial(versions.compare, scheme)
    assert cmp(a, a) == 0  # reflexive
    assert cmp(a, b) == -cmp(b, a)  # antisymmetric
    if cmp(a, b) <= 0 and cmp(b, c) <= 0:
        assert cmp(a, c) <= 0  # transitive
    if cmp(a, b) == 0:
        assert cmp(a, c) == cmp(b, c)  # equal versions are interchangeable
    ordered = sorted(drawn, key=lambda v: versions.sort_key(scheme, v))
    assert all(cmp(x, y) <= 0 for x, y in itertools.pairwise(ordered))


@PROPERTY
@given(
    scheme=st.sampled_from(versions.SCHEMES) | st.text(max_size=8),
    a=st.text(max_size=40),
    b=st.text(max_size=40),
)
def test_version_comparison_of_any_text_raises_only_value_error(
    scheme: str, a: str, b: str
) -> None:
    try:
        result = versions.compare(scheme, a, b)
    except ValueError:
        return
    assert result in (-1, 0, 1)


@PROPERTY
@given(
    vers=st.one_of(
        st.text(max_size=60),
        st.builds(
            lambda scheme, body: f"vers:{scheme}/{body}",
            st.sampled_from(versions.SCHEMES),
            st.text(alphabet="0123456789.<>=!|*:~-abc% ", max_size=30),
        ),
    ),
    version=st.text(alphabet="0123456789.:~-abc", max_size=12),
)
def test_range_containment_raises_only_value_error(vers: str, version: str) -> None:
    try:
        result = versions.contains(vers, version)
    except ValueError:
        return
    assert isinstance(result, bool)


# --- package URLs --------------------------------------------------------------------------------

purl_segment = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12
)


@PROPERTY
@given(
    ptype=st.sampled_from(["rpm", "deb", "npm", "pypi", "generic", "maven", "golang"]),
    namespace=st.none() | purl_segment,
    name=purl_segment,
    version=st.none() | purl_segment,
    qualifiers=st.dictionaries(
        st.sampled_from(["arch", "distro", "epoch", "repository_url"]), purl_segment, max_size=3
    ),
)
def test_purl_canonical_form_round_trips(
    ptype: str, namespace: str | None, name: str, version: str | None, qualifiers: dict
) -> None:
    from packageurl import PackageURL

    try:
        text = PackageURL(ptype, namespace, name, version, qualifiers).to_string()
        parsed = purl_parse(text)
    except ValueError:
        return  # packageurl-python itself refuses some (e.g. a maven purl without namespace)
    again = purl_parse(parsed.canonical)
    assert again == parsed
    assert again.canonical == parsed.canonical
    assert (again.name, again.version) == (parsed.name, parsed.version)


@PROPERTY
@given(text=st.text(max_size=80) | st.text(max_size=60).map(lambda t: f"pkg:{t}"))
def test_purl_parse_of_any_text_raises_only_value_error(text: str) -> None:
    try:
        parsed = purl_parse(text)
    except ValueError:
        return
    assert purl_parse(parsed.canonical) == parsed
