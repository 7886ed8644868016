"""`--verifier dapo` against verl's own DAPO reward function (`verl/utils/reward_score/math_dapo.py`), installed by
the `reference-rules` extra: the same verdict and the same extracted answer on every real response in ../shared.

verl's package `__init__` imports Ray and torch; its reward functions import nothing but `re`. The tests load
verl's own module files from the installed distribution without running that `__init__`: the code under test is
verl's, byte for byte.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verifier_cases_real import real_responses

from evalkit.verify import Verdict, Verifier
from evalkit.verify.dapo_rule import INVALID, dapo_gold, score

VERL_VERSION = "0.9.1"


def verl_root() -> Path:
    try:
        distribution = importlib.metadata.distribution("verl")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(
            "verl is not installed: install the `reference-rules` extra (make install-cpu does, without its deps)"
        )
    assert distribution.version == VERL_VERSION, f"the dapo rule reproduces verl {VERL_VERSION}"
    return Path(distribution.locate_file("verl"))


@pytest.fixture(scope="module")
def verl_math_dapo() -> types.ModuleType:
    path = verl_root() / "utils" / "reward_score" / "math_dapo.py"
    spec = importlib.util.spec_from_file_location("verl_math_dapo_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def verl_default_compute_score():
    """verl's `default_compute_score`, imported with `verl` and `verl.utils` as bare packages (their `__init__`
    needs Ray), so that its routing of data sources to reward functions is verl's own."""
    root = verl_root()
    names = ("verl", "verl.utils", "verl.utils.import_utils", "verl.utils.reward_score")
    names += ("verl.utils.reward_score.math_dapo",)
    with pytest.MonkeyPatch.context() as patch:
        for name in names:
            patch.delitem(sys.modules, name, raising=False)
        for name, folder in (("verl", root), ("verl.utils", root / "utils")):
            package = types.ModuleType(name)
            package.__path__ = [str(folder)]
            patch.setitem(sys.modules, name, package)
        reward_score = importlib.import_module("verl.utils.reward_score")
        yield reward_score.default_compute_score
        for name in names:
            sys.modules.pop(name, None)


def verl_outcome(verl_math_dapo, response: str, gold: str) -> tuple[bool, str]:
    result = verl_math_dapo.compute_score(response, gold)
    return bool(result["acc"]), result["pred"]


def evalkit_outcome(response: str, gold: str) -> tuple[bool, str]:
    outcome = score(response, gold)
    return outcome.correct, INVALID if outcome.extracted is None else outcome.extracted


def test_the_same_verdict_and_answer_as_verl_on_every_real_response(verl_math_dapo):
    rows = real_responses()
    assert len(rows) == 780
    outcomes = [
        (
            row.name,
            verl_outcome(verl_math_dapo, row.response, dapo_gold(row.gold)),
            evalkit_outcome(row.response, row.gold),
        )
        for row in rows
    ]
    differ = [outcome for outcome in outcomes if outcome[1] != outcome[2]]
    assert not differ, differ[:10]
    # Both of verl's ways to an answer occur on this data (none of it was written to DAPO's template, so no
    # `Answer:` line in it is right: the tables and the fuzzing below cover that case).
    found_by = {(score(row.response, row.gold).found_by, score(row.response, row.gold).correct) for row in rows}
    assert found_by == {("answer-line", False), ("boxed", True), ("boxed", False), ("none", False)}


def test_through_the_verifier_too(verl_math_dapo):
    rows = real_responses()[:120] + real_responses()[690:]
    with Verifier("dapo") as verifier:
        verdicts = verifier.check_many([(row.response, row.gold) for row in rows])
    for row, verdict in zip(rows, verdicts):
        correct, pred = verl_outcome(verl_math_dapo, row.response, dapo_gold(row.gold))
        assert (verdict.correct, verdict.extracted) == (correct, None if pred == INVALID else pred), row.name
        assert verdict.rule == "dapo" and verdict.error is None


