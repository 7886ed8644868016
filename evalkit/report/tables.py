"""The leaderboard as text: CSV, GitHub markdown, and the README's generated section (the best rows and links)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.store import write_text_atomic

if TYPE_CHECKING:
    from evalkit.report.leaderboard import Checkpoint
    from evalkit.report.training import StepComparison, Timeline

MARKDOWN_COLUMNS = [
    ("model", "model"), ("family", "family"), ("kind", "kind"), ("avg@n", "avg"), ("95% CI", "ci"),
    ("n", "n"), ("pass@1", "pass@1"), ("pass@8", "pass@8"), ("pass@32", "pass@32"), ("maj@n", "maj"),
    ("T", "temperature"), ("top-p", "top_p"), ("max tokens", "max_tokens"), ("template", "template"),
    ("template sha", "template_sha"), ("verifier", "verifier"), ("trained reward", "trained_reward_text"),
    ("truncated %", "truncated"), ("mean out tokens", "mean_output_tokens"), ("lang-mixed %", "language_mixed"),
    ("reported", "reported_text"), ("Δ vs reported", "difference"),
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


# The README shows the best rows evalkit scored itself and points to the whole table: it has to stay readable.
README_ROWS = 10


def _kind_counts(frame: pd.DataFrame) -> str:
    kinds = frame["kind"] if "kind" in frame else pd.Series(dtype=object)
    counts = kinds.map(lambda k: "reported" if str(k).startswith("reported") else str(k)).value_counts()
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())


def _scored_here(frame: pd.DataFrame) -> pd.Series:
    """Rows with evalkit's own number (measured, imported, scored), not a paper's."""
    if "kind" not in frame:
        return pd.Series(False, index=frame.index)
    return ~frame["kind"].astype(str).str.startswith("reported")


def _compared_summary(frame: pd.DataFrame) -> str:
    """One sentence for the reported-vs-re-scored table: how many rows have both numbers and how far apart."""
    if "reported" not in frame or "difference" not in frame:
        return ""
    both = frame[_scored_here(frame) & frame["reported"].notna()]
    if both.empty:
        return ""
    gaps = both["difference"].dropna().abs()
    differ = int((gaps >= 0.05).sum())  # a gap the tables show (one decimal) as other than +0.0
    if len(both) == 1:
        head = "Reported vs re-scored: 1 row evalkit scored also carries a reported number"
        tail = f"differs from the reported one by {gaps.max():.1f} points" if differ else "matches the reported one"
    else:
        head = f"Reported vs re-scored: {len(both)} rows evalkit scored also carry a reported number"
        tail = (
            f"differs from the reported one on {differ} of them, by at most {gaps.max():.1f} points"
            if differ
            else "matches the reported one on every one of them"
        )
    return f"{head} (a paper's, or the source harness's own);\nevalkit's number {tail}."


def _sweep_summary(sweeps: dict[str, list[tuple[int, float, float, float]]]) -> list[str]:
    """One line per training run: its checkpoints, steps, range of avg@n and its best step."""
    lines = []
    for name, points in sweeps.items():
        steps = [step for step, *_ in points]
        avgs = [avg for _, avg, *_ in points]
        best_step, best = max(((step, avg) for step, avg, *_ in points), key=lambda point: point[1])
        lines.append(
            f"- `{_md_escape(name)}`: {len(points)} checkpoint{'s' if len(points) != 1 else ''}, steps "
            f"{min(steps)}–{max(steps)}, avg@n {min(avgs):.1f}–{max(avgs):.1f} (best {best:.1f} at step {best_step})"
        )
    return lines


def readme_section(
    frame: pd.DataFrame, dataset: str, runs: Sequence[Any] = (), tables_link: str = "leaderboards"
) -> str:
    """What `--readme` writes between the markers: a count of the rows by kind, the best README_ROWS rows evalkit
    scored itself (the published numbers when there are none), one sentence on reported vs re-scored, one line per
    training run, and links to the whole table and the page (`tables_link`: their folder, relative to the README)."""
    from evalkit.report.leaderboard import sweep_rows

    scored = frame[_scored_here(frame)]
    shown, which = (scored, "that evalkit scored itself") if not scored.empty else (frame, "published numbers")
    if "avg" in shown:
        shown = shown.sort_values("avg", ascending=False, na_position="last", kind="stable")
    shown = shown.head(README_ROWS)
    table, page = f"{tables_link}/{dataset}.md", f"{tables_link}/{dataset}.html"
    # One sentence a line: the section stays readable as text, and markdown joins the lines.
    lines = [
        f"{dataset}, generated by `make leaderboards`: {len(frame)} rows ({_kind_counts(frame) or 'none'}).",
        f"The {len(shown)} best {which} are below.",
        "Every row with all its settings, the published numbers, reported vs re-scored and accuracy along training:",
        f"[{table}]({table}).",
        f"The page with its charts: [{page}]({page}).",
        "",
        to_markdown(shown, README_COLUMNS).rstrip("\n"),
    ]
    compared = _compared_summary(frame)
    if compared:
        lines += ["", compared]
    sweeps = _sweep_summary(sweep_rows(runs, dataset)) if runs else []
    if sweeps:
        lines += ["", "Accuracy along training:", "", *sweeps]
    return "\n".join(lines) + "\n"


def update_readme(
    readme: Path, frame: pd.DataFrame, dataset: str, runs: Sequence[Any] = (), tables_dir: Path | None = None
) -> None:
    """Replace the generated section between the leaderboard markers of a README (see readme_section); the tables
    in `tables_dir` (default: leaderboards/ beside the README) are linked relative to the README."""
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalkitError(f"cannot read --readme {readme} ({exc})") from None
    if README_START not in text or README_END not in text:
        raise EvalkitError(f"{readme} has no {README_START} ... {README_END} section to fill")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    link = "leaderboards"
    if tables_dir is not None:
        link = Path(os.path.relpath(tables_dir.resolve(), readme.resolve().parent)).as_posix()
    body = f"{README_START}\n{readme_section(frame, dataset, runs, link)}"
    write_text_atomic(readme, head + body + README_END + tail)


NUMERIC = {"avg", "n", "pass@1", "pass@8", "pass@32", "maj", "temperature", "top_p", "max_tokens", "truncated",
           "mean_output_tokens", "language_mixed", "difference", "step"}  # fmt: skip


def to_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def sweep_markdown(curves: Mapping[str, Sequence[Checkpoint]], timelines: Mapping[str, Timeline] | None = None) -> str:
    """Each checkpoint of each training run: accuracy with its interval, maj@n, hours (when known), response length,
    truncation and the share of judged samples whose reasoning mixes languages."""
    if not curves:
        return ""
    lines = ["| training run | step | avg@n | 95% CI | n | maj@n | hours | mean out tokens | truncated % | "
             "lang-mixed % |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, checkpoints in curves.items():
        timeline = (timelines or {}).get(name)
        for c in checkpoints:
            hours = timeline.hours.get(c.step) if timeline else None
            cells = [_md_escape(name), str(c.step), f"{c.avg:.1f}", f"{c.ci_low:.1f}–{c.ci_high:.1f}", str(c.n),
                     _number(c.maj_at.get(c.n)), _number(hours, 2), _number(c.mean_output_tokens, 0),
                     _number(c.truncated), _number(c.language_mixed)]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def comparisons_markdown(comparisons: Sequence[StepComparison]) -> str:
    """Later checkpoints against earlier ones: the paired difference, its interval, and what it means."""
    if not comparisons:
        return ""
    lines = ["| training run | compared | later step | earlier step | Δ (points) | 95% interval | later is |",
             "|---|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for c in comparisons:
        r = c.result
        numbers = ["", ""] if r is None else [f"{100 * r.difference:+.1f}",
                                              f"{100 * r.ci.low:+.1f} to {100 * r.ci.high:+.1f}"]  # fmt: skip
        verdict = c.verdict if r is not None else f"not compared: {c.problem}"
        cells = [_md_escape(c.curve), c.reason, str(c.later.step), str(c.earlier.step), *numbers, _md_escape(verdict)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
