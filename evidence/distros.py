"""Which advisories' distribution keys apply to a package's distribution, stated explicitly.

A package says where it comes from in its purl `distro` qualifier (`fedora-40`, `rhel-9.4`,
`azurelinux-3.0`, `mariner-2.0`, `centos-7.6.1810`, `debian-12`...). Advisories name the
release they fix (`fedora-40`, `rhel-9` for a main stream, `rhel-9.2` for an EUS stream,
`azurelinux-3.0`, `almalinux-9`...). A package matches the advisory rows of its own release
and of the major release's main stream; nothing else: a Fedora 40 advisory never applies to a
RHEL or Debian package, and an unknown distribution is reported, never guessed.
"""

from __future__ import annotations

import re
from functools import lru_cache

# os-release IDs (as the agent and common SBOM tools write them) -> the family advisories use.
_FAMILIES = {
    "fedora": "fedora",
    "rhel": "rhel",
    "redhat": "rhel",
    "centos": "centos",
    "almalinux": "almalinux",
    "alma": "almalinux",
    "rocky": "rocky",
    "rocky-linux": "rocky",
    "ol": "ol",
    "oracle": "ol",
    "azurelinux": "azurelinux",
    "azl": "azurelinux",
    "mariner": "mariner",
    "cbl-mariner": "mariner",
    "debian": "debian",
    "ubuntu": "ubuntu",
    "alpine": "alpine",
    "amzn": "amzn",
    "epel": "epel",
}
# Families whose release number has a minor part that advisories may name on its own (EUS-style
# streams); a package of 9.4 also takes the main stream's (9) rows.
_MINOR_STREAMS = {"rhel", "centos", "almalinux", "rocky", "ol"}
# Families whose advisories name "major.minor" even for the main stream.
_DOTTED = {"azurelinux", "mariner"}

_DISTRO = re.compile(r"^(?P<family>[a-z][a-z-]*?)-?(?P<release>\d[\w.]*)?$")


@lru_cache(maxsize=4096)
def distro_keys(distro: str) -> tuple[str, ...]:
    """The advisory distribution keys that apply to a package whose purl says `distro`, most
    specific first, ending with the family (statements about every release, such as a
    package retired from the distribution): `rhel-9.4` -> (`rhel-9.4`, `rhel-9`, `rhel`);
    `fedora-40` -> (`fedora-40`, `fedora`); `azurelinux-3` -> (`azurelinux-3.0`,
    `azurelinux`); "" -> ("",) (language ecosystems); an unknown family or a release-less
    distro (`fedora`) -> () (reported by `distro_unmapped`)."""
    if not distro:
        return ("",)
    match = _DISTRO.match(distro.strip().lower())
    if match is None:
        return ()
    family = _FAMILIES.get(match.group("family"))
    release = match.group("release") or ""
    if family is None or not release:
        return ()
    parts = release.split(".")
    if family in _DOTTED:
        major = parts[0]
        minor = parts[1] if len(parts) > 1 else "0"
        return (f"{family}-{major}.{minor}", family)
    if family in _MINOR_STREAMS and len(parts) > 1:
        return (f"{family}-{parts[0]}.{parts[1]}", f"{family}-{parts[0]}", family)
    return (f"{family}-{parts[0]}", family)


def distro_unmapped(distro: str) -> bool:
    """True when packages of `distro` cannot be matched against distribution advisories."""
    return not distro_keys(distro)
