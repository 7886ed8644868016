"""Symbolic answer comparison with math-verify and sympy; runs only inside BoundedPool worker processes.

math-verify's own SIGALRM timeouts are switched off (parsing_timeout=None, timeout_seconds=None): the pool
enforces the time limit by killing the worker, which works whatever thread or library is stuck.
"""

from __future__ import annotations

import logging
import warnings

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from evalkit.verify.normalize import canonical, drop_assignment

# math-verify warns once per process that its timeouts are off; that is deliberate here.
logging.getLogger("math_verify").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", module="math_verify")

_EXTRACTION = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())


def _parse(answer: str) -> list:
    return parse(f"${answer}$", extraction_config=_EXTRACTION, parsing_timeout=None, raise_on_error=False)


def _variants(answer: str, gold_is_relation: bool) -> list[str]:
    forms = [answer, canonical(answer)]
    if not gold_is_relation:
        forms.append(drop_assignment(forms[-1]))
    unique: list[str] = []
    for form in forms:
        if form and form not in unique:
            unique.append(form)
    return unique


def compare(payload: tuple[str, str, str]) -> tuple[bool, str, str | None]:
    """(gold answer, prediction, gold as the dataset wrote it) -> (equal, how it was decided, error).

    Gold comes first: the comparison is not symmetric. A gold written with several boxes ("\\boxed{1} and
    \\boxed{2}") is also read whole by math-verify, which collects the boxes of one statement into a set.
    """
    gold, prediction, written_gold = payload
    gold_forms = _variants(gold, gold_is_relation=True)
    gold_is_relation = any(c in canonical(gold) for c in "=<>") or "\\le" in gold or "\\ge" in gold
    pred_forms = _variants(prediction, gold_is_relation)
    parsed_gold = [g for g in (_parse(form) for form in gold_forms) if g]
    if written_gold.count("\\boxed") > 1:
        whole = parse(written_gold, extraction_config=_EXTRACTION, parsing_timeout=None, raise_on_error=False)
        if whole:
            parsed_gold.append(whole)
    if not parsed_gold:
        return False, "math-verify", "gold answer could not be parsed"
    parsed_any = False
    for form in pred_forms:
        parsed = _parse(form)
        if not parsed:
            continue
        parsed_any = True
        for gold_parsed in parsed_gold:
            if verify(gold_parsed, parsed, timeout_seconds=None, raise_on_error=False):
                return True, "math-verify", None
    if not parsed_any:
        return False, "math-verify", "answer could not be parsed"
    return False, "math-verify", None


def warm_up() -> None:
    """Import-time work (sympy, the LaTeX grammar) done once in the fork server, not in every worker."""
    compare(("\\frac{1}{2}", "0.5", "\\frac{1}{2}"))


warm_up()
