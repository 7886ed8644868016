"""The leaderboard page's parts (evalkit/report/html.py) on rows written by hand: what each row is called, where it is
grouped and in which order, what its tooltip says, the reported-vs-re-scored cells, the counts at the top, and the
table's cells and sort keys."""

from __future__ import annotations

import dataclasses
import math
import re

import pandas as pd

from evalkit.report import html
from evalkit.report.tables import NUMERIC


def row(**fields) -> dict:
    base = {"model": "org/model", "family": "GRPO", "kind": "measured", "avg": 40.0, "avg_ci_low": 30.0,
            "avg_ci_high": 50.0, "n": 16.0, "temperature": 0.6, "template": "r1", "reported": None,
            "reported_metric": None, "difference": None, "run": None, "notes": None}  # fmt: skip
    return {**base, **fields}


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_row_labels_name_the_model_and_the_protocol_facts():
    assert html._row_label(row()) == "org/model · n=16, T=0.6, r1"
    assert html._row_label(row(model="/ckpt/dapo/global_step_40/actor", temperature=None, template=None)) == (
        "global_step_40/actor · n=16"
    )
    long = row(template="a-very-long-template-name", temperature=1.0, n=math.nan)
    assert html._row_label(long) == "org/model · n=, T=1, a-very-long-templ…"
    assert html._short_model("a/b/c/") == "b/c" and html._short_model("a/b") == "a/b"
    # Only the trailing slash goes: a checkpoint named in capitals keeps its last letters.
    assert html._short_model("/ckpt/grpo/QWEN-7B-MAX") == "grpo/QWEN-7B-MAX"
    # A template name is shown whole up to 18 characters, then cut to 17 and an ellipsis.
    assert html._row_label(row(template="t" * 18)).endswith(", " + "t" * 18)
    assert html._row_label(row(template="t" * 19)).endswith(", " + "t" * 17 + "…")


def test_sign_classes_and_kinds():
    assert [html._sign_class(v) for v in (None, math.nan, 0.04, -0.04, 0.05, 2.0, -0.05)] == [
        "num", "num", "num", "num", "num pos", "num pos", "num neg"
    ]  # fmt: skip
    assert html._kind_class("reported (secondary)") == "reported" and html._kind_class("imported") == "imported"
    assert (html._int(None), html._int(math.nan), html._int(16.0)) == ("", "", "16")
    assert (html._value(None), html._value(math.nan), html._value("2.5")) == (None, None, 2.5)
    assert (html._text(None), html._text(math.nan), html._text(3)) == ("", "", "3")


def test_the_overview_groups_by_family_best_first_with_what_each_dot_is():
    rows = frame(
        row(model="org/low", avg=20.0, family="GRPO"),
        row(model="org/high", avg=70.0, family="GRPO", reported=72.0, reported_metric="avg@16", difference=-2.0,
            run="/runs/high"),
        row(model="paper/x", kind="reported", avg=None, avg_ci_low=None, avg_ci_high=None, reported=90.0,
            reported_metric="avg@32", family="R1"),
        row(model="org/nofam", avg=10.0, family=None),
        row(model="org/nothing", avg=None, reported=None),
    )  # fmt: skip
    chart = html.overview_chart(rows, {"/runs/high": "samples/high.html"})
    headings = re.findall(r'class="group">([^<]*)<', chart)
    assert headings == ["R1", "GRPO", "no family given"]  # by each group's best number
    labels = re.findall(r'class="row-label">([^<]*)<', chart)
    assert labels == ["paper/x · n=16, T=0.6, r1 · reported", "org/high · n=16, T=0.6, r1",
                      "org/low · n=16, T=0.6, r1", "org/nofam · n=16, T=0.6, r1"]  # fmt: skip
    tips = re.findall(r"<title>([^<]*)</title>", chart)
    assert "org/high (measured): avg@16 70.0 [30.0, 50.0]; reported 72.0 (avg@16); difference -2.0" in tips
    assert "paper/x (reported); reported 90.0 (avg@32)" in tips
    assert '<a href="samples/high.html">' in chart
    assert html.overview_chart(frame(row(avg=None, reported=None)), {}) == ""


def test_a_row_without_a_number_is_left_out_of_the_overview_and_the_rows_after_it_are_not():
    rows = frame(row(model="org/nothing", avg=None, reported=None), row(model="org/after", avg=30.0))
    labels = re.findall(r'class="row-label">([^<]*)<', html.overview_chart(rows, {}))
    assert labels == ["org/after · n=16, T=0.6, r1"]


