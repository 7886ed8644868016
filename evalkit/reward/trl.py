"""evalkit's verifier as a TRL reward function: `AccuracyReward`, passed in `GRPOTrainer(reward_funcs=[...])`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.reward.scoring import RewardConfig, log_batch, score
from evalkit.reward.text import completion_text
from evalkit.verify import DEFAULT_TIMEOUT_S


class AccuracyReward:
    """1 for a completion whose answer equals the gold in the dataset's `column`, else 0 (by evalkit's rule set).

    Called by TRL as `(prompts=..., completions=..., completion_ids=..., **columns)`, with `trainer_state`,
    `log_extra` and `log_metric` in newer versions; completions are strings or chat messages. Returns one float
    per completion, or None where the gold is missing or unreadable (TRL leaves such a completion out of this
    reward). A check that runs out of CPU time scores `wrong_reward` and is counted apart: a `<name>/timeouts`
    metric per batch, and `<name>/answer` and `<name>/check` columns in the completions table.

    The object holds only its settings, so it pickles (TRL's async GRPO sends reward functions to a spawned
    process); the verifier's workers are shared per process and rule set.
    """

    def __init__(
        self,
        column: str = "answer",
        rule: str = "math",
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        correct_reward: float = 1.0,
        wrong_reward: float = 0.0,
        workers: int | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(column, str) or not column:
            raise EvalkitError(f"column must name the dataset column that holds the gold answer, got {column!r}")
        self.column = column
        self.config = RewardConfig(rule, timeout, correct_reward, wrong_reward, workers)
        # TRL names each reward function's metrics by its __name__ (older versions read it without a fallback).
        self.__name__ = name or f"evalkit_{rule.replace('-', '_')}"

    def __repr__(self) -> str:
        return f"AccuracyReward(column={self.column!r}, {self.config.describe()})"

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        *,
        log_extra: Callable[[str, list], None] | None = None,
        log_metric: Callable[[str, float], None] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        if completions is None:
            raise EvalkitError("AccuracyReward needs the completions (TRL passes them as completions=...)")
        if self.column not in columns:
            given = ", ".join(sorted(k for k in columns if k not in ("trainer_state", "environments"))) or "none"
            raise EvalkitError(
                f"the dataset has no column {self.column!r} for the gold answer (columns given: {given}); "
                f"pass AccuracyReward(column=...)"
            )
        golds = list(columns[self.column])
        outcomes = score(self.config, [completion_text(c) for c in completions], golds)
        log_batch(self.config, outcomes)
        if log_extra is not None:
            log_extra(f"{self.__name__}/answer", [o.extracted or "" for o in outcomes])
            log_extra(f"{self.__name__}/check", [o.status for o in outcomes])
        if log_metric is not None:
            log_metric(f"{self.__name__}/timeouts", float(sum(o.timed_out for o in outcomes)))
        return [None if o.no_gold else o.reward for o in outcomes]
