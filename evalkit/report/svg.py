"""Small inline-SVG charts (line charts with error bars, heatmaps): no JavaScript, no network, all text escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]  # (x, y)
    errors: Sequence[tuple[float, float]] | None = None  # (low, high) per point


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
    y_range: tuple[float, float] = (0.0, 100.0),
    width: int = 640,
    height: int = 360,
) -> str:
    """A line chart; x on a log2 scale when asked (pass@k against k)."""
    left, right, top, bottom = 56, 200, 36, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for s in series for x, _ in s.points]
    if not xs:
        return ""
    fx = (lambda v: math.log2(v)) if log2_x else (lambda v: v)
    x_low, x_high = min(map(fx, xs)), max(map(fx, xs))
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    y_low, y_high = y_range

    def px(x: float) -> float:
        return left + (fx(x) - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y_low) / (y_high - y_low)) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f'<text x="{left}" y="20" class="chart-title">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for tick in _ticks(y_low, y_high):
        y = py(tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick:g}</text>')
    x_ticks = sorted({x for x in xs}) if log2_x else _ticks(min(xs), max(xs))
    for tick in x_ticks[:12]:
        x = px(tick)
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">{tick:g}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" class="axis">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">{escape(y_label)}</text>'
    )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        for j, (x, y) in enumerate(s.points):
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}">'
                         f"<title>{escape(s.label)}: {x:g} → {y:.1f}</title></circle>")  # fmt: skip
            if s.errors:
                low, high = s.errors[j]
                parts.append(f'<line x1="{px(x):.1f}" y1="{py(low):.1f}" x2="{px(x):.1f}" y2="{py(high):.1f}" '
                             f'stroke="{color}" stroke-opacity="0.5"/>')  # fmt: skip
        ly = top + 14 + 18 * i
        parts.append(f'<rect x="{width - right + 12}" y="{ly - 9}" width="10" height="10" fill="{color}"/>')
        label = s.label if len(s.label) <= 28 else s.label[:27] + "…"
        parts.append(f'<text x="{width - right + 28}" y="{ly}" class="legend">{escape(label)}'
                     f"<title>{escape(s.label)}</title></text>")  # fmt: skip
    parts.append("</svg>")
    return "\n".join(parts)


def heatmap(
    rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float | None]],
    notes: Sequence[Sequence[str]], title: str, cell: int = 18,
) -> str:  # fmt: skip
    """Rows x columns of values in [0, 1] (solve rates), white to dark blue; each cell's note is its tooltip."""
    left, top = 330, 90
    width, height = left + cell * len(columns) + 20, top + cell * len(rows) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f'<text x="8" y="20" class="chart-title">{escape(title)}</text>',
    ]
    for j, column in enumerate(columns):
        x = left + j * cell + cell / 2
        parts.append(f'<text x="{x:.1f}" y="{top - 6}" transform="rotate(-60 {x:.1f} {top - 6})" '
                     f'class="tick">{escape(column)}</text>')  # fmt: skip
    for i, row in enumerate(rows):
        y = top + i * cell
        label = row if len(row) <= 50 else row[:49] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + cell * 0.7:.1f}" text-anchor="end" class="tick">{escape(label)}'
                     f"<title>{escape(row)}</title></text>")  # fmt: skip
        for j, value in enumerate(values[i]):
            if value is None:
                fill = "#f4f4f4"
            else:
                shade = int(255 - 200 * value)
                fill = f"rgb({shade},{shade + (255 - shade) // 3},255)"
            parts.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                         f"<title>{escape(notes[i][j])}</title></rect>")  # fmt: skip
    parts.append("</svg>")
    return "\n".join(parts)