def test_a_reported_number_without_a_family_is_grouped_under_other_and_a_run_without_one_under_no_family():
    rows = frame(
        row(model="paper/x", kind="reported", avg=None, avg_ci_low=None, avg_ci_high=None, reported=60.0, family=None),
        row(model="org/y", avg=40.0, family=None),
    )  # fmt: skip
    chart = html.overview_chart(rows, {})
    assert re.findall(r'class="group">([^<]*)<', chart) == ["other", "no family given"]


def test_reported_vs_rescored_cells():
    rows = frame(
        row(model="org/<a>&", reported=45.0, reported_metric="avg@16 <i>", avg=43.3, difference=-1.7, notes="<b>n</b>"),
        row(model="org/b", kind="imported", reported=None, avg=20.0, run="/runs/b"),
        row(model="paper/c", kind="reported", reported=50.0),
        row(model="org/d", reported=None),
    )  # fmt: skip

    class Run:
        path = "/runs/b"
        results = {"reported_vs_rescored": {"source_verdicts_avg": 18.04, "judged": 30, "disagreements": [1, 2]}}

    table = html.reported_vs_rescored(rows, [Run()], {"/runs/b": "s/b.html"})
    body = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])
    assert len(body) == 2
    tbody = table.split("<tbody>")[1].split("</tbody>")[0]
    assert tbody == "".join(f"<tr>{r}</tr>" for r in body)  # the rows and nothing between them
    cells = [re.findall(r'<td class="([^"]*)">(.*?)</td>', r) for r in body]
    # Model text is escaped in every cell (README: "All model text is escaped.").
    assert cells[0] == [("text", "org/&lt;a&gt;&amp;"), ("text", "measured"), ("text", "avg@16 &lt;i&gt;"),
                        ("num", "45.0"), ("num", "43.3"), ("num neg", "-1.7"), ("num", ""),
                        ("why", "&lt;b&gt;n&lt;/b&gt;")]  # fmt: skip
    assert cells[1] == [("text", '<a href="s/b.html">org/b</a>'), ("text", "imported"),
                        ("text", "no number written; its own verdicts give 18.0"), ("num", "–"), ("num", "20.0"),
                        ("num", ""), ("num", "2 of 30"), ("why", "")]  # fmt: skip
    heads = re.findall(r'<th class="([^"]*)">([^<]*)</th>', table)
    assert heads == [("text", "model"), ("text", "kind"), ("text", "reported as"), ("num", "reported"),
                     ("num", "evalkit"), ("num", "Δ"), ("num", "verdicts differ"), ("text", "notes")]  # fmt: skip
    assert html.reported_vs_rescored(frame(row()), [], {}) == (
        "<p class='note'>No run here carries a reported number to check.</p>"
    )


def test_the_counts_at_the_top():
    rows = frame(row(), row(), row(kind="imported"), row(kind="reported"), row(kind="reported (secondary)"))
    stats = html._stats(rows, [], "aime24")
    assert re.findall(r"<b>(\d+)</b>([^<]*)<", stats) == [("2", "measured runs"), ("1", "imported runs"),
                                                           ("2", "reported numbers")]  # fmt: skip
    assert stats.startswith('<div class="stats"><div class="stat">') and stats.endswith("</div></div>")
    assert stats.count("<div") == stats.count("</div>") == 4


def test_the_table_cells_sort_keys_and_kind_filters():
    rows = frame(row(model="org/<a>", run="/r/a", difference=1.25, reported=40.0, reported_metric="avg@16"),
                 row(model="paper/p", kind="reported", reported=50.0, difference=None))  # fmt: skip
    table = html._table(rows, {"/r/a": "s/a.html"})
    first, second = re.findall(r"<tr class=.*?</tr>", table)
    assert first.startswith('<tr class="measured" data-kind="measured">')
    assert '<a href="s/a.html" title="samples">org/&lt;a&gt;</a>' in first
    assert '<td class="num pos" data-sort="1.25">+1.2</td>' in first
    assert second.startswith('<tr class="reported" data-kind="reported">') and "data-sort" not in second
    boxes = re.findall(r'value="([^"]*)" checked> ([^<]*)<', table)
    assert boxes == [("measured", "measured"), ("reported", "reported")]
    assert table.count('<th class="num" scope="col">') + table.count('<th class="text" scope="col">') == len(
        html.MARKDOWN_COLUMNS
    )  # fmt: skip
    # The page's sorter sorts a column by number when its header is "num": every numeric column, and only those.
    heads = re.findall(r'<th class="(\w+)" scope="col">([^<]*)</th>', table)
    assert [title for _, title in heads] == [title for title, _ in html.MARKDOWN_COLUMNS]
    assert {title for css, title in heads if css == "num"} == {t for t, key in html.MARKDOWN_COLUMNS if key in NUMERIC}
    assert {"avg@n", "n", "pass@1", "T", "max tokens"} <= {title for css, title in heads if css == "num"}
    assert {"model", "template", "verifier"} <= {title for css, title in heads if css == "text"}
    cells = re.findall(r'<td class="([\w ]+)"', first)
    assert [css.split()[0] for css in cells] == ["num" if key in NUMERIC or key == "difference" else "text"
                                                 for _, key in html.MARKDOWN_COLUMNS]  # fmt: skip


