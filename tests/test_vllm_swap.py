"""Loading another checkpoint into a running vLLM engine, up to the engine boundary: how the workers can take new
weights is asked of the workers themselves (by feature, not by version), the prefix cache is dropped after each
swap, and the greedy check compares token ids and log-probabilities. Stand-in workers replace vLLM's."""

from __future__ import annotations

import types
from dataclasses import dataclass

import pytest
from checkpoint_dirs import hf_folder
from test_vllm_backend import STAND_INS, FakeEngine, FakeTokenizer

from evalkit.backends.base import BackendError, Prompt
from evalkit.backends.vllm_engine import (
    GreedyOutput,
    VLLMBackend,
    safetensors_files,
    worker_load_weights,
    worker_reload_method,
)
from evalkit.config import BackendConfig


class Runner:
    """vLLM's GPU/CPU model runner as far as reload goes: reload_weights(weights_iterator, weights_path, ...)."""

    def __init__(self) -> None:
        self.model = Model()

    def reload_weights(self, weights_iterator=None, weights_path=None, is_checkpoint_format=True):
        self.model.loaded_from = weights_path


class OldRunner:
    """An older runner: no in-place reload of its own, a model with load_weights (what TRL and verl call)."""

    def __init__(self) -> None:
        self.model = Model()


class Model:
    def __init__(self) -> None:
        self.loaded_from = None
        self.tensors: dict = {}

    def load_weights(self, weights):
        self.tensors.update(dict(weights))
        return set(self.tensors)


class Worker:
    def __init__(self, runner) -> None:
        self.model_runner = runner

    def reload_weights(self, *args, **kwargs):
        self.model_runner.reload_weights(*args, **kwargs)


class OldWorker:
    def __init__(self) -> None:
        self.model_runner = OldRunner()


class BareWorker:
    """A worker with neither (a platform plugin that implements none of it)."""


class OldLLM:
    """An engine without collective_rpc."""

    def __init__(self, workers, **kwargs) -> None:
        self.workers = workers
        self.llm_engine = FakeEngine([1])
        self.calls: list = []
        self.kwargs = kwargs

    def get_tokenizer(self):
        return FakeTokenizer()


class SwapLLM(OldLLM):
    def collective_rpc(self, method, timeout=None, args=(), kwargs=None):
        self.calls.append(method if isinstance(method, str) else method.__name__)
        if isinstance(method, str):
            return [getattr(w, method)(*args, **(kwargs or {})) for w in self.workers]
        return [method(w, *args, **(kwargs or {})) for w in self.workers]

    def reset_prefix_cache(self, reset_running_requests=False, reset_connector=False):
        self.calls.append("reset_prefix_cache")
        return True


def backend_on(workers, llm_class=SwapLLM) -> tuple[VLLMBackend, SwapLLM]:
    made = {}

    def factory(**kwargs):
        made["llm"] = llm_class(workers, **kwargs)
        return made["llm"]

    backend = VLLMBackend("/ckpt/step_1", BackendConfig(), llm_factory=factory, cpu=False, engine_types=STAND_INS)
    return backend, made["llm"]


def test_the_reload_method_is_asked_of_the_workers_once():
    assert worker_reload_method(Worker(Runner())) == "reload_weights"
    assert worker_reload_method(OldWorker()) == "load_weights"
    assert worker_reload_method(BareWorker()) is None
    backend, llm = backend_on([Worker(Runner()), Worker(Runner())])
    assert backend.reload_method() == "reload_weights" and backend.reload_method() == "reload_weights"
    assert llm.calls == ["worker_reload_method"]
    # workers that disagree (or an engine without collective_rpc) cannot be swapped: the sweep restarts instead
    assert backend_on([Worker(Runner()), OldWorker()])[0].reload_method() is None
    assert backend_on([Worker(Runner())], OldLLM)[0].reload_method() is None


