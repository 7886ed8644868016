"""The symbolic comparison run in this process, on every table row the verifier hands to a worker.

The verifier tables reach `symbolic.compare` only inside pool workers, where a failing comparison shows as a wrong
verdict far from its cause and where mutation testing's tracing cannot see which tests reach it. Here the same
payloads (built by the in-process first pass, exactly as the pool would receive them) go straight to `compare`,
and each must give the table's verdict and, where the table names one, the rule that decided.
"""

from __future__ import annotations

import pytest
from verifier_cases import EXTRACTION_CASES, NOTATION_PAIRS
from verifier_cases_notation import ALL_NOTATION_CASES

from evalkit.verify import symbolic
from evalkit.verify.rules import first_pass
from evalkit.verify.verdict import Pending

ROWS = (
    [(answer, gold, expected) for gold, answer, expected in NOTATION_PAIRS]
    + [(response, gold, expected) for response, gold, expected, _ in EXTRACTION_CASES]
    + [(response, gold, expected) for rows in ALL_NOTATION_CASES.values() for response, gold, expected, _ in rows]
)


def _symbolic_rows() -> list[tuple[str, str, bool, Pending]]:
    rows = []
    for response, gold, expected in ROWS:
        first = first_pass("math", response, gold, False)
        if isinstance(first, Pending):
            rows.append((response, gold, expected, first))
    return rows


SYMBOLIC_ROWS = _symbolic_rows()


def test_the_tables_send_many_rows_to_the_symbolic_comparison():
    # Enough that a broken comparison cannot hide among the rows the first pass settles.
    assert len(SYMBOLIC_ROWS) >= 100, len(SYMBOLIC_ROWS)
    assert {expected for *_, expected, _ in SYMBOLIC_ROWS} == {True, False}


def test_every_symbolic_row_gets_the_tables_verdict_in_process():
    # One pass, in table order and without clearing the gold cache between rows: a cache that answered one gold
    # for another would fail here, as it would in a long-lived worker.
    symbolic.clear_cache()
    wrong = []
    for response, gold, expected, pending in SYMBOLIC_ROWS:
        equal, rule, error = symbolic.compare((pending.gold, pending.prediction))
        if bool(equal) is not expected:
            wrong.append((response[-80:], gold, expected, rule, error))
    assert not wrong, "\n".join(map(repr, wrong))


def test_the_warm_up_leaves_no_gold_behind():
    symbolic.warm_up()
    assert symbolic.compare(("\\frac{1}{2}", "0.5")) == (True, "rounded", None)
    assert symbolic._gold_cache == {"\\frac{1}{2}": symbolic._parse("\\frac{1}{2}")}


def test_what_cannot_be_parsed_is_named():
    assert symbolic.compare(("\\", "1")) == (False, "math-verify", "gold answer could not be parsed")
    assert symbolic.compare(("\\frac{1}{2}", "\\")) == (
        False,
        "math-verify",
        "answer could not be parsed",
    )