def test_charts_name_each_run_by_its_model_and_the_protocol_that_produced_it(runs):
    labels = {html.run_label(run) for run in runs}
    assert "BytedTsinghua-SIA/DAPO-Qwen-32B (dapo, T=1.0, n=8)" in labels
    assert "global_step_40/actor (dapo, T=0.6, n=2)" in labels
    assert "Qwen/Qwen2.5-Math-7B (qwen25-math-cot, T=0.0, n=1)" in labels


def _rounded(pairs) -> list[tuple[float, ...]]:
    return [tuple(round(v, 4) for v in pair) for pair in pairs]


def _charts_drawn(monkeypatch) -> list[tuple[tuple, dict]]:
    """What the page asks the chart module to draw: the data, titles and axes, not the SVG."""
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(html, "line_chart", lambda *args, **kwargs: calls.append((args, kwargs)) or "<svg/>")
    monkeypatch.setattr(html, "heatmap", lambda *args, **kwargs: calls.append((args, kwargs)) or "<svg/>")
    return calls


def test_the_pass_at_k_chart_draws_every_run_with_more_than_one_sample_in_percent(runs, monkeypatch):
    calls = _charts_drawn(monkeypatch)
    single = [r for r in runs if r.results["metrics"]["n"] == 1]
    several = [r for r in runs if r.results["metrics"]["n"] > 1]
    assert single and several
    html._pass_at_k_chart(single + several)  # runs with one sample first: they are skipped, not the end
    ((series, title, x_label, y_label), options) = calls[-1]
    assert (title, x_label, y_label, options) == (
        "pass@k against k (runs with n > 1)",
        "k (samples drawn)",
        "pass@k (%)",
        {"log2_x": True},
    )
    assert [s.label for s in series] == [html.run_label(r) for r in several]
    by_label = {s.label: s.points for s in series}
    assert _rounded(by_label["org/grpo-baseline (dapo, T=0.6, n=4)"]) == [(1, 35.0), (2, 56.6667), (4, 80.0)]
    assert _rounded(by_label["global_step_40/actor (dapo, T=0.6, n=2)"]) == [(1, 55.0), (2, 70.0)]
    assert html._pass_at_k_chart(single) == (
        "<p class='note'>No run has more than one sample per problem: no pass@k curve to draw.</p>"
    )


def test_the_heatmap_has_a_row_per_run_in_sweep_order_and_a_column_per_problem(runs, monkeypatch):
    calls = _charts_drawn(monkeypatch)
    assert html._heatmap([], {}) == ""
    html._heatmap(runs, {str(runs[0].path): "samples/first.html"})
    ((labels, problems, values, notes, title), options) = calls[-1]
    assert title == "per-problem solve rate (hover for counts; click a cell for its samples)"
    assert len(labels) == len(runs) and len(problems) == 30 and problems[0] == runs[0].per_problem[0]["problem_id"]
    steps = [label for label in labels if "global_step" in label]
    assert steps == [f"global_step_{s}/actor (dapo, T=0.6, n=2)" for s in (40, 80, 120)]  # step order, not text order
    row = labels.index(html.run_label(runs[0]))
    first = runs[0].per_problem[0]
    assert values[row][0] == first["solve_rate"]
    assert notes[row][0] == (
        f"{first['problem_id']}: {first['correct']}/{first['n']} correct; majority answer: "
        f"{first['majority_answer'] if first['majority_answer'] is not None else '(none)'}"
    )
    assert options["links"][row] == "samples/first.html"
    assert sum(link is not None for link in options["links"]) == 1


