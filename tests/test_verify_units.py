"""The verifier's small parts on their own: exact numbers with percents and rounding, decimal commas, finite
decimal expansions, and how much prose follows an answer. The tables in test_verify*.py reach these through whole
responses; here each rule is pinned where it is written, so a change to one shows as that rule failing."""

from __future__ import annotations

from fractions import Fraction

import pytest

from evalkit.verify.extract import (
    _ANSWER_PHRASE,
    SENTENCE_WINDOW,
    Extraction,
    _ends_finished,
    _is_box_glue,
    _last_sentence_start,
    _last_value,
    _leading_value,
    _phrase,
    _repair_line,
    _sentence_end,
    _words_outside_math,
    answer_line,
    concluding_sentence,
    extract_answer,
    find_answer,
    last_boxed,
    short_response,
    statement_value,
    strip_trailer,
)
from evalkit.verify.normalize import (
    Number,
    as_integer,
    canonical,
    decimal_comma,
    significant_digits,
    strip_delimiters,
    strip_trailing_units,
    terminates,
    unwrap_box,
)
from evalkit.verify.rules import MAX_RESPONSE_CHARS, first_pass, numbers_equal
from evalkit.verify.verdict import Verdict


@pytest.mark.parametrize(
    ("gold", "pred", "result"),
    [
        # A percent on one side only matches both its bare number and its fraction.
        (Number(Fraction(1, 4)), Number(Fraction(25), percent=True), (True, "number")),
        (Number(Fraction(25)), Number(Fraction(25), percent=True), (True, "number")),
        (Number(Fraction(25), percent=True), Number(Fraction(1, 4)), (True, "number")),
        (Number(Fraction(25), percent=True), Number(Fraction(25)), (True, "number")),
        (Number(Fraction(1, 4)), Number(Fraction(26), percent=True), (False, "number")),
        (Number(Fraction(25), percent=True), Number(Fraction(1, 5)), (False, "number")),
        # Percents on both sides compare as written.
        (Number(Fraction(25), percent=True), Number(Fraction(25), percent=True), (True, "number")),
        (Number(Fraction(25), percent=True), Number(Fraction(1, 4), 2, percent=True), (False, "rounded")),
        # A rounded percent against an exact fraction: 66.67% states four places of the fraction 0.6667.
        (Number(Fraction(2, 3)), Number(Fraction(6667, 100), 2, percent=True), (True, "rounded")),
        (Number(Fraction(2, 3)), Number(Fraction(6666, 100), 2, percent=True), (False, "rounded")),
        (Number(Fraction(2, 3)), Number(Fraction(667, 1000), 3), (True, "rounded")),
        # A gold written as a decimal states its own precision: only the same value matches.
        (Number(Fraction(67, 100), 2), Number(Fraction(667, 1000), 3), (False, "number")),
        (Number(Fraction(67, 100), 2), Number(Fraction(670, 1000), 3), (True, "number")),
        # An exact prediction is never "rounded".
        (Number(Fraction(2, 3)), Number(Fraction(5, 7)), (False, "number")),
    ],
)
def test_numbers_equal(gold, pred, result):
    assert numbers_equal(gold, pred) == result


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("2,74", "2.74"),  # two decimals: not a thousands group, not a list of small values
        ("0,111", "0.111"),  # a zero whole part: never a thousands group
        ("-0,5", "-0.5"),
        ("+0,25", "+0.25"),
        ("1000,99", "1000.99"),
        ("1000,9999", "1000.9999"),
        ("1,2", "1,2"),  # may be the list 1, 2
        ("-2,1", "-2,1"),
        ("1000,999", "1000,999"),  # three digits after the comma: a thousands group or a decimal, unknown
        ("12,345", "12345"),  # thousands
    ],
)
def test_a_decimal_comma_is_read_only_where_it_cannot_be_a_list_or_thousands(written, read):
    assert canonical(written) == read