@pytest.mark.parametrize(
    ("gold", "prediction", "verdict"),
    [
        ("\\frac{1}{2}", "\\dfrac{1}{2}", (True, "text", None)),  # the same text: nothing to parse
        # A decimal against an exact number: the rounding rule decides, also when it says no.
        ("\\frac{2}{3}", "0.67", (True, "rounded", None)),
        ("\\frac{2}{3}", "0.66", (False, "rounded", None)),  # truncated, not rounded
        ("-\\frac{2}{3}", "-0.667", (True, "rounded", None)),
        ("-\\frac{2}{3}", "0.667", (False, "rounded", None)),
        ("\\sqrt{2}", "1.41", (True, "rounded", None)),
        ("\\pi", "3.14", (True, "rounded", None)),
        ("\\pi", "3.15", (False, "rounded", None)),
        ("\\frac{5}{8}", "0.63", (False, "rounded", None)),  # a terminating gold is written exactly or not at all
        ("\\frac{1}{4}", "0.25", (True, "rounded", None)),  # a decimal equal to a terminating gold
        ("\\frac{5}{11}", "0.45", (True, "rounded", None)),  # 0.4545...: 0.45 is within half a unit
        ("\\frac{1}{30}", "0.03", (False, "rounded", None)),  # one significant digit is not enough
        ("\\frac{\\sqrt{2}}{100}", "0.01", (False, "rounded", None)),
        ("\\frac{\\sqrt{2}}{2}", "0.7071", (True, "rounded", None)),
        ("\\pi", "3.1416", (True, "rounded", None)),
        ("\\sqrt{8}", "2\\sqrt{2}", (True, "math-verify", None)),
        ("-\\frac{3}{4}", "-3/4", (True, "math-verify", None)),
        ("-\\frac{3}{4}", "3/4", (False, "math-verify", None)),
        ("\\frac{7}{2}", "7/2", (True, "math-verify", None)),
        ("30000", "3e4", (True, "math-verify", None)),
        ("30000", "3E4", (True, "math-verify", None)),
        ("30000", "3e5", (False, "math-verify", None)),
        ("\\frac{1}{2}", "\\cos(60^\\circ)", (True, "math-verify", None)),  # degrees inside a trigonometric function
        ("\\frac{1}{2}", "\\cos(30^\\circ)", (False, "math-verify", None)),
        ("\\frac{11}{4}", "2 3/4", (True, "math-verify", None)),  # a mixed number
        ("\\frac{11}{4}", "2 1/4", (False, "math-verify", None)),
        ("\\frac{5}{2}", "2 1/2", (True, "math-verify", None)),  # a mixed number, not 2 times 1/2
        ("2 3/4", "\\frac{11}{4}", (True, "math-verify", None)),  # in the gold too
        ("\\left[\\frac{1}{3}, \\frac{2}{3}\\right]", "[0.33, 0.67]", (True, "math-verify", None)),  # its places
        ("\\sqrt{-4}", "2.00", (False, "math-verify", None)),  # not a real number: no rounding rule
        ("\\sqrt{x^2}", "x", (False, "math-verify", None)),  # |x|: equal only for positive x, not said here
        ("-1+3i", "i(3+i)", (True, "complex", None)),
        ("\\sqrt[3]{x^2}", "x^{2/3}", (True, "positive-variables", None)),
        ("\\sqrt{x^3}", "x\\sqrt{x}", (True, "positive-variables", None)),
        ("\\sqrt{x^2 y}", "x\\sqrt{y}", (True, "positive-variables", None)),
        ("\\sqrt{x}\\sqrt{y}", "\\sqrt{xy}", (True, "positive-variables", None)),
        ("\\sqrt{x^3}", "x^2\\sqrt{x}", (False, "math-verify", None)),
        ("g(t) = 5t-1", "y = 5t-1", (True, "function", None)),
        ("f(x) = x^2", "y = x^2", (True, "function", None)),
        ("f(2) = 4", "y = 4", (False, "math-verify", None)),  # a value of f, not f itself
        ("f(x) = \\frac{1}{0}", "y = \\infty", (False, "math-verify", None)),
        # What sympy cannot compare is a no, not an error: no prediction is lost to a comparison that raises.
        ("\\frac{1}{0}", "\\infty", (False, "math-verify", None)),
        ("1", "\\frac{1}{", (False, "math-verify", None)),
        ("1", "x^^2", (False, "math-verify", None)),
        ("1", "\\sqrt[", (False, "math-verify", None)),
    ],
)
def test_the_verdict_and_the_rule_that_decided_it(gold, prediction, verdict):
    symbolic.clear_cache()
    equal, rule, error = symbolic.compare((gold, prediction))
    assert (bool(equal), rule, error) == verdict


def test_the_comparison_runs_in_any_thread_because_math_verify_alarms_are_off():
    # math-verify bounds its own time with SIGALRM, which only the main thread may set; the pool bounds the time
    # instead, so the comparison must not ask for it (it would raise here, in a thread).
    import threading

    pairs = [("\\frac{2}{3}", "0.67"), ("\\sqrt{8}", "2\\sqrt{2}"), ("g(t) = 5t-1", "y = 5t-1"), ("1", "2")]
    results: dict[str, object] = {}

    def compare_all():
        try:
            symbolic.clear_cache()
            results["verdicts"] = [symbolic.compare(pair) for pair in pairs]
        except Exception as error:  # noqa: BLE001 (the test reports it)
            results["error"] = error

    thread = threading.Thread(target=compare_all)
    thread.start()
    thread.join(60)
    assert "error" not in results, results.get("error")
    assert results["verdicts"] == [
        (True, "rounded", None),
        (True, "math-verify", None),
        (True, "function", None),
        (False, "math-verify", None),
    ]
