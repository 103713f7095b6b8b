"""Chart geometry for inline SVG: bars against bounds per group, and a score histogram.

Only numbers and the strings to print are computed here; the template draws them, so
every label from a policy or data file passes through the template's autoescaping. Bin
edges are exact decimals chosen so that common thresholds (90, 85, 60) fall on an edge:
a bin is [lower, upper), the last one closed, which is how `>=` bands cut.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ..numbers import decimal_text


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    cls: str = ""
    title: str = ""


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    cls: str = ""


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str = ""


@dataclass
class Chart:
    width: int
    height: int
    label: str
    bars: list[Bar] = field(default_factory=list)
    bands: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)


def _scale_max(values: list[int]) -> int:
    return max([1, *values])


def _count_axis(chart: Chart, left: float, width: float, y0: float, plot: float, top_value: int):
    """The baseline of a bar chart of head counts, ticked at 0 and the top value; returns
    (y0, y) where y(count) is the height of a count on this chart."""
    def y(v: int) -> float:
        return round(y0 - plot * v / top_value, 1)

    chart.lines.append(Line(left, y0, left + width, y0, "axis"))
    for tick in sorted({0, top_value}):
        chart.texts.append(Text(left - 4, y(tick) + 4, str(tick), "end", "tick"))
    return y0, y


def tier_bars(block, words) -> Chart:
    """One group: a bar per tier (final count) in front of its allowed band lo..hi."""
    slot, left, top, bottom = 64, 34, 22, 40
    height = 190
    plot = height - top - bottom
    rows = block.rows
    top_value = _scale_max([r.final for r in rows] + [r.hi for r in rows if r.hi is not None])
    chart = Chart(left + slot * len(rows) + 10, height, f"{block.group} ({block.size})")
    y0, y = _count_axis(chart, left, slot * len(rows), top + plot, plot, top_value)
    for i, r in enumerate(rows):
        x = left + slot * i
        if r.lo is not None:
            chart.bands.append(Bar(x + 8, y(r.hi), slot - 16, round(y(r.lo) - y(r.hi), 1) or 1.5, "band",
                                   f"{r.tier}: {words['bounds']} {r.lo}..{r.hi}"))
        cls = "bar" if r.status in ("within", "unbounded") else "bar out"
        chart.bars.append(Bar(x + 20, y(r.final), slot - 40, round(y0 - y(r.final), 1), cls,
                              f"{r.tier}: {r.final}" + (f" ({r.lo}..{r.hi})" if r.lo is not None else "")))
        chart.texts.append(Text(x + slot / 2, y(r.final) - 4, str(r.final), cls="count"))
        chart.texts.append(Text(x + slot / 2, y0 + 16, r.tier, cls="tier"))
        if r.lo is not None:
            chart.texts.append(Text(x + slot / 2, y0 + 31, f"{r.lo}..{r.hi}", cls="bound"))
    return chart


def tier_compare(block, words) -> Chart:
    """The whole cohort: per tier, the individual count (light) beside the final one."""
    slot, left, top, bottom, height = 76, 34, 22, 26, 190
    plot = height - top - bottom
    rows = block.rows
    top_value = _scale_max([r.final for r in rows] + [r.individual for r in rows])
    chart = Chart(left + slot * len(rows) + 10, height, block.group)
    y0, y = _count_axis(chart, left, slot * len(rows), top + plot, plot, top_value)
    for i, r in enumerate(rows):
        x = left + slot * i
        for j, (value, cls, what) in enumerate(((r.individual, "bar ind", words["individual"]),
                                               (r.final, "bar", words["final"]))):
            bx = x + 12 + j * 26
            chart.bars.append(Bar(bx, y(value), 24, round(y0 - y(value), 1), cls, f"{r.tier} {what}: {value}"))
            chart.texts.append(Text(bx + 12, y(value) - 4, str(value), cls="count"))
        chart.texts.append(Text(x + slot / 2, y0 + 16, r.tier, cls="tier"))
    return chart


def _nice_width(span: Decimal, bins: int = 20) -> Decimal:
    """The smallest 1, 2 or 5 × 10^k that covers `span` in at most `bins` bins."""
    if span <= 0:
        return Decimal(1)
    raw = span / bins
    exp = raw.adjusted()
    for step in (1, 2, 5, 10):
        w = Decimal(step).scaleb(exp)
        if w >= raw:
            return w
    return Decimal(10).scaleb(exp)  # unreachable: 10 × 10^k ≥ raw


def bins(values: list[Decimal], lo: Decimal | None, hi: Decimal | None) -> tuple[Decimal, list[tuple[Decimal, Decimal, int]]]:
    """(width, [(lower, upper, count)]) over the scale [lo, hi] when it holds every value,
    else over the values' range."""
    vmin, vmax = min(values), max(values)
    start = lo if lo is not None and lo <= vmin else vmin
    end = hi if hi is not None and hi >= vmax else vmax
    width = _nice_width(end - start)
    start = (start / width).to_integral_value(ROUND_FLOOR) * width
    # The last bin is closed: a value on its upper edge (the scale's maximum) counts in it.
    n = max(1, int(((end - start) / width).to_integral_value(ROUND_CEILING)))
    counts = [0] * n
    for v in values:
        counts[min(n - 1, int(((v - start) / width).to_integral_value(ROUND_FLOOR)))] += 1
    return width, [(start + i * width, start + (i + 1) * width, counts[i]) for i in range(n)]


