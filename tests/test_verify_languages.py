"""The verifier on responses that conclude in other languages, full-width forms and mixed-language think blocks."""

from __future__ import annotations

import pytest
from verifier_cases_languages import LANGUAGES, language_cases
from verifier_cases_notation import ANY, SHORT_LANGUAGE_ANSWERS

from evalkit.verify import Verifier
from evalkit.verify.extract import extract_answer, is_expression, prose_words
from evalkit.verify.languages import (
    ANSWER_KEYWORDS,
    ANSWER_LABELS,
    ANSWER_PHRASES,
    FINAL_PHRASES,
    fold_case,
    to_half_width,
)

CASES = language_cases()
# The eleven languages the README names, by their script's or vocabulary's first appearance in the tables.
NAMED_LANGUAGES = {
    "chinese",
    "japanese",
    "korean",
    "french",
    "spanish",
    "german",
    "russian",
    "portuguese",
    "italian",
    "vietnamese",
    "chinese-think-then-english",
}


@pytest.fixture(scope="module")
def verdicts():
    with Verifier("math", timeout=5.0) as verifier:
        return verifier.check_many([(response, gold) for response, gold, *_ in CASES])


def test_the_language_tables_are_long_realistic_responses():
    assert len(CASES) >= 100
    assert {language.name for language in LANGUAGES} >= NAMED_LANGUAGES
    assert all(len(response) > 120 and response.count("\n\n") >= 1 for response, *_ in CASES)
    assert sum(response.count("\n\n") >= 2 for response, *_ in CASES) > 0.9 * len(CASES)
    cut_off = [case for case in CASES if case[3] is None]
    assert len(cut_off) >= 15  # every language has an ending cut off mid-sentence
    assert sum(not expected for _, _, expected, extracted, _ in CASES if extracted is not None) >= 20
    assert sum("<think>" in response for response, *_ in CASES) >= 15


@pytest.mark.parametrize(("index", "language", "ending"), [(i, c[4], c[0][-60:]) for i, c in enumerate(CASES)])
def test_long_response_concluded_in_another_language(verdicts, index, language, ending):
    response, gold, expected, extracted, _ = CASES[index]
    verdict = verdicts[index]
    assert verdict.extracted == extracted, f"{language}: ...{response[-160:]!r} -> {verdict}"
    assert verdict.correct is expected, f"{language}: ...{response[-160:]!r} -> {verdict}"


def test_no_cut_off_language_ending_is_ever_read_as_an_answer(verdicts):
    false_positives = [
        (case[4], case[0][-80:], verdict)
        for case, verdict in zip(CASES, verdicts)
        if case[3] is None and (verdict.extracted is not None or verdict.correct)
    ]
    assert not false_positives


@pytest.mark.parametrize(("response", "gold", "expected", "extracted"), SHORT_LANGUAGE_ANSWERS)
def test_short_answers_in_other_languages(verifier, response, gold, expected, extracted):
    verdict = verifier.check(response, gold)
    assert verdict.correct is expected, verdict
    if extracted is not ANY:
        assert verdict.extracted == extracted, verdict


@pytest.fixture(scope="module")
def verifier():
    with Verifier("math", timeout=5.0) as v:
        yield v


def test_an_unfinished_cjk_sentence_is_not_an_answer():
    # A CJK sentence has no spaces: it must not pass as "a response that is only an answer".
    for text in (
        "所以三角形的面积是12，然后我们",
        "所以我们需要计算出三角形的面积是",
        "したがって面積は12で次に",
        "따라서넓이는12이고다음으로",
    ):
        assert extract_answer(text).answer is None, text
    assert not is_expression("所以三角形的面积是12，然后我们")
    assert is_expression("12个") and is_expression("北京")


def test_prose_is_counted_in_scripts_without_spaces():
    assert prose_words("所以三角形的面积") == 4.0  # half a word per CJK character
    assert prose_words("the area is") == 3
    assert prose_words("12 cm") == 0
    assert prose_words("\\frac{1}{2}") == 0


def test_full_width_forms_read_as_ascii_position_for_position():
    text = "答案：１２，（３，４）　＝"
    assert to_half_width(text) == "答案:12,(3,4) ="
    assert len(to_half_width(text)) == len(text)
    assert extract_answer("答案：（１，２）").answer == "(1,2)"


def test_languages_mixed_inside_and_after_think():
    english_think = "<think>\nThe sum is 12. 答案应该是 12。\n</think>\n\n所以答案是 12。"
    assert extract_answer(english_think).answer == "12"
    chinese_think_only = "<think>\n计算得 12。最终答案：12\n</think>\n\n"
    found = extract_answer(chinese_think_only)
    assert (found.answer, found.rule) == ("12", "answer-line-in-think")
    # Inside finished reasoning only explicit markers count: a weak phrase there is no answer.
    assert extract_answer("<think>\n所以答案是 12。\n</think>\n\n").answer is None


def test_every_answer_phrase_holds_a_keyword():
    # Extraction skips the phrase search in texts holding no keyword: a phrase without one would never match.
    for phrase in ANSWER_LABELS + ANSWER_PHRASES + FINAL_PHRASES:
        assert phrase == fold_case(phrase) and any(keyword in phrase for keyword in ANSWER_KEYWORDS), phrase


def test_case_folding_keeps_positions():
    text = "İSTANBUL Ответ: RÉPONSE ĐÁP ÁN Antwort"
    assert len(fold_case(text)) == len(text)
    assert fold_case(text).endswith("ответ: réponse đáp án antwort")
    assert extract_answer("ОТВЕТ: 12").answer == "12" and extract_answer("THE ANSWER IS 12.").answer == "12"
