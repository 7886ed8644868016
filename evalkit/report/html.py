"""The leaderboard as one self-contained HTML page: avg@n with intervals beside the reported numbers, each training
run's checkpoints (evalkit.report.training_page), pass@k, per-problem solve rates, and the sortable, filterable table
linking every run to its samples. No network; every piece of model or user text is escaped; the small inline script
only sorts and filters, and the page reads the same without it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd

from evalkit import __version__
from evalkit.report import training_page
from evalkit.report.leaderboard import RunRecord, training_runs
from evalkit.report.svg import Dot, Series, dot_whisker, heatmap, line_chart
from evalkit.report.tables import MARKDOWN_COLUMNS, NUMERIC, display_rows
from evalkit.report.training import StepComparison, timelines
from evalkit.report.trainlog import StepCost

STYLE = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; --imported: #7c3aed;
  --reported: #ea580c; --bg-soft: #f9fafb; }
* { box-sizing: border-box; }
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 0; color: var(--ink);
  line-height: 1.45; background: #fff; }
header.top { padding: 22px 28px 14px; border-bottom: 1px solid var(--line);
  background: linear-gradient(#f8fafc, #fff); }
h1 { font-size: 23px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 6px; }
main { padding: 8px 28px 40px; max-width: 1400px; }
section { margin-top: 30px; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 14px; margin-top: 10px; }
nav.toc a { color: var(--accent); text-decoration: none; } nav.toc a:hover { text-decoration: underline; }
.stats { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 0; }
.stat { border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px; background: #fff; font-size: 13px; }
.stat b { font-size: 18px; display: block; }
.note { color: #4b5563; font-size: 14px; max-width: 980px; margin: 4px 0 10px; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0 12px; }
svg.dots, svg.heat { min-width: 640px; }
.chart-title { font-size: 15px; font-weight: 600; } .group { font-size: 13px; font-weight: 700; fill: #374151; }
.tick { font-size: 11px; fill: #4b5563; } .axis { font-size: 12px; fill: #374151; }
.legend { font-size: 12px; fill: #374151; } .row-label { font-size: 12px; fill: #111827; }
a .row-label { fill: #1d4ed8; } a .row-label:hover { text-decoration: underline; }
.charts { display: flex; flex-wrap: wrap; gap: 4px 28px; } .charts > div { flex: 1 1 520px; min-width: 0; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; white-space: nowrap; text-align: left; }
th { background: #f3f4f6; position: sticky; top: 0; z-index: 1; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.reported td { color: var(--muted); } tr.imported td:first-child { border-left: 3px solid var(--imported); }
tr.measured td:first-child { border-left: 3px solid var(--accent); }
tr.scored-generations td:first-child { border-left: 3px solid #0891b2; }
tr.reported td:first-child { border-left: 3px solid var(--reported); }
td.pos { color: #15803d; } td.neg { color: #b91c1c; }
table.compare td.why { white-space: normal; min-width: 260px; max-width: 520px; color: #374151; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 6px 0 10px; font-size: 14px; }
.controls input[type=search] { padding: 5px 8px; border: 1px solid #d1d5db; border-radius: 6px; min-width: 220px; }
th.sortable { cursor: pointer; user-select: none; } th.sortable::after { content: " ↕"; color: #9ca3af; }
th[aria-sort=ascending]::after { content: " ↑"; color: var(--ink); }
th[aria-sort=descending]::after { content: " ↓"; color: var(--ink); }
footer { color: var(--muted); font-size: 13px; padding: 0 28px 30px; }
@media (max-width: 640px) {
  header.top, main, footer { padding-left: 12px; padding-right: 12px; }
  h1 { font-size: 19px; } .stat b { font-size: 16px; }
  table.compare th, table.compare td { white-space: normal; }
  table.compare td:first-child { word-break: break-all; min-width: 9em; }
}
"""

