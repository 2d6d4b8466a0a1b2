"""Purls: the fast split agrees with packageurl-python wherever it is used; epoch, release,
arch and distro; CPEs; derived purls; hash algorithm names."""

from __future__ import annotations

import json
import lzma
import re
from pathlib import Path

import pytest
from packageurl import PackageURL

from evidence.sbom.components import hash_algorithm, licence_expression
from evidence.sbom.purls import Purl, cpe_parts, purl_fast, purl_generic, purl_parse, purl_slow

TRICKY = [
    "pkg:rpm/redhat/openssl@3.0.7-18.el9_2?arch=src&epoch=1",
    "pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&epoch=1&distro=centos-7.6.1810",
    "pkg:rpm/redhat/acl@2.3.1-4.el9?arch=x86_64&upstream=acl-2.3.1-4.el9.src.rpm&distro=rhel-9.4",
    "pkg:rpm/redhat/ruby@2.5.9-111.module%2Bel8.9.0%2B19193%2B435404ae?arch=i686",
    "pkg:rpm/fedora/gcc-c%2B%2B@13.2.1-3.fc40?arch=x86_64",
    "pkg:rpm/fedora/gcc-c++@13.2.1-3.fc40?arch=x86_64",
    "pkg:rpm/x/y@1.0%5Egit1",
    "pkg:rpm/x/y@1.0~rc1",
    "pkg:deb/debian/passwd@1:4.13%2Bdfsg1-1%2Bdeb12u1?arch=amd64",
    "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
    "pkg:oci/ubi-micro@sha256:abc?arch=amd64&repository_url=registry.access.redhat.com/ubi9",
    "pkg:oci/UBI@sha256:ABC",
    "pkg:npm/%40angular/core@16.0.0",
    "pkg:npm/lodash@4.17.21",
    "pkg:npm/Lodash@4.17.21",
    "pkg:pypi/Django_Rest@3.0",
    "pkg:pypi/django@5.2",
    "pkg:maven/org.apache/zookeeper@3.9.2?type=jar",
    "pkg:maven/org.apache/zookeeper@3.9.2?type=jar&classifier=tests",
    "pkg:golang/github.com/Masterminds/semver@v3.2.1",
    "pkg:golang/golang.org/x/net@v0.0.0-20190404232315-eb5bcb51f2a3",
    "pkg:composer/Laravel/Framework@7.12.0",
    "pkg:github/Package-URL/purl-spec@244fd47e07d1004",
    "pkg:generic/openssl@1.1.1?download_url=https://openssl.org/source/openssl-1.1.1.tar.gz",
    "pkg:generic/x@1#sub/path",
    "pkg:generic/x@1?a=1&a=2",
    "pkg:generic/x@1?A=1",
    "pkg:generic/x@1?a=",
    "pkg:generic/a//b@1",
    "pkg:generic/a/b/@1",
    "pkg:generic/x@",
    "pkg:RPM/fedora/x@1",
    "PKG:rpm/fedora/x@1",
    "pkg://rpm/fedora/x@1",
    "pkg:rpm/fedora/x@1:2@3",
    "pkg:swift/github.com/Alamofire/Alamofire@5.4.3",
    "pkg:cpan/DROLSKY/DateTime@1.55",
    "pkg:hackage/a_b@1",
    "pkg:apk/alpine/curl@8.5.0-r0?arch=x86_64&distro=alpine-3.19",
    "pkg:generic/name%20with%20spaces@1",
    "pkg:generic/x@1.0/2",
]


def reference(purl: str) -> Purl | None:
    try:
        return purl_slow(purl)
    except ValueError:
        return None


def fixture_purls(fixtures_dir: Path) -> set[str]:
    found: set[str] = set()
    for path in sorted((fixtures_dir / "cyclonedx").iterdir()) + sorted(
        (fixtures_dir / "spdx").iterdir()
    ):
        data = path.read_bytes()
        if path.suffix == ".xz":
            data = lzma.decompress(data)
        text = data.decode("utf-8", "replace")
        found.update(re.findall(r"pkg:[^\s\"'<>]+", text.replace("&amp;", "&")))
    return found


@pytest.mark.parametrize("purl", TRICKY)
def test_fast_split_agrees_with_packageurl_python(purl: str) -> None:
    fast = purl_fast(purl)
    if fast is not None:
        assert fast == reference(purl)


def test_fast_split_agrees_on_every_purl_of_the_fixtures(fixtures_dir: Path) -> None:
    purls = fixture_purls(fixtures_dir)
    assert len(purls) > 1000
    fast_count = 0
    for purl in purls:
        fast = purl_fast(purl)
        if fast is not None:
            fast_count += 1
            assert fast == reference(purl), purl
    assert fast_count > len(purls) * 0.8  # the fast path is the common path


