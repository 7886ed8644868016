"""The leaderboard as one self-contained HTML page: the table, pass@k curves, accuracy by training step, and
per-problem solve rates. No script, no external resource; every piece of model or user text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import pandas as pd

from evalkit import __version__
from evalkit.report.leaderboard import RunRecord, sweep_rows
from evalkit.report.svg import Series, heatmap, line_chart
from evalkit.report.tables import MARKDOWN_COLUMNS, NUMERIC, display_rows

STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 32px; }
table.leaderboard { border-collapse: collapse; font-size: 12.5px; }
table.leaderboard th, table.leaderboard td { border: 1px solid #ddd; padding: 3px 6px; white-space: nowrap; }
table.leaderboard th { background: #f3f3f3; position: sticky; top: 0; }
table.leaderboard td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.leaderboard tr.reported td { color: #666; background: #fafafa; }
.note { color: #555; font-size: 13px; max-width: 980px; }
.chart { margin: 8px 16px 8px 0; } .chart-title { font-size: 14px; font-weight: 600; }
.tick { font-size: 10px; fill: #444; } .axis { font-size: 12px; } .legend { font-size: 11px; }
.scroll { overflow-x: auto; }
"""


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for title, _ in MARKDOWN_COLUMNS)
    body = []
    for record, cells in zip(frame.to_dict("records"), display_rows(frame)):
        css = "reported" if str(record.get("kind", "")).startswith("reported") else "measured"
        tds = "".join(
            f'<td class="{"num" if key in NUMERIC else "text"}">{escape(cells.get(key, ""))}</td>'
            for _, key in MARKDOWN_COLUMNS
        )
        body.append(f'<tr class="{css}">{tds}</tr>')
    return f'<table class="leaderboard"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _label(run: RunRecord) -> str:
    m = run.manifest
    sampling = m["sampling"]
    step = f" step {m['checkpoint_step']}" if m.get("checkpoint_step") is not None else ""
    name = m["model"].rstrip("/").rsplit("/", 1)[-1] if not step else m["model"]
    return f"{name}{step} ({m['template']['name']}, T={sampling['temperature']}, n={sampling['n']})"


def _pass_at_k_chart(runs: Sequence[RunRecord]) -> str:
    series = []
    for run in runs:
        pass_at = run.results["metrics"]["pass_at"]
        if len(pass_at) < 2:
            continue
        points = sorted((int(k), 100 * v) for k, v in pass_at.items())
        series.append(Series(_label(run), points))
    if not series:
        return "<p class='note'>No run has more than one sample per problem: no pass@k curve to draw.</p>"
    return line_chart(series, "pass@k against k", "k (samples drawn)", "pass@k (%)", log2_x=True)


def _sweep_chart(runs: Sequence[RunRecord], dataset: str) -> str:
    sweeps = sweep_rows(runs, dataset)
    if not sweeps:
        return (
            "<p class='note'>No checkpoint sweep yet: run several checkpoints of one training run "
            "(paths like …/global_step_120) to see accuracy against training step.</p>"
        )
    series = [
        Series(name, [(step, avg) for step, avg, _, _ in points], [(low, high) for _, _, low, high in points])
        for name, points in sweeps.items()
    ]
    return line_chart(series, "accuracy against training step", "training step", "avg@n (%)")


def _heatmap(runs: Sequence[RunRecord]) -> str:
    if not runs:
        return ""
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
    return heatmap([_label(r) for r in runs], problems, values, notes, "per-problem solve rate (hover for counts)")


def page(frame: pd.DataFrame, runs: Sequence[RunRecord], dataset: str) -> str:
    measured = [run for run in runs if run.dataset == dataset]
    kept = set(frame["run"].dropna())
    measured = [run for run in measured if str(run.path) in kept]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>evalkit leaderboard: {escape(dataset)}</title>",
            f"<style>{STYLE}</style></head><body>",
            f"<h1>evalkit leaderboard: {escape(dataset)}</h1>",
            "<p class='note'>Measured rows come from evalkit runs (their manifests record every setting); "
            "reported rows are the authors' published numbers with their source. Protocols differ between rows: "
            "compare temperature, top-p, max tokens, template and verifier before comparing scores. avg@n is in "
            "percent with a 95% bootstrap interval over problems and samples.</p>",
            f'<div class="scroll">{_table(frame)}</div>',
            "<h2>pass@k</h2>",
            _pass_at_k_chart(measured),
            "<h2>Accuracy by training step</h2>",
            _sweep_chart(measured, dataset),
            "<h2>Per-problem solve rates</h2>",
            f'<div class="scroll">{_heatmap(measured)}</div>',
            f"<p class='note'>Generated by evalkit {escape(__version__)}.</p>",
            "</body></html>",
        ]
    )
