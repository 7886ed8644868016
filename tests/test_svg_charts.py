"""The page's charts draw what their numbers say (evalkit/report/svg.py): read back as XML, each mark sits where its
value puts it, intervals span their bounds, reported numbers are diamonds on the same scale, cells are shaded by
their solve rate and link to their problem, and long labels are clipped with the whole text kept as a tooltip."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from evalkit.report import svg
from evalkit.report.svg import Dot, Series

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def floats(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", text)]


# -- line charts -----------------------------------------------------------------------------------------------------


def test_line_chart_places_points_on_linear_axes():
    series = [Series("run", [(0, 0.0), (50, 50.0), (100, 100.0)], [(0.0, 10.0), (40.0, 60.0), (90.0, 100.0)])]
    root = parse(svg.line_chart(series, "t", "step", "avg", width=720, height=360))
    left, top, plot_w, plot_h = 52, 34, 720 - 52 - 16, 360 - 34 - 46
    circles = root.findall("s:circle", NS)
    assert [(float(c.get("cx")), float(c.get("cy"))) for c in circles] == [
        (left, top + plot_h), (left + plot_w / 2, top + plot_h / 2), (left + plot_w, top)
    ]  # fmt: skip
    assert [c.find("s:title", NS).text for c in circles] == [
        "run: 0 → 0.0 [0.0, 10.0]", "run: 50 → 50.0 [40.0, 60.0]", "run: 100 → 100.0 [90.0, 100.0]"
    ]  # fmt: skip
    (band,) = root.findall("s:polygon", NS)
    corners = floats(band.get("points"))
    xs, ys = corners[0::2], corners[1::2]
    # Upper edge left to right (the highs), then the lower edge back (the lows).
    assert xs == [left, left + plot_w / 2, left + plot_w, left + plot_w, left + plot_w / 2, left]
    assert ys == pytest.approx([top + plot_h * 0.9, top + plot_h * 0.4, top, top + plot_h * 0.1, top + plot_h * 0.6,
                                top + plot_h], abs=0.06)  # fmt: skip
    (line,) = root.findall("s:polyline", NS)
    assert floats(line.get("points")) == [left, top + plot_h, left + plot_w / 2, top + plot_h / 2, left + plot_w, top]
    assert root.get("viewBox") == f"0 0 720 {top + plot_h + 46 + 16}" and root.get("aria-label") == "t"


def test_line_chart_on_a_log2_axis_spaces_doublings_evenly_and_labels_each_k():
    series = [Series("pass@k", [(1, 10.0), (2, 20.0), (4, 30.0), (8, 40.0)])]
    root = parse(svg.line_chart(series, "p", "k", "pass@k", log2_x=True))
    xs = [float(c.get("cx")) for c in root.findall("s:circle", NS)]
    gaps = [b - a for a, b in zip(xs, xs[1:])]
    assert gaps == pytest.approx([gaps[0]] * 3, abs=0.11) and gaps[0] > 100
    labels = [t.text for t in root.findall("s:text", NS) if t.get("class") == "tick"]
    assert {"1", "2", "4", "8"} <= set(labels)
    assert not root.findall("s:polygon", NS)  # no intervals: no band


def test_a_single_point_with_an_interval_is_a_whisker_and_a_flat_x_range_still_draws():
    root = parse(svg.line_chart([Series("one", [(5, 40.0)], [(30.0, 50.0)])], "t", "x", "y"))
    (whisker,) = root.findall("s:line[@stroke-opacity='0.5']", NS)
    assert float(whisker.get("x1")) == float(whisker.get("x2"))
    assert float(whisker.get("y1")) > float(whisker.get("y2"))  # the low end is lower on the page
    (circle,) = root.findall("s:circle", NS)
    assert float(circle.get("cx")) == pytest.approx(52 + (720 - 52 - 16) / 2)  # alone: in the middle


def test_a_fitted_y_axis_frames_the_data_with_round_ticks():
    root = parse(svg.line_chart([Series("s", [(1, 31.0), (2, 37.0)], [(28.0, 34.0), (33.0, 41.0)])], "t", "x", "y",
                                y_range=None))  # fmt: skip
    ticks = [float(t.text) for t in root.findall("s:text", NS) if t.get("class") == "tick" and t.get("text-anchor")
             == "end"]  # fmt: skip
    assert min(ticks) <= 28.0 and max(ticks) >= 41.0 and max(ticks) - min(ticks) < 40
    assert svg.line_chart([], "t", "x", "y") == ""


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0, 100, [0, 20, 40, 60, 80, 100]), (0, 10, [0, 2, 4, 6, 8, 10]), (3, 3, [3]), (20, 45, [20, 25, 30, 35, 40, 45]),
     (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), (1, 121, [25, 50, 75, 100])],
)  # fmt: skip
def test_ticks_are_round_numbers_covering_the_range(low, high, expected):
    assert svg._ticks(low, high) == expected


def test_legend_labels_are_clipped_with_the_whole_label_as_a_tooltip():
    label = "x" * 150
    root = parse(svg.line_chart([Series(label, [(1, 1.0), (2, 2.0)])], "t", "x", "y"))
    (legend,) = [t for t in root.findall("s:text", NS) if t.get("class") == "legend"]
    assert legend.text == "x" * 84 + "…" and legend.find("s:title", NS).text == label
    assert svg._fit("abc", 3 * 0.62 * 10, 10) == "abc" and svg._fit("abcd", 3 * 0.62 * 10, 10) == "a…"


# -- dot and whisker -------------------------------------------------------------------------------------------------


def test_dots_whiskers_and_diamonds_sit_on_one_percent_scale():
    dots = [
        Dot("run a", "measured", 40.0, 30.0, 50.0, reported=45.0, note="a note", href="a.html"),
        Dot("paper b", "reported", reported=70.0),
        Dot("wild", "imported", 120.0, -5.0, 110.0),
    ]
    groups = [("GRPO", dots)]
    root = parse(svg.dot_whisker(groups, "overview", width=980))
    label_w, plot_w = 340, 980 - 340 - 24

    def px(value):
        return label_w + value / 100 * plot_w

    circles = [c for c in root.findall("s:circle", NS) if c.find("s:title", NS) is not None]
    assert [float(c.get("cx")) for c in circles] == [pytest.approx(px(40.0)), pytest.approx(px(100.0))]  # clipped
    assert circles[0].get("fill") == svg.KIND_COLORS["measured"] and circles[1].get("fill") == svg.KIND_COLORS[
        "imported"]  # fmt: skip
    assert circles[0].find("s:title", NS).text == "a note" and circles[1].find("s:title", NS).text == "wild"
    whiskers = [p for p in root.findall("s:path", NS) if p.get("fill") == "none"]
    assert floats(whiskers[0].get("d"))[0] == pytest.approx(px(30.0), abs=0.05)
    assert floats(whiskers[1].get("d"))[0] == pytest.approx(px(0.0), abs=0.05)  # -5 is drawn at 0
    diamonds = [p for p in root.findall("s:path", NS) if p.get("fill") == "#fff" and p.find("s:title", NS) is not None]
    assert [floats(d.get("d"))[0] for d in diamonds] == [pytest.approx(px(45.0), abs=0.05),
                                                         pytest.approx(px(70.0), abs=0.05)]  # fmt: skip
    (dashed,) = root.findall("s:line[@stroke-dasharray]", NS)
    assert (float(dashed.get("x1")), float(dashed.get("x2"))) == (pytest.approx(px(40.0), abs=0.05),
                                                                  pytest.approx(px(45.0), abs=0.05))  # fmt: skip
    (link,) = root.findall("s:a", NS)
    assert link.get("href") == "a.html" and link.find("s:text", NS).text == "run a"
    groups_text = [t.text for t in root.findall("s:text", NS) if t.get("class") == "group"]
    assert groups_text == ["GRPO"]
    stripes = [r for r in root.findall("s:rect", NS) if r.get("fill") == "#f9fafb"]
    assert len(stripes) == 1  # every second row is shaded
    ticks = [t.text for t in root.findall("s:text", NS) if t.get("class") == "tick"]
    assert ticks == [str(v) for v in range(0, 101, 10) for _ in range(2)]  # above and below
    height = float(root.get("viewBox").split()[3])
    assert height == 70 + (3 + 1) * 19 + 44  # a row per dot and one per heading


# -- heatmap ---------------------------------------------------------------------------------------------------------


def test_heatmap_cells_are_shaded_by_solve_rate_and_open_their_problem():
    root = parse(svg.heatmap(["run a", "run b"], ["2024-I-1", "2024-I-2"], [[0.0, 1.0], [0.5, None]],
                             [["0/4", "4/4"], ["2/4", "none"]], "per problem", links=["a.html", None]))  # fmt: skip
    left, top, cell = 330, 90, 18
    cells = root.iter("{http://www.w3.org/2000/svg}rect")
    by_place = {(float(r.get("x")), float(r.get("y"))): r for r in cells}
    assert by_place[(left, top)].get("fill") == "rgb(255,255,255)"  # none solved: white
    assert by_place[(left + cell, top)].get("fill") == "rgb(55,121,255)"  # all solved: dark blue
    assert by_place[(left, top + cell)].get("fill") == "rgb(155,188,255)"
    assert by_place[(left + cell, top + cell)].get("fill") == "#f3f4f6"  # no value
    assert by_place[(left, top)].find("s:title", NS).text == "0/4"
    assert [a.get("href") for a in root.findall("s:a", NS)] == ["a.html", "a.html#p-2024-I-1", "a.html#p-2024-I-2"]
    assert root.get("viewBox") == f"0 0 {left + cell * 2 + 20} {top + cell * 2 + 20}"
    columns = [t.text for t in root.findall("s:text", NS) if t.get("transform")]
    assert columns == ["2024-I-1", "2024-I-2"]


def test_heatmap_row_labels_are_clipped_and_unlinked_rows_have_no_links():
    long = "r" * 80
    root = parse(svg.heatmap([long], ["p"], [[0.25]], [["1/4"]], "t"))
    (label,) = [t for t in root.findall("s:text", NS) if t.get("text-anchor") == "end"]
    assert label.text == "r" * 44 + "…" and label.find("s:title", NS).text == long
    assert root.findall("s:a", NS) == []
    assert math.isclose(float(label.get("y")), 90 + 18 * 0.7)


# -- layout: every label legible, inside the chart, beside what it names ----------------------------------------------
# Text boxes are measured with Helvetica's advance widths (Arial has the same; the page's other fonts are close), in
# thousandths of an em, any other character a full em; a box spans 0.8 em above its baseline and 0.2 em below.
# Rotated labels (the y-axis title, the heatmap's columns) are checked on their own.

HELVETICA = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, *[556] * 10, 278, 278, 584, 584,
     584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
     611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222,
     222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584],
    strict=True,
))  # fmt: skip


def text_width(text: str, size: float) -> float:
    return sum(HELVETICA.get(char, 1000) for char in text) * size / 1000


def font_sizes() -> dict[str, float]:
    from evalkit.report.html import STYLE

    return {name: float(size) for name, size in re.findall(r"\.([\w-]+) \{ font-size: (\d+)px", STYLE)}


def text_boxes(root: ET.Element) -> list[tuple[str, float, float, float, float]]:
    """(text, left, top, right, bottom) of every unrotated label."""
    sizes = font_sizes()
    boxes = []
    for text in root.iter("{http://www.w3.org/2000/svg}text"):
        if text.get("transform"):
            continue
        size = sizes[text.get("class")]
        width = text_width(text.text, size)
        x, y = float(text.get("x")), float(text.get("y"))
        left = {"start": x, "middle": x - width / 2, "end": x - width}[text.get("text-anchor", "start")]
        boxes.append((text.text, left, y - 0.8 * size, left + width, y + 0.2 * size))
    return boxes


def assert_legible(chart: str) -> ET.Element:
    """No two labels overlap, every label lies inside the chart, and nothing but elements sits between them."""
    root = parse(chart)
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    assert float(root.get("width")) == width
    boxes = text_boxes(root)
    for text, left, top, right, bottom in boxes:
        assert left >= 0 and right <= width and top >= 0 and bottom <= height, f"{text!r} leaves the chart"
    for i, (a, *box_a) in enumerate(boxes):
        for b, *box_b in boxes[i + 1 :]:
            apart = box_a[2] <= box_b[0] or box_b[2] <= box_a[0] or box_a[3] <= box_b[1] or box_b[3] <= box_a[1]
            assert apart, f"{a!r} overlaps {b!r}"
    strays = [node.tail for node in root.iter() if node.tail and node.tail.strip()]
    assert not strays and not (root.text or "").strip()
    return root


def test_the_charts_classes_are_styled_by_the_page_and_the_wide_ones_keep_a_legible_width():
    from evalkit.report.html import STYLE

    line = parse(svg.line_chart([Series("s", [(1, 1.0), (2, 2.0)])], "t", "x", "y"))
    dots = parse(svg.dot_whisker([("g", [Dot("d", "measured", 50.0)])], "t"))
    heat = parse(svg.heatmap(["r"], ["c"], [[0.5]], [["n"]], "t"))
    assert (line.get("class"), dots.get("class"), heat.get("class")) == ("chart", "chart dots", "chart heat")
    # On a narrow screen the page scrolls these two rather than shrinking their text below legibility.
    assert "svg.dots, svg.heat { min-width: 640px; }" in STYLE
    for root in (line, dots, heat):
        used = {node.get("class") for node in root.iter() if node.get("class")} - {root.get("class")}
        assert used <= set(font_sizes()), used - set(font_sizes())


def test_a_line_charts_labels_sit_beside_what_they_name_and_never_overlap():
    series = [Series(f"checkpoint {i}", [(0, 10.0 + i), (90, 40.0 + i), (180, 60.0 + i)]) for i in range(3)]
    root = assert_legible(svg.line_chart(series, "accuracy by step", "training step", "avg@16 (%)"))
    left, top, plot_w, plot_h = 52, 34, 720 - 52 - 16, 360 - 34 - 46
    axis_y = top + plot_h
    texts = root.findall("s:text", NS)
    # Each gridline spans the plot at its tick's height, and its label ends just left of the plot on that line.
    grid = [line for line in root.findall("s:line", NS) if line.get("stroke") == svg.GRID]
    y_ticks = [t for t in texts if t.get("text-anchor") == "end"]
    assert [t.text for t in y_ticks] == ["0", "20", "40", "60", "80", "100"]
    for line, label in zip(grid, y_ticks):
        assert (float(line.get("x1")), float(line.get("x2"))) == (left, left + plot_w)
        assert float(line.get("y1")) == float(line.get("y2")) == pytest.approx(
            top + (1 - float(label.text) / 100) * plot_h, abs=0.05)  # fmt: skip
        assert left - 10 <= float(label.get("x")) < left
        assert 0 < float(label.get("y")) - float(line.get("y1")) <= 6  # centred on its line
    (axis,) = [line for line in root.findall("s:line", NS) if line.get("stroke") == svg.AXIS]
    assert [float(axis.get(k)) for k in ("x1", "y1", "x2", "y2")] == [left, axis_y, left + plot_w, axis_y]
    # About eight round x ticks (0 to 180 in 25s), each under its place on the axis.
    x_ticks = [t for t in texts if t.get("class") == "tick" and t.get("text-anchor") == "middle"]
    assert [t.text for t in x_ticks] == ["0", "25", "50", "75", "100", "125", "150", "175"]
    for label in x_ticks:
        assert float(label.get("x")) == pytest.approx(left + float(label.text) / 180 * plot_w, abs=0.05)
        assert axis_y < float(label.get("y")) <= axis_y + 20
    # The axis titles: x centred under the plot below its ticks; y rotated about its own anchor, centred on the plot.
    (x_title,) = [t for t in texts if t.get("class") == "axis" and not t.get("transform")]
    assert x_title.text == "training step" and float(x_title.get("x")) == left + plot_w / 2
    assert float(x_title.get("y")) > max(float(t.get("y")) for t in x_ticks)
    (y_title,) = [t for t in texts if t.get("transform")]
    x, y = float(y_title.get("x")), float(y_title.get("y"))
    assert y == top + plot_h / 2 and x < left - 30
    assert y_title.get("transform").startswith("rotate(-90 ") and floats(y_title.get("transform")) == [-90, x, y]
    # The legend: one row per series under the axis title, each swatch in its line's colour, left of its name.
    legend = [t for t in texts if t.get("class") == "legend"]
    swatches = root.findall("s:rect", NS)
    lines = root.findall("s:polyline", NS)
    assert [t.text for t in legend] == [s.label for s in series]
    for i, (label, swatch, line) in enumerate(zip(legend, swatches, lines)):
        assert swatch.get("fill") == line.get("stroke") == svg.PALETTE[i]
        assert float(label.get("y")) > float(x_title.get("y"))
        assert 0 < float(label.get("x")) - float(swatch.get("x")) - float(swatch.get("width")) <= 8
        assert float(label.get("y")) - 12 <= float(swatch.get("y")) <= float(label.get("y"))
    assert [float(t.get("y")) for t in legend] == [float(legend[0].get("y")) + 16 * i for i in range(3)]


def test_on_a_fitted_axis_every_point_reads_its_value_off_the_tick_labels():
    # The fitted axis does not start at 0, so a mark placed as if it did would read wrong against its ticks.
    series = [Series("s", [(1, 31.0), (2, 37.0), (3, 52.5)], [(28.0, 34.0), (33.0, 41.0), (49.0, 56.0)])]
    root = assert_legible(svg.line_chart(series, "t", "x", "y", y_range=None))
    grid = [line for line in root.findall("s:line", NS) if line.get("stroke") == svg.GRID]
    labels = [float(t.text) for t in root.findall("s:text", NS) if t.get("text-anchor") == "end"]
    (y0, v0), (y1, v1) = (float(grid[0].get("y1")), labels[0]), (float(grid[-1].get("y1")), labels[-1])
    assert labels[0] > 0

    def read(pixel_y: float) -> float:
        return v0 + (pixel_y - y0) / (y1 - y0) * (v1 - v0)

    values = [read(float(c.get("cy"))) for c in root.findall("s:circle", NS)]
    assert values == pytest.approx([31.0, 37.0, 52.5], abs=0.05)


def test_a_long_log2_axis_labels_every_other_k_so_labels_never_collide():
    ks = [2**i for i in range(15)]  # 1 .. 16384: fifteen doublings, one more than fits
    root = assert_legible(svg.line_chart([Series("pass@k", [(k, 50.0) for k in ks])], "p", "k", "pass@k", log2_x=True))
    labels = [t.text for t in root.findall("s:text", NS) if t.get("text-anchor") == "middle"
              and t.get("class") == "tick"]  # fmt: skip
    assert labels == [f"{k:g}" for k in ks[::2]]
    fourteen = parse(svg.line_chart([Series("p", [(k, 50.0) for k in ks[:14]])], "p", "k", "y", log2_x=True))
    assert [t.text for t in fourteen.findall("s:text", NS) if t.get("text-anchor") == "middle"
            and t.get("class") == "tick"] == [f"{k:g}" for k in ks[:14]]  # fmt: skip


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0, 5, [0, 1, 2, 3, 4, 5]), (0, 30, [0, 10, 20, 30]), (0, 12, [0, 2.5, 5, 7.5, 10])],
)  # fmt: skip
def test_tick_steps_are_one_two_two_and_a_half_five_or_ten_times_a_power_of_ten(low, high, expected):
    assert svg._ticks(low, high) == expected


def test_a_dot_charts_legend_headings_and_ticks_never_overlap_and_rows_stack_under_their_heading():
    steps = [Dot(f"step {s}", "measured", 20.0 + s / 10, 15.0, 30.0 + s / 10) for s in (100, 200, 300)]
    others = [Dot("paper", "reported", reported=50.0), Dot("import", "imported", 44.0, 40.0, 48.0)]
    groups = [("DAPO-Qwen-32B checkpoints", steps), ("Reported", others)]
    root = assert_legible(svg.dot_whisker(groups, "AIME 2024 avg@32"))
    texts = root.findall(".//s:text", NS)
    # The legend's marks, each right before its own name, in one row.
    legend = [t for t in texts if t.get("class") == "legend"]
    assert [t.text for t in legend] == ["measured", "imported", "scored generations",
                                        "reported (paper or the source harness)", "95% interval"]  # fmt: skip
    marks = [c for c in root.findall("s:circle", NS) if c.find("s:title", NS) is None]
    (diamond,) = [p for p in root.findall("s:path", NS) if p.find("s:title", NS) is None and p.get("fill") == "#fff"]
    (whisker,) = [line for line in root.findall("s:line", NS) if line.get("stroke") == "#374151"]
    ends = [float(c.get("cx")) + 4.5 for c in marks] + [floats(diamond.get("d"))[0] + 5, float(whisker.get("x2"))]
    starts = [float(c.get("cx")) - 4.5 for c in marks] + [floats(diamond.get("d"))[0] - 5, float(whisker.get("x1"))]
    for label, start, end in zip(legend, starts, ends):
        assert 0 < float(label.get("x")) - end <= 8 and start < float(label.get("x"))
    assert [c.get("fill") for c in marks] == [svg.KIND_COLORS[k] for k in ("measured", "imported",
                                                                             "scored-generations")]  # fmt: skip
    # Each heading has its row with a rule under it, then its dots, one row each, every mark on its row's label line.
    row = 19
    headings = [t for t in texts if t.get("class") == "group"]
    rules = [line for line in root.findall("s:line", NS) if line.get("stroke") == "#d1d5db"]
    assert [t.text for t in headings] == ["DAPO-Qwen-32B checkpoints", "Reported"]
    labels = [t for t in texts if t.get("class") == "row-label"]
    assert [t.text for t in labels] == ["step 100", "step 200", "step 300", "paper", "import"]
    label_y = [float(t.get("y")) for t in labels]
    heading_y = [float(t.get("y")) for t in headings]
    # One row apart; the first row one row under its heading (labels and headings share a baseline within 1).
    assert label_y[:3] == pytest.approx([heading_y[0] + row * i for i in (1, 2, 3)], abs=1)
    assert label_y[3:] == pytest.approx([heading_y[1] + row * i for i in (1, 2)], abs=1)
    assert [b - a for a, b in zip(label_y, label_y[1:])] == [row, row, 2 * row, row]
    for heading, rule in zip(headings, rules):
        assert float(rule.get("y1")) == float(rule.get("y2"))
        assert float(heading.get("y")) < float(rule.get("y1")) < float(heading.get("y")) + row - 4
        assert (float(rule.get("x1")), float(rule.get("x2"))) == (8, 980 - 24)
    circles = [c for c in root.findall("s:circle", NS) if c.find("s:title", NS) is not None]
    for circle, y in zip(circles, [*label_y[:3], label_y[4]]):
        assert 0 < y - float(circle.get("cy")) <= 6  # the mark is centred on its label's line
    # The 0-100 ticks run above and below the rows, each at its gridline; the axis title is centred under them.
    grid = [line for line in root.findall("s:line", NS) if line.get("stroke") == svg.GRID]
    assert len(grid) == 11
    top_ticks = [t for t in texts if t.get("class") == "tick" and float(t.get("y")) < heading_y[0]]
    low_ticks = [t for t in texts if t.get("class") == "tick" and float(t.get("y")) > label_y[-1]]
    assert [t.text for t in top_ticks] == [t.text for t in low_ticks] == [str(v) for v in range(0, 101, 10)]
    for line, above, below in zip(grid, top_ticks, low_ticks):
        x = float(line.get("x1"))
        assert float(above.get("x")) == float(below.get("x")) == x == float(line.get("x2"))
        assert float(above.get("y")) < float(line.get("y1")) < heading_y[0]
        assert label_y[-1] < float(line.get("y2")) < float(below.get("y"))
    (title,) = [t for t in texts if t.get("class") == "axis"]
    assert title.text == "avg@n (%)" and float(title.get("x")) == pytest.approx(340 + (980 - 340 - 24) / 2, abs=0.05)
    assert float(title.get("y")) > float(low_ticks[0].get("y"))


def test_a_heatmaps_column_labels_stand_over_their_column_and_row_labels_beside_their_row():
    columns = [f"2024-I-{i}" for i in range(1, 6)]
    rows = ["DAPO step 100", "DAPO step 200"]
    values = [[i / 5 for i in range(5)], [1 - i / 5 for i in range(5)]]
    chart = svg.heatmap(rows, columns, values, [[f"{v:.1f}" for v in r] for r in values], "per problem")
    root = assert_legible(chart)
    left, top, cell = 330, 90, 18
    heads = [t for t in root.findall("s:text", NS) if t.get("transform")]
    assert [t.text for t in heads] == columns
    for j, head in enumerate(heads):
        x, y = float(head.get("x")), float(head.get("y"))
        assert x == left + j * cell + cell / 2 and y < top
        assert floats(head.get("transform")) == [-60, x, y]  # turned about its own anchor
    labels = [t for t in root.findall("s:text", NS) if t.get("text-anchor") == "end"]
    assert [t.text for t in labels] == rows
    cells = [r for r in root.findall("s:rect", NS)]
    assert len(cells) == 10
    for i, label in enumerate(labels):
        assert left - 10 <= float(label.get("x")) < left
        assert top + i * cell < float(label.get("y")) < top + (i + 1) * cell
    for k, rect in enumerate(cells):
        i, j = divmod(k, 5)
        # Cells tile the grid with a one-unit gap, so neighbouring shades stay apart.
        assert (float(rect.get("x")), float(rect.get("y"))) == (left + j * cell, top + i * cell)
        assert float(rect.get("width")) == float(rect.get("height")) == cell - 1


@pytest.mark.parametrize(
    ("values", "labels", "framed"),
    [([0.5, 10.0], ["0", "2.5", "5", "7.5", "10", "12.5"], True),
     ([93.0, 99.5], ["90", "92", "94", "96", "98", "100"], True), ([31.0, 56.0], ["20", "30", "40", "50", "60"], True),
     ([40.0], ["38", "40", "42"], False), ([3.0, 4.0], ["0", "2", "4", "6"], False),
     ([0.0, 9.0], ["0", "2.5", "5", "7.5", "10", "12.5"], True), ([90.0, 99.0], ["87.5", "90", "92.5", "95", "97.5",
     "100"], True), ([3.0, 12.0], ["0", "5", "10", "15"], True)],
)  # fmt: skip
def test_a_fitted_y_axis_pads_the_data_by_a_round_step_and_stays_within_0_and_100(values, labels, framed):
    # The data with 2 points of margin gets round ticks; the axis then reaches one tick step past them, never
    # below 0 or above 100. Every gridline is inside the plot; where the axis ends on a tick, that tick's gridline
    # is the plot's edge.
    chart = svg.line_chart([Series("s", [(i, v) for i, v in enumerate(values, 1)])], "t", "x", "y", y_range=None)
    root = assert_legible(chart)
    assert [t.text for t in root.findall("s:text", NS) if t.get("text-anchor") == "end"] == labels
    grid = [float(line.get("y1")) for line in root.findall("s:line", NS) if line.get("stroke") == svg.GRID]
    assert all(34 <= y <= 34 + 280 for y in grid)
    assert ((grid[0], grid[-1]) == (34 + 280, 34)) is framed


def test_line_and_band_coordinates_are_plain_point_lists_and_tooltips_name_only_what_is_known():
    series = [Series("band", [(1, 20.0), (2, 30.0)], [(15.0, 25.0), (25.0, 35.0)]), Series("bare", [(1, 40.0),
              (2, 50.0)]), Series("one", [(1, 60.0)], [(55.0, 65.0)])]  # fmt: skip
    root = assert_legible(svg.line_chart(series, "t", "x", "y"))
    point_list = re.compile(r"-?\d+(\.\d+)?,-?\d+(\.\d+)?( -?\d+(\.\d+)?,-?\d+(\.\d+)?)*")
    shapes = root.findall("s:polygon", NS) + root.findall("s:polyline", NS)
    assert len(root.findall("s:polygon", NS)) == 1  # two points with intervals make a band; one point, a whisker
    assert all(point_list.fullmatch(shape.get("points")) for shape in shapes)
    titles = [c.find("s:title", NS).text for c in root.findall("s:circle", NS)]
    assert titles == ["band: 1 → 20.0 [15.0, 25.0]", "band: 2 → 30.0 [25.0, 35.0]", "bare: 1 → 40.0", "bare: 2 → 50.0",
                      "one: 1 → 60.0 [55.0, 65.0]"]  # fmt: skip


def test_a_dot_rows_marks_are_centred_on_its_row_and_its_label_ends_before_the_plot():
    long = "DAPO-Qwen2.5-32B, step 1200, temperature 0.6 top-p 0.95, seed 7"
    dots = [Dot(long, "measured", 40.0, 30.0, 50.0, reported=45.0), Dot("new kind", "from-elsewhere", 60.0),
            Dot("low only", "measured", 20.0, low=10.0), Dot("striped", "imported", 70.0)]  # fmt: skip
    root = assert_legible(svg.dot_whisker([("h" * 60, dots)], "t"))
    texts = root.findall(".//s:text", NS)
    (heading,) = [t for t in texts if t.get("class") == "group"]
    labels = [t for t in texts if t.get("class") == "row-label"]
    assert heading.text == "h" * 60 and heading.find("s:title", NS).text == "h" * 60  # the heading has the row
    assert labels[0].text == long[:45] + "…" and labels[0].find("s:title", NS).text == long
    assert all(float(label.get("x")) <= 340 - 4 for label in labels)
    circles = [c for c in root.findall("s:circle", NS) if c.find("s:title", NS) is not None]
    centres = [float(c.get("cy")) for c in circles]
    # A kind the chart has no colour for is drawn as measured; an interval with one end missing is not drawn.
    assert circles[1].get("fill") == svg.KIND_COLORS["measured"]
    whiskers = [p for p in root.findall("s:path", NS) if p.get("fill") == "none"]
    assert len(whiskers) == 1
    # "M x1 (cy-4) v8 M x1 cy H x2 M x2 (cy-4) v8": an end tick 8 high at each bound, centred on the row.
    numbers = floats(whiskers[0].get("d").replace("v8", " ").replace("H", " "))
    assert [numbers[1], numbers[3], numbers[6]] == [centres[0] - 4, centres[0], centres[0] - 4]
    (diamond,) = [
        p for p in root.findall("s:path", NS) if p.get("fill") == "#fff" and p.find("s:title", NS) is not None
    ]
    assert floats(diamond.get("d"))[1] == centres[0] - 5  # its top corner; it spans the row's centre ±5
    stripes = [r for r in root.findall("s:rect", NS) if r.get("fill") == "#f9fafb"]
    assert len(stripes) == 2  # rows 2 and 4, across the chart
    for stripe, centre in zip(stripes, centres[1::2]):
        assert (float(stripe.get("x")), float(stripe.get("width"))) == (8, 980 - 24 - 8)
        assert float(stripe.get("y")) < centre < float(stripe.get("y")) + float(stripe.get("height"))


# Names as they come: model paths in capitals, wide letters, Chinese mixed into English. Each label is cut to the room
# its chart gives it, measured in Helvetica (not counted in characters), and keeps its whole text as a tooltip.
AWKWARD_LABELS = [
    "DEEPSEEK-R1-DISTILL-QWEN-32B/MMMMWWWW/GRPO-STEP-1200-TEMPERATURE-0.6-TOP-P-0.95",
    "Qwen2.5-Math-7B 强化学习 第三阶段 检查点 1200 步 温度 0.6 最大长度 32768 个词元",
    "mmmmmmmmmmwwwwwwwwwwmmmmmmmmmmwwwwwwwwwwmmmmmmmmmmwwwwwwwwww",
    "illiterate little tilt lilt" * 4,
]


def test_long_labels_are_cut_to_the_width_their_chart_gives_them_and_keep_the_whole_text_as_a_tooltip():
    sizes = font_sizes()
    heading = AWKWARD_LABELS[0] * 2
    dots = parse(svg.dot_whisker([(heading, [Dot(label, "measured", 50.0) for label in AWKWARD_LABELS])], "t"))
    heat_chart = svg.heatmap(AWKWARD_LABELS, ["p"], [[0.5]] * 4, [["2/4"]] * 4, "t")
    heat = parse(heat_chart)
    line = parse(svg.line_chart([Series(label * 2, [(1, 1.0), (2, 2.0)]) for label in AWKWARD_LABELS], "t", "x", "y"))
    rooms = [(dots, "row-label", 8, 340 - 8, AWKWARD_LABELS), (dots, "group", 8, 980 - 24, [heading]),
             (heat, "tick", 8, 330 - 6, AWKWARD_LABELS), (line, "legend", 72, 720 - 8,
                                                          [label * 2 for label in AWKWARD_LABELS])]  # fmt: skip
    for root, css, start, end, labels in rooms:
        texts = [
            t for t in root.iter(f"{{{NS['s']}}}text") if t.get("class") == css and t.find("s:title", NS) is not None
        ]
        assert [t.find("s:title", NS).text for t in texts] == labels
        for text, label in zip(texts, labels):
            shown = text.text
            assert shown.endswith("…") and label.startswith(shown[:-1]), (css, shown)
            width = text_width(shown, sizes[css])
            assert width <= end - start, (css, shown, width)
            # cut near its room, not long before it: the next character would have fitted only in a wider chart
            assert width >= 0.7 * (end - start), (css, shown, width)
    assert_legible(svg.dot_whisker([("g", [Dot(label, "measured", 50.0) for label in AWKWARD_LABELS])], "t"))
    assert_legible(heat_chart)


def test_the_chart_font_sizes_labels_are_fitted_with_are_the_ones_the_page_sets():
    assert {css: font_sizes()[css] for css in svg.FONT_PX} == svg.FONT_PX


@pytest.mark.parametrize(
    ("values", "labels"),
    [([162.0, 477.9], ["100", "200", "300", "400", "500"]),
     ([45_000.0, 62_000.0], ["40000", "45000", "50000", "55000", "60000", "65000"]),
     ([500.0, 500.0], ["480", "500", "520"]), ([0.0, 0.0], ["0", "0.25", "0.5", "0.75", "1"])],
)  # fmt: skip
def test_a_fitted_axis_without_a_ceiling_frames_token_counts(values, labels):
    # Token counts and lengths run into the thousands: padded by a twentieth of their range, never clipped at 100.
    chart = svg.line_chart([Series("s", [(i, v) for i, v in enumerate(values, 1)])], "t", "x", "y", y_range=None,
                           y_max=None)  # fmt: skip
    root = assert_legible(chart)
    assert [t.text for t in root.findall("s:text", NS) if t.get("text-anchor") == "end"] == labels
    grid = [float(line.get("y1")) for line in root.findall("s:line", NS) if line.get("stroke") == svg.GRID]
    assert all(34 <= y <= 34 + 280 for y in grid)


def test_charts_side_by_side_can_share_an_x_span_and_a_series_keeps_its_colour():
    series = [Series("a", [(200, 10.0), (300, 20.0)], color="#123456"), Series("b", [(250, 30.0)])]
    root = assert_legible(svg.line_chart(series, "t", "x", "y", x_span=(100, 400)))
    ticks = [float(t.text) for t in root.findall("s:text", NS) if t.get("text-anchor") == "middle" and
             t.get("class") == "tick"]  # fmt: skip
    assert (ticks[0], ticks[-1]) == (100, 400)
    left, plot_w = 52, 720 - 52 - 16
    xs = [float(c.get("cx")) for c in root.findall("s:circle", NS)]
    assert xs == pytest.approx([left + plot_w / 3, left + 2 * plot_w / 3, left + plot_w / 2], abs=0.1)
    (line_a, line_b) = root.findall("s:polyline", NS)
    assert (line_a.get("stroke"), line_b.get("stroke")) == ("#123456", svg.PALETTE[1])
