"""The verifier on tables of cases, on real responses, on hostile input, and under fuzzing."""

from __future__ import annotations

import time

import pytest
from conftest import GENERATIONS, read_jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verifier_cases import EXTRACTION_CASES, NOTATION_PAIRS, long_response_cases, real_generation_expectations

from evalkit.verify import Verdict, Verifier, check, check_many
from evalkit.verify.dapo_rule import normalize_final_answer
from evalkit.verify.dapo_rule import score as dapo_score

TIMEOUT = 3.0


@pytest.fixture(scope="module")
def verifier():
    with Verifier("math", timeout=TIMEOUT) as v:
        yield v


@pytest.fixture(scope="module")
def notation_verdicts(verifier) -> list[Verdict]:
    return verifier.check_many([(answer, gold) for gold, answer, _ in NOTATION_PAIRS])


@pytest.fixture(scope="module")
def long_cases():
    return long_response_cases(GENERATIONS)


@pytest.fixture(scope="module")
def long_verdicts(verifier, long_cases) -> list[Verdict]:
    return verifier.check_many([(text, gold) for text, gold, _, _ in long_cases])


def test_the_tables_are_large_and_mostly_long_responses(long_cases):
    total = len(NOTATION_PAIRS) + len(long_cases) + len(EXTRACTION_CASES)
    assert total >= 200
    assert len(long_cases) > total / 2
    assert all(len(text) > 300 for text, *_ in long_cases)
    assert sum(not expected for _, _, expected in NOTATION_PAIRS) >= 40  # wrong answers must stay wrong


@pytest.mark.parametrize(("index", "gold", "answer", "expected"), [(i, *c) for i, c in enumerate(NOTATION_PAIRS)])
def test_notation_pair_as_a_bare_answer(notation_verdicts, index, gold, answer, expected):
    verdict = notation_verdicts[index]
    assert verdict.correct is expected, f"gold {gold!r} vs {answer!r}: {verdict}"
    assert verdict.extracted is not None


def test_notation_pairs_inside_long_responses(long_cases, long_verdicts):
    wrong = [
        (style, gold, text[-120:], verdict)
        for (text, gold, expected, style), verdict in zip(long_cases, long_verdicts)
        if verdict.correct is not expected
    ]
    assert not wrong, "\n".join(map(str, wrong))


def test_every_response_style_extracts_the_written_answer(long_cases, long_verdicts):
    for (text, _gold, _expected, style), verdict in zip(long_cases, long_verdicts):
        assert verdict.extracted is not None, (style, text[-200:])
        assert verdict.found_by in ("boxed", "answer-line", "final-answer-phrase"), (style, verdict)


@pytest.mark.parametrize(("response", "gold", "expected", "extracted"), EXTRACTION_CASES)
def test_extraction_cases(verifier, response, gold, expected, extracted):
    verdict = verifier.check(response, gold)
    assert verdict.extracted == extracted, verdict
    assert verdict.correct is expected, verdict


def test_truncated_responses_keep_only_explicit_markers(verifier):
    conclusion = "Lots of work here.\nTherefore, the area is $12$."
    assert verifier.check(conclusion, "12").correct
    assert verifier.check(conclusion, "12", truncated=True).extracted is None
    assert verifier.check("work... \\boxed{12}", "12", truncated=True).correct
    assert verifier.check("12", "12", truncated=True).extracted is None


def test_gold_is_gold_the_comparison_is_not_symmetric(verifier):
    # An interval gold accepts an interval; an inequality prediction does not state the interval asked for.
    assert verifier.check("$x \\in [-2, 7]$", "-2 \\le x \\le 7").correct
    assert not verifier.check("$-2 \\le x \\le 7$", "x \\in [-2, 7]").correct


def test_real_generations_match_hand_read_verdicts(verifier, generation_files):
    expected = real_generation_expectations()
    rows = []
    for path in generation_files:
        model = path.stem.removeprefix("aime24_")
        rows += [(model, row) for row in read_jsonl(path)]
    verdicts = verifier.check_many([(row["response"], row["gold"]) for _, row in rows])
    assert len(verdicts) == 120
    listed = 0
    for (model, row), verdict in zip(rows, verdicts):
        key = (model, row["problem_id"])
        if key in expected:
            listed += 1
            assert (verdict.extracted, verdict.correct) == expected[key], (key, verdict)
        else:
            assert verdict.found_by == "boxed" and verdict.extracted and not verdict.correct, (key, verdict)
    assert listed == len(expected)
    assert sum(v.correct for v in verdicts) == sum(correct for _, correct in expected.values()) == 18


# ---------------------------------------------------------------------------------------------------------------
# Hostile input: every check returns a Verdict within the time bound


PATHOLOGICAL = {
    "10,000 empty boxes": ("\\boxed{}" * 10_000, "5"),
    "10,000 boxes then an answer": ("\\boxed{} " * 10_000 + "\\boxed{5}", "5"),
    "power tower": ("\\boxed{9^{9^{9^{9}}}}", "5"),
    "power tower, bare": ("9^{9^{9^{9}}}", "\\frac{1}{2}"),
    "1 MB of words then a box": ("word " * 200_000 + "\\boxed{7}", "7"),
    "1 MB of spaces": (" " * 1_000_000, "7"),
    "1 MB of dollar signs": ("$" * 1_000_000, "7"),
    "1 MB of digits": ("1" * 1_000_000, "7"),
    "1 MB of open braces": ("\\boxed{" + "{" * 1_000_000, "1"),
    "deeply nested fractions": ("\\boxed{" + "\\frac{1}{" * 200 + "2" + "}" * 200 + "}", "\\frac{1}{2}"),
    "unclosed nested fractions": ("\\frac{1}{" * 5000, "1"),
    "100,000 answer lines": ("Answer: 5\n" * 100_000, "5"),
    "huge factorial": ("\\boxed{1000000!}", "\\frac{1}{2}"),
    "unfinished think of 1 MB": ("<think>" + "a" * 1_000_000, "5"),
}


