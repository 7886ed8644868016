"""The Verifier: the rule sets' in-process first pass, and the worker pool for the symbolic comparisons.

Public API: `check(response, gold)`, `check_many(pairs)`, and `Verifier` for reusing worker processes.
Named rule sets: `math` (default), `dapo` (DAPO's own reward rule), `strict-int` (integer answers only).
"""

from __future__ import annotations

import atexit
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence

from evalkit.verify.pool import BoundedPool, TaskOutcome
from evalkit.verify.rules import RULE_SETS, first_pass
from evalkit.verify.verdict import Pending, Verdict

DEFAULT_TIMEOUT_S = 5.0


# Symbolic outcomes kept per Verifier: samples of one problem often repeat an answer (that is what maj@k counts).
RESULT_CACHE_SIZE = 20_000
# A check_many batch this long or longer (long reasoning responses, by the hundred) is likely to hold an answer that
# needs a worker, found anywhere in it: the workers' fork server starts as the batch begins and imports sympy and
# math-verify (~0.4 s of another core, once per process) while the answers are extracted, instead of after the
# first such answer. Were none to need it, that was the cost. (The first pass reads ~7 ns per character.)
EARLY_SERVER_CHARS = 1_000_000
# check_many tells repeated responses apart by their length and this many last characters before comparing them
# whole: responses of one length that end alike are rare unless they are the same response.
DEDUP_TAIL_CHARS = 64


class Verifier:
    """Checks responses under one rule set; owns the worker processes for symbolic comparison.

    Use as a context manager (or call `close()`) so workers are stopped; they are started only when a check
    first needs them (a `check_many` batch of EARLY_SERVER_CHARS or more starts their fork server as it begins).
    `check_many` checks a list; `submit` and `collect` stream checks through the workers from one thread (the run
    pipeline verifies beside generation that way). `niceness` > 0 runs the workers at lower CPU priority, so they
    never slow an engine on the same machine.
    """

    def __init__(
        self,
        rules: str = "math",
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        niceness: int = 0,
    ):
        if rules not in RULE_SETS:
            raise ValueError(f"unknown rule set {rules!r}; choose one of {', '.join(RULE_SETS)}")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        self.rules = rules
        self.workers = workers
        self.timeout = timeout
        self.niceness = niceness
        self._pool: BoundedPool | None = None
        self._waiting: dict[int, tuple[Pending, list[Hashable]]] = {}  # pool task -> its check and who waits
        self._in_flight: dict[tuple, int] = {}  # symbolic payload -> pool task
        self._ready: list[tuple[Hashable, Verdict]] = []
        self._cache: OrderedDict[tuple, TaskOutcome] = OrderedDict()
        self.symbolic_checks = 0
        self.max_symbolic_seconds = 0.0

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers at once (a check under way is abandoned, never waited out)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._waiting.clear()
        self._in_flight.clear()

    def _pool_for_symbolic(self) -> BoundedPool:
        if self._pool is None:
            self._pool = BoundedPool(
                "evalkit.verify.symbolic.compare", workers=self.workers, timeout=self.timeout, niceness=self.niceness
            )
        return self._pool

    def set_niceness(self, niceness: int) -> None:
        """The CPU priority of the workers from now on (see BoundedPool.set_niceness)."""
        self.niceness = niceness
        if self._pool is not None:
            self._pool.set_niceness(niceness)

    @property
    def pending(self) -> int:
        """Checks submitted whose verdict `collect` has not returned yet."""
        return sum(len(keys) for _, keys in self._waiting.values()) + len(self._ready)

    def submit(self, key: Hashable, response: str, gold: str, truncated: bool = False) -> Verdict | None:
        """Start one check. Returns its verdict when no symbolic work is needed; otherwise None, and `collect`
        returns (key, verdict) once a worker has decided."""
        first = first_pass(self.rules, response, gold, truncated)
        if isinstance(first, Verdict):
            return first
        payload = (first.gold, first.prediction)
        cached = self._cache.get(payload)
        if cached is not None:
            self._cache.move_to_end(payload)
            self._ready.append((key, self._verdict(first, cached)))
            return None
        task = self._in_flight.get(payload)
        if task is None:
            pool = self._pool_for_symbolic()
            task = pool.submit(payload)
            pool.start_soon()  # the first worker boots while the caller checks the rest in process
            self._in_flight[payload] = task
            self._waiting[task] = (first, [])
            self.symbolic_checks += 1
        self._waiting[task][1].append(key)
        return None

    def collect(self, timeout: float | None = None) -> list[tuple[Hashable, Verdict]]:
        """Verdicts of submitted checks that are done, waiting up to `timeout` seconds for one (None: until one
        is done, or at once when none is pending)."""
        if not self._ready and self._waiting:
            self._take(self._pool_for_symbolic().poll(timeout))
        ready, self._ready = self._ready, []
        return ready

    def hand_out(self) -> None:
        """Send queued checks to the workers and take in finished ones (for `collect`), without waiting.

        A caller submitting a long batch calls this between submits, so that the workers check while it reads the
        rest, instead of after. It does nothing while the first worker is still starting (a poll would wait for it).
        """
        if self._waiting and not self._pool_for_symbolic().starting:
            self._take(self._pool_for_symbolic().poll(0))

    def _take(self, outcomes: list[tuple[int, TaskOutcome]]) -> None:
        for task, outcome in outcomes:
            first, keys = self._waiting.pop(task)
            payload = (first.gold, first.prediction)
            self._in_flight.pop(payload, None)
            self._cache[payload] = outcome
            if len(self._cache) > RESULT_CACHE_SIZE:
                self._cache.popitem(last=False)
            self.max_symbolic_seconds = max(self.max_symbolic_seconds, outcome.seconds)
            self._ready.extend((key, self._verdict(first, outcome)) for key in keys)

    @staticmethod
    def _verdict(first: Pending, outcome: TaskOutcome) -> Verdict:
        if outcome.error is not None:
            return Verdict(first.extracted, False, "math-verify", first.found_by, outcome.error)
        equal, rule, error = outcome.value
        return Verdict(first.extracted, bool(equal), rule, first.found_by, error)

    def check(self, response: str, gold: str, truncated: bool = False) -> Verdict:
        return self.check_many([(response, gold)], [truncated])[0]

    def check_many(self, pairs: Iterable[tuple[str, str]], truncated: Sequence[bool] | None = None) -> list[Verdict]:
        """Verdicts in input order; identical checks are done once, symbolic ones in parallel.

        `truncated[i]` says response i hit its token limit: then only explicit answer markers count.
        """
        pairs = list(pairs)
        flags = list(truncated) if truncated is not None else [False] * len(pairs)
        if len(flags) != len(pairs):
            raise ValueError("truncated must have one flag per pair")
        keys = [(response, gold, flag) for (response, gold), flag in zip(pairs, flags)]
        if (
            self.rules == "math"
            and self.niceness == 0
            and sum(len(response) for response, _ in pairs) >= EARLY_SERVER_CHARS
        ):
            self._pool_for_symbolic().start_server()
        first = first_of_each(keys)
        # A tag of this call's own, so that checks another caller streamed through this Verifier stay theirs.
        batch = object()
        verdicts: dict[int, Verdict] = {}
        distinct = 0
        for index, key in enumerate(keys):
            if first[index] != index:
                continue
            distinct += 1
            immediate = self.submit((batch, index), *key)
            if immediate is not None:
                verdicts[index] = immediate
            self.hand_out()
        others: list[tuple[Hashable, Verdict]] = []
        while len(verdicts) < distinct:
            for tagged, verdict in self.collect(None):
                if isinstance(tagged, tuple) and len(tagged) == 2 and tagged[0] is batch:
                    verdicts[tagged[1]] = verdict
                else:
                    others.append((tagged, verdict))
        self._ready.extend(others)
        return [verdicts[first[index]] for index in range(len(keys))]


