"""Score responses that already exist: read generations, verify them, compute metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.data.datasets import DataLocations, Dataset, jsonl_objects, parse_jsonl_rows, read_utf8
from evalkit.errors import EvalkitError
from evalkit.fields import shown, text_or_none, token_count
from evalkit.metrics import Metrics, SampleOutcome, compute
from evalkit.provenance import now_iso, package_versions
from evalkit.verify import DEFAULT_TIMEOUT_S, Verdict, Verifier
from evalkit.verify.mixing import LanguageMix, measure
from evalkit.verify.normalize import vote_key


@dataclass(frozen=True)
class Generation:
    """One model response to one problem; `sample_index` numbers the samples of that problem from 0."""

    problem_id: str
    sample_index: int
    response: str
    finish_reason: str | None = None
    output_tokens: int | None = None
    reasoning: str | None = None  # the separate reasoning a server sent beside the response, if any


@dataclass(frozen=True)
class ScoredSample:
    problem_id: str
    sample_index: int
    verdict: Verdict
    finish_reason: str | None = None
    output_tokens: int | None = None
    language: LanguageMix | None = None
    response_chars: int | None = None

    def to_dict(self) -> dict:
        return {
            "problem_id": self.problem_id,
            "sample_index": self.sample_index,
            "extracted": self.verdict.extracted,
            "correct": self.verdict.correct,
            "rule": self.verdict.rule,
            "found_by": self.verdict.found_by,
            "error": self.verdict.error,
            "language_mixed": None if self.language is None else self.language.mixed,
        }

    def outcome(self) -> SampleOutcome:
        v = self.verdict
        return sample_outcome(
            self.problem_id, self.sample_index, v.extracted, v.correct, v.error, self.finish_reason, self.output_tokens,
            self.language, self.response_chars,
        )  # fmt: skip


def sample_outcome(
    problem_id: str,
    sample_index: int,
    extracted: str | None,
    correct: bool,
    error: str | None,
    finish_reason: str | None,
    output_tokens: int | None,
    language: LanguageMix | None = None,
    response_chars: int | None = None,
) -> SampleOutcome:
    """What metrics need from a verified sample. A verifier error counts only when there was an answer to check."""
    return SampleOutcome(
        problem_id=problem_id,
        sample_index=sample_index,
        correct=correct,
        vote=vote_key(extracted) if extracted is not None else None,
        truncated=None if finish_reason is None else finish_reason == "length",
        error=error is not None and extracted is not None,
        output_tokens=output_tokens,
        language_mixed=None if language is None else language.mixed,
        mixed_scripts=None if language is None else language.pair,
        response_chars=response_chars,
    )


def response_length(text: str, reasoning: str | None) -> int:
    return len(text) + len(reasoning or "")


@dataclass(frozen=True)
class Coverage:
    """Which of the dataset's problems the scored samples cover."""

    dataset: str
    scored: int
    total: int
    missing: tuple[str, ...]

    @property
    def partial(self) -> bool:
        return self.scored < self.total

    def to_dict(self) -> dict:
        return {"scored": self.scored, "total": self.total, "missing": list(self.missing)}

    def describe(self) -> str:
        if not self.partial:
            return f"all {self.total} problems of {self.dataset}"
        return f"{self.scored} of {self.total} problems of {self.dataset} ({len(self.missing)} have no samples)"


@dataclass(frozen=True)
class ScoreReport:
    rules: str
    metrics: Metrics
    samples: tuple[ScoredSample, ...]
    coverage: Coverage


