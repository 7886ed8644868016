"""evalkit's verifier as OpenRLHF's reward: the `reward_func` of a `--reward.remote_url` Python file."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

# Absolute imports only: OpenRLHF loads this file by its path, as a module named "reward_func".
from evalkit.errors import EvalkitError
from evalkit.reward.scoring import RewardConfig, RewardOutcome, log_batch, score
from evalkit.reward.text import response_of_query

logger = logging.getLogger("evalkit.reward")

# OpenRLHF passes nothing but queries, prompts and labels; the settings come from the environment (Ray passes it to
# its workers through the job's runtime_env) or from a file of one's own that calls `make_reward_func(...)`.
ENVIRONMENT = {
    "rule": "EVALKIT_REWARD_RULE",
    "timeout": "EVALKIT_REWARD_TIMEOUT",
    "correct_reward": "EVALKIT_REWARD_CORRECT",
    "wrong_reward": "EVALKIT_REWARD_WRONG",
    "workers": "EVALKIT_REWARD_WORKERS",
}
# extra_logs are turned into tensors by OpenRLHF: numbers only.
LOG_KEYS = ("acc", "timeout", "error", "no_gold", "prompt_not_found")


def config_from_environment(environ: dict[str, str] | None = None) -> RewardConfig:
    """The settings named by EVALKIT_REWARD_RULE, _TIMEOUT, _CORRECT, _WRONG and _WORKERS (defaults otherwise)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, variable in ENVIRONMENT.items():
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        if name == "rule":
            values[name] = raw
            continue
        try:
            values[name] = int(raw) if name == "workers" else float(raw)
        except ValueError:
            raise EvalkitError(f"{variable}={raw!r} is not a number") from None
    return RewardConfig(**values)


def rewards_payload(config: RewardConfig, outcomes: Sequence[RewardOutcome], found: Sequence[bool]) -> dict[str, Any]:
    """OpenRLHF's reward answer: `rewards` (for the advantages), `scores` (0 or 1, for dynamic filtering) and
    `extra_logs` (one number per query and key, for its logs)."""
    logs: dict[str, list[float]] = {key: [] for key in LOG_KEYS}
    for outcome, prompt_found in zip(outcomes, found):
        extras = outcome.extras()
        for key in LOG_KEYS[:-1]:
            logs[key].append(float(extras[key]))
        logs["prompt_not_found"].append(0.0 if prompt_found else 1.0)
    return {
        "rewards": [o.reward for o in outcomes],
        "scores": [1.0 if o.correct else 0.0 for o in outcomes],
        "extra_logs": logs,
    }


def split_queries(queries: Sequence[str], prompts: Sequence[str] | None) -> tuple[list[str], list[bool]]:
    """Each query's response (its prompt cut off) and whether its prompt was found in it."""
    if prompts is not None and len(prompts) != len(queries):
        raise EvalkitError(f"{len(queries)} queries but {len(prompts)} prompts; give one prompt per query")
    pairs = [response_of_query(q, None if prompts is None else prompts[i]) for i, q in enumerate(queries)]
    missing = sum(not found for _, found in pairs)
    if missing:
        logger.warning(
            f"evalkit reward: the prompt was not found in {missing} of {len(queries)} queries; each was checked whole "
            "(counted as prompt_not_found)"
        )
    return [text for text, _ in pairs], [found for _, found in pairs]


def make_reward_func(**settings: Any) -> Callable[..., dict[str, Any]]:
    """A `reward_func(queries, prompts, labels, **kwargs)` with these settings (rule, timeout, correct_reward,
    wrong_reward, workers), for a reward file of one's own: `reward_func = make_reward_func(rule="dapo")`."""
    unknown = sorted(set(settings) - set(RewardConfig.__dataclass_fields__))
    if unknown:
        known = ", ".join(RewardConfig.__dataclass_fields__)
        raise EvalkitError(f"unknown reward setting {unknown[0]!r}; the settings are {known}")
    config = RewardConfig(**settings)

    def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any) -> dict:
        return _reward(config, queries, prompts, labels)

    return reward_func


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any) -> dict:
    """OpenRLHF's reward function: `queries` are prompt + response as decoded (special tokens kept), `labels` the
    gold answers. Settings from the environment (see `config_from_environment`)."""
    return _reward(config_from_environment(), queries, prompts, labels)


def _reward(config: RewardConfig, queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[Any]) -> dict:
    responses, found = split_queries(list(queries), None if prompts is None else list(prompts))
    outcomes = score(config, responses, list(labels))
    log_batch(config, outcomes)
    return _as_tensors(rewards_payload(config, outcomes, found))


def _as_tensors(payload: dict[str, Any]) -> dict[str, Any]:
    """Rewards as torch tensors, as OpenRLHF's own reward functions return them (lists where torch is missing)."""
    try:
        import torch
    except ImportError:
        return payload
    return {
        "rewards": torch.tensor(payload["rewards"], dtype=torch.float),
        "scores": torch.tensor(payload["scores"], dtype=torch.float),
        "extra_logs": {k: torch.tensor(v, dtype=torch.float) for k, v in payload["extra_logs"].items()},
    }
