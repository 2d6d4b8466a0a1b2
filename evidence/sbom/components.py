"""Building `Component`s from the identity fields a parser found, whatever the format.

Every parser hands each counted entry to `ComponentBuilder.add` (or `append`, its positional
twin for the per-component loops), which enforces the per-string
and component-count limits, canonicalises or derives the purl, normalises hashes, warns about
duplicate references, and keeps the tallies the NTIA coverage is computed from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from sys import intern as _intern

from evidence.sbom.findings import Findings
from evidence.sbom.model import Component, Limits, SbomParseError
from evidence.sbom.purls import Purl, cpe_parts, epoch_of, purl_fast, purl_generic, purl_slow

HEX_DIGITS = re.compile(r"[0-9a-f]+")
_BLAKE = re.compile(r"blake2b-?(\d+)")
_EVR_TYPES = frozenset({"rpm", "deb"})

# Spellings seen so far -> hash_algorithm(spelling), for lookups on the hot path.
ALGORITHMS: dict[str, str] = {}


def hash_algorithm(name: str) -> str:
    """One spelling per algorithm: 'SHA-256', 'SHA256' and 'sha256' are all 'sha256';
    'SHA3-256' and 'sha3_256' are 'sha3-256'; 'BLAKE2b-256' and 'blake2b256' are 'blake2b-256'."""
    alg = name.strip().lower().replace("_", "-")
    if alg.startswith("sha-"):
        alg = "sha" + alg[4:]
    blake = _BLAKE.fullmatch(alg)
    if blake:
        alg = f"blake2b-{blake.group(1)}"
    alg = _intern(alg)
    if len(ALGORITHMS) < 256:
        ALGORITHMS[name] = alg
    return alg


def licence_expression(text: str) -> str:
    """A licence expression without surrounding whitespace or one pair of parentheses around
    all of it: '(MIT OR Apache-2.0)' and 'MIT OR Apache-2.0' are the same licence."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        depth = 0
        for index, char in enumerate(text):
            depth += (char == "(") - (char == ")")
            if depth == 0 and index < len(text) - 1:
                return text  # '(A) OR (B)': the first parenthesis closes early
        return text[1:-1].strip()
    return text


# purl string -> its parse (a pure function of the string), for the purls seen lately: a
# host's next snapshot, and the other hosts of a fleet, repeat most of them. Cleared when full,
# like the purl query cache; only purls of ordinary length are kept, so that it stays a few MB
# whatever a hostile document holds.
_purls: dict[str, Purl] = {}
_PURLS_KEPT = 16_384
_PURL_KEPT_CHARS = 256

# Components are built on the hot path with tuple.__new__, which skips the named tuple's
# Python-level __new__ (keywords, defaults: half as much again); tests/sbom/test_cyclonedx.py
# checks that both give equal components.
_new = tuple.__new__


def component_new(
    purl: str,
    ptype: str,
    name: str,
    version: str,
    namespace: str,
    epoch: str,
    release: str,
    arch: str,
    distro: str,
    cpe: str,
    hashes: tuple[tuple[str, str], ...],
    licenses: tuple[str, ...],
    supplier: str,
    bom_ref: str,
) -> Component:
    """The same as Component(...) with these arguments, in the fields' order."""
    return _new(
        Component,
        (
            purl, ptype, name, version, namespace, epoch, release, arch, distro, cpe, hashes,
            licenses, supplier, bom_ref,
        ),
    )  # fmt: skip


@dataclass
class Tally:
    """Per-component counts behind the NTIA coverage figures."""

    total: int = 0
    with_name: int = 0
    with_version: int = 0
    with_supplier: int = 0
    with_identifier: int = 0


