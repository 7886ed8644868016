"""Symbolic answer comparison with math-verify and sympy; runs only inside BoundedPool worker processes.

math-verify's own SIGALRM timeouts are switched off (parsing_timeout=None, timeout_seconds=None): the pool
enforces the time limit by killing the worker, which works whatever thread or library is stuck.

Per check, the cheapest path first: a gold answer is parsed once per worker and reused (a run checks the same
gold n times), the prediction is parsed once in its canonical form (its raw form only when that fails), and
the extra comparisons math-verify lacks (the rounding rule, complex numbers, function notation) run only after
math-verify said no.
"""

from __future__ import annotations

import logging
import re
import warnings
from fractions import Fraction

import sympy
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from evalkit.verify.normalize import (
    MIN_ROUNDED_DIGITS,
    Number,
    as_rational,
    canonical,
    comparable_text,
    drop_assignment,
    significant_digits,
    terminates,
)

# math-verify warns once per process that its timeouts are off; that is deliberate here.
logging.getLogger("math_verify").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", module="math_verify")

_EXTRACTION = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
DEFAULT_FLOAT_ROUNDING = 6
# Parsed golds kept per worker; a run's golds number in the hundreds, so this never evicts in practice.
GOLD_CACHE_SIZE = 4096
_gold_cache: dict[str, list] = {}

_TRIG = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc)\b")
_DEGREES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°|\\degree)")
_SCIENTIFIC_E = re.compile(r"(\d)[eE]([-+]?\d{1,4})(?![\w{])")
_DECIMAL_IN_TEXT = re.compile(r"(?<![\d.])\d*\.(\d+)(?![\d.])")


def clear_cache() -> None:
    """Forget parsed golds (benchmarks use this to time cold and warm work apart)."""
    _gold_cache.clear()


def _parse(answer: str) -> list:
    return parse(f"${answer}$", extraction_config=_EXTRACTION, parsing_timeout=None)


def symbolic_form(answer: str) -> str:
    """Canonical text, with what math-verify's parser misreads rewritten: degrees inside trigonometric
    functions as radians (`\\cos(90^\\circ - x)`), `4.1667e-2` as a power of ten, mixed numbers (`2 3/4`)."""
    text = answer
    if _TRIG.search(text):
        text = _DEGREES.sub(r"(\1\\pi/180)", text)
    text = canonical(text)
    number = as_rational(text)
    if number is not None and number.decimals is None and number.value.denominator != 1:
        sign = "-" if number.value < 0 else ""
        return f"{sign}\\frac{{{abs(number.value.numerator)}}}{{{number.value.denominator}}}"
    return _SCIENTIFIC_E.sub(r"\1\\times 10^{\2}", text)


def _parsed_gold(gold: str) -> list:
    cached = _gold_cache.get(gold)
    if cached is not None:
        return cached
    # The canonical form, as the prediction is parsed. (Parsing the text as written when that failed was tried
    # and dropped: of the 698 golds and answers in the tables and the datasets, none needed it.)
    form = symbolic_form(gold)
    parsed = _parse(form) if form else []
    if len(_gold_cache) >= GOLD_CACHE_SIZE:
        _gold_cache.clear()
    _gold_cache[gold] = parsed
    return parsed


def _float_rounding(prediction: str) -> int:
    """The decimal places a prediction states (its most precise decimal, at least 2), else math-verify's default.

    For intervals, tuples and matrices with decimal entries; a single decimal goes through `_rounded_match`.
    """
    places = [len(m.group(1)) for m in _DECIMAL_IN_TEXT.finditer(prediction[:2000])]
    return max(2, *places) if places else DEFAULT_FLOAT_ROUNDING


def _expression(parsed: list):
    return parsed[0] if parsed and isinstance(parsed[0], sympy.Basic) else None


def _numeric_gold(parsed: list):
    """The gold as one real number (`\\sqrt{3}`, `\\pi`, `\\frac{\\sqrt{2}}{2}`), or None."""
    expression = _expression(parsed)
    if expression is None or isinstance(expression, (sympy.Set, sympy.Tuple)) or not expression.is_number:
        return None
    return expression if expression.is_real else None


def _rounded_match(gold, number: Number) -> bool:
    """The rounding rule (see `normalize.rounds_to`) for a decimal against a gold that is one exact number."""
    if gold.is_Rational:
        exact = Fraction(int(gold.p), int(gold.q))
        if exact == number.value:
            return True
        return not terminates(exact) and _within_half_unit(exact, number)
    if significant_digits(number) < MIN_ROUNDED_DIGITS:
        return False
    value = gold.evalf((number.decimals or 0) + 30)
    difference = abs(sympy.Rational(number.value.numerator, number.value.denominator) - value)
    return bool(difference * 2 * sympy.Rational(10) ** (number.decimals or 0) <= 1)


def _within_half_unit(gold: Fraction, number: Number) -> bool:
    if significant_digits(number) < MIN_ROUNDED_DIGITS:
        return False
    return abs(gold - number.value) * 2 * Fraction(10) ** (number.decimals or 0) <= 1


