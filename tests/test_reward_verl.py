"""evalkit.reward.verl as verl loads and calls a custom reward function (reproduced from verl's source: see
tests/reward_conventions.py; verl 0.9.1 does not install beside transformers 5.19)."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
    # DAPO's rule (verl 0.9.1) reads "Answer:" lines, else the last box in the last 100 characters compared as written:
    # the boxed 204 earns, the radical written otherwise than its gold does not, and wrong is -1 on this scale
    assert rewards == [1.0, 1.0, 1.0, -1.0, -1.0, -1.0]
    assert extra["acc"] == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


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


def test_verls_own_reward_managers_give_the_verifiers_rewards_on_real_responses():
    """verl's real get_custom_reward_fn, NaiveRewardManager and BatchRewardManager on a DataProto of tokenized real
    responses, where verl imports (it does not install beside transformers 5.19: run this in an environment of its
    own, e.g. verl 0.9.1 with ray and tensordict beside this one's packages)."""
    pytest.importorskip("ray", reason="verl's reward managers need ray and tensordict: not in evalkit's environment")
    naive_module = pytest.importorskip("verl.workers.reward_manager.naive")
    import torch
    from omegaconf import OmegaConf
    from reward_data import reward_pairs
    from transformers import AutoTokenizer
    from verl import DataProto
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager.batch import BatchRewardManager

    from evalkit.data.embedded import ensure_model
    from evalkit.verify import check_many

    tokenizer = AutoTokenizer.from_pretrained(ensure_model(Path.home() / ".cache" / "evalkit"))
    pairs = list(reward_pairs())[::16]  # 64 of the 1,024, the symbolic golds among them
    prompts = [tokenizer(f"Question: {q[:200]}", add_special_tokens=False)["input_ids"][-32:] for q, _, _ in pairs]
    responses = [tokenizer(r, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for _, r, _ in pairs]
    width_p, width_r = max(map(len, prompts)), max(map(len, responses))
    pad = tokenizer.pad_token_id or 0
    batch = {
        "prompts": torch.tensor([[pad] * (width_p - len(p)) + p for p in prompts]),  # left-padded, as verl's are
        "responses": torch.tensor([r + [pad] * (width_r - len(r)) for r in responses]),
        "attention_mask": torch.tensor([[0] * (width_p - len(p)) + [1] * (len(p) + len(r)) + [0] * (width_r - len(r))
                                        for p, r in zip(prompts, responses)]),
    }  # fmt: skip
    non_tensors = {
        "data_source": np.array(["aime24"] * len(pairs), dtype=object),
        "reward_model": np.array([{"ground_truth": g, "style": "rule"} for _, _, g in pairs], dtype=object),
        "extra_info": np.array([{"index": i} for i in range(len(pairs))], dtype=object),
    }
    decoded = [tokenizer.decode(r[:-1], skip_special_tokens=True) for r in responses]
    expected = [1.0 if v.correct else 0.0 for v in check_many([(d, g) for d, (_, _, g) in zip(decoded, pairs)])]
    lengths = [len(r) for r in responses]

    def custom(name: str, reward_kwargs: dict):
        custom = {"path": evalkit_file("verl"), "name": name, "reward_kwargs": reward_kwargs}
        # verl 0.9.1 reads reward.custom_reward_function; its main branch at b178a3cd, custom_reward_function
        config = OmegaConf.create({"custom_reward_function": custom, "reward": {"custom_reward_function": custom}})
        return get_custom_reward_fn(config)

    naive = naive_module.NaiveRewardManager(tokenizer, 0, compute_score=custom("compute_score", {"rule": "math"}))
    batched = BatchRewardManager(tokenizer, 0, compute_score=custom("compute_score_batch", {}), rule="math")
    for manager in (naive, batched):
        result = manager(DataProto.from_dict(tensors=dict(batch), non_tensors=dict(non_tensors)), return_dict=True)
        rewards = [result["reward_tensor"][i, length - 1].item() for i, length in enumerate(lengths)]
        assert rewards == expected, type(manager).__name__
        assert set(result["reward_extra_info"]) == set(EXTRA_KEYS)
        assert all(len(v) == len(pairs) for v in result["reward_extra_info"].values())
    assert 0 < sum(expected) < len(expected)
