"""OpenRLHF's reward from evalkit: the `reward_func` file (loaded and called as OpenRLHF does, reproduced from its
source: see tests/reward_conventions.py) and `evalkit reward-server` over real HTTP: batches, many ranks at once,
bad and oversized requests, /health, and a graceful stop with a request under way."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from reward_conventions import (
    evalkit_file,
    openrlhf_batch_request,
    openrlhf_experience,
    openrlhf_load_reward_func,
    openrlhf_rewards_via_func,
    openrlhf_rewards_via_http,
)
from reward_data import chat_prompt
from reward_servers import running_servers

from evalkit import cli
from evalkit.errors import EvalkitError
from evalkit.reward.openrlhf import config_from_environment, make_reward_func

QUESTION = "Find the number of positive divisors of 2024."
PROMPT = chat_prompt(QUESTION)
SLOW = "So it is $\\boxed{9^{9^{9^{9}}}}$.<|im_end|>"


@pytest.fixture
def reward_server():
    with running_servers() as start:
        yield start


def query(response: str) -> str:
    return PROMPT + response + "<|im_end|><|endoftext|>"


def test_the_file_scores_queries_with_the_prompt_cut_off_and_logs_numbers_only():
    reward_func = openrlhf_load_reward_func(evalkit_file("openrlhf"))
    # The prompt's own "\boxed{}" and a few-shot answer must not count: only the response is checked.
    few_shot = "Example: 1+1 = \\boxed{2}.\n" + PROMPT
    out = reward_func(
        [query("It has \\boxed{12} divisors."), few_shot + "I give up", "no prompt here \\boxed{12}"],
        [PROMPT, few_shot, PROMPT],
        ["12", "2", "12"],
    )
    assert out["rewards"].tolist() == [1.0, 0.0, 1.0]
    assert out["scores"].tolist() == [1.0, 0.0, 1.0]
    assert {k: v.tolist() for k, v in out["extra_logs"].items()} == {
        "acc": [1.0, 0.0, 1.0], "timeout": [0.0, 0.0, 0.0], "error": [0.0, 0.0, 0.0], "no_gold": [0.0, 0.0, 0.0],
        "prompt_not_found": [0.0, 0.0, 1.0],
    }  # fmt: skip


def test_settings_come_from_the_environment_or_a_file_of_ones_own(monkeypatch):
    monkeypatch.setenv("EVALKIT_REWARD_RULE", "dapo")
    monkeypatch.setenv("EVALKIT_REWARD_WRONG", "-1")
    reward_func = openrlhf_load_reward_func(evalkit_file("openrlhf"))

    async def two():
        return [
            await openrlhf_rewards_via_func(reward_func, query(r), PROMPT, "12")
            for r in ("Answer: 12", "The answer is 12.")
        ]

    infos = asyncio.run(two())
    assert [i["reward"].item() for i in infos] == [1.0, -1.0]
    assert [i["score"].item() for i in infos] == [1.0, 0.0]  # dynamic filtering reads 0 or 1 whatever the scale
    own = make_reward_func(rule="strict-int", wrong_reward=-0.5)
    assert own([query("\\boxed{12.0}")], [PROMPT], ["12"])["rewards"].tolist() == [-0.5]


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"EVALKIT_REWARD_TIMEOUT": "soon"}, "EVALKIT_REWARD_TIMEOUT='soon' is not a number"),
        ({"EVALKIT_REWARD_RULE": "prime"}, "unknown reward rule 'prime'"),
        ({"EVALKIT_REWARD_WORKERS": "0"}, "workers must be a whole number"),
    ],
)
def test_bad_settings_in_the_environment_are_one_line(environ, message):
    with pytest.raises(EvalkitError, match=message):
        config_from_environment(environ)


def test_unknown_settings_of_ones_own_reward_file_are_refused():
    with pytest.raises(EvalkitError, match="unknown reward setting 'rules'"):
        make_reward_func(rules="dapo")


def test_the_server_answers_openrlhfs_streaming_client_one_query_a_request(reward_server):
    url = reward_server()

    async def samples():
        return await asyncio.gather(
            openrlhf_rewards_via_http(url, query("It has \\boxed{12} divisors."), PROMPT, "12"),
            openrlhf_rewards_via_http(url, query("It has \\boxed{11} divisors."), PROMPT, "12"),
        )

    right, wrong = asyncio.run(samples())
    assert (right["reward"].tolist(), right["score"].tolist(), right["acc"].tolist()) == ([[1.0]], [[1.0]], [[1.0]])
    assert (wrong["reward"].tolist(), wrong["timeout"].tolist()) == ([[0.0]], [[0.0]])


def test_the_server_answers_whole_batches_as_older_openrlhf_sent_them(reward_server):
    url = reward_server(rule="math", timeout=1.0, wrong_reward=-1.0)
    responses = ["\\boxed{12}", "\\boxed{12}", SLOW, "", "\\boxed{\\sqrt{144}}"]
    labels = ["12", None, "\\frac{\\sqrt{3}}{2}", "12", "12"]
    answer = openrlhf_batch_request(url, [query(r) for r in responses], [PROMPT] * 5, labels)
    assert answer["rewards"] == [1.0, -1.0, -1.0, -1.0, 1.0]
    assert answer["scores"] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert answer["extra_logs"]["timeout"] == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert answer["extra_logs"]["no_gold"] == [0.0, 1.0, 0.0, 0.0, 0.0]
    health = requests.get(url.replace("/get_reward", "/health"), timeout=10).json()
    assert health["status"] == "ok" and health["rule"] == "math" and health["timeouts"] >= 1


def test_many_ranks_at_once_each_get_their_own_rewards(reward_server):
    url = reward_server()

    def rank(index: int) -> list[float]:
        responses = [f"so \\boxed{{\\sqrt{{{k * k}}}}}" for k in range(index, index + 6)]
        labels = [str(k + (k % 2)) for k in range(index, index + 6)]
        return openrlhf_batch_request(url, [query(r) for r in responses], [PROMPT] * 6, labels)["rewards"]

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(rank, range(48)))
    for index, rewards in enumerate(answers):
        assert rewards == [1.0 if k % 2 == 0 else 0.0 for k in range(index, index + 6)]


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "the body is not JSON"),
        (b"[1, 2]", 'the body must be a JSON object with "query", "prompts" and "labels"'),
        (json.dumps({"prompts": ["p"], "labels": ["1"]}).encode(), 'the request has no "query" list'),
        (json.dumps({"query": ["q"], "prompts": ["p"]}).encode(), 'the request has no "labels" list'),
        (json.dumps({"query": [1], "labels": ["1"]}).encode(), '"query" must be a list of strings'),
        (json.dumps({"query": ["a", "b"], "prompts": ["p"], "labels": ["1", "2"]}).encode(),
         "2 queries, 1 prompts and 2 labels"),
        (json.dumps({"query": ["a"], "labels": [{"x": 1}]}).encode(), "each label must be a string, a number or null"),
    ],
)  # fmt: skip
def test_a_request_that_cannot_be_scored_gets_400_and_the_reason(reward_server, body, message):
    url = reward_server()
    answer = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_a_request_over_the_size_bound_gets_413_and_the_server_goes_on(reward_server):
    url = reward_server(max_request_mb=0.5)
    big = {"query": ["x" * 600_000], "prompts": [""], "labels": ["1"]}
    assert requests.post(url, json=big, timeout=30).status_code == 413
    assert openrlhf_batch_request(url, ["\\boxed{1}"], [""], ["1"])["rewards"] == [1.0]


def test_a_slow_check_leaves_the_server_answering_others(reward_server):
    url = reward_server(timeout=1.5)
    done = []
    slow = threading.Thread(target=lambda: done.append(openrlhf_batch_request(url, [query(SLOW)], [PROMPT], ["\\pi"])))
    slow.start()
    time.sleep(0.3)
    health = requests.get(url.replace("/get_reward", "/health"), timeout=10)
    fast = openrlhf_batch_request(url, [query("\\boxed{12}")], [PROMPT], ["12"])
    assert health.status_code == 200 and fast["rewards"] == [1.0] and not done  # answered while the slow one runs
    slow.join()
    assert done[0]["extra_logs"]["timeout"] == [1.0]


def test_the_command_serves_until_sigterm_and_lets_the_request_under_way_finish(tmp_path):
    """`evalkit reward-server` in its own process: it prints where it listens, answers, and on SIGTERM stops taking
    connections, finishes the request under way and exits 0."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "reward-server", "--port", "0", "--verify-timeout", "3", "--rule", "math"],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = server.stderr.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/get_reward)", line)
        assert found, line
        url = found.group(1)
        assert "rule math, 1 right / 0 wrong, 3 s bound" in line
        assert openrlhf_batch_request(url, [query("\\boxed{12}")], [PROMPT], ["12"])["rewards"] == [1.0]
        answers = []
        under_way = threading.Thread(
            target=lambda: answers.append(openrlhf_batch_request(url, [query(SLOW)], [PROMPT], ["\\pi"]))
        )
        under_way.start()
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        under_way.join(120)
        assert answers and answers[0]["extra_logs"]["timeout"] == [1.0]
        assert server.wait(60) == 0
        assert "reward server stopped" in server.stderr.read()
        with pytest.raises(requests.ConnectionError):
            requests.get(url.replace("/get_reward", "/health"), timeout=5)
    finally:
        if server.poll() is None:
            server.kill()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "0", "--rule", "prime"], "unknown reward rule 'prime'"),
        (["--port", "70000"], "--port must be between 0 and 65535"),
        (["--port", "0", "--max-request-mb", "0"], "--max-request-mb must be positive"),
        (["--port", "0", "--wrong-reward", "1"], "correct_reward (1.0) must be above wrong_reward (1.0)"),
        (["--port", "0", "--workers", "0"], "workers must be a whole number of processes"),
    ],
)
def test_impossible_server_options_are_one_line_before_listening(args, message, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["evalkit", "reward-server", *args])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_openrlhfs_experience_takes_the_servers_answer_as_it_is(reward_server):
    url = reward_server()
    answer = openrlhf_batch_request(url, [query("\\boxed{12}")], [PROMPT], ["12"])
    info = openrlhf_experience(answer)
    assert info["reward"].tolist() == [[1.0]] and info["prompt_not_found"].tolist() == [[0.0]]
