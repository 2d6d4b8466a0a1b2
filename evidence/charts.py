"""Server-rendered SVG charts: the same markup on the dashboards and in the signed PDF packets.

Dashboards (browser) and audit packets (WeasyPrint) must show the same figures, so every chart
is an inline ``<svg>`` string built here in pure Python: no plotting library, no JavaScript, no
CSS classes or variables, no ``foreignObject``, no external fonts or images. Geometry and
colours are presentation attributes (``fill``, ``stroke``), text is in
``font-family="DejaVu Sans, sans-serif"`` and the root has explicit ``width``/``height`` and a
``viewBox``, so the browser and the PDF render alike.

API
---
* ``bar_chart(title=, categories=, series=, unit=, stacked=)``: grouped or stacked vertical bars.
* ``line_chart(title=, x_labels=, series=, unit=, y_max=)``: trends; ``None`` breaks the line.
* ``hbar_chart(title=, labels=, values=, unit=)``: horizontal bars, one row per label.
* ``timeline_chart(title=, start=, end=, rows=)``: per `TimelineRow`, `Segment` bars (an open
  one, ``end=None``, runs to the chart end and ends in an arrow) and `Mark` symbols, clamped to
  ``[start, end]``. Datetimes must be timezone-aware; axis labels and table dates are in the
  timezone of `start`.

Each returns a frozen `Chart`: ``svg`` (the markup), ``markup`` (the same, marked safe for
templates), ``title``, ``description`` (the one-sentence text alternative, generated from the
numbers unless given) and ``headers``/``rows`` (the plotted numbers as strings, for the table
``templates/partials/chart.html`` renders under the chart). Empty data (no categories or rows,
only ``None``) gives a "No data for this period" chart with empty headers and rows, never an
exception; misuse (series of the wrong length, naive datetimes) raises `ValueError`. Value axes
start at 0 with 4-6 "nice" ticks; negative values are drawn at 0 (the table shows them as they
are). Numbers (`format_value`): integers without decimals, others to at most 2 decimals, "%"
appended for the unit "%", ``None`` (or NaN) shown as an en dash and drawn as a gap.

Palette and accessibility
-------------------------
The root is ``<svg role="img" aria-labelledby="<id>-title <id>-desc">`` with ``<title>`` and
``<desc>``. Series take the Okabe-Ito colour-blind-safe colours in the fixed order of `PALETTE`
and also differ without colour: the legend follows series order (stacks grow bottom-up in that
order), each line has its own dash pattern (`DASHES`) and point symbol (`POINT_SHAPES`), bars
carry their values. Timeline kinds have fixed colours (`KIND_COLOURS`, other kinds
`UNKNOWN_KIND_COLOUR`) and marks fixed symbols (`MARK_SHAPES`), explained by a legend.

Escaping and determinism
------------------------
All markup is written by `_el`, which escapes every attribute value and text content with
``html.escape(..., quote=True)`` (after dropping characters XML 1.0 forbids), so data (titles,
labels, series names, kinds) can never become markup. The output is a pure function of the
arguments: no random or counter-based ids (the id is ``chart-<slug of title>-<sha1 prefix of
the chart type, title and text alternative>``), coordinates rounded to 2 decimals, month names
that do not depend on the locale.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

#: Okabe-Ito, in the order series take them.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
)  # fmt: skip
#: Line dash patterns, in series order ("" is solid).
DASHES: tuple[str, ...] = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 3", "10 4", "6 2 2 2")
#: Point symbols of line series, in series order.
POINT_SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond")
#: Timeline segment and mark kinds -> colour (legend order); other kinds: UNKNOWN_KIND_COLOUR.
KIND_COLOURS: dict[str, str] = {
    "installed": "#0072B2",
    "vulnerable": "#D55E00",
    "excepted": "#CC79A7",
    "fixed": "#009E73",
    "published": "#000000",
    "fix available": "#56B4E9",
    "kev added": "#E69F00",
}
UNKNOWN_KIND_COLOUR = "#999999"
#: Timeline mark kinds -> symbol; other kinds are diamonds.
MARK_SHAPES: dict[str, str] = {
    "published": "circle",
    "fix available": "triangle",
    "kev added": "diamond",
    "fixed": "square",
}
FONT = "DejaVu Sans, sans-serif"
NO_DATA = "No data for this period"
MISSING = "\u2013"  # en dash: a value that is None
TEXT, MUTED, AXIS, GRID, STRIPE = "#222222", "#595959", "#666666", "#DDDDDD", "#F4F4F4"
_CHAR_EM = 0.62  # average advance of a DejaVu Sans character, in em (a layout estimate)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
Attrs = dict[str, float | str | None]
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime | None  # None: still open, drawn to the end of the chart with an arrow
    kind: str


@dataclass(frozen=True)
class Mark:
    at: datetime
    kind: str


@dataclass(frozen=True)
class TimelineRow:
    label: str
    segments: tuple[Segment, ...]
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    svg: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def markup(self) -> SafeString:
        # Safe: `svg` is written only by `_el`, which escapes every attribute value and text.
        return mark_safe(self.svg)  # noqa: S308


@dataclass(frozen=True)
class _Key:
    """A legend entry: a bar swatch (shape "rect") or a symbol, on a line when dash is set."""

    label: str
    colour: str
    shape: str = "rect"
    dash: str | None = None


def format_value(value: float | None, unit: str = "") -> str:
    """12 -> "12", 2.345 -> "2.35", 1234 -> "1,234", (95.5, "%") -> "95.5%", (3, "days")."""
    if value is None or not math.isfinite(value):
        return MISSING
    rounded = round(float(value), 2)
    text = f"{rounded:,.0f}" if rounded.is_integer() else f"{rounded:,.2f}".rstrip("0")
    text = "0" if text == "-0" else text
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def _n(x: float) -> str:
    """A coordinate, to 2 decimals without trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _esc(text: str) -> str:
    return html.escape(_NOT_XML.sub("", str(text)), quote=True)


