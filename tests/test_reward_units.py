"""The reward's parts as tables of cases: settings, gold answers, response text, outcomes and their extra keys."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from evalkit.errors import EvalkitError
from evalkit.reward import scoring
from evalkit.reward.scoring import (
    EXTRA_KEYS,
    RewardConfig,
    RewardOutcome,
    RewardTotals,
    batch_summary,
    gold_text,
    score,
)
from evalkit.reward.text import completion_text, response_of_query, strip_edge_tokens
from evalkit.verify import DEFAULT_TIMEOUT_S

PROMPT = "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"rule": "math-verify"}, "unknown reward rule 'math-verify'; choose one of math, dapo, strict-int"),
        ({"timeout": 0}, "positive number of seconds"),
        ({"timeout": float("nan")}, "positive number of seconds"),
        ({"timeout": "5"}, "positive number of seconds"),
        ({"correct_reward": 0.0, "wrong_reward": 0.0}, "must be above wrong_reward"),
        ({"correct_reward": -1.0}, "must be above wrong_reward"),
        ({"wrong_reward": float("-inf")}, "wrong_reward must be a finite number"),
        ({"correct_reward": True}, "correct_reward must be a finite number"),
        ({"workers": 0}, "workers must be a whole number"),
        ({"workers": 2.5}, "workers must be a whole number"),
    ],
)
def test_impossible_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(EvalkitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RewardConfig(**settings)


def test_defaults_are_the_math_rule_one_or_zero_and_the_verifiers_bound():
    config = RewardConfig()
    assert (config.rule, config.correct_reward, config.wrong_reward, config.timeout) == ("math", 1.0, 0.0, 5.0)
    assert config.timeout == DEFAULT_TIMEOUT_S


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, RewardConfig()),
        ({"rule": "dapo", "wrong_reward": -1}, RewardConfig("dapo", wrong_reward=-1)),
        # what verl and TRL pass on their own is not evalkit's to read
        ({"reward_router_address": None, "sandbox_fusion_url": "http://x", "trainer_state": object()}, RewardConfig()),
        ({"some_new_framework_kwarg": 1}, RewardConfig()),
    ],
)
def test_settings_are_read_from_a_frameworks_kwargs(kwargs, expected):
    assert RewardConfig.from_kwargs(kwargs) == expected


@pytest.mark.parametrize("typo, meant", [("rul", "rule"), ("timout", "timeout"), ("wrong_rewards", "wrong_reward")])
def test_a_misspelt_setting_is_refused_not_ignored(typo, meant):
    with pytest.raises(EvalkitError, match=f"unknown reward setting '{typo}'; did you mean '{meant}'"):
        RewardConfig.from_kwargs({typo: "dapo"})


@pytest.mark.parametrize(
    "gold, text",
    [
        ("204", "204"),
        (" 204 ", " 204 "),
        (204, "204"),
        (204.0, "204"),  # a float column: the gold 204, not "204.0"
        (2.5, "2.5"),
        (np.int64(33), "33"),
        (np.float64(33.0), "33"),
        (np.float32(33.0), "33"),  # no subclass of float: read through .item()
        (np.bool_(True), None),
        (b"\\frac{1}{2}", "\\frac{1}{2}"),
        (None, None),
        ("", None),
        ("   ", None),
        (float("nan"), None),
        (True, None),
    ],
)
def test_gold_answers_as_datasets_hand_them_over(gold, text):
    assert gold_text(gold) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so \\boxed{5}", "so \\boxed{5}"),
        ("so \\boxed{5}  \n", "so \\boxed{5}  \n"),  # no token: unchanged, whitespace and all
        ("so \\boxed{5}<|im_end|>", "so \\boxed{5}"),
        ("so \\boxed{5}<|im_end|>\n<|endoftext|><|endoftext|>", "so \\boxed{5}"),
        ("so \\boxed{5}<｜end▁of▁sentence｜>", "so \\boxed{5}"),
        ("so \\boxed{5}</s>", "so \\boxed{5}"),
        ("<s> so \\boxed{5}<eos>", " so \\boxed{5}"),
        ("<|begin_of_text|>so \\boxed{5}<|eot_id|>", "so \\boxed{5}"),
        # markers that are the response's own text stay
        ("<|begin_of_thought|>x<|end_of_thought|> \\boxed{5}<|end_of_solution|>",
         "<|begin_of_thought|>x<|end_of_thought|> \\boxed{5}<|end_of_solution|>"),
        ("<think>x</think>\\boxed{5}", "<think>x</think>\\boxed{5}"),
    ],
)  # fmt: skip
def test_special_tokens_are_cut_off_the_ends_only(text, expected):
    assert strip_edge_tokens(text) == expected


@pytest.mark.parametrize(
    "query, prompt, response, found",
    [
        (PROMPT + "It is \\boxed{5}.<|im_end|>", PROMPT, "It is \\boxed{5}.", True),
        # decoded with a beginning-of-sequence token in front of the prompt
        ("<s>" + PROMPT + "It is \\boxed{5}.</s>", PROMPT, "It is \\boxed{5}.", True),
        # the prompt cut from the left to fit the context: only its end is in the query
        ("x" * 300 + PROMPT + "It is \\boxed{5}.", "x" * 5000 + PROMPT, "It is \\boxed{5}.", True),
        # a few-shot prompt holds answers of its own: they must not be checked
        ("Q: 1+1? A: \\boxed{2}\n" + PROMPT + "It is 5", "Q: 1+1? A: \\boxed{2}\n" + PROMPT, "It is 5", True),
        ("It is \\boxed{5}.", None, "It is \\boxed{5}.", True),
        ("It is \\boxed{5}.", "", "It is \\boxed{5}.", True),
        ("Something else entirely: \\boxed{5}", PROMPT, "Something else entirely: \\boxed{5}", False),
    ],
)
def test_the_prompt_is_cut_off_an_openrlhf_query(query, prompt, response, found):
    assert response_of_query(query, prompt) == (response, found)


@pytest.mark.parametrize(
    "completion, text",
    [
        ("It is \\boxed{5}", "It is \\boxed{5}"),
        ([{"role": "assistant", "content": "It is \\boxed{5}"}], "It is \\boxed{5}"),
        ({"role": "assistant", "content": "It is \\boxed{5}"}, "It is \\boxed{5}"),
        ([{"content": "It is \\boxed{5}"}], "It is \\boxed{5}"),  # TRL's docs write messages without a role
        (
            [
                {"role": "assistant", "content": "Let me compute.", "tool_calls": [{"name": "python"}]},
                {"role": "tool", "content": "\\boxed{999}"},
                {"role": "assistant", "content": "So it is \\boxed{5}"},
            ],
            "Let me compute.\n\nSo it is \\boxed{5}",
        ),
        ([{"role": "assistant", "content": [{"type": "text", "text": "It is "}, {"type": "image"},
                                             {"type": "text", "text": "\\boxed{5}"}]}], "It is \\boxed{5}"),
        ([{"role": "assistant", "content": None}], ""),
        ([], ""),
        (None, ""),
    ],
)  # fmt: skip
def test_the_text_of_plain_and_conversational_completions(completion, text):
    assert completion_text(completion) == text


def outcomes_of_every_kind(**settings):
    config = RewardConfig(timeout=1.0, **settings)
    responses = ["It is \\boxed{5}.", "It is \\boxed{6}.", "", "First we add the two numbers, and then we",
                 "$\\boxed{9^{9^{9^{9}}}}$", "It is \\boxed{5}.", "It is \\boxed{5}."]  # fmt: skip
    golds = ["5", "5", "5", "5", "\\frac{\\sqrt{3}}{2}", None, "7"]
    return config, score(config, responses, golds)


def test_every_outcome_reports_the_same_keys_and_its_kind():
    config, outcomes = outcomes_of_every_kind()
    assert [o.status for o in outcomes] == ["correct", "wrong", "no answer", "no answer", "timeout", "no gold", "wrong"]
    assert [o.reward for o in outcomes] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    for outcome in outcomes:
        extras = outcome.extras()
        assert tuple(extras) == EXTRA_KEYS
        # verl's validation metrics skip a key whose first value is a string and average the rest
        assert isinstance(extras["pred"], str)
        assert all(isinstance(extras[k], float) for k in EXTRA_KEYS if k != "pred")
    flags = [(o.extras()["timeout"], o.extras()["no_gold"], o.extras()["acc"]) for o in outcomes]
    assert flags[4] == (1.0, 0.0, 0.0) and flags[5] == (0.0, 1.0, 0.0) and flags[0] == (0.0, 0.0, 1.0)
    assert batch_summary(config, outcomes) == (
        "evalkit reward (math): 1 timeout, 0 error, 1 without gold in a batch of 7 (each scored 0)"
    )
    assert batch_summary(config, outcomes[:4]) is None


@pytest.mark.parametrize(
    "outcome, said",
    [
        (RewardOutcome(0.0, False, "5", timed_out=True), "1 timeout, 0 error, 0 without gold"),
        (RewardOutcome(0.0, False, "5", failed=True), "0 timeout, 1 error, 0 without gold"),
        (RewardOutcome(0.0, False, None, no_gold=True), "0 timeout, 0 error, 1 without gold"),
    ],
)
def test_a_batch_with_any_check_not_made_is_summed_up(outcome, said):
    right = RewardOutcome(1.0, True, "5")
    assert batch_summary(RewardConfig(), [right, outcome]) == (
        f"evalkit reward (math): {said} in a batch of 2 (each scored 0)"
    )


def test_the_running_totals_warn_at_once_then_at_most_once_a_minute(monkeypatch, caplog):
    clock = [1000.0]
    monkeypatch.setattr(scoring.time, "monotonic", lambda: clock[0])
    totals, config = RewardTotals(), RewardConfig()
    timeout = RewardOutcome(0.0, False, "5", timed_out=True)
    with caplog.at_level(logging.WARNING, logger=scoring.logger.name):
        totals.add(config, [RewardOutcome(1.0, True, "5")] * 3)
        assert caplog.messages == []  # nothing to report
        totals.add(config, [timeout])
        assert caplog.messages == [
            "evalkit reward (math): of 4 checks in this process so far, 1 ran out of their 5 s CPU bound; each scored"
            " 0 (reported as timeout / error / no_gold, never as a wrong answer)"
        ]
        clock[0] += scoring.LOG_EVERY_S - 1
        totals.add(config, [timeout])
        assert len(caplog.messages) == 1  # within the minute: counted, not said again yet
        clock[0] += 1
        totals.add(config, [RewardOutcome(1.0, True, "5")])
        assert len(caplog.messages) == 2 and "of 6 checks in this process so far, 2 ran out" in caplog.messages[-1]
        clock[0] += 10 * scoring.LOG_EVERY_S
        totals.add(config, [RewardOutcome(1.0, True, "5")])
        assert len(caplog.messages) == 2  # nothing new since
    assert totals.snapshot() == {"math": {"checks": 7, "correct": 5, "timeouts": 2, "errors": 0, "no_gold": 0}}


def test_a_reward_reads_the_whole_response_not_only_its_explicit_markers():
    # A response is never taken for one cut off at its token limit: a concluding sentence earns too.
    [outcome] = score(RewardConfig(), ["Adding them up, the answer is 5"], ["5"])
    assert outcome.correct and outcome.reward == 1.0


def test_dapos_scale_gives_minus_one_to_wrong_answers_timeouts_and_missing_golds():
    _, outcomes = outcomes_of_every_kind(wrong_reward=-1.0)
    assert [o.reward for o in outcomes] == [1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]


def test_a_gold_the_verifier_cannot_read_is_no_gold_not_a_wrong_answer():
    [outcome] = score(RewardConfig("strict-int"), ["It is \\boxed{5}."], ["\\frac{1}{2}"])
    assert (outcome.status, outcome.reward, outcome.no_gold) == ("no gold", 0.0, True)


def test_responses_and_golds_must_pair_up():
    with pytest.raises(EvalkitError, match="2 responses but 1 gold answers"):
        score(RewardConfig(), ["a", "b"], ["1"])
