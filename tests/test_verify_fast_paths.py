"""The verifier's fast paths find what the plain ones find: case folding with str.lower(), the full-width check
before translating, and answer markers searched only near their keywords, each against the plain computation it
replaced, on every real response in ../shared and on generated text. (bench/verify_bench.py prints the speed.)"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verifier_cases_real import real_responses

from evalkit.verify.extract import (
    _ANSWER_LINE,
    _ANSWER_PHRASE,
    _CONCLUSION,
    _FINAL_PHRASE,
    _LINK_VERB,
    _RECONSIDER,
    _RESULT_LINE,
    _STATEMENT_WORD,
    LINE_LEAD,
    PHRASE_LEAD,
    TAIL_WINDOW,
    FoldedTail,
    extract_answer,
)
from evalkit.verify.languages import ANSWER_KEYWORDS, HALF_WIDTH, fold_case, to_half_width

MARKERS = {"answer line": _ANSWER_LINE, "final phrase": _FINAL_PHRASE, "answer phrase": _ANSWER_PHRASE}
MARKERS["result line"] = _RESULT_LINE
VOCABULARY_PATTERNS = (*MARKERS.values(), _CONCLUSION, _LINK_VERB, _RECONSIDER, _STATEMENT_WORD)
# The fold evalkit used before: one character for one, Latin, Greek, Cyrillic and Vietnamese only.
PLAIN_FOLD = {code: ord(chr(code).lower()) for code in range(0x41, 0x2000) if len(chr(code).lower()) == 1}


def plain_last_match(pattern, text: str) -> tuple[int, int] | None:
    """The last match of a marker in the tail window, the window searched whole from shortly before its first
    keyword (or that keyword's line start), as evalkit searched before markers were looked for near keywords."""
    offset = max(0, len(text) - TAIL_WINDOW)
    folded = text[offset:].translate(PLAIN_FOLD)
    found = [at for at in (folded.find(k) for k in ANSWER_KEYWORDS) if at != -1]
    if not found:
        return None
    begin = max(0, min(found) - PHRASE_LEAD)
    line_start = folded.rfind("\n", max(0, begin - LINE_LEAD), begin)
    begin = line_start + 1 if line_start != -1 else begin
    matches = list(pattern.finditer(folded, begin))
    return (offset + matches[-1].start(), offset + matches[-1].end()) if matches else None


def test_every_character_but_one_lowers_to_one_character():
    # fold_case relies on this to keep positions: "İ" (lowered to "i" and a combining dot) is the only exception.
    longer = [code for code in range(0x110000) if not 0xD800 <= code < 0xE000 and len(chr(code).lower()) != 1]
    assert longer == [0x130]
    assert fold_case("Aİ ΣΑΣ İx") == "aİ σας İx" and len(fold_case("İ" * 5 + "A")) == 6


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_folding_and_half_width_keep_every_position(text):
    assert len(fold_case(text)) == len(text) == len(to_half_width(text))
    assert to_half_width(text) == text.translate(HALF_WIDTH)


# Text around the vocabulary with the characters whose lowering differs between the two folds.
FOLD_TOKENS = ["Answer", "ANSWER", "Ответ", "RÉPONSE", "Đáp án", "答案", "Final Answer", "Therefore", "WAIT", "ist"]
FOLD_TOKENS += ["İ", "Σ", "ΑΣ ", "Ⅻ", "Ⓐ", "Ａ", "ẞ", "Ꙁ", "𐐀", " ", ":", "\n", "12", "is", "**", "ς", "Ω"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FOLD_TOKENS), max_size=40).map("".join))
def test_the_vocabulary_matches_the_same_on_either_fold(text):
    for pattern in VOCABULARY_PATTERNS:
        ours = [m.span() for m in pattern.finditer(fold_case(text))]
        assert ours == [m.span() for m in pattern.finditer(text.translate(PLAIN_FOLD))], (pattern, text)


def test_the_same_markers_as_a_whole_window_search_on_every_real_response():
    rows = real_responses()
    assert len(rows) == 780
    for row in rows:
        text = to_half_width(row.response)
        tail = FoldedTail(text)
        for name, pattern in MARKERS.items():
            assert tail.last_match(pattern) == plain_last_match(pattern, text), (row.name, name)


MARKER_TOKENS = ["Answer:", "**Answer:**", "> Answer:", "Final Answer: ", "the answer is ", "The final answer is "]
MARKER_TOKENS += ["Result: ", "答案：", "答案是", "最终答案", "réponse : ", "Ответ: ", "answers", "the result of "]
MARKER_TOKENS += ["\n", "\n\n", " ", "   ", "\t", "12", "$x$", "\\boxed{5}", ".", "so", "we get ", "*", "#", "-", ":"]
MARKER_TOKENS += ["word " * 20, "x" * 60, "answer"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(st.tuples(st.sampled_from(MARKER_TOKENS), st.integers(1, 3)), max_size=60),
    st.sampled_from([0, 19_950, TAIL_WINDOW]),
)
def test_the_same_markers_as_a_whole_window_search_on_generated_text(parts, padding):
    # Padding pushes the markers across the edge of the tail window.
    text = "Reasoning, " * (padding // 11) + "".join(token * times for token, times in parts)
    tail = FoldedTail(text)
    for name, pattern in MARKERS.items():
        assert tail.last_match(pattern) == plain_last_match(pattern, text), (name, text[-300:])


@pytest.mark.parametrize(
    "text",
    [
        "answer " * 3000 + "\nAnswer: 12",  # the marker after thousands of keywords
        "Answer: 12\n" + "answer " * 2000,  # before them: past eight keywords, the rest is searched at once
        "answer: " * 3000,  # a window full of markers
        "答案" * 12_000,  # full of keywords, no marker
    ],
)
def test_a_window_full_of_keywords(text):
    for pattern in MARKERS.values():
        assert FoldedTail(text).last_match(pattern) == plain_last_match(pattern, text)


def test_extraction_reads_full_width_text_as_before():
    assert extract_answer("答案：１２").answer == "12"
    assert extract_answer("So the value is \\boxed{１２}<｜end▁of▁sentence｜>more").answer == "12"
