"""evalkit's verifier as verl's custom reward function: `compute_score` (per sample) and `compute_score_batch`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Absolute imports only: verl loads this file by its path under a module name of its own.
from evalkit.reward.scoring import RewardConfig, log_batch, score, score_async


def compute_score(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **reward_kwargs: Any
) -> dict[str, float | str]:
    """One sample's reward for verl's `naive` and `dapo` reward managers and its reward loop.

    Configure it in `custom_reward_function.reward_kwargs`: `rule` (math, dapo, strict-int; default math),
    `timeout` (CPU seconds per symbolic check, default 5), `correct_reward` and `wrong_reward` (default 1 and 0;
    DAPO's scale is 1 and -1), `workers` (verifier processes, default one per CPU). Every data source is judged by
    that rule. Returns `score` and the same extra keys for every sample: `acc` (1 or 0), `pred` (the answer found,
    "" for none), `timeout`, `error` and `no_gold` (1 when the check ran out of CPU time, its worker failed, or there
    was no usable gold; each of these scores `wrong_reward`).
    """
    config = RewardConfig.from_kwargs(reward_kwargs)
    return score(config, [solution_str], [ground_truth])[0].extras()


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    **reward_kwargs: Any,
) -> list[dict[str, float | str]]:
    """A whole batch's rewards for verl's `batch` reward manager (its symbolic checks run in parallel); the
    settings and keys of `compute_score`. A batch with timeouts, failed checks or missing golds is logged."""
    config = RewardConfig.from_kwargs(reward_kwargs)
    outcomes = score(config, list(solution_strs), list(ground_truths))
    log_batch(config, outcomes)
    return [outcome.extras() for outcome in outcomes]


async def compute_score_async(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **reward_kwargs: Any
) -> dict[str, float | str]:
    """`compute_score` as a coroutine, for verl's reward loop: it awaits the check instead of taking an executor
    thread, and concurrent samples share the verifier's workers."""
    config = RewardConfig.from_kwargs(reward_kwargs)
    return (await score_async(config, [solution_str], [ground_truth]))[0].extras()
