"""Write a leaderboard to disk in the formats asked for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.report.html import page
from evalkit.report.leaderboard import RunRecord, sweep_rows
from evalkit.report.tables import sweep_markdown, to_csv, to_markdown


def write(
    frame: pd.DataFrame, runs: Sequence[RunRecord], dataset: str, out_dir: Path, formats: Sequence[str]
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_dir / f"{dataset}.{fmt}"
        if fmt == "csv":
            path.write_text(to_csv(frame), encoding="utf-8")
        elif fmt == "md":
            sweeps = sweep_markdown(sweep_rows(runs, dataset))
            text = to_markdown(frame) + (f"\n### Accuracy by training step\n\n{sweeps}" if sweeps else "")
            path.write_text(text, encoding="utf-8")
        elif fmt == "html":
            path.write_text(page(frame, runs, dataset), encoding="utf-8")
        else:
            raise EvalkitError(f"unknown format {fmt!r}; choose csv, md or html")
        written.append(path)
    return written
