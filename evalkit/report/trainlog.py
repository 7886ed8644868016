"""Training cost per checkpoint (`--train-log`): a CSV with `step,hours` and optionally `gpu_hours` (and a
`run_name` column when one file covers several training runs), so accuracy can be drawn against time as well as
against steps (fewer steps is not less training when each step samples more)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Collection, Mapping, Sequence
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
    if not math.isfinite(number):  # float() reads nan, inf and 1e309 (inf) as numbers; no time is any of them
        raise EvalkitError(f"{where}: {column} {value!r} is not a finite number")
    if number < 0:
        raise EvalkitError(f"{where}: {column} {value!r} is negative")
    return number


def _check_order(costs: list[tuple[StepCost, str]], run: str | None) -> list[StepCost]:
    """The costs of one training run by step: a step given twice, or hours (or GPU hours) that go down as steps go
    up, is refused naming its line (a log of cumulative time, as training writes it, never goes down)."""
    ordered = sorted(costs, key=lambda pair: pair[0].step)
    of_run = f" of {run}" if run else ""
    for (before, first), (cost, line) in zip(ordered, ordered[1:]):
        if cost.step == before.step:
            raise EvalkitError(f"{line}: step {cost.step}{of_run} is given twice (also at {first}); keep one line")
        for unit in ("hours", "gpu_hours"):
            now, earlier = getattr(cost, unit), getattr(before, unit)
            if now is not None and earlier is not None and now < earlier:
                raise EvalkitError(
                    f"{line}: {unit} {now:g} at step {cost.step}{of_run} is less than {earlier:g} at step "
                    f"{before.step} ({first}); give the cumulative {unit.replace('_', ' ')} to each checkpoint"
                )
    return [cost for cost, _ in ordered]


def parse_train_log(text: str, where: str) -> dict[str | None, list[StepCost]]:
    """Rows per training run (None when the file names none), sorted by step."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))  # the mark Excel's "CSV UTF-8" writes first
    columns = {c.strip() for c in reader.fieldnames or []}
    if not {"step", "hours"} <= columns:
        raise EvalkitError(f"{where}: a train log needs `step` and `hours` columns (and optionally `gpu_hours`, "
                           f"`run_name`); it has {', '.join(sorted(columns)) or 'none'}")  # fmt: skip
    runs: dict[str | None, list[tuple[StepCost, str]]] = {}
    for raw in reader:
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
        line = f"{where}:{reader.line_num}"
        step = _number(row["step"], "step", line)
        if not step.is_integer():
            raise EvalkitError(f"{line}: step {row['step']!r} is not a whole number")
        gpu = row.get("gpu_hours")
        cost = StepCost(
            int(step), _number(row["hours"], "hours", line), _number(gpu, "gpu_hours", line) if gpu else None
        )
        runs.setdefault(row.get("run_name") or None, []).append((cost, line))
    return {name: _check_order(costs, name) for name, costs in runs.items()}


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvalkitError(f"{path} is not UTF-8 text (byte {exc.start}); save the train log as CSV UTF-8") from None
    except OSError as exc:
        raise EvalkitError(f"cannot read train log {path}: {exc.strerror or exc}") from None


def _unmatched(costs: Sequence[StepCost], steps: Collection[int], name: str, path: Path) -> str | None:
    """What a log and a sweep's checkpoints do not share, said once: neither side is drawn on the hours charts."""
    extra = [c.step for c in costs if c.step not in steps]
    logged = {c.step for c in costs}
    missing = sorted(step for step in steps if step not in logged)
    parts = []
    if extra:
        parts.append(f"steps {_steps(extra)} of {path} have no checkpoint of {name} on the leaderboard")
    if missing:
        parts.append(f"checkpoints at steps {_steps(missing)} of {name} have no line in {path}")
    return "; ".join(parts) + " (left off the hours charts)" if parts else None


def _steps(steps: Sequence[int]) -> str:
    shown = ", ".join(map(str, steps[:8]))
    return shown + (f" and {len(steps) - 8} more" if len(steps) > 8 else "")


def read_train_logs(
    specs: Sequence[str],
    sweep_names: Sequence[str],
    checkpoints: Mapping[str, Collection[int]] | None = None,
    on_note: Callable[[str], None] = lambda message: None,
) -> dict[str, list[StepCost]]:
    """`[RUN_NAME=]PATH` per log. Without a name (in the spec or the file), the log belongs to the only sweep.
    With `checkpoints` (each sweep's steps), steps a log gives for no checkpoint, and checkpoints it gives no step
    for, are told to `on_note`."""
    logs: dict[str, list[StepCost]] = {}
    for spec in specs:
        name, sep, path_text = spec.partition("=")
        if not sep or Path(spec).is_file():
            name, path_text = "", spec
        path = Path(path_text)
        if not path.is_file():
            raise EvalkitError(f"train log {path} does not exist; give a CSV with step,hours[,gpu_hours]")
        for run_name, costs in parse_train_log(_read(path), str(path)).items():
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
            note = _unmatched(costs, checkpoints[target], target, path) if checkpoints is not None else None
            if note:
                on_note(note)
    return logs
