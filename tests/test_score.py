"""`evalkit score` on the real shared generations and on files built from them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GENERATIONS, read_jsonl

EXPECTED_CORRECT = {
    "aime24_Qwen_Qwen2.5-14B-Instruct.jsonl": 6,
    "aime24_Qwen_Qwen2.5-Math-7B.jsonl": 6,
    "aime24_Sky-T1-math-correct-5K-32B-short.jsonl": 4,
    "aime24_google_gemma-2-27b-it.jsonl": 2,
}


def evalkit(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture
def env(data_env) -> dict:
    return dict(os.environ)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(EXPECTED_CORRECT))
def test_score_json_on_real_generations(env, name):
    result = evalkit("score", str(GENERATIONS / name), "--dataset", "aime24", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    metrics = report["metrics"]
    assert metrics["n"] == 1 and metrics["problems"] == 30
    assert metrics["avg"] == pytest.approx(EXPECTED_CORRECT[name] / 30)
    assert metrics["pass_at"]["1"] == pytest.approx(metrics["avg"])
    assert metrics["avg_ci"]["low"] <= metrics["avg"] <= metrics["avg_ci"]["high"]
    samples = report["samples"]
    assert len(samples) == 30
    assert set(samples[0]) >= {"problem_id", "sample_index", "extracted", "correct", "rule", "error"}
    assert sum(s["correct"] for s in samples) == EXPECTED_CORRECT[name]
    assert report["coverage"] == {"scored": 30, "total": 30, "missing": []}


def test_score_table_for_humans(env):
    result = evalkit("score", str(GENERATIONS / "aime24_Qwen_Qwen2.5-Math-7B.jsonl"), env=env)
    assert result.returncode == 0, result.stderr
    for text in ("avg@1", "pass@1", "maj@1", "95% CI", "20.0", "no answer 7", "truncated unknown"):
        assert text in result.stdout


def test_verifier_all_shows_where_rule_sets_disagree(env):
    # README: "`--verifier all` scores with every rule set and lists the samples on which they disagree."
    result = evalkit("score", str(GENERATIONS / "aime24_google_gemma-2-27b-it.jsonl"), "--verifier", "all", env=env)
    assert result.returncode == 0, result.stderr
    assert "samples where rule sets disagree" in result.stdout
    assert "2024-I-7" in result.stdout  # an unsimplified but correct expression: math yes, strict-int no
    report = json.loads(
        evalkit(
            "score", str(GENERATIONS / "aime24_google_gemma-2-27b-it.jsonl"), "--verifier", "all", "--json", env=env
        ).stdout
    )
    assert set(report["metrics"]) == {"math", "dapo", "strict-int"}
    by_id = {s["problem_id"]: s for s in report["samples"]}
    verdicts = by_id["2024-I-7"]["verdicts"]
    assert verdicts["math"]["correct"] and not verdicts["strict-int"]["correct"] and not verdicts["dapo"]["correct"]
    assert not by_id["2024-I-7"]["agree"]


def test_partial_file_is_scored_on_its_problems_and_says_so(env, tmp_path):
    # README: "A file covering some problems is scored on those and says so."
    rows = read_jsonl(GENERATIONS / "aime24_Qwen_Qwen2.5-14B-Instruct.jsonl")[:10]
    path = write_jsonl(tmp_path / "part.jsonl", rows)
    result = evalkit("score", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert "10 of 30 problems of aime24" in result.stdout + result.stderr
    report = json.loads(evalkit("score", str(path), "--json", env=env).stdout)
    assert report["coverage"]["scored"] == 10 and len(report["coverage"]["missing"]) == 20
    assert report["metrics"]["problems"] == 10


def test_several_samples_per_problem(env, tmp_path):
    rows = []
    for path in sorted(GENERATIONS.glob("aime24_*.jsonl")):
        for row in read_jsonl(path):
            rows.append({"problem_id": row["problem_id"], "response": row["response"]})
    path = write_jsonl(tmp_path / "four.jsonl", rows)  # no sample_index: numbered in file order
    report = json.loads(evalkit("score", str(path), "--json", env=env).stdout)
    metrics = report["metrics"]
    assert metrics["n"] == 4 and metrics["samples"] == 120
    assert metrics["avg"] == pytest.approx(18 / 120)
    assert set(metrics["pass_at"]) == {"1", "2", "4"}
    solved = {p["problem_id"] for p in metrics["per_problem"] if p["correct"]}
    assert metrics["pass_at"]["4"] == pytest.approx(len(solved) / 30)
    assert {s["sample_index"] for s in report["samples"]} == {0, 1, 2, 3}


def test_uneven_sample_counts_are_an_error(env, tmp_path):
    # README: "A problem with fewer than n samples is an error, never divided by n"
    rows = [{"problem_id": "2024-I-1", "response": "\\boxed{204}"}] * 2 + [{"problem_id": "2024-I-2", "response": "1"}]
    result = evalkit("score", str(write_jsonl(tmp_path / "uneven.jsonl", rows)), env=env)
    assert result.returncode == 2
    assert "same n" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"problem_id": "2024-I-1", "response": "1"}\n{"problem_id": ', "bad.jsonl:2: malformed JSON"),
        ('{"problem_id": "2024-I-1"}\n', "needs `problem_id` and `response`"),
        ('{"problem_id": "2099-I-1", "response": "1"}\n', "is not in dataset aime24"),
        ("", "no records to score"),
    ],
)
def test_bad_generation_files_get_one_line(env, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = evalkit("score", str(path), env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0


def test_unknown_verifier_and_missing_file(env, tmp_path):
    result = evalkit("score", str(GENERATIONS / "aime24_google_gemma-2-27b-it.jsonl"), "--verifier", "fuzzy", env=env)
    assert result.returncode == 2 and "unknown verifier 'fuzzy'" in result.stderr
    result = evalkit("score", str(tmp_path / "none.jsonl"), env=env)
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_truncated_samples_keep_only_explicit_markers(env, tmp_path):
    rows = [
        {"problem_id": "2024-I-1", "response": "Work...\nTherefore, the time is $204$.", "finish_reason": "length"},
        {"problem_id": "2024-I-2", "response": "Work...\nTherefore, the answer is $25$.", "finish_reason": "stop"},
        {"problem_id": "2024-I-3", "response": "Work... so \\boxed{809}", "finish_reason": "length"},
    ]
    report = json.loads(evalkit("score", str(write_jsonl(tmp_path / "t.jsonl", rows)), "--json", env=env).stdout)
    assert [s["correct"] for s in report["samples"]] == [False, True, True]
    assert report["metrics"]["truncated"] == 2


def test_a_generations_file_with_separate_reasoning_is_judged_on_it_for_language_mixing(env, tmp_path):
    english = "We count the ordered pairs one value at a time and then add the counts for every case. " * 3
    chinese = "所以我们需要重新检查一下这个条件，然后把每一种情况都代进去验证。"
    rows = [{"problem_id": "2024-I-1", "response": "The answer is $\\boxed{204}$.", "reasoning": english + chinese},
            {"problem_id": "2024-I-2", "response": english + "So $\\boxed{25}$."},
            {"problem_id": "2024-I-3", "response": "$\\boxed{1}$"}]  # fmt: skip
    path = write_jsonl(tmp_path / "g.jsonl", rows)
    report = json.loads(evalkit("score", str(path), "--json", env=env).stdout)
    assert [s["language_mixed"] for s in report["samples"]] == [True, False, None]
    assert (report["metrics"]["language_judged"], report["metrics"]["language_mixed"]) == (2, 1)
    human = evalkit("score", str(path), env=env)
    assert "mixes languages 1 of 2 judged" in human.stdout
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"problem_id": "2024-I-1", "response": "x", "reasoning": 7}])
    refused = evalkit("score", str(bad), env=env)
    assert refused.returncode == 2 and "bad.jsonl:1 has a non-text `reasoning`" in refused.stderr


@pytest.mark.parametrize(
    ("stray", "said"),
    [
        ({"problem_id": "2024-I-9", "sample_index": 0}, "'2024-I-9' is not among the run's 3 problems (its --limit)"),
        ({"problem_id": "2099-I-1", "sample_index": 0}, "'2099-I-1' is no problem of aime24"),
        ({"problem_id": "2024-I-1", "sample_index": 7}, "sample #7 of '2024-I-1' is beyond the run's n=2"),
    ],
)
def test_a_run_holding_a_stray_line_is_scored_on_its_own_samples_with_a_notice(env, shared_data, tmp_path, stray, said):
    # A line appended from elsewhere: a reader leaves it out and says so, as the run's own results do, instead of
    # calling a real aime24 problem "not in aime24" and scoring nothing.
    from fake_backend import FakeBackend

    from evalkit.config import BackendConfig, RunConfig, SamplingConfig
    from evalkit.data import datasets as ds
    from evalkit.data.prompts import TEMPLATES
    from evalkit.pipeline.run import run
    from evalkit.verify import Verifier

    aime = ds.load("aime24", ds.DataLocations(shared_data, tmp_path / "cache"))
    config = RunConfig("fake-model", "aime24", "boxed", SamplingConfig(n=2, max_tokens=512), BackendConfig(), limit=3)
    with Verifier("math") as verifier:
        outcome = run(config, aime, TEMPLATES["boxed"], lambda: FakeBackend(), tmp_path / "run", verifier)
    line = {**stray, "text": "\\boxed{1}", "finish_reason": "stop", "prompt_tokens": 1, "output_tokens": 1, "seed": 1}
    with (tmp_path / "run" / "samples.jsonl").open("a") as samples:
        samples.write(json.dumps(line) + "\n")
    result = evalkit("score", str(tmp_path / "run"), "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert f"note: left out 1 stored sample of {tmp_path / 'run' / 'samples.jsonl'} that the run does not score" in (
        " ".join(result.stderr.split())
    )  # fmt: skip
    assert said in result.stderr and "move such lines out of the file" in " ".join(result.stderr.split())
    metrics = json.loads(result.stdout)["metrics"]
    assert (metrics["problems"], metrics["n"], metrics["samples"]) == (3, 2, 6)
    assert metrics["avg"] == pytest.approx(outcome.metrics.avg)


def test_one_problem_scores_without_nan_and_says_why_there_is_no_interval(env, tmp_path):
    rows = [{"problem_id": "2024-I-1", "response": "\\boxed{204}"}, {"problem_id": "2024-I-1", "response": "1"}]
    path = write_jsonl(tmp_path / "one.jsonl", rows)
    result = evalkit("score", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert "nan" not in result.stdout.lower() and "one problem: no standard error or interval" in result.stdout
    report = json.loads(evalkit("score", str(path), "--json", env=env).stdout, parse_constant=pytest.fail)
    assert report["metrics"]["avg_se"] is None and report["metrics"]["avg"] == 0.5
