"""Is an answer right: extraction, normalization, hedges (several answers where one is asked never pay),
comparison (fast paths in process, math-verify and sympy in killable worker processes), the bounded worker pool
and the rule sets (math, dapo, strict-int); and whether a response's reasoning mixes languages
(`evalkit.verify.mixing`).

Public API: `check(response, gold)`, `check_many(pairs)`, `Verifier`, `Verdict`.
"""

from evalkit.verify.verifier import DEFAULT_TIMEOUT_S, RULE_SETS, Verdict, Verifier, check, check_many

__all__ = ["DEFAULT_TIMEOUT_S", "RULE_SETS", "Verdict", "Verifier", "check", "check_many"]
