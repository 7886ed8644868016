"""RunConfig: everything that decides what a run generates, checked before any work starts."""

from __future__ import annotations

import hashlib
import json
import math
import re
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any

from evalkit.errors import EvalkitError

BACKENDS = ("vllm", "openai")
APIS = ("chat", "completions")
SEED_POLICIES = ("sample", "engine")
MAX_SAMPLES_PER_PROBLEM = 100_000
# vLLM's sampling parameters and OpenAI's API both refuse a temperature above 2: a run cannot sample above it.
MAX_TEMPERATURE = 2.0
# Request fields evalkit sets from its own options (recorded in the run); --api-param may not set them.
RESERVED_API_PARAMS = frozenset(
    {"model", "messages", "prompt", "n", "stream", "stream_options", "max_tokens", "max_completion_tokens", "seed",
     "temperature", "top_p", "return_token_ids", "continue_final_message", "add_generation_prompt"}
)  # fmt: skip


def public_url(url: str) -> str:
    """The URL without credentials or query string, safe to write to a manifest or a log."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class SamplingConfig:
    n: int = 32
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 32768
    seed: int = 0
    # "sample": every sample carries its own seed (reproducible sample by sample, and on resume); "engine": one
    # seed for the engine (faster on vLLM, reproducible only for the same batch).
    seed_policy: str = "sample"

    def check(self) -> list[str]:
        """Raise for impossible settings; return warnings for legal but suspicious ones."""
        if self.n < 1:
            raise EvalkitError(f"-n must be at least 1, got {self.n}")
        if self.n > MAX_SAMPLES_PER_PROBLEM:
            raise EvalkitError(
                f"-n {self.n} is more samples per problem than evalkit supports (at most {MAX_SAMPLES_PER_PROBLEM})"
            )
        if self.seed_policy not in SEED_POLICIES:
            raise EvalkitError(f"unknown --seed-policy {self.seed_policy!r}; choose {' or '.join(SEED_POLICIES)}")
        if self.max_tokens < 1:
            raise EvalkitError(f"--max-tokens must be at least 1, got {self.max_tokens}")
        if not 0 <= self.temperature <= MAX_TEMPERATURE:
            raise EvalkitError(
                f"--temperature must be from 0 to {MAX_TEMPERATURE:g} (vLLM and OpenAI-compatible servers take no "
                f"more), got {self.temperature}"
            )
        if not 0 < self.top_p <= 1:
            raise EvalkitError(f"--top-p must be in (0, 1], got {self.top_p}")
        warnings = []
        if self.temperature == 0 and self.n > 1:
            warnings.append(
                f"temperature 0 with n={self.n}: every sample of a problem will be identical, so pass@k and "
                "maj@k add nothing over pass@1; use n=1 for greedy decoding or a temperature above 0"
            )
        return warnings


@dataclass(frozen=True)
class BackendConfig:
    """Engine or server settings. GPU-only options are passed to vLLM as given and recorded in the manifest."""

    kind: str = "vllm"
    # in-process vLLM
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    data_parallel_size: int = 1
    max_model_len: int | None = None
    dtype: str = "auto"
    gpu_memory_utilization: float = 0.9
    enforce_eager: bool | None = None  # None: eager on the CPU build (compiling is slow there), compiled on GPUs
    engine_args: dict[str, Any] = field(default_factory=dict)
    # any OpenAI-compatible server
    base_urls: tuple[str, ...] = ()
    api: str = "chat"
    concurrency: int = 64
    request_timeout: float = 3600.0
    max_retries: int = 8
    api_key_env: str = "OPENAI_API_KEY"
    served_model: str | None = None
    stream: bool = True
    idle_timeout: float = 300.0
    api_params: dict[str, Any] = field(default_factory=dict)
    # vLLM's request extensions (return_token_ids, the assistant prefill); hosted APIs take neither.
    vllm_extensions: bool = True
    # USD per million tokens, for cost_usd; both or neither.
    price_input: float | None = None
    price_output: float | None = None

    def check(self) -> None:
        if self.kind not in BACKENDS:
            raise EvalkitError(f"unknown backend {self.kind!r}; choose one of {', '.join(BACKENDS)}")
        if self.api not in APIS:
            raise EvalkitError(f"unknown --api {self.api!r}; choose chat or completions")
        for name in ("tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size", "concurrency"):
            if getattr(self, name) < 1:
                raise EvalkitError(f"--{name.replace('_', '-')} must be at least 1")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise EvalkitError("--gpu-memory-utilization must be in (0, 1]")
        if self.kind == "openai" and not self.base_urls:
            raise EvalkitError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if self.max_model_len is not None and self.max_model_len < 1:
            raise EvalkitError("--max-model-len must be positive")
        self._check_api()

    def _check_api(self) -> None:
        for name, value in (("--idle-timeout", self.idle_timeout), ("--request-timeout", self.request_timeout)):
            if not (value > 0 and math.isfinite(value)):
                raise EvalkitError(f"{name} must be a positive number of seconds, got {value}")
        if self.max_retries < 0:
            raise EvalkitError(f"--max-retries must be 0 or more, got {self.max_retries}")
        if not self.api_key_env or not self.api_key_env.replace("_", "").isalnum():
            raise EvalkitError(f"--api-key-env {self.api_key_env!r} is not an environment variable name")
        for url in self.base_urls:
            if not url.startswith(("http://", "https://")):
                raise EvalkitError(f"--base-url {url!r} is not an http(s) address (e.g. http://127.0.0.1:8000/v1)")
        try:
            json.dumps(self.api_params, allow_nan=False)
        except (TypeError, ValueError):
            raise EvalkitError(
                f"--api-param values must be JSON (finite numbers, text, lists, objects); got {self.api_params!r}"
            ) from None
        taken = sorted(set(self.api_params) & RESERVED_API_PARAMS)
        if taken:
            raise EvalkitError(
                f"--api-param {taken[0]} is set by evalkit itself; use its own option (--temperature, --top-p, "
                "--max-tokens, -n, --seed, --no-stream, --no-vllm-extensions) so the run records it"
            )
        prices = (self.price_input, self.price_output)
        if (prices[0] is None) != (prices[1] is None):
            raise EvalkitError("--price-input and --price-output go together (USD per million tokens; 0 is allowed)")
        if any(p is not None and not (p >= 0 and math.isfinite(p)) for p in prices):
            raise EvalkitError(
                f"prices must be 0 or more USD per million tokens, and finite; got {prices[0]} and {prices[1]}"
            )


@dataclass(frozen=True)
class CheckpointInfo:
    """A training checkpoint a run evaluates, as written to the manifest's `checkpoint` block.

    `written_at` is the newest modification time among the weight files (UTC, ISO-8601), so curves can be drawn
    against hours when no training log is given. `merged_from` names the trainer's sharded folder when evalkit
    merged it into `path` first.
    """

    path: str
    step: int
    layout: str
    training_run: str
    written_at: str | None
    merged_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.merged_from is None:
            del data["merged_from"]
        return data


@dataclass(frozen=True)
class RunConfig:
    model: str
    dataset: str
    template: str
    sampling: SamplingConfig
    backend: BackendConfig
    limit: int | None = None
    preset: str | None = None
    overrides: tuple[str, ...] = ()
    checkpoint_step: int | None = None
    # Descriptive only (family, base model, training-run name): shown on leaderboards, never part of identity.
    labels: dict[str, str] = field(default_factory=dict)
    # Descriptive only: the training checkpoint evaluated, when the model is one (the manifest's `checkpoint`).
    checkpoint: CheckpointInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["checkpoint"]  # the manifest carries it as its own top-level block
        data["overrides"] = list(self.overrides)
        # Endpoints go to the manifest without credentials (user:password@, ?key=...).
        data["backend"]["base_urls"] = [public_url(url) for url in self.backend.base_urls]
        return data


# Engine arguments that change speed or memory, not what is sampled. Kernels and batch layouts can change single
# tokens numerically, but the samples still come from the same model and settings, so these go to the manifest
# and not into the identity: a run may be resumed on another GPU count.
PERFORMANCE_ENGINE_ARGS = frozenset(
    {
        "tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size", "gpu_memory_utilization",
        "distributed_executor_backend", "enable_chunked_prefill", "max_num_seqs", "max_num_batched_tokens",
        "swap_space", "cpu_offload_gb", "block_size", "enable_prefix_caching", "disable_log_stats", "enforce_eager",
        "max_seq_len_to_capture", "compilation_config", "disable_custom_all_reduce", "num_scheduler_steps",
        "worker_cls", "load_format", "download_dir",
    }
)  # fmt: skip


def identity(config: RunConfig, dataset_sha256: str, template_sha256: str) -> dict[str, Any]:
    """Everything that shapes the generated text: samples made under the same identity may share a run directory.

    n and --limit are left out on purpose: a rerun with a larger n or no limit extends the same run, drawing
    only the missing samples, which get the same per-sample seeds they would have had. The verifier is left out
    too: a rerun with another rule set verifies the stored samples again instead of generating them.
    """
    s = config.sampling
    b = config.backend
    ident: dict[str, Any] = {
        "model": config.model,
        "dataset_sha256": dataset_sha256,
        "template_sha256": template_sha256,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
        "seed": s.seed,
        "seed_policy": s.seed_policy,
        "backend": b.kind,
        "api": b.api if b.kind == "openai" else "engine",
    }
    if b.kind == "openai":
        ident["served_model"] = b.served_model or config.model
        if b.api_params:
            # reasoning_effort=high and =low are different experiments (absent when empty: older runs keep theirs).
            ident["api_params"] = dict(sorted(b.api_params.items()))
    else:
        ident["dtype"] = b.dtype
        ident["max_model_len"] = b.max_model_len
        ident["engine_args"] = {k: v for k, v in sorted(b.engine_args.items()) if k not in PERFORMANCE_ENGINE_ARGS}
    return ident


def identity_sha256(ident: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def identity_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The identity fields two runs disagree on, as `field old -> new`.

    A field the old identity does not record (a run made by an earlier evalkit) is not compared.
    """
    return [
        f"{key} {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(set(old) | set(new))
        if key in old and old.get(key) != new.get(key)
    ]