@pytest.mark.parametrize(
    ("written", "read"), [("3,5", "3.5"), ("-0,25", "-0.25"), ("12,345", "12,345"), ("1,2,3", "1,2,3"), ("7", "7")]
)
def test_a_numeric_gold_reads_a_decimal_comma_but_never_a_thousands_group_or_a_list(written, read):
    # Asked only where the gold is a number: "12,345" there is twelve thousand, not 12.345, and three parts a list.
    assert decimal_comma(written) == read


@pytest.mark.parametrize("written", ["\\dfrac{1}{2}", "\\tfrac{1}{2}", "\\cfrac{1}{2}"])
def test_every_fraction_command_reads_as_frac(written):
    assert canonical(written) == canonical("\\frac{1}{2}") == "\\frac{1}{2}"


@pytest.mark.parametrize(
    ("value", "finite"),
    [
        (Fraction(5, 8), True),
        (Fraction(1, 5), True),
        (Fraction(7, 20), True),
        (Fraction(12), True),
        (Fraction(1, 5**30), True),  # beyond what a float holds exactly
        (Fraction(3, 2**60 * 5**25), True),
        (Fraction(2, 3), False),
        (Fraction(1, 6), False),
        (Fraction(1, 12), False),
        (Fraction(1, 2**70 * 3), False),
    ],
)
def test_terminates(value, finite):
    assert terminates(value) is finite


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("$x$ $y$ $z$", 0),
        ("so $x = 3$ holds", 2),
        ("then \\text{apples} and \\(y\\)", 2),
        ("$$a$$, \\[b\\] \\textbf{bold words}", 0),
    ],
)
def test_words_outside_math_count_only_prose(text, words):
    assert _words_outside_math(text) == words


@pytest.mark.parametrize(
    ("line", "repaired"),
    [
        ("\\boxed{12", "12"),  # never closed
        ("Answer: \\boxed{ 12 $ ", "Answer:  12"),  # a stray `$` after it
        ("Answer: \\boxed{\\frac{3}{4}", "Answer: \\frac{3}{4}"),  # inner braces kept
        ("For {n}: \\boxed{12", "For {n}: 12"),  # the box's own brace, not the first on the line
        ("\\boxed{ 12\\}", " 12\\"),  # an escaped brace does not close it, and is not kept
        ("\\boxed{2X", "2X"),
        ("So \\boxed{5} is it", "So \\boxed{5} is it"),  # closed: left alone
        ("Answer: \\boxed", "Answer: \\boxed"),  # no argument at all
        ("Answer: {12", "Answer: {12"),  # no box
        ("x = 1 {", "x = 1 {"),
        ("$12", " 12"),  # an odd `$` is dropped
        ("$1$ and $2$ cost $3", " 1  and  2  cost  3"),  # five: odd
        ("$1$ and $2$", "$1$ and $2$"),  # four: even, kept
    ],
)
def test_a_carelessly_written_answer_line_is_repaired(line, repaired):
    assert _repair_line(line) == repaired


