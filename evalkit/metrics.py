"""avg@n, unbiased pass@k, maj@k, per-problem solve rates, and honest uncertainty for each.

Uncertainty follows the clustered view of evals: problems are the independent units, samples of one problem
are not. The standard error is the spread of per-problem solve rates over sqrt(#problems); the bootstrap
resamples problems and, inside each, its samples, so it reflects both a different problem draw and
different completions.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np

from evalkit.errors import EvalkitError

DEFAULT_BOOTSTRAP = 2000
DEFAULT_CONFIDENCE = 0.95


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: the chance that at least one of k samples drawn without replacement from n is correct.

    1 - C(n-c, k) / C(n, k), computed exactly in rationals (no overflow, no cancellation), then as a float.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if not 0 <= c <= n:
        raise ValueError(f"c must be in 0..n={n}, got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..n={n}, got {k}")
    if n - c < k:
        return 1.0
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def default_ks(n: int) -> list[int]:
    """k = 1, 2, 4, ... up to n, and n itself."""
    ks = []
    k = 1
    while k <= n:
        ks.append(k)
        k *= 2
    if ks[-1] != n:
        ks.append(n)
    return ks


@dataclass(frozen=True)
class SampleOutcome:
    """What metrics need to know about one verified sample."""

    problem_id: str
    sample_index: int
    correct: bool
    vote: str | None = None  # the extracted answer in comparable form; None when there was no answer
    truncated: bool | None = None
    error: bool = False
    output_tokens: int | None = None
    # Whether the sample's reasoning mixes writing systems (None: too short to judge, or not measured) and which two
    # ("Latin+Han/Kana"); see evalkit.verify.mixing.
    language_mixed: bool | None = None
    mixed_scripts: str | None = None
    response_chars: int | None = None  # the response and any separate reasoning, in characters


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class ProblemScore:
    problem_id: str
    n: int
    correct: int
    majority_correct: bool
    majority_answer: str | None = None

    @property
    def solve_rate(self) -> float:
        return self.correct / self.n


@dataclass(frozen=True)
class Metrics:
    """Scores of one run over its problems, each with a standard error and a bootstrap interval."""

    n: int
    problems: int
    samples: int
    avg: float
    avg_se: float | None  # None for one problem: a spread over problems needs two
    avg_ci: Interval
    pass_at: dict[int, float]
    pass_ci: dict[int, Interval]
    maj_at: dict[int, float]
    maj_ci: dict[int, Interval]
    confidence: float
    bootstrap: int
    no_answer: int
    errors: int
    truncated: int | None
    mean_output_tokens: float | None
    per_problem: tuple[ProblemScore, ...] = field(repr=False)
    # Samples whose reasoning was long enough to judge for language mixing, and how many of those mix (None when
    # none was judged), with the count per pair of writing systems.
    language_judged: int = 0
    language_mixed: int | None = None
    language_pairs: dict[str, int] = field(default_factory=dict)
    mean_response_chars: float | None = None  # length when a source recorded no token counts

    def to_dict(self) -> dict:
        data = asdict(self)
        data["per_problem"] = [
            {
                "problem_id": p.problem_id,
                "n": p.n,
                "correct": p.correct,
                "solve_rate": p.solve_rate,
                "majority_correct": p.majority_correct,
                "majority_answer": p.majority_answer,
            }
            for p in self.per_problem
        ]
        for key in ("pass_at", "pass_ci", "maj_at", "maj_ci"):
            data[key] = {str(k): v for k, v in data[key].items()}
        data["avg_at_n"] = self.avg
        return data


def group_by_problem(outcomes: Iterable[SampleOutcome]) -> dict[str, list[SampleOutcome]]:
    grouped: dict[str, list[SampleOutcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.problem_id, []).append(outcome)
    for samples in grouped.values():
        samples.sort(key=lambda s: s.sample_index)
    return grouped


def check_sample_counts(grouped: dict[str, list[SampleOutcome]], n: int) -> None:
    """Every problem must have exactly n samples: dividing by n with fewer present would understate scores."""
    wrong = {pid: len(s) for pid, s in grouped.items() if len(s) != n}
    if wrong:
        shown = ", ".join(f"{pid} has {count}" for pid, count in list(wrong.items())[:5])
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        raise EvalkitError(
            f"expected {n} samples per problem, but {shown}{more}; finish the run (rerun resumes) "
            "or score with the n every problem has"
        )
    for pid, samples in grouped.items():
        indices = [s.sample_index for s in samples]
        if len(set(indices)) != len(indices):
            raise EvalkitError(f"problem {pid} has duplicate sample indices; each sample index must appear once")


def majority_vote(samples: Sequence[SampleOutcome]) -> SampleOutcome | None:
    """The sample carrying the most common answer; ties go to the answer given first (lowest sample index)."""
    votes = Counter(s.vote for s in samples if s.vote is not None)
    if not votes:
        return None
    best = max(votes.values())
    return next(s for s in samples if s.vote is not None and votes[s.vote] == best)


def majority_correct(samples: Sequence[SampleOutcome]) -> bool:
    winner = majority_vote(samples)
    return winner is not None and winner.correct


def majority_at_k(samples: Sequence[SampleOutcome], k: int) -> float:
    """maj@k as the mean over the n//k disjoint groups of k samples, in sample-index order."""
    groups = len(samples) // k
    return sum(majority_correct(samples[g * k : (g + 1) * k]) for g in range(groups)) / groups


