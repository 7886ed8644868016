"""Canonical text of an answer, so that notation-only differences compare equal before any symbolic work.

Pure string rewriting: every pattern is linear in the answer's length (no nested or overlapping repetition;
trailing units are matched word by word, not by a repeated alternation), safe to run in the calling process.
Also the exact value of a plainly written number (`0.5`, `1/2`, `\\dfrac12`, `2 3/4`, `4.1667e-2`, `25\\%`), which
majority voting and the rounding rule use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from evalkit.verify.extract import last_boxed
from evalkit.verify.languages import CJK_UNITS, CURRENCY_SIGNS, UNIT_WORDS, is_cjk, to_half_width

# Longer answers are compared as written: rewriting them would cost more than it could ever decide.
MAX_ANSWER_CHARS = 20_000
# Python refuses int() of longer digit strings (sys.int_max_str_digits); such answers compare as text.
MAX_INTEGER_DIGITS = 4_000

_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
# Not after a backslash: `\\ ` is a line break in a matrix, not the spacing command `\ `.
_SPACING = re.compile(r"(?<!\\)\\(?:[,;:! ]|quad|qquad|enspace|thinspace|medspace|thickspace|hspace\{[^{}]*\})|~")
# `12,\!345` and `12{,}345`: LaTeX thousands separators.
_LATEX_THOUSANDS = re.compile(r",\\!\s?|\{,\}")
_SIZING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])|\\displaystyle|\\textstyle")
_TEXT_WRAPPER = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox|rm|emph)\s*\{([^{}]*)\}"
)
# `\\frac12`, `\\sqrt2`, `\\sqrt x`: single-token arguments written without braces.
_BARE_ARGUMENTS = re.compile(r"\\frac\s?([0-9A-Za-z])\s?([0-9A-Za-z])|\\sqrt\s?([0-9A-Za-z])(?![A-Za-z])")


def _braced_arguments(match: re.Match) -> str:
    if match.group(3) is not None:
        return f"\\sqrt{{{match.group(3)}}}"
    return f"\\frac{{{match.group(1)}}}{{{match.group(2)}}}"


_ANNOTATED_NUMBER = re.compile(
    r"^([-+]?\d[\d,]*(?:\.\d+)?)\s*\\(?:text|textnormal|textrm|mbox|mathrm)\s*\{\s*[^\W\d_][^{}\d]{0,60}\}$"
)
_DEGREE = re.compile(r"\^\s*\{?\\circ\}?|°|\\degree")
# `5 \pmod{1000}`, `5 (\bmod 1000)`, `5 (mod 1000)` at the end: the residue is the value (AIME asks for remainders).
_MODULUS = re.compile(
    r"(?:\\pmod\s*\{[^{}]{1,40}\}|\\pmod\s*\d{1,40}|\(\s*\\?(?:bmod|mod)\s*\{?[^(){}]{1,40}\}?\s*\))\s*$"
)


def strip_modulus(text: str) -> str:
    """`5 \\pmod{1000}` -> `5`; looked for in the last 80 characters only."""
    match = _MODULUS.search(text, max(0, len(text) - 80))
    return text[: match.start()].rstrip() if match and text[: match.start()].strip() else text


_SUPERSCRIPT_POWER = re.compile(r"\^\s*\{?\s*[23]\s*\}?|[²³]")
_LEADING_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)")
_THOUSANDS = re.compile(r"^[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_PLAIN_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
_SIMPLE_LHS = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*(?:=|\\equiv)\s*(?P<rhs>[^=<>]+)$")
# "12 and 13", "1 or 2": one answer in several parts, written as a list.
_LIST_WORD = re.compile(r"\s*(?:,\s*)?\b(?:and|or)\b\s*")
_AND_FREE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")


def strip_delimiters(text: str) -> str:
    text = text.strip()
    changed = True
    while changed:
        changed = False
        for open_, close in _DELIMITERS:
            if len(text) >= len(open_) + len(close) and text.startswith(open_) and text.endswith(close):
                inner = text[len(open_) : len(text) - len(close)]
                # "$1$ and $2$" is not one math span.
                if open_ == "$" and "$" in inner.replace("\\$", ""):
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


def _is_unit(word: str) -> bool:
    word = word.strip(".")
    return (
        word.lower() in UNIT_WORDS
        or word in CJK_UNITS
        or (len(word) == 1 and word in CURRENCY_SIGNS)
        or (bool(word) and all(is_cjk(ch) for ch in word) and len(word) <= 2)
    )


def strip_units(text: str) -> str:
    """`12 cm`, `45 €`, `12个`, `25 square units`, `10 m^2`, `€45` -> the number; anything else unchanged.

    Word by word, not with a repeated regex alternation: "1 mmm...m" must stay linear (it is not a unit).
    """
    body = text.lstrip(CURRENCY_SIGNS + " ") if text[:1] in CURRENCY_SIGNS else text
    number = _LEADING_NUMBER.match(body)
    if number is None:
        return text
    rest = _SUPERSCRIPT_POWER.sub(" ", body[number.end() :]).replace("/", " ").strip()
    if not rest:
        return number.group() if body is not text else text
    words = rest.split()
    if len(words) > 4 or not all(_is_unit(word) for word in words):
        return text
    return number.group()


def strip_trailing_units(text: str) -> str:
    """`6\\pi cm^2`, `\\frac{1}{3} meters`: unit words (two letters or more) after a value that is not a plain
    number; single letters stay, they may be variables."""
    for _ in range(4):
        head, _, last = text.rpartition(" ")
        word = _SUPERSCRIPT_POWER.sub("", last).strip(".")
        if not head.strip() or len(word) < 2 or not _is_unit(word) or not (head[-1].isalnum() or head[-1] in "})"):
            break
        text = head.rstrip()
    return text


def _join_list_words(text: str) -> str:
    """`12 and 13` -> `12, 13` when the parts are values, not words ("Alice and Bob" stays)."""
    if " and " not in text and " or " not in text:
        return text
    joined = _LIST_WORD.sub(", ", text)
    return text if _AND_FREE_WORD.search(joined) else joined


def canonical(answer: str) -> str:
    """Rewrite notation that never changes a value: delimiters, spacing, sizing, \\dfrac, text wrappers, units."""
    if len(answer) > MAX_ANSWER_CHARS:
        return answer.strip()
    text = unwrap_box(to_half_width(answer))
    text = _LATEX_THOUSANDS.sub(",", text)
    text = _SPACING.sub(" ", text)
    text = _SIZING.sub("", text)
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    text = _BARE_ARGUMENTS.sub(_braced_arguments, text)
    text = text.replace("\\!", "")
    annotated = _ANNOTATED_NUMBER.match(text)
    if annotated:
        text = annotated.group(1)  # `17 \text{ apples}`: a number and words about it
    for _ in range(3):
        new = _TEXT_WRAPPER.sub(r"\1", text)
        if new == text:
            break
        text = new
    text = _DEGREE.sub("", text)
    text = strip_modulus(text)
    text = text.replace("\\%", "%").replace("\\$", "").replace("$", "")
    text = re.sub(r"\s+", " ", text).strip().rstrip(".").strip()
    text = strip_units(text)
    text = strip_trailing_units(text)
    text = _join_list_words(text)
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    elif _DECIMAL_COMMA.match(text) and _unambiguous_decimal_comma(text):
        text = text.replace(",", ".")
    text = text.replace("\\lt ", "<").replace("\\gt ", ">").replace("!=", "\\neq ")
    return text


def _unambiguous_decimal_comma(text: str) -> bool:
    """`2,74`, `0,111`, `1000,99` are decimals; `1,2` and `-2,1` may be lists of two values and stay so."""
    whole, _, fraction = text.lstrip("+-").partition(",")
    return whole == "0" or (len(fraction) >= 2 and len(fraction) != 3)


def decimal_comma(text: str) -> str:
    """`3,5` read as the decimal 3.5: only where the gold is a number, so a list cannot be meant."""
    return text.replace(",", ".") if _DECIMAL_COMMA.match(text) and not _THOUSANDS.match(text) else text


def drop_assignment(text: str) -> str:
    """`x = 3` -> `3`, for comparing against a gold answer that is not itself an equation."""
    match = _SIMPLE_LHS.match(text)
    return match.group("rhs").strip() if match else text


def as_integer(text: str) -> int | None:
    """The integer an answer plainly writes (`025`, `25.0`, `+25`, `1,000`, `25%` with no other content)."""
    candidate = text.strip().rstrip("%").strip()
    if _THOUSANDS.match(candidate):
        candidate = candidate.replace(",", "")
    if len(candidate) > MAX_INTEGER_DIGITS or not _PLAIN_NUMBER.match(candidate):
        return None
    if "." in candidate:
        whole, _, fraction = candidate.partition(".")
        if fraction.strip("0"):
            return None
        candidate = whole if whole not in ("", "+", "-") else "0"
    return int(candidate)


def is_plain_number(text: str) -> bool:
    candidate = text.strip()
    if _THOUSANDS.match(candidate):
        candidate = candidate.replace(",", "")
    return bool(_PLAIN_NUMBER.match(candidate))


# ---------------------------------------------------------------------------------------------------------------
# Exact values of plainly written numbers


@dataclass(frozen=True)
class Number:
    """An exactly known number: its value, the decimal places it states (None: written exactly, as an integer or
    fraction), and whether it was written as a percent."""

    value: Fraction
    decimals: int | None = None
    percent: bool = False


_DECIMAL = re.compile(r"^(?P<sign>[-+]?)(?P<whole>\d*)\.(?P<fraction>\d+)$")
_INTEGER = re.compile(r"^[-+]?\d+$")
_SCIENTIFIC = re.compile(
    r"^(?P<mantissa>[-+]?(?:\d+(?:\.\d+)?|\.\d+))\s*(?:[eE](?P<e>[-+]?\d{1,4})"
    r"|(?:\\times|\\cdot|×|\*|x)\s*10\s*\^\s*(?:\{\s*(?P<b>[-+]?\d{1,4})\s*\}|(?P<c>[-+]?\d)))$"
)
_POWER_OF_TEN = re.compile(r"^10\s*\^\s*(?:\{\s*(?P<b>[-+]?\d{1,4})\s*\}|(?P<c>[-+]?\d))$")
_SLASH_FRACTION = re.compile(r"^(?P<sign>[-+]?)(?P<n>\d+)\s*/\s*(?P<d>\d+)$")
_LATEX_FRACTION = re.compile(
    r"^(?P<sign>[-+]?)\s*\\frac\s*(?:\{\s*(?P<n>[-+]?\d+)\s*\}|(?P<n1>\d))\s*(?:\{\s*(?P<d>[-+]?\d+)\s*\}|(?P<d1>\d))$"
)
_MIXED = re.compile(
    r"^(?P<sign>[-+]?)(?P<whole>\d+)(?:\s+(?P<n>\d+)\s*/\s*(?P<d>\d+)"
    r"|\s*\\frac\s*(?:\{\s*(?P<n2>\d+)\s*\}|(?P<n3>\d))\s*(?:\{\s*(?P<d2>\d+)\s*\}|(?P<d3>\d)))$"
)


def _decimal_value(text: str) -> Number | None:
    match = _DECIMAL.match(text)
    if match:
        digits = match.group("whole") + match.group("fraction")
        if len(digits) > MAX_INTEGER_DIGITS:
            return None
        value = Fraction(int(digits), 10 ** len(match.group("fraction")))
        return Number(-value if match.group("sign") == "-" else value, len(match.group("fraction")))
    if _INTEGER.match(text) and len(text) <= MAX_INTEGER_DIGITS:
        return Number(Fraction(int(text)))
    return None


def as_rational(text: str) -> Number | None:
    """The exact value of a plainly written number, with the precision it states; None for anything else.

    `12`, `1,000`, `0.5`, `.5`, `1/2`, `\\frac{1}{2}`, `\\frac12`, `-\\frac{2}{3}`, mixed numbers (`2 3/4`,
    `2\\frac{3}{4}`), scientific notation (`4.1667e-2`, `4.1667 \\times 10^{-2}`, `10^{-3}`), percents (`25%`).
    Expects canonical text.
    """
    candidate = text.strip()
    percent = candidate.endswith("%")
    if percent:
        candidate = candidate[:-1].strip()
    if len(candidate) > MAX_INTEGER_DIGITS + 40:
        return None
    if _THOUSANDS.match(candidate):
        candidate = candidate.replace(",", "")
    number = _decimal_value(candidate)
    if number is None:
        number = _fraction_value(candidate)
    if number is None:
        number = _scientific_value(candidate)
    if number is None:
        return None
    return Number(number.value, number.decimals, percent)


def _fraction_value(candidate: str) -> Number | None:
    for pattern in (_SLASH_FRACTION, _LATEX_FRACTION):
        match = pattern.match(candidate)
        if match:
            groups = match.groupdict()
            numerator = int(groups.get("n") or groups.get("n1"))
            denominator = int(groups.get("d") or groups.get("d1"))
            if denominator == 0:
                return None
            value = Fraction(numerator, denominator)
            return Number(-value if match.group("sign") == "-" else value)
    match = _MIXED.match(candidate)
    if match:
        numerator = int(match.group("n") or match.group("n2") or match.group("n3"))
        denominator = int(match.group("d") or match.group("d2") or match.group("d3"))
        # A proper fraction after a whole number is a mixed number; "2 5/3" is not how anyone writes one.
        if denominator == 0 or numerator >= denominator:
            return None
        value = int(match.group("whole")) + Fraction(numerator, denominator)
        return Number(-value if match.group("sign") == "-" else value)
    return None


def _scientific_value(candidate: str) -> Number | None:
    match = _SCIENTIFIC.match(candidate)
    if match:
        mantissa = _decimal_value(match.group("mantissa").lstrip("+"))
        if mantissa is None:
            return None
        exponent = int(match.group("e") or match.group("b") or match.group("c"))
        # 1.2e3 states its hundreds: -2 decimal places. An integer mantissa (5e-3) is exact.
        stated = (mantissa.decimals or 0) - exponent
        return Number(mantissa.value * Fraction(10) ** exponent, stated if mantissa.decimals else None)
    match = _POWER_OF_TEN.match(candidate)
    if match:
        return Number(Fraction(10) ** int(match.group("b") or match.group("c")))
    return None


def terminates(value: Fraction) -> bool:
    """Whether a rational has a finite decimal expansion (its denominator has no prime factor but 2 and 5)."""
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def significant_digits(number: Number) -> int:
    """How many significant digits a decimal states: `0.67` has 2, `4.1667e-2` has 5, `3.10` has 3."""
    if number.decimals is None:
        return 0
    scaled = abs(number.value) * Fraction(10) ** number.decimals
    return len(str(round(scaled))) if scaled else 0


# Rounding rule: a decimal prediction matches an exact gold when it is that gold correctly rounded to the
# precision the prediction states, with at least this many significant digits.
MIN_ROUNDED_DIGITS = 2


def rounds_to(gold: Fraction, prediction: Number) -> bool:
    """Whether `prediction` (a decimal) is the exact `gold` rounded to the decimal places it states.

    Never looser than the gold allows: a gold with a finite decimal expansion (`5/8` = 0.625, any integer) must be
    written exactly, and the prediction must state at least MIN_ROUNDED_DIGITS significant digits.
    """
    if prediction.decimals is None or prediction.value == gold:
        return prediction.value == gold
    if terminates(gold) or significant_digits(prediction) < MIN_ROUNDED_DIGITS:
        return False
    return abs(gold - prediction.value) * 2 * Fraction(10) ** prediction.decimals <= 1


def comparable_text(text: str) -> str:
    """The form used for string equality: canonical, spaces and case folded."""
    return re.sub(r"\s+", "", canonical(text)).lower()


def vote_key(answer: str) -> str:
    """The key majority voting groups answers by: equivalent plain numbers are one vote.

    `025`, `25` and `\\boxed{25}` are one vote; so are `0.5`, `1/2`, `\\frac{1}{2}`, `\\dfrac12` and `x = 1/2`. A
    percent votes with its number (`50\\%` with `50`): models answering "what percent" write either. Other
    answers vote by their canonical text. No symbolic work: this runs in process for every sample.
    """
    text = canonical(answer)
    for candidate in (text, drop_assignment(text)):
        number = as_rational(candidate.rstrip("%").strip() if candidate.endswith("%") else candidate)
        if number is not None:
            value = number.value
            return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return comparable_text(text)


_CHOICE = re.compile(r"^(?P<open>\()?([A-E])(?P<mark>\)|[.:)])?(?:$|\s+(?P<label>\S.*)$)")


def choice_letter(text: str, allow_label: bool = False) -> str | None:
    """The option letter of a multiple-choice answer: `C`, `(C)`, `C.`; with allow_label also `(D) Alina`.

    Without allow_label a label is still read after a marked letter (`C. x = 42`, `(C) 42`), never after a bare
    one: `A function` is a sentence, not option A.
    """
    match = _CHOICE.match(text.strip())
    if not match or (match.group("label") and not allow_label and not (match.group("open") or match.group("mark"))):
        return None
    return match.group(2)
