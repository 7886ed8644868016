"""Hedges never pay (docs/verifier.md): a prediction offering several answers where the gold is one value is right only
when each of them is the gold, under the `math` and `strict-int` rule sets; `dapo` is verl's rule as it is."""

from __future__ import annotations

import pytest
from verifier_cases_hedges import ALL_HEDGE_CASES, HEDGES, NOT_HEDGES
from verifier_cases_real import real_responses

from evalkit.verify import Verifier
from evalkit.verify.hedge import Offer, offer, single_valued
from evalkit.verify.normalize import as_integer, canonical

STRICT = [case for case in ALL_HEDGE_CASES if as_integer(case[1]) is not None]


@pytest.fixture(scope="module")
def verdicts():
    with Verifier("math", timeout=10.0) as verifier:
        return verifier.check_many([(response, gold) for response, gold, *_ in ALL_HEDGE_CASES])


def test_the_table_is_large_and_each_hedge_would_pay_for_one_candidate():
    assert len(HEDGES) >= 50 and len(NOT_HEDGES) >= 35
    assert sum(gold in ("6", "3", "8") for _, gold, _, _ in HEDGES) >= 10  # the last candidate is the gold
    assert sum(gold in ("5", "1", "\\frac{1}{2}", "\\sqrt{2}") for _, gold, _, _ in HEDGES) >= 30  # the first is


@pytest.mark.parametrize(("index", "response"), [(i, case[0][:60]) for i, case in enumerate(ALL_HEDGE_CASES)])
def test_hedge_case(verdicts, index, response):
    text, gold, expected, rule = ALL_HEDGE_CASES[index]
    verdict = verdicts[index]
    assert verdict.correct is expected, (text, gold, verdict)
    if rule is not None:
        assert verdict.rule == rule, (text, gold, verdict)
    if rule is None and expected:
        assert verdict.rule != "hedge"


@pytest.mark.parametrize(("index", "response"), [(i, case[0][:60]) for i, case in enumerate(STRICT)])
def test_hedge_case_under_strict_int(index, response):
    text, gold, expected, rule = STRICT[index]
    with Verifier("strict-int") as verifier:
        verdict = verifier.check(text, gold)
    if rule == "hedge":
        assert (verdict.correct, verdict.rule) == (False, "hedge"), (text, verdict)
    elif expected and verdict.rule != "hedge":
        # strict-int reads integer literals only: `x = 5`, `5^\circ`, `2.5e1` and residues are not, hedge or no hedge.
        assert verdict.correct or verdict.error == "not an integer literal", (text, verdict)


def test_dapo_is_verls_rule_and_reads_no_hedge():
    # verl's DAPO rule compares the Answer: line as a string: "5 or 6" is not "5", with no rule of evalkit's.
    with Verifier("dapo") as verifier:
        assert verifier.check("Answer: 5 or 6", "5").rule == "dapo"
        assert not verifier.check("Answer: 5 or 6", "5").correct


def test_honest_repetition_counts_once_under_strict_int():
    with Verifier("strict-int") as verifier:
        assert verifier.check("\\boxed{25} and \\boxed{025}", "25").correct
        assert verifier.check("\\boxed{25} and \\boxed{26}", "25").rule == "hedge"