def histogram(values: list[Decimal], lo, hi, thresholds: list[tuple[Decimal, str]], words) -> Chart:
    """Bars of the binned values, with a dashed line and label at each tier threshold."""
    width_px, height, left, right, top, bottom = 760, 270, 40, 16, 44, 40
    plot_w, plot_h = width_px - left - right, height - top - bottom
    width, table = bins(values, lo, hi)
    first, last = table[0][0], table[-1][1]
    top_value = _scale_max([c for _, _, c in table])
    chart = Chart(width_px, height, "")
    y0 = top + plot_h

    def x(v: Decimal) -> float:
        return round(left + plot_w * float((v - first) / (last - first)), 1)

    def y(c: int) -> float:
        return round(y0 - plot_h * c / top_value, 1)

    chart.lines.append(Line(left, y0, left + plot_w, y0, "axis"))
    chart.lines.append(Line(left, top, left, y0, "axis"))
    for tick in sorted({0, top_value // 2, top_value}):
        chart.texts.append(Text(left - 5, y(tick) + 4, str(tick), "end", "tick"))
    chart.texts.append(Text(left - 5, top - 8, words["count_axis"], "end", "tick"))
    step = width * max(1, len(table) // 10)  # edge labels at round multiples of this step
    for i, (a, b, c) in enumerate(table):
        closed = "]" if i == len(table) - 1 else ")"
        chart.bars.append(Bar(x(a) + 1, y(c), max(1.0, x(b) - x(a) - 2), round(y0 - y(c), 1), "bar",
                              f"[{decimal_text(a)}, {decimal_text(b)}{closed}: {c}"))
        if c:
            chart.texts.append(Text((x(a) + x(b)) / 2, y(c) - 3, str(c), cls="count"))
        if a % step == 0:
            chart.texts.append(Text(x(a), y0 + 15, decimal_text(a), cls="tick"))
    if last % step == 0:
        chart.texts.append(Text(x(last), y0 + 15, decimal_text(last), cls="tick"))
    shown = [(t, label) for t, label in thresholds if first <= t <= last]
    for i, (t, label) in enumerate(shown):  # labels alternate in height, so neighbours don't overlap
        chart.lines.append(Line(x(t), 6 + 13 * (i % 2), x(t), y0, "threshold"))
        chart.texts.append(Text(x(t) + 3, 15 + 13 * (i % 2), label, "start", "threshold"))
    return chart
