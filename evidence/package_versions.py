"""Package versions as matching reads them: the version a vers range is checked against,
whether a range contains it (cached), and the source rpm a binary was built from."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import unquote

from evidence.versions import contains, rpm_evr


def package_version(package_type: str, epoch: str, version: str) -> str:
    """The version a vers range is checked against: rpm's E:V-R, else the purl version."""
    if package_type == "rpm":
        return rpm_evr(epoch, version)
    if package_type == "deb" and epoch and epoch != "0":
        return f"{epoch}:{version}"
    return version


def source_name(purl: str) -> str:
    """The source rpm's name from an rpm purl's `upstream` qualifier
    (`upstream=python3.9-3.9.18-3.el9.src.rpm` -> `python3.9`), or ""."""
    marker = purl.find("upstream=")
    if marker < 0:
        return ""
    value = unquote(purl[marker + len("upstream=") :].split("&", 1)[0])
    value = value.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")
    parts = value.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else ""


def package_evr(package: tuple[str, str, str]) -> str | None:
    """`package_version` of (type, epoch, version), or None when no comparison can read it."""
    try:
        return package_version(*package)
    except ValueError:
        return None


@lru_cache(maxsize=200_000)
def in_range(vers: str, version: str) -> bool:
    """Whether `version` is inside `vers` ("" means every version; unreadable means none)."""
    if not vers:
        return True  # the source states no range: every version is affected
    try:
        return contains(vers, version)
    except ValueError:
        return False  # an unreadable range or version matches nothing (reported by feeds)


_MODULE_BUILD = (".module+", ".module_")  # RHEL-family `.module+el8.9.0+...`, Fedora `.module_f40`


def module_build(version: str) -> bool:
    """Whether an rpm version-release is a modularity build (`2.5.9-111.module+el8.9.0+...`,
    `1.643-1.module_f40`)."""
    return any(marker in version for marker in _MODULE_BUILD)


def module_stream(purl: str) -> str:
    """The module stream `name:stream` from an rpm purl's `rpmmod` qualifier
    (`rpmmod=ruby:2.5:8090020230627084142:b46abd14` -> `ruby:2.5`), or ""."""
    marker = purl.find("rpmmod=")
    if marker < 0:
        return ""
    value = unquote(purl[marker + len("rpmmod=") :].split("&", 1)[0])
    parts = value.split(":")
    return f"{parts[0]}:{parts[1]}" if len(parts) >= 2 and parts[0] and parts[1] else ""


def module_match(
    *, row_module: str, row_vers: str, row_fixed: str, stream: str | None
) -> bool | None:
    """Whether an affected row may apply to a package as far as rpm modularity goes; None when
    it cannot be decided (to be reported, not guessed). `stream` is the package's module
    stream ("" unknown) if it is a module build, None if it is not. A fix in module stream
    ruby:3.1 says nothing about ruby:2.5, nor about the non-modular ruby, so a module build
    matches only rows of its own stream and a non-modular package only rows not about a
    module. Rows with no range and no module (a retired package, an end-of-life release:
    every build) apply whatever the build."""
    if not row_vers and not row_module:
        return True
    row_modular = bool(row_module) or module_build(row_fixed)
    if stream is None:
        return not row_modular
    if not row_modular:
        return False
    if stream and row_module:
        return stream == row_module
    return None
