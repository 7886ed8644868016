"""The in-process first pass of each rule set: extraction and every decision that needs no symbolic work.

A check either ends here with a Verdict (integers, decimals, identical notation, choice letters, no answer), or
becomes a Pending comparison for math-verify and sympy in a worker process. Everything here is linear-time
string work.
"""

from __future__ import annotations

from evalkit.verify import dapo_rule
from evalkit.verify.extract import (
    SHORT_RESPONSE_CHARS,
    THINK_OPEN,
    Extraction,
    answer_region,
    extract_answer,
    is_expression,
)
from evalkit.verify.hedge import is_mathematical, offer, single_valued
from evalkit.verify.normalize import (
    Number,
    as_integer,
    as_rational,
    canonical,
    choice_letter,
    comparable_text,
    decimal_comma,
    drop_assignment,
    is_plain_number,
    rounds_to,
    strip_delimiters,
    unwrap_box,
)
from evalkit.verify.verdict import Pending, Verdict

RULE_SETS = ("math", "dapo", "strict-int")
HEDGE = "hedge"
MAX_RESPONSE_CHARS = 4_000_000


def _no_answer(found_by: str, error: str | None = None) -> Verdict:
    return Verdict(None, False, "none", found_by, error)


def gold_answer(gold: str) -> str:
    """The gold answer itself, also when a dataset writes it boxed or as a whole solution ending in a box."""
    stripped = gold.strip()
    if (
        "\\boxed" in stripped
        or "\\fbox" in stripped
        or len(stripped) > SHORT_RESPONSE_CHARS
        or not is_expression(strip_delimiters(stripped))
    ):
        found = extract_answer(stripped)
        if found.answer is not None:
            return found.answer
    return stripped


def _math_fast(response: str, gold: str, truncated: bool) -> Verdict | Pending:
    found = extract_answer(response, truncated)
    if found.answer is None:
        return _no_answer(found.rule)
    return _decide_math(found, gold)


def _decide_math(found: Extraction, gold: str) -> Verdict | Pending:
    """The verdict when no symbolic work is needed, else the comparison a worker must make.

    A prediction that offers several answers against a gold that is one value (see hedge.py) is right only if
    each of them is the gold: each is decided here when it can be, the rest in a worker, and one that is not the
    gold makes the verdict `hedge`.
    """
    extracted = found.answer
    gold_text = canonical(gold)
    offered = offer(canonical(extracted), is_mathematical(gold_text)) if single_valued(gold_text) else None
    if offered is None:
        verdict = _decide_in_process(extracted, found.rule, gold_text, extracted)
        return verdict if verdict is not None else Pending(extracted, found.rule, gold, extracted)
    if offered.ranged:
        return Verdict(extracted, False, HEDGE, found.rule)
    candidates = tuple(dict.fromkeys(offered.candidates))
    undecided = []
    rule = HEDGE
    for candidate in candidates:
        verdict = _decide_in_process(extracted, found.rule, gold_text, candidate)
        if verdict is None:
            undecided.append(candidate)
        elif not verdict.correct:
            # One candidate is not the gold: a hedge when another may be (or is), plainly wrong when it is the only one.
            return verdict if len(candidates) == 1 else Verdict(extracted, False, HEDGE, found.rule)
        else:
            rule = verdict.rule
    if not undecided:
        return Verdict(extracted, True, rule, found.rule)
    if len(candidates) == 1:
        return Pending(extracted, found.rule, gold, candidates[0])
    return Pending(extracted, found.rule, gold, tuple(undecided))


