"""`evalkit run` from options to a finished run: resolve the preset and flags into a RunConfig, check it, pick
the run directory, start the backend only if something is missing, and hand progress to the caller's view."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from evalkit import cost
from evalkit.config import CheckpointInfo, RunConfig, identity, identity_sha256, resolve_run
from evalkit.data import checkpoints, embedded, presets
from evalkit.data import datasets as ds
from evalkit.data.prompts import PromptTemplate, load_template
from evalkit.errors import EvalkitError
from evalkit.verify import RULE_SETS


class RunView(Protocol):
    """What the terminal shows while a run goes: notices, warnings, a progress bar, and its end."""

    def notice(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def started(self, progress: Any, info: dict[str, Any]) -> None: ...

    def sampled(self, progress: Any) -> None: ...

    def stopped(self) -> None: ...


def parse_key_values(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """`KEY=VALUE` pairs; a value that reads as JSON (numbers, true, lists) is taken as that, else as text.

    A value that starts like a JSON object, list or string but does not parse is refused, not sent as text (a lost
    quote would otherwise change the request without a word); so is a number JSON cannot carry (NaN, 1e999).
    """
    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise EvalkitError(f"{option} {pair!r} is not KEY=VALUE")
        try:
            value = json.loads(raw)  # Python reads NaN and Infinity too; _finite refuses them
        except json.JSONDecodeError as exc:
            if raw.lstrip().startswith(("{", "[", '"')):
                raise EvalkitError(
                    f"{option} {key.strip()}={raw} is not valid JSON ({exc.msg}: character {exc.pos + 1}); "
                    "fix it, or quote the whole pair in the shell so it reaches evalkit intact"
                ) from None
            value = raw
        if not _finite(value):
            raise EvalkitError(
                f"{option} {key.strip()}={raw} holds a number JSON cannot carry (NaN or infinite); give a finite one"
            )
        values[key.strip()] = value
    return values


def _finite(value: Any) -> bool:
    """No float in `value` is infinite (`1e999` parses as one) or NaN."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def slug(text: str, limit: int) -> str:
    """`text` as a plain folder-name part: runs of other characters become `-`, at most its last `limit` kept."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[-limit:].strip("-.") or "x"


def run_dir_name(config: RunConfig, ident_sha: str) -> str:
    """`<dataset>__<model>__<template>__<hash>`: readable, unique per identity through the hash, and one plain
    folder name whatever the parts are (a dataset or template given as a file contributes its file stem)."""
    dataset = Path(config.dataset).stem if ds.looks_like_path(config.dataset) else config.dataset
    template = Path(config.template).stem if config.template.endswith(".toml") else config.template
    model = slug(config.model.strip("/").replace("/", "--"), 80)
    return f"{slug(dataset, 40)}__{model}__{slug(template, 40)}__{ident_sha[:10]}"


def check_output_dir(path: Path, option: str) -> None:
    """A folder evalkit can create runs in, or refuse in one line."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == path and not path.is_dir():
        raise EvalkitError(f"{option} {path} is a file; give a folder")
    if existing != path and not existing.is_dir():
        raise EvalkitError(f"{option} {path} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise EvalkitError(f"{option} {path} is not writable by you; choose another folder")


@dataclass(frozen=True)
class PreparedRun:
    """A checked run, before any engine starts."""

    config: RunConfig
    verifier: str
    template: PromptTemplate
    dataset: ds.Dataset
    run_dir: Path
    embedded: bool


def check_verifier_options(workers: int | None, verify_timeout: float) -> None:
    if workers is not None and workers < 1:
        raise EvalkitError(f"--workers must be at least 1, got {workers}")
    if not (verify_timeout > 0 and math.isfinite(verify_timeout)):
        raise EvalkitError(f"--verify-timeout must be a positive number of seconds, got {verify_timeout}")


def prepare(model: str, given: dict[str, Any], output_dir: Path, run_dir: Path | None, view: RunView) -> PreparedRun:
    """Everything that can be refused is refused here, before a model is loaded."""
    from evalkit.store import check_run_dir

    preset = presets.find_preset(model)
    if preset is not None:
        presets.require_runnable(preset)
    resolved = resolve_run(model, given, preset)
    config = resolved.config
    if preset is None:
        config = replace(config, checkpoint=recognised_checkpoint(config, view))
    for warning in config.sampling.check():
        view.warning(warning)
    if preset is not None and preset.warning and config.backend.kind == "openai":
        view.warning(f"{preset.name}: {preset.warning}")
    config.backend.check()
    if resolved.verifier not in RULE_SETS:
        raise EvalkitError(f"unknown verifier {resolved.verifier!r}; choose one of {', '.join(RULE_SETS)}")
    if config.limit is not None and config.limit < 1:
        raise EvalkitError(f"--limit must be at least 1, got {config.limit}")
    template = load_template(config.template)
    data = ds.load(config.dataset, ds.DataLocations.from_env()).select(config.limit)
    ident = identity(config, data.content_sha256, template.sha256)
    if run_dir is None:
        check_output_dir(output_dir, "--output-dir")
        target = output_dir / run_dir_name(config, identity_sha256(ident))
    else:
        check_output_dir(run_dir.parent, "--run-dir's parent")
        target = run_dir
    check_run_dir(target, identity_sha256(ident), ident)
    return PreparedRun(config, resolved.verifier, template, data, target, resolved.embedded)


def recognised_checkpoint(config: RunConfig, view: RunView) -> CheckpointInfo | None:
    """The manifest's `checkpoint` block when the model is a checkpoint folder laid out as a trainer writes one.

    For the in-process engine, what cannot load is refused in one line (a LoRA adapter, sharded weights, a step
    folder whose weights are further down, weights provably cut short); a missing completion marker is a warning.
    """
    found = checkpoints.recognise(Path(config.model))
    if found is None:
        return None
    vllm = config.backend.kind == "vllm"
    if found.state in (checkpoints.LORA, checkpoints.SHARDED, checkpoints.UNUSABLE):
        if vllm:
            raise EvalkitError(found.reason)
        return None
    if found.weights.resolve() != Path(config.model).resolve():
        if vllm:
            raise EvalkitError(
                f"{config.model} is a {found.layout} checkpoint folder; its weights are in {found.weights}: give that"
            )
        return None
    if found.state == checkpoints.WRITING:
        problem = checkpoints.incomplete_weights(found.weights)
        if problem is not None and vllm:
            raise EvalkitError(f"{config.model} is not whole yet: {problem}; run it once the trainer has written it")
        view.warning(f"{config.model} may still be being written: {found.reason}")
    return CheckpointInfo(
        path=str(found.weights.absolute()),
        step=found.step,
        layout=found.layout,
        training_run=config.labels.get("run_name") or str(found.folder.parent),
        written_at=found.written_at or checkpoints.written_at(found.weights),
    )


def make_backend(config: RunConfig, engine_model: str) -> Any:
    if config.backend.kind == "openai":
        from evalkit.backends.openai_api import OpenAIBackend

        return OpenAIBackend(config.model, config.backend)
    from evalkit.backends.vllm_engine import VLLMBackend

    return VLLMBackend(engine_model, config.backend, seed=config.sampling.seed)


def with_notices(backend: Any, view: RunView) -> Any:
    """Let a backend that reports what it learns while running (the openai one) tell the terminal."""
    if hasattr(backend, "on_notice"):
        backend.on_notice = lambda message: view.notice(f"notice: {message}")
    return backend


@dataclass(frozen=True)
class DryRunPlan:
    """What `evalkit run --dry-run` reports: the requests a run would send and the most they can cost."""

    backend: str
    endpoints: tuple[str, ...]
    problems: int
    n: int
    max_tokens: int
    sampling: str
    samples: int
    resumed: int
    requests: int
    worst_case: cost.Cost
    first_request: str | None


def dry_run(prepared: PreparedRun) -> DryRunPlan:
    """Plan the run without starting anything (no engine, no request, no file written)."""
    from evalkit.config import public_url
    from evalkit.pipeline.run import build_prompts, plan_requests

    config = prepared.config
    sampling = config.sampling
    prompts = build_prompts(prepared.dataset, prepared.template, config.backend.api)
    done = stored_sample_keys(prepared.run_dir)
    requests = plan_requests(prompts, sampling.n, sampling.seed, done, sampling.seed_policy)
    samples = sum(r.count for r in requests)
    bounds = []
    for request in requests:
        prompt = request.prompt
        texts = [prompt.text] if prompt.text is not None else [m["content"] for m in prompt.messages]
        bounds += [cost.prompt_token_bound(texts + [prompt.assistant_prefix])] * request.count
    prices = cost.Prices.of(config.backend.price_input, config.backend.price_output)
    first_request = None
    request_count = len(requests)
    if config.backend.kind == "openai" and requests:
        from evalkit.backends.openai_api import OpenAIBackend

        backend = OpenAIBackend(config.model, config.backend, environ={})
        try:
            first_request = json.dumps(backend.preview(requests[0], sampling), indent=2, ensure_ascii=False)
            if backend.servers[0].dialect.one_sample_per_request:
                request_count = samples
        finally:
            backend.close()
    return DryRunPlan(
        backend=config.backend.kind,
        endpoints=tuple(public_url(u) for u in config.backend.base_urls),
        problems=len(prompts),
        n=sampling.n,
        max_tokens=sampling.max_tokens,
        sampling=f"temperature {sampling.temperature:g} · top-p {sampling.top_p:g} · seed {sampling.seed} "
        f"({sampling.seed_policy} seeds)",
        samples=samples,
        resumed=len(prompts) * sampling.n - samples,
        requests=request_count,
        worst_case=cost.worst_case(bounds, sampling.max_tokens, prices),
        first_request=first_request,
    )


def stored_sample_keys(run_dir: Path) -> set[tuple[str, int]]:
    """(problem, sample) pairs already in a run directory, read without changing anything (a dry run writes
    nothing)."""
    from evalkit.store import read_run

    return {record.key for record in read_run(run_dir).samples} if run_dir.is_dir() else set()


def saved_samples(run_dir: Path) -> int:
    from evalkit.store import read_run

    try:
        return len(read_run(run_dir).samples)
    except EvalkitError:
        return 0


@contextlib.contextmanager
def engine_output_to(log_path: Path, view: RunView) -> Iterator[None]:
    """Send what the engine prints to the run's engine.log, keeping the terminal for evalkit.

    vLLM and torch write their notices and warnings (FutureWarnings, NUMA and platform notices) straight to file
    descriptor 2, from C++ as well as from Python, so the descriptor itself is pointed at the log while the
    engine lives; evalkit's progress bar and messages keep writing to the terminal through a copy of it.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    log = open(log_path, "ab")  # noqa: SIM115 (held open while the engine lives)
    os.dup2(log.fileno(), 2)
    use_stream = getattr(view, "use_stream", None)
    if use_stream is not None:
        use_stream(terminal)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if use_stream is not None:
            use_stream(sys.stderr)
        terminal.close()
        log.close()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler ending the job) stops a run like Ctrl-C: at once, with the resume hint."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute(
    prepared: PreparedRun,
    view: RunView,
    workers: int | None,
    verify_timeout: float,
    wait_for_lock: bool = False,
    backend_factory: Callable[[RunConfig, str], Any] = make_backend,
) -> Any:
    """Generate what is missing, verify beside it, score. Failures end in one EvalkitError naming what is saved."""
    from evalkit.backends.base import BackendError
    from evalkit.backends.vllm_engine import is_cpu_build
    from evalkit.pipeline import run as runner
    from evalkit.store import ENGINE_LOG
    from evalkit.verify import Verifier

    check_verifier_options(workers, verify_timeout)
    config = prepared.config
    engine_model = config.model
    if prepared.embedded and config.backend.kind == "vllm":
        engine_model = str(embedded.ensure_model(ds.DataLocations.from_env().cache_dir, notice=view.notice))
    quiet = None
    if config.backend.kind == "vllm":
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR" if is_cpu_build() else "WARNING")
        quiet = lambda path: engine_output_to(path, view)  # noqa: E731
    try:
        with (
            sigterm_as_interrupt(),
            Verifier(
                prepared.verifier, workers=workers, timeout=verify_timeout, niceness=runner.VERIFIER_NICENESS
            ) as checker,
        ):
            return runner.run(
                config, prepared.dataset, prepared.template,
                lambda: with_notices(backend_factory(config, engine_model), view),
                prepared.run_dir, checker, on_start=view.started, on_sample=view.sampled,
                on_notice=lambda m: view.notice(f"notice: {m}"), wait_for_lock=wait_for_lock, quiet_engine=quiet,
            )  # fmt: skip
    except (BackendError, KeyboardInterrupt) as exc:
        view.stopped()
        saved = saved_samples(prepared.run_dir)
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        log = prepared.run_dir / ENGINE_LOG
        if quiet is not None and not isinstance(exc, KeyboardInterrupt) and log.is_file() and log.stat().st_size:
            reason += f" (the engine's own output is in {log})"
        if saved:
            reason += f". {saved} samples are saved in {prepared.run_dir}; rerun the same command to resume"
        raise EvalkitError(reason) from None
    finally:
        view.stopped()