class SampleNumbering:
    """Sample indices as a generations file gives them: a line's `sample_index`, or else the next index of its problem
    in file order. A second line for one (problem, sample) is refused, naming both lines: which of the two is the
    sample cannot be known, and `score` and `import` must not each keep another one."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._next: dict[Any, int] = {}
        self._lines: dict[tuple[Any, int], int] = {}

    def index(self, key: Any, problem_id: str, row: dict[str, Any], line: int) -> int:
        """The index of the sample on `line`; `key` is what samples are numbered within (a problem, or a model's)."""
        raw = row.get("sample_index")
        if raw is None:
            index = self._next.get(key, 0)
        else:
            try:
                index = token_count(raw)  # the same rule as a count: a whole number of at least 0
            except ValueError:
                negative = isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw < 0
                what = f"a negative sample_index ({raw})" if negative else f"a sample_index {shown(raw)}"
                raise EvalkitError(f"{self.where}:{line} has {what} that is not a whole number of at least 0; "
                                   "indices count from 0") from None  # fmt: skip
        first = self._lines.setdefault((key, index), line)
        if first != line:
            raise EvalkitError(f"{self.where}:{line} repeats sample {index} of problem {problem_id!r} (line {first} "
                               "has it too); remove one of the two lines")  # fmt: skip
        self._next[key] = max(self._next.get(key, 0), index + 1)
        return index


def generation_fields(row: dict[str, Any], where: str, line: int) -> tuple[str, str, str | None, int | None]:
    """(problem id, response, finish reason, output tokens) of one line of a generations file, each checked."""
    if "problem_id" not in row or "response" not in row:
        raise EvalkitError(f"{where}:{line} needs `problem_id` and `response` fields")
    if not isinstance(row["response"], str):
        raise EvalkitError(f"{where}:{line} has a non-text `response`")
    problem_id = row["problem_id"]
    if isinstance(problem_id, (dict, list)) or problem_id is None or str(problem_id) == "":
        raise EvalkitError(f"{where}:{line}: problem_id {shown(problem_id)} is not an id")
    try:
        tokens = token_count(row.get("output_tokens"))
    except ValueError as exc:
        raise EvalkitError(f"{where}:{line}: output_tokens {shown(row['output_tokens'])} is not a token count "
                           f"({exc}); fix or remove it") from None  # fmt: skip
    return str(problem_id), row["response"], text_or_none(row.get("finish_reason")), tokens


def _generations_text(path: Path) -> str:
    return read_utf8(path, "a generations file").removeprefix("\ufeff")  # the byte-order mark some editors write


def read_generations(path: Path) -> list[Generation]:
    """Read `problem_id`, `response` and optional `sample_index`, `finish_reason`, `output_tokens` and `reasoning`
    (the thinking a server sent apart from the response) per line.

    Without `sample_index`, samples are numbered per problem in file order.
    """
    if not path.is_file():
        raise EvalkitError(f"{path} does not exist; give a generations .jsonl file or a run directory")
    numbering = SampleNumbering(str(path))
    generations = []
    for line, row in jsonl_objects(_generations_text(path), str(path)):
        pid, response, finish_reason, tokens = generation_fields(row, str(path), line)
        index = numbering.index(pid, pid, row, line)
        reasoning = row.get("reasoning")
        if reasoning is not None and not isinstance(reasoning, str):
            raise EvalkitError(f"{path}:{line} has a non-text `reasoning`")
        generations.append(Generation(pid, index, response, finish_reason, tokens, reasoning))
    if not generations:
        raise EvalkitError(f"{path}: no records to score")
    return generations


def coverage_of(generations: Iterable[Generation], dataset: Dataset) -> Coverage:
    known = dataset.by_id()
    present: set[str] = set()
    for g in generations:
        if g.problem_id not in known:
            raise EvalkitError(
                f"problem_id {g.problem_id!r} is not in dataset {dataset.name}; is --dataset the right one?"
            )
        present.add(g.problem_id)
    missing = tuple(p.id for p in dataset.problems if p.id not in present)
    return Coverage(dataset.name, len(present), len(dataset.problems), missing)


def samples_per_problem(generations: Sequence[Generation]) -> int:
    counts: dict[str, int] = {}
    for g in generations:
        counts[g.problem_id] = counts.get(g.problem_id, 0) + 1
    distinct = sorted(set(counts.values()))
    if len(distinct) != 1:
        fewest = min(counts, key=counts.__getitem__)
        raise EvalkitError(
            f"problems have different sample counts ({', '.join(map(str, distinct))}); e.g. {fewest} has "
            f"{counts[fewest]} of {distinct[-1]}: every problem needs the same n"
        )
    return distinct[0]


def verify_generations(
    generations: Sequence[Generation], dataset: Dataset, verifier: Verifier
) -> tuple[ScoredSample, ...]:
    gold = {p.id: p.answer for p in dataset.problems}
    # A sample known to have hit its token limit keeps only explicit answer markers, as during the run.
    truncated = [g.finish_reason == "length" for g in generations]
    verdicts = verifier.check_many([(g.response, gold[g.problem_id]) for g in generations], truncated)
    return tuple(
        ScoredSample(g.problem_id, g.sample_index, v, g.finish_reason, g.output_tokens,
                     measure(g.response, g.reasoning), response_length(g.response, g.reasoning))
        for g, v in zip(generations, verdicts)
    )  # fmt: skip


def score(
    generations: Sequence[Generation],
    dataset: Dataset,
    rules: str = "math",
    *,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    n: int | None = None,
    bootstrap: int = 2000,
    seed: int = 0,
) -> ScoreReport:
    coverage = coverage_of(generations, dataset)
    n = n if n is not None else samples_per_problem(generations)
    with Verifier(rules, workers=workers, timeout=timeout) as verifier:
        scored = verify_generations(generations, dataset, verifier)
    metrics = compute(
        (s.outcome() for s in scored), n=n, bootstrap=bootstrap, seed=seed,
        problem_order=[p.id for p in dataset.problems],
    )  # fmt: skip
    return ScoreReport(rules, metrics, scored, coverage)


def generations_of_run(records: Sequence[Any]) -> list[Generation]:
    """Stored run samples (store.SampleRecord) as generations, to verify them again."""
    return [
        Generation(r.problem_id, r.sample_index, r.text, r.finish_reason, r.output_tokens, r.reasoning)
        for r in sorted(records, key=lambda r: (r.problem_id, r.sample_index))
    ]


def save_scored_run(
    report: ScoreReport,
    generations: Sequence[Generation],
    dataset: Dataset,
    run_dir: Path,
    model: str,
    origin: str,
    source_sha256: str,
    labels: dict[str, Any],
    sampling: dict[str, Any],
) -> None:
    """Write scored existing generations as a run directory, so leaderboards can show them beside real runs.

    Such a run is marked kind "scored-generations" with its origin; it is rewritten whole each time (it is
    derived from the generations file, which stays the record).
    """
    from evalkit.store import SampleRecord, VerdictRecord, replace_derived_run

    manifest = {
        "format": "evalkit-run/1",
        "kind": "scored-generations",
        "model": model,
        "origin": origin,
        "source_sha256": source_sha256,
        "labels": labels,
        "checkpoint_step": None,
        "preset": None,
        "dataset": {
            "name": dataset.name,
            "content_sha256": dataset.content_sha256,
            "problems": report.coverage.scored,
            "origin": dataset.origin,
        },
        "template": {"name": labels.get("template"), "sha256": None},
        "sampling": {"n": report.metrics.n, **sampling},
        "verifier": report.rules,
        "backend": {"kind": "none (scored from existing generations)"},
        "versions": package_versions(),
        "created_at": now_iso(),
    }
    by_key = {(s.problem_id, s.sample_index): s for s in report.samples}

    def verdict_of(g: Generation) -> dict[str, Any]:
        return by_key[(g.problem_id, g.sample_index)].verdict.to_dict()

    samples = [
        SampleRecord(g.problem_id, g.sample_index, g.response, g.finish_reason, None, g.output_tokens, None,
                     reasoning=g.reasoning)
        for g in generations
    ]  # fmt: skip
    verdicts = [
        VerdictRecord(
            g.problem_id, g.sample_index, report.rules, by_key[(g.problem_id, g.sample_index)].verdict.to_dict()
        )
        for g in generations
    ]
    results = {
        "format": "evalkit-results/1",
        "model": model,
        "dataset": dataset.name,
        "verifier": report.rules,
        "metrics": report.metrics.to_dict(),
        "coverage": {"scored": report.coverage.scored, "total": report.coverage.total},
        "updated_at": now_iso(),
    }
    replace_derived_run(run_dir, manifest, samples, verdicts, results)


def reports_json(reports: Sequence[ScoreReport]) -> dict:
    """One JSON object for `evalkit score --json`: metrics and per-sample verdicts, per rule set when several."""
    if len(reports) == 1:
        report = reports[0]
        return {
            "dataset": report.coverage.dataset,
            "verifier": report.rules,
            "coverage": report.coverage.to_dict(),
            "metrics": report.metrics.to_dict(),
            "samples": [s.to_dict() for s in report.samples],
        }
    first = reports[0]
    samples = []
    for group in zip(*(r.samples for r in reports)):
        samples.append(
            {
                "problem_id": group[0].problem_id,
                "sample_index": group[0].sample_index,
                "verdicts": {r.rules: s.to_dict() for r, s in zip(reports, group)},
                "agree": len({s.verdict.correct for s in group}) == 1,
            }
        )
    return {
        "dataset": first.coverage.dataset,
        "verifier": "all",
        "coverage": first.coverage.to_dict(),
        "metrics": {r.rules: r.metrics.to_dict() for r in reports},
        "samples": samples,
    }


def generations_to_score(
    source: Path,
    dataset: str | None,
    locations: DataLocations,
    on_notice: Callable[[str], None] = lambda message: None,
) -> tuple[list[Generation], Dataset]:
    """The generations in a file, or the stored samples of a run directory, with the problems they answer.

    A run directory is scored as the run scores itself: its problems and its n. A stored sample outside them (a
    line appended from elsewhere, samples beyond a lowered n) is left out with a notice, never an error: a reader
    does not judge what a run holds, and the run's own results leave such lines out too.
    """
    from evalkit.data import datasets as ds
    from evalkit.store import read_manifest, read_run

    if source.is_dir():
        manifest = read_manifest(source)
        data = ds.load(dataset or manifest["dataset"]["name"], locations)
        if data.content_sha256 != manifest["dataset"]["content_sha256"] and dataset is None:
            raise EvalkitError(f"{source} was run on other {data.name} problems; pass --dataset with that file")
        problems = data.select(manifest["dataset"].get("problems"))
        n = (manifest.get("sampling") or {}).get("n")
        records = generations_of_run(read_run(source).samples)
        kept = _in_run(records, problems, data, n, source, on_notice)
        if not kept:
            raise EvalkitError(f"{source} has no samples of its problems yet")
        return kept, problems
    return read_generations(source), ds.load(dataset or "aime24", locations)


def _in_run(
    records: list[Generation],
    problems: Dataset,
    whole: Dataset,
    n: Any,
    source: Path,
    on_notice: Callable[[str], None],
) -> list[Generation]:
    ours = problems.by_id()
    everywhere = whole.by_id()
    limit = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else None
    kept = [g for g in records if g.problem_id in ours and (limit is None or g.sample_index < limit)]
    strays = [g for g in records if g.problem_id not in ours or (limit is not None and g.sample_index >= limit)]
    if strays:
        first = strays[0]
        if first.problem_id not in everywhere:
            why = f"{first.problem_id!r} is no problem of {whole.name}"
        elif first.problem_id not in ours:
            why = f"{first.problem_id!r} is not among the run's {len(problems.problems)} problems (its --limit)"
        else:
            why = f"sample #{first.sample_index} of {first.problem_id!r} is beyond the run's n={limit}"
        count = len(strays)
        on_notice(
            f"left out {count} stored sample{'s' if count > 1 else ''} of {source / 'samples.jsonl'} that the run "
            f"does not score ({why}); move such lines out of the file if they do not belong there"
        )
    return kept


def save_from_file(
    source: Path,
    records: Sequence[Generation],
    data: Dataset,
    report: ScoreReport,
    save: Path,
    model: str | None,
    origin: str | None,
    labels: dict[str, Any],
    sampling: dict[str, Any],
) -> None:
    """`score --save`: the scored generations file as a run directory; the model comes from the file if not given."""
    from evalkit.data.datasets import sha256_bytes

    rows = parse_jsonl_rows(_generations_text(source), str(source))
    names = {str(r["model"]) for r in rows if r.get("model")}
    if model is None:
        if len(names) != 1:
            raise EvalkitError(f"{source} names no single model; pass --model")
        model = names.pop()
    save_scored_run(report, records, data, save, model, origin or str(source), sha256_bytes(source.read_bytes()),
                    {k: v for k, v in labels.items() if v}, sampling)  # fmt: skip