def _attrs(attrs: Attrs) -> str:
    """` a="v"` for each attribute: "_" in names becomes "-", None values are left out, numbers
    are written with `_n`, strings escaped."""
    return "".join(
        f' {name.replace("_", "-")}="{_n(v) if isinstance(v, int | float) else _esc(v)}"'
        for name, v in attrs.items()
        if v is not None
    )


def _el(tag: str, content: str | None = None, /, **attrs: float | str | None) -> str:
    """``<tag a="v"/>``, or ``<tag a="v">content</tag>`` with the content escaped."""
    written = _attrs(attrs)
    return f"<{tag}{written}/>" if content is None else f"<{tag}{written}>{_esc(content)}</{tag}>"


def _text(x: float, y: float, content: str, **attrs: float | str | None) -> str:
    return _el("text", content, **{"x": x, "y": y, "font_size": 10, "fill": TEXT, **attrs})


def _rect(x: float, y: float, w: float, h: float, fill: str, **attrs: float | str | None) -> str:
    return _el("rect", x=x, y=y, width=max(w, 0), height=max(h, 0), fill=fill, **attrs)


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str) -> str:
    return _el("line", x1=x1, y1=y1, x2=x2, y2=y2, stroke=stroke, stroke_width=1)


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _symbol(
    shape: str, x: float, y: float, r: float, fill: str, **attrs: float | str | None
) -> str:
    """A point or mark symbol centred on (x, y), with a white outline to stand out on bars."""
    style: Attrs = {"fill": fill, "stroke": "#FFFFFF", "stroke_width": 1, **attrs}
    if shape == "circle":
        return _el("circle", cx=x, cy=y, r=r, **style)
    if shape == "square":
        return _el("rect", x=x - r, y=y - r, width=2 * r, height=2 * r, **style)
    corners: tuple[tuple[float, float], ...]
    if shape == "triangle":
        corners = ((x, y - r * 1.15), (x + r * 1.1, y + r * 0.85), (x - r * 1.1, y + r * 0.85))
    else:
        r *= 1.2
        corners = ((x, y - r), (x + r, y), (x, y + r), (x - r, y))
    return _el("polygon", points=_points(corners), **style)


def _tw(text: str, size: float = 10) -> float:
    return len(text) * size * _CHAR_EM