# Checkpoint directory names in common use: global_step_N (verl), checkpoint-N (HF Trainer), step_N, iter_N /
# iter_0000100 (Megatron), ckpt-N. Not preceded by a letter, so `filter_3` or `mystep10` name no step.
_STEP_WORDS = r"(?<![A-Za-z])(?:global_step|checkpoint|iter|step|ckpt)"
_STEP = re.compile(_STEP_WORDS + r"[_-]?(\d+)(?:/|$)")


def training_run(model: str) -> str | None:
    """The training run a checkpoint belongs to: its path with the step replaced by `*`."""
    if checkpoint_step(model) is None:
        return None
    return _STEP_PART.sub(lambda m: m.group(1) + "*", model.rstrip("/"))


_STEP_PART = re.compile("(" + _STEP_WORDS + r"[_-]?)\d+(?=/|$)")


def checkpoint_step(model: str) -> int | None:
    """The training step a checkpoint path names: `.../global_step_120/actor/huggingface` -> 120."""
    matches = _STEP.findall(model.rstrip("/") + "/")
    return int(matches[-1]) if matches else None


def sample_seed(run_seed: int, problem_id: str, sample_index: int) -> int:
    """Seed of one sample: fixed by the run seed, the problem and the sample's index, whatever else runs.

    vLLM seeds the i-th child of an n-sample request with `seed + i`, so a request for samples a..b of a
    problem uses seed(a) and each sample gets exactly the seed it would get alone.
    """
    digest = hashlib.sha256(f"{run_seed}:{problem_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31 - 2**20) + sample_index


DEFAULTS: dict[str, Any] = {
    "dataset": "aime24",
    "template": "dapo",
    "n": 32,
    "temperature": 0.6,
    "top_p": 0.95,
    "max_tokens": 32768,
    "seed": 0,
    "seed_policy": "sample",
    "verifier": "math",
}
# Settings a preset fixes; anything given on the command line replaces them and is recorded as an override.
PRESET_FIELDS = ("template", "n", "temperature", "top_p", "max_tokens", "verifier", "max_model_len", "dtype")
# Where a hosted model is served and what it costs: preset defaults too, but not part of the protocol.
PRESET_SERVING_FIELDS = (
    "kind", "base_urls", "api_key_env", "served_model", "vllm_extensions", "price_input", "price_output",
)  # fmt: skip
SAMPLING_FIELDS = ("n", "temperature", "top_p", "max_tokens", "seed", "seed_policy")


@dataclass(frozen=True)
class ResolvedRun:
    config: RunConfig
    verifier: str
    embedded: bool


def resolve_run(model: str, given: dict[str, Any], preset: Any | None) -> ResolvedRun:
    """Preset values, then defaults, under whatever the user gave explicitly (`given` holds only those)."""
    values = dict(DEFAULTS)
    overrides: list[str] = []
    if preset is not None:
        for name in PRESET_FIELDS + PRESET_SERVING_FIELDS:
            value = getattr(preset, name)
            if value is not None:
                values[name] = value
        for name, value in given.items():
            if name in PRESET_FIELDS and value is not None and value != values.get(name):
                overrides.append(f"{name}={value}")
    values.update({k: v for k, v in given.items() if v is not None})
    check_trained_reward(given.get("trained_reward"))
    labels = {
        "family": given.get("family") or (preset.family if preset is not None else None),
        "base": given.get("base") or (preset.base if preset is not None else None),
        "run_name": given.get("run_name"),
        "trained_reward": given.get("trained_reward"),
    }
    backend_fields = {f for f in BackendConfig.__dataclass_fields__}
    backend = BackendConfig(**{k: v for k, v in values.items() if k in backend_fields})
    sampling = SamplingConfig(**{k: values[k] for k in SAMPLING_FIELDS})
    model_id = preset.model if preset is not None else model
    labels["run_name"] = labels["run_name"] or training_run(model_id)
    config = RunConfig(
        model=model_id,
        dataset=values["dataset"],
        template=values["template"],
        sampling=sampling,
        backend=backend,
        limit=values.get("limit"),
        preset=preset.name if preset is not None else None,
        overrides=tuple(overrides),
        checkpoint_step=checkpoint_step(model_id),
        labels={k: v for k, v in labels.items() if v},
    )
    return ResolvedRun(config, values["verifier"], bool(preset is not None and preset.embedded))


# A reward rule's name as a label: evalkit's own (math, dapo, strict-int) or another's (math-verify, verl:math_dapo).
_REWARD_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+/-]{0,63}")


def check_trained_reward(label: str | None) -> None:
    """Refuse a --trained-reward that is no rule name (empty, spaces, longer than 64 characters)."""
    if label is not None and not _REWARD_LABEL.fullmatch(label):
        raise EvalkitError(
            f"--trained-reward {label!r} is not a rule name: letters, digits and _.:+/- (up to 64), e.g. dapo, math, "
            "math-verify"
        )


def protocol_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Settings two run manifests disagree on that change what a score means."""
    fields: list[tuple[str, Any]] = [
        ("template", lambda m: m["template"].get("name")),
        ("template sha", lambda m: m["template"].get("sha256")),
        ("verifier", lambda m: m.get("verifier")),
    ]
    for name in ("temperature", "top_p", "max_tokens", "n"):
        fields.append((name, lambda m, name=name: m["sampling"].get(name)))
    return [f"{label} {get(a)} vs {get(b)}" for label, get in fields if get(a) != get(b)]
