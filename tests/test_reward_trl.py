"""AccuracyReward as TRL calls it: TRL 1.16 installed (the `frameworks` extra), its own helpers reading the reward's
name, and a real GRPOTrainer step on the embedded SmolLM2 (marker integration)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.reward.trl import AccuracyReward
from evalkit.verify import check_many

trl_utils = pytest.importorskip("trl.trainer.utils", reason="TRL comes with the frameworks extra")

COMPLETIONS = [
    [{"role": "assistant", "content": "The sum is $\\boxed{\\frac{1}{3}}$."}],
    [{"role": "assistant", "content": "The sum is $\\boxed{\\frac{1}{2}}$."}],
    "So the answer is \\boxed{0.333}",  # rounded correctly to the places it states: right (evalkit's rounding rule)
    "I could not finish",
]


class Recorder:
    def __init__(self) -> None:
        self.columns: dict[str, list] = {}
        self.metrics: dict[str, list[float]] = {}

    def log_extra(self, column: str, values: list) -> None:
        self.columns.setdefault(column, []).extend(values)

    def log_metric(self, name: str, value: float) -> None:
        self.metrics.setdefault(name, []).append(value)


def call_as_grpo_trainer(reward, completions, **columns):
    """GRPOTrainer._calculate_rewards (TRL 1.16): keywords prompts, completions, completion_ids, every dataset column
    but the prompt, trainer_state, log_extra and log_metric; None becomes NaN."""
    recorder = Recorder()
    out = reward(
        prompts=[[{"role": "user", "content": "What is 1/3 as a fraction?"}]] * len(completions),
        completions=completions,
        completion_ids=[[1, 2, 3]] * len(completions),
        **columns,
        trainer_state=object(),
        log_extra=recorder.log_extra,
        log_metric=recorder.log_metric,
    )
    return out, recorder


def test_trl_names_the_reward_by_its_name_and_calls_it_synchronously():
    reward = AccuracyReward(column="solution")
    assert trl_utils.get_callable_name(reward) == "evalkit_math"
    assert trl_utils.get_callable_name(AccuracyReward(rule="strict-int")) == "evalkit_strict_int"
    assert trl_utils.get_callable_name(AccuracyReward(name="acc")) == "acc"
    assert not trl_utils.is_async_callable(reward)


def test_rewards_for_plain_and_conversational_completions_with_columns_and_metric():
    reward = AccuracyReward(column="solution", timeout=1.0)
    out, recorder = call_as_grpo_trainer(reward, COMPLETIONS, solution=["\\frac{1}{3}"] * 4, level=[1, 2, 3, 4])
    assert out == [1.0, 0.0, 1.0, 0.0]
    assert recorder.columns == {
        "evalkit_math/answer": ["\\frac{1}{3}", "\\frac{1}{2}", "0.333", ""],
        "evalkit_math/check": ["correct", "wrong", "correct", "no answer"],
    }
    assert recorder.metrics == {"evalkit_math/timeouts": [0.0]}


def test_a_timeout_is_a_zero_counted_in_the_batch_metric_and_a_missing_gold_is_none():
    reward = AccuracyReward(column="answer", timeout=1.0)
    completions = ["$\\boxed{9^{9^{9^{9}}}}$", "\\boxed{5}", "\\boxed{5}"]
    out, recorder = call_as_grpo_trainer(reward, completions, answer=["\\frac{\\sqrt{3}}{2}", None, "5"])
    assert out == [0.0, None, 1.0]  # TRL turns None into NaN: this reward leaves the sample out
    assert recorder.columns["evalkit_math/check"] == ["timeout", "no gold", "correct"]
    assert recorder.metrics == {"evalkit_math/timeouts": [1.0]}


def test_dapos_scale():
    reward = AccuracyReward(rule="dapo", wrong_reward=-1.0)
    out, _ = call_as_grpo_trainer(reward, ["Answer: 5", "Answer: 6"], answer=["5", "5"])
    assert out == [1.0, -1.0]


def test_the_reward_pickles_for_trls_spawned_rollout_worker():
    reward = AccuracyReward(column="solution", rule="dapo", wrong_reward=-1.0)
    copy = pickle.loads(pickle.dumps(reward))
    assert (copy.column, copy.config, copy.__name__) == ("solution", reward.config, "evalkit_dapo")
    assert copy(prompts=["p"], completions=["Answer: 3"], completion_ids=[[1]], solution=["3"]) == [1.0]


def test_a_dataset_without_the_gold_column_is_one_line_naming_the_columns():
    with pytest.raises(
        EvalkitError, match=r"no column 'answer' for the gold answer \(columns given: level, solution\)"
    ):
        AccuracyReward()(prompts=["p"], completions=["x"], completion_ids=[[1]], solution=["3"], level=[1])


@pytest.mark.integration
def test_one_grpo_step_on_smollm2_with_the_evalkit_reward(tmp_path):
    """A real GRPOTrainer (TRL 1.16) on the embedded SmolLM2-135M, on the CPU: the rewards TRL gathered, logged and
    tabled are evalkit's verdicts on the completions it generated, under the reward's name."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from datasets import Dataset
    from evalkit.data.embedded import ensure_model

    folder = ensure_model(Path(os.environ.get("EVALKIT_CACHE_DIR") or Path.home() / ".cache" / "evalkit"))
    data = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": "What is 2+3? Put the answer in \\boxed{}."}], "answer": 5},
            {"prompt": [{"role": "user", "content": "Write \\boxed{7} and nothing else."}], "answer": 7},
        ]
    )
    args = GRPOConfig(
        output_dir=str(tmp_path), use_cpu=True, per_device_train_batch_size=4, num_generations=2,
        max_completion_length=16, max_steps=1, report_to="none", logging_steps=1, bf16=False, save_strategy="no",
        seed=0,
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32),
        processing_class=AutoTokenizer.from_pretrained(folder),
        reward_funcs=[AccuracyReward(column="answer")],
        args=args,
        train_dataset=data,
    )
    trainer.train()
    logged = trainer.state.log_history[0]
    assert {"rewards/evalkit_math/mean", "rewards/evalkit_math/std", "evalkit_math/timeouts"} <= set(logged)
    completions = [c[0]["content"] for c in trainer._logs["completion"]]
    golds = {p[-1]["content"]: a for p, a in zip(data["prompt"], data["answer"])}
    expected = check_many([(c, str(golds[p[-1]["content"]])) for c, p in zip(completions, trainer._logs["prompt"])])
    assert list(trainer._logs["rewards"]["evalkit_math"]) == [1.0 if v.correct else 0.0 for v in expected]
    assert logged["rewards/evalkit_math/mean"] == pytest.approx(sum(v.correct for v in expected) / len(expected))
    assert list(trainer._logs["extra"]["evalkit_math/answer"]) == [v.extracted or "" for v in expected]
