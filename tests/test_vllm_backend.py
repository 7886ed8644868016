"""The vLLM backend up to the engine boundary: arguments passed through, requests built, DELTA outputs
assembled into samples that are handed over the step they finish. A stand-in engine and stand-in request types
replace vLLM's, so these tests run where vllm is not installed (one test proves it by hiding vllm)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from evalkit.backends.base import Prompt, SampleRequest
from evalkit.backends.vllm_engine import (
    CPU_ENGINE_DEFAULTS,
    EngineTypes,
    VLLMBackend,
    engine_arguments,
    prepare_cpu_environment,
)
from evalkit.config import BackendConfig, SamplingConfig

THIS_FILE = Path(__file__).resolve()


@dataclass(frozen=True)
class SamplingParams:
    """vllm.SamplingParams as far as the backend uses it."""

    n: int
    seed: int | None
    temperature: float
    top_p: float
    max_tokens: int
    output_kind: object


DELTA = types.SimpleNamespace(name="DELTA")
STAND_INS = EngineTypes(sampling_params=SamplingParams, delta_output=DELTA, tokens_prompt=dict)


@dataclass
class Piece:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str | None = None


@dataclass
class Output:
    request_id: str
    outputs: list[Piece]
    prompt_token_ids: list[int] | None = None


class FakeTokenizer:
    def apply_chat_template(self, messages, add_generation_prompt, tokenize):
        assert add_generation_prompt and not tokenize
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

    def encode(self, text, add_special_tokens=True):
        return ([0] if add_special_tokens else []) + [ord(c) for c in text]


@dataclass
class FakeEngine:
    """Generates `lengths[i]` tokens for child i of every request, one token per step, in DELTA mode."""

    lengths: list[int]
    added: list[tuple[str, object, object]] = field(default_factory=list)
    steps: int = 0
    progress: dict[tuple[str, int], int] = field(default_factory=dict)
    model_config: object = field(default_factory=lambda: type("MC", (), {"max_model_len": 2048})())

    def add_request(self, request_id, prompt, params):
        self.added.append((request_id, prompt, params))
        for i in range(params.n):
            self.progress[(request_id, i)] = 0

    def has_unfinished_requests(self):
        return bool(self.progress)

    def step(self):
        self.steps += 1
        outputs = {}
        for (request_id, index), done in list(self.progress.items()):
            done += 1
            finished = done >= self.lengths[index]
            piece = Piece(index, f"t{done} ", [done], ("stop" if finished else None))
            if finished:
                del self.progress[(request_id, index)]
            else:
                self.progress[(request_id, index)] = done
            prompt_ids = self.added[[a[0] for a in self.added].index(request_id)][1]["prompt_token_ids"]
            outputs.setdefault(request_id, Output(request_id, [], prompt_ids)).outputs.append(piece)
        return list(outputs.values())

    def abort_request(self, ids, internal=False):
        pass


class FakeLLM:
    def __init__(self, engine: FakeEngine, **kwargs):
        self.kwargs = kwargs
        self.llm_engine = engine

    def get_tokenizer(self):
        return FakeTokenizer()


def backend_with(lengths, config=None, cpu=False):
    engine = FakeEngine(lengths)
    made = {}

    def factory(**kwargs):
        made["llm"] = FakeLLM(engine, **kwargs)
        return made["llm"]

    backend = VLLMBackend(
        "org/model", config or BackendConfig(), seed=3, llm_factory=factory, cpu=cpu, engine_types=STAND_INS
    )
    return backend, engine, made["llm"]


def test_gpu_options_are_passed_through_as_given():
    config = BackendConfig(
        tensor_parallel_size=8, pipeline_parallel_size=2, data_parallel_size=4, max_model_len=40960,
        dtype="bfloat16", gpu_memory_utilization=0.85, enforce_eager=False, engine_args={"max_num_seqs": 512},
    )  # fmt: skip
    backend, _, llm = backend_with([1], config)
    assert llm.kwargs == {
        "model": "org/model", "tensor_parallel_size": 8, "pipeline_parallel_size": 2, "data_parallel_size": 4,
        "dtype": "bfloat16", "gpu_memory_utilization": 0.85, "enforce_eager": False, "seed": 3,
        "max_model_len": 40960, "max_num_seqs": 512,
    }  # fmt: skip
    assert backend.describe()["engine_args"] == llm.kwargs
    assert backend.context_length() == 2048


def test_cpu_build_gets_its_defaults_and_extra_args_win():
    args = engine_arguments("m", BackendConfig(engine_args={"enable_chunked_prefill": True}), cpu=True, seed=0)
    assert args["enforce_eager"] is True and args["distributed_executor_backend"] == "uni"
    assert args["enable_chunked_prefill"] is True  # the user's explicit extra argument is last
    assert engine_arguments("m", BackendConfig(), cpu=True, seed=0)["enable_chunked_prefill"] is False
    assert set(CPU_ENGINE_DEFAULTS) <= set(engine_arguments("m", BackendConfig(), cpu=True, seed=0))


def test_cpu_environment_defaults_never_override_the_user():
    env = {"VLLM_CPU_KVCACHE_SPACE": "8"}
    applied = prepare_cpu_environment(env)
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "8" and "VLLM_CPU_KVCACHE_SPACE" not in applied
    assert env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0" and env["VLLM_CPU_NUM_OF_RESERVED_CPU"] == "0"


def test_chat_prompts_use_the_template_and_the_prefix_once():
    backend, _, _ = backend_with([1])
    prompt = Prompt("p", ({"role": "user", "content": "Q"},), "<think>\n")
    ids = backend.render(prompt)
    assert ids[0] != 0  # no second BOS: the chat template carries its own special tokens
    assert "".join(map(chr, ids)) == "<user>Q<assistant><think>\n"
    completion = Prompt("p", (), "", text="Raw prompt")
    assert backend.render(completion)[0] == 0 and backend.prompt_tokens(completion) == 11


def test_samples_stream_out_the_step_they_finish_with_their_seeds():
    backend, engine, _ = backend_with([2, 5, 3])
    prompt = Prompt("2024-I-1", ({"role": "user", "content": "Q"},), "")
    requests = [SampleRequest(prompt, first_index=4, count=3, seed=100)]
    seen = []

    async def collect():
        async for completion in backend.generate(requests, SamplingConfig(n=7, max_tokens=50)):
            seen.append((engine.steps, completion))

    asyncio.run(collect())
    ((request_id, _, params),) = engine.added
    assert params.n == 3 and params.seed == 100 and params.max_tokens == 50
    assert params.output_kind is DELTA  # each sample is handed over the step it finishes, not with its siblings
    assert [(step, c.sample_index, c.seed) for step, c in seen] == [(2, 4, 100), (3, 6, 102), (5, 5, 101)]
    assert seen[0][1].text == "t1 t2 " and seen[0][1].output_tokens == 2 and seen[0][1].finish_reason == "stop"
    assert seen[2][1].output_tokens == 5 and seen[2][1].prompt_tokens == len(backend.render(prompt))


def test_cpu_defaults_never_override_a_value_the_user_set():
    # README: "on the CPU build evalkit applies the settings that work on these machines (in-process executor, eager
    # mode, no chunked prefill, `VLLM_CPU_*` environment), never over values you set".
    chosen = BackendConfig(enforce_eager=False, engine_args={"distributed_executor_backend": "mp"})
    args = engine_arguments("m", chosen, cpu=True, seed=0)
    assert args["enforce_eager"] is False and args["distributed_executor_backend"] == "mp"
    assert args["enable_chunked_prefill"] is False
    defaults = engine_arguments("m", BackendConfig(), cpu=True, seed=0)
    assert {k: defaults[k] for k in CPU_ENGINE_DEFAULTS} == CPU_ENGINE_DEFAULTS
    assert CPU_ENGINE_DEFAULTS == {"enable_chunked_prefill": False, "distributed_executor_backend": "uni",
                                   "enforce_eager": True}  # fmt: skip
    gpu = engine_arguments("m", BackendConfig(), cpu=False, seed=0)
    assert gpu["enforce_eager"] is False and "distributed_executor_backend" not in gpu
    assert "enable_chunked_prefill" not in gpu and gpu["seed"] == 0 and "max_model_len" not in gpu


def test_no_enforce_eager_on_the_command_line_reaches_the_cpu_engine(monkeypatch, tmp_path):
    """`evalkit run MODEL --no-enforce-eager` on the CPU build: the engine is started with enforce_eager=False."""
    import typer.testing
    from conftest import DATA

    from evalkit import cli
    from evalkit.errors import EvalkitError
    from evalkit.pipeline import launch

    started = {}

    def execute(prepared, view, workers, verify_timeout, wait_for_lock=False):
        backend = VLLMBackend(prepared.config.model, prepared.config.backend, llm_factory=lambda **kw: FakeLLM(
            FakeEngine([1]), **kw), cpu=True, engine_types=STAND_INS)  # fmt: skip
        started.update(backend.engine_args)
        raise EvalkitError("stopped before generating")

    monkeypatch.setattr(launch, "execute", execute)
    monkeypatch.setenv("EVALKIT_DATA_DIR", str(DATA))
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "cache"))
    for flag, eager in (("--no-enforce-eager", False), ("--enforce-eager", True), (None, True)):
        started.clear()
        argv = ["run", "org/model", "--limit", "1", "--output-dir", str(tmp_path / "runs")] + ([flag] if flag else [])
        result = typer.testing.CliRunner().invoke(cli.app, argv)
        assert isinstance(result.exception, EvalkitError), result.output
        assert started["enforce_eager"] is eager, flag
        assert started["distributed_executor_backend"] == "uni"


def test_engine_types_are_read_from_vllm_when_first_needed(monkeypatch):
    fake = types.ModuleType("vllm")
    fake.SamplingParams = SamplingParams
    fake.inputs = types.ModuleType("vllm.inputs")
    fake.inputs.TokensPrompt = dict
    fake.sampling_params = types.ModuleType("vllm.sampling_params")
    fake.sampling_params.RequestOutputKind = types.SimpleNamespace(DELTA=DELTA)
    for name, module in (("vllm", fake), ("vllm.inputs", fake.inputs), ("vllm.sampling_params", fake.sampling_params)):
        monkeypatch.setitem(sys.modules, name, module)
    assert EngineTypes.from_vllm() == STAND_INS
    engine = FakeEngine([1])
    backend = VLLMBackend("org/model", BackendConfig(), llm_factory=lambda **kw: FakeLLM(engine, **kw), cpu=False)
    request = SampleRequest(Prompt("p", ({"role": "user", "content": "Q"},), ""), 0, 2, 5)
    backend._enqueue([request], SamplingConfig(n=2, max_tokens=9))
    ((_, prompt, params),) = engine.added
    assert params == SamplingParams(2, 5, 0.6, 0.95, 9, DELTA) and prompt["prompt_token_ids"][0] == ord("<")


def test_without_vllm_installed_a_missing_engine_is_one_clear_error(monkeypatch):
    from evalkit.backends.base import BackendError

    monkeypatch.setitem(sys.modules, "vllm", None)
    message = r"vLLM is not installed .*install evalkit\[gpu\] \(CUDA\) or evalkit\[cpu\]"
    with pytest.raises(BackendError, match=message):
        VLLMBackend("org/model", BackendConfig(), cpu=False)


def test_these_tests_run_where_vllm_cannot_be_imported():
    """No silent skip: this file, run with vllm hidden (and no conftest), runs every other test in it."""
    script = (
        "import sys; sys.modules['vllm'] = None; import pytest; "
        f"sys.exit(pytest.main([{str(THIS_FILE)!r}, '-q', '-p', 'no:cacheprovider', '--noconftest', "
        "'-k', 'not run_where_vllm_cannot_be_imported', '-rs']))"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(THIS_FILE.parents[1]), str(THIS_FILE.parent)]))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                            cwd=THIS_FILE.parents[1])  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tests = sum(1 for line in THIS_FILE.read_text().splitlines() if line.startswith("def test_"))
    assert f"{tests - 1} passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
