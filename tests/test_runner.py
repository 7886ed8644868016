"""The run pipeline with an in-process fake backend: planning, seeds, storage, resume, manifest, results."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from fake_backend import FakeBackend

from evalkit.backends.base import BackendError, Prompt
from evalkit.config import BackendConfig, RunConfig, SamplingConfig, checkpoint_step, resolve_run, sample_seed
from evalkit.data import datasets as ds
from evalkit.data.presets import find_preset
from evalkit.data.prompts import TEMPLATES, load_template
from evalkit.errors import EvalkitError
from evalkit.pipeline.run import plan_requests, run
from evalkit.store import SampleRecord, read_run
from evalkit.verify import Verifier


@pytest.fixture
def aime(shared_data, tmp_path):
    return ds.load("aime24", ds.DataLocations(shared_data, tmp_path / "cache"))


def make_config(n=4, limit=5, temperature=0.6, seed=0) -> RunConfig:
    return RunConfig(
        model="fake-model",
        dataset="aime24",
        template="boxed",
        sampling=SamplingConfig(n=n, temperature=temperature, top_p=0.95, max_tokens=512, seed=seed),
        backend=BackendConfig(kind="vllm", tensor_parallel_size=2, data_parallel_size=4),
        limit=limit,
    )


def fake(dataset, **options) -> FakeBackend:
    return FakeBackend({p.id: p.answer for p in dataset.problems}, **options)


def do_run(config, dataset, run_dir, backend=None, notices=None):
    backend = backend or fake(dataset)
    with Verifier("math") as verifier:
        return run(
            config, dataset, TEMPLATES["boxed"], lambda: backend, run_dir, verifier,
            on_notice=(notices.append if notices is not None else lambda m: None),
        )  # fmt: skip


def read_samples(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def read_verdicts(run_dir: Path, rules: str = "math") -> dict[tuple[str, int], dict]:
    lines = [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]
    return {(v["problem_id"], v["sample_index"]): v["verdict"] for v in lines if v["rules"] == rules}


def test_plan_groups_missing_samples_into_runs_with_their_own_seeds():
    prompt = Prompt("p", ({"role": "user", "content": "q"},), "")
    done = {("p", 0), ("p", 2), ("p", 3)}
    requests = plan_requests({"p": prompt}, 7, run_seed=11, done=done)
    assert [(r.first_index, r.count) for r in requests] == [(1, 1), (4, 3)]
    assert [r.seed for r in requests] == [sample_seed(11, "p", 1), sample_seed(11, "p", 4)]
    # sample i of a request gets seed + (i - first): exactly its seed when drawn alone
    assert sample_seed(11, "p", 4) + 2 == sample_seed(11, "p", 6)
    assert sample_seed(11, "p", 0) != sample_seed(12, "p", 0) != sample_seed(11, "q", 0)


def test_a_run_stores_every_sample_with_its_verdict(aime, tmp_path):
    outcome = do_run(make_config(), aime, tmp_path / "run")
    samples = read_samples(tmp_path / "run")
    verdicts = read_verdicts(tmp_path / "run")
    assert len(samples) == 20 and len(verdicts) == 20
    assert (
        {(s["problem_id"], s["sample_index"]) for s in samples}
        == {(p.id, i) for p in aime.problems[:5] for i in range(4)}
        == set(verdicts)
    )
    for s in samples:
        assert "verdict" not in s  # samples are stored before any verdict exists
        assert verdicts[(s["problem_id"], s["sample_index"])]["rule"]
        assert s["seed"] == sample_seed(0, s["problem_id"], s["sample_index"])
        assert s["finish_reason"] in ("stop", "length") and s["output_tokens"] > 0
    assert outcome.metrics.n == 4 and outcome.metrics.problems == 5
    correct = sum(v["correct"] for v in verdicts.values())
    assert outcome.metrics.avg == pytest.approx(correct / 20)
    assert 0 < correct < 20  # the fake model is right for some seeds only


def test_manifest_records_what_moves_a_score(aime, tmp_path):
    # README: "`manifest.json`: the full configuration, ... dataset sha256 ..., template and its hash, n, sampling,
    # seed and seed policy, max tokens, backend and what was actually sent to each endpoint (never its key), ..."
    do_run(make_config(), aime, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["dataset"]["content_sha256"] == aime.content_sha256
    assert manifest["template"]["sha256"] == TEMPLATES["boxed"].sha256
    assert manifest["template"]["system"] == TEMPLATES["boxed"].system
    assert manifest["sampling"] == {
        "n": 4, "temperature": 0.6, "top_p": 0.95, "max_tokens": 512, "seed": 0, "seed_policy": "sample"
    }  # fmt: skip
    assert manifest["parallelism"] == {"tensor_parallel_size": 2, "pipeline_parallel_size": 1, "data_parallel_size": 4}
    versions = manifest["versions"]
    assert versions["evalkit"] and versions["math-verify"] and "vllm" in versions and "torch" in versions
    assert manifest["host"] and manifest["verifier"] == "math"
    # What made the samples: evalkit itself, not an import or a rescore of other outputs.
    assert (manifest["format"], manifest["kind"]) == ("evalkit-run/1", "measured")
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["metrics"]["n"] == 4 and results["generation"]["samples_generated"] == 20


def test_manifest_names_the_preset_and_the_overrides(aime, tmp_path):
    # The leaderboard reads a run's preset from its manifest.
    config = replace(make_config(n=1, limit=1), preset="DAPO-Qwen-32B", overrides=("temperature=0.6",))
    do_run(config, aime, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["preset"] == "DAPO-Qwen-32B" and manifest["overrides"] == ["temperature=0.6"]


def test_a_resumed_or_rerun_run_keeps_when_it_was_created_and_the_backend_that_made_it(aime, tmp_path, monkeypatch):
    import evalkit.pipeline.run as run_module

    config = make_config(n=2, limit=2)
    first, second, third = (f"2024-05-0{day}T10:00:00+00:00" for day in (1, 2, 3))
    monkeypatch.setattr(run_module, "now_iso", lambda: first)
    with pytest.raises(BackendError):
        do_run(config, aime, tmp_path / "run", fake(aime, fail_after=1))
    monkeypatch.setattr(run_module, "now_iso", lambda: second)
    do_run(config, aime, tmp_path / "run")  # resumed after the crash
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (manifest["created_at"], manifest["updated_at"]) == (first, second)

    def no_engine():
        raise AssertionError("nothing is missing: no engine should start")

    monkeypatch.setattr(run_module, "now_iso", lambda: third)
    with Verifier("math") as verifier:
        run(config, aime, TEMPLATES["boxed"], no_engine, tmp_path / "run", verifier)  # finished: nothing generated
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (manifest["created_at"], manifest["updated_at"]) == (first, third)
    assert manifest["backend"] == {"kind": "fake"}  # what made the samples, though no engine started this time


def test_resume_after_a_backend_failure_loses_nothing_and_duplicates_nothing(aime, tmp_path):
    # README: "Running the same command again resumes: only the missing (problem, sample) pairs are generated, never a
    # duplicate."
    config = make_config()
    with pytest.raises(BackendError):
        do_run(config, aime, tmp_path / "run", fake(aime, fail_after=7))
    assert len(read_samples(tmp_path / "run")) == 7
    resumed = do_run(config, aime, tmp_path / "run")
    assert resumed.generated == 13
    samples = read_samples(tmp_path / "run")
    assert len(samples) == 20 and len({(s["problem_id"], s["sample_index"]) for s in samples}) == 20
    fresh = do_run(config, aime, tmp_path / "fresh")
    assert resumed.metrics.to_dict() == fresh.metrics.to_dict()
    key = lambda s: (s["problem_id"], s["sample_index"])  # noqa: E731
    assert sorted((key(s), s["text"]) for s in samples) == sorted(
        (key(s), s["text"]) for s in read_samples(tmp_path / "fresh")
    )


def test_growing_n_draws_only_the_new_samples_with_the_seeds_they_would_have_had(aime, tmp_path):
    # README: "A larger `-n` or no `--limit` extends the run."
    do_run(make_config(n=2), aime, tmp_path / "run")
    grown = do_run(make_config(n=4), aime, tmp_path / "run")
    assert grown.generated == 10
    fresh = do_run(make_config(n=4), aime, tmp_path / "fresh")
    assert grown.metrics.to_dict() == fresh.metrics.to_dict()


def test_a_half_written_last_line_is_dropped_with_a_notice(aime, tmp_path):
    # README: "A half-written last line (a crash mid-write) is dropped with a notice."
    config = make_config()
    with pytest.raises(BackendError):
        do_run(config, aime, tmp_path / "run", fake(aime, fail_after=5))
    with open(tmp_path / "run" / "samples.jsonl", "a") as handle:
        handle.write('{"problem_id": "2024-I-2", "sample_index": 3, "text": "cut off mid-wr')
    notices: list[str] = []
    outcome = do_run(config, aime, tmp_path / "run", notices=notices)
    assert any("half-written last line" in m for m in notices)
    assert outcome.generated == 15 and len(read_samples(tmp_path / "run")) == 20


def test_a_different_configuration_is_refused(aime, tmp_path):
    # README: "A different identity pointed at the same directory is refused, naming the field that differs."
    do_run(make_config(), aime, tmp_path / "run")
    with pytest.raises(EvalkitError, match=r"different settings \(temperature 0.6 -> 0.9\)"):
        do_run(make_config(temperature=0.9), aime, tmp_path / "run")
    with pytest.raises(EvalkitError, match="seed 0 -> 1"):
        do_run(make_config(seed=1), aime, tmp_path / "run")


def test_max_tokens_beyond_the_context_is_refused_before_generating(aime, tmp_path):
    # README: "Settings are checked before any work starts: max tokens against the model's context"
    backend = fake(aime, context=300)
    with pytest.raises(EvalkitError, match="--max-tokens 512 plus the longest prompt"):
        do_run(make_config(), aime, tmp_path / "run", backend)
    assert backend.requests == []


def test_store_damaged_middle_line_is_reported_not_dropped(tmp_path):
    record = SampleRecord("p", 0, "t", "stop", 1, 1, 1)
    (tmp_path / "samples.jsonl").write_text(record.to_json() + "not json\n" + record.to_json())
    with pytest.raises(EvalkitError, match=r"samples.jsonl:2 is not a valid record"):
        read_run(tmp_path)


def test_sampling_checks():
    # README: "temperature 0 with n > 1 (a warning: every sample would be identical)"
    assert SamplingConfig(n=4, temperature=0).check()[0].startswith("temperature 0 with n=4")
    assert SamplingConfig(n=1, temperature=0).check() == []
    for bad in (dict(n=0), dict(max_tokens=0), dict(top_p=0), dict(temperature=-1)):
        with pytest.raises(EvalkitError):
            SamplingConfig(**bad).check()


def test_presets_fill_settings_and_flags_override_them():
    # README: "A preset's settings are the defaults of `evalkit run PRESET`; any flag overrides them and the override is
    # recorded."
    preset = find_preset("DAPO-Qwen-32B")
    resolved = resolve_run("DAPO-Qwen-32B", {"temperature": 0.7, "max_tokens": None}, preset)
    config = resolved.config
    assert config.model == "BytedTsinghua-SIA/DAPO-Qwen-32B" and config.preset == "DAPO-Qwen-32B"
    assert (config.sampling.temperature, config.sampling.top_p, config.sampling.max_tokens) == (0.7, 0.7, 20480)
    assert config.sampling.n == 32 and config.template == "dapo" and resolved.verifier == "dapo"
    assert config.overrides == ("temperature=0.7",)
    plain = resolve_run("my/model", {}, None)
    assert plain.config.preset is None and plain.config.overrides == ()


def test_checkpoint_steps_are_read_from_paths():
    assert checkpoint_step("/ckpt/dapo/global_step_120/actor/huggingface") == 120
    assert checkpoint_step("runs/grpo/checkpoint-500") == 500
    assert checkpoint_step("Qwen/Qwen2.5-32B") is None


def test_template_files_and_unknown_templates(tmp_path):
    # README: "or a TOML file with `user` (containing `{problem}`) and optional `system`, `assistant_prefix`,
    # `completion`" and "unknown templates"
    path = tmp_path / "mine.toml"
    path.write_text('user = "Solve: {problem}"\nsystem = "Be brief."\n')
    template = load_template(str(path))
    assert template.messages("1+1") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Solve: 1+1"},
    ]
    assert template.sha256 != TEMPLATES["plain"].sha256
    (tmp_path / "bad.toml").write_text('user = "no placeholder"\n')
    with pytest.raises(EvalkitError, match="must be text containing"):
        load_template(str(tmp_path / "bad.toml"))
    with pytest.raises(EvalkitError, match="unknown template 'dapo2'"):
        load_template("dapo2")


def test_a_finished_run_starts_no_backend(aime, tmp_path):
    do_run(make_config(), aime, tmp_path / "run")

    def no_engine():
        raise AssertionError("nothing is missing: no engine should start")

    with Verifier("math") as verifier:
        outcome = run(make_config(), aime, TEMPLATES["boxed"], no_engine, tmp_path / "run", verifier)
    assert outcome.generated == 0 and outcome.metrics.samples == 20


def test_a_verifier_fault_never_costs_a_generated_sample(aime, tmp_path):
    class BrokenVerifier(Verifier):
        def submit(self, key, response, gold, truncated=False):
            raise RuntimeError("worker processes cannot start")

    with BrokenVerifier("math") as verifier:
        outcome = run(make_config(), aime, TEMPLATES["boxed"], lambda: fake(aime), tmp_path / "run", verifier)
    samples = read_samples(tmp_path / "run")
    verdicts = read_verdicts(tmp_path / "run")
    assert outcome.generated == 20 and len(samples) == 20 and len(verdicts) == 20
    assert all(v["error"].startswith("verifier failed: RuntimeError") for v in verdicts.values())


class Measured:
    """A backend that knows its context and how long each prompt is."""

    def __init__(self, context, sizes=None):
        self.context, self.sizes = context, sizes

    def context_length(self):
        return self.context

    def __getattr__(self, name):
        if name == "prompt_tokens" and self.sizes is not None:
            return self.sizes.__getitem__
        raise AttributeError(name)


@pytest.mark.parametrize(
    ("context", "sizes", "refusal"),
    [
        (612, {"a": 100, "b": 40}, None),  # the longest prompt plus max tokens fits exactly
        (
            611,
            {"a": 100, "b": 40},
            "plus the longest prompt (100 tokens) exceeds the model's context of 611 tokens; "
            "use --max-tokens 511 or less",
        ),  # fmt: skip
        (50, {"a": 100}, "use --max-tokens 1 or less"),  # no room at all: the smallest budget, not a negative one
        (512, None, None),  # a backend that cannot measure prompts: only max tokens is checked
        (511, None, "plus the longest prompt (0 tokens)"),
    ],
)
def test_the_context_check_counts_the_longest_prompt_exactly(context, sizes, refusal):
    from evalkit.pipeline.run import check_context

    config = make_config()  # max tokens 512
    prompts = {"p1": "a", "p2": "b"} if sizes and "b" in sizes else {"p1": "a"}
    if refusal is None:
        check_context(Measured(context, sizes), prompts, config)  # type: ignore[arg-type]
    else:
        with pytest.raises(EvalkitError, match=re.escape(refusal)):
            check_context(Measured(context, sizes), prompts, config)  # type: ignore[arg-type]


def test_a_backend_is_probed_before_generating_and_closed_after_even_when_it_fails(aime, tmp_path):
    """A server reports its context only when probed; a backend's connections are closed however the run ends."""
    events: list[str] = []

    class Probed(FakeBackend):
        async def probe(self):
            events.append("probe")

        def context_length(self):
            events.append("context")
            return None

        async def aclose(self):
            events.append("aclose")

        async def generate(self, requests, sampling):
            events.append("generate")
            async for completion in super().generate(requests, sampling):
                yield completion

    backend = Probed({p.id: p.answer for p in aime.problems})
    do_run(make_config(n=1, limit=1), aime, tmp_path / "ok", backend)
    assert events == ["probe", "context", "generate", "aclose"]
    events.clear()
    failing = Probed({p.id: p.answer for p in aime.problems}, fail_after=0)
    with pytest.raises(BackendError):
        do_run(make_config(n=1, limit=1), aime, tmp_path / "failed", failing)
    assert events == ["probe", "context", "generate", "aclose"]


def test_a_verifier_error_on_an_answer_counts_as_an_error_in_the_metrics():
    from evalkit.pipeline.run import to_outcome

    record = SampleRecord("p", 0, "x", "stop", None, 10, None)
    assert to_outcome(record, {"extracted": "x^2", "correct": False, "error": "timeout"}).error
    assert not to_outcome(record, {"extracted": "x^2", "correct": False, "error": None}).error
    assert not to_outcome(record, {"extracted": None, "correct": False, "error": "no answer"}).error
    assert not to_outcome(record, None).error
