"""The product tree of a CSAF 2.0 document (branches, full_product_names, relationships,
product_groups) and what a product id stands for as a package: its purl, CPE, Red Hat NEVRA id
or branch names, and the RHEL distro of the platform it belongs to. Also the checked readers of
JSON values (`_text`, `_member`, `_object`, `_array`, `_Bad`) that csaf.py shares.

evidence.feeds.csaf describes how product ids resolve to packages and distros; this module
carries that out and holds no document-level logic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from evidence.feeds.model import RecordError
from evidence.sbom.jsondoc import json_type
from evidence.sbom.purls import Purl, cpe_parts, purl_parse

_RPM_ARCHES = frozenset(
    {
        "src", "noarch", "x86_64", "i386", "i486", "i586", "i686", "athlon", "ia64", "ppc",
        "ppc64", "ppc64le", "ppc64p7", "s390", "s390x", "aarch64", "armv7hl", "armhfp",
    }
)  # fmt: skip
_MODULE_SUFFIX = re.compile(r"\.rpm-([^:/\s]+:[^:/\s]+)$")  # Red Hat ids: "...x86_64.rpm-ruby:2.5"
_MODULE_COMPONENT = re.compile(r"([^:/\s]+:[^:/\s]+)/([^:/\s]+)")  # Red Hat VEX: "log4j:2/log4j"
# CPE products of RHEL streams: N (enterprise_linux, rhel_els) or N.M (the others)
_RHEL_PRODUCTS = frozenset(
    {"enterprise_linux", "rhel_els", "rhel_eus", "rhel_aus", "rhel_e4s", "rhel_tus"}
)
_MAX_ID = 1000  # product ids, product names
_MAX_URL = 2048
_MAX_NESTING = 16  # relationships of relationships, branches of branches are far shallower


# --- checked JSON values --------------------------------------------------------------------


class _Bad(Exception):
    """A value that cannot be used; `path` is its JSON path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _text(value: object, path: str, *, limit: int, required: bool = True) -> str:
    """`value` if it is a string of at most `limit` characters (non-empty when `required`);
    "" for an absent optional value; raises _Bad otherwise."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _Bad(path, f"is not a string (found {json_type(value)})")
    if required and not value.strip():
        raise _Bad(path, "is empty")
    if len(value) > limit:
        raise _Bad(path, f"is {len(value):,} characters long; the limit is {limit:,}")
    return value


def _member(
    item: dict[str, Any], key: str, path: str, *, limit: int = _MAX_ID, required: bool = True
) -> str:
    """The string member `key` of the object at `path`, checked as `_text` does."""
    return _text(item.get(key), f"{path}.{key}", limit=limit, required=required)


def _object(value: object, path: str) -> dict[str, Any]:
    """`value` if it is a JSON object, else _Bad."""
    if not isinstance(value, dict):
        raise _Bad(path, f"is not an object (found {json_type(value)})")
    return value


def _array(value: object, path: str) -> list[Any]:
    """`value` if it is a JSON array, [] if absent, else _Bad."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(path, f"is not an array (found {json_type(value)})")
    return value


# --- the product tree -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Branches:
    """The names of the branches above a product, by category ("" when there is none)."""

    vendor: str = ""
    family: str = ""  # product_name
    version: str = ""  # product_version
    range: str = ""  # product_version_range
    arch: str = ""  # architecture

    def below(self, category: str, name: str) -> _Branches:
        """These names with the branch `category`/`name` taken into account."""
        names = {
            "vendor": "vendor",
            "product_name": "family",
            "product_version": "version",
            "product_version_range": "range",
            "architecture": "arch",
        }
        if category not in names:
            return self
        return replace(self, **{names[category]: name})


@dataclass(frozen=True, slots=True)
class _Product:
    """One product the tree defines, with what identifies it."""

    product_id: str
    name: str
    purl: Purl | None
    cpe: str
    branches: _Branches


_Chain = tuple[_Product, ...]  # the component, then the products it is a component of


