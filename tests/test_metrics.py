"""avg@n, unbiased pass@k, maj@k, and the uncertainty around them."""

from __future__ import annotations

import itertools
import json
import math
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.errors import EvalkitError
from evalkit.metrics import (
    SampleOutcome,
    compute,
    default_ks,
    majority_at_k,
    majority_correct,
    majority_vote,
    paired_comparison,
    pass_at_k,
)


def outcomes_from_counts(counts: list[int], n: int, votes: bool = False) -> list[SampleOutcome]:
    """Problem i gets counts[i] correct samples out of n (the first ones)."""
    out = []
    for p, c in enumerate(counts):
        for s in range(n):
            correct = s < c
            out.append(
                SampleOutcome(f"p{p}", s, correct, vote=("right" if correct else f"wrong{s}") if votes else None)
            )
    return out


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 0.4),
        (5, 0, 3, 0.0),
        (5, 5, 1, 1.0),
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (10, 3, 10, 1.0),
        (10, 1, 9, 0.9),
        (32, 8, 8, 1 - math.comb(24, 8) / math.comb(32, 8)),
    ],
)
def test_pass_at_k_known_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-15)


def test_pass_at_k_is_stable_for_large_n():
    # C(4096, 300) overflows a float, so a naive ratio of binomials fails; the exact value is ~1 - 2^-300.
    assert pass_at_k(4096, 2048, 300) == 1.0
    value = pass_at_k(4096, 2048, 10)
    assert value == float(1 - Fraction(math.comb(2048, 10), math.comb(4096, 10)))
    assert 0.998 < value < 1.0
    assert pass_at_k(100_000, 1, 1) == pytest.approx(1e-5, rel=1e-12)


