"""The verifier by notation and structure: rounded decimals, mixed numbers, scientific notation, complex numbers,
equivalent expressions, function notation, multi-part answers, golds written as sentences, chat debris, careless
answer lines; the rule reported for each decision; majority-vote keys."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from verifier_cases_notation import ALL_NOTATION_CASES, ANY

from evalkit.verify import Verifier
from evalkit.verify.normalize import Number, as_rational, canonical, rounds_to, strip_units, vote_key

CASES = [(category, *case) for category, rows in ALL_NOTATION_CASES.items() for case in rows]


@pytest.fixture(scope="module")
def verifier():
    with Verifier("math", timeout=5.0) as v:
        yield v


@pytest.fixture(scope="module")
def verdicts(verifier):
    return verifier.check_many([(response, gold) for _, response, gold, *_ in CASES])


def test_every_category_has_right_and_wrong_answers():
    for category, rows in ALL_NOTATION_CASES.items():
        assert len(rows) >= 10, category
        if category != "no false positives":
            assert any(expected for _, _, expected, _ in rows), category
        assert any(not expected for _, _, expected, _ in rows), category


@pytest.mark.parametrize(("index", "category"), [(i, c[0]) for i, c in enumerate(CASES)])
def test_notation_case(verdicts, index, category):
    _, response, gold, expected, extracted = CASES[index]
    verdict = verdicts[index]
    assert verdict.correct is expected, f"{response!r} vs gold {gold!r}: {verdict}"
    if extracted is not ANY:
        assert verdict.extracted == extracted, f"{response!r}: {verdict}"


@pytest.mark.parametrize(
    ("response", "gold", "rule"),
    [
        ("\\boxed{25}", "025", "integer"),
        ("\\boxed{\\frac{50}{2}}", "25", "integer"),
        ("\\boxed{0.5}", "\\frac{1}{2}", "number"),
        ("\\boxed{2 3/4}", "\\frac{11}{4}", "number"),
        ("\\boxed{0.67}", "\\frac{2}{3}", "rounded"),
        ("\\boxed{0.66}", "\\frac{2}{3}", "rounded"),  # the rule that decided, also when it says no
        ("\\boxed{1.41}", "\\sqrt{2}", "rounded"),
        ("\\boxed{3.15}", "\\pi", "rounded"),
        ("\\boxed{\\text{(C)}}", "C", "choice"),
        ("\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}", "text"),
        ("\\boxed{i(3+i)}", "-1+3i", "complex"),
        ("\\boxed{y = 5t-1}", "g(t) = 5t-1", "function"),
        ("\\boxed{x^{2/3}}", "\\sqrt[3]{x^2}", "positive-variables"),
        ("\\boxed{2\\sqrt{2}}", "\\sqrt{8}", "math-verify"),
        ("no answer here, just reasoning that stops", "5", "none"),
    ],
)
def test_the_rule_that_decided_is_reported(verifier, response, gold, rule):
    assert verifier.check(response, gold).rule == rule


def test_rounding_rule_examples():
    assert rounds_to(Fraction(2, 3), Number(Fraction(67, 100), 2))
    assert not rounds_to(Fraction(2, 3), Number(Fraction(66, 100), 2))
    assert not rounds_to(Fraction(2, 3), Number(Fraction(7, 10), 1))  # one significant digit
    assert not rounds_to(Fraction(5, 8), Number(Fraction(63, 100), 2))  # 5/8 is exactly 0.625
    assert rounds_to(Fraction(5, 8), Number(Fraction(625, 1000), 3))
    assert rounds_to(Fraction(1, 24), as_rational("4.1667e-2"))
    assert as_rational("4.1667e-2").decimals == 6


@settings(max_examples=300, deadline=None)
@given(
    numerator=st.integers(-10_000, 10_000),
    denominator=st.sampled_from([3, 6, 7, 9, 11, 12, 13, 24, 99]),
    places=st.integers(2, 8),
)
def test_rounding_rule_accepts_exactly_the_correct_rounding(numerator, denominator, places):
    gold = Fraction(numerator, denominator)
    if gold.denominator in (1, 2, 4, 5, 8, 10) or abs(gold) < Fraction(1, 10):
        return  # terminating, or too small for two significant digits at these places
    rounded = Fraction(round(gold * 10**places), 10**places)
    assert rounds_to(gold, Number(rounded, places))
    for off_by_one in (rounded + Fraction(1, 10**places), rounded - Fraction(1, 10**places)):
        assert not rounds_to(gold, Number(off_by_one, places))


@pytest.mark.parametrize(
    ("text", "value", "decimals"),
    [
        ("12", Fraction(12), None),
        ("1,000", Fraction(1000), None),
        (".5", Fraction(1, 2), 1),
        ("-0.25", Fraction(-1, 4), 2),
        ("1/2", Fraction(1, 2), None),
        ("\\frac12", Fraction(1, 2), None),
        ("-\\frac{2}{3}", Fraction(-2, 3), None),
        ("\\frac{-2}{3}", Fraction(-2, 3), None),
        ("2 3/4", Fraction(11, 4), None),
        ("-2\\frac{3}{4}", Fraction(-11, 4), None),
        ("2\\frac34", Fraction(11, 4), None),  # single digits without braces
        ("2\\frac3{4}", Fraction(11, 4), None),
        ("1.2 \\times 10^{3}", Fraction(1200), -2),  # states its hundreds
        ("4.1667e-2", Fraction(41667, 1_000_000), 6),
        ("5e-3", Fraction(1, 200), None),  # an integer mantissa is exact
        ("10^{-3}", Fraction(1, 1000), None),
        ("25%", Fraction(25), None),
    ],
)
def test_exact_values_of_plain_numbers(text, value, decimals):
    number = as_rational(text)
    assert number is not None and number.value == value and number.decimals == decimals
    assert number.percent == text.endswith("%")  # 25% is 25 written as a percent: it also matches 0.25


@pytest.mark.parametrize("text", ["x", "2^3", "\\frac{x}{2}", "2 5/3", "1/0", "(1, 2)", "1,2", "\\sqrt{2}"])
def test_not_plain_numbers(text):
    assert as_rational(text) is None


@pytest.mark.parametrize(
    "group",
    [
        ["0.5", "1/2", "\\frac{1}{2}", "\\dfrac12", "\\boxed{\\tfrac{1}{2}}", "$\\frac{2}{4}$", "x = \\frac12", ".50"],
        ["025", "25", "\\boxed{25}", "25.0", "25\\%", "25 \\text{ cm}", "\\frac{50}{2}"],
        ["2.75", "2 3/4", "2\\frac{3}{4}", "\\frac{11}{4}", "11/4"],
        ["1000", "1,000", "1{,}000", "10^3", "1 \\times 10^{3}", "1e3"],
        ["\\sqrt{2}", "\\sqrt 2", "$\\sqrt{2}$"],
        ["(1, 2)", "(1,2)", "\\left( 1, 2 \\right)"],
    ],
)
def test_equivalent_answers_are_one_vote(group):
    keys = {vote_key(answer) for answer in group}
    assert len(keys) == 1, {answer: vote_key(answer) for answer in group}


def test_different_answers_are_different_votes():
    answers = ["0.5", "0.6", "1/3", "0.33", "2", "-2", "(1, 2)", "(2, 1)", "x^2", "2 3/4", "2\\cdot 3/4"]
    assert len({vote_key(a) for a in answers}) == len(answers)


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("12 cm", "12"),
        ("45 €", "45"),
        ("€45", "45"),
        ("12个", "12"),
        ("25 square units", "25"),
        ("10 m^2", "10"),
        ("3x", "3x"),
        ("5i", "5i"),
        ("2 3/4", "2 3/4"),
        ("1 " + "m" * 40 + "!", "1 " + "m" * 40 + "!"),
    ],
)
def test_trailing_units(text, stripped):
    assert strip_units(text) == stripped


def test_canonical_keeps_matrix_line_breaks_and_reads_latex_thousands():
    assert "\\\\" in canonical("\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}")
    assert canonical("\\$16,\\!386.20") == "16386.20"
    assert canonical("11,\\! 111,\\! 111,\\! 100") == "11111111100"
    assert canonical("12 \\text{ and } 13") == "12, 13"
    assert canonical("\\text{Alice and Bob}") == "Alice and Bob"


def test_a_gold_is_parsed_once_per_worker(monkeypatch):
    """A run checks each gold n times: the worker parses it once and reuses it."""
    from evalkit.verify import symbolic

    parsed: list[str] = []
    original = symbolic._parse

    def counting_parse(answer: str) -> list:
        parsed.append(answer)
        return original(answer)

    monkeypatch.setattr(symbolic, "_parse", counting_parse)
    symbolic.clear_cache()
    gold = "\\frac{\\sqrt{3}}{2}"
    predictions = ["\\sqrt{3}/2", "\\frac{3}{2\\sqrt{3}}", "\\frac{\\sqrt{2}}{2}", "0.866"]
    verdicts = [symbolic.compare((gold, prediction)) for prediction in predictions]
    assert [v[0] for v in verdicts] == [True, True, False, True]
    assert parsed.count(symbolic.symbolic_form(gold)) == 1
    assert len(parsed) == 1 + len(predictions)  # the gold once, each prediction once


def test_integers_are_read_up_to_their_digit_bound_and_not_past_it():
    from evalkit.verify.normalize import MAX_INTEGER_DIGITS

    at_bound = "1" + "0" * (MAX_INTEGER_DIGITS - 1)
    assert as_rational(at_bound) == Number(Fraction(10 ** (MAX_INTEGER_DIGITS - 1)))
    assert as_rational(at_bound + "0") is None  # past it: compared as text (Python's int() refuses long digit strings)


def test_latex_comparison_words_read_as_their_signs():
    assert canonical("x \\lt 3") == canonical("x <3") and canonical("x \\gt 3") == canonical("x >3")
    assert canonical("0 \\lt x \\lt 1") == "0 <x <1"