@pytest.mark.parametrize(
    ("response", "gold", "truncated", "verdict"),
    [
        ("\\boxed{025}", "25", False, Verdict("025", True, "strict-int", "boxed")),
        ("\\boxed{25}", "025", False, Verdict("25", True, "strict-int", "boxed")),
        ("\\boxed{1,000}", "1000", False, Verdict("1,000", True, "strict-int", "boxed")),
        ("\\boxed{1 000}", "1000", False, Verdict("1 000", True, "strict-int", "boxed")),
        ("\\boxed{1000}", "1 000", False, Verdict("1000", True, "strict-int", "boxed")),
        ("\\boxed{25$}", "25", False, Verdict("25$", True, "strict-int", "boxed")),
        ("\\boxed{25%}", "25", False, Verdict("25%", False, "strict-int", "boxed", "not an integer literal")),
        ("\\boxed{25.0}", "25", False, Verdict("25.0", False, "strict-int", "boxed", "not an integer literal")),
        ("\\boxed{25.00}", "25", False, Verdict("25.00", False, "strict-int", "boxed", "not an integer literal")),
        ("\\boxed{+25.000}", "25", False, Verdict("+25.000", False, "strict-int", "boxed", "not an integer literal")),
        (
            "\\boxed{\\frac{50}{2}}",
            "25",
            False,
            Verdict("\\frac{50}{2}", False, "strict-int", "boxed", "not an integer literal"),
        ),
        ("\\boxed{25\\%}", "25", False, Verdict("25\\%", False, "strict-int", "boxed", "not an integer literal")),
        ("\\boxed{x = 25}", "25", False, Verdict("x = 25", False, "strict-int", "boxed", "not an integer literal")),
        ("\\boxed{26}", "25", False, Verdict("26", False, "strict-int", "boxed")),
        # A gold written boxed is the integer inside its box.
        ("\\boxed{25}", "\\boxed{25}", False, Verdict("25", True, "strict-int", "boxed")),
        ("\\boxed{25}", "$\\fbox{25}$", False, Verdict("25", True, "strict-int", "boxed")),
        (
            "\\boxed{1/2}",
            "\\frac{1}{2}",
            False,
            Verdict("1/2", False, "strict-int", "boxed", "gold '\\\\frac{1}{2}' is not an integer"),
        ),
        # Cut off at the token limit, only an explicit marker counts: a closing sentence is not one.
        ("The work goes on and the sum is 25", "25", False, Verdict("25", True, "strict-int", "short-statement")),
        ("The work goes on and the sum is 25", "25", True, Verdict(None, False, "none", "none")),
    ],
)
def test_the_strict_integer_rule_verdict_in_full(response, gold, truncated, verdict):
    assert first_pass("strict-int", response, gold, truncated) == verdict


@pytest.mark.parametrize(
    ("text", "value", "finished"),
    [
        ("", "12", False),
        ("The answer is 12.", "12", True),
        ("The answer is \\(12\\)", "12", True),
        ("The answer is \\[12\\]", "12", True),
        ("the answer is X", "", False),
        ("we get 12 then 12 cm", "12", True),
        ("it is B12345678901234567890", "A12345678901234567890", True),
        ("so we continue with", "12", False),
        ("The answer is 12. square units", "12", True),
        ("the answer is 12 then", "12", True),
        ("the answer is 12 Square Units", "12", True),
        ("we find X", "12", False),
        ("答案是12个", "12", True),
        ("12，然后我们", "12", False),
        ("the answer is 12, but let me check the case n = 2 where", "12", False),
        ("so the result is \\(y\\)", "12", True),
        ("so the result is \\[y\\]", "12", True),
        ("we get 12 then more work and finally 12", "12", True),
        ("ok X", "", False),
    ],
)
def test_a_text_ends_finished_at_a_sentence_end_or_right_after_its_value(text, value, finished):
    # "the answer is 12 then": one word after the value may be its unit, two are a new clause.
    assert _ends_finished(text, value) is finished


@pytest.mark.parametrize(
    ("number", "digits"),
    [
        (Number(Fraction(2, 3)), 0),  # exact: states no digits
        (Number(Fraction(0), 2), 0),  # 0.00
        (Number(Fraction(9, 100), 2), 1),  # 0.09
        (Number(Fraction(67, 100), 2), 2),
        (Number(Fraction(41667, 1000000), 6), 5),  # 0.041667
    ],
)
def test_significant_digits(number, digits):
    assert significant_digits(number) == digits


