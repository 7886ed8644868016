"""One run: problems -> prompts -> backend -> store -> verify -> metrics -> results.

Store first, verify beside: each completion is appended to samples.jsonl the moment it arrives, then handed to
the verification thread, which appends its verdict to verdicts.jsonl when the worker pool has decided. The
engine never waits for a verdict. Results are computed once every verdict is in. A killed run keeps every
completion that arrived; the rerun generates none of them again and verifies whichever lack a verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from evalkit.pipeline.rescore import response_length, sample_outcome
from evalkit.pipeline.verification import VerificationBeside
from evalkit.provenance import now_iso, package_versions
from evalkit.store import ENGINE_LOG, MANIFEST, RunContents, RunWriter, SampleRecord, check_run_dir, read_manifest
from evalkit.verify import Verdict, Verifier
from evalkit.verify.mixing import measure
from evalkit.verify.pool import LOWEST_NICENESS

# Verification workers run at the lowest CPU priority during a run: on a machine where the engine uses the
# CPU (vLLM for CPU, a local server), they take only what the engine leaves. Their time bound is CPU time, so
# the priority changes when a verdict arrives, never what it says.
VERIFIER_NICENESS = LOWEST_NICENESS


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


def missing_ranges(n: int, have: Sequence[int]) -> list[tuple[int, int]]:
    """(first index, count) of each run of consecutive sample indices below n that is not in `have`.

    Linear in what is stored, not in n, so a huge n costs nothing to plan.
    """
    ranges = []
    start = 0
    for index in sorted(i for i in set(have) if i < n):
        if index > start:
            ranges.append((start, index - start))
        start = index + 1
    if start < n:
        ranges.append((start, n - start))
    return ranges


def plan_requests(
    prompts: dict[str, Prompt], n: int, run_seed: int, done: set[tuple[str, int]], seed_policy: str = "sample"
) -> list[SampleRequest]:
    """The missing samples, grouped per problem into runs of consecutive indices (one request each)."""
    have: dict[str, list[int]] = {}
    for problem_id, index in done:
        have.setdefault(problem_id, []).append(index)
    requests = []
    for problem_id, prompt in prompts.items():
        for first, count in missing_ranges(n, have.get(problem_id, [])):
            seed = sample_seed(run_seed, problem_id, first) if seed_policy == "sample" else None
            requests.append(SampleRequest(prompt, first, count, seed))
    return requests


def build_manifest(
    config: RunConfig,
    dataset: Dataset,
    template: PromptTemplate,
    backend_description: dict[str, Any],
    verifier: str,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    ident = identity(config, dataset.content_sha256, template.sha256)
    return {
        "format": "evalkit-run/1",
        "kind": "measured",
        "identity": ident,
        "identity_sha256": identity_sha256(ident),
        "config": config.to_dict(),
        "model": config.model,
        "checkpoint_step": config.checkpoint_step,
        **({"checkpoint": config.checkpoint.to_dict()} if config.checkpoint is not None else {}),
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
            "seed_policy": config.sampling.seed_policy,
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
        "created_at": (previous or {}).get("created_at") or now_iso(),
        "updated_at": now_iso(),
    }


def to_outcome(record: SampleRecord, verdict: dict[str, Any] | None) -> SampleOutcome:
    verdict = verdict or {}
    return sample_outcome(
        record.problem_id,
        record.sample_index,
        verdict.get("extracted"),
        bool(verdict.get("correct")),
        verdict.get("error"),
        record.finish_reason,
        record.output_tokens,
        measure(record.text, record.reasoning),
        response_length(record.text, record.reasoning),
    )


@dataclass
class RunProgress:
    """What the caller's progress display needs; updated after every stored sample and every verdict."""

    total: int
    done: int
    generated: int = 0
    output_tokens: int = 0
    verified: int = 0
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


def record_of(completion: Completion) -> SampleRecord:
    """What is stored for a sample: the completion exactly as the backend returned it."""
    return SampleRecord(**asdict(completion))


async def _generate(
    backend: Backend,
    prompts: dict[str, Prompt],
    requests: Sequence[SampleRequest],
    config: RunConfig,
    store: Callable[[Completion], None],
    on_ready: Callable[[], None],
) -> None:
    try:
        probe = getattr(backend, "probe", None)
        if probe is not None:
            await probe()  # a server reports its context length only when asked
        check_context(backend, prompts, config)
        on_ready()
        async for completion in backend.generate(requests, config.sampling):
            store(completion)
    finally:
        aclose = getattr(backend, "aclose", None)
        if aclose is not None:
            await aclose()


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


def results_document(
    metrics: Metrics, manifest: dict[str, Any], generation: dict[str, Any], verification: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format": "evalkit-results/1",
        "model": manifest["model"],
        "dataset": manifest["dataset"]["name"],
        "verifier": manifest["verifier"],
        "metrics": metrics.to_dict(),
        "generation": generation,
        "verification": verification,
        "updated_at": now_iso(),
    }


def in_scope(record: SampleRecord, prompts: dict[str, Prompt], n: int) -> bool:
    return record.problem_id in prompts and record.sample_index < n


