"""Write a leaderboard to disk in the formats asked for; the HTML page comes with one samples page per run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.report.html import page
from evalkit.report.leaderboard import RunRecord, training_runs
from evalkit.report.samples import load_view
from evalkit.report.samples_page import page_name, samples_page
from evalkit.report.tables import (
    comparisons_markdown,
    reported_vs_rescored_markdown,
    sweep_markdown,
    to_csv,
    to_markdown,
)
from evalkit.report.training import StepComparison, default_comparisons, timelines, with_chosen
from evalkit.report.trainlog import StepCost
from evalkit.store import write_text_atomic


def samples_dir(out_dir: Path, dataset: str) -> Path:
    return out_dir / f"{dataset}-samples"


def write_samples_pages(
    runs: Sequence[RunRecord], out_dir: Path, dataset: str, on_skip: Callable[[str], None] = lambda message: None
) -> dict[str, str]:
    """One samples page per run (rewritten whole; pages of runs no longer shown are removed). A run whose samples
    cannot be read gets no page, and `on_skip` is told why: its row stays, the other runs keep theirs.

    Returns each run's page relative to the leaderboard page, keyed by the run's path.
    """
    folder = samples_dir(out_dir, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    links: dict[str, str] = {}
    for run in runs:
        name = page_name(str(run.path))
        try:
            view = load_view(run.path)
        except EvalkitError as exc:
            on_skip(f"no samples page for {run.path}: {exc}")
            continue
        # Quoted: a dataset name is text, and must not read as a scheme (`javascript:`) or a fragment in a link.
        write_text_atomic(folder / name, samples_page(view, back=f"../{quote(dataset)}.html"))
        links[str(run.path)] = f"{quote(folder.name)}/{name}"
    wanted = {link.rsplit("/", 1)[-1] for link in links.values()}
    for stale in folder.glob("*.html"):
        if stale.name not in wanted:
            stale.unlink()
    return links


def write(
    frame: pd.DataFrame,
    runs: Sequence[RunRecord],
    dataset: str,
    out_dir: Path,
    formats: Sequence[str],
    train_logs: Mapping[str, Sequence[StepCost]] | None = None,
    samples: bool = True,
    comparisons: Sequence[StepComparison] = (),
    on_skip: Callable[[str], None] = lambda message: None,
) -> list[Path]:
    """The leaderboard in each format; `comparisons` are checkpoint comparisons asked for (`--compare-steps`), shown
    after each training run's default ones in the markdown and on the page."""
    unknown = [fmt for fmt in formats if fmt not in ("csv", "md", "html")]
    if unknown:
        raise EvalkitError(f"unknown format {unknown[0]!r}; choose csv, md or html")
    if out_dir.exists() and not out_dir.is_dir():
        raise EvalkitError(f"--out {out_dir} is a file; give a folder for the tables")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_dir / f"{dataset}.{fmt}"
        if fmt == "csv":
            write_text_atomic(path, to_csv(frame))
        elif fmt == "md":
            curves = training_runs(runs, dataset)
            sweeps = sweep_markdown(curves, timelines(curves, train_logs or {}))
            compared = reported_vs_rescored_markdown(frame)
            text = to_markdown(frame) + (f"\n### Reported vs re-scored\n\n{compared}" if compared else "")
            text += f"\n### Accuracy by training step\n\n{sweeps}" if sweeps else ""
            steps = comparisons_markdown(with_chosen(default_comparisons(curves), comparisons))
            text += f"\n### Later checkpoints against earlier ones\n\n{steps}" if steps else ""
            write_text_atomic(path, text)
        elif fmt == "html":
            kept = set(frame["run"].dropna())
            shown = [run for run in runs if run.dataset == dataset and str(run.path) in kept]
            links = write_samples_pages(shown, out_dir, dataset, on_skip) if samples else {}
            write_text_atomic(path, page(frame, runs, dataset, train_logs, links, comparisons))
            if samples:
                written.append(samples_dir(out_dir, dataset))
        else:
            raise EvalkitError(f"unknown format {fmt!r}; choose csv, md or html")
        written.append(path)
    return written
