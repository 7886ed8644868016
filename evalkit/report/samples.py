"""A run's samples for reading: each problem's samples with the extracted answer, verdict and rule (and, for
imported runs, the source's own answer and verdict). The one place the report reads samples from a run directory."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError


@dataclass(frozen=True)
class SampleView:
    problem_id: str
    sample_index: int
    text: str
    reasoning: str | None
    finish_reason: str | None
    output_tokens: int | None
    extracted: str | None
    correct: bool
    rule: str | None
    found_by: str | None
    error: str | None
    source_extracted: str | None
    source_correct: bool | None


@dataclass(frozen=True)
class ProblemText:
    question: str
    answer: str


@dataclass(frozen=True)
class RunView:
    """A run directory as the samples views show it."""

    run_dir: Path
    manifest: dict[str, Any]
    results: dict[str, Any] | None
    samples: tuple[SampleView, ...]
    problems: dict[str, ProblemText]  # empty when the dataset is not at hand

    @cached_property
    def _by_problem(self) -> dict[str, list[SampleView]]:
        grouped: dict[str, list[SampleView]] = {}
        for sample in self.samples:
            grouped.setdefault(sample.problem_id, []).append(sample)
        return grouped

    @property
    def problem_ids(self) -> list[str]:
        return list(self._by_problem)

    def of_problem(self, problem_id: str, wrong_only: bool = False) -> list[SampleView]:
        return [s for s in self._by_problem.get(problem_id, []) if not (wrong_only and s.correct)]


def sample_views(run_dir: Path) -> tuple[SampleView, ...]:
    """Every stored sample with its verdict, ordered by problem (dataset order as stored) and sample index."""
    from evalkit.store import read_manifest, read_run

    rules = read_manifest(run_dir).get("verifier")
    contents = read_run(run_dir, legacy_rules=rules)
    verdicts = contents.verdicts_for(rules) if rules else {}
    records = contents.samples
    order = {pid: i for i, pid in enumerate(dict.fromkeys(r.problem_id for r in records))}
    views = []
    for record in sorted(records, key=lambda r: (order[r.problem_id], r.sample_index)):
        verdict = verdicts.get(record.key) or {}
        source = record.source or {}
        views.append(
            SampleView(
                problem_id=record.problem_id,
                sample_index=record.sample_index,
                text=record.text,
                reasoning=record.reasoning,
                finish_reason=record.finish_reason,
                output_tokens=record.output_tokens,
                extracted=verdict.get("extracted"),
                correct=bool(verdict.get("correct")),
                rule=verdict.get("rule"),
                found_by=verdict.get("found_by"),
                error=verdict.get("error"),
                source_extracted=source.get("extracted"),
                source_correct=source.get("correct"),
            )
        )
    return tuple(views)


@lru_cache(maxsize=8)
def _dataset_problems(name: str, content_sha256: str | None) -> dict[str, ProblemText]:
    """A dataset's problems and gold answers when it is at hand locally with that content (never downloaded for a
    view); loaded once for all the runs on it."""
    from evalkit.data import datasets as ds

    try:
        data = ds.load(name, ds.DataLocations.from_env(), allow_download=False)
    except (EvalkitError, OSError):
        return {}
    if data.content_sha256 != content_sha256:
        return {}
    return {p.id: ProblemText(p.question, p.answer) for p in data.problems}


def _problems(manifest: dict[str, Any]) -> dict[str, ProblemText]:
    info = manifest.get("dataset") or {}
    return _dataset_problems(info["name"], info.get("content_sha256")) if info.get("name") else {}


def load_view(run_dir: Path, with_problems: bool = True) -> RunView:
    from evalkit.store import read_manifest, read_results

    manifest = read_manifest(run_dir)
    results = read_results(run_dir)  # damaged: one line saying so, as for the manifest
    samples = sample_views(run_dir)
    if not samples:
        raise EvalkitError(f"{run_dir} has no samples yet")
    problems = _problems(manifest) if with_problems else {}
    if problems:  # the dataset's order (2024-I-2 before 2024-I-10), not the order samples arrived in
        position = {pid: i for i, pid in enumerate(problems)}
        samples = tuple(sorted(samples, key=lambda s: (position.get(s.problem_id, len(position)), s.sample_index)))
    return RunView(run_dir, manifest, results, samples, problems)
