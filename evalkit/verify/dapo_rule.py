"""DAPO's own reward rule, reimplemented so that evaluation scores exactly what a verl training run rewards.

Behaviour is that of `compute_score` in verl's `verl/utils/reward_score/math_dapo.py` (verl 0.9.1, the version the
`reference-rules` extra installs and the tests compare against on every real response in ../shared), which verl's
`default_compute_score` uses for `math_dapo`, `math` and every `aime*` data source: only the last 300 characters of
the response are read; the answer is the last `Answer:` match there (case-insensitive, to the end of the line),
normalized with the Minerva-style rewrites below, and must equal the normalized gold as a string. When there is
no such line (its normalized answer is `[INVALID]`), the last complete `\\boxed{...}` in the final 100 of those
characters is the answer, and its content must equal the gold exactly as written (no normalization at all). No
symbolic comparison: "0.5" is not "\\frac{1}{2}". (verl 0.9.0 and earlier had no box fallback: a response without
an `Answer:` line scored nothing; responses written to DAPO's template, which ends in `Answer:`, score the same.)

One deliberate difference: gold integers lose leading zeros ("025" -> "25") before either comparison, because
DAPO's own AIME data writes them that way and evalkit's aime24 writes AIME's three digits: on a gold that is
not a zero-padded integer this rule is verl's function, verdict and extracted answer alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAIL_CHARS = 300
# Where verl looks for a box when there is no `Answer:` line: the end of the 300 characters above.
BOX_TAIL_CHARS = 100
BOX = "\\boxed{"
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


def dapo_gold(gold: str) -> str:
    """The gold as DAPO's data writes it: an integer without leading zeros ("025" -> "25"), anything else as is."""
    stripped = gold.strip()
    return (stripped.lstrip("0") or "0") if stripped.isascii() and stripped.isdigit() else gold


def last_box(text: str) -> str | None:
    """The content of the last complete `\\boxed{...}`, braces counted as verl counts them (escapes ignored)."""
    start = text.rfind(BOX)
    if start == -1:
        return None
    depth = 0
    for end in range(start, len(text)):
        if text[end] == "{":
            depth += 1
        elif text[end] == "}":
            depth -= 1
            if depth == 0:
                return text[start + len(BOX) : end]
    return None


def score(response: str, gold: str) -> DapoOutcome:
    """DAPO's verdict for one response (see the module docstring); `extracted` is what verl reports as `pred`:
    the normalized `Answer:` value, or the raw content of the fallback box, None where verl has `[INVALID]`."""
    tail = response[-TAIL_CHARS:]
    gold = dapo_gold(gold)
    matches = _ANSWER.findall(tail)
    normalized = normalize_final_answer(matches[-1] if matches else INVALID)
    if normalized != INVALID:
        return DapoOutcome(normalized, normalized, normalized == normalize_final_answer(gold), "answer-line")
    boxed = last_box(tail[-BOX_TAIL_CHARS:])
    if boxed is not None:
        return DapoOutcome(boxed, boxed, boxed == gold, "boxed")
    return DapoOutcome(None, normalized, False, "none")
