"""Along a training run: hours per checkpoint (from a train log, else from the checkpoints' own write times) and paired
comparisons of two checkpoints that say whether a change in accuracy is more than noise."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalkit.errors import EvalkitError
from evalkit.metrics import PairedComparison, ProblemScore, paired_comparison
from evalkit.report.leaderboard import Checkpoint
from evalkit.report.trainlog import StepCost

WRITE_TIMES = "hours from checkpoint write times, not training logs"
# Checkpoints written closer together than this were copied or touched, not trained: their times say nothing.
MIN_SPAN_HOURS = 1 / 60


@dataclass(frozen=True)
class Timeline:
    """Hours (and GPU hours, from a train log only) at each step of one training run, and where they come from."""

    hours: Mapping[int, float]
    gpu_hours: Mapping[int, float]
    source: str  # "train log", "write times", or "" when the run has none
    problem: str | None = None  # why the write times were not used


def write_time_hours(checkpoints: Sequence[Checkpoint]) -> tuple[dict[int, float], str | None]:
    """Hours since the training run's first checkpoint was written, per step, from the manifests' `written_at`.

    Returns no hours, with the reason, when the times cannot be training time: they fall as the step rises, or all
    lie within a minute (files copied or touched after training). Fewer than two timed checkpoints give no hours.
    """
    timed = sorted((c.step, c.written_at) for c in checkpoints if c.written_at is not None)
    if len(timed) < 2:
        return {}, None
    falls = [(a, b) for (a, at), (b, bt) in zip(timed, timed[1:]) if bt < at]
    if falls:
        a, b = falls[0]
        return {}, f"step {b} was written before step {a} (files copied or touched after training?)"
    first = timed[0][1]
    hours = {step: (moment - first).total_seconds() / 3600 for step, moment in timed}
    if max(hours.values()) < MIN_SPAN_HOURS:
        return {}, "every checkpoint was written within a minute (files copied after training?)"
    return hours, None


def timelines(curves: Mapping[str, Sequence[Checkpoint]], train_logs: Mapping[str, Sequence[StepCost]]
              ) -> dict[str, Timeline]:  # fmt: skip
    """Per curve: the train log's hours when one is given for it (by curve or training run name), else write times."""
    found = {}
    for name, checkpoints in curves.items():
        log = train_logs.get(name) or (train_logs.get(checkpoints[0].training_run) if checkpoints else None)
        if log:
            gpu = {c.step: c.gpu_hours for c in log if c.gpu_hours is not None}
            found[name] = Timeline({c.step: c.hours for c in log}, gpu, "train log")
            continue
        hours, problem = write_time_hours(checkpoints)
        found[name] = Timeline(hours, {}, "write times" if hours else "", problem)
    return found


@dataclass(frozen=True)
class StepComparison:
    """A later checkpoint against an earlier one of the same curve: their paired difference in avg@n, or why none."""

    curve: str
    later: Checkpoint
    earlier: Checkpoint
    reason: str  # "latest vs best earlier", "latest vs previous", "chosen"
    result: PairedComparison | None
    problem: str | None = None

    @property
    def verdict(self) -> str:
        """In words: is the later checkpoint better, worse, or not distinguishable from the earlier one."""
        if self.result is None:
            return "not compared"
        if not self.result.distinguishable:
            return "within noise"
        return "better" if self.result.difference > 0 else "worse"


def _scores(checkpoint: Checkpoint) -> list[ProblemScore]:
    return [
        ProblemScore(e["problem_id"], e["n"], e["correct"], e["majority_correct"]) for e in checkpoint.run.per_problem
    ]


def compare(curve: str, later: Checkpoint, earlier: Checkpoint, reason: str) -> StepComparison:
    """Paired bootstrap of later minus earlier over the problems both scored (seeded: the page is reproducible)."""
    dataset = later.run.manifest["dataset"].get("content_sha256")
    if dataset != earlier.run.manifest["dataset"].get("content_sha256"):
        return StepComparison(curve, later, earlier, reason, None, "the two were run on different problem sets")
    try:
        result = paired_comparison(_scores(later), _scores(earlier))
    except EvalkitError as exc:
        return StepComparison(curve, later, earlier, reason, None, str(exc))
    return StepComparison(curve, later, earlier, reason, result)


def default_comparisons(curves: Mapping[str, Sequence[Checkpoint]]) -> list[StepComparison]:
    """Per curve of two or more checkpoints: the latest against the best earlier one (ties: the later of them), and
    against the previous one when that is not the best."""
    found = []
    for name, checkpoints in curves.items():
        if len(checkpoints) < 2:
            continue
        *earlier, latest = checkpoints
        best = max(reversed(earlier), key=lambda c: c.avg)
        found.append(compare(name, latest, best, "latest vs best earlier"))
        if earlier[-1] is not best:
            found.append(compare(name, latest, earlier[-1], "latest vs previous"))
    return found


def with_chosen(defaults: Sequence[StepComparison], chosen: Sequence[StepComparison]) -> list[StepComparison]:
    """The default comparisons, then the chosen ones; a chosen pair that is also a default one is shown once, its
    reason saying both."""
    shown = {(c.curve, c.later.step, c.earlier.step): c for c in defaults}
    for c in chosen:
        key = (c.curve, c.later.step, c.earlier.step)
        shown[key] = dataclasses.replace(shown[key], reason=f"{shown[key].reason}; chosen") if key in shown else c
    return list(shown.values())


def _curve_named(name: str, curves: Mapping[str, Sequence[Checkpoint]], spec: str) -> str:
    if name in curves:
        return name
    matches = [c for c in curves if name in c]
    if len(matches) == 1:
        return matches[0]
    known = "; ".join(curves) or "none"
    if not matches:
        raise EvalkitError(f"--compare-steps {spec}: no training run is named {name!r}; training runs: {known}")
    raise EvalkitError(f"--compare-steps {spec}: {name!r} is part of several training run names ({'; '.join(matches)});"
                       " give more of the name")  # fmt: skip


def chosen_comparisons(curves: Mapping[str, Sequence[Checkpoint]], specs: Sequence[str]) -> list[StepComparison]:
    """`[RUN=]STEP,STEP` per spec: those two checkpoints of that training run (RUN: its name or a part of it that
    names one run; may be left out when there is one training run), the later step against the earlier."""
    found = []
    if specs and not curves:
        raise EvalkitError(f"--compare-steps {specs[0]}: no run given is a checkpoint of a training run (none names a "
                           "step); give the checkpoints' run directories")  # fmt: skip
    for spec in specs:
        name, sep, steps_text = spec.rpartition("=")
        if not sep:
            if len(curves) != 1:
                raise EvalkitError(f"--compare-steps {spec}: there are {len(curves)} training runs; say which, as "
                                   "RUN=STEP,STEP")  # fmt: skip
            name = next(iter(curves))
        curve = _curve_named(name, curves, spec)
        parts = [p.strip() for p in steps_text.split(",")]
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or parts[0] == parts[1]:
            raise EvalkitError(f"--compare-steps {spec}: give two different steps, as RUN=300,400")
        by_step = {c.step: c for c in curves[curve]}
        missing = [int(p) for p in parts if int(p) not in by_step]
        if missing:
            raise EvalkitError(f"--compare-steps {spec}: {curve} has no checkpoint at step {missing[0]}; its steps: "
                               f"{', '.join(map(str, sorted(by_step)))}")  # fmt: skip
        earlier, later = sorted(int(p) for p in parts)
        found.append(compare(curve, by_step[later], by_step[earlier], "chosen"))
    return found