def _problem_score(problem_id: str, n: int, correct: int, samples: Sequence[SampleOutcome]) -> ProblemScore:
    winner = majority_vote(samples)
    return ProblemScore(problem_id, n, correct, winner is not None and winner.correct, winner.vote if winner else None)


def _interval(values: np.ndarray, confidence: float) -> Interval:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(low), float(high))


def compute(
    outcomes: Iterable[SampleOutcome],
    n: int,
    ks: Sequence[int] | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    problem_order: Sequence[str] | None = None,
) -> Metrics:
    """Metrics over problems that each have exactly n samples; k > n is an error.

    The result is a function of the samples alone, never of the order they were written in: problems are
    taken in `problem_order` (the dataset's order; problems it does not list follow, sorted), else sorted by
    id, before the seeded bootstrap draws from them.
    """
    grouped = group_by_problem(outcomes)
    if not grouped:
        raise EvalkitError("no samples to score")
    check_sample_counts(grouped, n)
    ks = list(ks) if ks is not None else default_ks(n)
    too_big = [k for k in ks if k > n or k < 1]
    if too_big:
        raise EvalkitError(f"k={too_big[0]} is not in 1..n={n}; pass@k and maj@k need k <= n samples")
    listed = [pid for pid in dict.fromkeys(problem_order or []) if pid in grouped]
    ids = listed + sorted(set(grouped) - set(listed))
    correct = np.array([sum(s.correct for s in grouped[pid]) for pid in ids])
    rates = correct / n
    problems = len(ids)
    pass_table = {k: np.array([pass_at_k(n, c, k) for c in range(n + 1)]) for k in ks}
    maj = {k: np.array([majority_at_k(grouped[pid], k) for pid in ids]) for k in ks}

    rng = np.random.default_rng(seed)
    picks = rng.integers(0, problems, size=(bootstrap, problems))
    # Within each picked problem, a fresh set of n completions: Binomial(n, that problem's solve rate).
    redrawn = rng.binomial(n, rates[picks])
    avg_boot = redrawn.mean(axis=1) / n
    pass_ci = {k: _interval(pass_table[k][redrawn].mean(axis=1), confidence) for k in ks}
    maj_ci = {k: _interval(maj[k][picks].mean(axis=1), confidence) for k in ks}

    all_samples = [s for pid in ids for s in grouped[pid]]
    truncation = [s.truncated for s in all_samples if s.truncated is not None]
    tokens = [s.output_tokens for s in all_samples if s.output_tokens is not None]
    judged = [s for s in all_samples if s.language_mixed is not None]
    chars = [s.response_chars for s in all_samples if s.response_chars is not None]
    return Metrics(
        n=n,
        problems=problems,
        samples=len(all_samples),
        avg=float(rates.mean()),
        avg_se=float(rates.std(ddof=1) / math.sqrt(problems)) if problems > 1 else None,
        avg_ci=_interval(avg_boot, confidence),
        pass_at={k: float(pass_table[k][correct].mean()) for k in ks},
        pass_ci=pass_ci,
        maj_at={k: float(maj[k].mean()) for k in ks},
        maj_ci=maj_ci,
        confidence=confidence,
        bootstrap=bootstrap,
        no_answer=sum(s.vote is None for s in all_samples),
        errors=sum(s.error for s in all_samples),
        truncated=sum(truncation) if truncation else None,
        mean_output_tokens=float(np.mean(tokens)) if tokens else None,
        per_problem=tuple(_problem_score(pid, n, int(c), grouped[pid]) for pid, c in zip(ids, correct)),
        language_judged=len(judged),
        language_mixed=sum(s.language_mixed for s in judged) if judged else None,
        language_pairs=dict(
            sorted(Counter(s.mixed_scripts for s in judged if s.language_mixed and s.mixed_scripts).items())
        ),
        mean_response_chars=float(np.mean(chars)) if chars else None,
    )


