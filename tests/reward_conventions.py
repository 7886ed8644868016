"""How verl and OpenRLHF call a reward, reproduced call for call where the framework cannot be installed beside the
pinned torch 2.13.0+cpu / transformers 5.19.0 (verl 0.9.1 wants transformers < 5.11; OpenRLHF 0.11.2 wants
transformers 5.15.0, deepspeed and flash-attn). Each function names the source it follows; TRL is installed and
called for real (tests/test_reward_trl.py).

Sources read:
- verl, volcengine/verl@b178a3cd56f58b2d502255daba591e92833930a7: verl/trainer/ppo/reward.py (`get_custom_reward_fn`,
  `_call_with_kwargs`), verl/utils/import_utils.py (`load_module`, `load_extern_object`),
  verl/workers/reward_manager/naive.py, dapo.py and batch.py, verl/experimental/reward_loop/reward_manager/naive.py,
  verl/trainer/ppo/ray_trainer.py (the extra keys checked and collected per sample).
- OpenRLHF, OpenRLHF/OpenRLHF@3c3be6234e0cb353e76bb8019947db9dfe99fca7: openrlhf/utils/agent.py
  (`SingleTurnAgentExecutor`: the query, `_fetch_rewards_via_func`, `_fetch_rewards_via_http`),
  openrlhf/trainer/ppo_utils/samples_generator.py (`_process_response_into_experience`), and before the streaming
  rewrite (62987083^) openrlhf/utils/remote_rm_utils.py (`request_api_wrapper`: whole batches over `requests`).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import torch

# ---------------------------------------------------------------------------------------------------------------
# verl


def verl_load_function(module_path: str, name: str) -> Any:
    """verl's `load_extern_object`: `pkg://a.b.c` is imported; a file path is executed under a name of its own
    (`custom_module_<hash>`), so the file cannot use relative imports."""
    if module_path.startswith("pkg://"):
        module = importlib.import_module(module_path[len("pkg://") :].replace("/", "."))
    else:
        spec = importlib.util.spec_from_file_location(
            f"custom_module_{hash(os.path.abspath(module_path))}", module_path
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return getattr(module, name)


def verl_custom_reward_fn(module_path: str, name: str, reward_kwargs: dict[str, Any]) -> Any:
    """`get_custom_reward_fn`: the function with `custom_reward_function.reward_kwargs` merged over each call's own
    keyword arguments (a coroutine function gets an awaiting wrapper)."""
    raw = verl_load_function(module_path, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        return raw(*args, **{**kwargs, **reward_kwargs})

    async def call_async(*args: Any, **kwargs: Any) -> Any:
        return await raw(*args, **{**kwargs, **reward_kwargs})

    return call_async if inspect.iscoroutinefunction(raw) else call


def verl_collect(results: list[Any]) -> tuple[list[float], dict[str, list]]:
    """What the naive, dapo and batch managers do with each result: `score` is the reward, and every key of a dict
    is appended to a list of its own (a key some samples lack leaves its list short)."""
    rewards, extra = [], defaultdict(list)
    for result in results:
        if isinstance(result, dict):
            rewards.append(result["score"])
            for key, value in result.items():
                extra[key].append(value)
        else:
            rewards.append(result)
    for key, values in extra.items():  # ray_trainer: every list as long as the batch
        assert len(values) == len(results), f"{key}: {len(values)} values for {len(results)} samples"
        np.array(values)  # ray_trainer stores each list in non_tensor_batch as a numpy array
    return rewards, dict(extra)


def verl_naive_manager(compute_score: Any, data_sources, responses, ground_truths) -> tuple[list[float], dict]:
    """NaiveRewardManager.__call__ (and DAPORewardManager's): one call per sample, keywords only, an extra_info
    dict carrying num_turns and rollout_reward_scores."""
    results = []
    for data_source, response, ground_truth in zip(data_sources, responses, ground_truths):
        extra_info = {"num_turns": None, "rollout_reward_scores": {}}
        results.append(
            compute_score(
                data_source=data_source, solution_str=response, ground_truth=ground_truth, extra_info=extra_info
            )
        )
    return verl_collect(results)


def verl_batch_manager(compute_score: Any, data_sources, responses, ground_truths, **manager_kwargs) -> tuple:
    """BatchRewardManager.verify: one call for the batch, with `reward_model.reward_kwargs` as keywords, the data
    sources as a numpy array (non_tensor_batch) and ground truths read with .get (None when absent)."""
    extras = [{"rollout_reward_scores": {}} for _ in responses]
    scores = compute_score(
        data_sources=np.array(data_sources, dtype=object),
        solution_strs=list(responses),
        ground_truths=list(ground_truths),
        extra_infos=extras,
        **manager_kwargs,
    )
    return verl_collect(list(scores))


async def verl_reward_loop(compute_score: Any, data_sources, responses, ground_truths) -> tuple[list[float], dict]:
    """The reward loop's NaiveRewardManager.run_single, for every sample at once: a coroutine function is awaited,
    a plain one runs in the event loop's default executor (a pool of threads)."""
    loop = asyncio.get_running_loop()
    is_async = inspect.iscoroutinefunction(compute_score)

    async def run_single(data_source, response, ground_truth):
        extra_info = {"num_turns": None, "rollout_reward_scores": {}}
        kwargs = dict(data_source=data_source, solution_str=response, ground_truth=ground_truth, extra_info=extra_info)
        if is_async:
            return await compute_score(**kwargs)
        return await loop.run_in_executor(None, lambda: compute_score(**kwargs))

    results = await asyncio.gather(*(run_single(*row) for row in zip(data_sources, responses, ground_truths)))
    return verl_collect(list(results))


# ---------------------------------------------------------------------------------------------------------------
# OpenRLHF


def openrlhf_load_reward_func(path: str) -> Any:
    """SingleTurnAgentExecutor.__init__: a `.py` remote_url is executed as a module named "reward_func"."""
    spec = importlib.util.spec_from_file_location("reward_func", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def openrlhf_experience(rewards_info: dict[str, Any]) -> dict[str, Any]:
    """What SingleTurnAgentExecutor.execute and _process_response_into_experience make of one query's answer:
    `scores` (else `rewards`) for filtering, `rewards` for advantages, each extra log as a tensor."""
    score_value = rewards_info.get("scores")
    if score_value is None:
        score_value = rewards_info.get("rewards")
    reward_val = rewards_info.get("rewards")
    info = {"reward": torch.tensor([reward_val]), "score": torch.tensor([score_value])}
    for key, value in (rewards_info.get("extra_logs") or {}).items():
        if isinstance(value, torch.Tensor):
            value = value.flatten()[0].item()
        info[key] = torch.tensor([value])
    return info


async def openrlhf_rewards_via_func(reward_func: Any, query: str, prompt: str, label: str) -> dict[str, Any]:
    """_fetch_rewards_via_func for one sample: the function in a thread (asyncio.to_thread), batches of one."""
    results = await asyncio.gather(asyncio.to_thread(reward_func, [query], [prompt], [label]))
    return openrlhf_experience(results[0])


async def openrlhf_rewards_via_http(url: str, query: str, prompt: str, label: str) -> dict[str, Any]:
    """_fetch_rewards_via_http for one sample and one server: a JSON POST in a session of its own (total timeout
    180 s), up to five tries a second apart."""
    payload = {"query": [query], "prompts": [prompt], "labels": [label]}
    timeout = aiohttp.ClientTimeout(total=180)
    for _ in range(5):
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(url, json=payload) as response:
                response.raise_for_status()
                return openrlhf_experience(await response.json())
        except aiohttp.ClientError:
            await asyncio.sleep(1)
    raise RuntimeError("Request error for 5 times")


def openrlhf_batch_request(url: str, queries: list[str], prompts: list[str], labels: list[Any]) -> dict[str, Any]:
    """request_api_wrapper before the streaming rewrite: a whole batch in one `requests` POST (timeout 180 s)."""
    import requests

    response = requests.post(
        url=url,
        json={"query": queries, "prompts": prompts, "labels": labels},
        headers={"Content-Type": "application/json"},
        timeout=180,
    )
    response.raise_for_status()
    return response.json()


def evalkit_file(name: str) -> str:
    """The path of one of evalkit's reward modules, as a user hands it to verl or OpenRLHF."""
    module = importlib.import_module(f"evalkit.reward.{name}")
    return str(Path(module.__file__))