def test_a_run_missing_some_problems_has_empty_cells_there_and_its_other_problems_in_their_columns(runs, monkeypatch):
    # A run limited to fewer problems (--limit) or of another dataset slice: its row keeps every column.
    calls = _charts_drawn(monkeypatch)
    full = runs[0]
    kept = full.per_problem[1:2] + full.per_problem[3:4]
    partial_results = dict(full.results, metrics=dict(full.results["metrics"], per_problem=kept))
    partial = dataclasses.replace(full, path=full.path.with_name("partial"), results=partial_results)
    html._heatmap([full, partial], {})
    ((labels, problems, values, notes, _), _) = calls[-1]
    row = [i for i in range(2) if values[i][0] is None]
    assert len(row) == 1 and len(values[row[0]]) == len(problems) == len(full.per_problem)
    ids = [entry["problem_id"] for entry in full.per_problem]
    assert values[row[0]][:5] == [None, full.per_problem[1]["solve_rate"], None, full.per_problem[3]["solve_rate"],
                                  None]  # fmt: skip
    assert notes[row[0]][0] == f"{ids[0]}: not run" and notes[row[0]][4] == f"{ids[4]}: not run"


def test_an_imported_run_whose_source_wrote_no_number_and_no_verdicts_says_only_that():
    rows = frame(row(model="org/e", kind="imported", reported=None, avg=30.0, run="/runs/e"))
    table = html.reported_vs_rescored(rows, [], {})
    cells = re.findall(r'<td class="([^"]*)">(.*?)</td>', table.split("<tbody>")[1])
    assert cells[2] == ("text", "no number written") and cells[3] == ("num", "–")


def test_the_page_is_balanced_html_with_nothing_but_its_sections_between_them(runs):
    from html.parser import HTMLParser

    class Structure(HTMLParser):
        void = {"meta", "input", "br", "img", "link", "hr", "circle", "line", "rect", "path", "polygon", "polyline"}

        def __init__(self):
            super().__init__()
            self.open: list[str] = []
            self.stray: list[str] = []
            self.sections: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "section" and self.open[-1:] == ["main"]:
                self.sections.append(dict(attrs)["id"])
            if tag not in self.void:
                self.open.append(tag)

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            if tag not in self.void:
                assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
                self.open.pop()

        def handle_data(self, data):
            if self.open[-1:] == ["main"] and data.strip():
                self.stray.append(data.strip())

    rows = frame(*(row(model=html.run_label(r), run=str(r.path)) for r in runs))
    structure = Structure()
    structure.feed(html.page(rows, runs, "aime24"))
    structure.close()
    assert structure.open == [] and structure.stray == []
    assert structure.sections == ["overview", "reported", "training", "passk", "problems", "table"]


def test_the_overview_says_what_its_dots_and_diamonds_are(runs):
    page = html.page(frame(*(row(model=html.run_label(r), run=str(r.path)) for r in runs)), runs, "aime24")
    overview = page.split('<section id="overview">')[1].split("</section>")[0]
    note = re.sub(r"\s+", " ", re.search(r"<p class='note'>(.*?)</p>", overview).group(1))
    assert note == (
        "Every row with a number. Dots are evalkit's avg@n over the problems (percent) with its 95% bootstrap "
        "interval; diamonds are the numbers reported for the same model and protocol, by its paper or by the harness "
        "whose outputs were imported. Click a name for its samples."
    )


def test_the_overview_hands_each_row_its_number_interval_and_reported_number(monkeypatch):
    # What the chart draws (test_svg_charts places it): a measured row's dot at its avg with its whole interval,
    # a reported row as a diamond alone, a measured row that carries a reported number as both.
    drawn = {}
    monkeypatch.setattr(html, "dot_whisker", lambda groups, title: drawn.update(groups) or "chart")
    rows = frame(
        row(model="org/a", avg=40.0, avg_ci_low=31.5, avg_ci_high=48.5),
        row(model="org/b", avg=70.0, avg_ci_low=60.0, avg_ci_high=79.0, reported=72.0, reported_metric="avg@16"),
        row(model="paper/c", kind="reported", avg=None, avg_ci_low=None, avg_ci_high=None, reported=90.0),
    )  # fmt: skip
    assert html.overview_chart(rows, {}) == "chart"
    dots = {dot.label.split(" ")[0]: dot for dot in drawn["GRPO"]}
    assert [(d.value, d.low, d.high, d.reported) for d in (dots["org/a"], dots["org/b"], dots["paper/c"])] == [
        (40.0, 31.5, 48.5, None), (70.0, 60.0, 79.0, 72.0), (None, None, None, 90.0)
    ]  # fmt: skip


def test_a_compared_row_without_evalkits_number_shows_an_empty_cell_not_nan():
    rows = frame(row(model="org/e", kind="imported", avg=math.nan, avg_ci_low=math.nan, avg_ci_high=math.nan,
                     reported=33.3, reported_metric="avg@4"))  # fmt: skip
    table = html.reported_vs_rescored(rows, [], {})
    cells = re.findall(r'<td class="[^"]*">(.*?)</td>', table)
    assert cells[3:6] == ["33.3", "", ""] and "nan" not in table
