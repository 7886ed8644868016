"""Write a leaderboard to disk in the formats asked for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.report.html import page
from evalkit.report.leaderboard import RunRecord, sweep_rows
from evalkit.report.tables import sweep_markdown, to_csv, to_markdown
from evalkit.store import write_text_atomic


def write(
    frame: pd.DataFrame, runs: Sequence[RunRecord], dataset: str, out_dir: Path, formats: Sequence[str]
) -> list[Path]:
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
            sweeps = sweep_markdown(sweep_rows(runs, dataset))
            text = to_markdown(frame) + (f"\n### Accuracy by training step\n\n{sweeps}" if sweeps else "")
            write_text_atomic(path, text)
        elif fmt == "html":
            write_text_atomic(path, page(frame, runs, dataset))
        else:
            raise EvalkitError(f"unknown format {fmt!r}; choose csv, md or html")
        written.append(path)
    return written