def score_contents(contents: RunContents, rules: str, n: int, problem_ids: Sequence[str]) -> Metrics:
    """Metrics over the run's samples for these problems and n, with their verdicts under `rules`."""
    wanted = set(problem_ids)
    verdicts = contents.verdicts_for(rules)
    records = [r for r in contents.samples if r.problem_id in wanted and r.sample_index < n]
    missing = [r.key for r in records if r.key not in verdicts]
    if missing:
        raise EvalkitError(
            f"{len(missing)} stored samples have no {rules} verdict yet (e.g. {missing[0][0]} #{missing[0][1]}); "
            "rerun the same command to verify them"
        )
    return compute((to_outcome(r, verdicts[r.key]) for r in records), n=n, problem_order=list(problem_ids))


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
    wait_for_lock: bool = False,
    quiet_engine: Callable[[Path], contextlib.AbstractContextManager] | None = None,
) -> RunOutcome:
    """Generate every missing sample, store each at once, verify beside generation, then score the run.

    The backend is made only when something is missing: rerunning a finished run starts no engine. A second
    process on the same run directory is refused (or waits, with `wait_for_lock`) before anything is read.
    `quiet_engine(log_path)` wraps the engine's life (it sends the engine's own output to the run's log).
    """
    dataset = dataset.select(config.limit)
    prompts = build_prompts(dataset, template, config.backend.api)
    ident = identity(config, dataset.content_sha256, template.sha256)
    check_run_dir(run_dir, identity_sha256(ident), ident)
    new_directory = not run_dir.exists()
    writer = RunWriter(run_dir)
    dropped = writer.open(wait=wait_for_lock, on_wait=on_notice)
    beside: VerificationBeside | None = None
    try:
        # Again under the lock: another process may have written the directory while we waited.
        check_run_dir(run_dir, identity_sha256(ident), ident)
        previous = read_manifest(run_dir) if (run_dir / MANIFEST).is_file() else None
        legacy_rules = (previous or {}).get("verifier")
        contents = writer.read(legacy_rules)
        if dropped:
            on_notice(
                f"dropped a half-written last line in {writer.samples_path} (a crash or a full disk mid-write); it is "
                "regenerated"
            )
        if contents.duplicates:
            on_notice(f"ignored {contents.duplicates} duplicate sample lines in {writer.samples_path}")
        n = config.sampling.n
        done = {r.key for r in contents.samples}
        requests = plan_requests(prompts, n, config.sampling.seed, done, config.sampling.seed_policy)
        stale = [r for r in contents.unverified(verifier.rules) if in_scope(r, prompts, n)]
        if previous and previous.get("verifier") != verifier.rules and stale:
            on_notice(
                f"verifying the {len(stale)} stored samples with rule set {verifier.rules} "
                f"(they were verified with {previous.get('verifier')})"
            )
        if previous and previous["sampling"]["n"] != n:
            on_notice(f"this run had n={previous['sampling']['n']}; now n={n}")

        total = len(prompts) * n
        progress = RunProgress(total=total, done=total - sum(r.count for r in requests))
        progress.verified = sum(1 for r in contents.samples if in_scope(r, prompts, n)) - len(stale)
        info = {"dataset": dataset.name, "run_dir": str(run_dir), "resumed": len(done)}
        info["to_generate"] = total - progress.done
        info["to_verify"] = len(stale)

        def verified(record: SampleRecord, verdict: Verdict) -> None:
            progress.verified += 1

        gold = {p.id: p.answer for p in dataset.problems}
        beside = VerificationBeside(verifier, gold, writer, on_verdict=verified)
        beside.start()
        for record in stale:
            beside.submit(record)

        def store(completion: Completion) -> None:
            record = record_of(completion)
            writer.append_sample(record)  # on disk before anything else happens to it
            beside.submit(record)  # type: ignore[union-attr]
            progress.done += 1
            progress.generated += 1
            progress.output_tokens += completion.output_tokens or 0
            on_sample(progress)

        started = time.monotonic()
        description = (previous or {}).get("backend", {})
        manifest = build_manifest(config, dataset, template, description, verifier.rules, previous)
        if requests:
            with quiet_engine(run_dir / ENGINE_LOG) if quiet_engine else contextlib.nullcontext():
                backend = make_backend()
                try:
                    manifest["backend"] = backend.describe()

                    def ready() -> None:
                        # Written once the backend is up and the settings are known to fit: a refused or failed
                        # start leaves an existing run exactly as it was.
                        writer.write_manifest(manifest)
                        on_start(progress, info)

                    asyncio.run(_generate(backend, prompts, requests, config, store, ready))
                    manifest["backend"] = backend.describe()  # what was actually sent, once the run learned it
                finally:
                    backend.close()
        else:
            writer.write_manifest(manifest)
        generation_s = time.monotonic() - started
        beside.finish(lambda: [r for r in writer.read().unverified(verifier.rules) if in_scope(r, prompts, n)])
        wall = time.monotonic() - started

        contents = writer.read(legacy_rules)
        metrics = score_contents(contents, verifier.rules, n, list(prompts))
        generation = {
            "wall_time_s": round(generation_s, 3),
            "samples_generated": progress.generated,
            "output_tokens_generated": progress.output_tokens,
            "tokens_per_s": round(progress.output_tokens / generation_s, 2) if generation_s > 0 else None,
            "resumed_samples": len(done),
        }
        verification = {
            "rules": verifier.rules,
            "verified_now": beside.verified,
            "symbolic_checks": verifier.symbolic_checks,
            "waited_after_generation_s": round(wall - generation_s, 3),
        }
        manifest["updated_at"] = now_iso()
        writer.write_manifest(manifest)
        results = results_document(metrics, manifest, generation, verification)
        prices = cost.Prices.of(config.backend.price_input, config.backend.price_output)
        results.update(cost.results_fields([r for r in contents.samples if in_scope(r, prompts, n)], prices))
        writer.write_results(results)
        return RunOutcome(run_dir, metrics, progress.generated, wall, progress.output_tokens, results)
    except BaseException:
        if beside is not None:
            beside.abort()
        raise
    finally:
        writer.close(remove_if_unused=new_directory)