@pytest.mark.parametrize(
    ("prediction", "offered"),
    [
        ("5", None),
        ("5, 6", Offer(("5", "6"))),
        ("5 or possibly 6", Offer(("5", "6"))),
        ("5, or maybe 6", Offer(("5", "6"))),
        ("either 5 or 6", Offer(("5", "6"))),
        ("5 或 6", Offer(("5", "6"))),
        ("5か6", Offer(("5", "6"))),
        ("5 o 6", Offer(("5", "6"))),
        ("x = 5, x = 6", Offer(("x = 5", "x = 6"))),
        ("\\frac{1}{2}, i.e. 0.5", Offer(("\\frac{1}{2}",))),  # the same answer restated
        ("\\{5, 6\\}", Offer(("5", "6"))),
        ("\\{5\\}", None),
        ("(4, 6)", Offer((), ranged=True)),
        ("[4, 6)", Offer((), ranged=True)),
        ("x > 4", Offer((), ranged=True)),
        ("5 \\pm 1", Offer((), ranged=True)),
        ("x \\in \\{5, 6\\}", Offer((), ranged=True)),
        ("f(1, 2)", None),  # a function's arguments
        ("(1, 2) + (3, 4)", None),
        ("\\begin{pmatrix} 1, 2 \\end{pmatrix}", None),
        ("2,5", None),  # a decimal comma
        ("1,000", None),
        ("4.1667e-2", None),  # "e" is not "and" here
        ("So, 644", None),  # a word before the answer, not two answers
        ("the sum of 5 and 6", None),
    ],
)
def test_what_a_prediction_offers(prediction, offered):
    assert offer(canonical(prediction)) == offered


def test_a_gold_in_words_has_words_for_candidates():
    assert offer("Evelyn or Bob", mathematical=False) == Offer(("Evelyn", "Bob"))
    assert offer("Evelyn or Bob") is None  # against a gold in digits, words are no candidates


@pytest.mark.parametrize(
    ("gold", "single"),
    [
        ("5", True), ("025", True), ("\\frac{1}{2}", True), ("2\\sqrt{2}", True), ("x = 3", True),
        ("y = 2x + 3", True), ("\\text{Evelyn}", True), ("\\text{(C)}", True), ("1,000", True), ("\\{5\\}", True),
        ("5 \\text{ or } 6", False), ("2, -2", False), ("\\{1, 2\\}", False), ("(3, 4)", False), ("[1, 2)", False),
        ("x > 4", False), ("-2 \\le x \\le 7", False), ("\\pm 2", False), ("(0,1) \\cup (1, \\infty)", False),
    ],
)  # fmt: skip
def test_which_golds_are_one_value(gold, single):
    assert single_valued(canonical(gold)) is single


def test_no_real_response_is_taken_for_a_hedge_but_the_one_tuple():
    # Of the 780 real responses in ../shared, one answers a single integer with a triple, "(100, 100, 100)" for
    # AIME 2024 II-11 (gold 601): wrong before and after, now by the hedge rule. No other verdict moved.
    rows = real_responses()
    with Verifier("math", timeout=10.0) as verifier:
        verdicts = verifier.check_many([(row.response, row.gold) for row in rows])
    hedged = [(row.name, verdict.extracted) for row, verdict in zip(rows, verdicts) if verdict.rule == "hedge"]
    assert hedged == [("generations:google_gemma-2-27b-it:2024-II-11", "(100, 100, 100)")]


HOSTILE = {
    "a box, 'or' and 20,000 spaces": "The answer is \\boxed{5} or" + " " * 20_000 + "x",
    "'or' and spaces inside a sentence": "The answer is 5 or" + " " * 1_400 + "x.",
    "commas and spaces after a box": "So \\boxed{5}" + " , " * 5_000 + "or 6",
    "'o' 5,000 times": "So \\boxed{5}" + " o" * 5_000,
    "'or' 3,000 times in an answer line": "Answer: 5" + " or" * 3_000 + " 6",
    "a list of 10,000 candidates": "\\boxed{" + ", ".join(["5"] * 10_000) + "}",
    "conditions between 30 boxes": " if x, ".join(["$\\boxed{5}$"] * 30),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_reading_alternatives_is_linear(name):
    # README, "It never hangs": the hedge rule adds string work that must stay linear in the response.
    import time

    from evalkit.verify.rules import first_pass

    start = time.process_time()
    for rules in ("math", "strict-int"):
        first_pass(rules, HOSTILE[name], "5", False)
    assert time.process_time() - start < 1.0, name
