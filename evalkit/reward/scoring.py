"""Rewards from verdicts: the reward configuration, one outcome per response, and the counts reported apart."""

from __future__ import annotations

import contextlib
import difflib
import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.reward.service import shared_service
from evalkit.verify import DEFAULT_TIMEOUT_S, RULE_SETS, Verdict

logger = logging.getLogger("evalkit.reward")

# The keys every outcome reports, in this order, for every sample alike: verl collects each key across a batch and
# breaks on a key that some samples lack, and OpenRLHF turns each value into a tensor (so numbers only, but `pred`).
EXTRA_KEYS = ("score", "acc", "pred", "timeout", "error", "no_gold")
# Keyword arguments the frameworks themselves pass to a reward function, which are not evalkit's to read.
FRAMEWORK_KWARGS = frozenset(
    {"reward_router_address", "reward_model_tokenizer", "sandbox_fusion_url", "concurrent_semaphore",
     "memory_limit_mb", "trainer_state", "log_extra", "log_metric", "environments", "extra_info", "extra_infos"}
)  # fmt: skip
# An extracted answer longer than this is cut in the logs (a runaway box can hold a whole response).
PRED_LOG_CHARS = 200
# After the first, timeouts and failed checks are logged at most this often per process, with running counts.
LOG_EVERY_S = 60.0


@dataclass(frozen=True)
class RewardConfig:
    """How responses become rewards: the rule set that judges, its CPU-time bound, and the two reward values.

    Every rule scores 1 for right and 0 for wrong by default; DAPO's paper and verl's `math_dapo` use +1 and -1
    (`wrong_reward=-1`). A check that runs out of CPU time, or that cannot be made, earns `wrong_reward`: anything
    above it would pay a policy for answers too costly to check.
    """

    rule: str = "math"
    timeout: float = DEFAULT_TIMEOUT_S
    correct_reward: float = 1.0
    wrong_reward: float = 0.0
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULE_SETS:
            raise EvalkitError(f"unknown reward rule {self.rule!r}; choose one of {', '.join(RULE_SETS)}")
        if not (isinstance(self.timeout, int | float) and self.timeout > 0 and math.isfinite(self.timeout)):
            raise EvalkitError(f"the reward timeout must be a positive number of seconds, got {self.timeout!r}")
        for name in ("correct_reward", "wrong_reward"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise EvalkitError(f"{name} must be a finite number, got {value!r}")
        if self.correct_reward <= self.wrong_reward:
            raise EvalkitError(
                f"correct_reward ({self.correct_reward}) must be above wrong_reward ({self.wrong_reward})"
            )
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):  # fmt: skip
            raise EvalkitError(f"workers must be a whole number of processes, at least 1, got {self.workers!r}")

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> RewardConfig:
        """The configuration named in a framework's reward kwargs; the frameworks' own kwargs are left alone.

        A key close to one of evalkit's (`rul`, `timout`) is refused as a typo rather than silently ignored; any other
        unknown key is one the framework passes on its own and is ignored.
        """
        names = [f for f in cls.__dataclass_fields__]
        values = {}
        for key, value in kwargs.items():
            if key in names:
                values[key] = value
            elif key not in FRAMEWORK_KWARGS:
                near = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
                if near:
                    raise EvalkitError(f"unknown reward setting {key!r}; did you mean {near[0]!r}?")
        return _cached_config(tuple(sorted(values.items(), key=lambda item: item[0])))

    def describe(self) -> str:
        return (
            f"rule {self.rule}, {self.correct_reward:g} right / {self.wrong_reward:g} wrong, {self.timeout:g} s bound"
        )


_configs: dict[tuple, RewardConfig] = {}


def _cached_config(items: tuple) -> RewardConfig:
    # verl calls once per sample: building and checking the same configuration each time would be waste.
    try:
        return _configs[items]
    except (KeyError, TypeError):
        config = RewardConfig(**dict(items))
        with contextlib.suppress(TypeError):  # an unhashable value is not cached
            _configs[items] = config
        return config


@dataclass(frozen=True)
class RewardOutcome:
    """One response's reward and why: right or wrong, the answer found, and whether the check could be made."""

    reward: float
    correct: bool
    extracted: str | None
    timed_out: bool = False
    failed: bool = False  # the check could not be made: its worker crashed or raised
    no_gold: bool = False  # there is no gold to check against: none given, empty, or unreadable

    @property
    def status(self) -> str:
        """correct, wrong, no answer, timeout, error or no gold: one word for logs and tables."""
        if self.no_gold:
            return "no gold"
        if self.timed_out:
            return "timeout"
        if self.failed:
            return "error"
        if self.correct:
            return "correct"
        return "wrong" if self.extracted is not None else "no answer"

    def extras(self) -> dict[str, float | str]:
        """The same keys for every outcome (EXTRA_KEYS): verl's reward managers collect each across samples."""
        return {
            "score": self.reward,
            "acc": 1.0 if self.correct else 0.0,
            "pred": (self.extracted or "")[:PRED_LOG_CHARS],
            "timeout": 1.0 if self.timed_out else 0.0,
            "error": 1.0 if self.failed else 0.0,
            "no_gold": 1.0 if self.no_gold else 0.0,
        }


def gold_text(gold: Any) -> str | None:
    """A gold answer as text; None when there is none (None, NaN or empty).

    Datasets hand golds over as strings, integers (AIME), floats or numpy scalars; an integral float is written as an
    integer so that 204.0 from a float column is the gold 204.
    """
    if gold is None:
        return None
    if hasattr(gold, "item") and not isinstance(gold, str | bytes):  # a numpy scalar
        gold = gold.item()
    if isinstance(gold, bool):
        return None
    if isinstance(gold, float):
        if not math.isfinite(gold):
            return None
        gold = int(gold) if gold.is_integer() else gold
    text = gold.decode("utf-8", "replace") if isinstance(gold, bytes) else str(gold)
    return text if text.strip() else None