@dataclass
class _Tree:
    """The product tree: products by id, relationships by full product id, product groups."""

    errors: list[RecordError]
    products: dict[str, _Product] = field(default_factory=dict)
    relations: dict[str, tuple[str, str]] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # ids whose definition was reported bad
    resolved: dict[str, _Chain | str] = field(default_factory=dict)

    def error(self, bad: _Bad) -> None:
        self.errors.append(RecordError(bad.path, bad.message))

    def read(self, tree: dict[str, Any]) -> None:
        """Reads branches, full_product_names, relationships and product_groups; a bad element
        is a RecordError and the rest is read."""
        self.walk(tree.get("branches"), "$.product_tree.branches", _Branches(), 0)
        for index, product in enumerate(self.list(tree, "full_product_names")):
            self.add(product, f"$.product_tree.full_product_names[{index}]", _Branches())
        for index, relation in enumerate(self.list(tree, "relationships")):
            self.relate(relation, f"$.product_tree.relationships[{index}]")
        for index, group in enumerate(self.list(tree, "product_groups")):
            self.group(group, f"$.product_tree.product_groups[{index}]")

    def list(self, tree: dict[str, Any], key: str) -> list[Any]:
        try:
            return _array(tree.get(key), f"$.product_tree.{key}")
        except _Bad as bad:
            self.error(bad)
            return []

    def walk(self, branches: object, path: str, above: _Branches, depth: int) -> None:
        try:
            if depth > _MAX_NESTING:
                raise _Bad(path, f"branches nest deeper than {_MAX_NESTING} levels")
            items = _array(branches, path)
        except _Bad as bad:
            self.error(bad)
            return
        for index, item in enumerate(items):
            here = f"{path}[{index}]"
            try:
                branch = _object(item, here)
                category = _member(branch, "category", here)
                name = _member(branch, "name", here, required=False)
            except _Bad as bad:
                self.error(bad)
                continue
            inner = above.below(category, name)
            if branch.get("product") is not None:
                self.add(branch["product"], f"{here}.product", inner)
            if branch.get("branches") is not None:
                self.walk(branch["branches"], f"{here}.branches", inner, depth + 1)

    def add(self, value: object, path: str, branches: _Branches) -> None:
        product_id = value.get("product_id") if isinstance(value, dict) else None
        try:
            product = _product(value, path, branches)
        except _Bad as bad:
            self.error(bad)
            if isinstance(product_id, str):
                self.broken.add(product_id)
            return
        if product.product_id in self.products:
            self.error(_Bad(f"{path}.product_id", f"{product.product_id!r} is defined twice"))
            return
        self.products[product.product_id] = product

    def relate(self, value: object, path: str) -> None:
        try:
            relation = _object(value, path)
            full = _object(relation.get("full_product_name"), f"{path}.full_product_name")
            full_id = _member(full, "product_id", f"{path}.full_product_name")
        except _Bad as bad:
            self.error(bad)
            return
        try:
            component = _member(relation, "product_reference", path)
            platform = _member(relation, "relates_to_product_reference", path)
            if full_id in self.relations or full_id in self.products:
                raise _Bad(f"{path}.full_product_name.product_id", f"{full_id!r} is defined twice")
        except _Bad as bad:
            self.error(bad)
            self.broken.add(full_id)
            return
        self.relations[full_id] = (component, platform)

    def group(self, value: object, path: str) -> None:
        try:
            group = _object(value, path)
            group_id = _member(group, "group_id", path)
            members = _array(group.get("product_ids"), f"{path}.product_ids")
        except _Bad as bad:
            self.error(bad)
            return
        self.groups[group_id] = tuple(m for m in members if isinstance(m, str))

    def resolve(self, product_id: str, depth: int = 0) -> _Chain | str:
        """The component and the products it belongs to, or why there are none ("" when the
        reason was already reported)."""
        known = self.resolved.get(product_id)
        if known is not None:
            return known
        result = self._resolve(product_id, depth)
        self.resolved[product_id] = result
        return result

    def _resolve(self, product_id: str, depth: int) -> _Chain | str:
        if product_id in self.products:
            return (self.products[product_id],)
        if product_id in self.broken:
            return ""
        if product_id not in self.relations:
            return f"product id {product_id[:200]!r} is not defined in the product_tree"
        if depth > _MAX_NESTING:
            return f"the relationships of {product_id[:200]!r} nest too deeply or form a cycle"
        component_id, platform_id = self.relations[product_id]
        component = self.resolve(component_id, depth + 1)
        if isinstance(component, str):
            return component
        platform = self.resolve(platform_id, depth + 1)
        if isinstance(platform, str):
            return platform
        return component + platform

    def expand(self, item: dict[str, Any]) -> Iterator[str]:
        """The product ids an element names: its product_ids and the members of its group_ids
        (entries that are not strings are passed over)."""
        product_ids, group_ids = item.get("product_ids"), item.get("group_ids")
        for product_id in product_ids if isinstance(product_ids, list) else ():
            if isinstance(product_id, str):
                yield product_id
        for group_id in group_ids if isinstance(group_ids, list) else ():
            if isinstance(group_id, str):
                yield from self.groups.get(group_id, ())


def _product(value: object, path: str, branches: _Branches) -> _Product:
    """A product definition (`full_product_name_t`), or _Bad."""
    product = _object(value, path)
    product_id = _member(product, "product_id", path)
    name = _member(product, "name", path, required=False)
    here = f"{path}.product_identification_helper"
    helper = _object(product.get("product_identification_helper") or {}, here)
    cpe = _member(helper, "cpe", here, required=False)
    purl_text = _member(helper, "purl", here, limit=_MAX_URL, required=False)
    purl = None
    if purl_text:
        try:
            purl = purl_parse(purl_text)
        except ValueError as exc:
            raise _Bad(f"{here}.purl", f"{purl_text[:200]!r} is not a purl: {exc}") from None
    return _Product(product_id, name, purl, cpe, branches)


# --- what a product is, as a package --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Package:
    """A resolved product as a package of a distribution or ecosystem."""

    package_type: str
    namespace: str
    name: str
    version: str  # rpm: EVR with epoch only when non-zero; "" when unknown
    arch: str
    module: str
    distro: str
    vers: str  # the range a product_version_range product stands for, "" otherwise
    platform: str  # the ids of the products it is a component of