@given(st.integers(1, 10).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_matches_the_subset_definition_by_counting_subsets(args):
    # README: "pass@k for every k <= n: the unbiased estimator 1 - C(n-c, k)/C(n, k)". The oracle is the definition
    # itself, not the formula: the share of all k-subsets of the n samples that hold at least one correct sample.
    n, c, k = args
    correct = set(range(c))
    subsets = list(itertools.combinations(range(n), k))
    hits = sum(1 for subset in subsets if correct.intersection(subset))
    assert pass_at_k(n, c, k) == float(Fraction(hits, len(subsets)))


def test_pass_at_k_grows_with_k():
    for n, c in [(8, 1), (16, 3), (32, 8)]:
        values = [pass_at_k(n, c, k) for k in range(1, n + 1)]
        assert values == sorted(values) and values[0] == c / n and values[-1] == 1.0


@pytest.mark.parametrize(
    ("n", "c", "k", "message"),
    [
        (0, 0, 1, "n must be positive, got 0"),
        (5, 6, 1, "c must be in 0..n=5, got 6"),
        (5, -1, 1, "c must be in 0..n=5, got -1"),
        (5, 2, 0, "k must be in 1..n=5, got 0"),
        (5, 2, 6, "k must be in 1..n=5, got 6"),
    ],
)
def test_pass_at_k_rejects_impossible_arguments(n, c, k, message):
    with pytest.raises(ValueError, match=message):
        pass_at_k(n, c, k)


def test_default_ks():
    assert default_ks(1) == [1]
    assert default_ks(32) == [1, 2, 4, 8, 16, 32]
    assert default_ks(24) == [1, 2, 4, 8, 16, 24]


def test_avg_pass_and_per_problem_rates():
    counts = [4, 0, 2, 1]
    metrics = compute(outcomes_from_counts(counts, 4), n=4, bootstrap=200)
    assert metrics.avg == pytest.approx(np.mean([1, 0, 0.5, 0.25]))
    assert metrics.pass_at[1] == pytest.approx(metrics.avg)
    assert metrics.pass_at[4] == pytest.approx(3 / 4)
    assert metrics.pass_at[2] == pytest.approx(np.mean([pass_at_k(4, c, 2) for c in counts]))
    assert [p.solve_rate for p in metrics.per_problem] == [1, 0, 0.5, 0.25]
    assert metrics.avg_se == pytest.approx(np.std([1, 0, 0.5, 0.25], ddof=1) / 2)


def test_fewer_samples_than_n_is_an_error_not_a_lower_score():
    # README: "A problem with fewer than n samples is an error, never divided by n".
    outcomes = outcomes_from_counts([2, 2], 4)[:-1]  # p1 lost a sample
    with pytest.raises(EvalkitError) as error:
        compute(outcomes, n=4)
    assert str(error.value) == (
        "expected 4 samples per problem, but p1 has 3; finish the run (rerun resumes) or score with the n every "
        "problem has"
    )


def test_the_sample_count_error_names_five_problems_and_counts_the_rest():
    outcomes = [o for o in outcomes_from_counts([1] * 8, 2) if not (o.problem_id != "p0" and o.sample_index == 1)]
    with pytest.raises(EvalkitError, match="but p1 has 1, p2 has 1, p3 has 1, p4 has 1, p5 has 1 and 2 more; "):
        compute(outcomes, n=2)
    five = [o for o in outcomes if o.problem_id in {"p0", "p1", "p2", "p3", "p4", "p5"}]
    with pytest.raises(EvalkitError, match="p5 has 1; finish"):
        compute(five, n=2)
    with pytest.raises(EvalkitError, match="no samples to score"):
        compute([], n=2)


def test_k_above_n_is_an_error():
    with pytest.raises(EvalkitError, match="k=8 is not in 1..n=4"):
        compute(outcomes_from_counts([1, 2], 4), n=4, ks=[1, 8])


def test_duplicate_sample_indices_are_an_error():
    outcomes = [SampleOutcome("p", 0, True), SampleOutcome("p", 0, False)]
    with pytest.raises(EvalkitError, match="duplicate sample indices"):
        compute(outcomes, n=2)


def votes(*pairs: tuple[bool, str | None]) -> list[SampleOutcome]:
    return [SampleOutcome("p", i, correct, vote=vote) for i, (correct, vote) in enumerate(pairs)]


def test_majority_vote_ties_go_to_the_answer_given_first():
    # README: "ties go to the answer given first". Neither order is a palindrome, and the answer given first is not
    # the smallest one, so a last-given, lexicographic or most-recent tie rule fails one of these.
    wrong_first = votes((False, "7"), (True, "5"), (False, "7"), (True, "5"))
    assert majority_vote(wrong_first).vote == "7" and majority_correct(wrong_first) is False
    right_first = votes((True, "5"), (False, "7"), (True, "5"), (False, "7"))
    assert majority_vote(right_first).vote == "5" and majority_correct(right_first) is True
    # The most votes win wherever they stand; no answer never votes.
    late_majority = votes((False, "7"), (True, "5"), (True, "5"), (False, None), (False, None))
    assert majority_vote(late_majority).vote == "5" and majority_correct(late_majority) is True
    assert majority_vote(votes((False, None))) is None and majority_correct(votes((False, None))) is False
    assert majority_vote(votes((False, None), (True, "5"))).sample_index == 1


def test_maj_at_k_is_the_mean_over_disjoint_groups_of_k():
    # README: "averaged over the n/k disjoint groups of k samples".
    samples = votes((False, "7"), (True, "5"), (True, "5"), (False, "9"))
    # groups (0,1): tie -> "7", wrong; (2,3): tie -> "5", right.
    assert majority_at_k(samples, 2) == 0.5
    assert majority_at_k(samples, 4) == 1.0  # "5" twice
    assert majority_at_k(samples, 1) == 0.5
    assert majority_at_k(samples, 3) == 1.0  # one group (0,1,2); the fourth sample is left out


def test_maj_at_n_in_metrics():
    metrics = compute(outcomes_from_counts([3, 1, 0], 4, votes=True), n=4, bootstrap=100)
    # p0: "right" x3 wins; p1: "right" x1 vs three distinct wrong votes: right is first and ties -> right.
    assert metrics.maj_at[4] == pytest.approx(2 / 3)
    assert [p.majority_correct for p in metrics.per_problem] == [True, True, False]


def test_bootstrap_interval_contains_estimate_and_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    rates = rng.uniform(0, 1, size=30)
    small = compute(outcomes_from_counts(list(np.round(rates * 4).astype(int)), 4), n=4, seed=3)
    big = compute(outcomes_from_counts(list(np.round(rates * 64).astype(int)), 64), n=64, seed=3)
    for m in (small, big):
        assert m.avg_ci.low <= m.avg <= m.avg_ci.high
        for k in m.pass_at:
            assert m.pass_ci[k].low <= m.pass_at[k] + 1e-9 and m.pass_at[k] - 1e-9 <= m.pass_ci[k].high
    assert (big.avg_ci.high - big.avg_ci.low) < (small.avg_ci.high - small.avg_ci.low)
    # Same seed, same interval.
    again = compute(outcomes_from_counts(list(np.round(rates * 4).astype(int)), 4), n=4, seed=3)
    assert again.avg_ci == small.avg_ci


def test_paired_comparison_identical_runs_are_indistinguishable():
    a = compute(outcomes_from_counts([2, 1, 3, 0, 4, 2], 4), n=4).per_problem
    result = paired_comparison(a, a)
    assert result.difference == 0 and not result.distinguishable
    assert result.wins == () and result.losses == () and result.ties == 6


def test_paired_comparison_detects_a_clear_improvement():
    weak = compute(outcomes_from_counts([0] * 20 + [1] * 10, 8), n=8).per_problem
    strong = compute(outcomes_from_counts([6] * 20 + [8] * 10, 8), n=8).per_problem
    result = paired_comparison(strong, weak)
    assert result.difference == pytest.approx(np.mean([6 / 8] * 20 + [7 / 8] * 10))
    assert result.distinguishable and result.ci.low > 0
    assert len(result.wins) == 30


def test_paired_comparison_small_difference_at_30_problems_is_noise():
    a = compute(outcomes_from_counts([1] * 15 + [0] * 15, 1), n=1).per_problem
    b = compute(outcomes_from_counts([1] * 14 + [0] * 16, 1), n=1).per_problem
    assert not paired_comparison(a, b).distinguishable


def test_metrics_are_a_function_of_the_samples_not_of_the_order_they_were_written():
    # The bootstrap resamples problems in the dataset's order, seeded: a resumed run (samples in another order) and
    # `evalkit score RUN_DIR` give results identical to the last digit.
    rng = np.random.default_rng(5)
    # 2024-I-1 .. 2024-I-12: sorted by id (I-1, I-10, I-11, I-12, I-2, ...) is not the dataset's order.
    outcomes = [
        SampleOutcome(f"2024-I-{p + 1}", s, bool(rng.random() < 0.4), vote=str(rng.integers(3)),
                      truncated=bool(s == 3), output_tokens=int(rng.integers(10, 99)))
        for p in range(12) for s in range(8)
    ]  # fmt: skip
    order = [o.problem_id for o in outcomes[::8]]
    reference = compute(outcomes, n=8, problem_order=order)
    for trial in range(5):
        shuffled = outcomes[:]
        random.Random(trial).shuffle(shuffled)
        assert compute(shuffled, n=8, problem_order=order) == reference
        assert compute(shuffled, n=8) == compute(outcomes, n=8)
    assert [p.problem_id for p in reference.per_problem] == order
    # Without an order, problems are sorted by id; the interval is drawn over that order, so it differs.
    unordered = compute(outcomes, n=8)
    assert [p.problem_id for p in unordered.per_problem] == sorted(order) != order
    # (the same means, summed in another order: equal up to the last bit of a float)
    assert unordered.avg == pytest.approx(reference.avg) and unordered.pass_at == pytest.approx(reference.pass_at)


def test_problems_missing_from_the_order_follow_it_sorted():
    outcomes = outcomes_from_counts([1, 2, 0, 3], 3)  # p0..p3
    metrics = compute(outcomes, n=3, problem_order=["p2", "nope", "p0", "p2"])
    assert [p.problem_id for p in metrics.per_problem] == ["p2", "p0", "p1", "p3"]


def test_counts_of_no_answer_errors_truncation_and_tokens():
    outcomes = [
        SampleOutcome("a", 0, True, vote="1", truncated=False, output_tokens=10),
        SampleOutcome("a", 1, False, vote=None, truncated=True, output_tokens=30, error=True),
        SampleOutcome("b", 0, False, vote=None, truncated=True),
        SampleOutcome("b", 1, False, vote="2", truncated=None),
    ]
    metrics = compute(outcomes, n=2, bootstrap=50)
    assert (metrics.no_answer, metrics.errors, metrics.truncated, metrics.mean_output_tokens) == (2, 1, 2, 20.0)
    assert (metrics.samples, metrics.problems, metrics.n, metrics.bootstrap) == (4, 2, 2, 50)
    none = compute([SampleOutcome("a", 0, True)], n=1, bootstrap=10)
    assert none.truncated is None and none.mean_output_tokens is None and none.avg_se is None  # not NaN in JSON


def test_language_mixing_counts_only_judged_samples_and_names_the_pairs():
    outcomes = [
        SampleOutcome("a", 0, True, language_mixed=True, mixed_scripts="Latin+Han/Kana", response_chars=100),
        SampleOutcome("a", 1, True, language_mixed=False, response_chars=300),
        SampleOutcome("b", 0, False, language_mixed=None, response_chars=None),  # too short to judge
        SampleOutcome("b", 1, False, language_mixed=True, mixed_scripts="Han/Kana+Latin", response_chars=200),
        SampleOutcome("c", 0, False, language_mixed=True, mixed_scripts="Latin+Han/Kana"),
        SampleOutcome("c", 1, False, language_mixed=False),
    ]
    metrics = compute(outcomes, n=2, bootstrap=10)
    assert (metrics.language_judged, metrics.language_mixed) == (5, 3)
    assert metrics.language_pairs == {"Han/Kana+Latin": 1, "Latin+Han/Kana": 2}
    assert metrics.mean_response_chars == 200.0
    data = json.loads(json.dumps(metrics.to_dict()))
    assert (data["language_judged"], data["language_mixed"], data["mean_response_chars"]) == (5, 3, 200.0)
    # Nothing judged is not "none mixed": the count is unknown.
    unjudged = compute([SampleOutcome("a", 0, True), SampleOutcome("a", 1, True, language_mixed=None)], n=2)
    assert (unjudged.language_judged, unjudged.language_mixed, unjudged.language_pairs) == (0, None, {})
    assert unjudged.mean_response_chars is None


def test_to_dict_is_what_results_json_holds():
    metrics = compute(outcomes_from_counts([2, 1], 2, votes=True), n=2, bootstrap=100, seed=1)
    data = metrics.to_dict()
    assert data["avg_at_n"] == data["avg"] == 0.75
    assert data["pass_at"] == {"1": 0.75, "2": 1.0} and set(data["pass_ci"]) == {"1", "2"}
    assert data["maj_at"] == {"1": 0.75, "2": 1.0} and data["maj_ci"]["2"] == {"low": 1.0, "high": 1.0}
    assert data["avg_ci"] == {"low": metrics.avg_ci.low, "high": metrics.avg_ci.high}
    assert data["per_problem"] == [
        {"problem_id": "p0", "n": 2, "correct": 2, "solve_rate": 1.0, "majority_correct": True,
         "majority_answer": "right"},
        {"problem_id": "p1", "n": 2, "correct": 1, "solve_rate": 0.5, "majority_correct": True,
         "majority_answer": "right"},
    ]  # fmt: skip
    assert json.loads(json.dumps(data)) == data


def test_the_interval_is_the_central_share_of_the_bootstrap():
    # 95%: the 2.5th and 97.5th percentiles of the resampled means; a 50% interval is narrower and inside it.
    outcomes = outcomes_from_counts([0, 1, 2, 3, 4] * 6, 4)
    wide = compute(outcomes, n=4, confidence=0.95, seed=2)
    narrow = compute(outcomes, n=4, confidence=0.5, seed=2)
    assert wide.avg_ci.low < narrow.avg_ci.low < wide.avg < narrow.avg_ci.high < wide.avg_ci.high
    assert wide.avg_ci.low > 0.3 and wide.avg_ci.high < 0.7  # 30 problems at 0.5: about +-0.14
    assert wide.maj_ci[4].low <= wide.maj_at[4] <= wide.maj_ci[4].high
    assert compute(outcomes, n=4, seed=3).avg_ci != wide.avg_ci  # the seed is used


def test_paired_comparison_counts_wins_losses_and_shared_problems_only():
    a = compute(outcomes_from_counts([4, 0, 2, 3], 4), n=4).per_problem
    b_outcomes = [o for o in outcomes_from_counts([2, 1, 2, 3, 1], 2) if o.problem_id != "p3"]
    b = compute(b_outcomes, n=2).per_problem
    result = paired_comparison(a, b)
    assert (result.problems, result.n_a, result.n_b) == (3, 4, 2)  # p3 is in a only, p4 in b only
    # solve rates a: 1, 0, 0.5; b: 1, 0.5, 1
    assert result.wins == () and result.losses == ("p1", "p2") and result.ties == 1
    assert result.avg_a == pytest.approx(0.5) and result.avg_b == pytest.approx(5 / 6)
    assert result.difference == pytest.approx(-1 / 3)
    assert result.se == pytest.approx(np.std([0, -0.5, -0.5], ddof=1) / math.sqrt(3))
    flipped = paired_comparison(b, a)
    assert flipped.wins == ("p1", "p2") and flipped.losses == () and flipped.difference == pytest.approx(1 / 3)
    assert result.to_dict()["distinguishable"] is result.distinguishable
    with pytest.raises(EvalkitError, match="share fewer than 2 problems"):
        paired_comparison(a[:1], b)


def test_paired_comparison_resamples_every_shared_problem_seeded():
    # One problem differs (the first), the rest are solved by both every time (no resampling noise): a bootstrap that
    # never drew the first would give exactly [0, 0].
    a = compute(outcomes_from_counts([4] + [4] * 9, 4), n=4).per_problem
    b = compute(outcomes_from_counts([0] + [4] * 9, 4), n=4).per_problem
    result = paired_comparison(a, b)
    assert result.ci.high > 0 and result.confidence == 0.95 and result.wins == ("p0",) and result.ties == 9
    assert paired_comparison(a, b) == result == paired_comparison(a, b, seed=0)  # seeded, with seed 0 by default
    noisy_a = compute(outcomes_from_counts([4] + [2] * 9, 4), n=4).per_problem
    noisy_b = compute(outcomes_from_counts([0] + [2] * 9, 4), n=4).per_problem
    noisy = paired_comparison(noisy_a, noisy_b)
    # seed 0 unless another is asked for (50 draws: few enough that the seed shows in the interval)
    few = paired_comparison(noisy_a, noisy_b, bootstrap=50)
    assert few == paired_comparison(noisy_a, noisy_b, bootstrap=50, seed=0)
    assert few != paired_comparison(noisy_a, noisy_b, bootstrap=50, seed=1)
    assert paired_comparison(noisy_a, noisy_b, seed=7).ci != noisy.ci
    two = paired_comparison(a[:2], b[:2], bootstrap=50)  # two shared problems are enough
    assert two.problems == 2
    with pytest.raises(EvalkitError, match=r"^the two runs share fewer than 2 problems; compare runs on the same "
                       r"dataset$"):  # fmt: skip
        paired_comparison(a[:1], b)
