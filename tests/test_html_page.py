"""The leaderboard page's parts (evalkit/report/html.py) on rows written by hand: what each row is called, where it is
grouped and in which order, what its tooltip says, the reported-vs-re-scored cells, the counts at the top, and the
table's cells and sort keys."""

from __future__ import annotations

import math
import re

import pandas as pd

from evalkit.report import html


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


def test_charts_name_each_run_by_its_model_and_the_protocol_that_produced_it(runs):
    labels = {html.run_label(run) for run in runs}
    assert "BytedTsinghua-SIA/DAPO-Qwen-32B (dapo, T=1.0, n=8)" in labels
    assert "global_step_40/actor (dapo, T=0.6, n=2)" in labels
    assert "Qwen/Qwen2.5-Math-7B (qwen25-math-cot, T=0.0, n=1)" in labels
