"""Model text in the published tables: a run whose model name, family, labels and answers carry markup and table
syntax shows them as text in the HTML page's cells and charts, keeps the markdown table's columns, and the CSV
quotes them."""

from __future__ import annotations

import csv
import io

import pytest
from sample_runs import HOSTILE, HostileBackend, make_run

from evalkit.data import datasets as ds
from evalkit.report import leaderboard, publish, svg, tables

MODEL = "org/<b>bold</b>|m&m"
FAMILY = "<i>fam</i>|x"


@pytest.fixture(scope="module")
def hostile_tables(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("hostile")
    dataset = ds.load("aime24", ds.DataLocations(shared_data, root / "cache"))
    make_run(root / "runs", dataset, MODEL, n=2, backend=HostileBackend(), family=FAMILY)
    runs = leaderboard.load_runs([root / "runs"])
    frame = leaderboard.build(runs, "aime24")
    out = root / "out"
    publish.write(frame, runs, "aime24", out, ["html", "md", "csv"])
    return frame, out


def test_model_text_in_html_table_cells_is_escaped(hostile_tables):
    # README: "All model text is escaped."
    _, out = hostile_tables
    page = (out / "aime24.html").read_text()
    table = page[page.index('<table id="runs">') :]
    table = table[: table.index("</table>")]
    assert "org/&lt;b&gt;bold&lt;/b&gt;|m&amp;m" in table and "&lt;i&gt;fam&lt;/i&gt;|x" in table
    for raw in ("<b>", "<i>", "<script", "m&m"):
        assert raw not in table
    for raw in ("<b>bold", "<i>fam", "<script>alert"):
        assert raw not in page  # nowhere on the page: charts, headings, the heatmap, the table
    samples = next((out / "aime24-samples").glob("*.html")).read_text()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in samples and HOSTILE not in samples


def test_model_text_in_markdown_cells_keeps_the_columns(hostile_tables):
    frame, out = hostile_tables
    text = (out / "aime24.md").read_text()
    header, rule, *rows = text.splitlines()
    (row,) = [r for r in rows if r.startswith("| org/")]
    assert row.count(" | ") == header.count(" | ") == rule.count("|") - 2  # a pipe in a name is no new column
    assert "org/<b>bold</b>\\|m&m" in row and "<i>fam</i>\\|x" in row
    assert tables._md_escape("a|b\nc") == "a\\|b c"


def test_model_text_in_csv_is_quoted_and_reads_back(hostile_tables):
    frame, out = hostile_tables
    rows = list(csv.DictReader(io.StringIO((out / "aime24.csv").read_text())))
    (row,) = [r for r in rows if r["kind"] == "measured"]
    assert row["model"] == MODEL and row["family"] == FAMILY
    assert list(row) == list(frame.columns)


def test_every_text_an_svg_chart_draws_is_escaped():
    series = [svg.Series("<run>&", [(1, 10.0), (2, 20.0)], [(5.0, 15.0), (15.0, 25.0)])]
    chart = svg.line_chart(series, "<title>", "<x>", '"y"')
    assert "&lt;run&gt;&amp;" in chart and "&lt;title&gt;" in chart and "&lt;x&gt;" in chart
    assert "&quot;y&quot;" in chart and "<run>" not in chart and "<x>" not in chart and '"y"<' not in chart
    assert 'class="chart-title">&lt;title&gt;</text>' in chart and "<title>&lt;run&gt;&amp;: 1 → 10.0" in chart


def test_the_reasoning_on_a_samples_page_is_escaped(tmp_path):
    # A reasoning model's thoughts are model text like its answer: collapsed on the page, and escaped.
    from evalkit.report.samples import RunView, SampleView
    from evalkit.report.samples_page import samples_page

    thought = f"Let me think. {HOSTILE} <img src=x onerror=alert(1)> So 5 < 7 & 7 > 5."
    sample = SampleView("2024-I-1", 0, "\\boxed{7}", thought, "stop", 12, "7", False, "integer", "boxed", None,
                        None, None)  # fmt: skip
    manifest = {"model": "m", "kind": "measured", "dataset": {"name": "aime24"}, "sampling": {"n": 1},
                "template": {"name": "dapo"}, "verifier": "math"}  # fmt: skip
    page = samples_page(RunView(tmp_path, manifest, None, (sample,), {}))
    reasoning = page.split('<details class="reasoning">', 1)[1].split("</details>", 1)[0]
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in reasoning and "&lt;img src=x" in reasoning
    assert "5 &lt; 7 &amp; 7 &gt; 5" in reasoning and HOSTILE not in page and "<img" not in page
