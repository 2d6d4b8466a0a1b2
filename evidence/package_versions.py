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
