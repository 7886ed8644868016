"""Training cost per checkpoint (`--train-log`): a CSV with `step,hours` and optionally `gpu_hours` (and a
`run_name` column when one file covers several training runs), so accuracy can be drawn against time as well as
against steps (fewer steps is not less training when each step samples more)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError


@dataclass(frozen=True)
class StepCost:
    step: int
    hours: float
    gpu_hours: float | None


def _number(value: str, column: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise EvalkitError(f"{where}: {column} {value!r} is not a number") from None
    if number < 0:
        raise EvalkitError(f"{where}: {column} {value!r} is negative")
    return number


def parse_train_log(text: str, where: str) -> dict[str | None, list[StepCost]]:
    """Rows per training run (None when the file names none), sorted by step."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip() for c in reader.fieldnames or []}
    if not {"step", "hours"} <= columns:
        raise EvalkitError(f"{where}: a train log needs `step` and `hours` columns (and optionally `gpu_hours`, "
                           f"`run_name`); it has {', '.join(sorted(columns)) or 'none'}")  # fmt: skip
    runs: dict[str | None, list[StepCost]] = {}
    for number, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        line = f"{where}:{number}"
        step = _number(row["step"], "step", line)
        if not step.is_integer():
            raise EvalkitError(f"{line}: step {row['step']!r} is not a whole number")
        gpu = row.get("gpu_hours")
        cost = StepCost(
            int(step), _number(row["hours"], "hours", line), _number(gpu, "gpu_hours", line) if gpu else None
        )
        runs.setdefault(row.get("run_name") or None, []).append(cost)
    return {name: sorted(costs, key=lambda c: c.step) for name, costs in runs.items()}


def read_train_logs(specs: Sequence[str], sweep_names: Sequence[str]) -> dict[str, list[StepCost]]:
    """`[RUN_NAME=]PATH` per log. Without a name (in the spec or the file), the log belongs to the only sweep."""
    logs: dict[str, list[StepCost]] = {}
    for spec in specs:
        name, sep, path_text = spec.partition("=")
        if not sep or Path(spec).is_file():
            name, path_text = "", spec
        path = Path(path_text)
        if not path.is_file():
            raise EvalkitError(f"train log {path} does not exist; give a CSV with step,hours[,gpu_hours]")
        for run_name, costs in parse_train_log(path.read_text(encoding="utf-8"), str(path)).items():
            target = run_name or name or None
            if target is None:
                if len(sweep_names) != 1:
                    known = ", ".join(sweep_names) or "none"
                    raise EvalkitError(f"{path} names no training run and there are {len(sweep_names)} sweeps "
                                       f"({known}); pass --train-log RUN_NAME={path}")  # fmt: skip
                target = sweep_names[0]
            if target not in sweep_names:
                raise EvalkitError(f"{path}: no sweep is named {target!r}; sweeps: {', '.join(sweep_names) or 'none'}")
            logs[target] = costs
    return logs
