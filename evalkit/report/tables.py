"""The leaderboard as text: CSV, GitHub markdown, and the README's generated section."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.store import write_text_atomic

MARKDOWN_COLUMNS = [
    ("model", "model"), ("family", "family"), ("kind", "kind"), ("avg@n", "avg"), ("95% CI", "ci"),
    ("n", "n"), ("pass@1", "pass@1"), ("pass@8", "pass@8"), ("pass@32", "pass@32"), ("maj@n", "maj"),
    ("T", "temperature"), ("top-p", "top_p"), ("max tokens", "max_tokens"), ("template", "template"),
    ("template sha", "template_sha"), ("verifier", "verifier"), ("trained reward", "trained_reward_text"),
    ("truncated %", "truncated"),
    ("mean out tokens", "mean_output_tokens"), ("reported", "reported_text"), ("Δ vs reported", "difference"),
    ("step", "step"), ("notes", "notes"), ("evalkit", "evalkit"), ("vLLM", "vllm"), ("source", "source"),
]  # fmt: skip


INTEGER_COLUMNS = {"n", "max_tokens", "step"}


def _cell(value: Any, key: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and key in INTEGER_COLUMNS and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        text = f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:g}"
        return text
    return str(value)


def display_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    """Rows as the human tables show them: CI as one cell, reported value with its metric, blanks for NaN."""
    rows = []
    for record in frame.to_dict("records"):
        cells = {key: _cell(value, key) for key, value in record.items()}
        low, high = record.get("avg_ci_low"), record.get("avg_ci_high")
        cells["ci"] = f"{_cell(low)}–{_cell(high)}" if _cell(low) else ""
        reported = _cell(record.get("reported"))
        if str(record.get("kind", "")).startswith("reported"):
            cells["reported_text"] = _cell(record.get("reported_metric"))  # NaN in a text column is no text
        else:
            cells["reported_text"] = f"{reported} ({record['reported_metric']})" if reported else ""
        cells["trained_reward_text"] = trained_reward_text(record)
        diff = record.get("difference")
        cells["difference"] = f"{diff:+.1f}" if _cell(diff) else ""
        rows.append(cells)
    return rows


def trained_reward_text(record: dict[str, Any]) -> str:
    """The training reward's rule and whether the row was judged by it: `dapo (= verifier)`, `dapo (≠ math)`."""
    trained = _cell(record.get("trained_reward"))
    if not trained:
        return ""
    judged = record.get("judged_by_trained_reward")
    return f"{trained} (= verifier)" if judged is True else f"{trained} (≠ {_cell(record.get('verifier'))})"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# The README shows the settings that matter most; the full table is in leaderboards/.
README_COLUMNS = [
    ("model", "model"), ("family", "family"), ("kind", "kind"), ("avg@n", "avg"), ("95% CI", "ci"), ("n", "n"),
    ("maj@n", "maj"), ("T", "temperature"), ("top-p", "top_p"), ("max tokens", "max_tokens"),
    ("template", "template"), ("verifier", "verifier"), ("reported", "reported_text"), ("Δ", "difference"),
]  # fmt: skip
README_START, README_END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"


def to_markdown(frame: pd.DataFrame, columns: Sequence[tuple[str, str]] = MARKDOWN_COLUMNS) -> str:
    """A GitHub-flavoured pipe table."""
    header = "| " + " | ".join(title for title, _ in columns) + " |"
    rule = "|" + "|".join("---:" if key in NUMERIC else "---" for _, key in columns) + "|"
    lines = [header, rule]
    for cells in display_rows(frame):
        lines.append("| " + " | ".join(_md_escape(cells.get(key, "")) for _, key in columns) + " |")
    return "\n".join(lines) + "\n"


def reported_vs_rescored_markdown(frame: pd.DataFrame) -> str:
    """Rows that carry their own score and a reported one (a paper's, or an imported source's own)."""
    lines = ["| model | kind | reported as | reported | evalkit | Δ | notes |", "|---|---|---|---:|---:|---:|---|"]
    for record, cells in zip(frame.to_dict("records"), display_rows(frame)):
        if str(record.get("kind", "")).startswith("reported") or not _cell(record.get("reported")):
            continue
        lines.append("| " + " | ".join(_md_escape(v) for v in (
            cells["model"], cells["kind"], cells.get("reported_metric", ""), cells["reported"], cells["avg"],
            cells["difference"], cells.get("notes", ""))) + " |")  # fmt: skip
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def update_readme(readme: Path, frame: pd.DataFrame, dataset: str, runs: Sequence[Any] = ()) -> None:
    """Replace the generated tables between the leaderboard markers of a README: the leaderboard, reported vs
    re-scored for every row that has both, and accuracy along each training run."""
    from evalkit.report.leaderboard import sweep_rows

    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalkitError(f"cannot read --readme {readme} ({exc})") from None
    if README_START not in text or README_END not in text:
        raise EvalkitError(f"{readme} has no {README_START} ... {README_END} section to fill")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    table = to_markdown(frame, README_COLUMNS)
    body = f"{README_START}\n{dataset}, generated by `make leaderboards`:\n\n{table}"
    compared = reported_vs_rescored_markdown(frame)
    if compared:
        body += f"\nReported vs re-scored (Δ = evalkit minus reported, in points):\n\n{compared}"
    sweeps = sweep_markdown(sweep_rows(runs, dataset)) if runs else ""
    if sweeps:
        body += f"\nAccuracy along training:\n\n{sweeps}"
    write_text_atomic(readme, head + body + README_END + tail)


NUMERIC = {"avg", "n", "pass@1", "pass@8", "pass@32", "maj", "temperature", "top_p", "max_tokens", "truncated",
           "mean_output_tokens", "difference", "step"}  # fmt: skip


def to_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def sweep_markdown(sweeps: dict[str, list[tuple[int, float, float, float]]]) -> str:
    if not sweeps:
        return ""
    lines = ["| training run | step | avg@n | 95% CI |", "|---|---:|---:|---:|"]
    for name, points in sweeps.items():
        for step, avg, low, high in points:
            lines.append(f"| {_md_escape(name)} | {step} | {avg:.1f} | {low:.1f}–{high:.1f} |")
    return "\n".join(lines) + "\n"
