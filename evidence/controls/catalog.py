"""The control catalog: Patchproof's portal controls, their metrics and thresholds, and the legal
and framework requirements they map to, as versioned YAML data (README.md in data/ is the guide
for administrators).

A catalog is a directory (shipped: `evidence/controls/data/`) validated strictly on load: an
unknown, missing or duplicate key or id, an unknown unit, operator, relationship, evidence kind
or condition, a threshold naming a missing parameter (or one in another unit), a partial level
stricter than its threshold, a mapping to a missing control, framework or node, a node whose
parent is not listed before it, or text in an identifier-only framework is a `CatalogError`
naming the file and the key path, e.g.
`controls.yaml: controls[5].metrics[0].threshold.param: unknown parameter 'min_in_sla'`.

controls.yaml:

    catalog: {id: patchproof-controls, version: "2026.11.0", title: ..., description: ...}
    parameters:     global values thresholds name; units (UNITS): ratio 0-1, count, days and
                    hours whole numbers >= 0, bool 0/1 (or true/false)
      - {id: min_in_sla_ratio, value: 0.95, unit: ratio, description: ..., source: ...}
    controls:
      - id: PTL-PATCH-01                PTL-<DOMAIN>-<NN>
        title, statement, objective     objective optional
        requires: [hosts, feeds_fresh]  evidence conditions (CONDITIONS), may be empty
        evidence: [exposures, hosts]    evidence kinds (EVIDENCE_KINDS)
        metrics:                        ids a-z 0-9 _, unique within the control
          - {id: in_sla_ratio, label: ..., unit: ratio, formula: what is counted, in words,
             threshold: {op: ">=", param: min_in_sla_ratio},     optional: informational
             partial: {op: ">=", param: partial_in_sla_ratio}}  optional, same op

frameworks/<id>.yaml (the file name is the framework id):

    framework: {id, name, edition, source_url, licence, text: full | summary | none}
    nodes:          source order; refs quoted ("32.1.b"); text none: no summary or quote
      - {ref: "32.1.b", label: "Art. 32(1)(b)", title?, summary?, quote?, url?, parent?}

mappings.yaml:

    mappings:       STRM relationship of the control to the requirement (RELATIONSHIPS)
      - {control: PTL-PATCH-01, framework: gdpr, ref: "32.1.b", relationship: intersect,
         strength?: 1-10, rationale: ...}

`digest` is the sha256 of the loaded content as canonical JSON (sorted keys): any change of
data changes it, a change of layout or comments does not. Packets print it with `version`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections import abc
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
MAX_FILE_BYTES = 1024 * 1024

# Evidence conditions the evaluator computes; a control whose condition fails has
# insufficient evidence rather than a result.
CONDITIONS: dict[str, str] = {
    "hosts": "the scope has at least one host",
    "inventory_fresh": "every host has an ingested snapshot within inventory_max_age_days",
    "feeds_fresh": "no enabled feed source is stale",
    "feeds_ran": "at least one feed run succeeded before the as-of time",
    "kev_feed": "the kev source has a successful run within feed_max_age_hours",
    "retired_feed": "the retired source has at least one successful run",
}
EVIDENCE_KINDS = (
    "exposures",
    "hosts",
    "sbom_documents",
    "feed_runs",
    "exceptions",
    "audit_log",
    "packets",
    "assessments",
    "settings",
)
UNITS = ("ratio", "count", "days", "hours", "bool")
OPS = (">=", "<=")
RELATIONSHIPS = ("equal", "subset", "superset", "intersect")
TEXT_LEVELS = ("full", "summary", "none")

_SLUG = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")
_VERSION = re.compile(r"\d+\.\d+\.\d+")
_CONTROL_ID = re.compile(r"PTL-[A-Z]{2,8}-\d{2}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9.()-]{0,63}")

_T = TypeVar("_T")


class CatalogError(ValueError):
    """Catalog data that does not follow the format (message: file, key path, problem)."""


# --- the catalog ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """A named global value that thresholds refer to."""

    id: str
    value: float
    unit: str
    description: str
    source: str | None


@dataclass(frozen=True)
class Threshold:
    """`value <op> parameter`: a metric's target, or its partial level."""

    op: str
    param: str

    def holds(self, value: float | None, params: abc.Mapping[str, Parameter | float]) -> bool:
        """True when `value` meets the limit in `params` (Parameters or plain numbers, e.g.
        overrides); None or NaN (nothing measured) never holds; KeyError if the param is absent.
        """
        if value is None or math.isnan(value):
            return False
        limit = params[self.param]
        bound = limit.value if isinstance(limit, Parameter) else limit
        return value >= bound if self.op == ">=" else value <= bound


