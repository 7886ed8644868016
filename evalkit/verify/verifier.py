"""The Verifier: the rule sets' in-process first pass, and the worker pool for the symbolic comparisons.

Public API: `check(response, gold)`, `check_many(pairs)`, and `Verifier` for reusing worker processes.
Named rule sets: `math` (default), `dapo` (DAPO's own reward rule), `strict-int` (integer answers only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evalkit.verify.pool import BoundedPool
from evalkit.verify.rules import RULE_SETS, first_pass
from evalkit.verify.verdict import Pending, Verdict

DEFAULT_TIMEOUT_S = 5.0


class Verifier:
    """Checks responses under one rule set; owns the worker processes for symbolic comparison.

    Use as a context manager (or call `close()`) so workers are stopped; they are started only when a check
    first needs them.
    """

    def __init__(self, rules: str = "math", workers: int | None = None, timeout: float = DEFAULT_TIMEOUT_S):
        if rules not in RULE_SETS:
            raise ValueError(f"unknown rule set {rules!r}; choose one of {', '.join(RULE_SETS)}")
        self.rules = rules
        self.workers = workers
        self.timeout = timeout
        self._pool: BoundedPool | None = None
        self.symbolic_checks = 0
        self.max_symbolic_seconds = 0.0

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _pool_for_symbolic(self) -> BoundedPool:
        if self._pool is None:
            self._pool = BoundedPool("evalkit.verify.symbolic.compare", workers=self.workers, timeout=self.timeout)
        return self._pool

    def check(self, response: str, gold: str, truncated: bool = False) -> Verdict:
        return self.check_many([(response, gold)], [truncated])[0]

    def check_many(self, pairs: Iterable[tuple[str, str]], truncated: Sequence[bool] | None = None) -> list[Verdict]:
        """Verdicts in input order; identical checks are done once.

        `truncated[i]` says response i hit its token limit: then only explicit answer markers count.
        """
        pairs = list(pairs)
        flags = list(truncated) if truncated is not None else [False] * len(pairs)
        if len(flags) != len(pairs):
            raise ValueError("truncated must have one flag per pair")
        keys = [(response, gold, flag) for (response, gold), flag in zip(pairs, flags)]
        unique: dict[tuple[str, str, bool], int] = {}
        for key in keys:
            unique.setdefault(key, len(unique))
        first = [first_pass(self.rules, response, gold, flag) for response, gold, flag in unique]
        pending_at = [i for i, item in enumerate(first) if isinstance(item, Pending)]
        results: list[Verdict | Pending] = list(first)
        if pending_at:
            tasks = [(first[i].gold, first[i].prediction, first[i].written_gold) for i in pending_at]  # type: ignore[union-attr]
            outcomes = self._pool_for_symbolic().map(tasks)
            self.symbolic_checks += len(tasks)
            for i, outcome in zip(pending_at, outcomes):
                item = first[i]
                assert isinstance(item, Pending)
                self.max_symbolic_seconds = max(self.max_symbolic_seconds, outcome.seconds)
                if outcome.error is not None:
                    results[i] = Verdict(item.extracted, False, "math-verify", item.found_by, outcome.error)
                else:
                    equal, rule, error = outcome.value
                    results[i] = Verdict(item.extracted, bool(equal), rule, item.found_by, error)
        return [results[unique[key]] for key in keys]  # type: ignore[misc]


def check(response: str, gold: str, rules: str = "math", timeout: float = DEFAULT_TIMEOUT_S) -> Verdict:
    """Check one response against one gold answer (gold first: the comparison is not symmetric)."""
    with Verifier(rules, workers=1, timeout=timeout) as verifier:
        return verifier.check(response, gold)


def check_many(
    pairs: Sequence[tuple[str, str]],
    workers: int | None = None,
    rules: str = "math",
    timeout: float = DEFAULT_TIMEOUT_S,
) -> list[Verdict]:
    """Check many (response, gold) pairs in parallel; every check is bounded by `timeout` seconds."""
    with Verifier(rules, workers=workers, timeout=timeout) as verifier:
        return verifier.check_many(pairs)
