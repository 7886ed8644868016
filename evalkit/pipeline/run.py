"""Ties a run together: problems -> prompts -> backend -> store (each sample at once) -> verify -> metrics."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evalkit import cost
from evalkit.backends.base import Backend, Completion, Prompt, SampleRequest
from evalkit.config import RunConfig, identity, identity_sha256, sample_seed
from evalkit.data.datasets import Dataset
from evalkit.data.prompts import PromptTemplate
from evalkit.errors import EvalkitError
from evalkit.metrics import Metrics, SampleOutcome, compute
from evalkit.pipeline.rescore import sample_outcome
from evalkit.provenance import now_iso, package_versions
from evalkit.store import MANIFEST, RunStore, SampleRecord, check_run_dir, read_manifest
from evalkit.verify import Verdict, Verifier


def build_prompts(dataset: Dataset, template: PromptTemplate, api: str) -> dict[str, Prompt]:
    return {
        p.id: Prompt(
            problem_id=p.id,
            messages=tuple(template.messages(p.question)),
            assistant_prefix=template.assistant_prefix,
            # A template written as a whole completion prompt (ORZ) never goes through a chat template.
            text=template.completion_text(p.question) if api == "completions" or template.completion else None,
        )
        for p in dataset.problems
    }


def plan_requests(prompts: dict[str, Prompt], n: int, run_seed: int, done: set[tuple[str, int]]) -> list[SampleRequest]:
    """The missing samples, grouped per problem into runs of consecutive indices (one request each)."""
    requests = []
    for problem_id, prompt in prompts.items():
        missing = [i for i in range(n) if (problem_id, i) not in done]
        start = 0
        while start < len(missing):
            end = start
            while end + 1 < len(missing) and missing[end + 1] == missing[end] + 1:
                end += 1
            first = missing[start]
            requests.append(SampleRequest(prompt, first, end - start + 1, sample_seed(run_seed, problem_id, first)))
            start = end + 1
    return requests


def build_manifest(
    config: RunConfig, dataset: Dataset, template: PromptTemplate, backend_description: dict[str, Any], verifier: str
) -> dict[str, Any]:
    ident = identity(config, dataset.content_sha256, template.sha256)
    return {
        "format": "evalkit-run/1",
        "identity": ident,
        "identity_sha256": identity_sha256(ident),
        "config": config.to_dict(),
        "model": config.model,
        "checkpoint_step": config.checkpoint_step,
        "labels": dict(config.labels),
        "preset": config.preset,
        "overrides": list(config.overrides),
        "dataset": {
            "name": dataset.name,
            "content_sha256": dataset.content_sha256,
            "source_sha256": dict(dataset.source_sha256),
            "origin": dataset.origin,
            "problems": len(dataset.problems),
        },
        "template": template.to_dict(),
        "sampling": {
            "n": config.sampling.n,
            "temperature": config.sampling.temperature,
            "top_p": config.sampling.top_p,
            "max_tokens": config.sampling.max_tokens,
            "seed": config.sampling.seed,
        },
        "verifier": verifier,
        "backend": backend_description,
        "parallelism": {
            "tensor_parallel_size": config.backend.tensor_parallel_size,
            "pipeline_parallel_size": config.backend.pipeline_parallel_size,
            "data_parallel_size": config.backend.data_parallel_size,
        },
        "versions": package_versions(),
        "host": socket.gethostname(),
        "created_at": now_iso(),
    }


def to_outcome(record: SampleRecord) -> SampleOutcome:
    verdict = record.verdict or {}
    return sample_outcome(
        record.problem_id,
        record.sample_index,
        verdict.get("extracted"),
        bool(verdict.get("correct")),
        verdict.get("error"),
        record.finish_reason,
        record.output_tokens,
    )


@dataclass
class RunProgress:
    """What the caller's progress display needs; updated after every stored sample."""

    total: int
    done: int
    generated: int = 0
    output_tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def tokens_per_s(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.output_tokens / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    metrics: Metrics
    generated: int
    wall_time_s: float
    output_tokens: int
    results: dict[str, Any]


async def _generate(
    backend: Backend,
    prompts: dict[str, Prompt],
    requests: Sequence[SampleRequest],
    config: RunConfig,
    gold: dict[str, str],
    store: RunStore,
    verifier: Verifier,
    progress: RunProgress,
    on_ready: Callable[[], None],
    on_sample: Callable[[RunProgress], None],
) -> None:
    loop = asyncio.get_running_loop()
    try:
        probe = getattr(backend, "probe", None)
        if probe is not None:
            await probe()  # a server reports its context length only when asked
        check_context(backend, prompts, config)
        on_ready()
        async for completion in backend.generate(requests, config.sampling):
            truncated = completion.finish_reason == "length"
            try:
                verdict: Verdict = await loop.run_in_executor(
                    None, verifier.check, completion.text, gold[completion.problem_id], truncated
                )
            except Exception as exc:
                # Generation is the expensive part: keep the sample; `evalkit score RUN_DIR` can verify it again.
                verdict = Verdict(None, False, "none", "none", f"verifier failed: {type(exc).__name__}: {exc}")
            store.append(record_of(completion, verdict))
            progress.done += 1
            progress.generated += 1
            progress.output_tokens += completion.output_tokens or 0
            on_sample(progress)
    finally:
        aclose = getattr(backend, "aclose", None)
        if aclose is not None:
            await aclose()


def record_of(completion: Completion, verdict: Verdict) -> SampleRecord:
    """What is stored for a sample: the completion as the backend returned it, and its verdict."""
    return SampleRecord(**asdict(completion), verdict=verdict.to_dict())


def check_context(backend: Backend, prompts: dict[str, Prompt], config: RunConfig) -> None:
    """Refuse max tokens the model cannot produce, before any GPU time is spent."""
    context = backend.context_length()
    if context is None:
        return
    measure = getattr(backend, "prompt_tokens", None)
    longest = max(measure(p) for p in prompts.values()) if measure else 0
    if longest + config.sampling.max_tokens > context:
        room = context - longest
        raise EvalkitError(
            f"--max-tokens {config.sampling.max_tokens} plus the longest prompt ({longest} tokens) exceeds the "
            f"model's context of {context} tokens; use --max-tokens {max(room, 1)} or less, or raise --max-model-len"
        )


def results_document(metrics: Metrics, manifest: dict[str, Any], generation: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "evalkit-results/1",
        "model": manifest["model"],
        "dataset": manifest["dataset"]["name"],
        "verifier": manifest["verifier"],
        "metrics": metrics.to_dict(),
        "generation": generation,
        "updated_at": now_iso(),
    }


def score_records(records: Sequence[SampleRecord], n: int, problem_ids: Sequence[str]) -> Metrics:
    wanted = set(problem_ids)
    outcomes = [to_outcome(r) for r in records if r.problem_id in wanted and r.sample_index < n]
    return compute(outcomes, n=n)


def run(
    config: RunConfig,
    dataset: Dataset,
    template: PromptTemplate,
    make_backend: Callable[[], Backend],
    run_dir: Path,
    verifier: Verifier,
    on_start: Callable[[RunProgress, dict[str, Any]], None] = lambda progress, info: None,
    on_sample: Callable[[RunProgress], None] = lambda progress: None,
    on_notice: Callable[[str], None] = lambda message: None,
) -> RunOutcome:
    """Generate every missing sample, store each at once, then score the whole run directory.

    The backend is made only when something is missing: rerunning a finished run starts no engine.
    """
    dataset = dataset.select(config.limit)
    prompts = build_prompts(dataset, template, config.backend.api)
    store = RunStore(run_dir)
    ident = identity(config, dataset.content_sha256, template.sha256)
    check_run_dir(run_dir, identity_sha256(ident), ident)
    loaded = store.load()
    if loaded.dropped_partial_line:
        on_notice(f"dropped a half-written last line in {store.samples_path} (a crash mid-write); it is regenerated")
    if loaded.duplicates:
        on_notice(f"ignored {loaded.duplicates} duplicate sample lines in {store.samples_path}")
    done = {(r.problem_id, r.sample_index) for r in loaded.records}
    requests = plan_requests(prompts, config.sampling.n, config.sampling.seed, done)
    backend = make_backend() if requests else None
    previous = read_manifest(run_dir) if (run_dir / MANIFEST).is_file() else None
    description = backend.describe() if backend is not None else (previous or {}).get("backend", {})
    manifest = build_manifest(config, dataset, template, description, verifier.rules)
    store.open(manifest)
    if previous and previous["sampling"]["n"] != config.sampling.n:
        on_notice(f"this run had n={previous['sampling']['n']}; now n={config.sampling.n}")
    total = len(prompts) * config.sampling.n
    progress = RunProgress(total=total, done=total - sum(r.count for r in requests))
    info = {
        "dataset": dataset.name,
        "run_dir": str(run_dir),
        "resumed": len(done),
        "to_generate": total - progress.done,
    }
    gold = {p.id: p.answer for p in dataset.problems}
    started = time.monotonic()
    try:
        if backend is not None:
            ready = lambda: on_start(progress, info)  # noqa: E731
            asyncio.run(
                _generate(backend, prompts, requests, config, gold, store, verifier, progress, ready, on_sample)
            )
    finally:
        store.close()
        if backend is not None:
            backend.close()
    wall = time.monotonic() - started
    records = store.load().records
    metrics = score_records(records, config.sampling.n, list(prompts))
    generation = {
        "wall_time_s": round(wall, 3),
        "samples_generated": progress.generated,
        "output_tokens_generated": progress.output_tokens,
        "tokens_per_s": round(progress.output_tokens / wall, 2) if wall > 0 else None,
        "resumed_samples": len(done),
    }
    # The backend's description after generation says what was actually sent (a server's learned dialect).
    learned = {"backend": backend.describe()} if backend is not None else {}
    store.update_manifest(
        {"sampling": manifest["sampling"], "updated_at": now_iso(), "dataset": manifest["dataset"], **learned}
    )
    results = results_document(metrics, manifest, generation)
    prices = cost.Prices.of(config.backend.price_input, config.backend.price_output)
    results.update(cost.results_fields(records, prices))
    store.write_results(results)
    return RunOutcome(run_dir, metrics, progress.generated, wall, progress.output_tokens, results)