@dataclass
class _Counts:
    checks: int = 0
    correct: int = 0
    timeouts: int = 0
    errors: int = 0
    no_gold: int = 0
    logged_at: float = field(default=-math.inf)
    reported: tuple[int, int, int] = (0, 0, 0)


class RewardTotals:
    """What the rewards of this process came to, per rule: reported in the logs and by the server's /health."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_rule: dict[str, _Counts] = {}

    def add(self, config: RewardConfig, outcomes: Sequence[RewardOutcome]) -> None:
        with self._lock:
            counts = self._by_rule.setdefault(config.rule, _Counts())
            counts.checks += len(outcomes)
            counts.correct += sum(o.correct for o in outcomes)
            counts.timeouts += sum(o.timed_out for o in outcomes)
            counts.errors += sum(o.failed for o in outcomes)
            counts.no_gold += sum(o.no_gold for o in outcomes)
            noted = (counts.timeouts, counts.errors, counts.no_gold)
            now = time.monotonic()
            due = noted != counts.reported and (counts.reported == (0, 0, 0) or now - counts.logged_at >= LOG_EVERY_S)
            if due:
                counts.reported, counts.logged_at = noted, now
                message = _running_message(config, counts)
        if due:
            logger.warning(message)

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                rule: {"checks": c.checks, "correct": c.correct, "timeouts": c.timeouts, "errors": c.errors,
                       "no_gold": c.no_gold}
                for rule, c in self._by_rule.items()
            }  # fmt: skip


def _running_message(config: RewardConfig, counts: _Counts) -> str:
    parts = []
    if counts.timeouts:
        parts.append(f"{counts.timeouts} ran out of their {config.timeout:g} s CPU bound")
    if counts.errors:
        parts.append(f"{counts.errors} could not be checked (their worker crashed)")
    if counts.no_gold:
        parts.append(f"{counts.no_gold} had no usable gold answer")
    return (
        f"evalkit reward ({config.rule}): of {counts.checks} checks in this process so far, "
        + "; ".join(parts)
        + f"; each scored {config.wrong_reward:g} (reported as timeout / error / no_gold, never as a wrong answer)"
    )


totals = RewardTotals()


def batch_summary(config: RewardConfig, outcomes: Sequence[RewardOutcome]) -> str | None:
    """One line for a batch with timeouts, failed checks or missing golds; None for a batch without any."""
    timeouts = sum(o.timed_out for o in outcomes)
    errors = sum(o.failed for o in outcomes)
    no_gold = sum(o.no_gold for o in outcomes)
    if not (timeouts or errors or no_gold):
        return None
    return (
        f"evalkit reward ({config.rule}): {timeouts} timeout, {errors} error, {no_gold} without gold "
        f"in a batch of {len(outcomes)} (each scored {config.wrong_reward:g})"
    )


def _outcome(config: RewardConfig, verdict: Verdict) -> RewardOutcome:
    # Verdict errors that are about the check, not the answer: the worker crashed or raised (failed), the gold could
    # not be read (no usable gold). "answer could not be parsed" and "not an integer literal" are answers, wrong ones.
    error = verdict.error or ""
    timed_out = error == "timeout"
    no_gold = "gold" in error
    failed = not timed_out and not no_gold and error.startswith(("crashed", "error"))
    correct = bool(verdict.correct)  # a verdict with an error is never correct
    reward = config.correct_reward if correct else config.wrong_reward
    return RewardOutcome(float(reward), correct, verdict.extracted, timed_out, failed, no_gold)


def _checks(config: RewardConfig, responses: Sequence[str], golds: Sequence[Any]) -> tuple[list, list[int | None]]:
    if len(responses) != len(golds):
        raise EvalkitError(f"{len(responses)} responses but {len(golds)} gold answers; give one gold per response")
    checks, where = [], []
    for response, gold in zip(responses, golds):
        text = gold_text(gold)
        if text is None:
            where.append(None)
            continue
        where.append(len(checks))
        checks.append((response if isinstance(response, str) else str(response or ""), text, False))
    return checks, where


def _assemble(config: RewardConfig, verdicts: list[Verdict], where: list[int | None]) -> list[RewardOutcome]:
    outcomes = [
        RewardOutcome(float(config.wrong_reward), False, None, no_gold=True) if at is None
        else _outcome(config, verdicts[at])
        for at in where
    ]  # fmt: skip
    totals.add(config, outcomes)
    return outcomes


def score(config: RewardConfig, responses: Sequence[str], golds: Sequence[Any]) -> list[RewardOutcome]:
    """One outcome per response, in order; safe from any thread (and from inside a running event loop, where it
    blocks that loop for as long as the checks take: use `score_async` there)."""
    checks, where = _checks(config, responses, golds)
    verdicts = shared_service(config.rule, float(config.timeout), config.workers).check_many(checks)
    return _assemble(config, verdicts, where)


async def score_async(config: RewardConfig, responses: Sequence[str], golds: Sequence[Any]) -> list[RewardOutcome]:
    """`score` for a coroutine: the checks run in the verifier's thread and workers while the loop goes on."""
    checks, where = _checks(config, responses, golds)
    verdicts = await shared_service(config.rule, float(config.timeout), config.workers).check_many_async(checks)
    return _assemble(config, verdicts, where)


def log_batch(config: RewardConfig, outcomes: Iterable[RewardOutcome]) -> None:
    """Log a batch's timeouts, failed checks and missing golds, when there are any."""
    line = batch_summary(config, list(outcomes))
    if line is not None:
        logger.warning(line)
