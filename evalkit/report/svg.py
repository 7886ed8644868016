"""Small inline-SVG charts: dot-and-whisker rows, line charts with interval bands, heatmaps. No script, no network,
every piece of text escaped. Charts scale with their container (viewBox); text stays legible by giving wide charts
a minimum width inside a scrolling box on narrow screens."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569",
           "#ca8a04", "#0d9488", "#9333ea")  # fmt: skip
# Marks of the dot-and-whisker chart by kind of row; reported numbers are hollow diamonds.
KIND_COLORS = {"measured": "#2563eb", "imported": "#7c3aed", "scored-generations": "#0891b2"}
REPORTED_COLOR = "#ea580c"
GRID = "#e5e7eb"
AXIS = "#9ca3af"


def _open(width: float, height: float, title: str, css: str = "chart") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'role="img" aria-label="{escape(title)}" class="{css}" preserveAspectRatio="xMinYMin meet">'
    )


# Font sizes (px) of the chart classes that hold labels of any length; the page's style sheet sets the same.
FONT_PX = {"legend": 12.0, "group": 13.0, "row-label": 12.0, "tick": 11.0}
# Advance widths in em, by class of character: Helvetica's and Arial's (the page's fallback fonts; its first choices,
# San Francisco, Segoe UI and Roboto, are close), each class at the width of its widest member in the regular or bold
# face, so a label fitted with them does not run past its room.
# Any other character counts a full em: CJK ideographs are one em wide, and Chinese mixed into a name is common.
_EM_NARROW, _EM_CAPITAL, _EM_WIDE, _EM_OTHER_ASCII = 0.34, 0.78, 1.02, 0.62
_NARROW = frozenset(" !'(),-./:;I[\\]`fijlt|")
_WIDE = frozenset("%@MWmw")


def _em(char: str) -> float:
    if char in _NARROW:
        return _EM_NARROW
    if char in _WIDE:
        return _EM_WIDE
    if "A" <= char <= "Z" or char == "&":
        return _EM_CAPITAL
    return _EM_OTHER_ASCII if char < "\x7f" else 1.0


def _fit(text: str, room: float, font_px: float) -> str:
    """`text` as it fits in `room` px at `font_px`: whole, or cut at a character with "…" after it."""
    budget = room / font_px  # in em
    widths = list(itertools.accumulate(map(_em, text)))  # of each prefix; rising, as every width is positive
    if not widths or widths[-1] <= budget:
        return text
    return text[: bisect.bisect_right(widths, budget - _em("…"))] + "…"


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]  # (x, y)
    errors: Sequence[tuple[float, float]] | None = None  # (low, high) per point, drawn as a band
    color: str | None = None  # default: the palette's colour for the series' place in the chart


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def line_chart(
    series: Sequence[Series],
    title: str,
    x_label: str,
    y_label: str,
    log2_x: bool = False,
    y_range: tuple[float, float] | None = (0.0, 100.0),
    width: int = 720,
    height: int = 360,
    y_max: float | None = 100.0,
    x_span: tuple[float, float] | None = None,
) -> str:
    """Lines with a marker per point and, where a series has intervals, a shaded band; x on log2 when asked.

    `y_range=None` fits the y axis to the data (with its bands), padded to round ticks, from 0 up to `y_max` at
    most (percentages; None for quantities without a ceiling, such as token counts). `x_span` widens the x axis to
    cover those values too, so charts side by side share one x axis even where a series has no points.
    """
    legend_rows = len(series)
    left, right, top, bottom = 52, 16, 34, 46 + 16 * legend_rows
    plot_w, plot_h = width - left - right, height - top - 46
    height = top + plot_h + bottom
    xs = [x for s in series for x, _ in s.points]
    if not xs:
        return ""
    fx = (lambda v: math.log2(v)) if log2_x else (lambda v: v)
    span = [*xs, *(x_span or ())]
    x_low, x_high = min(map(fx, span)), max(map(fx, span))
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    if y_range is None:
        values = [y for s in series for _, y in s.points] + [v for s in series for pair in s.errors or () for v in pair]
        # Percent axes are padded by 2 points; others by a twentieth of the data's range.
        pad = 2.0 if y_max is not None else 0.05 * ((max(values) - min(values)) or max(values) or 20.0)
        ceiling = math.inf if y_max is None else y_max
        ticks = _ticks(max(0.0, min(values) - pad), min(ceiling, max(values) + pad))
        step = ticks[1] - ticks[0] if len(ticks) > 1 else (10.0 if y_max is not None else pad)
        y_low, y_high = max(0.0, ticks[0] - step), min(ceiling, ticks[-1] + step)
    else:
        y_low, y_high = y_range

    def px(x: float) -> float:
        return left + (fx(x) - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y_low) / (y_high - y_low)) * plot_h

    parts = [_open(width, height, title), f'<text x="{left}" y="20" class="chart-title">{escape(title)}</text>']
    for tick in _ticks(y_low, y_high):
        y = py(tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick:g}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{AXIS}"/>')
    x_ticks = sorted(set(xs)) if log2_x else _ticks(min(span), max(span), 8)
    if len(x_ticks) > 14:
        x_ticks = x_ticks[:: math.ceil(len(x_ticks) / 14)]
    for tick in x_ticks:
        x = px(tick)
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">{tick:g}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h + 36}" text-anchor="middle" class="axis">'
                 f"{escape(x_label)}</text>")  # fmt: skip
    parts.append(
        f'<text x="13" y="{top + plot_h / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 13 {top + plot_h / 2})">{escape(y_label)}</text>'
    )
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        if s.errors and len(s.points) > 1:
            pairs = list(zip(s.points, s.errors))
            upper = " ".join(f"{px(x):.1f},{py(high):.1f}" for (x, _), (_, high) in pairs)
            lower = " ".join(f"{px(x):.1f},{py(low):.1f}" for (x, _), (low, _) in reversed(pairs))
            parts.append(f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.13" stroke="none"/>')
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        for j, (x, y) in enumerate(s.points):
            interval = ""
            if s.errors:
                low, high = s.errors[j]
                interval = f" [{low:.1f}, {high:.1f}]"
                if len(s.points) == 1:
                    parts.append(f'<line x1="{px(x):.1f}" y1="{py(low):.1f}" x2="{px(x):.1f}" y2="{py(high):.1f}" '
                                 f'stroke="{color}" stroke-width="2" stroke-opacity="0.5"/>')  # fmt: skip
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}" stroke="#fff">'
                         f"<title>{escape(s.label)}: {x:g} → {y:.1f}{interval}</title></circle>")  # fmt: skip
        ly = top + plot_h + 58 + 16 * i
        parts.append(f'<rect x="{left}" y="{ly - 9}" width="14" height="4" fill="{color}" rx="1"/>')
        shown = _fit(s.label, width - left - 28, FONT_PX["legend"])
        parts.append(f'<text x="{left + 20}" y="{ly}" class="legend">{escape(shown)}'
                     f"<title>{escape(s.label)}</title></text>")  # fmt: skip
    parts.append("</svg>")
    return "\n".join(parts)


@dataclass(frozen=True)
class Dot:
    """One row of a dot-and-whisker chart: a measured value with its interval and/or a reported value."""

    label: str
    kind: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    reported: float | None = None
    note: str = ""
    href: str | None = None


def dot_whisker(groups: Sequence[tuple[str, Sequence[Dot]]], title: str, width: int = 980) -> str:
    """Rows grouped under headings; each row a dot with its interval (whisker) and a hollow diamond where a number
    was reported, joined by a dashed line so reported against measured reads at a glance. x is percent, 0-100."""
    label_w, right, top, row = 340, 24, 70, 19
    plot_w = width - label_w - right
    rows = sum(len(dots) + 1 for _, dots in groups)
    height = top + rows * row + 44

    def px(value: float) -> float:
        return label_w + max(0.0, min(100.0, value)) / 100 * plot_w

    parts = [_open(width, height, title, "chart dots"),
             f'<text x="8" y="18" class="chart-title">{escape(title)}</text>']  # fmt: skip
    legend = [("measured", KIND_COLORS["measured"]), ("imported", KIND_COLORS["imported"]),
              ("scored generations", KIND_COLORS["scored-generations"])]  # fmt: skip
    x = 8
    for name, color in legend:
        parts.append(f'<circle cx="{x + 5}" cy="36" r="4.5" fill="{color}"/>'
                     f'<text x="{x + 14}" y="40" class="legend">{name}</text>')  # fmt: skip
        x += 22 + 7 * len(name)
    parts.append(f'<path d="M{x + 5} 31 l5 5 l-5 5 l-5 -5 z" fill="#fff" stroke="{REPORTED_COLOR}" stroke-width="1.8"/>'
                 f'<text x="{x + 14}" y="40" class="legend">reported (paper or the source harness)</text>')  # fmt: skip
    x += 260
    parts.append(f'<line x1="{x}" y1="36" x2="{x + 16}" y2="36" stroke="#374151" stroke-width="1.5"/>'
                 f'<text x="{x + 22}" y="40" class="legend">95% interval</text>')  # fmt: skip
    bottom = height - 40
    for tick in range(0, 101, 10):
        tx = px(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{bottom}" stroke="{GRID}"/>')
        for ty in (top - 8, bottom + 14):  # tick labels above and below: long charts are read from both ends
            parts.append(f'<text x="{tx:.1f}" y="{ty}" text-anchor="middle" class="tick">{tick}</text>')
    parts.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{bottom + 32}" text-anchor="middle" class="axis">'
                 "avg@n (%)</text>")  # fmt: skip
    y = top
    for heading, dots in groups:
        shown = escape(_fit(heading, width - right - 16, FONT_PX["group"]))
        parts.append(f'<text x="8" y="{y + 13}" class="group">{shown}<title>{escape(heading)}</title></text>')
        parts.append(f'<line x1="8" y1="{y + row - 1}" x2="{width - right}" y2="{y + row - 1}" stroke="#d1d5db"/>')
        y += row
        for i, dot in enumerate(dots):
            cy = y + row / 2
            if i % 2:
                parts.append(f'<rect x="8" y="{y}" width="{width - right - 8}" height="{row}" fill="#f9fafb"/>')
            text = escape(_fit(dot.label, label_w - 16, FONT_PX["row-label"]))
            label = (f'<text x="{label_w - 8}" y="{cy + 4:.1f}" text-anchor="end" class="row-label">{text}'
                     f"<title>{escape(dot.label)}</title></text>")  # fmt: skip
            if dot.href:
                label = f'<a href="{escape(dot.href)}">{label}</a>'
            parts.append(label)
            tip = escape(dot.note or dot.label)
            if dot.value is not None and dot.reported is not None:
                parts.append(f'<line x1="{px(dot.value):.1f}" y1="{cy:.1f}" x2="{px(dot.reported):.1f}" '
                             f'y2="{cy:.1f}" stroke="{REPORTED_COLOR}" stroke-dasharray="3 2"/>')  # fmt: skip
            if dot.reported is not None:
                rx = px(dot.reported)
                parts.append(f'<path d="M{rx:.1f} {cy - 5:.1f}l5 5l-5 5l-5 -5z" fill="#fff" stroke="{REPORTED_COLOR}" '
                             f'stroke-width="1.8"><title>{tip}</title></path>')  # fmt: skip
            if dot.value is not None:
                color = KIND_COLORS.get(dot.kind, KIND_COLORS["measured"])
                if dot.low is not None and dot.high is not None:
                    x1, x2 = px(dot.low), px(dot.high)
                    parts.append(f'<path d="M{x1:.1f} {cy - 4:.1f}v8M{x1:.1f} {cy:.1f}H{x2:.1f}M{x2:.1f} '
                                 f'{cy - 4:.1f}v8" stroke="{color}" stroke-width="1.6" fill="none"/>')  # fmt: skip
                parts.append(f'<circle cx="{px(dot.value):.1f}" cy="{cy:.1f}" r="4" fill="{color}" stroke="#fff">'
                             f"<title>{tip}</title></circle>")  # fmt: skip
            y += row
    parts.append("</svg>")
    return "\n".join(parts)


def heatmap(
    rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float | None]],
    notes: Sequence[Sequence[str]], title: str, cell: int = 18, links: Sequence[str | None] | None = None,
) -> str:  # fmt: skip
    """Rows x columns of values in [0, 1] (solve rates), white to dark blue; each cell's note is its tooltip and,
    with `links`, each cell opens its row's page at that column (`link#p-<column>`)."""
    left, top = 330, 90
    width, height = left + cell * len(columns) + 20, top + cell * len(rows) + 20
    parts = [
        _open(width, height, title, "chart heat"),
        f'<text x="8" y="20" class="chart-title">{escape(title)}</text>',
    ]
    for j, column in enumerate(columns):
        x = left + j * cell + cell / 2
        parts.append(f'<text x="{x:.1f}" y="{top - 6}" transform="rotate(-60 {x:.1f} {top - 6})" '
                     f'class="tick">{escape(column)}</text>')  # fmt: skip
    for i, row in enumerate(rows):
        y = top + i * cell
        link = links[i] if links else None
        label = f'<text x="{left - 6}" y="{y + cell * 0.7:.1f}" text-anchor="end" class="tick">'
        label += f"{escape(_fit(row, left - 14, FONT_PX['tick']))}<title>{escape(row)}</title></text>"
        parts.append(f'<a href="{escape(link)}">{label}</a>' if link else label)
        for j, value in enumerate(values[i]):
            if value is None:
                fill = "#f3f4f6"
            else:
                shade = int(255 - 200 * value)
                fill = f"rgb({shade},{shade + (255 - shade) // 3},255)"
            rect = (f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}" '
                    f'stroke="{GRID}" stroke-width="0.6">'
                    f"<title>{escape(notes[i][j])}</title></rect>")  # fmt: skip
            if link and value is not None:
                rect = f'<a href="{escape(link)}#p-{escape(columns[j])}">{rect}</a>'
            parts.append(rect)
    parts.append("</svg>")
    return "\n".join(parts)