def test_reload_weights_loads_the_new_folder_in_every_worker_then_drops_the_prefix_cache():
    workers = [Worker(Runner()), Worker(Runner())]
    backend, llm = backend_on(workers)
    assert "weights_swapped_in" not in backend.describe()  # a single run's manifest is unchanged
    backend.reload_weights("/ckpt/step_2")
    assert [w.model_runner.model.loaded_from for w in workers] == ["/ckpt/step_2"] * 2
    assert llm.calls == ["worker_reload_method", "reload_weights", "reset_prefix_cache"]
    described = backend.describe()
    assert described["engine_args"]["model"] == "/ckpt/step_2"
    assert described["weights_swapped_in"] == {"method": "reload_weights", "engine_started_with": "/ckpt/step_1"}


def test_without_reload_weights_the_models_own_load_weights_is_fed_the_folders_tensors(tmp_path):
    pytest.importorskip("torch")
    folder = hf_folder(tmp_path / "step_2", fill=3, shards=2)
    workers = [OldWorker()]
    backend, llm = backend_on(workers)
    backend.reload_weights(str(folder))
    tensors = workers[0].model_runner.model.tensors
    assert set(tensors) == {"layers.1.weight", "layers.2.weight"}  # every shard the index names
    assert float(tensors["layers.2.weight"][0]) == 3.0
    assert llm.calls == ["worker_reload_method", "worker_load_weights", "reset_prefix_cache"]
    assert safetensors_files(str(hf_folder(tmp_path / "plain"))) == [str(tmp_path / "plain" / "model.safetensors")]


def test_a_failed_or_impossible_reload_is_a_backend_error_naming_the_folder():
    backend, _ = backend_on([BareWorker()])
    with pytest.raises(BackendError, match="cannot load new weights in place"):
        backend.reload_weights("/ckpt/step_2")

    class Broken(Runner):
        def reload_weights(self, weights_iterator=None, weights_path=None, is_checkpoint_format=True):
            raise FileNotFoundError(weights_path)

    backend, _ = backend_on([Worker(Broken())])
    with pytest.raises(BackendError, match="could not load /ckpt/step_2 in place: FileNotFoundError"):
        backend.reload_weights("/ckpt/step_2")
    with pytest.raises(FileNotFoundError):
        worker_load_weights(OldWorker(), "/nonexistent/folder")


@dataclass(frozen=True)
class Logprob:
    logprob: float


def test_the_greedy_check_reads_token_ids_and_their_log_probabilities():
    backend, llm = backend_on([Worker(Runner())])
    asked = {}

    def generate(prompts, params, use_tqdm=True):
        asked["params"], asked["prompts"] = params, prompts
        piece = types.SimpleNamespace(
            token_ids=[5, 9, 2], logprobs=[{5: Logprob(-0.5), 7: Logprob(-2.0)}, {9: Logprob(-0.25)}, {2: Logprob(0.0)}]
        )
        return [types.SimpleNamespace(outputs=[piece])]

    llm.generate = generate

    @dataclass(frozen=True)
    class Params:
        n: int
        seed: int
        temperature: float
        top_p: float
        max_tokens: int
        logprobs: int

    backend._types = types.SimpleNamespace(sampling_params=Params, tokens_prompt=dict)
    out = backend.greedy(Prompt("p", ({"role": "user", "content": "Q"},), ""), 3)
    assert out == GreedyOutput((5, 9, 2), (-0.5, -0.25, 0.0))
    assert asked["params"].temperature == 0.0 and asked["params"].max_tokens == 3 and asked["params"].logprobs == 0


@pytest.mark.parametrize(
    "other,difference",
    [
        (GreedyOutput((1, 2, 3), (-0.1, -0.2, -0.3)), None),
        (GreedyOutput((1, 2, 3), (-0.1, -0.2, -0.3005)), None),  # kernel noise, far below any training step
        (GreedyOutput((1, 2, 3), (-0.1, -0.2, -0.31)), "the same tokens, but log-probabilities differ by up to 0.01"),
        (GreedyOutput((1, 4, 3), (-0.1, -0.2, -0.3)), "token 2 is 2 against 4"),
        (GreedyOutput((1, 2), (-0.1, -0.2)), "3 tokens against 2"),
    ],
)
def test_greedy_outputs_agree_only_on_the_same_tokens_and_log_probabilities(other, difference):
    assert GreedyOutput((1, 2, 3), (-0.1, -0.2, -0.3)).difference(other) == difference
