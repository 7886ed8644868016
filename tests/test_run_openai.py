"""`evalkit run` as a real subprocess against a local OpenAI-compatible server that injects faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import read_jsonl, samples_with_verdicts
from fake_openai_server import Faults, ServerState, serve

SECRET = "sk-evalkit-test-secret-0123456789"


@pytest.fixture
def gold(shared_data) -> dict[str, str]:
    return {row["problem"]: row["answer"] for row in read_jsonl(shared_data / "aime24.jsonl")}


@pytest.fixture
def env(data_env) -> dict:
    environment = dict(os.environ)
    environment["OPENAI_API_KEY"] = SECRET
    return environment


def command(url: str, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "evalkit", "run", "fake-model", "--backend", "openai", "--base-url", url,
        "--run-dir", str(run_dir), "--limit", "5", "-n", "4", "--max-tokens", "256", "--max-retries", "6",
        *extra,
    ]  # fmt: skip


def run_cli(args: list[str], env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)


def samples_of(run_dir: Path) -> list[dict]:
    return read_jsonl(run_dir / "samples.jsonl")


def keys(samples: list[dict]) -> set[tuple[str, int]]:
    return {(s["problem_id"], s["sample_index"]) for s in samples}


def test_run_survives_every_fault_with_exactly_n_samples_per_problem(env, gold, tmp_path):
    # README: "retries with exponential backoff and jitter on 429, 5xx, timeouts, stalled streams and dropped
    # connections"
    faults = Faults(
        status_503={1, 4}, status_429={2}, retry_after_s=0.3, slow={6}, slow_s=4.0, drop_connection={8}, max_choices=3
    )
    state = ServerState(gold=gold, faults=faults)
    with serve(state) as url:
        result = run_cli(command(url, tmp_path / "run", "--request-timeout", "1.5"), env)
    assert result.returncode == 0, result.stderr
    samples = samples_of(tmp_path / "run")
    assert len(samples) == 20 and len(keys(samples)) == 20
    per_problem = {}
    for s in samples:
        per_problem[s["problem_id"]] = per_problem.get(s["problem_id"], 0) + 1
    assert set(per_problem.values()) == {4}
    # 5 problems x (one request for 3 choices + one for the missing 4th) + the 5 failed attempts
    assert state.requests >= 10 + 5
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["metrics"]["n"] == 4 and results["metrics"]["problems"] == 5
    assert "avg@4" in result.stdout


def test_the_api_key_is_sent_but_never_written(env, gold, tmp_path):
    # README: "The API key is read from the environment ... and never written to disk or logs"
    state = ServerState(gold=gold)
    with serve(state) as url:
        result = run_cli(command(url, tmp_path / "run"), env)
    assert result.returncode == 0, result.stderr
    assert all(auth == f"Bearer {SECRET}" for auth in state.seen_auth)
    for path in (tmp_path / "run").iterdir():
        text = path.read_text()
        assert SECRET not in text, path
    assert SECRET not in result.stdout + result.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["backend"]["endpoints"] == [url]
    assert manifest["backend"]["api_key_env"] == "OPENAI_API_KEY"


def test_endpoints_lose_credentials_before_they_are_recorded():
    from evalkit.config import BackendConfig, RunConfig, SamplingConfig, public_url

    assert public_url("https://alice:pw@host.example:8443/v1?key=abc#x") == "https://host.example:8443/v1"
    config = RunConfig("m", "aime24", "dapo", SamplingConfig(),
                       BackendConfig(kind="openai", base_urls=("http://u:secret@h:1/v1?token=t",)))  # fmt: skip
    assert config.to_dict()["backend"]["base_urls"] == ["http://h:1/v1"]


def test_sigkill_mid_run_then_resume_matches_an_uninterrupted_run_and_score_to_the_last_digit(env, gold, tmp_path):
    # Four requests in flight: samples land in samples.jsonl in another order in each run, and the resumed run's
    # file is two runs' arrivals. Its results must still equal the uninterrupted run's and `evalkit score RUN_DIR`'s
    # (the bootstrap draws problems in the dataset's order, never in the order samples were written).
    # Twelve problems: sorted ids (2024-I-1, 2024-I-10, ...) are not the dataset's order, so the order used matters.
    args = ["--concurrency", "4", "--limit", "12"]
    state = ServerState(gold=gold, latency_s=0.08, faults=Faults(max_choices=1))
    with serve(state) as url:
        process = subprocess.Popen(command(url, tmp_path / "run", *args), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        path = tmp_path / "run" / "samples.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().count("\n") >= 7:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_with = len(samples_of(tmp_path / "run"))
        assert 7 <= killed_with < 48, "the kill must land mid-run"
        # a crash in the middle of a write leaves a partial line: it must be dropped, not kept
        with open(path, "a") as handle:
            handle.write('{"problem_id": "2024-I-3", "sample_index": 2, "te')
        resumed = run_cli(command(url, tmp_path / "run", *args), env)
        fresh = run_cli(command(url, tmp_path / "fresh", *args), env)
    assert resumed.returncode == 0 and fresh.returncode == 0, resumed.stderr + fresh.stderr
    assert "half-written last line" in resumed.stderr
    assert f"resuming {tmp_path / 'run'}: {killed_with} samples on disk" in resumed.stderr
    samples = samples_of(tmp_path / "run")
    assert len(samples) == 48 and len(keys(samples)) == 48
    by_key = lambda rows: {(r["problem_id"], r["sample_index"]): r["text"] for r in rows}  # noqa: E731
    assert by_key(samples) == by_key(samples_of(tmp_path / "fresh"))
    assert [s["problem_id"] for s in samples] != [s["problem_id"] for s in samples_of(tmp_path / "fresh")]
    metrics = json.loads((tmp_path / "run" / "results.json").read_text())["metrics"]
    assert metrics == json.loads((tmp_path / "fresh" / "results.json").read_text())["metrics"]
    scored = run_cli([sys.executable, "-m", "evalkit", "score", str(tmp_path / "run"), "--json"], env)
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["metrics"] == metrics


def test_a_dead_server_stops_the_run_with_a_clear_message(env, tmp_path):
    result = run_cli(command("http://127.0.0.1:9/v1", tmp_path / "run"), env)
    assert result.returncode == 2
    assert "cannot reach http://127.0.0.1:9/v1" in result.stderr and "Traceback" not in result.stderr


def test_server_gone_mid_run_keeps_samples_and_says_how_to_resume(env, gold, tmp_path):
    # README: "If a server dies or memory runs out mid-run, evalkit stops with one line saying how many samples are
    # saved and that rerunning resumes."
    # every request after the 3rd gets 503s until retries run out
    faults = Faults(status_503=set(range(4, 200)), max_choices=1)
    state = ServerState(gold=gold, faults=faults)
    with serve(state) as url:
        result = run_cli(command(url, tmp_path / "run", "--max-retries", "1", "--concurrency", "1"), env)
    assert result.returncode == 2
    assert "rerun the same command to resume" in result.stderr
    assert "samples are saved in" in result.stderr
    assert len(samples_of(tmp_path / "run")) == 3


def test_settings_are_checked_before_any_request(env, gold, tmp_path):
    state = ServerState(gold=gold, max_model_len=1024)
    with serve(state) as url:
        too_long = run_cli(command(url, tmp_path / "a") + ["--max-tokens", "2048"], env)
        greedy = run_cli(command(url, tmp_path / "b") + ["--temperature", "0"], env)
        wrong_model = run_cli(command(url, tmp_path / "c") + ["--served-model-name", "other"], env)
    assert too_long.returncode == 2 and "exceeds the model's context of 1024" in too_long.stderr
    assert greedy.returncode == 0 and "temperature 0 with n=4" in greedy.stderr
    assert wrong_model.returncode == 2 and "serves fake-model, not 'other'" in wrong_model.stderr
    assert state.requests == 5  # only the greedy run generated: one request of n=4 per problem


def test_a_different_configuration_in_the_same_directory_is_refused(env, gold, tmp_path):
    state = ServerState(gold=gold)
    with serve(state) as url:
        assert run_cli(command(url, tmp_path / "run"), env).returncode == 0
        other = run_cli(command(url, tmp_path / "run") + ["--temperature", "0.9"], env)
    assert other.returncode == 2
    assert "different settings (temperature 0.6 -> 0.9)" in other.stderr


def test_load_spreads_over_several_servers(env, gold, tmp_path):
    # README: "Repeat `--base-url` to spread load over several servers."
    first, second = ServerState(gold=gold, latency_s=0.05), ServerState(gold=gold, latency_s=0.05)
    with serve(first) as url_a, serve(second) as url_b:
        result = run_cli(command(url_a, tmp_path / "run") + ["--base-url", url_b], env)
    assert result.returncode == 0, result.stderr
    assert first.completed > 0 and second.completed > 0
    assert first.completed + second.completed == 5


def test_a_preset_sets_the_protocol_and_flags_override_it_on_record(env, gold, tmp_path):
    # README: "any flag overrides them and the override is recorded"
    state = ServerState(gold=gold)
    with serve(state) as url:
        args = [sys.executable, "-m", "evalkit", "run", "DAPO-Qwen-32B", "--backend", "openai", "--base-url", url,
                "--served-model-name", "fake-model", "--run-dir", str(tmp_path / "run"), "--limit", "2", "-n", "2",
                "--max-tokens", "256"]  # fmt: skip
        result = run_cli(args, env)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["preset"] == "DAPO-Qwen-32B" and manifest["model"] == "BytedTsinghua-SIA/DAPO-Qwen-32B"
    assert manifest["sampling"] == {
        "n": 2, "temperature": 1.0, "top_p": 0.7, "max_tokens": 256, "seed": 0, "seed_policy": "sample"
    }  # fmt: skip
    assert manifest["template"]["name"] == "dapo" and manifest["verifier"] == "dapo"
    assert sorted(manifest["overrides"]) == ["max_tokens=256", "n=2"]
    assert manifest["labels"] == {"family": "DAPO", "base": "Qwen2.5-32B"}


def test_reported_only_presets_cannot_run(env, tmp_path):
    result = run_cli([sys.executable, "-m", "evalkit", "run", "DAPO-ablation-naive-GRPO"], env)
    assert result.returncode == 2 and "reported-only row" in result.stderr


# -- reasoning models over hosted APIs -----------------------------------------------------------------------------


def hosted_command(url: str, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "evalkit", "run", "deepseek-reasoner", "--base-url", url, "--run-dir", str(run_dir),
        "--limit", "3", "-n", "3", "--max-tokens", "256", *extra,
    ]  # fmt: skip


def test_a_hosted_reasoning_model_run_keeps_the_thinking_and_knows_its_cost(env, gold, tmp_path):
    from fake_openai_server import PERSONAS

    env = {**env, "DEEPSEEK_API_KEY": "sk-deepseek-test-key"}
    state = ServerState(model="deepseek-reasoner", gold=gold, persona=PERSONAS["deepseek"])
    with serve(state) as url:
        result = run_cli(hosted_command(url, tmp_path / "run"), env)
    assert result.returncode == 0, result.stderr
    assert "DeepSeek documents that deepseek-reasoner accepts temperature and top_p but ignores them" in result.stderr
    assert set(state.seen_auth) == {"Bearer sk-deepseek-test-key"}  # the preset's key variable
    # One sample per request, no vLLM extension, no assistant prefill: what DeepSeek's API takes.
    assert state.requests == 9 and all("n" not in b and "continue_final_message" not in b for b in state.bodies)
    assert all(b["messages"][-1]["role"] == "user" for b in state.bodies)
    samples = samples_with_verdicts(tmp_path / "run")
    assert len(samples) == 9 and all(s["tokens_exact"] and s["reasoning_tokens"] for s in samples)
    cut = [s for s in samples if s["finish_reason"] == "length"]
    assert cut, "the fixed seeds include a sample cut off while thinking"
    for sample in cut:
        # no answer text, the thinking kept, and the verdict: a truncated sample with no answer
        assert sample["text"] == "" and sample["reasoning"] and sample["reasoning_tokens"] == sample["output_tokens"]
        assert sample["verdict"]["extracted"] is None and not sample["verdict"]["correct"]
    answered = [s for s in samples if s["finish_reason"] == "stop"]
    assert all("\\boxed" in s["text"] and "\\boxed" not in s["reasoning"] for s in answered)
    assert all(s["verdict"]["extracted"] is not None for s in answered)  # read from the answer, not the thinking
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    metrics = results["metrics"]
    assert metrics["truncated"] == len(cut) and metrics["no_answer"] == len(cut)
    tokens_in = sum(s["prompt_tokens"] for s in samples)
    tokens_out = sum(s["output_tokens"] for s in samples)
    assert results["cost"]["input_tokens"] == tokens_in and results["cost"]["output_tokens"] == tokens_out
    assert results["cost_usd"] == round((tokens_in * 0.56 + tokens_out * 1.68) / 1e6, 4)
    assert "cost (all samples)" in result.stdout and "$0.00" in result.stdout
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    backend = manifest["backend"]
    assert backend["assistant_prefill"]["sent"] is False and backend["api_key_env"] == "DEEPSEEK_API_KEY"
    assert backend["dialects"][url]["samples_per_request"] == "one" and backend["stream"] is True
    assert backend["dialects"][url]["model_reported"] == "deepseek-reasoner"
    assert "sk-deepseek-test-key" not in json.dumps(manifest) + result.stdout + result.stderr

    from evalkit.report import leaderboard

    frame = leaderboard.build(leaderboard.load_runs([tmp_path / "run"]), include_reported=False)
    assert frame.loc[0, "cost_usd"] == results["cost_usd"]


def test_an_openai_o_series_run_records_what_was_actually_sent(env, gold, tmp_path):
    from fake_openai_server import PERSONAS

    state = ServerState(gold=gold, persona=PERSONAS["openai-o"])
    extra = ["--template", "r1", "--temperature", "1", "--top-p", "1", "--api-param", "reasoning_effort=high",
             "--no-stream", "--price-input", "1.1", "--price-output", "4.4"]  # fmt: skip
    with serve(state) as url:
        result = run_cli(command(url, tmp_path / "run", *extra), env)
    assert result.returncode == 0, result.stderr
    for learned in ("max_completion_tokens instead of max_tokens", "no assistant prefill", "no return_token_ids"):
        assert result.stderr.count(learned) == 1, result.stderr  # announced once for the whole run
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    dialect = manifest["backend"]["dialects"][url]
    assert dialect["token_limit_field"] == "max_completion_tokens" and not dialect["assistant_prefill"]
    assert manifest["backend"]["assistant_prefill"] == {
        "wanted": "<think>\n", "sent": False, "note": manifest["backend"]["assistant_prefill"]["note"]
    }  # fmt: skip
    assert manifest["backend"]["stream"] is False and manifest["backend"]["api_params"] == {"reasoning_effort": "high"}
    assert manifest["identity"]["api_params"] == {"reasoning_effort": "high"}  # another effort is another run
    assert all(not b.get("stream") and b["reasoning_effort"] == "high" for b in state.bodies)
    assert len(samples_of(tmp_path / "run")) == 20
    assert json.loads((tmp_path / "run" / "results.json").read_text())["cost_usd"] > 0


def test_a_temperature_the_model_rejects_stops_the_run_with_one_line(env, gold, tmp_path):
    from fake_openai_server import PERSONAS

    state = ServerState(gold=gold, persona=PERSONAS["openai-o"])
    with serve(state) as url:
        result = run_cli(command(url, tmp_path / "run", "--concurrency", "1"), env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "rejects temperature 0.6" in line and "rerun with --temperature 1" in line
    assert state.requests == 3 and not (tmp_path / "run" / "samples.jsonl").exists()


def test_dry_run_prints_the_requests_and_worst_case_cost_and_starts_nothing(env, gold, tmp_path):
    # README: "`evalkit run ... --dry-run` prints the requests ..., the worst-case tokens ... and the worst-case cost,
    # and starts nothing."
    state = ServerState(gold=gold)
    with serve(state) as url:
        result = run_cli(command(url, tmp_path / "run", "--price-input", "2", "--price-output", "8", "--dry-run"), env)
    assert result.returncode == 0, result.stderr
    assert state.requests == 0 and not (tmp_path / "run").exists()
    out = " ".join(result.stdout.split())
    assert "20 samples to draw (0 already on disk) in 5 requests" in out
    assert "5 problems × n=4 · max tokens 256" in out
    assert "5,120 output tokens (every sample to max tokens)" in out
    input_tokens = int(out.split("worst case: ")[1].split(" input tokens")[0].replace(",", ""))
    assert 20 * 100 < input_tokens < 20 * 4000  # an upper bound from the prompts' bytes
    assert f"worst-case cost: ${(input_tokens * 2 + 5120 * 8) / 1e6:.4f}" in out
    assert '"max_tokens": 256' in result.stdout and '"n": 4' in result.stdout and "Answer:" in result.stdout
    # Samples already on disk are not asked for again, so they cost nothing more.
    with serve(state) as url:
        assert run_cli(command(url, tmp_path / "run", "--limit", "2"), env).returncode == 0
        served = state.requests
        again = run_cli(command(url, tmp_path / "run", "--dry-run"), env)
    assert again.returncode == 0 and state.requests == served
    assert "12 samples to draw (8 already on disk) in 3 requests" in " ".join(again.stdout.split())
