"""DAPO's own reward rule, reimplemented so DAPO's published numbers can be reproduced exactly.

Behaviour follows verl's `verl/utils/reward_score/math_dapo.py` (the rule DAPO trained and evaluated with):
only the last 300 characters of the response are read; the answer is the last `Answer:` match there
(case-insensitive, to the end of the line); it is normalized with the Minerva-style rewrites below and must
then equal the normalized gold answer as a string. No symbolic comparison: "0.5" is not "\\frac{1}{2}".

One deliberate difference: gold integers lose leading zeros ("025" -> "25") because DAPO's own AIME 2024 data
writes them that way, and this rule is for reproducing DAPO's numbers on the same problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAIL_CHARS = 300
_ANSWER = re.compile(r"(?i)Answer\s*:\s*([^\n]+)")
INVALID = "[INVALID]"

_SUBSTITUTIONS = (
    ("an ", ""),
    ("a ", ""),
    (".$", "$"),
    ("\\$", ""),
    ("\\ ", ""),
    (" ", ""),
    ("mbox", "text"),
    (",\\text{and}", ","),
    ("\\text{and}", ","),
    ("\\text{m}", "\\text{}"),
)
_REMOVED = (
    "square",
    "ways",
    "integers",
    "dollars",
    "mph",
    "inches",
    "hours",
    "km",
    "units",
    "\\ldots",
    "sue",
    "points",
    "feet",
    "minutes",
    "digits",
    "cents",
    "degrees",
    "cm",
    "gm",
    "pounds",
    "meters",
    "meals",
    "edges",
    "students",
    "childrentickets",
    "multiples",
    "\\text{s}",
    "\\text{.}",
    "\\text{\ns}",
    "\\text{}^2",
    "\\text{}^3",
    "\\text{\n}",
    "\\text{}",
    "\\mathrm{th}",
    "^\\circ",
    "^{\\circ}",
    "\\;",
    ",\\!",
    "{,}",
    '"',
    "\\dots",
)


@dataclass(frozen=True)
class DapoOutcome:
    extracted: str | None
    normalized: str
    correct: bool
    found_by: str


def normalize_final_answer(answer: str) -> str:
    """The Minerva normalization as DAPO applies it: keep the right side of `=`, drop units and wrappers."""
    answer = answer.split("=")[-1]
    for before, after in _SUBSTITUTIONS:
        answer = answer.replace(before, after)
    for expression in _REMOVED:
        answer = answer.replace(expression, "")
    # Only the first $...$ span survives; \text{X}, \textbf{X}, \overline{X}, \boxed{X} become X.
    answer = re.sub(r"(.*?)(\$)(.*?)(\$)(.*)", "$\\3$", answer)
    answer = re.sub(r"(\\text\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\textbf\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\overline\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\boxed\{)(.*)(\})", "\\2", answer)
    # \frac12 -> \frac{1}{2}, \sqrt2 -> \sqrt{2}
    answer = re.sub(r"(frac)([^{])(.)", "frac{\\2}{\\3}", answer)
    answer = re.sub(r"(sqrt)([^{])", "sqrt{\\2}", answer)
    answer = answer.replace("$", "")
    if answer.replace(",", "").isdigit():
        answer = answer.replace(",", "")
    return answer.strip()


def normalize_gold(gold: str) -> str:
    normalized = normalize_final_answer(gold)
    if normalized.isdigit():
        normalized = str(int(normalized))
    return normalized


def score(response: str, gold: str) -> DapoOutcome:
    """DAPO's verdict for one response: correct iff the normalized last `Answer:` equals the normalized gold."""
    matches = _ANSWER.findall(response[-TAIL_CHARS:])
    extracted = matches[-1] if matches else None
    normalized = normalize_final_answer(extracted if extracted is not None else INVALID)
    correct = extracted is not None and normalized == normalize_gold(gold)
    return DapoOutcome(extracted, normalized, correct, "answer-line" if extracted is not None else "none")
