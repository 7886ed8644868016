"""Canonical text of an answer, so that notation-only differences compare equal before any symbolic work.

Pure string rewriting: linear in the answer's length, safe to run in the calling process.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from evalkit.verify.extract import last_boxed

MAX_ANSWER_CHARS = 2_000

_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_SPACING = re.compile(r"\\(?:[,;:! ]|quad|qquad|enspace|thinspace|medspace|thickspace|hspace\{[^{}]*\})|~")
_SIZING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])|\\displaystyle|\\textstyle")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|rm|emph)\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\\circ\}?|°|\\degree")
# Unit words that a careful grader ignores after a number ("25 minutes", "10 cm", "\$5", "5 dollars").
_UNIT_WORDS = (
    "degrees?|minutes?|mins?|hours?|hrs?|seconds?|secs?|days?|weeks?|months?|years?|"
    "dollars?|cents?|units?|square|sq|cubic|feet|foot|ft|inches|inch|in|meters?|metres?|m|cm|mm|km|"
    "miles?|mi|yards?|yd|kilometers?|centimeters?|millimeters?|grams?|g|kg|pounds?|lbs?|ounces?|oz|"
    "liters?|litres?|l|ml|gallons?|mph|kmh|people|persons?|students?|ways?|points?|steps?|coins?|times?"
)
_TRAILING_UNITS = re.compile(
    rf"^(?P<value>[-+]?[\d.,]*\d[\d.,]*)\s*(?:\^?\{{?[23]\}}?)?\s*(?:(?:{_UNIT_WORDS})\.?(?:\^?\{{?[23]\}}?)?\s*)+$",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(r"^[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")
# "2,74" or "0,111" (no space, not groups of three after a non-zero lead): a decimal comma.
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_PLAIN_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
_SIMPLE_LHS = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?P<rhs>[^=<>]+)$")


def strip_delimiters(text: str) -> str:
    text = text.strip()
    changed = True
    while changed:
        changed = False
        for open_, close in _DELIMITERS:
            if len(text) >= len(open_) + len(close) and text.startswith(open_) and text.endswith(close):
                inner = text[len(open_) : len(text) - len(close)]
                # "$1$ and $2$" is not one math span.
                if open_ == "$" and "$" in inner:
                    continue
                text = inner.strip()
                changed = True
    return text


def unwrap_box(text: str) -> str:
    """`\\boxed{X}` (possibly inside $...$) becomes X; anything else is returned unchanged."""
    stripped = strip_delimiters(text)
    if stripped.startswith(("\\boxed", "\\fbox")):
        box = last_boxed(stripped)
        if box is not None and box.answer is not None and box.position == 0:
            return box.answer
    return stripped


def canonical(answer: str) -> str:
    """Rewrite notation that never changes a value: delimiters, spacing, sizing, \\dfrac, text wrappers, units."""
    text = unwrap_box(answer[:MAX_ANSWER_CHARS])
    text = _SPACING.sub(" ", text)
    text = _SIZING.sub("", text)
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = text.replace("{,}", ",").replace("\\!", "")
    for _ in range(3):
        new = _TEXT_WRAPPER.sub(r"\1", text)
        if new == text:
            break
        text = new
    text = _DEGREE.sub("", text)
    text = text.replace("\\%", "%").replace("\\$", "").replace("$", "")
    text = re.sub(r"\s+", " ", text).strip().rstrip(".").strip()
    units = _TRAILING_UNITS.match(text)
    if units:
        text = units.group("value")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    elif _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    text = text.replace("\\lt ", "<").replace("\\gt ", ">").replace("!=", "\\neq ")
    return text


def drop_assignment(text: str) -> str:
    """`x = 3` -> `3`, for comparing against a gold answer that is not itself an equation."""
    match = _SIMPLE_LHS.match(text)
    return match.group("rhs").strip() if match else text


def as_integer(text: str) -> int | None:
    """The integer an answer plainly writes (`025`, `25.0`, `+25`, `1,000`, `25%` with no other content)."""
    candidate = text.strip().rstrip("%").strip()
    if _THOUSANDS.match(candidate):
        candidate = candidate.replace(",", "")
    if not _PLAIN_NUMBER.match(candidate):
        return None
    if "." in candidate:
        whole, _, fraction = candidate.partition(".")
        if fraction.strip("0"):
            return None
        candidate = whole if whole not in ("", "+", "-") else "0"
    return int(candidate)


def as_number(text: str) -> tuple[Decimal, bool] | None:
    """(value, written as a percent) for a plainly written decimal number such as `12.5`, `1,000`, `12.5%`."""
    candidate = text.strip()
    percent = candidate.endswith("%")
    candidate = candidate.rstrip("%").strip()
    if _THOUSANDS.match(candidate):
        candidate = candidate.replace(",", "")
    if not _PLAIN_NUMBER.match(candidate):
        return None
    try:
        return Decimal(candidate), percent
    except InvalidOperation:
        return None


def is_plain_number(text: str) -> bool:
    candidate = text.strip()
    if _THOUSANDS.match(candidate):
        candidate = candidate.replace(",", "")
    return bool(_PLAIN_NUMBER.match(candidate))


def comparable_text(text: str) -> str:
    """The form used for string equality and for majority voting: canonical, spaces and case folded."""
    return re.sub(r"\s+", "", canonical(text)).lower()


def vote_key(answer: str) -> str:
    """The key majority voting groups answers by: `025`, `25` and `\\boxed{25}` are one vote."""
    text = canonical(answer)
    value = as_integer(text)
    if value is None:
        value = as_integer(drop_assignment(text))
    return str(value) if value is not None else comparable_text(text)


_CHOICE = re.compile(r"^\(?([A-E])\)?(?:[.:]?$|[.:)]?\s+(?P<label>\S.*)$)")


def choice_letter(text: str, allow_label: bool = False) -> str | None:
    """The option letter of a multiple-choice answer: `C`, `(C)`, `C.`; with allow_label also `(D) Alina`."""
    match = _CHOICE.match(text.strip())
    if not match or (match.group("label") and not allow_label):
        return None
    return match.group(1)