@pytest.mark.parametrize(
    ("between", "glue"),
    [
        (" and ", True),  # "\boxed{2} and \boxed{3}": one answer in two boxes
        (" " * 80, True),
        (" " * 81, False),  # too far apart to be one answer
        ("\n\n", False),  # a paragraph between them
        (" \n\n ", False),
        (".\n(b) The area is ", True),  # the next box opens a new labelled part
        (".\n(b) The area is " + "x" * 282, True),  # 300 characters
        (".\n(b) The area is " + "x" * 283, False),
        (".\n\n\n(b) The area is ", False),
    ],
)
def test_what_may_stand_between_the_boxes_of_one_answer(between, glue):
    assert _is_box_glue(between) is glue


@pytest.mark.parametrize(
    ("sentence", "value"),
    [
        ("12 cm", "12"),
        ("12, because", "12"),
        ("12, Xavier", "12"),
        ("12, x5", "12"),
        ("12 Xylophones", "12"),
        ("12 and 13", None),  # a list of values
        ("12, 13", None),
        ("12, 3", None),
        ("12,  -3", None),
        ("12, $x$", None),
        ("12,", None),
        ("12 + 3", None),  # an expression
        ("12 = 3", None),
    ],
)
def test_the_number_a_predicate_opens_with(sentence, value):
    assert _leading_value(sentence) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("\\pi2", "2"),
        ("\\frac{1}{2}3", "3"),  # a number right after the fraction is the later value
        ("\\frac{1}{2} then 7", "7"),
        ("1 2 \\frac{3}{4} 5", "5"),
        ("分到 (\\frac{2}{5}) 吨", "(\\frac{2}{5})"),  # the fraction, not its denominator
        ("x" * 2000 + " \\frac{1}{2} 7", "7"),
        ("so we get $x = 4$ and 5", "x = 4"),  # a math span wins
        ("no value here", None),
    ],
)
def test_the_last_value_of_a_sentence(text, value):
    assert _last_value(text) == value


@pytest.mark.parametrize(
    ("response", "verdict"),
    [
        ("so the Answer: 12", Verdict("12", True, "dapo", "answer-line")),
        ("so the Answer: 13", Verdict("13", False, "dapo", "answer-line")),
        ("no marker", Verdict(None, False, "dapo", "none")),
    ],
)
def test_the_dapo_rule_verdict_in_full(response, verdict):
    assert first_pass("dapo", response, "12", False) == verdict


@pytest.mark.parametrize(
    ("body", "last_sentence"),
    [
        ("A. B\nC d", "C d"),  # a line break opens a sentence; breaks before it are not looked at
        ("e.g. the value. Next one", "Next one"),  # a lower-case word after a full stop does not open one
        ("It is about 3. then more", "It is about 3. then more"),
        ("Sections 3. 5 and 6", "Sections 3. 5 and 6"),  # nor does a digit
        ("It is 3. a lot more", "It is 3. a lot more"),  # from a...
        ("Call it x. z is next", "Call it x. z is next"),  # ...to z
        ("It is 3. Yes, it is", "Yes, it is"),  # a capital does
        ("we have $x$ Then we add", "we have $x$ Then we add"),  # math then a capital is not a sentence end...
        (
            "we get $y = 6$ So, the ordered pair is $(7, 6)$",
            "So, the ordered pair is $(7, 6)$",
        ),  # ...unless it concludes
        ("所以答案是 12。然后", "然后"),
    ],
)
def test_where_the_last_sentence_starts(body, last_sentence):
    assert body[_last_sentence_start(body) :] == last_sentence


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("We computed everything. Therefore, the probability is 2/3.", "2/3"),
        ("We computed everything. Therefore, the probability is $\\frac{2}{3}$", "\\frac{2}{3}"),  # ends on "$"
        ("Everything checks. Thus the area is \\[12\\]", "12"),
        ("We computed everything. Therefore, the probability is 2/3 and", None),  # cut off mid-sentence
    ],
)
def test_a_concluding_sentence_is_read_when_it_ends_finished_and_named_as_such(text, answer):
    found = concluding_sentence(text)
    if answer is None:
        assert found is None
    else:
        assert (found.answer, found.rule, found.position) == (answer, "concluding-sentence", text.index("T"))