# Sorting and filtering only: reads cells' text and data-sort values, never writes model text as markup.
SCRIPT = """
(function () {
  var table = document.getElementById('runs');
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  document.getElementById('controls').hidden = false;
  var headers = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(headers, function (th, index) {
    th.classList.add('sortable');
    th.tabIndex = 0;
    var sort = function () {
      var descending = th.getAttribute('aria-sort') !== 'descending';
      Array.prototype.forEach.call(headers, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      var numeric = th.classList.contains('num');
      var key = function (row) {
        var cell = row.cells[index];
        var raw = cell.getAttribute('data-sort');
        if (raw === null) raw = cell.textContent.trim();
        if (!numeric) return raw.toLowerCase();
        var value = parseFloat(raw);
        return isNaN(value) ? null : value;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === y) return 0;
        if (x === null || x === '') return 1;
        if (y === null || y === '') return -1;
        return (x < y ? -1 : 1) * (descending ? -1 : 1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sort(); });
  });
  var search = document.getElementById('filter');
  var kinds = Array.prototype.slice.call(document.querySelectorAll('#controls input[type=checkbox]'));
  var count = document.getElementById('shown');
  var apply = function () {
    var words = search.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var allowed = {};
    kinds.forEach(function (box) { allowed[box.value] = box.checked; });
    var shown = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var visible = allowed[row.getAttribute('data-kind')] !== false &&
        words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !visible;
      if (visible) shown += 1;
    });
    count.textContent = shown + ' of ' + rows.length + ' rows';
  };
  search.addEventListener('input', apply);
  kinds.forEach(function (box) { box.addEventListener('change', apply); });
  apply();
})();
"""

KIND_NAMES = {"measured": "measured", "imported": "imported", "scored-generations": "scored generations",
              "reported": "reported"}  # fmt: skip


def _kind_class(kind: str) -> str:
    return "reported" if kind.startswith("reported") else kind


def _short_model(model: str) -> str:
    parts = model.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else model


def run_label(run: RunRecord) -> str:
    """A run as charts name it: model, and the protocol that makes it differ from its neighbours."""
    m = run.manifest
    sampling = m["sampling"]
    protocol = f"{m['template'].get('name')}, T={sampling.get('temperature')}, n={sampling['n']}"
    return f"{_short_model(m['model'])} ({protocol})"


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _row_label(record: dict[str, Any]) -> str:
    """Model (its last two path parts) and the protocol facts that tell its rows apart: n, T, template."""
    protocol = [f"n={_int(record.get('n'))}"]
    if _value(record.get("temperature")) is not None:
        protocol.append(f"T={record['temperature']:g}")
    template = _text(record.get("template"))
    if template:
        protocol.append(template if len(template) <= 18 else template[:17] + "…")
    return f"{_short_model(str(record['model']))} · {', '.join(protocol)}"