def _decide_in_process(extracted: str, found_by: str, gold_text: str, prediction: str) -> Verdict | None:
    pred_text = canonical(prediction)
    pred_value = drop_assignment(pred_text)
    gold_int = as_integer(gold_text)
    if gold_int is not None:
        pred_number = as_rational(decimal_comma(pred_text)) or as_rational(decimal_comma(pred_value))
        if pred_number is not None:
            # Integers are exact: `25.0`, `\frac{50}{2}`, `2.5e1` are 25; `24.99` is not, however it rounds.
            return Verdict(extracted, pred_number.value == gold_int, "integer", found_by)
        if is_plain_number(pred_text) or not any(ch.isdigit() for ch in pred_text):
            # Words with no digit at all cannot equal an integer.
            return Verdict(extracted, False, "integer", found_by)
    if comparable_text(gold_text) == comparable_text(pred_text) and pred_text:
        return Verdict(extracted, True, "text", found_by)
    gold_choice = choice_letter(gold_text, allow_label=True)
    pred_choice = choice_letter(pred_text)
    if gold_choice is not None and pred_choice is not None:
        return Verdict(extracted, gold_choice == pred_choice, "choice", found_by)
    gold_number = as_rational(gold_text)
    if gold_number is not None:
        # The gold is one number, so "3,5" can only be the decimal 3.5, never a list.
        pred_number = as_rational(decimal_comma(pred_value))
        if pred_number is not None:
            equal, rule = numbers_equal(gold_number, pred_number)
            return Verdict(extracted, equal, rule, found_by)
    return None


def numbers_equal(gold: Number, pred: Number) -> tuple[bool, str]:
    """Exact equality, or the rounding rule for a decimal against an exact gold; (equal, rule that decided).

    A percent on one side only matches both its bare number and its fraction (25% = 25 and 25% = 0.25). A gold
    written as a decimal states its own precision and is matched exactly; see `normalize.rounds_to`.
    """
    places = pred.decimals
    pairs = [(gold.value, Number(pred.value, places))]
    if gold.percent != pred.percent:
        as_fraction = Number(pred.value / 100, None if places is None else places + 2) if pred.percent else pred
        pairs.append((gold.value / 100 if gold.percent else gold.value, as_fraction))
    if any(g == p.value for g, p in pairs):
        return True, "number"
    if gold.decimals is not None or places is None:
        return False, "number"
    return any(rounds_to(g, p) for g, p in pairs), "rounded"


def _strict_int(response: str, gold: str, truncated: bool) -> Verdict:
    found = extract_answer(response, truncated)
    gold_int = as_integer(strip_delimiters(gold).replace(" ", ""))
    if gold_int is None:
        return Verdict(found.answer, False, "strict-int", found.rule, f"gold {gold!r} is not an integer")
    if found.answer is None:
        return _no_answer(found.rule)
    offered = offer(canonical(found.answer))
    if offered is None:
        return _strict_int_literal(found, found.answer, gold_int)
    if offered.ranged:
        return Verdict(found.answer, False, HEDGE, found.rule)
    # Several integers where one is asked: right only when each is the gold (`\boxed{25}` twice, `25, 025`).
    verdicts = [_strict_int_literal(found, candidate, gold_int) for candidate in offered.candidates]
    if len(verdicts) > 1 and not all(verdict.correct for verdict in verdicts):
        return Verdict(found.answer, False, HEDGE, found.rule)
    return verdicts[0]


def _strict_int_literal(found: Extraction, answer: str, gold_int: int) -> Verdict:
    text = unwrap_box(answer).replace(" ", "").replace("$", "")
    if "." in text or "%" in text:
        # strict: only integer literals ("025", "+25", "1,000" pass; "25.0", "25.00" and "25%" do not)
        return Verdict(found.answer, False, "strict-int", found.rule, "not an integer literal")
    value = as_integer(text)
    if value is None:
        return Verdict(found.answer, False, "strict-int", found.rule, "not an integer literal")
    return Verdict(found.answer, value == gold_int, "strict-int", found.rule)


def _dapo(response: str, gold: str) -> Verdict:
    outcome = dapo_rule.score(response, gold)
    return Verdict(outcome.extracted, outcome.correct, "dapo", outcome.found_by)


def first_pass(rules: str, response: str, gold: str, truncated: bool) -> Verdict | Pending:
    """The verdict, when no symbolic work is needed; else what the worker must compare."""
    if len(response) > MAX_RESPONSE_CHARS:
        # Reasoning left unfinished stays unfinished when the cap cuts off the tag that opened it.
        unfinished = answer_region(response)[2]
        response = response[-MAX_RESPONSE_CHARS:]
        if unfinished and THINK_OPEN not in response:
            response = THINK_OPEN + response
    if rules == "dapo":
        return _dapo(response, gold)
    if rules == "math":
        return _math_fast(response, gold_answer(gold), truncated)
    return _strict_int(response, gold_answer(gold), truncated)
