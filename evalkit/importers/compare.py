"""An imported run verified again by evalkit, set beside what the source decided: its reported score against
evalkit's re-score, and every sample on which the two verdicts differ, with the reason."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.importers.assemble import ImportedRun
from evalkit.metrics import compute
from evalkit.pipeline.rescore import Generation, ScoreReport, coverage_of, verify_generations
from evalkit.verify import Verdict, Verifier

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# A response that ends with one of these finished a sentence or a formula; anything else stopped mid-way.
_FINISHED = tuple(".!?)]}$」。") + ("\\]", "\\)")


@dataclass(frozen=True)
class Disagreement:
    """A sample (or, for sources with per-problem scores only, a problem) the source and evalkit judge differently."""

    problem_id: str
    sample_index: int | None
    source_answer: str | None
    source_correct: bool | None
    evalkit_answer: str | None
    evalkit_correct: bool
    why: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ImportResult:
    run: ImportedRun
    report: ScoreReport
    source_avg: float | None  # the mean of the source's own verdicts, in [0, 1]
    judged: int  # samples (or problems) that have a source verdict to compare with
    disagreements: tuple[Disagreement, ...]
    other_answers: int = 0  # samples where the source extracted another answer than evalkit (verdicts may agree)

    @property
    def rescored(self) -> float:
        return 100 * self.report.metrics.avg

    @property
    def difference(self) -> float | None:
        """evalkit's re-score minus the source's reported score, in points."""
        reported = self.run.source.reported
        if reported is None:
            return None
        # A source that rounds its number is compared at its own precision (26.67 against a stated 26.7).
        ours = self.rescored if reported.decimals is None else round(self.rescored, reported.decimals)
        return round(ours - reported.value, 2)


def _last_number(text: str) -> str | None:
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else None


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    a, b = a.strip().strip("$"), b.strip().strip("$")
    try:
        return float(a) == float(b)
    except ValueError:
        return a.replace(" ", "") == b.replace(" ", "")


def explain(text: str, finish_reason: str | None, source_answer: str | None, keeps_answers: bool, verdict: Verdict,
            gold: str) -> str:  # fmt: skip
    """Why the source's verdict and evalkit's differ on one sample, in one line."""
    stripped = text.rstrip()
    cut = finish_reason == "length" or (bool(stripped) and not stripped.endswith(_FINISHED))
    theirs = f"the source read {source_answer!r}" if keeps_answers else "the source keeps no extracted answer"
    if verdict.extracted is None:
        if not stripped:
            return "the response is empty"
        ending = "was cut off mid-reasoning" if cut else "states no final answer (no box, no answer line)"
        if source_answer is not None and _same(source_answer, _last_number(text)):
            return f"the response {ending}; the source took the last number in the text ({source_answer})"
        return f"the response {ending}; {theirs}"
    if verdict.error:
        return f"evalkit could not decide ({verdict.error}); {theirs}"
    ours = f"evalkit read {verdict.extracted!r} ({verdict.found_by})"
    if verdict.correct and verdict.extracted.strip() != gold.strip() and _same(verdict.extracted, gold):
        return f"{ours}, the gold {gold!r} written another way, which a string comparison rejects; {theirs}"
    if not keeps_answers:
        return f"{theirs}; {ours}"
    if source_answer is None:
        return f"the source found no answer; {ours}"
    if _same(source_answer, verdict.extracted):
        side = "accepts" if verdict.correct else "rejects"
        return f"same answer {verdict.extracted!r}; evalkit's comparison ({verdict.rule}) {side} it, the source's not"
    if _same(source_answer, _last_number(text)) and not _same(verdict.extracted, _last_number(text)):
        return f"the source took the last number in the text ({source_answer}); {ours}"
    return f"different answers: {theirs}, {ours}"


def rescore(run: ImportedRun, verifier: Verifier) -> ImportResult:
    """Verify every imported sample with evalkit's rule set and compare with the source's own verdicts."""
    generations = [
        Generation(
            s.problem_id,
            s.sample_index,
            s.response.text,
            s.response.finish_reason,
            s.response.output_tokens,
            s.response.reasoning,
        )
        for s in run.samples
    ]
    coverage = coverage_of(generations, run.dataset)
    scored = verify_generations(generations, run.dataset, verifier)
    metrics = compute((s.outcome() for s in scored), n=run.n)
    report = ScoreReport(verifier.rules, metrics, scored, coverage)
    by_key = {(s.problem_id, s.sample_index): s for s in report.samples}
    gold = {p.id: p.answer for p in run.dataset.problems}
    disagreements: list[Disagreement] = []
    per_problem: dict[str, list[bool]] = {}
    other_answers = 0
    for sample in run.samples:
        response = sample.response
        verdict = by_key[(sample.problem_id, sample.sample_index)].verdict
        if (
            run.source.keeps_answers
            and not _same(response.extracted, verdict.extracted)
            and (response.extracted is not None or verdict.extracted is not None)
        ):
            other_answers += 1
        if response.correct is None:
            continue
        per_problem.setdefault(sample.problem_id, []).append(response.correct)
        if verdict.correct != response.correct:
            why = explain(
                response.text,
                response.finish_reason,
                response.extracted,
                run.source.keeps_answers,
                verdict,
                gold[sample.problem_id],
            )
            disagreements.append(Disagreement(sample.problem_id, sample.sample_index, response.extracted,
                                              response.correct, verdict.extracted, verdict.correct, why))  # fmt: skip
    judged = sum(len(v) for v in per_problem.values())
    source_avg = sum(sum(v) / len(v) for v in per_problem.values()) / len(per_problem) if per_problem else None
    if not per_problem and run.solved_fraction:
        # Per-problem scores only (lighteval): compare the count of correct samples per problem.
        correct = {p.problem_id: p.correct for p in report.metrics.per_problem}
        for pid, fraction in run.solved_fraction.items():
            theirs = round(fraction * run.n)
            if theirs != correct.get(pid):
                disagreements.append(Disagreement(
                    pid, None, None, None, None, bool(correct.get(pid)),
                    f"the source counts {theirs} of {run.n} samples correct, evalkit {correct.get(pid)}",
                ))  # fmt: skip
        judged = len(run.solved_fraction)
        source_avg = sum(run.solved_fraction.values()) / len(run.solved_fraction)
    return ImportResult(run, report, source_avg, judged, tuple(disagreements), other_answers)


def summary_json(results: Sequence[ImportResult], written: dict[int, str]) -> list[dict[str, Any]]:
    """Per run, for `evalkit import --json`: where it came from, reported vs re-scored, findings, disagreements."""
    rows = []
    for i, result in enumerate(results):
        run, metrics = result.run, result.report.metrics
        reported = run.source.reported
        rows.append(
            {
                "model": run.model,
                "checkpoint_step": run.checkpoint_step,
                "run_name": run.run_name,
                "format": run.source.format,
                "harness": run.source.harness,
                "path": str(run.source.path),
                "run_dir": written.get(i),
                "n": run.n,
                "problems": metrics.problems,
                "reported": None
                if reported is None
                else {"metric": reported.metric, "value": reported.value, "file": reported.file},  # fmt: skip
                "source_verdicts_avg": None if result.source_avg is None else round(100 * result.source_avg, 2),
                "rescored": round(result.rescored, 2),
                "rescored_ci": [round(100 * metrics.avg_ci.low, 2), round(100 * metrics.avg_ci.high, 2)],
                "difference": result.difference,
                "protocol": run.protocol(),
                "findings": [f.to_dict() for f in run.findings],
                "judged": result.judged,
                "other_answers": result.other_answers,
                "disagreements": [d.to_dict() for d in result.disagreements],
            }
        )
    return rows