class ComponentBuilder:
    """Collects the components of one document, in document order."""

    def __init__(self, *, limits: Limits, findings: Findings) -> None:
        self.components: list[Component] = []
        self._limits = limits
        self._findings = findings
        self._refs: dict[str, str] = {}
        # Rare cases the tally cannot read back from the components themselves.
        self._derived_without_cpe = 0
        self._nameless = 0
        self._version_only_in_document = 0

    @property
    def tally(self) -> Tally:
        components = self.components
        total = len(components)
        return Tally(
            total=total,
            with_name=total - self._nameless,
            with_version=sum(1 for item in components if item.version)
            + self._version_only_in_document,
            with_supplier=sum(1 for item in components if item.supplier),
            with_identifier=total - self._derived_without_cpe,
        )

    def check_length(self, value: str, *, what: str, where: str) -> None:
        """Reject a string longer than `max_string`, naming where it is."""
        if len(value) > self._limits.max_string:
            raise SbomParseError(
                f"the {what} is {len(value):,} characters long; the limit is "
                f"{self._limits.max_string:,} characters (max_string)",
                location=where,
            )

    def note_ref(self, ref: str, *, where: str) -> None:
        """Record a document-local reference (bom-ref, SPDXID); warn if it was seen before."""
        first = self._refs.get(ref)
        if first is None:
            self._refs[ref] = where
        else:
            self._findings.add(
                "duplicate-ref", f"{where}: duplicate reference {ref!r} (first used at {first})"
            )

    def hash_pair(self, alg: str, value: str, *, where: str) -> tuple[str, str] | None:
        """The normalised (algorithm, lowercase hex) pair; None, with a warning, when the
        value is not hexadecimal."""
        hexdigits = value.lower()
        if len(hexdigits) > 1024 or not HEX_DIGITS.fullmatch(hexdigits):
            hexdigits = hexdigits.strip()
            if len(hexdigits) > 1024 or not HEX_DIGITS.fullmatch(hexdigits):
                self._findings.add(
                    "hash", f"{where}: {alg} hash {value[:80]!r} is not hexadecimal; ignored"
                )
                return None
        return ALGORITHMS.get(alg) or hash_algorithm(alg), hexdigits

    def hashes(
        self, pairs: Iterable[tuple[str, str]], *, where: str
    ) -> tuple[tuple[str, str], ...]:
        """Normalised pairs of `pairs`, dropping values that are not hexadecimal."""
        return tuple(
            pair
            for alg, value in pairs
            if (pair := self.hash_pair(alg, value, where=where)) is not None
        )

    def add(
        self,
        *,
        where: str,
        purl: str = "",
        name: str = "",
        version: str = "",
        namespace: str = "",
        cpe: str = "",
        hashes: tuple[tuple[str, str], ...] = (),
        licenses: tuple[str, ...] = (),
        supplier: str = "",
        ref: str = "",
    ) -> None:
        """Add the component found at `where` (a JSON path, an XML path or a line)."""
        self.append(where, purl, name, version, namespace, cpe, hashes, licenses, supplier, ref)

    def append(
        self,
        where: str,
        purl: str,
        name: str,
        version: str,
        namespace: str,
        cpe: str,
        hashes: tuple[tuple[str, str], ...],
        licenses: tuple[str, ...],
        supplier: str,
        ref: str,
    ) -> None:
        """`add` with positional arguments, for the per-component loops (no keyword cost)."""
        limits = self._limits
        components = self.components
        if len(components) >= limits.max_components:
            raise SbomParseError(
                f"the document lists more than {limits.max_components:,} components "
                "(max_components)",
                location=where,
            )
        # One sum instead of seven comparisons: if the total fits, every part does.
        if (
            len(purl) + len(name) + len(version) + len(namespace) + len(cpe) + len(ref)
            + len(supplier) > limits.max_string
        ):  # fmt: skip
            self._check_lengths(where, purl, name, version, namespace, cpe, ref, supplier)
        if licenses:
            for text in licenses:
                if len(text) > limits.max_string:
                    self.check_length(text, what="component licence", where=where)

        parsed = _purls.get(purl) if purl else None
        if parsed is None and purl:
            try:
                parsed = purl_fast(purl) or purl_slow(purl)
            except ValueError as exc:
                self._findings.add(
                    "purl", f"{where}: {purl[:200]!r} is not a valid package URL ({exc})"
                )
            else:
                if len(purl) <= _PURL_KEPT_CHARS:
                    if len(_purls) >= _PURLS_KEPT:
                        _purls.clear()
                    _purls[purl] = parsed
        if parsed is None:
            parsed = self._derive(
                where=where, name=name, version=version, namespace=namespace, cpe=cpe
            )
        canonical, ptype, purl_namespace, purl_name, purl_version, _, arch, distro, epoch = parsed
        if not purl_version and version:
            self._version_only_in_document += 1
        if ptype in _EVR_TYPES:
            if not epoch and ":" in purl_version:
                epoch = epoch_of(parsed)
            dash = purl_version.rfind("-")
            release = purl_version[dash + 1 :] if dash > 0 else ""
        else:
            epoch = release = ""
        fields = (
            canonical, ptype, purl_name, purl_version, purl_namespace, epoch, release, arch,
            distro, cpe, hashes, licenses, _intern(supplier) if supplier else "", ref,
        )  # fmt: skip
        components.append(_new(Component, fields))
        if ref:
            refs = self._refs
            if ref in refs:
                self.note_ref(ref, where=where)
            else:
                refs[ref] = where

    def _check_lengths(self, where: str, *values: str) -> None:
        labels = ("purl", "name", "version", "group/namespace", "CPE", "reference", "supplier")
        for label, value in zip(labels, values, strict=True):
            self.check_length(value, what=f"component {label}", where=where)

    def _derive(self, *, where: str, name: str, version: str, namespace: str, cpe: str) -> Purl:
        """A `pkg:generic` purl from the component's name, else from its CPE's product; the
        component cannot be identified (SbomParseError) with neither. The name comes first: a
        CPE often names the product a package belongs to, not the package itself."""
        parts = cpe_parts(cpe) if cpe else None
        if name:
            derived = purl_generic(name=name, version=version, namespace=namespace)
            if parts is None:
                self._derived_without_cpe += 1
        elif parts is not None:
            vendor, product, cpe_version = parts
            derived = purl_generic(name=product, version=cpe_version or version, namespace=vendor)
        else:
            raise SbomParseError(
                "the component has no name, no valid purl and no CPE: it cannot be identified",
                location=where,
            )
        if not name:
            self._nameless += 1
        self._findings.add(
            "no-purl",
            f"{where}: component {name or derived.name!r} has no valid purl; "
            f"using {derived.canonical}",
        )
        return derived