@dataclass(frozen=True, slots=True)
class _Nevra:
    name: str
    epoch: str
    version: str
    release: str
    arch: str


def _nevra(text: str) -> _Nevra | None:
    """A Red Hat product id `name-[epoch:]version-release.arch[.rpm-module:stream]` split,
    None when `text` does not end in a known rpm arch or lacks the two hyphens."""
    text = _MODULE_SUFFIX.sub("", text)
    rest, _, arch = text.rpartition(".")
    if arch not in _RPM_ARCHES or rest.count("-") < 2:
        return None
    head, _, release = rest.rpartition("-")
    name, _, epoch_version = head.rpartition("-")
    epoch, _, version = epoch_version.rpartition(":")
    if not name or not version or not release or (epoch and not epoch.isdigit()):
        return None
    return _Nevra(name, epoch, version, release, arch)


def _evr(epoch: str, version: str) -> str:
    """An rpm EVR as Red Hat writes it: the epoch only when it is not 0."""
    if not version or ":" in version or epoch.lstrip("0") == "":
        return version
    return f"{epoch}:{version}"


def _rhel_distro(cpe: str) -> str:
    """`rhel-N` / `rhel-N.M` for a Red Hat Enterprise Linux platform CPE, "" for others."""
    parts = cpe_parts(cpe) if cpe else None
    if parts is None or parts[0] != "redhat" or not re.fullmatch(r"\d+(?:\.\d+)?", parts[2]):
        return ""
    return f"rhel-{parts[2]}" if parts[1] in _RHEL_PRODUCTS else ""


def _module(component: _Product, context: _Chain) -> str:
    """The rpm module stream ("ruby:2.5") from the purl's rpmmod qualifier, a module product
    the component belongs to, or a `.rpm-name:stream` product id suffix; "" when none."""
    purl = component.purl
    if purl is not None and purl.qualifiers.get("rpmmod"):
        name, _, rest = purl.qualifiers["rpmmod"].partition(":")
        return f"{name}:{rest.partition(':')[0]}" if rest else ""
    for product in context:
        if product.purl is not None and product.purl.type == "rpmmod" and product.purl.version:
            return f"{product.purl.name}:{product.purl.version.partition(':')[0]}"
    match = _MODULE_SUFFIX.search(component.product_id)
    return match.group(1) if match else ""


def _package(chain: _Chain) -> _Package | None:
    """The package a resolved product id stands for; None for module (rpmmod) products."""
    component, context = chain[0], chain[1:]
    cpe = next((p.cpe for p in context if p.cpe), component.cpe)
    distro = _rhel_distro(cpe)
    base = _Package(
        package_type="generic",
        namespace="",
        name=component.branches.family or component.name or component.product_id,
        version=component.branches.version if component.branches.family else "",
        arch=component.branches.arch,
        module=_module(component, context),
        distro="",
        vers=_range(component.branches.range),
        platform=" / ".join(p.product_id for p in context),
    )
    nevra = _nevra(component.product_id)
    if component.purl is not None:
        return _from_purl(component.purl, base, nevra, distro)
    if nevra is not None:
        return replace(
            base,
            package_type="rpm",
            namespace="redhat" if cpe.startswith("cpe:/") and ":redhat:" in cpe else "",
            name=nevra.name,
            version=_evr(nevra.epoch, f"{nevra.version}-{nevra.release}"),
            arch=nevra.arch,
            distro=distro,
        )
    if distro:
        return _bare_rpm(component, base, distro)
    return base


def _from_purl(purl: Purl, base: _Package, nevra: _Nevra | None, distro: str) -> _Package | None:
    if purl.type == "rpmmod":
        return None
    package = replace(
        base,
        package_type=purl.type,
        namespace=purl.namespace,
        name=purl.name,
        version=purl.version,
        arch=purl.arch or base.arch,
    )
    if purl.type != "rpm":
        return package
    epoch = purl.epoch or (nevra.epoch if nevra else "")
    version = purl.version or (f"{nevra.version}-{nevra.release}" if nevra else "")
    return replace(
        package,
        version=_evr(epoch, version),
        arch=purl.arch or (nevra.arch if nevra else base.arch),
        distro=distro,
    )


def _bare_rpm(component: _Product, base: _Package, distro: str) -> _Package:
    """A Red Hat VEX component without purl under a RHEL platform: `kernel`, `kernel.src`,
    `log4j:2/log4j` (module stream, then package)."""
    name, module = component.product_id, base.module
    match = _MODULE_COMPONENT.fullmatch(name)
    if match:
        module, name = match.group(1), match.group(2)
    stem, _, arch = name.rpartition(".")
    if stem and arch in _RPM_ARCHES:
        name, base = stem, replace(base, arch=arch)
    return replace(base, package_type="rpm", name=name, version="", module=module, distro=distro)


def _range(name: str) -> str:
    """A product_version_range branch name when it is a vers string; "" for "every version"
    (`vers:all/*`) and for free text."""
    if not name.startswith("vers:") or name.endswith("/*") or len(name) > _MAX_ID:
        return ""
    return name