def test_pathological_inputs_return_within_the_bound():
    cases = list(PATHOLOGICAL.items())
    with Verifier("math", timeout=TIMEOUT) as verifier:
        for name, (response, gold) in cases:
            start = time.monotonic()
            verdict = verifier.check(response, gold)
            elapsed = time.monotonic() - start
            assert isinstance(verdict, Verdict), name
            # the bound plus the cost of replacing a killed worker
            assert elapsed < TIMEOUT + 2.0, f"{name} took {elapsed:.1f}s"
        assert verifier.check("\\boxed{5}", "5").correct  # still healthy afterwards


def test_timeouts_are_reported_as_errors_not_as_wrong_answers():
    verdict = check("\\boxed{9^{9^{9^{9}}}}", "5", timeout=1.0)
    assert verdict.error == "timeout" and not verdict.correct
    assert verdict.extracted == "9^{9^{9^{9}}}"


def test_check_many_runs_in_parallel_and_deduplicates():
    pairs = [("\\boxed{\\frac{2}{4}}", "\\frac{1}{2}")] * 50 + [("\\boxed{0.5}", "\\frac{1}{2}")]
    verdicts = check_many(pairs, workers=2)
    assert all(v.correct for v in verdicts) and len(verdicts) == 51


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=st.text(max_size=400), gold=st.sampled_from(["5", "025", "\\frac{1}{2}", "(1, 2)", "x^2+1"]))
def test_fuzz_any_text_gets_a_verdict(verifier, response, gold):
    verdict = verifier.check(response, gold)
    assert isinstance(verdict, Verdict)
    assert verdict.correct in (True, False)


LATEX_TOKENS = list("0123456789+-*/^_{}()[]$\\ ,.=<>xyabc\n") + ["\\boxed{", "\\frac", "\\sqrt", "Answer:", "</think>"]
LATEXISH = st.lists(st.sampled_from(LATEX_TOKENS), max_size=60).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=LATEXISH)
def test_fuzz_latex_fragments_never_crash(verifier, response):
    for rules in ("math", "dapo", "strict-int"):
        verdict = Verifier(rules).check(response, "12") if rules != "math" else verifier.check(response, "12")
        assert isinstance(verdict, Verdict)


# ---------------------------------------------------------------------------------------------------------------
# The other rule sets


@pytest.mark.parametrize(
    ("response", "gold", "expected"),
    [
        ("Thinking...\nAnswer: 25", "025", True),  # DAPO's data writes AIME golds without leading zeros
        ("Answer: $25$", "25", True),
        ("Answer: \\boxed{25}", "25", True),
        ("The answer is \\boxed{25}", "25", True),  # no Answer: line: verl 0.9.1 reads the last box, unnormalized
        ("The answer is \\boxed{25.0}", "25", False),
        ("The answer is \\boxed{25}, as the table shows." + " " * 100, "25", False),  # the box must be in the last 100
        ("Answer: 0.5", "\\frac{1}{2}", False),  # string equality after normalization
        ("Answer: \\frac12", "\\frac{1}{2}", True),
        ("Answer: 25 degrees", "25", True),
        ("Answer: x = 25", "25", True),
        ("Answer: 1,000", "1000", True),
        ("answer : 7\nmore text after", "7", True),
        ("Answer: 7\n" + "x" * 400, "7", False),  # only the last 300 characters are read
    ],
)
def test_dapo_rule(response, gold, expected):
    assert check(response, gold, rules="dapo").correct is expected


def test_dapo_normalization_steps():
    assert normalize_final_answer("\\text{(A)}") == "(A)"
    assert normalize_final_answer("$\\frac{3}{4}$ inches") == "\\frac{3}{4}"
    assert normalize_final_answer("x = \\sqrt2") == "\\sqrt{2}"
    assert dapo_score("no marker here", "5").extracted is None
    assert normalize_final_answer("\\textbf{12}") == "12" and normalize_final_answer("\\overline{3}") == "3"
    assert normalize_final_answer("the value $12$ here") == "12"  # the math between the dollars
    assert dapo_score("Answer: \\textbf{12}", "12").normalized == "12"


def test_strict_int_needs_an_integer_gold():
    verdict = check("\\boxed{1/2}", "\\frac{1}{2}", rules="strict-int")
    assert not verdict.correct and "not an integer" in verdict.error


def test_unknown_rule_set():
    with pytest.raises(ValueError, match="unknown rule set"):
        Verifier("fuzzy")


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=LATEXISH, gold=st.sampled_from(["12", "\\frac{1}{2}", "(1, 2)", "[0, 1)", "x^2+1"]))
def test_fuzz_at_length(verifier, response, gold):
    """The long fuzz run (pytest -m slow): any LaTeX-ish text against several golds, under every rule set."""
    verdict = verifier.check(response, gold)
    assert isinstance(verdict, Verdict) and verdict.correct in (True, False)
    assert isinstance(Verifier("dapo").check(response, gold), Verdict)
