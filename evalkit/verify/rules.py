"""The in-process first pass of each rule set: extraction and every decision that needs no symbolic work.

A check either ends here with a Verdict (integers, decimals, identical notation, choice letters, no answer), or
becomes a Pending comparison for math-verify and sympy in a worker process. Everything here is linear-time
string work.
"""

from __future__ import annotations

from decimal import Decimal

from evalkit.verify import dapo_rule
from evalkit.verify.extract import SHORT_RESPONSE_CHARS, extract_answer
from evalkit.verify.normalize import (
    as_integer,
    as_number,
    canonical,
    choice_letter,
    comparable_text,
    drop_assignment,
    is_plain_number,
    strip_delimiters,
    unwrap_box,
)
from evalkit.verify.verdict import Pending, Verdict

RULE_SETS = ("math", "dapo", "strict-int")
MAX_RESPONSE_CHARS = 4_000_000


def _no_answer(found_by: str, error: str | None = None) -> Verdict:
    return Verdict(None, False, "none", found_by, error)


def gold_answer(gold: str) -> str:
    """The gold answer itself, also when a dataset writes it boxed or as a whole solution ending in a box."""
    stripped = gold.strip()
    if "\\boxed" in stripped or "\\fbox" in stripped or len(stripped) > SHORT_RESPONSE_CHARS:
        found = extract_answer(stripped)
        if found.answer is not None:
            return found.answer
    return stripped


def _math_fast(response: str, gold: str, truncated: bool, written_gold: str) -> Verdict | Pending:
    found = extract_answer(response, truncated)
    if found.answer is None:
        return _no_answer(found.rule)
    extracted = found.answer
    gold_text = canonical(gold)
    pred_text = canonical(extracted)
    gold_int = as_integer(gold_text)
    if gold_int is not None:
        pred_int = as_integer(pred_text)
        if pred_int is None:
            pred_int = as_integer(drop_assignment(pred_text))
        if pred_int is not None:
            return Verdict(extracted, pred_int == gold_int, "integer", found.rule)
        if is_plain_number(pred_text) or not any(ch.isdigit() for ch in pred_text):
            # A non-integer decimal, or words with no digit at all, cannot equal an integer.
            return Verdict(extracted, False, "integer", found.rule)
    if comparable_text(gold_text) == comparable_text(pred_text) and pred_text:
        return Verdict(extracted, True, "text", found.rule)
    gold_choice = choice_letter(gold_text, allow_label=True)
    pred_choice = choice_letter(pred_text)
    if gold_choice is not None and pred_choice is not None:
        return Verdict(extracted, gold_choice == pred_choice, "choice", found.rule)
    gold_number, pred_number = as_number(gold_text), as_number(drop_assignment(pred_text))
    if gold_number is not None and pred_number is not None:
        return Verdict(extracted, _numbers_equal(gold_number, pred_number), "number", found.rule)
    return Pending(extracted, found.rule, gold, extracted, written_gold)


def _numbers_equal(gold: tuple[Decimal, bool], pred: tuple[Decimal, bool]) -> bool:
    """Exact decimal equality; a percent on one side only also matches its fraction (25% = 0.25)."""
    (g, g_pct), (p, p_pct) = gold, pred
    if g == p:
        return True
    if g_pct != p_pct:
        return (g / 100 == p) if g_pct else (p / 100 == g)
    return False


def _strict_int(response: str, gold: str, truncated: bool) -> Verdict:
    found = extract_answer(response, truncated)
    gold_int = as_integer(strip_delimiters(gold).replace(" ", ""))
    if gold_int is None:
        return Verdict(found.answer, False, "strict-int", found.rule, f"gold {gold!r} is not an integer")
    if found.answer is None:
        return _no_answer(found.rule)
    text = unwrap_box(found.answer).replace(" ", "").replace("$", "")
    if text.endswith(".0") or "%" in text:
        # strict: only integer literals ("025", "+25", "1,000" pass; "25.0" and "25%" do not)
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
        response = response[-MAX_RESPONSE_CHARS:]
    if rules == "dapo":
        return _dapo(response, gold)
    if rules == "math":
        return _math_fast(response, gold_answer(gold), truncated, gold)
    return _strict_int(response, gold_answer(gold), truncated)
