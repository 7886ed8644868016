"""`evalkit sweep`: every checkpoint of a training run evaluated as an ordinary run, in step order, in one engine,
and with --watch as the trainer writes them."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evalkit.config import CheckpointInfo, RunConfig, identity, identity_sha256, resolve_run, training_run
from evalkit.data import checkpoints as ckpt
from evalkit.data import datasets as ds
from evalkit.data.prompts import load_template
from evalkit.errors import EvalkitError
from evalkit.pipeline import launch
from evalkit.provenance import now_iso
from evalkit.store import MANIFEST, RESULTS, read_results, read_run, write_json_atomic

SWEEP_FILE = "sweep.json"
MERGE_LOG = "merge.log"
SERVED_NAME_FIELDS = ("step", "name", "path", "run")


@dataclass(frozen=True)
class SweepOptions:
    """What `evalkit sweep` adds to the options of `evalkit run`."""

    sources: tuple[str, ...]
    selection: ckpt.StepSelection = field(default_factory=ckpt.StepSelection)
    output_dir: Path = Path("runs")
    sweep_dir: Path | None = None
    watch: bool = False
    until_step: int | None = None
    stop_after_idle_s: float | None = None
    poll_s: float = 30.0
    settle_s: float = ckpt.DEFAULT_SETTLE_S
    restart_engine: bool = False
    served_model_template: str | None = None

    def check(self, backend: str) -> None:
        if not self.sources:
            raise EvalkitError("give the training run's checkpoint folder (or a glob of its checkpoints)")
        if self.until_step is not None and not self.watch:
            raise EvalkitError("--until-step goes with --watch; to stop at a step without watching, use --steps :N")
        if self.stop_after_idle_s is not None and not self.watch:
            raise EvalkitError("--stop-after-idle goes with --watch")
        for name, value in (("--poll-interval", self.poll_s), ("--stop-after-idle", self.stop_after_idle_s)):
            if value is not None and not (value > 0 and value < float("inf")):
                raise EvalkitError(f"{name} must be a positive number of seconds, got {value}")
        if not (self.settle_s >= 0 and self.settle_s < float("inf")):
            raise EvalkitError(f"--settle-seconds must be 0 or more seconds, got {self.settle_s}")
        if self.served_model_template is not None:
            if backend != "openai":
                raise EvalkitError("--served-model-template goes with --backend openai")
            served_name(self.served_model_template, 1, Path("/x/step_1"), Path("/x/step_1"), "x")
        if self.restart_engine and backend == "openai":
            raise EvalkitError("--restart-engine is for the in-process vLLM engine, not --backend openai")


def served_name(template: str, step: int, folder: Path, weights: Path, run: str) -> str:
    """The name a server serves a checkpoint under, from --served-model-template."""
    try:
        return template.format(step=step, name=folder.name, path=str(weights), run=run)
    except (KeyError, IndexError, ValueError) as exc:
        fields = ", ".join("{" + f + "}" for f in SERVED_NAME_FIELDS)
        raise EvalkitError(
            f"--served-model-template {template!r} cannot be filled ({type(exc).__name__}: {exc}); it may use {fields}"
        ) from None


@dataclass
class CheckpointRow:
    """What the sweep did with one checkpoint: the table's row and sweep.json's entry."""

    step: int
    folder: str
    layout: str
    status: str  # evaluated, finished earlier, skipped, waiting, interrupted
    note: str = ""
    run_dir: str | None = None
    metrics: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "metrics"}
        if self.metrics is not None:
            data["avg"] = self.metrics["avg"]
            data["n"] = self.metrics["n"]
        return data


@dataclass
class SweepOutcome:
    sweep_dir: Path | None
    rows: dict[int, CheckpointRow]
    training_run: str | None
    leaderboard: list[Path] = field(default_factory=list)
    swap_check: dict[str, Any] | None = None

    @property
    def evaluated(self) -> list[CheckpointRow]:
        return [r for r in self.rows.values() if r.metrics is not None]


@dataclass(frozen=True)
class CheckpointPlan:
    """How much of a checkpoint's run is on disk: nothing, part (resume it), or all of it, verified and scored."""

    stored: int
    missing: int
    unverified: int
    finished: bool


