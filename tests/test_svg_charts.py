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
    assert legend.text == "x" * 109 + "…" and legend.find("s:title", NS).text == label
    assert svg._clip("abc", 3) == "abc" and svg._clip("abcd", 3) == "ab…"


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
    assert label.text == "r" * 55 + "…" and label.find("s:title", NS).text == long
    assert root.findall("s:a", NS) == []
    assert math.isclose(float(label.get("y")), 90 + 18 * 0.7)