@dataclass(frozen=True)
class Metric:
    """One figure of a control; without a threshold it is informational."""

    id: str
    label: str
    unit: str
    formula: str
    threshold: Threshold | None
    partial: Threshold | None


@dataclass(frozen=True)
class Control:
    """A portal control: what it asks for, what evidence it needs and how it is measured."""

    id: str
    title: str
    statement: str
    objective: str | None
    requires: tuple[str, ...]
    evidence: tuple[str, ...]
    metrics: tuple[Metric, ...]

    def metric(self, metric_id: str) -> Metric:
        """The metric `metric_id` of this control; KeyError if it has none."""
        return _find(self.metrics, "id", metric_id, f"{self.id} has no metric")


@dataclass(frozen=True)
class RequirementNode:
    """One requirement of a framework, numbered as its source numbers it."""

    ref: str
    label: str
    title: str | None
    summary: str | None
    quote: str | None
    url: str | None
    parent: str | None


@dataclass(frozen=True)
class Framework:
    """A law, regulation or standard and the requirement nodes the catalog maps to."""

    id: str
    name: str
    edition: str
    source_url: str
    licence: str
    text: str
    nodes: tuple[RequirementNode, ...]

    def node(self, ref: str) -> RequirementNode:
        """The node `ref`; KeyError if the framework has none."""
        return _find(self.nodes, "ref", ref, f"{self.id} has no requirement")


@dataclass(frozen=True)
class Mapping:
    """How a control relates to a requirement node (STRM set-theory relationship)."""

    control: str
    framework: str
    ref: str
    relationship: str
    strength: int | None
    rationale: str


@dataclass(frozen=True)
class Catalog:
    """One loaded catalog. The cached default load is shared: do not modify its dicts."""

    id: str
    version: str
    title: str
    description: str
    digest: str
    parameters: dict[str, Parameter]
    controls: tuple[Control, ...]
    frameworks: dict[str, Framework]
    mappings: tuple[Mapping, ...]

    def control(self, control_id: str) -> Control:
        """The control `control_id`; KeyError if there is none."""
        return _find(self.controls, "id", control_id, "unknown control")

    def nodes_for(self, control_id: str) -> list[tuple[Mapping, RequirementNode]]:
        """The requirement nodes `control_id` maps to, in the order of mappings.yaml."""
        self.control(control_id)
        return [
            (m, self.frameworks[m.framework].node(m.ref))
            for m in self.mappings
            if m.control == control_id
        ]

    def controls_for(
        self, framework_id: str
    ) -> list[tuple[RequirementNode, list[tuple[Mapping, Control]]]]:
        """Every node of `framework_id` in file order, each with the controls mapped to it in
        catalog order (an empty list for a node nothing maps to, e.g. a parent heading)."""
        if framework_id not in self.frameworks:
            raise KeyError(f"unknown framework {framework_id!r}")
        order = {control.id: index for index, control in enumerate(self.controls)}
        mapped = sorted(
            (m for m in self.mappings if m.framework == framework_id),
            key=lambda m: order[m.control],
        )
        return [
            (node, [(m, self.control(m.control)) for m in mapped if m.ref == node.ref])
            for node in self.frameworks[framework_id].nodes
        ]


def _find(items: abc.Iterable[_T], field: str, value: str, missing: str) -> _T:
    for item in items:
        if getattr(item, field) == value:
            return item
    raise KeyError(f"{missing} {value!r}")


# --- locations and values ---------------------------------------------------------------------