def plan_checkpoint(prepared: launch.PreparedRun) -> CheckpointPlan:
    """Read (never change) a checkpoint's run directory: how many samples are missing or lack a verdict, and whether
    its results are those of the run as asked (same rule set and n)."""
    from evalkit.pipeline.run import build_prompts, in_scope, plan_requests

    config = prepared.config
    n = config.sampling.n
    prompts = build_prompts(prepared.dataset, prepared.template, config.backend.api)
    if not prepared.run_dir.is_dir():
        return CheckpointPlan(0, len(prompts) * n, 0, False)
    contents = read_run(prepared.run_dir)
    done = {r.key for r in contents.samples}
    requests = plan_requests(prompts, n, config.sampling.seed, done, config.sampling.seed_policy)
    missing = sum(r.count for r in requests)
    unverified = len([r for r in contents.unverified(prepared.verifier) if in_scope(r, prompts, n)])
    results = read_results(prepared.run_dir) if (prepared.run_dir / RESULTS).is_file() else None
    scored = (
        results is not None
        and results.get("verifier") == prepared.verifier
        and results.get("metrics", {}).get("n") == n
        and results.get("metrics", {}).get("problems") == len(prompts)
    )
    return CheckpointPlan(len(done), missing, unverified, scored and missing == 0 and unverified == 0)


def served_models(config: RunConfig) -> dict[str, set[str] | None]:
    """Each server's model names, as it lists them at /v1/models (None for a server without that listing)."""
    import openai

    from evalkit.config import public_url

    key = os.environ.get(config.backend.api_key_env) or "EMPTY"
    listing: dict[str, set[str] | None] = {}
    for url in config.backend.base_urls:
        client = openai.OpenAI(
            base_url=url, api_key=key, max_retries=1, timeout=min(30.0, config.backend.request_timeout)
        )
        try:
            listing[url] = {m.id for m in client.models.list().data}
        except openai.NotFoundError:
            listing[url] = None
        except openai.APIError as exc:
            raise EvalkitError(
                f"cannot list the models {public_url(url)} serves ({type(exc).__name__}); is the server up and is "
                "--base-url right (it usually ends in /v1)?"
            ) from None
        finally:
            client.close()
    return listing