def _complex_match(gold: list, prediction: list) -> bool:
    """`i(3+i)` = `-1+3i`: math-verify reads i as a variable, so products of complex numbers stay unexpanded."""
    g, p = _expression(gold), _expression(prediction)
    if g is None or p is None or isinstance(g, sympy.Set) or isinstance(p, sympy.Set):
        return False
    symbols = g.free_symbols | p.free_symbols
    # math-verify's parser makes i a real symbol; any symbol named i is the imaginary unit here.
    if not symbols or any(getattr(symbol, "name", "") != "i" for symbol in symbols):
        return False
    difference = sympy.expand((g - p).subs({symbol: sympy.I for symbol in symbols}))
    return bool(difference == 0)


def _has_fractional_power(expression) -> bool:
    return any(power.exp.is_Rational and not power.exp.is_Integer for power in expression.atoms(sympy.Pow))


def _positive_variables_match(gold: list, prediction: list) -> bool:
    """`\\sqrt[3]{x^2}` = `x^{2/3}`: equal for the positive values a variable under a root stands for.

    sympy keeps them apart (they differ on its principal branch for negative x); only tried when both sides
    hold a fractional power, so a wrong polynomial answer costs no simplification.
    """
    g, p = _expression(gold), _expression(prediction)
    if g is None or p is None or not isinstance(g, sympy.Expr) or not isinstance(p, sympy.Expr):
        return False
    symbols = g.free_symbols | p.free_symbols
    if not symbols or not (_has_fractional_power(g) and _has_fractional_power(p)):
        return False
    # Positive symbols are what lets powdenest merge the roots; no force needed.
    positive = {symbol: sympy.Symbol(symbol.name, positive=True) for symbol in symbols}
    difference = sympy.simplify(sympy.powdenest((g - p).subs(positive)))
    return bool(difference == 0)


def _is_name(side) -> bool:
    return isinstance(side, sympy.Symbol) or (
        isinstance(side, sympy.core.function.AppliedUndef) and all(isinstance(a, sympy.Symbol) for a in side.args)
    )


def _function_match(gold: list, prediction: list) -> bool:
    """`g(t) = 5t-1` = `y = 5t-1`: two definitions of one function, named differently; compared by right sides.

    Only when one side names a function (`f(x) = ...`): `x = 1` and `y = 1` still differ.
    """
    g, p = _expression(gold), _expression(prediction)
    if not isinstance(g, sympy.Eq) or not isinstance(p, sympy.Eq):
        return False
    if not (_is_name(g.lhs) and _is_name(p.lhs)) or g.lhs == p.lhs:
        return False
    if not any(isinstance(side, sympy.core.function.AppliedUndef) for side in (g.lhs, p.lhs)):
        return False
    return bool(verify(g.rhs, p.rhs, timeout_seconds=None))


def compare(payload: tuple[str, str | tuple[str, ...]]) -> tuple[bool, str, str | None]:
    """(gold answer, prediction) -> (equal, the rule that decided, error).

    Gold comes first: the comparison is not symmetric. Rules: `text` (equal canonical text), `math-verify`,
    `rounded` (a decimal that is the exact gold rounded to the places it states), `complex` (i as the imaginary
    unit), `function` (`g(t) = ...` against `y = ...`), `positive-variables` (roots and fractional powers). A
    tuple of predictions is the candidates of a hedge (hedge.py): equal only if each of them is, else `hedge`.
    """
    gold, prediction = payload
    if isinstance(prediction, tuple):
        outcomes = [_compare_one(gold, candidate) for candidate in prediction]
        if all(equal for equal, _, _ in outcomes):
            return outcomes[-1]
        return False, "hedge", None
    return _compare_one(gold, prediction)


def _compare_one(gold: str, prediction: str) -> tuple[bool, str, str | None]:
    gold_text = comparable_text(gold)
    pred_texts = (comparable_text(prediction), comparable_text(drop_assignment(canonical(prediction))))
    if gold_text and gold_text in pred_texts:
        return True, "text", None  # the same answer in other notation: nothing to parse
    parsed_gold = _parsed_gold(gold)
    if not parsed_gold:
        return False, "math-verify", "gold answer could not be parsed"
    form = symbolic_form(prediction)
    parsed = _parse(form) if form else []
    if not parsed:
        return False, "math-verify", "answer could not be parsed"
    number = as_rational(form)
    decimal = number if number is not None and number.decimals is not None else None
    numeric_gold = _numeric_gold(parsed_gold) if decimal is not None else None
    if numeric_gold is not None:
        # One decimal against one exact number: the rounding rule decides (math-verify's fixed six places would
        # reject 0.67 for 2/3 and, at fewer places, accept 0.3 for 1/3).
        return _rounded_match(numeric_gold, decimal), "rounded", None
    if verify(parsed_gold, parsed, float_rounding=_float_rounding(form), timeout_seconds=None):
        return True, "math-verify", None
    if _complex_match(parsed_gold, parsed):
        return True, "complex", None
    if _function_match(parsed_gold, parsed):
        return True, "function", None
    if _positive_variables_match(parsed_gold, parsed):
        return True, "positive-variables", None
    return False, "math-verify", None


def warm_up() -> None:
    """Import-time work (sympy, the LaTeX grammar) done once in the fork server, not in every worker."""
    compare(("\\frac{1}{2}", "0.5"))
    clear_cache()


warm_up()
