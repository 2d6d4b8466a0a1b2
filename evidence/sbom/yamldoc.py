"""YAML documents (SPDX 2 YAML): safe loading only, no aliases, nesting cut off at max_depth.

Aliases are refused because a few of them referring to each other expand into an exponential
number of nodes for anything that walks the result (the YAML "billion laughs"); SPDX YAML has no
use for them. The event pass that checks this runs before anything is built.
"""

from __future__ import annotations

from typing import Any

import yaml

from evidence.sbom.model import Limits, SbomParseError

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def yaml_load(data: bytes, limits: Limits) -> Any:
    """The value of a single-document YAML stream, or SbomParseError saying what and where."""
    try:
        depth = 0
        for event in yaml.parse(data, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise SbomParseError(
                    f"YAML aliases are refused (alias *{event.anchor})",
                    location=_where(event.start_mark),
                )
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > limits.max_depth:
                    raise SbomParseError(
                        f"YAML nested deeper than {limits.max_depth} levels (max_depth)",
                        location=_where(event.start_mark),
                    )
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
        return yaml.load(data, Loader=_Loader)  # noqa: S506 - a SafeLoader (C or Python)
    except yaml.MarkedYAMLError as exc:
        raise SbomParseError(
            f"not YAML: {exc.problem or exc.context}", location=_where(exc.problem_mark)
        ) from None
    except yaml.YAMLError as exc:
        raise SbomParseError(f"not YAML: {exc}") from None