@pytest.mark.parametrize(
    ("statement", "value"),
    [
        ("The answer is \\boxed{5} since x = 3.", "5"),  # a box inside the statement is the value
        ('The answer is \\"yes\\".', "yes"),  # quotes escaped as in JSON-encoded model output
        ("The answer is 12.", "12"),
    ],
)
def test_a_statements_value_is_its_box_or_its_first_math_read_through_escaped_quotes(statement, value):
    assert statement_value(statement) == value


@pytest.mark.parametrize(
    ("written", "inner"),
    [("$\\$5$", "\\$5"), ("$$x$$", "x"), ("\\(\\frac12\\)", "\\frac12"), ("$1$ and $2$", "$1$ and $2$")],
)
def test_math_delimiters_come_off_one_span_and_an_escaped_dollar_is_no_delimiter(written, inner):
    assert strip_delimiters(written) == inner


@pytest.mark.parametrize(
    ("written", "value"),
    [("\\frac{1}{3} meters.", "\\frac{1}{3}"), ("(x+1) cm", "(x+1)"), ("6\\pi cm^2", "6\\pi"), ("3x cm", "3x"),
     ("x + y m", "x + y m")],
)  # fmt: skip
def test_unit_words_come_off_after_a_closing_brace_or_parenthesis_too_but_single_letters_stay(written, value):
    assert strip_trailing_units(written) == value


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Some work.\n" + " " * 100 + "Answer: 12", "12"),
        # The label is looked for from its keyword back to its line start, at most ~240 characters: a bound on the
        # work, not a wish. Further back, "Answer: 12" is only the weak answer phrase.
        ("Some work.\n" + " " * 300 + "Answer: 12", None),
    ],
)
def test_an_answer_line_is_looked_for_a_bounded_distance_before_its_keyword(text, answer):
    found = answer_line(text)
    assert (found.answer, found.rule, found.position) == (answer, "answer-line", 11) if answer else found is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Answer: B\nThe other options fail.\nDone", "B"),
        ("Answer: Alice\nBob loses in 3 moves.\n", "Alice"),  # not the 3 of the explanation below it
        ("Answer: x\n= 5\n", "x"),
        ("**Answer:**\n$x = 7$\nso that was it\n", "x = 7"),  # a label alone on its line: the next line only
    ],
)
def test_an_answer_line_is_read_on_its_own_line_not_across_the_lines_after_it(text, answer):
    assert answer_line(text) == Extraction(answer, "answer-line", 0)


@pytest.mark.parametrize(
    ("after_value", "answer"),
    [
        (SENTENCE_WINDOW - len("12."), "12"),  # exactly a window of text from the phrase's end to the end
        (SENTENCE_WINDOW - len("12.") + 1, None),  # more: the reasoning went on past it
    ],
)
def test_the_answer_phrase_counts_only_with_at_most_a_sentence_window_after_it(after_value, answer):
    # Trailing whitespace counts: the window is measured on the raw text after "The answer is ".
    text = "The answer is 12." + " " * after_value
    found = _phrase(_ANSWER_PHRASE, text, "answer-phrase", True)
    assert found == (Extraction(answer, "answer-phrase", text.index("answer")) if answer else None)


@pytest.mark.parametrize(
    "text",
    ["\\boxed{12\\", "So \\boxed{\\frac{1}{2}\\", "\\fbox{3\\"],  # cut off right after a backslash
)
def test_a_box_cut_off_after_a_backslash_is_unclosed_and_does_not_raise(text):
    start = max(text.find("\\boxed"), text.find("\\fbox"))
    assert last_boxed(text) == Extraction(None, "boxed-unclosed", start)
    assert extract_answer(text) == Extraction(None, "boxed-unclosed", start)