def test_aime_data_sources_are_routed_to_this_rule(verl_default_compute_score, verl_math_dapo):
    response = "... so the total is 25.\n\nAnswer: $25$"
    for source in ("aime24", "aime_2025", "math_dapo", "math"):
        assert verl_default_compute_score(source, response, "25") == verl_math_dapo.compute_score(response, "25")
    assert score(response, "25").correct


@pytest.mark.parametrize(
    ("response", "gold", "verdict"),
    [
        ("Thinking...\nAnswer: 25", "025", Verdict("25", True, "dapo", "answer-line")),
        ("Answer: $\\boxed{25}$", "25", Verdict("25", True, "dapo", "answer-line")),
        ("So the answer is \\boxed{25}.", "025", Verdict("25", True, "dapo", "boxed")),  # verl 0.9.1's fallback
        ("So the answer is \\boxed{ 25}.", "25", Verdict(" 25", False, "dapo", "boxed")),  # the box is not normalized
        ("So the answer is \\boxed{25}." + "x" * 100, "25", Verdict(None, False, "dapo", "none")),  # box outside 100
        ("Answer: 24\nSo \\boxed{25}", "25", Verdict("24", False, "dapo", "answer-line")),  # a line comes first
        ("no marker", "25", Verdict(None, False, "dapo", "none")),
    ],
)
def test_dapo_verdicts_in_full(response, gold, verdict):
    with Verifier("dapo") as verifier:
        assert verifier.check(response, gold) == verdict


def test_the_one_deliberate_difference_is_the_golds_leading_zeros(verl_math_dapo):
    # evalkit's aime24 writes AIME's three digits ("025"); DAPO's data, which verl is given, writes 25.
    for response in ("Answer: 25", "so \\boxed{25}"):
        assert evalkit_outcome(response, "025") == verl_outcome(verl_math_dapo, response, "25") == (True, "25")
        assert verl_outcome(verl_math_dapo, response, "025")[0] is False
    assert dapo_gold("025") == "25" and dapo_gold("0") == "0" and dapo_gold("\\frac{1}{2}") == "\\frac{1}{2}"
    assert dapo_gold("²") == "²"  # a digit to str.isdigit, not to int()


TOKENS = ["Answer", "answer", ":", " ", "\n", "$", "\\boxed{", "{", "}", "25", "2", "5", "\\frac", "12", "=", "x", ","]
TOKENS += ["\\text{", "units", "\\$", "a ", ".", "\\!", "^\\circ", "\\sqrt", "[INVALID]", "0", "\\mbox{", "ways"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(st.sampled_from(TOKENS), max_size=80).map("".join), gold=st.sampled_from(["25", "12", "x=2"]))
def test_fuzz_the_same_as_verl(verl_math_dapo, body, gold):
    assert evalkit_outcome(body, gold) == verl_outcome(verl_math_dapo, body, gold)


def test_the_normalization_tables_are_verls(verl_math_dapo):
    from evalkit.verify import dapo_rule

    assert list(dapo_rule._SUBSTITUTIONS) == verl_math_dapo.SUBSTITUTIONS
    assert list(dapo_rule._REMOVED) == verl_math_dapo.REMOVED_EXPRESSIONS


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_the_normalization_is_verls(verl_math_dapo, data):
    from evalkit.verify.dapo_rule import normalize_final_answer

    pieces = [before for before, _ in verl_math_dapo.SUBSTITUTIONS] + verl_math_dapo.REMOVED_EXPRESSIONS + TOKENS
    pieces += ["\\textbf{", "\\overline{", "frac12", "sqrt2", "\\fracab", "1,000", "$x$ and $y$", "an apple"]
    text = "".join(data.draw(st.lists(st.sampled_from(pieces), max_size=30)))
    assert normalize_final_answer(text) == verl_math_dapo.normalize_final_answer(text)