def _fit(text: str, room: float, size: float = 10) -> str:
    chars = max(int(room / (size * _CHAR_EM)), 2)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _on(colour: str) -> str:
    """Black or white text, whichever contrasts more with `colour` (WCAG luminance)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#FFFFFF"


def _nice_scale(peak: float, *, integer: bool) -> tuple[float, float]:
    """(top, step) of an axis from 0: 3 to 5 steps of 1, 2, 2.5 or 5 x 10^k covering `peak`
    (steps of at least 1 for integer data)."""
    peak = peak if peak > 0 else 1.0
    exp = math.floor(math.log10(peak / 5))
    for k in range(exp - 1, exp + 3):
        for mult in (1, 2, 2.5, 5):
            step = round(mult * 10.0**k, 12)
            if integer and (step < 1 or not step.is_integer()):
                continue
            if (count := math.ceil(peak / step - 1e-9)) <= 5:
                return step * max(count, 3), step
    return peak, peak / 5  # not reached: the candidates above always cover `peak`


def _value_axis(peak: float, integer: bool, unit: str) -> tuple[float, list[float], list[str]]:
    top, step = _nice_scale(peak, integer=integer)
    ticks = [step * i for i in range(round(top / step) + 1)]
    return top, ticks, [format_value(round(t, 10), "%" if unit == "%" else "") for t in ticks]


def _clean(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _series_values(expected: int, series: Sequence[Series], what: str) -> list[list[float | None]]:
    values = [[_clean(v) for v in s.values] for s in series]
    for s, vals in zip(series, values, strict=True):
        if len(vals) != expected:
            raise ValueError(f"series {s.name!r} has {len(vals)} values for {expected} {what}")
    return values


def _chart(kind: str, title: str, description: str, size: tuple[float, float], body: list[str],
           headers: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> Chart:  # fmt: skip
    """The chart with its root element, title and desc; the id is derived from the content."""
    width, height = size
    digest = hashlib.sha1(f"{kind}\n{title}\n{description}".encode(), usedforsecurity=False)
    cid = "-".join(filter(None, ("chart", slugify(title)[:40].strip("-"), digest.hexdigest()[:8])))
    root: Attrs = {
        "xmlns": "http://www.w3.org/2000/svg", "id": cid, "role": "img",
        "aria_labelledby": f"{cid}-title {cid}-desc", "width": width, "height": height,
        "viewBox": f"0 0 {_n(width)} {_n(height)}", "font_family": FONT, "font_size": 11,
    }  # fmt: skip
    head = [f"<svg{_attrs(root)}>", _el("title", title, id=f"{cid}-title")]
    head += [_el("desc", description, id=f"{cid}-desc"), _rect(0, 0, width, height, "#FFFFFF")]
    svg = "\n".join([*head, *body, "</svg>"])
    return Chart(title, description, svg, headers, rows)


def _empty(kind: str, title: str, description: str | None, width: int, height: int) -> Chart:
    desc = description or f"{title}: no data for this period."
    body = [
        _rect(0.5, 0.5, width - 1, height - 1, "#FAFAFA", stroke=GRID, stroke_width=1),
        _text(width / 2, height / 2 + 5, NO_DATA, font_size=13, text_anchor="middle", fill=MUTED),
    ]
    return _chart(kind, title, desc, (width, height), body, (), ())


def _legend(keys: Sequence[_Key], x0: float, y0: float, room: float) -> tuple[list[str], float]:
    """Legend entries left to right from (x0, y0), wrapping at `room`: (markup, height)."""
    out: list[str] = []
    x, y = x0, y0
    for key in keys:
        label = _fit(key.label, min(room - 30, 220), 11)
        entry = 24 + _tw(label, 11)
        if x > x0 and x + entry > x0 + room:
            x, y = x0, y + 18
        yc = y + 6
        if key.shape == "rect":
            out.append(_rect(x, yc - 5, 12, 10, key.colour, data_part="legend"))
        else:
            if key.dash is not None:
                line: Attrs = {"stroke": key.colour, "stroke_width": 2}
                line["stroke_dasharray"] = key.dash or None
                out.append(_el("line", x1=x - 3, y1=yc, x2=x + 17, y2=yc, **line))
            out.append(_symbol(key.shape, x + 7, yc, 4, key.colour, data_part="legend"))
        out.append(_text(x + 21, yc + 4, label, font_size=11))
        x += entry + 14
    return out, (y - y0 + 18) if keys else 0.0


def _centred(x: float, y: float, label: str, bounds: tuple[float, float], size: float) -> str:
    """`label` centred on x, moved inwards where it would stick out of `bounds`."""
    half = _tw(label, size) / 2
    x = max(bounds[0] + half, min(x, bounds[1] - half))
    return _text(
        x, y, label, font_size=size, text_anchor="middle", fill=TEXT if size > 10 else MUTED
    )


def _x_labels(labels: Sequence[str], centres: Sequence[float], slot: float, y: float) -> list[str]:
    """Category labels under the axis: every k-th one when they cannot all fit, truncated."""
    widest = min(max(_tw(label, 11) for label in labels), 90)
    needed = widest + max(widest - slot, 0) / 2 + 6  # the first label may be moved inwards
    k = next((k for k in range(1, len(labels)) if needed <= k * slot), len(labels))
    bounds = (centres[0] - slot / 2, centres[-1] + slot / 2)
    return [
        _centred(centres[i], y, _fit(labels[i], k * slot - 6, 11), bounds, 11)
        for i in range(0, len(labels), k)
    ]


def _frame(size: tuple[int, int], unit: str, keys: Sequence[_Key], top: float, ticks: list[float],
           tick_labels: list[str]) -> tuple[list[str], float, float, float]:  # fmt: skip
    """Legend, unit caption and y axis with grid of a vertical chart: (markup, left, base, h)."""
    width, height = size
    left = 16 + max(_tw(label) for label in tick_labels)
    body, legend_h = _legend(keys, left, 8, width - left - 10) if len(keys) > 1 else ([], 0.0)
    plot_top = 18 + legend_h + (14 if unit and unit != "%" else 0)
    if unit and unit != "%":
        body.append(_text(left - 6, plot_top - 10, unit, fill=MUTED))
    base = height - 28
    for tick, label in zip(ticks, tick_labels, strict=True):
        y = base - tick / top * (base - plot_top)
        body.append(_line(left, y, width - 12, y, GRID if tick else AXIS))
        body.append(_text(left - 6, y + 3.5, label, text_anchor="end", fill=MUTED))
    return body, left, base, base - plot_top


def _listing(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{label} {value}" for label, value in pairs)


def bar_chart(*, title: str, categories: Sequence[str], series: Sequence[Series], unit: str = "",
              stacked: bool = False, width: int = 640, height: int = 260,
              description: str | None = None) -> Chart:  # fmt: skip
    """Vertical bars, one group (or stack, bottom-up in series order) per category."""
    cats = [str(c) for c in categories]
    values = _series_values(len(cats), series, "categories")
    present = [v for vals in values for v in vals if v is not None]
    if not cats or not present:
        return _empty("bar", title, description, width, height)
    names = [s.name for s in series]
    columns = [[vals[i] for vals in values] for i in range(len(cats))]
    known = [[v for v in col if v is not None] for col in columns]
    totals = [sum(col) if col else None for col in known]
    with_total = stacked and len(series) > 1
    headers = ("Category", *names, *(["Total"] if with_total else []))
    cells = [[*c, t] if with_total else c for c, t in zip(columns, totals, strict=True)]
    rows = tuple(
        (cat, *(format_value(v, unit) for v in c)) for cat, c in zip(cats, cells, strict=True)
    )
    if description is None:
        if len(series) == 1:
            description = f"{title}: {_listing([(r[0], r[1]) for r in rows])}."
        else:
            parts = [
                f"{r[0]}: {_listing(list(zip(names, r[1:], strict=False)))}"
                + (f" (total {r[-1]})" if with_total else "")
                for r in rows
            ]
            description = f"{title}: {'; '.join(parts)}."
    stack_peak = max(sum(max(v or 0, 0) for v in col) for col in columns)
    integer = all(v.is_integer() for v in present)
    top, ticks, tick_labels = _value_axis(stack_peak if stacked else max(present), integer, unit)
    colours = [PALETTE[j % len(PALETTE)] for j in range(len(series))]
    keys = [_Key(n, c) for n, c in zip(names, colours, strict=True)]
    body, left, base, plot_h = _frame((width, height), unit, keys, top, ticks, tick_labels)
    slot = (width - 12 - left) / len(cats)
    group = min(slot * 0.72, 64.0 if stacked else 56.0 * len(series))
    bar_w = group if stacked else group / len(series)
    label_unit = "%" if unit == "%" else ""
    for i, col in enumerate(columns):
        x0, y = left + i * slot + (slot - group) / 2, base
        for j, v in enumerate(col):
            x = x0 if stacked else x0 + j * bar_w
            if v is None:
                if not stacked and _tw(MISSING) <= bar_w + 2:
                    body.append(_text(x + bar_w / 2, base - 4, MISSING, text_anchor="middle"))
                continue
            h = max(v, 0) / top * plot_h
            y = y - h if stacked else base - h
            bar: Attrs = {"data_part": "bar", "data_series": j, "data_category": i}
            if stacked:
                bar |= {"stroke": "#FFFFFF", "stroke_width": 0.75}
            body.append(_rect(x, y, bar_w, h, colours[j], **bar))
            label = format_value(v, label_unit)
            if not stacked and _tw(label) <= bar_w + 2:
                body.append(_text(x + bar_w / 2, y - 4, label, text_anchor="middle"))
            elif stacked and h >= 13 and _tw(label) <= bar_w - 4:
                inside = _on(colours[j])
                body.append(
                    _text(x + bar_w / 2, y + h / 2 + 3.5, label, text_anchor="middle", fill=inside)
                )
        total_label = format_value(totals[i], label_unit)
        if stacked and totals[i] is not None and _tw(total_label) <= slot - 2:
            weight = "bold" if len(series) > 1 else None
            body.append(
                _text(x0 + group / 2, y - 4, total_label, text_anchor="middle", font_weight=weight)
            )
    centres = [left + (i + 0.5) * slot for i in range(len(cats))]
    body += _x_labels(cats, centres, slot, base + 16)
    return _chart("bar", title, description, (width, height), body, headers, rows)


def _trend(name: str, labels: Sequence[str], vals: Sequence[float | None], unit: str) -> str:
    """A series in words: every value when there are few, else first, last, lowest, highest."""
    points = [(labels[i], format_value(v, unit), v) for i, v in enumerate(vals) if v is not None]
    if len(points) <= 8:
        text = _listing([(x, t) for x, t, _ in points]) or "no data"
    else:
        low, high = min(points, key=lambda p: p[2]), max(points, key=lambda p: p[2])
        first, last = points[0], points[-1]
        text = (
            f"from {first[1]} ({first[0]}) to {last[1]} ({last[0]}), lowest {low[1]} ({low[0]}), "
            f"highest {high[1]} ({high[0]})"
        )
    gaps = len(vals) - len(points)
    return f"{name}{text}" + (f", {gaps} without data" if gaps else "")


def line_chart(*, title: str, x_labels: Sequence[str], series: Sequence[Series], unit: str = "",
               y_max: float | None = None, width: int = 640, height: int = 260,
               description: str | None = None) -> Chart:  # fmt: skip
    """Lines with marked points over evenly spaced x labels; the axis reaches at least y_max."""
    labels = [str(x) for x in x_labels]
    values = _series_values(len(labels), series, "x labels")
    present = [v for vals in values for v in vals if v is not None]
    if not labels or not present:
        return _empty("line", title, description, width, height)
    names = [s.name for s in series]
    rows = tuple(
        (label, *(format_value(vals[i], unit) for vals in values)) for i, label in enumerate(labels)
    )
    if description is None:
        prefixes = [f"{n} " if len(series) > 1 else "" for n in names]
        parts = [_trend(p, labels, vals, unit) for p, vals in zip(prefixes, values, strict=True)]
        description = f"{title}: {'; '.join(parts)}."
    integer = all(v.is_integer() for v in present) and float(y_max or 0).is_integer()
    top, ticks, tick_labels = _value_axis(max(*present, y_max or 0), integer, unit)
    styles = [
        (PALETTE[j % len(PALETTE)], DASHES[j % len(DASHES)], POINT_SHAPES[j % len(POINT_SHAPES)])
        for j in range(len(series))
    ]
    keys = [_Key(n, c, shape, dash) for n, (c, dash, shape) in zip(names, styles, strict=True)]
    body, left, base, plot_h = _frame((width, height), unit, keys, top, ticks, tick_labels)
    slot = (width - 12 - left) / len(labels)
    xs = [left + (i + 0.5) * slot for i in range(len(labels))]
    for j, vals in enumerate(values):
        colour, dash, shape = styles[j]
        runs: list[list[tuple[float, float]]] = [[]]
        points: list[tuple[float, float, float]] = []
        for x, v in zip(xs, vals, strict=True):
            if v is None:
                runs.append([])
                continue
            y = base - max(v, 0) / top * plot_h
            runs[-1].append((x, y))
            points.append((x, y, v))
        stroke: Attrs = {"stroke": colour, "stroke_width": 2, "stroke_dasharray": dash or None}
        for run in runs:
            if len(run) > 1:
                body.append(
                    _el("polyline", points=_points(run), fill="none", stroke_linejoin="round",
                        **stroke, data_part="line", data_series=j)
                )  # fmt: skip
        point_labels = [format_value(v, "%" if unit == "%" else "") for _, _, v in points]
        labelled = len(series) == 1 and max(map(_tw, point_labels), default=0) + 8 <= slot
        for (x, y, _), label in zip(points, point_labels, strict=True):
            body.append(_symbol(shape, x, y, 3.5, colour, data_part="point", data_series=j))
            if labelled:
                body.append(_text(x, y - 8, label, text_anchor="middle"))
    body += _x_labels(labels, xs, slot, base + 16)
    return _chart("line", title, description, (width, height), body, ("Period", *names), rows)


def hbar_chart(*, title: str, labels: Sequence[str], values: Sequence[float | None],
               unit: str = "", width: int = 640,
               description: str | None = None) -> Chart:  # fmt: skip
    """Horizontal bars, one 24px row per label, each value (with unit) after its bar."""
    names = [str(label) for label in labels]
    vals = _series_values(len(names), [Series(title, tuple(values))], "labels")[0]
    present = [v for v in vals if v is not None]
    if not names or not present:
        return _empty("hbar", title, description, width, 120)
    texts = [format_value(v, unit) for v in vals]
    rows = tuple(zip(names, texts, strict=True))
    if description is None:
        description = f"{title}: {_listing(rows)}."
    top, ticks, tick_labels = _value_axis(max(present), all(v.is_integer() for v in present), unit)
    row_h, bar_h = 24, 14
    label_w = min(max(_tw(n, 11) for n in names), width * 0.35)
    left = 18 + label_w
    plot_w = width - left - max(_tw(t) for t in texts) - 16
    plot_top, plot_bottom = 10.0, 10.0 + row_h * len(names)
    body: list[str] = []
    for tick, tick_label in zip(ticks, tick_labels, strict=True):
        x = left + tick / top * plot_w
        body.append(_line(x, plot_top, x, plot_bottom, GRID if tick else AXIS))
        body.append(_text(x, plot_bottom + 15, tick_label, text_anchor="middle", fill=MUTED))
    for i, (name, v, text) in enumerate(zip(names, vals, texts, strict=True)):
        yc = plot_top + (i + 0.5) * row_h
        body.append(_text(10, yc + 4, _fit(name, label_w, 11), font_size=11))
        w = 0.0 if v is None else max(v, 0) / top * plot_w
        if v is not None:
            body.append(_rect(left, yc - bar_h / 2, w, bar_h, PALETTE[0], data_part="bar"))
        body.append(_text(left + w + 5, yc + 3.5, text, fill=MUTED if v is None else TEXT))
    height = round(plot_bottom + 30)
    return _chart("hbar", title, description, (width, height), body, ("Category", "Value"), rows)


def _time_ticks(start: datetime, end: datetime, plot_w: float) -> list[tuple[datetime, str]]:
    """Day, week (Mondays), month or year ticks in start's timezone, thinned to fit."""
    limits = (("day", 14), ("week", 120), ("month", 1100))
    unit = next((u for u, days in limits if end - start <= timedelta(days=days)), "year")
    day = start.date()
    if unit == "week":
        day += timedelta(days=-day.weekday() % 7)
    elif unit != "day":
        day = day.replace(day=1) if unit == "month" else date(day.year, 1, 1)
    ticks: list[tuple[datetime, str]] = []
    while (at := datetime(day.year, day.month, day.day, tzinfo=start.tzinfo)) <= end:
        month = _MONTHS[day.month - 1]
        if at >= start:
            if unit in ("day", "week"):
                label = f"{day.day} {month}"
            elif unit == "month":
                label = f"{month} {day.year}" if not ticks or day.month == 1 else month
            else:
                label = str(day.year)
            ticks.append((at, label))
        if unit in ("day", "week"):
            day += timedelta(days=1 if unit == "day" else 7)
        elif unit == "month":
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        else:
            day = date(day.year + 1, 1, 1)
    widest = max((_tw(label) for _, label in ticks), default=0) + 10
    return ticks[:: max(1, math.ceil(widest * len(ticks) / plot_w))]