@dataclass(frozen=True)
class PairedComparison:
    """Run A minus run B on the problems both scored, with a bootstrap interval for the difference."""

    problems: int
    n_a: int
    n_b: int
    avg_a: float
    avg_b: float
    difference: float
    se: float
    ci: Interval
    confidence: float
    wins: tuple[str, ...]  # problems where A's solve rate is higher
    losses: tuple[str, ...]
    ties: int

    @property
    def distinguishable(self) -> bool:
        """True when the interval for the difference excludes zero."""
        return self.ci.low > 0 or self.ci.high < 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["distinguishable"] = self.distinguishable
        return data


def paired_comparison(
    a: Sequence[ProblemScore],
    b: Sequence[ProblemScore],
    bootstrap: int = DEFAULT_BOOTSTRAP,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> PairedComparison:
    """Paired difference in avg@n over shared problems: the same problems in both runs cancel problem difficulty."""
    b_by_id = {p.problem_id: p for p in b}
    shared = [p for p in a if p.problem_id in b_by_id]
    if len(shared) < 2:
        raise EvalkitError("the two runs share fewer than 2 problems; compare runs on the same dataset")
    n_a = shared[0].n
    n_b = b_by_id[shared[0].problem_id].n
    rate_a = np.array([p.solve_rate for p in shared])
    rate_b = np.array([b_by_id[p.problem_id].solve_rate for p in shared])
    diff = rate_a - rate_b
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(shared), size=(bootstrap, len(shared)))
    boot = rng.binomial(n_a, rate_a[picks]) / n_a - rng.binomial(n_b, rate_b[picks]) / n_b
    wins = tuple(p.problem_id for p, d in zip(shared, diff) if d > 0)
    losses = tuple(p.problem_id for p, d in zip(shared, diff) if d < 0)
    return PairedComparison(
        problems=len(shared),
        n_a=n_a,
        n_b=n_b,
        avg_a=float(rate_a.mean()),
        avg_b=float(rate_b.mean()),
        difference=float(diff.mean()),
        se=float(diff.std(ddof=1) / math.sqrt(len(shared))),
        ci=_interval(boot.mean(axis=1), confidence),
        confidence=confidence,
        wins=wins,
        losses=losses,
        ties=len(shared) - len(wins) - len(losses),
    )
