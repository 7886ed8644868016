"""Every adapter gives the same rewards as the verifier itself on real responses, each called the way its framework
calls it: from threads, from inside a running event loop, over HTTP; a pathological answer is a reported 0."""

from __future__ import annotations

import asyncio
import threading

import pytest
from reward_conventions import (
    evalkit_file,
    openrlhf_load_reward_func,
    openrlhf_rewards_via_func,
    openrlhf_rewards_via_http,
    verl_batch_manager,
    verl_custom_reward_fn,
    verl_naive_manager,
    verl_reward_loop,
)
from reward_data import PAIRS, chat_prompt, reward_pairs
from reward_servers import running_servers

from evalkit.reward.trl import AccuracyReward
from evalkit.verify import check_many

PATHOLOGICAL = ("Simplifying, the value is $\\boxed{9^{9^{9^{9}}}}$.", "\\frac{\\sqrt{3}}{2}")
# A small bound keeps the pathological check short; the real responses never come near it.
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def reference(request):
    """The pairs to score and the verifier's own verdicts on them: check_many with the same rule and bound."""
    pairs = list(reward_pairs()) if request.param == "all" else spread(list(reward_pairs()), 96)
    pairs.append(("", *PATHOLOGICAL))
    verdicts = check_many([(response, gold) for _, response, gold in pairs], timeout=TIMEOUT)
    return pairs, [1.0 if v.correct else 0.0 for v in verdicts], verdicts


def spread(pairs: list, count: int) -> list:
    """Every k-th pair: the four greedy files, the published outputs and the symbolic golds all represented."""
    step = len(pairs) // count
    return pairs[::step][:count]


def verl_scores(pairs: list) -> dict[str, list[float]]:
    path = evalkit_file("verl")
    sources = ["aime24"] * len(pairs)
    responses = [response for _, response, _ in pairs]
    golds = [gold for _, _, gold in pairs]
    kwargs = {"rule": "math", "timeout": TIMEOUT}
    per_sample = verl_custom_reward_fn(path, "compute_score", kwargs)
    batch = verl_custom_reward_fn("pkg://evalkit.reward.verl", "compute_score_batch", {})
    found: dict[str, list[float]] = {}
    results: dict[str, tuple] = {}

    def from_thread() -> None:  # the legacy managers run in a Ray worker's thread, not necessarily the main one
        results["naive"] = verl_naive_manager(per_sample, sources, responses, golds)

    worker = threading.Thread(target=from_thread)
    worker.start()
    worker.join()

    async def in_loop() -> None:
        # The batch manager's compute_score called inside a running event loop (blocking it, as verl would), then
        # the reward loop: the plain function in executor threads, the coroutine awaited.
        results["batch"] = verl_batch_manager(batch, sources, responses, golds, **kwargs)
        results["loop"] = await verl_reward_loop(per_sample, sources, responses, golds)
        coroutine = verl_custom_reward_fn(path, "compute_score_async", kwargs)
        results["loop-async"] = await verl_reward_loop(coroutine, sources, responses, golds)

    asyncio.run(in_loop())
    for name, (rewards, extra) in results.items():
        assert rewards == extra["score"], name
        found[f"verl {name}"] = rewards
    return found


def trl_scores(pairs: list) -> list[float]:
    reward = AccuracyReward(column="solution", timeout=TIMEOUT)
    completions = [
        [{"role": "assistant", "content": response}] if index % 2 else response
        for index, (_, response, _) in enumerate(pairs)
    ]
    out: list = []
    # TRL's async GRPO scores each group with asyncio.to_thread from its event loop.
    worker = threading.Thread(
        target=lambda: out.extend(
            reward(
                prompts=[q for q, _, _ in pairs],
                completions=completions,
                completion_ids=[[0] for _ in pairs],
                solution=[g for _, _, g in pairs],
                trainer_state=None,
            )
        )
    )
    worker.start()
    worker.join()
    return out


def openrlhf_file_scores(pairs: list, monkeypatch) -> list[float]:
    monkeypatch.setenv("EVALKIT_REWARD_TIMEOUT", str(TIMEOUT))
    reward_func = openrlhf_load_reward_func(evalkit_file("openrlhf"))

    async def all_samples():
        return await asyncio.gather(
            *(
                openrlhf_rewards_via_func(reward_func, chat_prompt(q) + r + "<|im_end|>", chat_prompt(q), g)
                for q, r, g in pairs
            )
        )

    infos = asyncio.run(all_samples())
    assert all(info["prompt_not_found"].item() == 0 for info in infos)
    return [info["reward"].flatten()[0].item() for info in infos]


def openrlhf_http_scores(pairs: list, reward_server) -> list[float]:
    url = reward_server(rule="math", timeout=TIMEOUT)

    async def all_samples():
        return await asyncio.gather(
            *(
                openrlhf_rewards_via_http(url, chat_prompt(q) + r + "<|im_end|><|endoftext|>", chat_prompt(q), g)
                for q, r, g in pairs
            )
        )

    return [info["reward"].flatten()[0].item() for info in asyncio.run(all_samples())]


def assert_identical(reference, monkeypatch, reward_server) -> None:
    pairs, expected, verdicts = reference
    got = verl_scores(pairs)
    got["trl"] = trl_scores(pairs)
    got["openrlhf file"] = openrlhf_file_scores(pairs, monkeypatch)
    got["openrlhf http"] = openrlhf_http_scores(pairs, reward_server)
    for name, rewards in got.items():
        differ = [i for i, (a, b) in enumerate(zip(rewards, expected)) if a != b]
        assert len(rewards) == len(expected) and not differ, (name, differ[:5])
    assert verdicts[-1].error == "timeout"  # the pathological answer: its time bound, then a 0
    assert sum(expected) > 0.1 * len(expected)


@pytest.mark.parametrize("reference", ["spread"], indirect=True)
def test_every_adapter_gives_the_verifiers_rewards_on_a_spread_of_real_responses(reference, monkeypatch, reward_server):
    assert len(reference[0]) == 97
    assert_identical(reference, monkeypatch, reward_server)


@pytest.mark.slow
@pytest.mark.parametrize("reference", ["all"], indirect=True)
def test_every_adapter_gives_the_verifiers_rewards_on_1024_real_responses(reference, monkeypatch, reward_server):
    assert len(reference[0]) == PAIRS + 1
    assert_identical(reference, monkeypatch, reward_server)


@pytest.fixture
def reward_server():
    with running_servers() as start:
        yield start
