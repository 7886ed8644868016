"""Run integrity: a run's identity is everything that shaped its samples, paths never escape --output-dir, bad
input is one line and never a traceback, readers never change what they read, bad data never ends the job,
files follow the umask and are replaced atomically."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import GENERATIONS
from fake_backend import FakeBackend
from fake_openai_server import ServerState, serve

from evalkit.config import BackendConfig, RunConfig, SamplingConfig, identity
from evalkit.data import datasets as ds
from evalkit.data.prompts import TEMPLATES
from evalkit.errors import EvalkitError
from evalkit.pipeline.launch import run_dir_name
from evalkit.pipeline.run import run
from evalkit.store import RecordError, SampleRecord, read_run, write_json_atomic
from evalkit.verify import Verifier


def evalkit(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    # The progress bar's last state may stand above the error when the run had started.
    lines = [line for line in result.stderr.splitlines() if line.strip() and "━" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture
def env(data_env) -> dict:
    return dict(os.environ)


@pytest.fixture
def aime(shared_data, tmp_path):
    return ds.load("aime24", ds.DataLocations(shared_data, tmp_path / "cache"))


def config(**changes) -> RunConfig:
    base = RunConfig(
        model="fake-model",
        dataset="aime24",
        template="boxed",
        sampling=SamplingConfig(n=2, temperature=0.6, top_p=0.95, max_tokens=512),
        backend=BackendConfig(kind="vllm"),
        limit=3,
    )
    return replace(base, **changes)


def do_run(cfg: RunConfig, aime, run_dir: Path, backend=None):
    with Verifier("math") as verifier:
        return run(cfg, aime, TEMPLATES["boxed"], lambda: backend or FakeBackend(), run_dir, verifier)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------------------------
# identity


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (dict(backend=BackendConfig(kind="vllm", dtype="float16")), "dtype"),
        (dict(backend=BackendConfig(kind="vllm", max_model_len=4096)), "max_model_len"),
        (dict(backend=BackendConfig(kind="vllm", engine_args={"quantization": "fp8"})), "engine_args"),
        (dict(model="other-model"), "model"),
    ],
)
def test_settings_that_shape_the_text_are_part_of_the_identity(aime, tmp_path, change, field):
    do_run(config(), aime, tmp_path / "run")
    before = snapshot(tmp_path / "run")
    with pytest.raises(EvalkitError, match=rf"different settings \({field} "):
        do_run(config(**change), aime, tmp_path / "run")
    assert snapshot(tmp_path / "run") == before


def test_a_run_resumes_when_its_recorded_hash_matches_even_if_a_setting_reads_back_unequal(aime, tmp_path):
    # A NaN engine argument (given through the library: the CLI refuses `--engine-arg x=NaN`) is never equal to
    # itself, so the settings read back from the manifest compare unequal to the same settings. The hash decides
    # whether a directory is this run's, before the engine starts and again under the lock; the field-by-field
    # comparison only names what differs.
    odd = config(backend=BackendConfig(kind="vllm", engine_args={"x": float("nan")}), limit=1)
    do_run(replace(odd, sampling=replace(odd.sampling, n=1)), aime, tmp_path / "run")
    extended = do_run(odd, aime, tmp_path / "run")  # n=2: the same run, one more sample
    assert extended.generated == 1 and len(read_run(tmp_path / "run").samples) == 2


def test_performance_settings_are_not_identity_so_a_run_can_resume_on_other_hardware():
    a = identity(config(), "d", "t")
    b = identity(
        config(
            backend=BackendConfig(
                kind="vllm",
                tensor_parallel_size=8,
                gpu_memory_utilization=0.5,
                engine_args={"max_num_seqs": 512},
                enforce_eager=True,
            )
        ),  # fmt: skip
        "d",
        "t",
    )
    assert a == b


def test_another_served_model_behind_the_same_name_is_another_run(env, shared_data, tmp_path):
    gold = {json.loads(line)["problem"]: json.loads(line)["answer"] for line in (shared_data / "aime24.jsonl").open()}
    state = ServerState(gold=gold)
    base = ["run", "fake-model", "--backend", "openai", "--run-dir", str(tmp_path / "run"), "--limit", "2", "-n", "1"]
    with serve(state) as url:
        first = evalkit(*base, "--base-url", url, "--max-tokens", "64", env=env)
        assert first.returncode == 0, first.stderr
        state.model = "fake-model-v2"
        second = evalkit(
            *base, "--base-url", url, "--max-tokens", "64", "--served-model-name", "fake-model-v2", env=env
        )
    one_line_error(second, "served_model 'fake-model' -> 'fake-model-v2'")


# ---------------------------------------------------------------------------------------------------------------
# paths


def test_run_directory_names_are_plain_slugs_under_the_output_dir(shared_data, tmp_path):
    cfg = config(dataset=str(tmp_path / "data" / "mine set.jsonl"), template="../../etc/x y.toml",
                 model="/ckpt/../run/global_step_10/")  # fmt: skip
    name = run_dir_name(cfg, "ab" * 32)
    assert "/" not in name and ".." not in name.split("__")[0]
    assert name.startswith("mine-set__") and "__x-y__" in name and name.endswith("__abababab" + "ab")


def test_a_dataset_given_by_path_runs_under_the_output_dir(env, shared_data, tmp_path):
    data = tmp_path / "elsewhere" / "tiny.jsonl"
    data.parent.mkdir()
    rows = [json.loads(line) for line in (shared_data / "aime24.jsonl").read_text().splitlines()[:2]]
    data.write_text("".join(json.dumps({k: r[k] for k in ("id", "problem", "answer")}) + "\n" for r in rows))
    template = tmp_path / "t.toml"
    template.write_text('user = "Solve: {problem}"\n')
    state = ServerState(gold={r["problem"]: r["answer"] for r in rows})
    with serve(state) as url:
        result = evalkit("run", "fake-model", "--backend", "openai", "--base-url", url, "--dataset", str(data),
                         "--template", str(template), "-n", "1", "--max-tokens", "64", "--output-dir",
                         str(tmp_path / "runs"), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("tiny__fake-model__t__")
    assert sorted(p.name for p in data.parent.iterdir()) == ["tiny.jsonl"]


# ---------------------------------------------------------------------------------------------------------------
# one line, never a traceback


RUN = ["run", "fake-model", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--limit", "1"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (RUN + ["--verify-timeout", "0"], "--verify-timeout must be a positive number"),
        (RUN + ["--verify-timeout", "nan"], "--verify-timeout must be a positive number"),
        (RUN + ["--max-retries", "-1"], "--max-retries must be 0 or more"),
        (RUN + ["--request-timeout", "0"], "--request-timeout must be a positive number"),
        (RUN + ["-n", "100000000"], "at most 100000"),
        (RUN + ["-n", "0"], "-n must be at least 1"),
        (RUN + ["--concurrency", "0"], "--concurrency must be at least 1"),
        (RUN + ["--workers", "0"], "--workers must be at least 1"),
        (RUN + ["--limit", "0"], "--limit must be at least 1"),
        (RUN + ["--seed-policy", "random"], "unknown --seed-policy 'random'"),
        (RUN + ["--api-key-env", "NOT A NAME"], "is not an environment variable name"),
        (["run", "fake-model", "--backend", "openai", "--base-url", "localhost:8000"], "is not an http(s) address"),
        (["score", str(GENERATIONS / "aime24_Qwen_Qwen2.5-Math-7B.jsonl"), "--verify-timeout", "0"],
         "--verify-timeout must be a positive number"),
    ],
)  # fmt: skip
def test_impossible_options_are_refused_in_one_line_before_any_work(env, tmp_path, args, fragment):
    result = (
        evalkit(*args, "--output-dir", str(tmp_path / "runs"), env=env) if args[0] == "run" else evalkit(*args, env=env)
    )
    one_line_error(result, fragment)
    assert not (tmp_path / "runs").exists()


def test_an_output_dir_that_is_a_file_or_unwritable_is_one_line(env, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(evalkit(*RUN, "--output-dir", str(blocker), env=env), "is a file")
    one_line_error(evalkit(*RUN, "--output-dir", str(blocker / "below"), env=env), "is a file")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user that ignores permissions")  # root ignores modes; the file cases still ran
        one_line_error(evalkit(*RUN, "--output-dir", str(locked), env=env), "not writable")
    finally:
        locked.chmod(0o700)


def test_leaderboard_out_that_is_a_file_and_unknown_dataset_are_one_line_and_write_nothing(env, runs_root, tmp_path):
    blocker = tmp_path / "tables"
    blocker.write_text("x")
    one_line_error(evalkit("leaderboard", str(runs_root), "--out", str(blocker), env=env), "is a file")
    out = tmp_path / "out"
    one_line_error(evalkit("leaderboard", str(runs_root), "--dataset", "nosuch", "--out", str(out), env=env),
                   "nothing to show for dataset 'nosuch'", "aime24")  # fmt: skip
    assert not out.exists()


# ---------------------------------------------------------------------------------------------------------------
# readers read


def test_scoring_a_run_while_it_is_written_changes_nothing(env, aime, tmp_path):
    run_dir = tmp_path / "run"
    do_run(config(), aime, run_dir)
    with open(run_dir / "samples.jsonl", "a") as handle:
        handle.write('{"problem_id": "2024-I-1", "sample_index": 7, "text": "a line the run is still wri')
    before = snapshot(run_dir)
    result = evalkit("score", str(run_dir), "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["samples"] == 6
    assert snapshot(run_dir) == before


# ---------------------------------------------------------------------------------------------------------------
# bad data


def test_text_that_cannot_be_encoded_is_stored_escaped_and_the_run_finishes(aime, tmp_path):
    broken = "The answer is \ud83d. So \\boxed{7}"  # a lone surrogate: half of an emoji a tokenizer split
    outcome = do_run(config(), aime, tmp_path / "run", FakeBackend(text_for=lambda pid, i: broken))
    assert outcome.generated == 6
    raw = (tmp_path / "run" / "samples.jsonl").read_bytes()
    raw.decode("utf-8")  # the file stays valid UTF-8
    assert b"\\ud83d" in raw
    assert {s.text for s in read_run(tmp_path / "run").samples} == {broken}
    again = do_run(config(), aime, tmp_path / "run")  # resumes: nothing to generate
    assert again.generated == 0


@pytest.mark.parametrize(
    "line",
    [
        '{"problem_id": "2024-I-1", "sample_index": -1, "text": "x", "finish_reason": "stop"}',
        '{"problem_id": "2024-I-1", "sample_index": "3", "text": "x"}',
        '{"problem_id": "", "sample_index": 0, "text": "x"}',
        '{"problem_id": "2024-I-1", "sample_index": 0, "text": 5}',
        '{"problem_id": "2024-I-1", "sample_index": 0, "text": "x", "output_tokens": -4}',
        '["not", "an", "object"]',
    ],
)
def test_an_invalid_sample_line_is_refused_with_its_line_number(tmp_path, line):
    good = SampleRecord("2024-I-1", 1, "ok", "stop", 1, 1, 1).to_json()
    (tmp_path / "samples.jsonl").write_text(good + line + "\n")
    with pytest.raises(EvalkitError, match=r"samples.jsonl:2 is not a valid record"):
        read_run(tmp_path)
    with pytest.raises(RecordError):
        SampleRecord.from_dict(json.loads(line))


def test_damaged_runs_are_skipped_by_the_leaderboard_with_one_line_each(env, aime, tmp_path):
    root = tmp_path / "runs"
    for name in ("good", "bad-results", "bad-manifest", "binary"):
        do_run(config(), aime, root / name)
    (root / "bad-results" / "results.json").write_text('{"metrics": {"n": 2, "avg"')
    (root / "bad-manifest" / "manifest.json").write_text("[1, 2]")
    (root / "binary" / "results.json").write_bytes(b"\xff\xfe\x00garbage")
    result = evalkit("leaderboard", str(root), "--out", str(tmp_path / "out"), "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("note: skipped")]
    assert len(skipped) == 3
    assert any("bad-results" in s and "damaged" in s for s in skipped)
    assert any("binary" in s and "not UTF-8" in s for s in skipped)
    csv = (tmp_path / "out" / "aime24.csv").read_text()
    assert str(root / "good") in csv and "bad-results" not in csv
    one_line_error(evalkit("compare", str(root / "good"), str(root / "bad-manifest"), env=env), "damaged")
    one_line_error(evalkit("score", str(root / "bad-manifest"), env=env), "damaged")
    # A damaged results.json does not stop re-scoring: the samples are the record.
    assert evalkit("score", str(root / "binary"), env=env).returncode == 0


def test_a_generations_file_that_is_not_utf8_or_has_a_negative_index_is_one_line(env, tmp_path):
    binary = tmp_path / "gen.jsonl"
    binary.write_bytes(b'{"problem_id": "2024-I-1", "response": "\xff"}\n')
    one_line_error(evalkit("score", str(binary), env=env), "not UTF-8")
    negative = tmp_path / "neg.jsonl"
    negative.write_text('{"problem_id": "2024-I-1", "sample_index": -2, "response": "1"}\n')
    one_line_error(evalkit("score", str(negative), env=env), "negative sample_index")


# ---------------------------------------------------------------------------------------------------------------
# files


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_every_file_of_a_run_follows_the_umask(aime, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        do_run(config(), aime, tmp_path / "run")
    finally:
        os.umask(old)
    for name in ("manifest.json", "results.json", "samples.jsonl", "verdicts.jsonl"):
        assert stat.S_IMODE((tmp_path / "run" / name).stat().st_mode) == mode, name


def test_atomic_writes_leave_the_old_file_whole_when_the_write_fails(tmp_path, monkeypatch):
    from evalkit.report import tables

    readme = tmp_path / "README.md"
    original = f"intro\n{tables.README_START}\nold table\n{tables.README_END}\nend\n"
    readme.write_text(original)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    import pandas as pd

    with pytest.raises(OSError):
        tables.update_readme(readme, pd.DataFrame(columns=["model"]), "aime24")
    with pytest.raises(OSError):
        write_json_atomic(tmp_path / "manifest.json", {"a": 1})
    assert readme.read_text() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]  # no temporary file left behind


def test_a_full_disk_during_an_atomic_write_names_the_file_and_what_to_do(tmp_path, monkeypatch, capsys):
    # A full disk raises ENOSPC naming no file; the one line names the file evalkit was writing, and says that freeing
    # space and rerunning is the fix (what was written before is kept), not "check its permissions".
    from evalkit import cli

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as raised:
        write_json_atomic(tmp_path / "results.json", {"a": 1})
    assert raised.value.filename == str(tmp_path / "results.json") and raised.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []

    def command() -> None:
        write_json_atomic(tmp_path / "results.json", {"a": 1})

    monkeypatch.setattr(cli, "app", command)
    with pytest.raises(SystemExit) as exit_code:
        cli.main()
    said = " ".join(capsys.readouterr().err.split())
    assert exit_code.value.code == 2
    assert f"cannot use {tmp_path / 'results.json'}: No space left on device; free some space there" in said
    assert "permissions" not in said


def test_a_cut_off_200_body_is_a_transient_fault_retried_then_the_resume_hint(env, shared_data, tmp_path):
    from fake_openai_server import Faults

    gold = {json.loads(line)["problem"]: json.loads(line)["answer"] for line in (shared_data / "aime24.jsonl").open()}
    base = ["run", "fake-model", "--backend", "openai", "--no-stream", "--limit", "2", "-n", "2",
            "--max-tokens", "64", "--concurrency", "1"]  # fmt: skip
    flaky = ServerState(gold=gold, faults=Faults(malformed_200={1, 2}))
    with serve(flaky) as url:
        result = evalkit(*base, "--base-url", url, "--run-dir", str(tmp_path / "flaky"), env=env)
    assert result.returncode == 0, result.stderr
    assert len(read_run(tmp_path / "flaky").samples) == 4 and flaky.requests == 4  # 2 garbled, then 2 good
    broken = ServerState(gold=gold, faults=Faults(malformed_200=set(range(2, 100))))
    with serve(broken) as url:
        result = evalkit(*base, "--base-url", url, "--run-dir", str(tmp_path / "broken"), "--max-retries", "1",
                         env=env)  # fmt: skip
    one_line_error(result, "not an OpenAI completion", "2 samples are saved", "rerun the same command to resume")
