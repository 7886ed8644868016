"""evalkit.reward.verl as verl loads and calls a custom reward function (reproduced from verl's source: see
tests/reward_conventions.py; verl 0.9.1 does not install beside transformers 5.19)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from reward_conventions import (
    evalkit_file,
    verl_batch_manager,
    verl_custom_reward_fn,
    verl_naive_manager,
    verl_reward_loop,
)

from evalkit.errors import EvalkitError
from evalkit.reward.scoring import EXTRA_KEYS

# A verl parquet: golds as strings, integers (AIME), numpy scalars, missing; a cut-off response; a symbolic gold.
SOURCES = ["aime24", "aime24", "math_dapo", "lighteval/MATH", "aime24", "aime24"]
RESPONSES = [
    "Adding them, $m+n = \\boxed{204}$.",
    "Answer: 33",
    "Answer: 25",
    "We get $\\boxed{\\frac{\\sqrt{2}}{2}}$.",
    "Let me think. First, the triangle has sides",
    "So the answer is \\boxed{116}.",
]
GOLDS = ["204", 33, np.int64(25), "\\frac{1}{\\sqrt{2}}", "116", None]


@pytest.mark.parametrize("path", ["file", "pkg"])
def test_per_sample_and_batch_give_the_same_rewards_and_keys_however_verl_loads_the_file(path):
    where = evalkit_file("verl") if path == "file" else "pkg://evalkit.reward.verl"
    per_sample = verl_custom_reward_fn(where, "compute_score", {})
    batch = verl_custom_reward_fn(where, "compute_score_batch", {})
    rewards, extra = verl_naive_manager(per_sample, SOURCES, RESPONSES, GOLDS)
    assert rewards == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert set(extra) == set(EXTRA_KEYS)
    assert extra["pred"] == ["204", "33", "25", "\\frac{\\sqrt{2}}{2}", "", ""]  # no gold: no check at all
    assert extra["no_gold"] == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert verl_batch_manager(batch, SOURCES, RESPONSES, GOLDS) == (rewards, extra)


def test_the_rule_and_scale_come_from_custom_reward_function_reward_kwargs():
    dapo = verl_custom_reward_fn(evalkit_file("verl"), "compute_score", {"rule": "dapo", "wrong_reward": -1})
    rewards, extra = verl_naive_manager(dapo, SOURCES, RESPONSES, GOLDS)
    # DAPO's rule reads only "Answer:" lines: boxed answers earn nothing under it
    assert rewards == [-1.0, 1.0, 1.0, -1.0, -1.0, -1.0]
    assert extra["acc"] == [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_the_batch_managers_own_reward_kwargs_reach_the_batch_function():
    batch = verl_custom_reward_fn(evalkit_file("verl"), "compute_score_batch", {})
    rewards, _ = verl_batch_manager(batch, SOURCES, RESPONSES, GOLDS, rule="strict-int")
    assert rewards == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # strict-int: the radical gold is no integer (no gold)


def test_the_reward_loop_awaits_the_coroutine_and_runs_the_function_in_threads_with_the_same_rewards():
    plain = verl_custom_reward_fn(evalkit_file("verl"), "compute_score", {})
    coroutine = verl_custom_reward_fn(evalkit_file("verl"), "compute_score_async", {})

    async def both():
        return await verl_reward_loop(plain, SOURCES, RESPONSES, GOLDS), await verl_reward_loop(
            coroutine, SOURCES, RESPONSES, GOLDS
        )

    threaded, awaited = asyncio.run(both())
    assert threaded == awaited and threaded[0] == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rul": "dapo"}, "unknown reward setting 'rul'; did you mean 'rule'?"),
        ({"rule": "prime_math"}, "unknown reward rule 'prime_math'"),
        ({"correct_reward": 0, "wrong_reward": 1}, "must be above wrong_reward"),
    ],
)
def test_a_wrong_reward_kwarg_stops_the_first_batch_with_one_line(kwargs, message):
    per_sample = verl_custom_reward_fn(evalkit_file("verl"), "compute_score", kwargs)
    with pytest.raises(EvalkitError, match=message):
        verl_naive_manager(per_sample, SOURCES[:1], RESPONSES[:1], GOLDS[:1])