def test_canonical_form_sorts_qualifiers_and_encodes() -> None:
    assert purl_parse(TRICKY[1]).canonical == (
        "pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&distro=centos-7.6.1810&epoch=1"
    )
    assert purl_parse("pkg:rpm/fedora/gcc-c++@13.2.1-3.fc40").canonical == (
        "pkg:rpm/fedora/gcc-c%2B%2B@13.2.1-3.fc40"
    )
    parsed = purl_parse(TRICKY[3])
    assert parsed.version == "2.5.9-111.module+el8.9.0+19193+435404ae"  # decoded
    assert parsed.canonical == PackageURL.from_string(TRICKY[3]).to_string()


def test_not_a_purl_raises_value_error() -> None:
    for garbage in ("not a purl", "pkg:", "pkg:/", "pkg:rpm", "pkg:1rpm/x"):
        with pytest.raises(ValueError):
            purl_parse(garbage)


def test_fields_the_ledger_needs() -> None:
    from evidence.sbom import sbom_parse

    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [
            {"type": "library", "name": "a", "purl": TRICKY[0]},
            {"type": "library", "name": "b", "purl": TRICKY[8]},
            {"type": "library", "name": "c", "purl": "pkg:rpm/fedora/dbus@1:1.14.10-3.fc40"},
            {"type": "library", "name": "d", "purl": TRICKY[38]},
            {"type": "library", "name": "e", "purl": "pkg:npm/lodash@4.17.21"},
        ],
    }
    a, b, c, d, e = sbom_parse(json.dumps(doc).encode()).components
    assert (a.epoch, a.release, a.arch, a.distro) == ("1", "18.el9_2", "src", "")
    assert (b.epoch, b.release, b.version) == ("1", "1+deb12u1", "1:4.13+dfsg1-1+deb12u1")
    assert (c.epoch, c.release) == ("1", "3.fc40")
    assert (d.epoch, d.release, d.arch, d.distro) == ("", "", "x86_64", "alpine-3.19")
    assert (e.type, e.namespace, e.name, e.epoch, e.release) == ("npm", "", "lodash", "", "")


@pytest.mark.parametrize(
    ("cpe", "parts"),
    [
        ("cpe:2.3:a:redhat:acl:2.3.1-4.el9:*:*:*:*:*:*:*", ("redhat", "acl", "2.3.1-4.el9")),
        ("cpe:2.3:a:vendor:prod\\:uct:*:*:*:*:*:*:*:*", ("vendor", "prod:uct", "")),
        ("cpe:/a:redhat:rhel_eus:9.2::appstream", ("redhat", "rhel_eus", "9.2")),
        ("cpe:/o:redhat:enterprise_linux:9", ("redhat", "enterprise_linux", "9")),
        ("cpe:2.3:a:*:*:*:*:*:*:*:*:*:*", None),
        ("not a cpe", None),
    ],
)
def test_cpe_parts(cpe: str, parts: tuple[str, str, str] | None) -> None:
    assert cpe_parts(cpe) == parts


def test_generic_purls_are_canonical() -> None:
    derived = purl_generic(name="Red Hat Enterprise Linux", version="9.2 MAIN+EUS")
    assert derived.canonical == "pkg:generic/Red%20Hat%20Enterprise%20Linux@9.2%20MAIN%2BEUS"
    assert PackageURL.from_string(derived.canonical).to_string() == derived.canonical
    assert purl_generic(name="zlib", namespace="madler").canonical == "pkg:generic/madler/zlib"


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("SHA-256", "sha256"),
        ("SHA256", "sha256"),
        ("sha256", "sha256"),
        ("SHA-1", "sha1"),
        ("SHA3-256", "sha3-256"),
        ("sha3_256", "sha3-256"),
        ("BLAKE2b-256", "blake2b-256"),
        ("blake2b256", "blake2b-256"),
        ("MD5", "md5"),
        ("ADLER32", "adler32"),
    ],
)
def test_hash_algorithm_names(spelling: str, name: str) -> None:
    assert hash_algorithm(spelling) == name


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("(MIT OR Apache-2.0)", "MIT OR Apache-2.0"),
        (" MIT ", "MIT"),
        ("(A) OR (B)", "(A) OR (B)"),
        ("((A OR B))", "(A OR B)"),
    ],
)
def test_licence_expression_loses_only_outer_parentheses(written: str, read: str) -> None:
    assert licence_expression(written) == read