def timeline_chart(*, title: str, start: datetime, end: datetime, rows: Sequence[TimelineRow],
                   width: int = 640, description: str | None = None) -> Chart:  # fmt: skip
    """Per row, segments (bars; an open one ends in an arrow) and marks (symbols) in time."""
    moments = [start, end]
    for row in rows:
        moments += [s.start for s in row.segments] + [m.at for m in row.marks]
        moments += [s.end for s in row.segments if s.end is not None]
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"timeline datetimes must be timezone-aware, got {moment!r}")
    if end <= start:
        raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
    fmt = "%Y-%m-%d" if end - start >= timedelta(days=2) else "%Y-%m-%d %H:%M"

    def when(at: datetime) -> str:
        return at.astimezone(start.tzinfo).strftime(fmt)

    visible = [
        (
            row,
            [s for s in row.segments if s.start < end and (s.end is None or s.end >= start)],
            [m for m in row.marks if start <= m.at <= end],
        )
        for row in rows
    ]
    if not any(segs or marks for _, segs, marks in visible):
        return _empty("timeline", title, description, width, 120)
    table: list[tuple[str, ...]] = []
    summaries: list[str] = []
    for row, segs, marks in visible:
        spans = [(s.kind, when(s.start), "open" if s.end is None else when(s.end)) for s in segs]
        events = [(m.kind, when(m.at), MISSING) for m in marks]
        table += [(row.label, *item) for item in spans + events]
        summary = [f"{k} {a} to {b}" for k, a, b in spans] + [f"{k} {a}" for k, a, _ in events]
        summaries.append(f"{row.label}: {', '.join(summary) or 'nothing in the period'}")
    if description is None:
        description = f"{title}, {when(start)} to {when(end)}: {'; '.join(summaries)}."

    def colour(kind: str) -> str:
        return KIND_COLOURS.get(kind, UNKNOWN_KIND_COLOUR)

    def in_order(kinds: list[str]) -> list[str]:
        known = list(KIND_COLOURS)
        unique = list(dict.fromkeys(kinds))
        return sorted(unique, key=lambda k: known.index(k) if k in known else len(known))

    seg_kinds = in_order([s.kind for _, segs, _ in visible for s in segs])
    mark_kinds = in_order([m.kind for _, _, marks in visible for m in marks])
    keys = [_Key(k, colour(k)) for k in seg_kinds]
    keys += [_Key(k, colour(k), MARK_SHAPES.get(k, "diamond")) for k in mark_kinds]
    row_h, bar_h = 24, 12
    label_w = min(max(_tw(row.label, 11) for row in rows), width * 0.3)
    left = 20 + label_w
    plot_w = width - left - 18  # room for an open end's arrow and the last tick label
    body, legend_h = _legend(keys, left, 8, width - left - 10)
    plot_top = 16 + legend_h
    plot_bottom = plot_top + row_h * len(rows)

    def x_of(at: datetime) -> float:
        return left + max(min((at - start) / (end - start), 1.0), 0.0) * plot_w

    for i in range(0, len(rows), 2):
        body.append(_rect(left, plot_top + i * row_h, plot_w, row_h, STRIPE))
    for at, label in _time_ticks(start, end, plot_w):
        body.append(_line(x_of(at), plot_top, x_of(at), plot_bottom + 4, GRID))
        body.append(_centred(x_of(at), plot_bottom + 16, label, (4, width - 4), 10))
    body.append(_line(left, plot_bottom, left + plot_w, plot_bottom, AXIS))
    for i, (row, segs, marks) in enumerate(visible):
        yc = plot_top + (i + 0.5) * row_h
        body.append(_text(10, yc + 4, _fit(row.label, label_w, 11), font_size=11))
        for seg in segs:
            x1, x2 = x_of(seg.start), x_of(end if seg.end is None else seg.end)
            bar: Attrs = {"data_part": "segment", "data_row": i, "data_kind": seg.kind}
            body.append(
                _rect(x1, yc - bar_h / 2, max(x2 - x1, 1.5), bar_h, colour(seg.kind), **bar)
            )
            if seg.end is None:
                tip = _points([(x2, yc - 8), (x2 + 8, yc), (x2, yc + 8)])
                body.append(_el("polygon", points=tip, fill=colour(seg.kind), data_part="open-end"))
        for mark in marks:
            shape, mx = MARK_SHAPES.get(mark.kind, "diamond"), x_of(mark.at)
            body.append(
                _symbol(shape, mx, yc, 5, colour(mark.kind), data_part="mark", data_row=i,
                        data_kind=mark.kind)
            )  # fmt: skip
    height = round(plot_bottom + 30)
    headers = ("Row", "Kind", "From", "To")
    return _chart("timeline", title, description, (width, height), body, headers, tuple(table))