def test_a_think_block_left_open_is_recorded_as_unfinished_think():
    # The rule name lands in verdicts.jsonl as found_by: a cut-off think block has its own.
    assert extract_answer("<think>\n首先，我们计算 \\boxed{5") == Extraction(None, "unfinished-think")
    assert first_pass("math", "<think>So x = 5, and", "5", False).found_by == "unfinished-think"


@pytest.mark.parametrize(
    "response",
    [
        "<think>Compute 2 + 3 = 5, so \\boxed{5}.</think>",
        "<think>\n我们先算一下。\n\n**Final Answer**\n\\boxed{5}\n</think>\n\n",  # nothing after the think block
    ],
)
def test_an_answer_found_only_in_finished_reasoning_keeps_its_rule_and_position(response):
    assert extract_answer(response) == Extraction("5", "boxed-in-think", response.index("\\boxed"))


def test_the_final_answer_phrase_is_named_as_such():
    text = "We add the two parts. The final answer is 12."
    assert find_answer(text) == Extraction("12", "final-answer-phrase", text.index("final answer"))


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("Total: 45 €", "45"),  # ends on a unit right after its value, not on a full stop
        ("Résultat : 2,74 $", "2,74"),
        ("Total: 45", "45"),
        ("The identity matrix is $I$.", "I"),  # one finished sentence
        ("答案是12。", "12"),
        # two words may follow the labelled sentence; its own last word (a CJK unit here) is not one of them
        ("Total: 12个. Hence proven.", "12"),
    ],
)
def test_a_short_response_is_its_own_answer_from_position_zero(response, answer):
    assert short_response(response) == Extraction(answer, "short-statement", 0)


@pytest.mark.parametrize(
    ("written", "value"),
    [("25", 25), ("25.0", 25), ("-3.00", -3), ("+7.", 7), (".0", 0), ("-.0", 0), ("25.5", None), ("1,000.0", 1000)],
)
def test_an_integer_written_with_zero_decimals_is_that_integer(written, value):
    assert as_integer(written) == value


@pytest.mark.parametrize(
    ("written", "inner"),
    [
        ("\\boxed{12}", "12"),
        ("\\fbox{12}", "12"),
        ("$\\fbox{x + 1}$", "x + 1"),
        ("\\boxed{1} and \\boxed{2}", "1, 2"),  # sibling boxes: one answer
        ("x = \\fbox{2}", "x = \\fbox{2}"),  # not a box as a whole: unchanged
    ],
)
def test_a_single_box_of_either_command_is_unwrapped(written, inner):
    assert unwrap_box(written) == inner


@pytest.mark.parametrize(
    ("response", "gold", "verdict"),
    [
        # The integer rule decides also when the prediction cannot be a number: words are never an integer.
        ("\\boxed{abc}", "12", Verdict("abc", False, "integer", "boxed")),
        ("**Answer:** twelve", "12", Verdict("twelve", False, "integer", "answer-line")),
        ("\\boxed{25}", "25.0", Verdict("25", True, "integer", "boxed")),  # a gold of 25.0 is the integer 25
        # A non-integer gold number against a number: the number rule, still naming the extraction rule.
        ("\\boxed{1/2}", "0.5", Verdict("1/2", True, "number", "boxed")),
        ("The final answer is $0.67$.", "2/3", Verdict("0.67", True, "rounded", "final-answer-phrase")),
    ],
)
def test_the_math_rule_in_process_verdict_in_full(response, gold, verdict):
    assert first_pass("math", response, gold, False) == verdict


@pytest.mark.parametrize(
    ("head", "tail", "verdict"),
    [
        # Only the last MAX_RESPONSE_CHARS are read: a box in the cut-off head is gone, the final box is kept.
        ("\\boxed{12} ", "", Verdict(None, False, "none", "none")),
        ("\\boxed{99} ", " \\boxed{12}", Verdict("12", True, "integer", "boxed")),
        # Reasoning opened in the cut-off head and never closed is unfinished, however long it ran.
        ("<think>", " so \\boxed{12}", Verdict(None, False, "none", "unfinished-think")),
        ("<think> a </think>", " so \\boxed{12}", Verdict("12", True, "integer", "boxed")),
        ("<think> a", " </think> so \\boxed{12}", Verdict("12", True, "integer", "boxed")),
    ],
)
def test_an_overlong_response_is_judged_on_its_tail(head, tail, verdict):
    assert first_pass("math", head + "x" * MAX_RESPONSE_CHARS + tail, "12", False) == verdict