class Sweep:
    """One `evalkit sweep`: discovery, selection, one run per checkpoint, the leaderboard after each."""

    def __init__(
        self,
        options: SweepOptions,
        given: dict[str, Any],
        view: launch.RunView,
        workers: int | None,
        verify_timeout: float,
        start_engine: Callable[[str, RunConfig], Any] | None = None,
        on_checkpoint: Callable[[SweepOutcome], None] = lambda outcome: None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from evalkit.pipeline.shared_engine import SharedEngine

        self.options = options
        self.given = dict(given)
        self.view = view
        self.workers = workers
        self.verify_timeout = verify_timeout
        self.backend = given.get("kind") or "vllm"
        self.on_checkpoint = on_checkpoint
        self.clock = clock
        self.sleep = sleep
        start = start_engine or (lambda model, config: launch.make_backend(config, model))
        self.engine = SharedEngine(start, self._notice, options.restart_engine) if self.backend == "vllm" else None
        self.outcome = SweepOutcome(None, {}, given.get("run_name"))
        self._said: set[str] = set()
        self._handled: set[int] = set()
        self._found: set[int] = set()
        self._dataset_name: str | None = None

    # -- what the user sees ---------------------------------------------------------------------------------------

    def _notice(self, message: str) -> None:
        self.view.notice(message)

    def _once(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            self.view.notice(message)

    # -- the sweep directory --------------------------------------------------------------------------------------

    def _locate_sweep_dir(self, first: ckpt.Checkpoint) -> Path:
        """The sweep directory, checked but not made: nothing is written before there is something to write."""
        if self.outcome.sweep_dir is not None:
            return self.outcome.sweep_dir
        run_name = self.outcome.training_run or training_run(str(first.weights)) or str(first.folder.parent)
        if self.options.sweep_dir is not None:
            folder = self.options.sweep_dir
            launch.check_output_dir(folder, "--sweep-dir")
            check_sweep_dir(folder)
        else:
            launch.check_output_dir(self.options.output_dir, "--output-dir")
            if (self.options.output_dir / MANIFEST).is_file():
                raise EvalkitError(
                    f"--output-dir {self.options.output_dir} is a run directory; give the folder that holds them"
                )
            folder = self.options.output_dir / self._sweep_dir_name(first, run_name)
        self.outcome.training_run = run_name
        self.outcome.sweep_dir = folder
        return folder

    def _sweep_dir_name(self, first: ckpt.Checkpoint, run_name: str) -> str:
        """`sweep__<training run folder>__<dataset>__<template>__<hash>`: one folder per training run and protocol;
        the hash is the run identity with the training run in place of the model (so n and --limit may grow)."""
        config = resolve_run(run_name, {**self.given, "served_model": None}, None).config
        data = ds.load(config.dataset, ds.DataLocations.from_env()).select(config.limit)
        template = load_template(config.template)
        digest = identity_sha256(identity(config, data.content_sha256, template.sha256))
        stem = Path(config.dataset).stem if ds.looks_like_path(config.dataset) else config.dataset
        template_stem = Path(config.template).stem if config.template.endswith(".toml") else config.template
        return "__".join(
            ["sweep", launch.slug(first.folder.parent.name, 60), launch.slug(stem, 40),
             launch.slug(template_stem, 40), digest[:10]]
        )  # fmt: skip

    def _write_state(self) -> None:
        folder = self.outcome.sweep_dir
        if folder is None or not self.outcome.rows:
            return
        folder.mkdir(parents=True, exist_ok=True)
        document = {
            "format": "evalkit-sweep/1",
            "training_run": self.outcome.training_run,
            "sources": list(self.options.sources),
            "selection": self.options.selection.describe(),
            "backend": self.backend,
            "engine": {
                "starts": self.engine.starts if self.engine else 0,
                "in_place_swaps": self.engine.swaps if self.engine else 0,
                "restart_each_checkpoint": self.options.restart_engine,
            },
            "swap_check": self._swap_check(),
            "checkpoints": [self.outcome.rows[step].to_dict() for step in sorted(self.outcome.rows)],
            "updated_at": now_iso(),
        }
        write_json_atomic(folder / SWEEP_FILE, document)

    def _swap_check(self) -> dict[str, Any] | None:
        if self.engine is not None and self.engine.check is not None:
            self.outcome.swap_check = self.engine.check.to_dict()
        return self.outcome.swap_check

    def _publish(self, samples: bool) -> None:
        """The sweep's leaderboard files (csv, md, html), rewritten whole and atomically."""
        from evalkit.report import leaderboard, publish

        folder = self.outcome.sweep_dir
        if folder is None or not self.outcome.evaluated or self._dataset_name is None:
            return
        runs = leaderboard.load_runs([folder], on_skip=lambda message: None)
        frame = leaderboard.build(runs, self._dataset_name, include_reported=False)
        if frame.empty:
            return
        formats = ["csv", "md", "html"]
        self.outcome.leaderboard = publish.write(frame, runs, self._dataset_name, folder, formats, None, samples)

    # -- one checkpoint -------------------------------------------------------------------------------------------

    def _row(self, checkpoint: ckpt.Checkpoint, status: str, note: str = "", **extra: Any) -> CheckpointRow:
        row = CheckpointRow(checkpoint.step, str(checkpoint.folder), checkpoint.layout, status, note, **extra)
        self.outcome.rows[checkpoint.step] = row
        return row

    def _skip(self, checkpoint: ckpt.Checkpoint, note: str) -> None:
        self._row(checkpoint, "skipped", note)
        self._handled.add(checkpoint.step)
        self.view.warning(f"step {checkpoint.step}: {note}")

    def _not_yet(self, checkpoint: ckpt.Checkpoint, key: str, note: str, skipped: str) -> None:
        """A checkpoint that may become ready later: waited for under --watch (said once), else skipped with
        `note` and what to do (`skipped`)."""
        if self.options.watch:
            self._once(f"{key}-{checkpoint.step}", f"step {checkpoint.step}: {note}; waiting for it")
            self._row(checkpoint, "waiting", note)
        else:
            self._skip(checkpoint, note + skipped)

    def _served_name(self, checkpoint: ckpt.Checkpoint) -> str:
        template = self.options.served_model_template
        if template is None:
            return str(checkpoint.weights)  # what `vllm serve PATH` serves it as
        return served_name(
            template, checkpoint.step, checkpoint.folder, checkpoint.weights, str(self.outcome.training_run)
        )

    def _prepare(
        self, checkpoint: ckpt.Checkpoint, sweep_dir: Path, served: str | None, servers: tuple[str, ...] | None
    ) -> launch.PreparedRun:
        run_name = self.outcome.training_run
        given = {**self.given, "run_name": run_name}
        if served is not None:
            given["served_model"] = served
            given["base_urls"] = servers  # only the servers that serve this checkpoint
        prepared = launch.prepare(str(checkpoint.weights), given, sweep_dir, None, _Quiet(self.view, self._said))
        info = CheckpointInfo(
            path=str(checkpoint.weights),
            step=checkpoint.step,
            layout=checkpoint.layout,
            training_run=str(run_name),
            written_at=checkpoint.written_at,
            merged_from=None if checkpoint.merged_from is None else str(checkpoint.merged_from),
        )
        config = replace(prepared.config, checkpoint=info, checkpoint_step=checkpoint.step)
        run_dir = sweep_dir / f"step-{checkpoint.step:08d}__{prepared.run_dir.name}"
        return replace(prepared, config=config, run_dir=run_dir)

    def _evaluate(self, checkpoint: ckpt.Checkpoint, checker: Any, listing: dict[str, set[str] | None] | None) -> None:
        from evalkit.backends.base import BackendError
        from evalkit.pipeline import run as runner
        from evalkit.pipeline.shared_engine import CheckpointGone

        sweep_dir = self._locate_sweep_dir(checkpoint)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if not checkpoint.folder.exists():
            self._skip(checkpoint, f"{checkpoint.folder} was deleted (the trainer's rotation?) before it was evaluated")
            return
        if checkpoint.state == ckpt.SHARDED and self.backend == "vllm":
            target = sweep_dir / "merged" / checkpoint.name
            self._notice(f"step {checkpoint.step}: merging verl's {checkpoint.shards} shards into {target}")
            try:
                checkpoint = ckpt.merge_sharded(checkpoint, target, sweep_dir / MERGE_LOG)
            except EvalkitError:
                if checkpoint.folder.exists():
                    raise
                self._skip(checkpoint, f"{checkpoint.folder} was deleted (the trainer's rotation?) while it was merged")
                return
        served = servers = None
        if listing is not None:
            served = self._served_name(checkpoint)
            servers = tuple(url for url, names in listing.items() if names is None or served in names)
            if not servers:
                offered = sorted(set().union(*(names for names in listing.values() if names)))
                note = f"not served: the servers list {', '.join(offered[:6]) or 'no model'}, not {served!r}"
                self._not_yet(checkpoint, "unserved", note, " (see --served-model-template)")
                return
        prepared = self._prepare(checkpoint, sweep_dir, served, servers)
        self._dataset_name = prepared.dataset.name
        config = prepared.config
        plan = plan_checkpoint(prepared)
        if plan.finished:
            results = read_results(prepared.run_dir)
            assert results is not None
            self._row(checkpoint, "finished earlier", "", run_dir=str(prepared.run_dir), metrics=results["metrics"])
            self._handled.add(checkpoint.step)
            self._notice(f"step {checkpoint.step}: finished earlier in {prepared.run_dir}")
            return
        what = f"{plan.missing} samples to draw" + (f", {plan.stored} on disk" if plan.stored else "")
        self._notice(f"step {checkpoint.step} ({checkpoint.layout}, {checkpoint.weights}): {what}")

        def make_backend() -> Any:
            if self.engine is not None:
                probe = runner.build_prompts(prepared.dataset.select(1), prepared.template, config.backend.api)
                return self.engine.lend(checkpoint.weights, checkpoint.step, config, next(iter(probe.values())))
            return launch.with_notices(launch.make_backend(config, config.model), self.view)

        quiet = (lambda path: launch.engine_output_to(path, self.view)) if self.engine is not None else None
        label = f"step {checkpoint.step}"
        try:
            outcome = runner.run(
                config, prepared.dataset, prepared.template, make_backend, prepared.run_dir, checker,
                on_start=lambda progress, info: self.view.started(progress, {**info, "dataset": label}),
                on_sample=self.view.sampled,
                on_notice=lambda m: self.view.notice(f"notice: {m}"), quiet_engine=quiet,
            )  # fmt: skip
        except CheckpointGone as exc:
            self.view.stopped()
            saved = launch.saved_samples(prepared.run_dir)
            kept = f"; its {saved} samples are kept in {prepared.run_dir}" if saved else ""
            self._skip(checkpoint, f"{exc} (the trainer's rotation?){kept}")
            return
        except BackendError as exc:
            self.view.stopped()
            if not checkpoint.weights.exists():
                self._skip(checkpoint, f"{checkpoint.weights} was deleted while it was evaluated ({exc})")
                return
            self._row(checkpoint, "interrupted", str(exc), run_dir=str(prepared.run_dir))
            saved = launch.saved_samples(prepared.run_dir)
            where = f". {saved} samples of step {checkpoint.step} are saved in {prepared.run_dir}" if saved else ""
            raise EvalkitError(f"{exc}{where}; rerun the same command to resume the sweep") from None
        except KeyboardInterrupt:
            self.view.stopped()
            self._row(checkpoint, "interrupted", "interrupted", run_dir=str(prepared.run_dir))
            raise
        self.view.stopped()
        self._row(checkpoint, "evaluated", "", run_dir=str(prepared.run_dir), metrics=outcome.metrics.to_dict())
        self._handled.add(checkpoint.step)

    # -- the loop -------------------------------------------------------------------------------------------------

    def _pass(self, checker: Any) -> int:
        """Discover, choose and evaluate what is ready; the number of checkpoints handled in this pass."""
        found = ckpt.discover(self.options.sources, self.options.settle_s)
        self._found.update(c.step for c in found)
        if found:
            self._locate_sweep_dir(found[0])
        chosen = set(self.options.selection.choose(c.step for c in found))
        listing: dict[str, set[str] | None] | None = None
        handled = 0
        for checkpoint in found:
            if checkpoint.step not in chosen or checkpoint.step in self._handled:
                continue
            if checkpoint.state == ckpt.WRITING:
                note = f"still being written ({checkpoint.reason})"
                self._not_yet(checkpoint, "writing", note, "; not evaluated yet (rerun later, or use --watch)")
                continue
            # A server serves whatever it loaded (an adapter with --enable-lora, shards merged elsewhere): over
            # --backend openai only its listing decides.
            if self.backend == "vllm" and checkpoint.state in (ckpt.LORA, ckpt.UNUSABLE):
                self._skip(checkpoint, checkpoint.reason)
                continue
            if self.backend == "vllm" and checkpoint.state == ckpt.SHARDED and not ckpt.can_merge():
                self._skip(checkpoint, f"{checkpoint.reason}; here {ckpt.merger_problem()}")
                continue
            if self.backend == "openai" and listing is None:
                listing = self._served(checkpoint)
            before = len(self._handled)
            self._evaluate(checkpoint, checker, listing)
            if len(self._handled) > before:
                handled += 1
                self._write_state()
                self._publish(samples=False)
                self.on_checkpoint(self.outcome)
        self._write_state()
        return handled

    def _served(self, checkpoint: ckpt.Checkpoint) -> dict[str, set[str] | None]:
        config = resolve_run(str(checkpoint.weights), self.given, None).config
        config.backend.check()
        return served_models(config)

    def _finished_watching(self) -> bool:
        until = self.options.until_step
        return until is not None and any(
            step >= until and row.status in ("evaluated", "finished earlier") for step, row in self.outcome.rows.items()
        )

    def run(self) -> SweepOutcome:
        from evalkit.backends.vllm_engine import is_cpu_build
        from evalkit.pipeline.run import VERIFIER_NICENESS
        from evalkit.verify import Verifier

        self.options.check(self.backend)
        launch.check_verifier_options(self.workers, self.verify_timeout)
        rules = resolve_run("sweep", self.given, None).verifier
        if self.backend == "vllm":
            os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR" if is_cpu_build() else "WARNING")
        interrupted = False
        try:
            with (
                launch.sigterm_as_interrupt(),
                Verifier(
                    rules, workers=self.workers, timeout=self.verify_timeout, niceness=VERIFIER_NICENESS
                ) as checker,
            ):
                last_progress = self.clock()
                while True:
                    if self._pass(checker):
                        last_progress = self.clock()
                    if not self.options.watch or self._finished_watching():
                        break
                    idle = self.options.stop_after_idle_s
                    if idle is not None and self.clock() - last_progress >= idle:
                        self._notice(f"no new checkpoint for {idle:g} s: the sweep stops (--stop-after-idle)")
                        break
                    try:
                        self.sleep(self.options.poll_s)
                    except KeyboardInterrupt:
                        self._notice("stopped watching (Ctrl-C)")
                        break
        except KeyboardInterrupt:
            interrupted = True
            raise EvalkitError(self._interrupted()) from None
        finally:
            self._close_engine()
            self._write_state()
            if not interrupted:
                self._publish(samples=True)
        if not self.outcome.rows and self._found:
            steps = sorted(self._found)
            raise EvalkitError(
                f"none of the {len(steps)} checkpoints found (steps {steps[0]} to {steps[-1]}) is selected by "
                f"{self.options.selection.describe()}"
            )
        if not self.outcome.rows:
            sources = ", ".join(self.options.sources)
            names = "global_step_N (verl), checkpoint-N (HF Trainer, TRL), global_stepN_hf (OpenRLHF), step_N, iter_N"
            raise EvalkitError(f"no checkpoints found in {sources}; evalkit looks for folders named {names}")
        if not self.outcome.evaluated and not self.options.watch:
            raise EvalkitError(f"no checkpoint evaluated: {self._why_none()}")
        return self.outcome

    def _interrupted(self) -> str:
        stopped = [row for row in self.outcome.rows.values() if row.status == "interrupted" and row.run_dir]
        if not stopped:
            return "interrupted; rerun the same command to resume the sweep"
        row = stopped[0]
        saved = launch.saved_samples(Path(row.run_dir or ""))
        return (
            f"interrupted at step {row.step}. {saved} of its samples are saved in {row.run_dir}; rerun the same "
            "command to resume the sweep (finished checkpoints are skipped)"
        )

    def _why_none(self) -> str:
        notes = [f"step {row.step}: {row.note}" for row in self.outcome.rows.values() if row.note]
        if notes:
            return "; ".join(notes[:3]) + (f" (and {len(notes) - 3} more)" if len(notes) > 3 else "")
        return f"none is selected by {self.options.selection.describe()}"

    def _close_engine(self) -> None:
        if self.engine is None or self.engine.engine is None:
            return
        log = (self.outcome.sweep_dir or self.options.output_dir) / "engine.log"
        with launch.engine_output_to(log, self.view) if log.parent.is_dir() else contextlib.nullcontext():
            self.engine.close()


def check_sweep_dir(folder: Path) -> None:
    """A folder a sweep may write into: new, empty, or one a sweep wrote before (never a run, never other files)."""
    if not folder.is_dir():
        return
    if (folder / MANIFEST).is_file():
        raise EvalkitError(f"--sweep-dir {folder} is a run directory; give a folder for the sweep (new or empty)")
    if not (folder / SWEEP_FILE).is_file() and any(folder.iterdir()):
        raise EvalkitError(
            f"--sweep-dir {folder} holds other files and no {SWEEP_FILE}; give a new or empty folder, or a sweep's"
        )


class _Quiet:
    """The view for preparing a checkpoint's run: each warning once per sweep, not once per checkpoint."""

    def __init__(self, view: launch.RunView, said: set[str]) -> None:
        self._view = view
        self._said = said

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    def warning(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self._view.warning(message)


def table_rows(outcome: SweepOutcome) -> list[tuple[int, str, dict[str, Any] | None]]:
    """The terminal table's rows: (step, note, metrics)."""
    rows = []
    for step in sorted(outcome.rows):
        row = outcome.rows[step]
        note = row.status if row.status in ("finished earlier",) else (row.note if row.metrics is None else "")
        rows.append((step, note, row.metrics))
    return rows