@dataclass(frozen=True)
class _At:
    """Where in which file a value is, for error messages."""

    origin: str
    path: str = ""

    def key(self, name: str | int) -> _At:
        if isinstance(name, int):
            return _At(self.origin, f"{self.path}[{name}]")
        return _At(self.origin, f"{self.path}.{name}" if self.path else name)

    def error(self, message: str) -> CatalogError:
        where = f"{self.origin}: {self.path}" if self.path else self.origin
        return CatalogError(f"{where}: {message}")


_Parse = abc.Callable[[Any, _At], Any]


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _record(
    value: object, at: _At, required: dict[str, _Parse], optional: dict[str, _Parse] | None = None
) -> dict[str, Any]:
    """`value` as a mapping with all `required` keys and none outside required + optional,
    each parsed by its function (an absent optional key: None)."""
    parsers = {**required, **(optional or {})}
    if not isinstance(value, dict):
        raise at.error(f"expected a mapping, got {_type_name(value)}")
    for key in value:
        if key not in parsers:
            raise at.key(str(key)).error(f"unknown key (known: {', '.join(parsers)})")
    for key in required:
        if key not in value:
            raise at.key(key).error("required key is missing")
    return {
        key: parse(value[key], at.key(key)) if key in value else None
        for key, parse in parsers.items()
    }


def _list(value: object, at: _At, *, empty: bool = False) -> list[Any]:
    if not isinstance(value, list) or (not value and not empty):
        raise at.error("expected a list" if empty else "expected a non-empty list")
    return value


def _items(
    value: object, at: _At, parse: abc.Callable[[Any, _At], _T], unique: str
) -> tuple[_T, ...]:
    """A non-empty list parsed item by item; CatalogError at the second item with the same
    `unique` attribute."""
    items = tuple(parse(item, at.key(i)) for i, item in enumerate(_list(value, at)))
    seen: set[object] = set()
    for index, item in enumerate(items):
        if getattr(item, unique) in seen:
            raise at.key(index).key(unique).error(f"{getattr(item, unique)!r} appears twice")
        seen.add(getattr(item, unique))
    return items


def _text(value: object, at: _At) -> str:
    """A non-empty string, its whitespace runs folded to single spaces."""
    if not isinstance(value, str) or not value.strip():
        raise at.error(f"expected a non-empty string, got {_type_name(value)}")
    return " ".join(value.split())


def _raw(value: object, at: _At) -> object:
    return value


def _matching(pattern: re.Pattern[str], what: str) -> _Parse:
    def parse(value: object, at: _At) -> str:
        if not isinstance(value, str):
            hint = ' (quote it: "5.2")' if isinstance(value, int | float) else ""
            raise at.error(f"expected a string {what}, got {_type_name(value)}{hint}")
        if not pattern.fullmatch(value):
            raise at.error(f"{value!r} is not a valid {what}")
        return value

    return parse


def _url(value: object, at: _At) -> str:
    url = _text(value, at)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        raise at.error(f"{url!r} is not an http(s) URL")
    return url


def _one_of(allowed: abc.Iterable[str], what: str) -> _Parse:
    known = tuple(allowed)

    def parse(value: object, at: _At) -> str:
        if not isinstance(value, str) or value not in known:
            raise at.error(f"unknown {what} {value!r} (known: {', '.join(known)})")
        return value

    return parse


def _some_of(allowed: abc.Iterable[str], what: str, *, empty: bool) -> _Parse:
    one = _one_of(allowed, what)

    def parse(value: object, at: _At) -> tuple[str, ...]:
        found: list[str] = []
        for index, item in enumerate(_list(value, at, empty=empty)):
            if one(item, at.key(index)) in found:
                raise at.key(index).error(f"{item!r} appears twice")
            found.append(item)
        return tuple(found)

    return parse


def _strength(value: object, at: _At) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise at.error(f"expected a whole number from 1 to 10, got {value!r}")
    return value


