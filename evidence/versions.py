"""Version truth: comparing package versions and testing them against `vers` ranges.

API
---
* `compare(scheme, a, b)` -> -1, 0 or 1, for the schemes in `SCHEMES`: rpm, deb, pypi, npm,
  maven, golang, semver, generic.
* `contains(vers, version)` -> whether `version` lies in the `vers` range
  (purl-spec VERSION-RANGE-SPEC, e.g. ``vers:rpm/<1:3.0.7-18.el9_2``); the range's scheme decides
  the comparison. ``""`` and ``vers:<scheme>/*`` contain every version, ``vers:all/*`` too,
  ``vers:none/*`` none.
* `sort_key(scheme, version)` -> a value whose natural ordering is `compare`'s. For rpm and deb
  it is a flat tuple of ints (and strs for rpm) built here, so sorting and range tests run at
  tuple-comparison speed; for the other schemes it is a one-element tuple of an object that
  compares through `compare`.
* `rpm_evr(epoch, version)` -> "E:V-R" from a Package's epoch qualifier and purl version "V-R".
* `compare_rate(n)` -> compares per second, univers pairwise vs `sort_key` tuples.

Malformed input (versions, ranges, schemes) raises ValueError naming the offending string;
nothing else is raised for any str input.

The comparisons are univers' (32.0.1): `univers.rpm` for rpm, `univers.debian` for deb and
`univers.versions` PypiVersion, SemverVersion (npm, semver, generic), GolangVersion and
MavenVersion. Where univers disagrees with rpm or dpkg, this module wraps it:

rpm (checked against rpm 4.18's `rpm.labelCompare` and the rpmvercmp.at vectors)
  1. `univers.versions.RpmVersion` strips a leading "v" and every space before comparing
     ("v1.0" == "1.0"; rpm: "v1.0" < "1.0", alpha sorts before numeric). Not used: the E, V, R
     are parsed here and handed to `univers.rpm.RpmVersion` / `compare_rpm_versions` as is.
  2. univers splits "V-R" at the first "-", rpm at the last; univers raises on "a:1" (rpm reads
     it as version "a:1"); univers drops non-ASCII characters ("1é2" == "12"), rpm treats them
     as separators ("1é2" < "12"). None of these can occur in a version rpmbuild accepts
     (Version/Release characters: ASCII letters, digits and ``._+%{}~^``), so such strings are
     rejected as malformed here rather than compared.
  3. Missing release: univers compares it as "" with rpmvercmp, so "1.0" == "1.0-." and
     "1.0" > "1.0-~1". rpm's labelCompare (rpmdev-vercmp, dnf) ranks a missing release below
     any release; that is done here. (rpm's dependency matcher instead ignores the release
     when one side lacks it - "1.0" == "1.0-1" == "1.0-2" but "1.0-1" < "1.0-2" - which is not
     an order and is not used.)
  An explicit epoch 0 equals no epoch ("0:1.0-1" == "1.0-1").

deb (checked against `dpkg --compare-versions`, dpkg 1.21)
  univers' comparison agrees with dpkg on every version dpkg accepts without a warning, but its
  parser does not: `univers.versions.DebianVersion` strips a leading "v" and all spaces, and
  `univers.debian.Version` accepts an empty revision ("1.0-", dpkg: error) and epochs beyond
  dpkg's INT_MAX. Versions are validated here first with dpkg's rules (epoch digits <= 2**31-1,
  upstream starting with a digit, upstream ``[A-Za-z0-9.+~-]``, non-empty revision
  ``[A-Za-z0-9.+~]``). dpkg also allows ":" in the upstream version (no longer in Debian
  Policy); univers cannot order ":" (it has no rank for it and raises TypeError), so it is
  rejected as malformed here, as is a signed epoch ("+1:1.0", which dpkg's strtol accepts).

npm, semver, golang, generic
  univers' SemverVersion is `semantic_version`'s coerce: "1.2" is 1.2.0 and components past the
  third become build metadata ("1.2.3.4" is 1.2.3+4). Its `==` counts build metadata but `<`
  and `>` do not, so "1.0.0+a" is neither equal to, less nor greater than "1.0.0". Here
  npm, semver and golang use semver precedence (build ignored: "1.0.0+a" == "1.0.0", as
  node-semver and Go's semver.Compare do); generic, where coerce turns a fourth component into
  build metadata, orders by univers' own sort key including the build ("2.8.11.1" < "2.8.11.2").

pypi, maven
  univers as is (packaging's PEP 440 order; univers' port of Maven's ComparableVersion). The
  latter is not transitive on some odd inputs ("1.a" <= "1-0.1" == "1" < "1.a"); not wrapped.

vers parsing follows the spec directly (spaces removed, "|" split, comparators via univers'
`VersionConstraint.split`, percent-decoding, constraints sorted by the scheme's order) instead of
`VersionRange.from_string`: univers has no "semver" scheme, does not percent-decode, normalises
rpm/deb versions as above, and its containment test raises non-ValueError errors on
non-alternating constraint sequences. One version named by two different constraints
("1.0|>=1.0") is an error; redundant sequences are simplified with the spec's procedure
(`_simplify`) rather than rejected; then the spec's containment procedure decides.

Surrounding whitespace of a version is ignored; whitespace, control or non-ASCII characters
inside one make it malformed, as does a version longer than `MAX_VERSION_LENGTH`.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

from univers import debian as univers_debian
from univers import rpm as univers_rpm
from univers.version_constraint import VersionConstraint
from univers.versions import (
    DebianVersion,
    GolangVersion,
    MavenVersion,
    PypiVersion,
    SemverVersion,
)

SCHEMES: Final = ("rpm", "deb", "pypi", "npm", "maven", "golang", "semver", "generic")
MAX_VERSION_LENGTH: Final = 512
_CACHE_SIZE: Final = 1 << 16

SortKey = tuple[Any, ...]

_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


def _clean(scheme: str, text: object) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{scheme} version must be a string, not {text!r}")
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"empty {scheme} version: {text!r}")
    if len(stripped) > MAX_VERSION_LENGTH:
        raise ValueError(
            f"{scheme} version longer than {MAX_VERSION_LENGTH} characters: {text[:80]!r}..."
        )
    if _FORBIDDEN.search(stripped):
        raise ValueError(f"{scheme} version contains whitespace or control characters: {text!r}")
    if not stripped.isascii():
        raise ValueError(f"{scheme} version contains non-ASCII characters: {text!r}")
    return stripped


# --- rpm --------------------------------------------------------------------------------------

# [E:]V[-R]; V and R use the characters rpmbuild allows in Version and Release.
_RPM_EVR = re.compile(r"(?:([0-9]+):)?([A-Za-z0-9._+%{}~^]+)(?:-([A-Za-z0-9._+%{}~^]+))?")
# rpmvercmp's units: alphabetic runs, digit runs, "~" and "^"; every other character separates.
_RPM_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|[~^]")
# Token kinds, in rpmvercmp's order at one position: "~" < end < "^" < alpha < numeric.
_TILDE, _END, _CARET, _ALPHA, _NUM = 0, 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class _Rpm:
    epoch: int
    version: str
    release: str | None  # None: no release given
    univers: Any  # univers.rpm.RpmVersion(epoch, version, release or "")


def _split_rpm(text: str) -> tuple[int, str, str | None]:
    match = _RPM_EVR.fullmatch(text)
    if match is None:
        raise ValueError(
            f"malformed rpm version {text!r}: expected [epoch:]version[-release] with an "
            "all-digit epoch and version/release made of letters, digits and ._+%{}~^"
        )
    epoch_text, version, release = match.groups()
    return (int(epoch_text) if epoch_text else 0), version, release


def _parse_rpm(text: str) -> _Rpm:
    epoch, version, release = _split_rpm(text)
    return _Rpm(epoch, version, release, univers_rpm.RpmVersion(epoch, version, release or ""))


def _compare_rpm(a: _Rpm, b: _Rpm) -> int:
    if (a.release is None) == (b.release is None):
        return int(univers_rpm.compare_rpm_versions(a.univers, b.univers))
    # Exactly one release missing: labelCompare ranks it below any release once E and V tie.
    result = int(
        univers_rpm.compare_rpm_versions(
            univers_rpm.RpmVersion(a.epoch, a.version, ""),
            univers_rpm.RpmVersion(b.epoch, b.version, ""),
        )
    )
    if result:
        return result
    return -1 if a.release is None else 1


def _rpm_tokens(part: str, out: list[Any]) -> None:
    for token in _RPM_TOKEN.findall(part):
        first = token[0]
        if first == "~":
            out += (_TILDE, 0)
        elif first == "^":
            out += (_CARET, 0)
        elif first.isdigit():
            out += (_NUM, int(token))
        else:
            out += (_ALPHA, token)
    out += (_END, 0)


def _key_rpm(text: str) -> SortKey:
    """(epoch, kind, value, ..., END, 0, has-release, kind, value, ..., END, 0): pairs of token
    kind and value (int for digits, str for letters), so two keys are only ever compared
    int-to-int or str-to-str. Separators leave no trace: rpmvercmp skips them."""
    epoch, version, release = _split_rpm(text)
    out: list[Any] = [epoch]
    _rpm_tokens(version, out)
    if release is None:
        out.append(0)
    else:
        out.append(1)
        _rpm_tokens(release, out)
    return tuple(out)


# --- deb --------------------------------------------------------------------------------------

_DEB_EPOCH_MAX: Final = 2**31 - 1
_DEB_EPOCH = re.compile(r"[0-9]+")
_DEB_UPSTREAM = re.compile(r"[0-9][A-Za-z0-9.+~-]*")
_DEB_REVISION = re.compile(r"[A-Za-z0-9.+~]+")
# dpkg's order() for non-digits: "~" first, then letters (ASCII), then other characters.
_DEB_ORDER: Final = {
    c: (-1 if c == "~" else ord(c) if c.isalpha() else ord(c) + 256)
    for c in "~.+-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
}
_DEB_CHUNK = re.compile(r"([^0-9]*)([0-9]*)")


@dataclass(frozen=True, slots=True)
class _Deb:
    epoch: int
    upstream: str
    revision: str  # "" when absent (dpkg: equal to "0")
    univers: Any  # univers.versions.DebianVersion


def _split_deb(text: str) -> tuple[int, str, str]:
    """dpkg's parseversion: the epoch ends at the first ":", the revision starts after the last
    "-"; anything dpkg would reject or warn about is malformed (and ":" in the upstream part)."""
    epoch_text, colon, rest = text.partition(":")
    if not colon:
        epoch_text, rest = "", text
    elif not _DEB_EPOCH.fullmatch(epoch_text):
        raise ValueError(f"malformed deb version {text!r}: the epoch must be digits")
    upstream, hyphen, revision = rest.rpartition("-")
    if not hyphen:
        upstream, revision = rest, ""
    if not _DEB_UPSTREAM.fullmatch(upstream):
        raise ValueError(
            f"malformed deb version {text!r}: the upstream version must start with a digit "
            "and contain only letters, digits and .+~-"
        )
    if hyphen and not _DEB_REVISION.fullmatch(revision):
        raise ValueError(
            f"malformed deb version {text!r}: the revision must be non-empty letters, digits "
            "and .+~"
        )
    epoch = int(epoch_text) if epoch_text else 0
    if epoch > _DEB_EPOCH_MAX:
        raise ValueError(f"malformed deb version {text!r}: epoch is larger than {_DEB_EPOCH_MAX}")
    return epoch, upstream, revision


def _parse_deb(text: str) -> _Deb:
    epoch, upstream, revision = _split_deb(text)
    try:
        value = DebianVersion(text)
    except Exception as exc:  # univers rejects what the checks above let through
        raise ValueError(f"malformed deb version {text!r}: {exc}") from None
    return _Deb(epoch, upstream, revision, value)


def _compare_deb(a: _Deb, b: _Deb) -> int:
    return int(univers_debian.compare_versions(a.univers.value, b.univers.value))


def _deb_part(part: str, out: list[int]) -> None:
    """dpkg's verrevcmp as a tuple: for each (non-digits, digits) chunk the order() of every
    non-digit, a 0 terminator and the number; then (0, 0), which ranks as the empty chunk that
    the end of a string compares as. Only the first chunk can start with a 0 (empty
    non-digit part), so the closing (0, 0) lines up only with chunks that start non-zero."""
    order = _DEB_ORDER
    first = True
    for non_digits, digits in _DEB_CHUNK.findall(part):
        if not (non_digits or digits) and not first:
            continue
        first = False
        for char in non_digits:
            out.append(order[char])
        out.append(0)
        out.append(int(digits) if digits else 0)
    out += (0, 0)


def _key_deb(text: str) -> SortKey:
    epoch, upstream, revision = _split_deb(text)
    out: list[int] = [epoch]
    _deb_part(upstream, out)
    _deb_part(revision, out)
    return tuple(out)


# --- the other schemes: univers objects compared with their own operators -----------------------


def _sign_lt(x: Any, y: Any) -> int:
    """-1/0/1 from `<` alone (univers' maven Version defines no `>`)."""
    if x < y:
        return -1
    if y < x:
        return 1
    return 0


def _univers_parser(cls: Any, scheme: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return cls(text)
        except Exception as exc:
            raise ValueError(f"malformed {scheme} version {text!r}: {exc}") from None

    return parse


def _compare_value(a: Any, b: Any) -> int:
    return _sign_lt(a.value, b.value)


def _compare_generic(a: Any, b: Any) -> int:
    return _sign_lt(a.value.precedence_key, b.value.precedence_key)


@dataclass(frozen=True, slots=True)
class _Scheme:
    parse: Callable[[str], Any]
    compare: Callable[[Any, Any], int]
    key: Callable[[str], SortKey] | None  # from the cleaned text; None: compare-based key


_SCHEME_TABLE: Final[dict[str, _Scheme]] = {
    "rpm": _Scheme(_parse_rpm, _compare_rpm, _key_rpm),
    "deb": _Scheme(_parse_deb, _compare_deb, _key_deb),
    "pypi": _Scheme(_univers_parser(PypiVersion, "pypi"), _compare_value, None),
    "npm": _Scheme(_univers_parser(SemverVersion, "npm"), _compare_value, None),
    "semver": _Scheme(_univers_parser(SemverVersion, "semver"), _compare_value, None),
    "golang": _Scheme(_univers_parser(GolangVersion, "golang"), _compare_value, None),
    "maven": _Scheme(_univers_parser(MavenVersion, "maven"), _compare_value, None),
    "generic": _Scheme(_univers_parser(SemverVersion, "generic"), _compare_generic, None),
}


def _scheme(scheme: object) -> _Scheme:
    found = _SCHEME_TABLE.get(scheme) if isinstance(scheme, str) else None
    if found is None:
        raise ValueError(f"unknown version scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    return found


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parsed(scheme: str, text: str) -> Any:
    return _scheme(scheme).parse(_clean(scheme, text))


def _parse(scheme: str, text: object) -> Any:
    if not isinstance(text, str):
        raise ValueError(f"{scheme} version must be a string, not {text!r}")
    return _parsed(scheme, text)


def compare(scheme: str, a: str, b: str) -> int:
    """-1, 0 or 1 as version `a` sorts before, equal to or after `b` in `scheme`."""
    handler = _scheme(scheme)
    return handler.compare(_parse(scheme, a), _parse(scheme, b))


def validate(scheme: str, version: str) -> None:
    """Raise ValueError if `version` is not a well-formed `scheme` version."""
    _scheme(scheme)
    _parse(scheme, version)


@functools.total_ordering
class _CompareKey:
    """Orders parsed versions of one scheme through that scheme's `compare`."""

    __slots__ = ("parsed", "scheme")
    __hash__ = None  # type: ignore[assignment]  # equal keys may come from unequal strings

    def __init__(self, scheme: _Scheme, parsed: Any) -> None:
        self.scheme = scheme
        self.parsed = parsed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _CompareKey) or other.scheme is not self.scheme:
            return NotImplemented
        return self.scheme.compare(self.parsed, other.parsed) == 0

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, _CompareKey) or other.scheme is not self.scheme:
            return NotImplemented
        return self.scheme.compare(self.parsed, other.parsed) < 0


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _sort_key(scheme: str, version: str) -> SortKey:
    handler = _scheme(scheme)
    if handler.key is None:
        return (_CompareKey(handler, _parsed(scheme, version)),)
    return handler.key(_clean(scheme, version))


def sort_key(scheme: str, version: str) -> SortKey:
    """A key for `sorted`/comparisons: key(a) < key(b) iff compare(scheme, a, b) < 0, and
    key(a) == key(b) iff compare(scheme, a, b) == 0. Cached."""
    _scheme(scheme)
    if not isinstance(version, str):
        raise ValueError(f"{scheme} version must be a string, not {version!r}")
    return _sort_key(scheme, version)


def rpm_evr(epoch: str, version: str) -> str:
    """The rpm EVR "E:V-R" from a Package's epoch qualifier and its purl version "V-R" (which
    may itself carry an "E:" prefix); the epoch is left out when empty or 0. ValueError when
    the epoch is not a number, the version is malformed, or both name different epochs."""
    if not isinstance(epoch, str) or not re.fullmatch(r"[0-9]*", epoch.strip()):
        raise ValueError(f"malformed rpm epoch {epoch!r}: expected digits or nothing")
    parsed: _Rpm = _parse("rpm", version)
    number = int(epoch) if epoch.strip() else 0
    if ":" in version:  # the purl version names an epoch itself
        if epoch.strip() and number != parsed.epoch:
            raise ValueError(f"rpm epoch {epoch!r} contradicts the epoch of version {version!r}")
        number = parsed.epoch
    release = "" if parsed.release is None else f"-{parsed.release}"
    prefix = f"{number}:" if number else ""
    return f"{prefix}{parsed.version}{release}"


# --- vers ranges ---------------------------------------------------------------------------------

_COMPARATORS: Final = ("<", "<=", ">", ">=", "=", "!=")
_VERS_SCHEME = re.compile(r"[a-z][a-z0-9.+-]*")


@dataclass(frozen=True, slots=True)
class _Range:
    everything: bool
    nothing: bool
    scheme: str
    constraints: tuple[tuple[str, SortKey], ...]  # (comparator, key), sorted by key


def _vers_error(vers: str, reason: str) -> ValueError:
    return ValueError(f"invalid vers {vers!r}: {reason}")


def _split_constraint(vers: str, text: str) -> tuple[str, str]:
    try:
        comparator, version = VersionConstraint.split(text)
    except Exception as exc:
        raise _vers_error(vers, f"bad constraint {text!r} ({exc})") from None
    if comparator == "*":
        raise _vers_error(vers, "'*' must be the only constraint")
    if comparator not in _COMPARATORS:
        raise _vers_error(vers, f"unknown comparator in {text!r}")
    if not version:
        raise _vers_error(vers, f"constraint {text!r} has no version")
    if "%" in version:
        try:
            version = unquote(version, errors="strict")
        except UnicodeDecodeError:
            raise _vers_error(vers, f"bad percent-encoding in {text!r}") from None
    return comparator, version


@functools.lru_cache(maxsize=4096)
def _parse_range(vers: str) -> _Range:
    if not vers.strip():
        return _Range(True, False, "", ())
    spec = "".join(vers.split())  # spaces are not significant
    if not spec.isascii() or not spec.isprintable():
        raise _vers_error(vers, "only printable ASCII characters are allowed")
    uri_scheme, colon, rest = spec.partition(":")
    if uri_scheme != "vers" or not colon:
        raise _vers_error(vers, "must start with 'vers:'")
    scheme, slash, constraints_text = rest.partition("/")
    if not slash or not _VERS_SCHEME.fullmatch(scheme):
        raise _vers_error(vers, "expected vers:<scheme>/<constraints> with a lowercase scheme")
    if scheme in ("all", "none"):
        if constraints_text != "*":
            raise _vers_error(vers, f"the {scheme!r} scheme takes only '*'")
        return _Range(scheme == "all", scheme == "none", scheme, ())
    if scheme not in _SCHEME_TABLE:
        raise _vers_error(
            vers, f"unknown versioning scheme {scheme!r}; known: {', '.join(SCHEMES)}"
        )
    if constraints_text == "*":
        return _Range(True, False, scheme, ())
    pieces = [piece for piece in constraints_text.split("|") if piece]
    if not pieces:
        raise _vers_error(vers, "no version constraints")
    parsed: list[tuple[str, SortKey, str]] = []
    for piece in pieces:
        comparator, version = _split_constraint(vers, piece)
        try:
            key = _sort_key(scheme, version)
        except ValueError as exc:
            raise _vers_error(vers, str(exc)) from None
        parsed.append((comparator, key, piece))
    parsed.sort(key=lambda item: item[1])
    unique: list[tuple[str, SortKey, str]] = []
    for item in parsed:
        if unique and unique[-1][1] == item[1]:
            if unique[-1][0] == item[0]:
                continue  # the same constraint twice
            raise _vers_error(vers, f"{unique[-1][2]!r} and {item[2]!r} name the same version")
        unique.append(item)
    kept = _simplify([item for item in unique if item[0] != "!="])
    kept += [item for item in unique if item[0] == "!="]
    kept.sort(key=lambda item: item[1])
    return _Range(False, False, scheme, tuple((c, k) for c, k, _ in kept))


def _simplify(items: list[tuple[str, SortKey, str]]) -> list[tuple[str, SortKey, str]]:
    """The spec's simplification, to a fixed point, of constraints sorted by version ("!="
    aside): "=", "<" or "<=" followed by "<" or "<=" is dropped (the later bound covers it);
    ">" or ">=" followed by "=", ">" or ">=" drops the follower. What remains is a valid
    sequence (bounds alternate, "=" only before "=", ">" or ">="), so a redundant range such
    as vers:semver/2.7.0|<2.8.11.1 (a CycloneDX example) means what it says instead of being
    an error."""
    items = list(items)
    changed = True
    while changed:
        changed = False
        for i in range(len(items) - 1):
            current, following = items[i][0], items[i + 1][0]
            if current in ("=", "<", "<=") and following in ("<", "<="):
                del items[i]
                changed = True
                break
            if current in (">", ">=") and following in ("=", ">", ">="):
                del items[i + 1]
                changed = True
                break
    return items


def _in_range(key: SortKey, constraints: tuple[tuple[str, SortKey], ...]) -> bool:
    """The spec's containment procedure."""
    for comparator, bound in constraints:
        if key == bound:
            return comparator in ("=", "<=", ">=")
    bounds = [(c, b) for c, b in constraints if c not in ("=", "!=")]
    if not bounds:
        # only "=" and "!=" constraints: "!=" alone means everything else
        return all(c == "!=" for c, _ in constraints)
    if len(bounds) == 1:
        comparator, bound = bounds[0]
        return key < bound if comparator in ("<", "<=") else key > bound
    first_comparator, first_bound = bounds[0]
    if first_comparator in ("<", "<=") and key < first_bound:
        return True
    last_comparator, last_bound = bounds[-1]
    if last_comparator in (">", ">=") and key > last_bound:
        return True
    for (cur, cur_bound), (nxt, nxt_bound) in itertools.pairwise(bounds):
        if cur in (">", ">=") and nxt in ("<", "<=") and cur_bound < key < nxt_bound:
            return True
    return False


def contains(vers: str, version: str) -> bool:
    """Whether `version` is in the `vers` range, compared with the range's scheme. The version
    is validated against that scheme (not for "", vers:all/* and vers:none/*)."""
    if not isinstance(vers, str):
        raise ValueError(f"vers must be a string, not {vers!r}")
    if not isinstance(version, str):
        raise ValueError(f"version must be a string, not {version!r}")
    parsed = _parse_range(vers)
    if parsed.scheme in ("", "all", "none"):
        return parsed.everything
    key = _sort_key(parsed.scheme, version)
    return parsed.everything or _in_range(key, parsed.constraints)


def vers_scheme(vers: str) -> str:
    """The scheme of a valid `vers` ("" for the empty range). ValueError when invalid."""
    return _parse_range(vers).scheme


# --- speed ---------------------------------------------------------------------------------------


def _sample_pairs(scheme: str, count: int, seed: int) -> list[tuple[str, str]]:
    """Pairs like the ones matching compares: an installed version against a fixed version of
    the same package, mostly sharing the upstream version, sometimes equal."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not secrets
    numbers = (0, 1, 2, 3, 9, 10, 12, 27, 2024)
    suffixes: tuple[str, ...]
    tags: tuple[str, ...]
    if scheme == "rpm":
        suffixes = ("", "", "", "~rc1", "^git5", "a", "p1")
        tags = ("el9", "el9_2", "el9_4.1", "el8_10", "fc40", "module+el8.9.0+19193+435404ae")
    else:
        suffixes = ("", "", "", "~rc1", "+dfsg", "a", "+ds1")
        tags = ("", "+deb12u1", "ubuntu0.22.04.1", "~bpo12+1", "build1")

    def release() -> str:
        return f"{rng.randint(0, 30)}{'.' if scheme == 'rpm' else ''}{rng.choice(tags)}"

    def upstream() -> str:
        dotted = ".".join(str(rng.choice(numbers)) for _ in range(rng.randint(1, 4)))
        return dotted + rng.choice(suffixes)

    pairs = []
    for _ in range(count):
        epoch = f"{rng.randint(1, 3)}:" if rng.random() < 0.1 else ""
        base = upstream()
        left = f"{epoch}{base}-{release()}"
        draw = rng.random()
        if draw < 0.4:  # same upstream version, another release
            right = f"{epoch}{base}-{release()}"
        elif draw < 0.7:  # a nearby upstream version
            right = f"{epoch}{base}.{rng.choice(numbers)}-{release()}"
        elif draw < 0.85:
            right = left
        else:
            right = f"{upstream()}-{release()}"
        pairs.append((left, right))
    return pairs


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def compare_rate(n: int = 20_000, scheme: str = "rpm") -> dict[str, float]:
    """Compares per second on the same `n` rpm (or deb) pairs:

    * univers_per_s: univers' own pairwise comparison of already parsed versions;
    * compare_per_s: `compare()` (univers behind the wrappers, parse cache warm);
    * sort_key_per_s: comparing `sort_key` tuples built beforehand;
    * sort_key_cold_per_s: building both keys from the strings (no cache) and comparing.
    """
    if scheme not in ("rpm", "deb"):
        raise ValueError(f"compare_rate measures rpm or deb, not {scheme!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"compare_rate needs n >= 1, not {n!r}")
    pairs = _sample_pairs(scheme, n, seed=n)
    handler = _SCHEME_TABLE[scheme]
    key_of = handler.key
    if key_of is None:  # pragma: no cover - rpm and deb have tuple keys
        raise ValueError(scheme)
    if scheme == "rpm":
        univers_compare: Callable[[Any, Any], Any] = univers_rpm.compare_rpm_versions
        parsed = [(handler.parse(a).univers, handler.parse(b).univers) for a, b in pairs]
    else:
        univers_compare = univers_debian.compare_versions
        parsed = [
            (handler.parse(a).univers.value, handler.parse(b).univers.value) for a, b in pairs
        ]
    keys = [(key_of(a), key_of(b)) for a, b in pairs]
    for a, b in pairs:
        compare(scheme, a, b)  # warm the parse cache

    start = time.perf_counter()
    for x, y in parsed:
        univers_compare(x, y)
    univers_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for a, b in pairs:
        compare(scheme, a, b)
    compare_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for kx, ky in keys:
        (kx > ky) - (kx < ky)
    key_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for a, b in pairs:
        kx = key_of(a)
        ky = key_of(b)
        (kx > ky) - (kx < ky)
    cold_seconds = time.perf_counter() - start

    univers_rate = _rate(n, univers_seconds)
    key_rate = _rate(n, key_seconds)
    return {
        "pairs": float(n),
        "univers_per_s": univers_rate,
        "compare_per_s": _rate(n, compare_seconds),
        "sort_key_per_s": key_rate,
        "sort_key_cold_per_s": _rate(n, cold_seconds),
        "speedup": key_rate / univers_rate,
    }
