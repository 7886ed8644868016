"""The verifier's fast paths find what the plain ones find: case folding with str.lower(), the full-width check
before translating (and the UTF-16 high bytes that spare most text that check), answer markers searched only near
their keywords, keywords beyond ASCII looked for only where their telltale character is, markers looked for only
after the last boxed answer, and \\fbox only after the last \\boxed, each against the plain computation it replaced,
on every real response in ../shared and on generated text. (bench/verify_bench.py prints the speed.)"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verifier_cases_real import real_responses

from evalkit.verify import extract
from evalkit.verify.extract import (
    _ANSWER_LINE,
    _ANSWER_PHRASE,
    _CONCLUSION,
    _FINAL_PHRASE,
    _LINK_VERB,
    _RECONSIDER,
    _RESULT_LINE,
    _STATEMENT_WORD,
    BOX_COMMANDS,
    LINE_LEAD,
    PHRASE_LEAD,
    TAIL_WINDOW,
    FoldedTail,
    _last_box_start,
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


# Characters around the translated ones: those sharing a UTF-16 high byte with them (the dashes' neighbours in math
# text, CJK, small and full-width forms not translated), Latin-1, astral characters (surrogate pairs in UTF-16).
NEIGHBOURS = [
    "\u2014",
    "\u2264",
    "\u2260",
    "\u2019",
    "\u2211",
    "\u21d2",
    "\u2200",
    "\u3002",
    "\u300c",
    "\u30a2",
    "\ufe50",
]
NEIGHBOURS += [
    "\ufe64",
    "\uff00",
    "\uff5f",
    "\uff61",
    "\uffe5",
    "\u00e9",
    "\u00d7",
    "\U0001f600",
    "\U0001d400",
    "a",
    "\n",
]


@pytest.mark.parametrize("translated", sorted(HALF_WIDTH), ids=lambda code: f"U+{code:04X}")
def test_each_translated_character_is_found_in_long_text_of_any_kind(translated):
    for around in ("x" * 3000, "\u00e9" * 3000, "\u2264 \u2014 " * 1000, "\U0001f600" * 1000, "\u3002" * 3000):
        for at in (0, len(around) // 2, len(around)):
            text = around[:at] + chr(translated) + around[at:]
            assert to_half_width(text) == text.translate(HALF_WIDTH) != text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(NEIGHBOURS + [chr(code) for code in HALF_WIDTH]), max_size=60).map("".join))
def test_half_width_on_text_near_the_translated_characters(text):
    assert to_half_width(text) == text.translate(HALF_WIDTH)


def test_half_width_on_every_real_response():
    for row in real_responses():
        assert to_half_width(row.response) == row.response.translate(HALF_WIDTH), row.name


def plain_anchors(text: str, after: int = -1) -> list[int]:
    """Where any answer keyword starts in the folded tail window after `after`, from the last back."""
    offset = max(0, len(text) - TAIL_WINDOW)
    folded = fold_case(text[offset:])
    starts = set()
    for keyword in ANSWER_KEYWORDS:
        at = folded.find(keyword)
        while at != -1:
            starts.add(at)
            at = folded.find(keyword, at + 1)
    return sorted((at for at in starts if at + offset > after), reverse=True)


def anchors(tail: FoldedTail) -> list[int]:
    found = []
    while tail.anchor(len(found)) != -1:
        found.append(tail.anchor(len(found)))
    return found


KEYWORD_TOKENS = [
    "answer",
    "Answer: ",
    "答案",
    "答",
    "réponse",
    "Ответ",
    "đáp án",
    "결과",
    "ergebnis",
    "résultat",
    "итог",
]
KEYWORD_TOKENS += [
    "kết quả",
    "結論",
    "الجواب",
    "उत्तर",
    "คำตอบ",
    " ",
    "\n",
    "x",
    "\u2264",
    "\u00e9",
    "о",
    "答え",
    "\\boxed{5}",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(KEYWORD_TOKENS), max_size=60).map("".join),
    st.sampled_from([0, 19_990, TAIL_WINDOW + 5]),
    st.integers(-1, 400),
)
def test_the_keywords_found_are_every_keyword_in_the_window_after_the_bound(body, padding, after):
    # Telltale characters and the bound only skip searches: each keyword occurrence after the bound is still an anchor.
    text = "pad " * (padding // 4) + body
    after = -1 if after < 0 else max(0, len(text) - 400) + after
    assert anchors(FoldedTail(text, after)) == plain_anchors(text, after)


def test_the_keywords_found_on_every_real_response():
    for row in real_responses():
        text = to_half_width(row.response)
        assert anchors(FoldedTail(text)) == plain_anchors(text), row.name


def plain_last_box_start(text: str, before: int) -> int:
    starts = [-1]
    for command in BOX_COMMANDS:
        at = text.find(command)
        while at != -1:
            end = at + len(command)
            if end <= before and not (end < len(text) and text[end].isalpha()):
                starts.append(at)
            at = text.find(command, at + 1)
    return max(starts)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["\\boxed{1}", "\\fbox{2}", "\\boxedx", "\\fboxy", "\\boxed", " ", "a", "}"]), max_size=30
    ),
    st.integers(0, 200),
)
def test_the_last_box_is_the_last_of_either_command(parts, before):
    text = "".join(parts)
    assert _last_box_start(text, min(before, len(text))) == plain_last_box_start(text, min(before, len(text)))


def bounds(text: str) -> set[int]:
    """Positions to bound a search at: at, just before and just after the last few keywords and the last box."""
    near = plain_anchors(text)[:3] + [_last_box_start(text, len(text))]
    return {at + shift for at in near if at >= 0 for shift in (-1, 0, 1)} | {-1}


def plain_bounded_match(pattern, text: str, after: int) -> tuple[int, int] | None:
    found = plain_last_match(pattern, text)
    return found if found is not None and found[0] > after else None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(st.tuples(st.sampled_from(MARKER_TOKENS), st.integers(1, 3)), max_size=60),
    st.sampled_from([0, 19_950, TAIL_WINDOW]),
)
def test_a_bounded_search_finds_the_last_marker_when_it_starts_after_the_bound(parts, padding):
    text = "Reasoning, " * (padding // 11) + "".join(token * times for token, times in parts)
    for after in bounds(text):
        tail = FoldedTail(text, after)
        for name, pattern in MARKERS.items():
            assert tail.last_match(pattern) == plain_bounded_match(pattern, text, after), (name, after, text[-300:])


def test_a_bounded_search_on_every_real_response():
    for row in real_responses()[::4]:
        text = to_half_width(row.response)
        for after in bounds(text):
            for name, pattern in MARKERS.items():
                assert FoldedTail(text, after).last_match(pattern) == plain_bounded_match(pattern, text, after), (
                    row.name,
                    name,
                    after,
                )


class UnboundedTail(FoldedTail):
    """Markers searched as before the bound: in the whole window, wherever the last boxed answer is."""

    def __init__(self, text: str, after: int = -1) -> None:
        super().__init__(text)


def both_extractions(text: str) -> tuple[list, list]:
    ours = [extract_answer(text, truncated) for truncated in (False, True)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(extract, "FoldedTail", UnboundedTail)
        patch.setattr(extract, "_last_box_start", plain_last_box_start)
        plain = [extract_answer(text, truncated) for truncated in (False, True)]
    return ours, plain


def test_markers_after_the_last_box_only_and_the_last_box_on_every_real_response():
    for row in real_responses():
        ours, plain = both_extractions(row.response)
        assert ours == plain, row.name


BOX_AND_MARKER_TOKENS = [
    "\\boxed{5}",
    "\\boxed{}",
    "\\boxed{7",
    "\\fbox{6}",
    "$\\boxed{2}$ and $\\boxed{3}$",
    "Answer: 12",
]
BOX_AND_MARKER_TOKENS += [
    "**Answer:** ",
    "Final Answer: 9",
    "The final answer is $4$.",
    "the answer is 8.",
    "Result: 3",
]
BOX_AND_MARKER_TOKENS += ["答案：", "\n", "\n\n", " ", "So ", "x = 3", ".", "answer", "<think>", "</think>", "Wait, "]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(st.sampled_from(BOX_AND_MARKER_TOKENS), max_size=40).map("".join),
    st.sampled_from([0, 19_950, TAIL_WINDOW]),
)
def test_markers_after_the_last_box_only_on_generated_text(body, padding):
    # Padding pushes the boxes and markers across the edge of the tail window.
    ours, plain = both_extractions("Reasoning, " * (padding // 11) + body)
    assert ours == plain
