"""Agreement with Math-Verify's own test tables (README, "The verifier"), when a checkout is at hand.

Math-Verify is not shipped here: set EVALKIT_MATH_VERIFY_CHECKOUT to a checkout of huggingface/Math-Verify to run
this (bench/verify_agreement.py prints the same figures and every disagreement).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from evalkit.verify import Verifier

CHECKOUT = os.environ.get("EVALKIT_MATH_VERIFY_CHECKOUT")


@pytest.mark.slow
@pytest.mark.skipif(not CHECKOUT, reason="set EVALKIT_MATH_VERIFY_CHECKOUT to a Math-Verify checkout")
def test_agreement_with_math_verify_tables():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from verify_agreement import collect_rows

    rows = [row for row in collect_rows(Path(CHECKOUT)) if row.default_settings]
    assert len(rows) >= 250
    with Verifier("math", timeout=10.0) as verifier:
        verdicts = verifier.check_many([(row.prediction, row.gold) for row in rows])
    agree = [verdict.correct == row.expected for row, verdict in zip(rows, verdicts)]
    assert sum(agree) >= len(rows) - 1
    assert all(ok for row, ok in zip(rows, agree) if row.integer_gold)