def first_of_each(keys: Sequence[tuple[str, str, bool]]) -> list[int]:
    """For each (response, gold, truncated), the index of the first key equal to it.

    Hashing whole responses to find repeats reads every character again (~0.05 s for 960 responses of 40,000
    characters, a sixth of the first pass), and repeats are rare in a trainer's batch. Keys are grouped by what is
    cheap to hash (length, the last characters, gold, flag); only keys that share a group are compared whole, and a
    group with more than one distinct key falls back to hashing them (so many near-identical responses cost no
    more than hashing them all).
    """
    first: list[int] = []
    groups: dict[tuple, int | dict[tuple[str, str, bool], int]] = {}
    for index, key in enumerate(keys):
        response, gold, flag = key
        group = (len(response), response[-DEDUP_TAIL_CHARS:], gold, flag)
        seen = groups.get(group)
        if seen is None:
            groups[group] = index
            first.append(index)
        elif isinstance(seen, int):
            if keys[seen][0] == response:
                first.append(seen)
            else:
                groups[group] = {keys[seen]: seen, key: index}
                first.append(index)
        else:
            first.append(seen.setdefault(key, index))
    return first


_shared: dict[tuple[str, float], Verifier] = {}
_shared_lock = threading.Lock()


def _shared_verifier(rules: str, timeout: float) -> Verifier:
    """One Verifier per rule set and timeout for the one-shot `check()`: a worker per call would cost ~50 ms
    each. Its workers are stopped when the interpreter exits."""
    with _shared_lock:
        verifier = _shared.get((rules, timeout))
        if verifier is None:
            if not _shared:
                atexit.register(_close_shared)
            verifier = _shared[(rules, timeout)] = Verifier(rules, workers=1, timeout=timeout)
        return verifier


def _close_shared() -> None:
    for verifier in _shared.values():
        verifier.close()
    _shared.clear()


def check(response: str, gold: str, rules: str = "math", timeout: float = DEFAULT_TIMEOUT_S) -> Verdict:
    """Check one response against one gold answer (gold first: the comparison is not symmetric).

    Repeated calls share one worker process, started on the first check that needs symbolic work.
    """
    verifier = _shared_verifier(rules, timeout)
    with _shared_lock:
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
