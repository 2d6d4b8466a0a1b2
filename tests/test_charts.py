"""The server-rendered SVG charts: geometry, accessibility, escaping, determinism and the PDF."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from evidence.charts import (
    KIND_COLOURS,
    NO_DATA,
    PALETTE,
    UNKNOWN_KIND_COLOUR,
    Chart,
    Mark,
    Segment,
    Series,
    TimelineRow,
    bar_chart,
    format_value,
    hbar_chart,
    line_chart,
    timeline_chart,
)

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = ("<script>alert(1)</script>", '"; } body { display:none }', "a & b <i>")
JAN = datetime(2025, 1, 1, tzinfo=UTC)
SVG_TAGS = {"svg", "title", "desc", "rect", "text", "line", "circle", "polygon", "polyline"}


def parse(chart: Chart) -> ET.Element:
    root = ET.fromstring(chart.svg)  # noqa: S314 (our own output, parsed to check it is well-formed)
    assert root.tag == f"{NS}svg"
    return root


def parts(root: ET.Element, part: str, **attrs: str) -> list[ET.Element]:
    return [
        el
        for el in root.iter()
        if el.get("data-part") == part and all(el.get(k) == v for k, v in attrs.items())
    ]


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{NS}text")]


def y_ticks(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{NS}text") if el.get("text-anchor") == "end"]


def fnum(el: ET.Element, name: str) -> float:
    return float(el.get(name, "nan"))


def legend_labels(root: ET.Element) -> list[str]:
    """The text after each legend swatch, in document order."""
    elements = list(root.iter())
    labels = []
    for i, el in enumerate(elements):
        if el.get("data-part") == "legend":
            label = next(e for e in elements[i + 1 :] if e.tag == f"{NS}text")
            labels.append(label.text or "")
    return labels


def assert_accessible(chart: Chart) -> ET.Element:
    root = parse(chart)
    assert root.get("role") == "img"
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    title = root.find(f"{NS}title")
    desc = root.find(f"{NS}desc")
    assert title is not None and title.get("id") == title_id and title.text == chart.title
    assert desc is not None and desc.get("id") == desc_id and desc.text == chart.description
    for attr in ("width", "height", "viewBox", "font-family"):
        assert root.get(attr), attr
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert "foreignObject" not in chart.svg and "class=" not in chart.svg
    assert "var(" not in chart.svg and "<script" not in chart.svg.lower()
    return root


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (5, "", "5"),
        (5.0, "", "5"),
        (2.346, "", "2.35"),
        (2.5, "", "2.5"),
        (1234, "", "1,234"),
        (95.5, "%", "95.5%"),
        (100.0, "%", "100%"),
        (3, "days", "3 days"),
        (-0.001, "", "0"),
        (None, "%", "\u2013"),
        (float("nan"), "", "\u2013"),
    ],
)
def test_format_value(value: float | None, unit: str, expected: str) -> None:
    assert format_value(value, unit) == expected


def test_bar_chart_single_series() -> None:
    chart = bar_chart(
        title="Open exposures by tier",
        categories=["P0", "P1", "P2", "P3"],
        series=[Series("open", (0, 5, 10, None))],
    )
    root = assert_accessible(chart)
    assert chart.description == "Open exposures by tier: P0 0, P1 5, P2 10, P3 \u2013."
    bars = parts(root, "bar")
    assert len(bars) == 3  # None is a gap, 0 a bar of height 0
    zero, five, ten = (fnum(b, "height") for b in bars)
    assert zero == 0
    assert ten == pytest.approx(2 * five, abs=0.02)
    assert {fnum(b, "y") + fnum(b, "height") for b in bars} == {fnum(bars[0], "y")}  # one base
    assert y_ticks(root) == ["0", "2", "4", "6", "8", "10"]
    ten_line = list(root.iter(f"{NS}line"))[-1]  # the top grid line is tick 10
    assert fnum(bars[2], "y") == pytest.approx(fnum(ten_line, "y1"), abs=0.02)
    assert {"0", "5", "10", "\u2013", "P0", "P3"} <= set(texts(root))  # values on bars, gap
    assert parts(root, "legend") == []  # one series: the caption names it
    assert {b.get("fill") for b in bars} == {PALETTE[0]}
    assert chart.headers == ("Category", "open")
    assert chart.rows == (("P0", "0"), ("P1", "5"), ("P2", "10"), ("P3", "\u2013"))
    assert isinstance(chart.markup, SafeString) and chart.markup == chart.svg


def test_bar_chart_grouped_legend_and_gaps() -> None:
    chart = bar_chart(
        title="By tier and state",
        categories=["Critical", "High"],
        series=[Series("open", (2, 8)), Series("excepted", (None, 4)), Series("overdue", (1, 0))],
    )
    root = assert_accessible(chart)
    assert legend_labels(root) == ["open", "excepted", "overdue"]
    assert [el.get("fill") for el in parts(root, "legend")] == list(PALETTE[:3])
    assert len(parts(root, "bar", **{"data-series": "1"})) == 1  # the None is left out
    assert parts(root, "bar", **{"data-series": "1", "data-category": "0"}) == []
    for j in range(3):
        assert {b.get("fill") for b in parts(root, "bar", **{"data-series": str(j)})} == {
            PALETTE[j]
        }
    eight, four = parts(root, "bar", **{"data-category": "1"})[:2]
    assert fnum(eight, "height") == pytest.approx(2 * fnum(four, "height"), abs=0.02)
    assert fnum(eight, "x") < fnum(four, "x")  # side by side, in series order
    assert chart.headers == ("Category", "open", "excepted", "overdue")
    assert chart.rows == (("Critical", "2", "\u2013", "1"), ("High", "8", "4", "0"))
    assert chart.description == (
        "By tier and state: Critical: open 2, excepted \u2013, overdue 1; "
        "High: open 8, excepted 4, overdue 0."
    )


def test_bar_chart_stacked_totals() -> None:
    chart = bar_chart(
        title="Stacked",
        categories=["A", "B", "C"],
        series=[Series("open", (3, 6, None)), Series("excepted", (1, 2, None))],
        stacked=True,
        unit="hosts",
    )
    root = assert_accessible(chart)
    assert chart.headers == ("Category", "open", "excepted", "Total")
    assert chart.rows == (
        ("A", "3 hosts", "1 hosts", "4 hosts"),
        ("B", "6 hosts", "2 hosts", "8 hosts"),
        ("C", "\u2013", "\u2013", "\u2013"),
    )
    a = parts(root, "bar", **{"data-category": "0"})
    b = parts(root, "bar", **{"data-category": "1"})
    assert len(a) == len(b) == 2 and not parts(root, "bar", **{"data-category": "2"})
    base = fnum(a[0], "y") + fnum(a[0], "height")
    for stack in (a, b):
        assert len({fnum(s, "x") for s in stack}) == 1  # one column
        assert fnum(stack[0], "y") == pytest.approx(fnum(stack[1], "y") + fnum(stack[1], "height"))
    stack_a = base - fnum(a[1], "y")
    stack_b = base - fnum(b[1], "y")
    assert stack_b == pytest.approx(2 * stack_a, abs=0.05)  # totals 8 and 4
    bold = [el.text for el in root.iter(f"{NS}text") if el.get("font-weight") == "bold"]
    assert bold == ["4", "8"]
    assert y_ticks(root) == ["0", "2", "4", "6", "8"]
    assert "hosts" in texts(root)  # the unit captions the value axis
    assert chart.description.startswith(
        "Stacked: A: open 3 hosts, excepted 1 hosts (total 4 hosts);"
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((7,), ["0", "2", "4", "6", "8"]),
        ((1,), ["0", "1", "2", "3"]),
        ((0,), ["0", "1", "2", "3"]),
        ((0.37,), ["0", "0.1", "0.2", "0.3", "0.4"]),
        ((1234,), ["0", "250", "500", "750", "1,000", "1,250"]),
        ((48.5, 3.25), ["0", "10", "20", "30", "40", "50"]),
        ((-4, 3), ["0", "1", "2", "3"]),
    ],
)
def test_nice_ticks(values: tuple[float, ...], expected: list[str]) -> None:
    chart = bar_chart(
        title="Ticks", categories=[str(i) for i in range(len(values))], series=[Series("v", values)]
    )
    labels = y_ticks(parse(chart))
    assert labels == expected
    assert 4 <= len(labels) <= 6


def test_line_chart_gaps_styles_and_y_max() -> None:
    chart = line_chart(
        title="In-SLA share per month",
        x_labels=["Jan", "Feb", "Mar", "Apr", "May"],
        series=[Series("P1", (80, 40, None, 90, 95.5)), Series("P2", (60, 70, 75, 71, 88))],
        unit="%",
        y_max=100,
    )
    root = assert_accessible(chart)
    assert y_ticks(root) == ["0%", "20%", "40%", "60%", "80%", "100%"]
    p1_lines, p2_lines = (
        parts(root, "line", **{"data-series": "0"}),
        parts(root, "line", **{"data-series": "1"}),
    )
    assert len(p1_lines) == 2 and len(p2_lines) == 1  # the None breaks P1's line
    assert len(parts(root, "point", **{"data-series": "0"})) == 4
    assert len(parts(root, "point", **{"data-series": "1"})) == 5
    assert p1_lines[0].get("stroke-dasharray") is None and p2_lines[0].get("stroke-dasharray")
    assert p1_lines[0].get("stroke") == PALETTE[0] and p2_lines[0].get("stroke") == PALETTE[1]
    p1_points = parts(root, "point", **{"data-series": "0"})
    p2_points = parts(root, "point", **{"data-series": "1"})
    assert p1_points[0].tag == f"{NS}circle" and p2_points[0].tag == f"{NS}rect"  # symbols differ
    zero_line = next(el for el in root.iter(f"{NS}line") if el.get("stroke") == "#666666")
    base = fnum(zero_line, "y1")
    eighty, forty = (base - fnum(p, "cy") for p in p1_points[:2])
    assert eighty == pytest.approx(2 * forty, abs=0.02)
    assert legend_labels(root) == ["P1", "P2"]
    assert chart.headers == ("Period", "P1", "P2")
    assert chart.rows[2] == ("Mar", "\u2013", "75%")
    assert chart.description == (
        "In-SLA share per month: P1 Jan 80%, Feb 40%, Apr 90%, May 95.5%, 1 without data; "
        "P2 Jan 60%, Feb 70%, Mar 75%, Apr 71%, May 88%."
    )


def test_line_chart_many_points_thins_labels_and_summarises() -> None:
    weeks = [f"2025-W{w:02d}" for w in range(1, 53)]
    chart = line_chart(
        title="Open exposures per week",
        x_labels=weeks,
        series=[Series("open", tuple(float(200 - w) for w in range(52)))],
    )
    root = assert_accessible(chart)
    shown = [t for t in texts(root) if t.startswith("2025-W")]
    assert weeks[0] in shown and 4 <= len(shown) < 20
    assert len(parts(root, "point")) == 52 and len(parts(root, "line")) == 1
    assert chart.description == (
        "Open exposures per week: from 200 (2025-W01) to 149 (2025-W52), "
        "lowest 149 (2025-W52), highest 200 (2025-W01)."
    )
    assert len(chart.rows) == 52


def test_hbar_chart_rows_and_widths() -> None:
    chart = hbar_chart(
        title="Upstream lag p90",
        labels=["Debian 12", "Ubuntu 24.04", "RHEL 9", "Alpine"],
        values=[10, 5, None, 0],
        unit="days",
    )
    root = assert_accessible(chart)
    bars = parts(root, "bar")
    assert len(bars) == 3
    assert fnum(bars[0], "width") == pytest.approx(2 * fnum(bars[1], "width"), abs=0.02)
    assert fnum(bars[2], "width") == 0
    assert {"10 days", "5 days", "0 days", "\u2013", "Debian 12"} <= set(texts(root))
    assert chart.rows == (
        ("Debian 12", "10 days"),
        ("Ubuntu 24.04", "5 days"),
        ("RHEL 9", "\u2013"),
        ("Alpine", "0 days"),
    )
    assert chart.description == (
        "Upstream lag p90: Debian 12 10 days, Ubuntu 24.04 5 days, RHEL 9 \u2013, Alpine 0 days."
    )
    taller = hbar_chart(title="t", labels=[str(i) for i in range(7)], values=list(range(7)))
    assert fnum(parse(taller), "height") - fnum(root, "height") == 3 * 24


def timeline() -> Chart:
    def day(month: int, d: int) -> datetime:
        return datetime(2025, month, d, tzinfo=UTC)

    return timeline_chart(
        title="nginx exposure",
        start=JAN,
        end=datetime(2025, 6, 30, tzinfo=UTC),
        rows=[
            TimelineRow(
                "web-1",
                (Segment(day(1, 10), day(3, 1), "vulnerable"), Segment(day(3, 1), None, "fixed")),
                (Mark(day(1, 5), "published"), Mark(day(2, 1), "fix available")),
            ),
            TimelineRow(
                "web-2",
                (
                    Segment(datetime(2024, 11, 1, tzinfo=UTC), day(2, 1), "vulnerable"),
                    Segment(day(2, 1), datetime(2025, 9, 1, tzinfo=UTC), "excepted"),
                    Segment(datetime(2024, 1, 1, tzinfo=UTC), day(1, 1) - timedelta(days=1), "x"),
                ),
                (Mark(datetime(2024, 12, 1, tzinfo=UTC), "kev added"), Mark(day(4, 1), "odd")),
            ),
        ],
    )


def test_timeline_chart() -> None:
    chart = timeline()
    root = assert_accessible(chart)
    segments = parts(root, "segment")
    assert len(segments) == 4  # the segment that ended before the period is left out
    assert len(parts(root, "open-end")) == 1
    assert len(parts(root, "mark")) == 3  # the mark before the period is left out
    by_kind = {(s.get("data-row"), s.get("data-kind")): s for s in segments}
    fixed, clamped_start = by_kind[("0", "fixed")], by_kind[("1", "vulnerable")]
    clamped_end = by_kind[("1", "excepted")]
    assert fixed.get("fill") == KIND_COLOURS["fixed"] == "#009E73"
    assert clamped_start.get("fill") == KIND_COLOURS["vulnerable"] == "#D55E00"
    assert clamped_end.get("fill") == KIND_COLOURS["excepted"]
    left = fnum(clamped_start, "x")
    right = fnum(fixed, "x") + fnum(fixed, "width")  # the open segment runs to the end
    assert fnum(clamped_end, "x") + fnum(clamped_end, "width") == pytest.approx(right, abs=0.05)
    march, jan10 = fnum(fixed, "x"), fnum(by_kind[("0", "vulnerable")], "x")
    assert (march - left) / (right - left) == pytest.approx(59 / 180, abs=0.001)
    assert (jan10 - left) / (right - left) == pytest.approx(9 / 180, abs=0.001)
    odd = parts(root, "mark", **{"data-kind": "odd"})
    assert [el.get("fill") for el in odd] == [UNKNOWN_KIND_COLOUR]
    assert legend_labels(root) == [
        "vulnerable",
        "excepted",
        "fixed",
        "published",
        "fix available",
        "odd",
    ]
    assert {"Jan 2025", "Feb", "Mar", "Apr", "May", "Jun"} <= set(texts(root))
    assert chart.headers == ("Row", "Kind", "From", "To")
    assert chart.rows[:2] == (
        ("web-1", "vulnerable", "2025-01-10", "2025-03-01"),
        ("web-1", "fixed", "2025-03-01", "open"),
    )
    assert ("web-2", "odd", "2025-04-01", "\u2013") in chart.rows
    assert chart.description.startswith(
        "nginx exposure, 2025-01-01 to 2025-06-30: web-1: vulnerable 2025-01-10 to 2025-03-01, "
        "fixed 2025-03-01 to open, published 2025-01-05, fix available 2025-02-01; web-2:"
    )


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (7, [f"{day} Jan" for day in range(1, 9)]),
        (60, ["6 Jan", "13 Jan", "20 Jan", "27 Jan", "3 Feb", "10 Feb", "17 Feb", "24 Feb"]),
        (800, ["Jan 2025", "Apr", "Jul", "Oct", "Jan 2026", "Apr", "Jul", "Oct", "Jan 2027"]),
    ],
)
def test_timeline_ticks_follow_the_span(days: int, expected: list[str]) -> None:
    end = JAN + timedelta(days=days)
    row = TimelineRow("host", (Segment(JAN, None, "installed"),))
    root = parse(timeline_chart(title="Span", start=JAN, end=end, rows=[row]))
    labels = [el.text for el in root.iter(f"{NS}text") if el.get("text-anchor") == "middle"]
    assert labels == expected  # days, Mondays, or months thinned to every third


def test_timeline_dates_in_the_timezone_of_start() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    late = datetime(2025, 3, 2, 23, 30, tzinfo=UTC)  # 00:30 on 3 March in Berlin
    chart = timeline_chart(
        title="Berlin",
        start=datetime(2025, 3, 1, tzinfo=berlin),
        end=datetime(2025, 3, 15, tzinfo=berlin),
        rows=[TimelineRow("host", (Segment(late, None, "installed"),))],
    )
    assert chart.rows == (("host", "installed", "2025-03-03", "open"),)


def test_timeline_rejects_naive_datetimes_and_empty_spans() -> None:
    naive = datetime(2025, 1, 1)  # noqa: DTZ001
    row = TimelineRow("host", (Segment(JAN, None, "installed"),))
    with pytest.raises(ValueError, match="timezone-aware"):
        timeline_chart(title="t", start=naive, end=JAN, rows=[row])
    with pytest.raises(ValueError, match="timezone-aware"):
        timeline_chart(
            title="t",
            start=JAN,
            end=JAN + timedelta(days=9),
            rows=[TimelineRow("h", (), (Mark(naive, "fixed"),))],
        )
    with pytest.raises(ValueError, match="not after"):
        timeline_chart(title="t", start=JAN, end=JAN, rows=[row])


def test_series_of_the_wrong_length_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        bar_chart(title="t", categories=["a", "b", "c"], series=[Series("s", (1, 2))])
    with pytest.raises(ValueError, match="1 values for 2 labels"):
        hbar_chart(title="t", labels=["a", "b"], values=[1])


def all_charts(label: str, title: str) -> list[Chart]:
    return [
        bar_chart(title=title, categories=[label, "b"], series=[Series(label, (1, 2))]),
        bar_chart(
            title=title,
            categories=[label, "b"],
            series=[Series(label, (1, 2)), Series("other", (3, None))],
            stacked=True,
        ),
        line_chart(title=title, x_labels=[label, "b"], series=[Series(label, (1, None))]),
        hbar_chart(title=title, labels=[label, "b"], values=[1, 2], unit=label),
        timeline_chart(
            title=title,
            start=JAN,
            end=JAN + timedelta(days=30),
            rows=[TimelineRow(label, (Segment(JAN, None, label),), (Mark(JAN, label),))],
        ),
    ]


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_text_is_escaped(label: str) -> None:
    for chart in all_charts(label, f"Title {label}"):
        root = assert_accessible(chart)  # well-formed, no <script>
        assert {el.tag.removeprefix(NS) for el in root.iter()} <= SVG_TAGS
        title = root.find(f"{NS}title")
        assert title is not None and title.text == f"Title {label}"
        assert label in (root.find(f"{NS}desc").text or "")  # type: ignore[union-attr]
        assert any(label in text for text in texts(root))  # drawn, round-tripped
        assert label not in chart.svg  # only escaped
        assert html.escape(label, quote=True) in chart.svg
        page = render_to_string("partials/chart.html", {"chart": chart})
        assert label not in page.replace(chart.svg, "")
        assert f"<figcaption>{html.escape(chart.title)}</figcaption>" in page


def test_control_characters_are_dropped() -> None:
    chart = bar_chart(title="t\x00\x1b", categories=["a\x08"], series=[Series("s\x0c", (1,))])
    root = parse(chart)  # XML 1.0 forbids them: they would make the SVG ill-formed
    assert root.find(f"{NS}title").text == "t"  # type: ignore[union-attr]
    assert "a" in texts(root)


def test_output_is_deterministic() -> None:
    first = [c.svg for c in all_charts("label", "Same title")] + [timeline().svg]
    second = [c.svg for c in all_charts("label", "Same title")] + [timeline().svg]
    assert first == second
    ids = {parse(c).get("id") for c in all_charts("label", "Same title")}
    assert len(ids) == 5  # the chart type and the data are part of the id
    for chart_id in ids:
        assert re.fullmatch(r"chart-same-title-[0-9a-f]{8}", chart_id or "")
    assert (
        parse(bar_chart(title="½ ✓", categories=["a"], series=[Series("s", (1,))]))
        .get("id", "")
        .startswith("chart-")
    )


@pytest.mark.parametrize(
    "chart",
    [
        bar_chart(title="Empty", categories=[], series=[]),
        bar_chart(title="Empty", categories=["a", "b"], series=[Series("s", (None, None))]),
        bar_chart(title="Empty", categories=["a"], series=[], stacked=True),
        line_chart(title="Empty", x_labels=[], series=[Series("s", ())]),
        line_chart(title="Empty", x_labels=["a"], series=[Series("s", (float("nan"),))]),
        hbar_chart(title="Empty", labels=[], values=[]),
        hbar_chart(title="Empty", labels=["a"], values=[None]),
        timeline_chart(title="Empty", start=JAN, end=JAN + timedelta(days=7), rows=[]),
        timeline_chart(
            title="Empty",
            start=JAN,
            end=JAN + timedelta(days=7),
            rows=[
                TimelineRow("a", (Segment(JAN - timedelta(days=9), JAN - timedelta(days=8), "x"),))
            ],
        ),
    ],
)
def test_empty_data_gives_a_no_data_chart(chart: Chart) -> None:
    root = assert_accessible(chart)
    assert NO_DATA in texts(root)
    assert chart.headers == () and chart.rows == ()
    assert chart.description == "Empty: no data for this period."
    page = render_to_string("partials/chart.html", {"chart": chart})
    assert "<table" not in page and "<figcaption>Empty</figcaption>" in page


def test_given_description_is_used() -> None:
    chart = hbar_chart(title="t", labels=["a"], values=[1], description="Say <this>.")
    assert chart.description == "Say <this>."
    assert "<desc id=" in chart.svg and "Say &lt;this&gt;.</desc>" in chart.svg


def test_partial_renders_figure_caption_and_table() -> None:
    chart = bar_chart(
        title="Tiers & states",
        categories=["P1", "P2"],
        series=[Series("open", (2, 5)), Series("excepted", (1, None))],
    )
    closed = render_to_string("partials/chart.html", {"chart": chart})
    opened = render_to_string("partials/chart.html", {"chart": chart, "chart_table_open": True})
    assert '<figure class="chart">' in closed and chart.svg in closed
    assert "<figcaption>Tiers &amp; states</figcaption>" in closed
    assert '<details class="chart-numbers">' in closed
    assert '<details class="chart-numbers" open>' in opened
    assert "<summary>Show the numbers</summary>" in opened
    assert (
        '<table class="chart-data">' in opened and "<caption>Tiers &amp; states</caption>" in opened
    )
    assert re.findall(r'<th scope="col">([^<]*)</th>', opened) == ["Category", "open", "excepted"]
    assert re.findall(r'<th scope="row">([^<]*)</th>', opened) == ["P1", "P2"]
    assert re.findall(r"<td>([^<]*)</td>", opened) == ["2", "1", "5", "\u2013"]


def test_charts_render_in_a_weasyprint_pdf(tmp_path: Path) -> None:
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (Debian package poppler-utils) is not installed")
    from weasyprint import HTML

    charts = [
        line_chart(
            title="In-SLA share per month",
            x_labels=["2025-01", "2025-02", "2025-03"],
            series=[Series("P1", (80, 95.25, 97))],
            unit="%",
            y_max=100,
        ),
        hbar_chart(
            title="Upstream lag p90 per distribution",
            labels=["Debian 12", "Ubuntu 24.04"],
            values=[27.25, 3],
            unit="days",
        ),
    ]
    figures = "".join(
        render_to_string("partials/chart.html", {"chart": c, "chart_table_open": True})
        for c in charts
    )
    page = f'<!doctype html><html lang="en"><meta charset="utf-8"><body>{figures}</body></html>'
    pdf = tmp_path / "charts.pdf"
    pdf.write_bytes(HTML(string=page).write_pdf())
    raw = subprocess.run([exe, str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    text = " ".join(raw.split())
    for expected in (
        "In-SLA share per month",
        "Upstream lag p90 per distribution",
        "Show the numbers",
        "95.25%",  # the table and the point label
        "27.25 days",
        "Ubuntu 24.04",
        "2025-02",
        "100%",  # an axis tick: the SVG text is rendered
    ):
        assert expected in text, expected
    assert text.count("27.25 days") >= 2  # drawn in the chart and listed in the table
