"""`evalkit sweep` without a model: a stand-in engine whose completions depend on the weights loaded, lent to one run
per checkpoint, swapped in place, checked once against a fresh start, restarted when it must be; resume, rotation,
LoRA, shards, --watch, the openai variant against the fake server, and the manifest's checkpoint block."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from checkpoint_dirs import lora_step, trainer_step, verl_fsdp_step, verl_step
from conftest import read_jsonl
from fake_backend import FakeBackend
from fake_openai_server import ServerState, serve

from evalkit.backends.base import BackendError, Completion, SampleRequest
from evalkit.backends.vllm_engine import GreedyOutput
from evalkit.config import SamplingConfig
from evalkit.data import checkpoints as ckpt
from evalkit.errors import EvalkitError
from evalkit.pipeline import launch
from evalkit.pipeline.shared_engine import EngineFingerprint, restart_reason
from evalkit.pipeline.sweep import Sweep, SweepOptions, plan_checkpoint, table_rows
from evalkit.report import terminal

REPO = Path(__file__).resolve().parents[1]
GIVEN = {"kind": None, "n": 2, "limit": 3, "max_tokens": 64, "template": "boxed", "seed": 3}


def weights_id(model: str) -> str:
    """What a folder's weights are, whatever its path: the hash of its weight files' bytes."""
    folder = Path(model)
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class StandInEngine(FakeBackend):
    """A stand-in for the VLLMBackend: each completion is a function of the weights loaded, the problem and the
    sample's seed. `stale` reloads keep the old weights (vLLM's bug the swap check exists for)."""

    def __init__(self, model: str, log: list, gold: dict, method: str | None = "reload_weights", stale: bool = False):
        super().__init__(gold=gold, text_for=self.text)
        self.model, self.log, self.method, self.stale = model, log, method, stale
        self.weights = weights_id(model)
        self.closed = False
        self.interrupt_after: int | None = None
        log.append(("start", Path(model).parents[0].name if Path(model).name == "huggingface" else Path(model).name))

    def text(self, problem_id: str, index: int) -> str:
        digest = int(hashlib.sha256(f"{self.weights}|{problem_id}|{index}".encode()).hexdigest(), 16)
        answer = self.gold[problem_id] if digest % 3 == 0 else str(digest % 997)
        return f"weights {self.weights}: so the answer is $\\boxed{{{answer}}}$."

    async def generate(self, requests: Sequence[SampleRequest], sampling: SamplingConfig) -> AsyncIterator[Completion]:
        assert not self.closed, "a closed engine was asked to generate"
        async for completion in super().generate(requests, sampling):
            yield completion
            if self.interrupt_after is not None and self.yielded >= self.interrupt_after:
                raise KeyboardInterrupt

    def describe(self) -> dict:
        return {"kind": "vllm", "weights": self.weights, "engine_args": {"model": self.model}}

    def reload_method(self) -> str | None:
        return self.method

    def reload_weights(self, model: str) -> None:
        if not Path(model).exists():
            raise BackendError(f"vLLM could not load {model} in place: FileNotFoundError")
        self.log.append(
            ("swap", Path(model).parents[0].name if Path(model).name == "huggingface" else Path(model).name)
        )
        self.model = model
        if not self.stale:
            self.weights = weights_id(model)

    def greedy(self, prompt, max_tokens: int = 32) -> GreedyOutput:
        seed = int(self.weights, 16)
        return GreedyOutput(tuple((seed >> i) % 50 for i in range(8)), tuple(-0.1 * i for i in range(8)))

    def close(self) -> None:
        self.closed = True
        self.log.append(("close", ""))


class RecordingView:
    def __init__(self) -> None:
        self.notices: list[str] = []
        self.warnings: list[str] = []

    def notice(self, message: str) -> None:
        self.notices.append(message)

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def started(self, progress, info) -> None:
        pass

    def sampled(self, progress) -> None:
        pass

    def stopped(self) -> None:
        pass


@pytest.fixture
def gold(shared_data) -> dict[str, str]:
    return {row["id"]: str(row["answer"]) for row in read_jsonl(shared_data / "aime24.jsonl")}


@pytest.fixture
def engines(gold):
    """A factory of stand-in engines, and the log of what happened to them."""
    log: list[tuple[str, str]] = []
    made: list[StandInEngine] = []
    options = {"method": "reload_weights", "stale": False}

    def start(model, config):
        if not Path(model).exists():
            raise BackendError(f"vLLM could not start the engine for {model}: OSError: no such folder")
        engine = StandInEngine(model, log, gold, options["method"], options["stale"])
        made.append(engine)
        return engine

    start.log, start.made, start.options = log, made, options  # type: ignore[attr-defined]
    return start


def sweep(tmp_path, sources, start_engine, given=None, **options) -> tuple:
    view = RecordingView()
    opts = SweepOptions(sources=tuple(str(s) for s in sources), output_dir=tmp_path / "runs", **options)
    outcome = Sweep(opts, {**GIVEN, **(given or {})}, view, 1, 5.0, start_engine=start_engine).run()
    return outcome, view


def texts(run_dir: Path) -> dict[tuple[str, int], tuple[str, int]]:
    return {(s["problem_id"], s["sample_index"]): (s["text"], s["seed"]) for s in read_jsonl(run_dir / "samples.jsonl")}


def three_trainer_checkpoints(root: Path) -> Path:
    for number, step in enumerate((100, 200, 300)):
        trainer_step(root, step, fill=number, shards=2 if step == 200 else 1)
    return root


def test_one_engine_is_lent_to_every_checkpoint_swapped_in_place_and_the_first_swap_checked(
    tmp_path, data_env, engines
):
    run = three_trainer_checkpoints(tmp_path / "grpo")
    outcome, view = sweep(tmp_path, [run], engines)
    # started on step 100; swapped to 200, checked against a fresh engine on 200; swapped in place to 300
    assert engines.log == [
        ("start", "checkpoint-100"), ("swap", "checkpoint-200"), ("close", ""), ("start", "checkpoint-200"),
        ("swap", "checkpoint-300"), ("close", ""),
    ]  # fmt: skip
    assert outcome.swap_check["passed"] and outcome.swap_check["step"] == 200
    assert any("checked at step 200" in n for n in view.notices)
    rows = {step: row for step, row in outcome.rows.items()}
    assert [rows[s].status for s in (100, 200, 300)] == ["evaluated"] * 3
    seen = set()
    for step in (100, 200, 300):
        run_dir = Path(rows[step].run_dir)
        assert run_dir.parent == outcome.sweep_dir and run_dir.name.startswith(f"step-{step:08d}__aime24__")
        samples = texts(run_dir)
        assert len(samples) == 6  # 3 problems x n=2, each once
        weights = weights_id(str(run / f"checkpoint-{step}"))
        assert all(text.startswith(f"weights {weights}:") for text, _ in samples.values())  # the swap happened
        seen.add(weights)
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["checkpoint_step"] == step and manifest["model"] == str(run / f"checkpoint-{step}")
        block = manifest["checkpoint"]
        assert block["path"] == str(run / f"checkpoint-{step}") and block["step"] == step
        assert block["layout"] == "hf-trainer" and block["training_run"] == manifest["labels"]["run_name"]
        assert block["training_run"] == str(run / "checkpoint-*")
        assert block["written_at"].endswith("Z") and "merged_from" not in block
    assert len(seen) == 3
    state = json.loads((outcome.sweep_dir / "sweep.json").read_text())
    assert state["engine"] == {"starts": 2, "in_place_swaps": 2, "restart_each_checkpoint": False}
    assert [c["status"] for c in state["checkpoints"]] == ["evaluated"] * 3
    # the sweep's leaderboard: csv, md (with accuracy by training step) and the page, in the sweep directory
    assert {p.name for p in outcome.leaderboard} >= {"aime24.csv", "aime24.md", "aime24.html"}
    markdown = (outcome.sweep_dir / "aime24.md").read_text()
    assert "Accuracy by training step" in markdown and "| 300 |" in markdown
    table = table_rows(outcome)
    assert [step for step, _, metrics in table if metrics is not None] == [100, 200, 300]
    assert (outcome.sweep_dir / "aime24-samples").is_dir()  # the samples pages, once the sweep has ended


def test_the_swap_check_stops_the_sweep_in_one_line_when_the_reload_kept_stale_weights(tmp_path, data_env, engines):
    run = three_trainer_checkpoints(tmp_path / "grpo")
    engines.options["stale"] = True
    with pytest.raises(EvalkitError) as error:
        sweep(tmp_path, [run], engines)
    message = str(error.value)
    assert "in-place weight reload (reload_weights) kept stale weights: at step 200" in message
    assert "--restart-engine" in message and "\n" not in message
    assert all(engine.closed for engine in engines.made)  # no engine left running
    folder = next((tmp_path / "runs").iterdir())
    state = json.loads((folder / "sweep.json").read_text())
    assert state["swap_check"]["passed"] is False and state["swap_check"]["step"] == 200
    assert [c["step"] for c in state["checkpoints"] if c["status"] == "evaluated"] == [100]
    assert not list(folder.glob("step-00000200__*/samples.jsonl"))  # nothing was drawn from the stale engine


def fingerprint(tmp_path, name, **change) -> EngineFingerprint:
    from evalkit.config import resolve_run

    folder = trainer_step(tmp_path / name, 1, **{k: v for k, v in change.items() if k in ("config", "tokenizer")})
    given = {"dtype": change.get("dtype")}
    return EngineFingerprint.of(folder, resolve_run(str(folder), given, None).config)


@pytest.mark.parametrize(
    "change,method,reason",
    [
        ({}, "reload_weights", None),
        ({}, "load_weights", None),
        ({"config": {"num_hidden_layers": 3}}, "reload_weights", "another architecture"),
        ({"tokenizer": "other"}, "reload_weights", "another tokenizer"),
        ({"dtype": "float16"}, "reload_weights", "other engine settings"),
        ({}, None, "cannot load weights in place"),
    ],
)
def test_the_engine_is_restarted_only_when_the_next_checkpoint_needs_another(tmp_path, change, method, reason):
    current = fingerprint(tmp_path, "a")
    wanted = fingerprint(tmp_path, "b", **change)
    found = restart_reason(current, wanted, method)
    assert found is None if reason is None else reason in found


def test_another_tokenizer_or_a_vllm_that_cannot_reload_restarts_the_engine_and_says_so_once(
    tmp_path, data_env, engines
):
    run = tmp_path / "run"
    trainer_step(run, 1, fill=1)
    trainer_step(run, 2, fill=2, tokenizer="grown")  # a tokenizer with new tokens
    trainer_step(run, 3, fill=3, tokenizer="grown")
    outcome, view = sweep(tmp_path, [run], engines)
    assert [e for e, _ in engines.log] == ["start", "close", "start", "swap", "close", "start", "close"]
    assert sum("another tokenizer" in n for n in view.notices) == 1
    engines.log.clear()
    engines.options["method"] = None
    outcome, view = sweep(tmp_path, [run], engines, given={"seed": 4})
    assert [e for e, _ in engines.log] == ["start", "close", "start", "close", "start", "close"]
    assert sum("cannot load weights in place" in n for n in view.notices) == 1


def test_restart_engine_gives_every_checkpoint_a_fresh_engine(tmp_path, data_env, engines):
    run = three_trainer_checkpoints(tmp_path / "grpo")
    outcome, _ = sweep(tmp_path, [run], engines, restart_engine=True)
    assert [e for e, _ in engines.log].count("start") == 3 and ("swap", "checkpoint-200") not in engines.log
    assert outcome.swap_check is None and len(outcome.evaluated) == 3


def test_a_killed_sweep_resumes_the_checkpoint_it_was_on_and_skips_the_finished_ones(tmp_path, data_env, engines):
    run = three_trainer_checkpoints(tmp_path / "grpo")
    reference, _ = sweep(tmp_path / "reference", [run], engines)
    expected = {s: texts(Path(r.run_dir)) for s, r in reference.rows.items()}
    engines.log.clear()

    def interrupting(model, config):
        engine = engines(model, config)
        if engines.log.count(("start", "checkpoint-200")) == 1:
            engine.interrupt_after = 3  # Ctrl-C at step 200 (on the swap check's fresh engine), after three samples
        return engine

    with pytest.raises(EvalkitError) as error:
        sweep(tmp_path, [run], interrupting)
    assert "interrupted at step 200. 3 of its samples are saved in" in str(error.value)
    assert "rerun the same command to resume the sweep" in str(error.value)
    folder = next((tmp_path / "runs").iterdir())
    partial = next(folder.glob("step-00000200__*"))
    assert len(read_jsonl(partial / "samples.jsonl")) == 3
    # the plan reads the directory without changing it
    prepared = launch.prepare(str(run / "checkpoint-200"), {**GIVEN, "run_name": "x"}, folder, partial, RecordingView())
    plan = plan_checkpoint(prepared)
    assert (plan.stored, plan.missing, plan.finished) == (3, 3, False)

    engines.log.clear()
    outcome, view = sweep(tmp_path, [run], engines)
    assert outcome.rows[100].status == "finished earlier"
    assert any("step 100: finished earlier" in n for n in view.notices)
    assert engines.log[0] == ("start", "checkpoint-200")  # no engine for the finished step 100
    for step in (100, 200, 300):
        samples = read_jsonl(Path(outcome.rows[step].run_dir) / "samples.jsonl")
        keys = [(s["problem_id"], s["sample_index"]) for s in samples]
        assert len(keys) == len(set(keys)) == 6  # no duplicate, nothing missing
        assert texts(Path(outcome.rows[step].run_dir)) == expected[step]  # the same samples as an uninterrupted sweep
    # and once everything is finished, a rerun starts no engine at all
    engines.log.clear()
    outcome, _ = sweep(tmp_path, [run], engines)
    assert engines.log == [] and {r.status for r in outcome.rows.values()} == {"finished earlier"}


def test_lora_shards_checkpoints_being_written_and_rotation_are_reported_never_a_crash(tmp_path, data_env, engines):
    run = tmp_path / "run"
    trainer_step(run, 10, fill=1)
    lora_step(run, 20)
    trainer_step(run, 30, fill=3, state=False)  # being written
    trainer_step(run, 40, fill=4)
    trainer_step(run, 50, fill=5)
    real_start = engines

    def rotating(model, config):
        engine = real_start(model, config)
        shutil.rmtree(run / "checkpoint-40", ignore_errors=True)  # save_total_limit removes it before its turn
        return engine

    outcome, view = sweep(tmp_path, [run], rotating)
    notes = {step: (row.status, row.note) for step, row in outcome.rows.items()}
    assert notes[10][0] == "evaluated" and notes[50][0] == "evaluated"
    assert notes[20][0] == "skipped" and "LoRA adapter" in notes[20][1]
    assert notes[30][0] == "skipped" and "still being written" in notes[30][1] and "--watch" in notes[30][1]
    assert notes[40][0] == "skipped" and "was deleted (the trainer's rotation?) before it was evaluated" in notes[40][1]
    assert sum("LoRA adapter" in w for w in view.warnings) == 1


def test_verl_shards_without_verl_name_the_merge_command_and_the_rest_is_evaluated(
    tmp_path, data_env, engines, monkeypatch
):
    run = tmp_path / "verl"
    verl_step(run, 10, fill=1)
    actor = verl_fsdp_step(run, 20)
    verl_step(run, 30, fill=3)
    monkeypatch.setattr(ckpt, "merger_problem", lambda: "verl is not installed")
    outcome, view = sweep(tmp_path, [run], engines)
    assert outcome.rows[20].status == "skipped"
    assert f"--local_dir {actor} --target_dir {actor}/huggingface" in outcome.rows[20].note
    assert outcome.rows[20].note.endswith("; here verl is not installed")
    assert [r.step for r in outcome.evaluated] == [10, 30]
    manifest = json.loads((Path(outcome.rows[30].run_dir) / "manifest.json").read_text())
    assert manifest["checkpoint"]["layout"] == "verl"
    assert manifest["checkpoint"]["path"] == str(run / "global_step_30" / "actor" / "huggingface")
    assert manifest["labels"]["run_name"] == str(run / "global_step_*" / "actor" / "huggingface")


def test_a_checkpoint_deleted_while_its_weights_load_is_skipped_and_the_sweep_goes_on(tmp_path, data_env, engines):
    run = three_trainer_checkpoints(tmp_path / "grpo")
    real_start = engines
    state = {"deleted": False}

    def deleting(model, config):
        engine = real_start(model, config)
        original = engine.reload_weights

        def reload(target):
            if "checkpoint-200" in target and not state["deleted"]:
                state["deleted"] = True
                shutil.rmtree(target)  # rotation while the engine reads it
            original(target)

        engine.reload_weights = reload
        return engine

    outcome, view = sweep(tmp_path, [run], deleting)
    assert (
        outcome.rows[200].status == "skipped" and "was deleted while its weights were loaded" in outcome.rows[200].note
    )
    assert [r.step for r in outcome.evaluated] == [100, 300]
    assert texts(Path(outcome.rows[300].run_dir))  # step 300 on an engine started afresh


def test_watch_evaluates_new_checkpoints_as_they_are_written_and_stops_at_until_step(tmp_path, data_env, engines):
    run = tmp_path / "run"
    trainer_step(run, 10, fill=1)
    writes = iter(
        [
            lambda: trainer_step(run, 20, fill=2, state=False),  # the Trainer is writing step 20
            lambda: (run / "checkpoint-20" / "trainer_state.json").write_text("{}"),  # ... and has finished it
            lambda: trainer_step(run, 30, fill=3),
            lambda: pytest.fail("the sweep went on after --until-step 30"),
        ]
    )
    view = RecordingView()
    options = SweepOptions(sources=(str(run),), output_dir=tmp_path / "runs", watch=True, until_step=30, poll_s=0.01)
    outcome = Sweep(options, GIVEN, view, 1, 5.0, start_engine=engines, sleep=lambda s: next(writes)()).run()
    assert [r.step for r in outcome.evaluated] == [10, 20, 30]
    assert any("step 20: still being written (no trainer_state.json yet" in n for n in view.notices)
    assert [e for e, _ in engines.log].count("start") == 2  # one engine (and the swap check's fresh start)


def test_watch_with_latest_takes_the_newest_checkpoint_at_each_look(tmp_path, data_env, engines):
    run = tmp_path / "run"
    trainer_step(run, 10, fill=1)

    def two_at_once(seconds):
        trainer_step(run, 20, fill=2)
        trainer_step(run, 30, fill=3)

    options = SweepOptions(sources=(str(run),), output_dir=tmp_path / "runs", watch=True, until_step=30, poll_s=0.01,
                           selection=ckpt.StepSelection.parse(None, None, 1))  # fmt: skip
    outcome = Sweep(options, GIVEN, RecordingView(), 1, 5.0, start_engine=engines, sleep=two_at_once).run()
    assert [r.step for r in outcome.evaluated] == [10, 30]


def test_watch_stops_after_the_idle_time_and_on_ctrl_c_while_waiting(tmp_path, data_env, engines):
    run = tmp_path / "run"
    trainer_step(run, 10, fill=1)
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    options = SweepOptions(sources=(str(run),), output_dir=tmp_path / "runs", watch=True, stop_after_idle_s=100,
                           poll_s=30)  # fmt: skip
    view = RecordingView()
    outcome = Sweep(options, GIVEN, view, 1, 5.0, start_engine=engines, clock=lambda: now[0], sleep=sleep).run()
    assert 100 <= now[0] <= 130 and any("no new checkpoint for 100 s" in n for n in view.notices)

    def interrupt(seconds):
        raise KeyboardInterrupt

    options = SweepOptions(sources=(str(run),), output_dir=tmp_path / "runs", watch=True)
    view = RecordingView()
    outcome = Sweep(options, GIVEN, view, 1, 5.0, start_engine=engines, sleep=interrupt).run()
    assert outcome.rows[10].status == "finished earlier" and "stopped watching (Ctrl-C)" in view.notices


def test_openai_sweep_asks_the_server_for_each_checkpoint_by_its_templated_name(tmp_path, data_env, gold):
    run = tmp_path / "dapo"
    for step in (100, 200, 300):
        verl_step(run, step, fill=step)
    state = ServerState(model="dapo/step_100", other_models=("dapo/step_200",))
    given = {"kind": "openai", "max_retries": 1}
    with serve(state) as url:
        given["base_urls"] = (url,)
        outcome, view = sweep(tmp_path, [run], None, given=given, served_model_template="dapo/step_{step}")
    assert [r.step for r in outcome.evaluated] == [100, 200]
    assert outcome.rows[300].status == "skipped"
    assert "'dapo/step_300'" in outcome.rows[300].note and "dapo/step_100, dapo/step_200" in outcome.rows[300].note
    asked = {body["model"] for body in state.bodies}
    assert asked == {"dapo/step_100", "dapo/step_200"}
    a, b = (texts(Path(outcome.rows[s].run_dir)) for s in (100, 200))
    assert a.keys() == b.keys() and a != b  # each checkpoint answered for itself
    manifest = json.loads((Path(outcome.rows[200].run_dir) / "manifest.json").read_text())
    assert manifest["backend"]["served_model"] == "dapo/step_200" and manifest["checkpoint"]["step"] == 200
    assert manifest["identity"]["served_model"] == "dapo/step_200"


def test_each_checkpoint_goes_only_to_the_servers_that_serve_it_adapters_included(tmp_path, data_env):
    """One vLLM server per checkpoint, the second serving a LoRA adapter (vllm serve BASE --enable-lora)."""
    run = tmp_path / "grpo"
    trainer_step(run, 100, fill=1)
    lora_step(run, 200)
    first, second = ServerState(model="grpo/checkpoint-100"), ServerState(model="grpo/checkpoint-200")
    with serve(first) as url_a, serve(second) as url_b:
        given = {"kind": "openai", "max_retries": 1, "base_urls": (url_a, url_b)}
        outcome, _ = sweep(tmp_path, [run], None, given=given, served_model_template="grpo/{name}")
    assert [r.step for r in outcome.evaluated] == [100, 200]
    assert {b["model"] for b in first.bodies} == {"grpo/checkpoint-100"}
    assert {b["model"] for b in second.bodies} == {"grpo/checkpoint-200"}
    manifest = json.loads((Path(outcome.rows[200].run_dir) / "manifest.json").read_text())
    assert manifest["backend"]["endpoints"] == [url_b] and manifest["checkpoint"]["path"] == str(run / "checkpoint-200")


def test_with_watch_a_checkpoint_the_server_does_not_serve_yet_is_waited_for(tmp_path, data_env):
    run = tmp_path / "dapo"
    for step in (100, 200):
        verl_step(run, step, fill=step)
    state = ServerState(model="dapo/global_step_100")
    given = {"kind": "openai", "max_retries": 1}

    def serve_the_next(seconds):
        state.other_models = ("dapo/global_step_200",)  # the server loads step 200 later

    with serve(state) as url:
        options = SweepOptions(sources=(str(run),), output_dir=tmp_path / "runs", watch=True, until_step=200,
                               poll_s=0.01, served_model_template="dapo/{name}")  # fmt: skip
        view = RecordingView()
        outcome = Sweep(options, {**GIVEN, **given, "base_urls": (url,)}, view, 1, 5.0, sleep=serve_the_next).run()
    assert [r.step for r in outcome.evaluated] == [100, 200]
    assert any("step 200: not served" in n and "waiting for it" in n for n in view.notices)


def test_evalkit_run_of_a_checkpoint_folder_records_the_checkpoint_block(tmp_path, data_env):
    weights = verl_step(tmp_path / "dapo", 120, fill=7)
    prepared = launch.prepare(str(weights), dict(GIVEN), tmp_path / "runs", None, RecordingView())
    outcome = launch.execute(prepared, RecordingView(), 1, 5.0, backend_factory=lambda config, model: FakeBackend())
    manifest = json.loads((outcome.run_dir / "manifest.json").read_text())
    block = manifest["checkpoint"]
    assert block["path"] == str(weights) and block["step"] == 120 == manifest["checkpoint_step"]
    assert block["layout"] == "verl" and block["training_run"] == manifest["labels"]["run_name"]
    assert block["written_at"] == ckpt.written_at(weights)
    assert "checkpoint" not in manifest["config"]
    # a plain model folder gets no block
    plain = tmp_path / "model"
    shutil.copytree(weights, plain)
    prepared = launch.prepare(str(plain), dict(GIVEN), tmp_path / "runs", None, RecordingView())
    assert prepared.config.checkpoint is None


def cut_short(folder: Path) -> Path:
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[:-4])
    return folder


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda root: lora_step(root, 5), "is a LoRA adapter"),
        (lambda root: verl_fsdp_step(root, 5), "verl.model_merger merge --backend fsdp"),
        (lambda root: verl_step(root, 5).parents[1], "is a verl checkpoint folder; its weights are in"),
        (lambda root: cut_short(trainer_step(root, 5)), "is not whole yet: model.safetensors is shorter than its"),
    ],
)
def test_evalkit_run_refuses_a_checkpoint_the_engine_cannot_load_in_one_line(tmp_path, data_env, make, message):
    folder = make(tmp_path / "run")
    with pytest.raises(EvalkitError, match=message):
        launch.prepare(str(folder), dict(GIVEN), tmp_path / "runs", None, RecordingView())


def evalkit(args: list[str], env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True,
                          env=env or dict(os.environ), timeout=timeout, cwd=REPO)  # fmt: skip


def test_impossible_sweep_options_are_refused_in_one_line(tmp_path, data_env):
    run = three_trainer_checkpoints(tmp_path / "run")
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-run").mkdir()
    (tmp_path / "a-run" / "manifest.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    cases = [
        ([str(run), "--until-step", "5"], "--until-step goes with --watch"),
        ([str(run), "--stop-after-idle", "5"], "--stop-after-idle goes with --watch"),
        ([str(run), "--steps", "9"], "is not FIRST:LAST"),
        ([str(run), "--every", "0"], "--every must be at least 1"),
        ([str(run), "--served-model-template", "x/{step}"], "goes with --backend openai"),
        ([str(run), "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--served-model-template", "{nope}"],
         "cannot be filled"),
        ([str(run), "--watch", "--poll-interval", "0"], "--poll-interval must be a positive number"),
        ([str(tmp_path / "missing")], "does not exist"),
        ([str(tmp_path / "empty")], "no checkpoints found in"),
        ([str(run), "--steps", "1000:"], "none of the 3 checkpoints found (steps 100 to 300) is selected by steps"),
        ([str(run), "--sweep-dir", str(tmp_path / "a-run")], "is a run directory; give a folder for the sweep"),
        ([str(run), "--sweep-dir", str(tmp_path / "notes")], "holds other files and no sweep.json"),
        ([str(run), "--output-dir", str(tmp_path / "a-run")], "is a run directory; give the folder that holds them"),
    ]  # fmt: skip
    for args, message in cases:
        result = evalkit(["sweep", "--output-dir", str(tmp_path / "out"), *args])
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


def test_kill_9_mid_sweep_then_the_same_command_resumes_without_a_duplicate(tmp_path, data_env):
    """The openai variant as a real process: killed while it draws step 200, rerun, every checkpoint whole."""
    run = tmp_path / "run"
    for step in (100, 200, 300):
        trainer_step(run, step, fill=step)
    names = tuple(str(run / f"checkpoint-{s}") for s in (100, 200, 300))
    state = ServerState(model=names[0], other_models=names[1:], latency_s=0.15, record_bodies=False)
    args = ["sweep", str(run), "--backend", "openai", "-n", "4", "--limit", "5", "--max-tokens", "64", "--concurrency",
            "2", "--output-dir", str(tmp_path / "out")]  # fmt: skip
    env = {**os.environ, "OPENAI_API_KEY": "x"}
    with serve(state) as url:
        command = [sys.executable, "-m", "evalkit", *args, "--base-url", url]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
        deadline = time.monotonic() + 120
        step_200 = []
        while time.monotonic() < deadline and process.poll() is None:
            step_200 = list((tmp_path / "out").glob("*/step-00000200__*/samples.jsonl"))
            if step_200 and len(read_jsonl(step_200[0])) >= 5:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        assert step_200, "the sweep never reached step 200"
        drawn = len(read_jsonl(step_200[0]))
        assert 5 <= drawn < 20
        again = evalkit([*args, "--base-url", url], env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    folder = next((tmp_path / "out").iterdir())
    state_file = json.loads((folder / "sweep.json").read_text())
    assert [c["status"] for c in state_file["checkpoints"]] == ["finished earlier", "evaluated", "evaluated"]
    for step in (100, 200, 300):
        samples = read_jsonl(next(folder.glob(f"step-{step:08d}__*/samples.jsonl")))
        keys = [(s["problem_id"], s["sample_index"]) for s in samples]
        assert len(keys) == len(set(keys)) == 20
    assert "resuming" in again.stderr and "step 100: finished earlier" in again.stderr
    assert "avg@n" in again.stdout and "300" in again.stdout


def test_the_terminal_table_has_a_row_per_checkpoint_along_training():
    metrics = {
        "n": 4, "avg": 0.25, "avg_ci": {"low": 0.1, "high": 0.4}, "pass_at": {"1": 0.25, "4": 0.5},
        "maj_at": {"1": 0.25, "4": 0.3}, "mean_output_tokens": 812.4, "truncated": 3, "samples": 12,
    }  # fmt: skip
    table = terminal.sweep_table([(200, "", metrics), (100, "LoRA adapter", None)], "run")
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    lines = [line for line in text.splitlines() if line.lstrip("│ ").startswith(("100", "200"))]
    assert "100" in lines[0] and "LoRA adapter" in lines[0]
    assert all(cell in lines[1] for cell in ("200", "25.0 (n=4)", "[10.0, 40.0]", "50.0", "30.0", "812", "25.0"))
