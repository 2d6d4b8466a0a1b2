"""JSON documents: decoded after a nesting-depth check that costs a few byte scans; big ones
can be read member by member (`json_split`) so that their largest array is never whole in memory.

The depth check runs on the raw bytes before any object is built: strings are blanked out, the
remaining brackets are reduced pair by pair (`()` -> ``) once per level, all in C. A document
that does not reduce within `max_depth` passes is either too deep or malformed; only then does a
slower scan find the line, or orjson the syntax error.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from evidence.sbom.model import Limits, SbomParseError

_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_PARENS = bytes.maketrans(b"[]{}", b"()()")
_STRING = re.compile(rb'"[^"]*"')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
STDLIB_JSON_FROM = 8 * 1024 * 1024
STREAM_FROM = STDLIB_JSON_FROM
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Building hundreds of thousands of containers triggers the cyclic collector over and
    over for nothing (JSON cannot make cycles); pause it for the duration."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _depth_within(data: bytes, max_depth: int) -> bool:
    if b"\\" in data:
        # An escaped backslash or quote is not a string boundary; drop escaped backslashes
        # first so that `\\"` (a backslash, then the closing quote) stays a closing quote.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    reduced = data.translate(None, _NOT_STRUCTURE)
    # With no bracket inside any string, every string is now `""`. If a quote survives
    # removing those, some string holds a bracket: blank the strings properly instead.
    structure = reduced.replace(b'""', b"")
    if b'"' in structure:
        structure = _STRING.sub(b"", reduced)
    structure = structure.translate(_PARENS)
    for _ in range(max_depth):
        if not structure:
            return True
        structure = structure.replace(b"()", b"")
    return not structure


def _too_deep_at(data: bytes, max_depth: int) -> int | None:
    """The byte offset where nesting first passes `max_depth`, None if it never does."""
    depth = 0
    for token in _TOKEN.finditer(data):
        char = data[token.start()]
        if char in b"[{":
            depth += 1
            if depth > max_depth:
                return token.start()
        elif char in b"]}":
            depth -= 1
    return None


def _where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[data.rfind(b"\n", 0, offset) + 1 : offset].decode("utf-8", "replace")) + 1
    return f"line {line}, column {column}"


def has_surrogate_escapes(data: bytes) -> bool:
    """Whether `data` has \\uD800-\\uDFFF escapes, which the standard library's decoder lets
    through unpaired (orjson refuses those)."""
    return _SURROGATE_ESCAPE.search(data) is not None


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _decode(data: bytes) -> Any:
    """orjson for most documents; the standard library for big ones, because orjson first
    builds a DOM about twice the size of the input (75 MB more peak memory for a 34 MB SBOM)
    while json builds the objects directly, about 30% slower. Anything json refuses, or a
    document with surrogate escapes (which json lets through unpaired), goes to orjson, whose
    verdict and error message count."""
    if len(data) < STDLIB_JSON_FROM or has_surrogate_escapes(data):
        return orjson.loads(data)
    try:
        return json.loads(data, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return orjson.loads(data)


def json_depth_check(data: bytes, limits: Limits) -> None:
    """SbomParseError, naming the line and column, if JSON nesting passes `max_depth`."""
    if not _depth_within(data, limits.max_depth):
        offset = _too_deep_at(data, limits.max_depth)
        if offset is not None:
            raise SbomParseError(
                f"JSON nested deeper than {limits.max_depth} levels (max_depth)",
                location=_where(data, offset),
            )


def json_load(data: bytes, limits: Limits) -> Any:
    """The decoded JSON value of `data` (UTF-8, no byte order mark), or SbomParseError naming
    the line and column of a syntax error or of the point where nesting passes the limit."""
    json_depth_check(data, limits)
    try:
        return _decode(data)
    except orjson.JSONDecodeError as exc:
        location = f"line {exc.lineno}, column {exc.colno}"
        if exc.pos >= len(data.rstrip()):
            raise SbomParseError(
                "not JSON: the document ends before the JSON is complete (truncated upload?)",
                location=location,
            ) from None
        if "depth limit" in exc.msg:
            raise SbomParseError(
                "JSON nested too deeply for the parser", location=location
            ) from None
        raise SbomParseError(f"not JSON: {exc.msg}", location=location) from None


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_SPACE = re.compile(r"[ \t\n\r]*")


_DECODER = json.JSONDecoder(parse_constant=_refuse)


class _Split:
    """Reads a top-level JSON object member by member with the standard library's decoder,
    leaving out one array member whose elements are only located, not kept."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.decoder = _DECODER

    def space(self, position: int) -> int:
        end = _SPACE.match(self.text, position)
        return end.end() if end else position

    def expect(self, position: int, char: str) -> int:
        if self.text[position : position + 1] != char:
            raise ValueError(f"expected {char!r} at {position}")
        return self.space(position + 1)

    def value(self, position: int) -> tuple[Any, int]:
        value, end = self.decoder.raw_decode(self.text, position)
        return value, self.space(end)

    def starts(self, position: int) -> tuple[list[int], int]:
        """The offset of each element of the array at `position`; each element is decoded to
        find where it ends and dropped at once."""
        starts: list[int] = []
        position = self.expect(position, "[")
        if self.text[position : position + 1] == "]":
            return starts, self.space(position + 1)
        while True:
            starts.append(position)
            _, position = self.value(position)
            if self.text[position : position + 1] == "]":
                return starts, self.space(position + 1)
            position = self.expect(position, ",")


def json_split(text: str, key: str) -> tuple[dict[str, Any], list[int] | None]:
    """The top-level object of `text` without its `key` member, and the offsets in `text` of
    the elements of that member if it is an array (None if there is no such member).

    For big documents: the elements are read one at a time afterwards with `json_element`, so
    the whole array never exists in memory at once. Raises ValueError (JSONDecodeError among
    them) for anything that is not a well-formed JSON object; the caller then decodes the
    document the usual way to report the error.
    """
    split = _Split(text)
    position = split.expect(split.space(0), "{")
    members: dict[str, Any] = {}
    starts: list[int] | None = None
    if text[position : position + 1] == "}":
        position = split.space(position + 1)
    else:
        while True:
            name, position = split.value(position)
            if not isinstance(name, str):
                raise ValueError(f"expected a member name at {position}")
            position = split.expect(position, ":")
            if name == key and text[position : position + 1] == "[":
                starts, position = split.starts(position)
                members.pop(name, None)
            else:
                members[name], position = split.value(position)
                if name == key:
                    starts = None
            if text[position : position + 1] == "}":
                position = split.space(position + 1)
                break
            position = split.expect(position, ",")
    if position != len(text):
        raise ValueError(f"extra data at {position}")
    return members, starts


def json_element(text: str, start: int) -> Any:
    """The JSON value at offset `start` of `text` (an offset `json_split` gave)."""
    return _DECODER.raw_decode(text, start)[0]