def _value(value: object, unit: str, at: _At) -> float:
    if unit == "bool":
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return int(value)
        raise at.error(f"expected true, false, 0 or 1, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise at.error(f"expected a number, got {_type_name(value)}")
    if unit == "ratio":
        if not 0 <= value <= 1:
            raise at.error(f"a ratio must be between 0 and 1, got {value}")
        return value
    if not isinstance(value, int) or value < 0:
        raise at.error(f"expected a whole number of {unit} >= 0, got {value}")
    return value


_unit = _one_of(UNITS, "unit")
_name = _matching(_NAME, "id (a-z 0-9 _)")
_ref = _matching(_REF, "requirement ref")


# --- controls.yaml ----------------------------------------------------------------------------


def _parameter(value: object, at: _At) -> Parameter:
    fields = _record(
        value,
        at,
        {"id": _name, "value": _raw, "unit": _unit, "description": _text},
        {"source": _text},
    )
    fields["value"] = _value(fields["value"], fields["unit"], at.key("value"))
    return Parameter(**fields)


def _threshold(value: object, at: _At, unit: str, params: dict[str, Parameter]) -> Threshold:
    level = Threshold(**_record(value, at, {"op": _one_of(OPS, "operator"), "param": _name}))
    if level.param not in params:
        raise at.key("param").error(f"unknown parameter {level.param!r}")
    if params[level.param].unit != unit:
        message = (
            f"parameter {level.param!r} is in {params[level.param].unit}, the metric in {unit}"
        )
        raise at.key("param").error(message)
    return level


def _metric(value: object, at: _At, params: dict[str, Parameter]) -> Metric:
    fields = _record(
        value,
        at,
        {"id": _name, "label": _text, "unit": _unit, "formula": _text},
        {"threshold": _raw, "partial": _raw},
    )
    unit, threshold, partial = fields["unit"], fields["threshold"], fields["partial"]
    if threshold is not None:
        fields["threshold"] = threshold = _threshold(threshold, at.key("threshold"), unit, params)
    if partial is not None:
        partial_at = at.key("partial")
        fields["partial"] = partial = _threshold(partial, partial_at, unit, params)
        if threshold is None:
            raise partial_at.error("a partial level needs a threshold")
        if partial.op != threshold.op:
            message = f"{partial.op!r} differs from the threshold's {threshold.op!r}"
            raise partial_at.key("op").error(message)
        target, lower = params[threshold.param].value, params[partial.param].value
        if (lower > target) if threshold.op == ">=" else (lower < target):
            message = (
                f"{partial.param!r} ({lower}) is stricter than the threshold "
                f"{threshold.param!r} ({target})"
            )
            raise partial_at.key("param").error(message)
    return Metric(**fields)


def _control(value: object, at: _At, params: dict[str, Parameter]) -> Control:
    fields = _record(
        value,
        at,
        {
            "id": _matching(_CONTROL_ID, "control id (PTL-<DOMAIN>-<NN>)"),
            "title": _text,
            "statement": _text,
            "requires": _some_of(CONDITIONS, "condition", empty=True),
            "evidence": _some_of(EVIDENCE_KINDS, "evidence kind", empty=False),
            "metrics": lambda v, a: _items(v, a, lambda i, b: _metric(i, b, params), "id"),
        },
        {"objective": _text},
    )
    return Control(**fields)


def _controls_file(data: object, at: _At) -> tuple[dict[str, Any], tuple[Control, ...]]:
    """The catalog header (with its parameters by id) and the controls."""
    raw = _record(data, at, {"catalog": _raw, "parameters": _raw, "controls": _raw})
    header = _record(
        raw["catalog"],
        at.key("catalog"),
        {
            "id": _matching(_SLUG, "catalog id (a-z 0-9 . -)"),
            "version": _matching(_VERSION, 'version ("2026.11.0")'),
            "title": _text,
            "description": _text,
        },
    )
    params = _items(raw["parameters"], at.key("parameters"), _parameter, "id")
    header["parameters"] = by_id = {p.id: p for p in params}
    parse = lambda v, a: _control(v, a, by_id)  # noqa: E731
    return header, _items(raw["controls"], at.key("controls"), parse, "id")


# --- frameworks/*.yaml and mappings.yaml ------------------------------------------------------


def _node(value: object, at: _At) -> RequirementNode:
    return RequirementNode(
        **_record(
            value,
            at,
            {"ref": _ref, "label": _text},
            {"title": _text, "summary": _text, "quote": _text, "url": _url, "parent": _ref},
        )
    )


def _framework(data: object, at: _At, expected_id: str) -> Framework:
    raw = _record(data, at, {"framework": _raw, "nodes": _raw})
    fw_at = at.key("framework")
    fields = _record(
        raw["framework"],
        fw_at,
        {
            "id": _matching(_SLUG, "framework id (a-z 0-9 . -)"),
            "name": _text,
            "edition": _text,
            "source_url": _url,
            "licence": _text,
            "text": _one_of(TEXT_LEVELS, "text level"),
        },
    )
    if fields["id"] != expected_id:
        raise fw_at.key("id").error(f"{fields['id']!r} differs from the file name")
    nodes = _items(raw["nodes"], at.key("nodes"), _node, "ref")
    for index, node in enumerate(nodes):
        node_at = at.key("nodes").key(index)
        for key in ("summary", "quote"):
            if fields["text"] == "none" and getattr(node, key) is not None:
                raise node_at.key(key).error("not allowed: the framework is identifier-only")
        if node.parent is not None and node.parent not in {n.ref for n in nodes[:index]}:
            message = f"unknown parent {node.parent!r} (a parent is listed before its children)"
            raise node_at.key("parent").error(message)
    return Framework(**fields, nodes=nodes)


def _mappings_file(
    data: object, at: _At, controls: tuple[Control, ...], frameworks: dict[str, Framework]
) -> tuple[Mapping, ...]:
    spec = {
        "control": _one_of([c.id for c in controls], "control"),
        "framework": _one_of(frameworks, "framework"),
        "ref": _ref,
        "relationship": _one_of(RELATIONSHIPS, "relationship"),
        "rationale": _text,
    }
    items_at = at.key("mappings")
    items = _list(_record(data, at, {"mappings": _raw})["mappings"], items_at)
    mappings = tuple(
        Mapping(**_record(item, items_at.key(i), spec, {"strength": _strength}))
        for i, item in enumerate(items)
    )
    seen: set[tuple[str, str, str]] = set()
    for index, m in enumerate(mappings):
        if m.ref not in {node.ref for node in frameworks[m.framework].nodes}:
            message = f"unknown requirement {m.ref!r} in frameworks/{m.framework}.yaml"
            raise items_at.key(index).key("ref").error(message)
        if (m.control, m.framework, m.ref) in seen:
            message = f"{m.control} -> {m.framework} {m.ref}"
            raise items_at.key(index).error(f"{message!r} appears twice")
        seen.add((m.control, m.framework, m.ref))
    return mappings


# --- YAML, files and the digest ---------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that repeats a key."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, abc.Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read(directory: Path, name: str) -> object:
    """The parsed YAML of `directory/name`; CatalogError naming `name` when it cannot be."""
    path = directory / name
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CatalogError(f"{name}: larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{name}: cannot be read: {exc}") from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CatalogError(f"{name}: not valid YAML: {exc}") from exc


def _load(directory: Path) -> Catalog:
    header, controls = _controls_file(_read(directory, "controls.yaml"), _At("controls.yaml"))
    frameworks: dict[str, Framework] = {}
    for path in sorted((directory / "frameworks").glob("*.yaml")):
        name = f"frameworks/{path.name}"
        framework = _framework(_read(directory, name), _At(name), path.name.removesuffix(".yaml"))
        frameworks[framework.id] = framework
    if not frameworks:
        raise CatalogError("frameworks/: no framework files (*.yaml)")
    mappings = _mappings_file(
        _read(directory, "mappings.yaml"), _At("mappings.yaml"), controls, frameworks
    )
    content = {
        **header,
        "parameters": [dataclasses.asdict(p) for p in header["parameters"].values()],
        "controls": [dataclasses.asdict(c) for c in controls],
        "frameworks": {key: dataclasses.asdict(f) for key, f in frameworks.items()},
        "mappings": [dataclasses.asdict(m) for m in mappings],
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Catalog(
        **header,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        controls=controls,
        frameworks=frameworks,
        mappings=mappings,
    )


@lru_cache(maxsize=1)
def _shipped() -> Catalog:
    return _load(DATA_DIR)


def catalog_load(directory: Path | None = None) -> Catalog:
    """The validated catalog in `directory` (default: the shipped data/, loaded once and
    cached); CatalogError naming the file and key path when the data does not follow the
    format."""
    if directory is None:
        return _shipped()
    return _load(Path(directory))