def _int(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else f"{int(value)}"


def _value(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else float(value)


def overview_chart(frame: pd.DataFrame, links: Mapping[str, str]) -> str:
    """Every row with a number, grouped by family: measured, imported and scored rows as dots with intervals,
    reported numbers as diamonds on the same row when they belong to it."""
    groups: dict[str, list[tuple[float, Dot]]] = {}
    for record in frame.to_dict("records"):
        kind = str(record["kind"])
        avg, reported = _value(record["avg"]), _value(record["reported"])
        if avg is None and reported is None:
            continue
        is_reported = kind.startswith("reported")
        family = record.get("family") or None
        heading = family if isinstance(family, str) else ("no family given" if not is_reported else "other")
        note = f"{record['model']} ({kind})"
        if not is_reported:
            note += f": avg@{_int(record['n'])} {avg:.1f}"
            if _value(record["avg_ci_low"]) is not None:
                note += f" [{record['avg_ci_low']:.1f}, {record['avg_ci_high']:.1f}]"
        if reported is not None:
            note += f"; reported {reported:.1f} ({record.get('reported_metric') or ''})"
        if _value(record.get("difference")) is not None:
            note += f"; difference {record['difference']:+.1f}"
        dot = Dot(
            label=_row_label(record) + (" · reported" if is_reported else ""),
            kind=_kind_class(kind),
            value=None if is_reported else avg,
            low=None if is_reported else _value(record["avg_ci_low"]),
            high=None if is_reported else _value(record["avg_ci_high"]),
            reported=reported,
            note=note,
            href=links.get(str(record.get("run"))),
        )
        groups.setdefault(heading, []).append((avg if avg is not None else reported or 0.0, dot))
    if not groups:
        return ""
    ordered = sorted(groups.items(), key=lambda item: -max(v for v, _ in item[1]))
    return dot_whisker(
        [(name, [d for _, d in sorted(dots, key=lambda pair: -pair[0])]) for name, dots in ordered],
        "avg@n with 95% intervals, and the numbers reported for the same rows",
    )


def _sign_class(value: Any) -> str:
    number = _value(value)
    if number is None or abs(number) < 0.05:
        return "num"
    return "num pos" if number > 0 else "num neg"


def reported_vs_rescored(frame: pd.DataFrame, runs: Sequence[RunRecord], links: Mapping[str, str]) -> str:
    """Rows that carry both their own score and a reported one: the number, evalkit's, and the difference; and
    every imported run, also one whose source wrote no number (then the mean of the source's own verdicts)."""
    by_path = {str(r.path): r for r in runs}
    rows = []
    for record in frame.to_dict("records"):
        imported = record["kind"] == "imported"
        if str(record["kind"]).startswith("reported") or (_value(record.get("reported")) is None and not imported):
            continue
        run = by_path.get(str(record.get("run")))
        compared = (run.results.get("reported_vs_rescored") or {}) if run else {}
        reported_as = _text(record.get("reported_metric"))
        if _value(record.get("reported")) is None:
            own = compared.get("source_verdicts_avg")
            reported_as = "no number written" + (f"; its own verdicts give {own:.1f}" if own is not None else "")
        judged, disagree = compared.get("judged"), len(compared.get("disagreements") or [])
        verdicts = f"{disagree} of {judged}" if judged else ""
        link = links.get(str(record.get("run")))
        model = escape(str(record["model"]))
        cells = [
            f'<a href="{escape(link)}">{model}</a>' if link else model,
            escape(str(record["kind"])),
            escape(reported_as),
            f"{record['reported']:.1f}" if _value(record.get("reported")) is not None else "–",
            f"{record['avg']:.1f}" if _value(record["avg"]) is not None else "",
            f"{record['difference']:+.1f}" if _value(record.get("difference")) is not None else "",
            verdicts,
            escape(_text(record.get("notes"))),
        ]
        classes = ["text", "text", "text", "num", "num", _sign_class(record.get("difference")), "num", "why"]
        rows.append("<tr>" + "".join(f'<td class="{c}">{v}</td>' for c, v in zip(classes, cells)) + "</tr>")
    if not rows:
        return "<p class='note'>No run here carries a reported number to check.</p>"
    titles = ["model", "kind", "reported as", "reported", "evalkit", "Δ", "verdicts differ", "notes"]
    head = "".join(f'<th class="{"num" if 3 <= i <= 6 else "text"}">{t}</th>' for i, t in enumerate(titles))
    table = f'<table class="compare"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def _pass_at_k_chart(runs: Sequence[RunRecord]) -> str:
    series = []
    for run in runs:
        pass_at = run.results["metrics"]["pass_at"]
        if run.results["metrics"]["n"] < 2 or len(pass_at) < 2:
            continue
        points = sorted((int(k), 100 * v) for k, v in pass_at.items())
        series.append(Series(run_label(run), points))
    if not series:
        return "<p class='note'>No run has more than one sample per problem: no pass@k curve to draw.</p>"
    return line_chart(series, "pass@k against k (runs with n > 1)", "k (samples drawn)", "pass@k (%)", log2_x=True)


def _heatmap(runs: Sequence[RunRecord], links: Mapping[str, str]) -> str:
    if not runs:
        return ""
    # Checkpoints of one training run together, in step order; other runs by name.
    runs = sorted(runs, key=lambda r: ((r.manifest.get("labels") or {}).get("run_name") or r.manifest["model"],
                                       r.manifest.get("checkpoint_step") or 0, str(r.path)))  # fmt: skip
    problems: list[str] = []
    for run in runs:
        for entry in run.per_problem:
            if entry["problem_id"] not in problems:
                problems.append(entry["problem_id"])
    values, notes = [], []
    for run in runs:
        by_id = {e["problem_id"]: e for e in run.per_problem}
        row_values, row_notes = [], []
        for pid in problems:
            entry = by_id.get(pid)
            if entry is None:
                row_values.append(None)
                row_notes.append(f"{pid}: not run")
                continue
            row_values.append(entry["solve_rate"])
            answer = entry.get("majority_answer")
            row_notes.append(
                f"{pid}: {entry['correct']}/{entry['n']} correct; majority answer: "
                f"{answer if answer is not None else '(none)'}"
            )
        values.append(row_values)
        notes.append(row_notes)
    return heatmap([run_label(r) for r in runs], problems, values, notes,
                   "per-problem solve rate (hover for counts; click a cell for its samples)",
                   links=[links.get(str(r.path)) for r in runs])  # fmt: skip


def _table(frame: pd.DataFrame, links: Mapping[str, str]) -> str:
    head = "".join(
        f'<th class="{"num" if key in NUMERIC else "text"}" scope="col">{escape(title)}</th>'
        for title, key in MARKDOWN_COLUMNS
    )
    body = []
    for record, cells in zip(frame.to_dict("records"), display_rows(frame)):
        kind = _kind_class(str(record.get("kind", "")))
        tds = []
        for _, key in MARKDOWN_COLUMNS:
            text = escape(cells.get(key, ""))
            css = "num" if key in NUMERIC else "text"
            sort = ""
            if key == "difference":
                css = _sign_class(record.get("difference"))
                difference = _value(record.get("difference"))
                sort = f' data-sort="{difference}"' if difference is not None else ""
            if key == "model" and links.get(str(record.get("run"))):
                text = f'<a href="{escape(links[str(record["run"])])}" title="samples">{text}</a>'
            tds.append(f'<td class="{css}"{sort}>{text}</td>')
        body.append(f'<tr class="{escape(kind)}" data-kind="{escape(kind)}">{"".join(tds)}</tr>')
    present = list(dict.fromkeys(_kind_class(str(k)) for k in frame["kind"]))
    boxes = "".join(
        f'<label><input type="checkbox" value="{escape(k)}" checked> {escape(KIND_NAMES.get(k, k))}</label>'
        for k in present
    )
    controls = (f'<div class="controls" id="controls" hidden><input type="search" id="filter" placeholder="filter rows '
                f'(model, family, template…)" aria-label="filter rows">{boxes}<span id="shown" class="note"></span>'
                "</div>")  # fmt: skip
    table = f'<table id="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    return controls + f'<div class="scroll">{table}</div>'


def _stats(frame: pd.DataFrame, runs: Sequence[RunRecord], dataset: str) -> str:
    kinds = frame["kind"].fillna("").map(_kind_class).value_counts()
    sweeps = training_runs(runs, dataset)
    items = [(int(kinds.get("measured", 0)), "measured runs"), (int(kinds.get("imported", 0)), "imported runs"),
             (int(kinds.get("scored-generations", 0)), "scored generation files"),
             (int(kinds.get("reported", 0)), "reported numbers"), (len(sweeps), "training runs")]  # fmt: skip
    return '<div class="stats">' + "".join(
        f'<div class="stat"><b>{count}</b>{escape(label)}</div>' for count, label in items if count
    ) + "</div>"  # fmt: skip


def page(
    frame: pd.DataFrame,
    runs: Sequence[RunRecord],
    dataset: str,
    train_logs: Mapping[str, Sequence[StepCost]] | None = None,
    sample_links: Mapping[str, str] | None = None,
    comparisons: Sequence[StepComparison] = (),
) -> str:
    """The whole page. `sample_links` maps a run's path to its samples page (relative to this page); `comparisons`
    are checkpoint comparisons asked for (`--compare-steps`), shown beside each training run's default ones."""
    links = dict(sample_links or {})
    kept = set(frame["run"].dropna())
    shown = [run for run in runs if run.dataset == dataset and str(run.path) in kept]
    curves = training_runs(shown, dataset)
    training = training_page.section(curves, timelines(curves, train_logs or {}), comparisons, links)
    sections = [
        ("overview", "At a glance", "<p class='note'>Every row with a number. Dots are evalkit's avg@n over the "
         "problems (percent) with its 95% bootstrap interval; diamonds are the numbers reported for the same model "
         "and protocol, by its paper or by the harness whose outputs were imported. Click a name for its samples."
         "</p>" + f'<div class="scroll">{overview_chart(frame, links)}</div>'),
        ("reported", "Reported vs re-scored", "<p class='note'>For every run that carries a reported number: that "
         "number, evalkit's own score of the same samples or protocol, and the difference (a source that rounds is "
         "compared at its own precision).</p>" + reported_vs_rescored(frame, shown, links)),
        ("training", "Along training", training),
        ("passk", "pass@k", _pass_at_k_chart(shown)),
        ("problems", "Per problem", f'<div class="scroll">{_heatmap(shown, links)}</div>'),
        ("table", "All rows", "<p class='note'>Protocols differ between rows: compare temperature, top-p, max "
         "tokens, template and verifier before comparing scores. Click a column to sort.</p>" + _table(frame, links)),
    ]  # fmt: skip
    toc = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{escape(title)}</h2>{html}</section>' for key, title, html in sections)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>evalkit leaderboard: {escape(dataset)}</title>",
            f"<style>{STYLE}{training_page.STYLE}</style></head><body>",
            f'<header class="top"><h1>evalkit leaderboard: {escape(dataset)}</h1>',
            "<p class='note'>Measured rows are evalkit runs; imported rows are other harnesses' published outputs "
            "verified again by evalkit; reported rows are published numbers with their source.</p>",
            _stats(frame, runs, dataset),
            f'<nav class="toc">{toc}</nav></header>',
            f"<main>{body}</main>",
            f"<footer>Generated by evalkit {escape(__version__)} with <code>evalkit leaderboard</code>."
            + (
                f" Each run's samples are on its own page in <code>{escape(dataset)}-samples/</code>, written beside "
                "this file at the same time."
                if links
                else ""
            )
            + "</footer>",
            f"<script>{SCRIPT}</script>",
            "</body></html>",
        ]
    )