def test_a_closing_think_tag_the_cap_cuts_in_two_still_closed_the_reasoning():
    tail = "nk> so \\boxed{12}"
    response = "<think> a </thi" + tail + " " * (MAX_RESPONSE_CHARS - len(tail))
    assert first_pass("math", response, "12", False) == Verdict("12", True, "integer", "boxed")


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("It is $x. y$ here. Next", 17),  # a full stop inside math ends no sentence
        ("$$a\n\nb$$ ok. x", 11),  # nor does a blank line inside display math
        ("\\[ 1.\n\n2 \\] so. x", 14),
        ("It is\n12. Next", 8),  # a single line break goes on with the sentence
        ("First\n\nSecond.", 6),  # a blank line ends it
    ],
)
def test_a_sentence_ends_at_a_full_stop_or_blank_line_outside_math(text, end):
    assert _sentence_end(text) == end


def test_a_value_that_ends_exactly_at_the_window_is_whole_and_one_past_it_is_cut_off():
    statement = "The sum is " + " " * (SENTENCE_WINDOW - len("The sum is ") - 2) + "12"
    assert len(statement) == SENTENCE_WINDOW and statement_value(statement) == "12"
    assert statement_value(statement + "3") is None  # "123" cut to "12" by the window


@pytest.mark.parametrize(
    ("gold", "answer"),
    [("The answer is 12.", "12"), ("Answer: 12", "12"), ("12", "12"), ("$12$", "$12$"), ("x = 5", "x = 5"),
     ("\\boxed{7}", "7")],
)  # fmt: skip
def test_a_gold_written_as_a_short_sentence_is_read_for_its_answer_and_a_plain_one_kept_as_written(gold, answer):
    from evalkit.verify.rules import first_pass, gold_answer

    assert gold_answer(gold) == answer
    if gold == "The answer is 12.":
        # Read as 12, the gold is decided in-process, without a worker's symbolic comparison.
        verdict = first_pass("math", "So the answer is $\\boxed{12}$.", gold, False)
        assert (verdict.correct, verdict.rule, verdict.extracted) == (True, "integer", "12")


def test_a_value_after_a_contrast_is_the_one_meant():
    assert statement_value("The answer is not 33 but 27.") == "27"
    assert statement_value("So the count is not $33$ but rather $27$.") == "27"


def test_a_conclusion_ending_in_a_full_width_exclamation_mark_is_finished():
    found = concluding_sentence("我们算完了。所以答案是 12！")
    assert (found.answer, found.rule) == ("12", "concluding-sentence")


def test_the_answer_phrase_and_a_bare_answer_are_named_and_placed():
    assert extract_answer("We are done. The answer is 12.") == Extraction("12", "answer-phrase", 17)
    assert short_response("12") == Extraction("12", "bare", 0)
    assert short_response("$12$.") == Extraction("12", "bare", 0)


@pytest.mark.parametrize(
    "text", ["  x = 5. I hope it is correct.", "  x = 5.  I hope it is correct.  I hope it is correct."]
)
def test_a_trailer_comes_off_the_end_and_the_start_stays_as_written(text):
    assert strip_trailer(text) == "  x = 5."


@pytest.mark.parametrize("written", ["\\($x$\\)", "$\\(x\\)$", "\\[\\(x\\)\\]", "$$\\[x\\]$$", "\\(\\[$x$\\]\\)"])
def test_nested_math_delimiters_all_come_off(written):
    assert strip_delimiters(written) == "x"
