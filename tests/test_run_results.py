"""What a run reports (evalkit/pipeline/run.py): results.json's generation and verification blocks, the progress the
caller sees, the notices a resumed run gives, prompts for the completions API, and a refused start that leaves
nothing behind."""

from __future__ import annotations

import contextlib
import json

import pytest
from fake_backend import FakeBackend

from evalkit.backends.base import BackendError, Completion
from evalkit.config import BackendConfig, RunConfig, SamplingConfig
from evalkit.data import datasets as ds
from evalkit.data.prompts import TEMPLATES
from evalkit.errors import EvalkitError
from evalkit.pipeline.run import build_prompts, run
from evalkit.store import SampleRecord
from evalkit.verify import Verifier


@pytest.fixture
def aime(shared_data, tmp_path):
    return ds.load("aime24", ds.DataLocations(shared_data, tmp_path / "cache"))


def config(n=2, limit=3, **backend) -> RunConfig:
    return RunConfig("fake-model", "aime24", "boxed", SamplingConfig(n=n, temperature=0.6, top_p=0.95, max_tokens=512),
                     BackendConfig(kind="vllm", **backend), limit=limit)  # fmt: skip


def go(cfg, aime, run_dir, backend=None, rules="math", **hooks):
    backend = backend or FakeBackend({p.id: p.answer for p in aime.problems})
    with Verifier(rules) as verifier:
        return run(cfg, aime, TEMPLATES["boxed"], lambda: backend, run_dir, verifier, **hooks)


def test_results_json_says_what_was_generated_and_verified_now(aime, tmp_path):
    starts, progress_seen = [], []
    outcome = go(config(), aime, tmp_path / "run", on_start=lambda p, info: starts.append((p.total, p.done, info)),
                 on_sample=lambda p: progress_seen.append((p.done, p.generated, p.output_tokens)))  # fmt: skip
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results == outcome.results and results["format"] == "evalkit-results/1"
    assert (results["model"], results["dataset"], results["verifier"]) == ("fake-model", "aime24", "math")
    generation = results["generation"]
    assert generation["samples_generated"] == 6 and generation["resumed_samples"] == 0
    tokens = sum(s["output_tokens"] for s in map(json.loads, (tmp_path / "run" / "samples.jsonl").open()))
    assert generation["output_tokens_generated"] == tokens == outcome.output_tokens
    assert generation["wall_time_s"] >= 0 and generation["tokens_per_s"] > 0
    verification = results["verification"]
    assert verification["rules"] == "math" and verification["verified_now"] == 6
    assert verification["symbolic_checks"] >= 0 and verification["waited_after_generation_s"] >= 0
    assert results["metrics"]["n"] == 2 and results["metrics"]["problems"] == 3
    (total, done, info) = starts[0]
    assert (total, done) == (6, 0) and info == {"dataset": "aime24", "run_dir": str(tmp_path / "run"),
                                                "resumed": 0, "to_generate": 6, "to_verify": 0}  # fmt: skip
    assert [p[:2] for p in progress_seen] == [(i, i) for i in range(1, 7)]
    assert isinstance(verification["waited_after_generation_s"], float)  # to the millisecond, not whole seconds
    assert progress_seen[-1][2] == tokens


def test_a_resumed_run_reports_what_it_found_and_what_it_did(aime, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(BackendError):
        go(config(), aime, run_dir, FakeBackend({p.id: p.answer for p in aime.problems}, fail_after=4))
    # A duplicate line, as a copy-paste would leave.
    first = (run_dir / "samples.jsonl").read_text().splitlines()[0]
    with open(run_dir / "samples.jsonl", "a") as handle:
        handle.write(first + "\n")
    verified_before = len((run_dir / "verdicts.jsonl").read_text().splitlines())
    notices, starts = [], []
    outcome = go(config(n=3), aime, run_dir, on_notice=notices.append,
                 on_start=lambda p, info: starts.append((p.total, p.done, p.verified, dict(info))))  # fmt: skip
    assert f"ignored 1 duplicate sample lines in {run_dir / 'samples.jsonl'}" in notices
    assert "this run had n=2; now n=3" in notices
    total, done, verified, info = starts[0]
    assert (total, done, info["resumed"], info["to_generate"]) == (9, 4, 4, 5)
    assert info["to_verify"] == 4 - verified_before  # what was stored and lacks a verdict
    assert outcome.generated == 5 and outcome.results["generation"]["resumed_samples"] == 4
    with Verifier("dapo") as verifier:
        notices.clear()
        run(config(n=3), aime, TEMPLATES["boxed"], lambda: None, run_dir, verifier, on_notice=notices.append)
    assert "verifying the 9 stored samples with rule set dapo (they were verified with math)" in notices


def test_scoring_refuses_samples_without_a_verdict_under_the_rule_set(tmp_path):
    from evalkit.pipeline.run import score_contents
    from evalkit.store import RunContents

    contents = RunContents(tmp_path, (SampleRecord("p", 0, "x", "stop", 1, 1, 1),), {"math": {}})
    with pytest.raises(EvalkitError) as error:
        score_contents(contents, "math", 1, ["p"])
    assert str(error.value) == (
        "1 stored samples have no math verdict yet (e.g. p #0); rerun the same command to verify them"
    )


def test_prompts_for_the_completions_api_are_text_and_chat_prompts_messages(aime):
    template = TEMPLATES["boxed"]
    chat = build_prompts(aime.select(2), template, "chat")
    completions = build_prompts(aime.select(2), template, "completions")
    first = aime.problems[0]
    assert list(chat) == [p.id for p in aime.problems[:2]]
    assert chat[first.id].text is None and chat[first.id].messages == tuple(template.messages(first.question))
    assert completions[first.id].text == template.completion_text(first.question)
    orz = build_prompts(aime.select(1), TEMPLATES["orz"], "chat")  # a completion-style template is text anyway
    assert orz[first.id].text == TEMPLATES["orz"].completion_text(first.question)


def test_a_start_the_settings_refuse_leaves_no_directory_behind(aime, tmp_path):
    backend = FakeBackend(context=100)
    with pytest.raises(EvalkitError, match="exceeds the model's context of 100 tokens; use --max-tokens"):
        go(config(), aime, tmp_path / "new-run", backend)
    assert not (tmp_path / "new-run").exists() and backend.requests == []


# -- what only a run's own bookkeeping decides ------------------------------------------------------------------------


def test_the_interval_resamples_problems_in_the_datasets_order_as_scoring_generations_does(aime, tmp_path):
    # results.json and `evalkit score` of the same samples as a generations file (rescore.py) agree to the last
    # digit only when both take the problems in the dataset's order; AIME's ids sort otherwise (2024-I-10 before -2).
    from evalkit.metrics import compute
    from evalkit.pipeline.run import to_outcome
    from evalkit.store import read_run

    outcome = go(config(n=4, limit=12), aime, tmp_path / "run")
    contents = read_run(tmp_path / "run")
    verdicts = contents.verdicts_for("math")
    outcomes = [to_outcome(r, verdicts[r.key]) for r in contents.samples]
    dataset_order = [p.id for p in aime.problems[:12]]
    assert dataset_order != sorted(dataset_order)
    in_dataset_order = compute(outcomes, n=4, problem_order=dataset_order)
    sorted_order = compute(outcomes, n=4)
    assert in_dataset_order.avg_ci != sorted_order.avg_ci  # the order matters for these samples
    assert outcome.metrics == in_dataset_order
    assert json.loads((tmp_path / "run" / "results.json").read_text())["metrics"] == in_dataset_order.to_dict()


def test_the_engines_life_is_wrapped_in_quiet_engine_with_the_runs_engine_log(aime, tmp_path):
    # The CLI passes a quiet_engine that points the engine's own output at engine.log: the engine must be made,
    # used and closed inside it, and a rerun with nothing missing starts no engine and enters nothing.
    events: list[str] = []

    class Recorded(FakeBackend):
        def close(self) -> None:
            events.append("closed")

    @contextlib.contextmanager
    def quiet(log_path):
        events.append(f"quiet {log_path}")
        yield
        events.append("loud")

    def make():
        events.append("made")
        return Recorded({p.id: p.answer for p in aime.problems})

    with Verifier("math") as verifier:
        run(config(), aime, TEMPLATES["boxed"], make, tmp_path / "run", verifier, quiet_engine=quiet)
        assert events == [f"quiet {tmp_path / 'run' / 'engine.log'}", "made", "closed", "loud"]
        run(config(), aime, TEMPLATES["boxed"], make, tmp_path / "run", verifier, quiet_engine=quiet)
    assert len(events) == 4


def test_the_manifest_keeps_what_the_backend_learned_during_the_run(aime, tmp_path):
    # A backend learns things as it goes (an API's dialect: one sample per request, the token limit's name); the
    # manifest written at the end holds its description then, not the one it had before the first request.
    class Learning(FakeBackend):
        def describe(self):
            return {"kind": "fake", "samples_seen": self.yielded}

    go(config(), aime, tmp_path / "run", backend=Learning({p.id: p.answer for p in aime.problems}))
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["backend"] == {"kind": "fake", "samples_seen": 6}


def test_results_json_prices_the_run_when_prices_are_given(aime, tmp_path):
    outcome = go(config(price_input=2.0, price_output=8.0), aime, tmp_path / "run")
    samples = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").open()]
    tokens_in = sum(s["prompt_tokens"] for s in samples)
    tokens_out = sum(s["output_tokens"] for s in samples)
    assert tokens_in > 0 and tokens_out > 0
    assert outcome.results["cost_usd"] == round((2.0 * tokens_in + 8.0 * tokens_out) / 1e6, 4) > 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["cost_usd"] == outcome.results["cost_usd"]


def test_verdicts_written_inside_sample_lines_by_older_versions_count_under_the_manifests_rule_set(aime, tmp_path):
    # Runs written before verdicts.jsonl existed kept each verdict in its sample line; rerunning one must score those
    # verdicts (here all marked wrong, whatever the text says), not verify the samples again.
    run_dir = tmp_path / "run"
    go(config(), aime, run_dir)
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").open()]
    for sample in samples:
        sample["verdict"] = {"extracted": "0", "correct": False, "error": None}
    (run_dir / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    (run_dir / "verdicts.jsonl").unlink()
    outcome = go(config(), aime, run_dir)
    assert outcome.results["verification"]["verified_now"] == 0 and outcome.generated == 0
    assert outcome.metrics.avg == 0.0


def test_a_run_that_stops_part_way_leaves_a_manifest_naming_its_backend(aime, tmp_path):
    # The manifest is written once the backend is up, before the first sample: a run that dies part way (a server
    # gone, a crash) still says which backend produced the samples already on disk.
    class Named(FakeBackend):
        def describe(self):
            return {"kind": "fake", "base_urls": ["http://gpu-7:8000/v1"]}

    with pytest.raises(BackendError):
        go(config(), aime, tmp_path / "run", Named({p.id: p.answer for p in aime.problems}, fail_after=3))
    assert len((tmp_path / "run" / "samples.jsonl").read_text().splitlines()) == 3
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["backend"] == {"kind": "fake", "base_urls": ["http://gpu-7:8000/v1"]}


def test_the_checkpoint_step_reaches_the_leaderboards_step_column_and_its_training_sweep(aime, tmp_path):
    # A checkpoint's step (from its path, e.g. global_step_120) is what the leaderboard sorts a training run by.
    from dataclasses import replace

    from evalkit.report import leaderboard

    cfg = replace(config(), model="/ckpt/dapo/global_step_120/actor", checkpoint_step=120,
                  labels={"run_name": "/ckpt/dapo/global_step_*/actor"})  # fmt: skip
    go(cfg, aime, tmp_path / "run")
    record = leaderboard.load_run(tmp_path / "run")
    assert record.manifest["checkpoint_step"] == 120
    assert list(leaderboard.build([record], presets=[])["step"]) == [120]
    (points,) = leaderboard.sweep_rows([record], "aime24").values()
    assert [step for step, *_ in points] == [120]


def test_the_progress_counts_each_verdict_once_it_is_in(aime, tmp_path):
    seen = []
    go(config(), aime, tmp_path / "run", on_sample=seen.append)
    assert seen and seen[-1].verified == 6  # every sample verified by the end, counted up, once each


def test_a_resumed_run_verifies_its_unverified_samples_without_saying_the_rule_set_changed(aime, tmp_path):
    # The notice about another rule set is for --verifier changes; samples a crash left without a verdict under the
    # same rule set are verified quietly.
    run_dir = tmp_path / "run"
    with pytest.raises(BackendError):
        go(config(), aime, run_dir, FakeBackend({p.id: p.answer for p in aime.problems}, fail_after=4))
    (run_dir / "verdicts.jsonl").write_text("")
    notices = []
    outcome = go(config(), aime, run_dir, on_notice=notices.append)
    assert outcome.results["verification"]["verified_now"] == 6
    assert not [n for n in notices if "stored samples with rule set" in n], notices


class Reasoning(FakeBackend):
    """A reasoning server: sample 0 thinks in English with Chinese sentences in a separate `reasoning` field, sample 1
    in English inside an inline <think> block with a Chinese answer after it, sample 2 answers in one short line."""

    async def generate(self, requests, sampling):
        english = "We count the ordered pairs one value at a time and then add the counts for every case. " * 3
        chinese = "所以我们需要重新检查一下这个条件，然后把每一种情况都代进去验证。"
        for request in requests:
            pid, answer = request.prompt.problem_id, self.gold[request.prompt.problem_id]
            for offset in range(request.count):
                index = request.first_index + offset
                text, reasoning = {
                    0: (f"The answer is $\\boxed{{{answer}}}$.", english + chinese + english),
                    1: (f"<think>{english}</think>所以答案是 $\\boxed{{{answer}}}$。这个结果我们已经验证过了。", None),
                    2: (f"$\\boxed{{{answer}}}$", None),
                }[index]
                yield Completion(pid, index, text, "stop", 10, 50, request.seed_of(offset), reasoning=reasoning)


def test_results_json_counts_the_samples_whose_reasoning_mixes_languages(aime, shared_data, tmp_path):
    go(config(n=3, limit=2), aime, tmp_path / "run", Reasoning({p.id: p.answer for p in aime.problems}))
    metrics = json.loads((tmp_path / "run" / "results.json").read_text())["metrics"]
    # Sample 0 mixes (its separate reasoning), 1 does not (only the think block counts), 2 is too short to judge.
    assert (metrics["language_judged"], metrics["language_mixed"]) == (4, 2)
    assert metrics["language_pairs"] == {"Latin+Han/Kana": 2}
    samples = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").open()]
    chars = [len(s["text"]) + len(s["reasoning"] or "") for s in samples]
    assert metrics["mean_response_chars"] == pytest.approx(sum(chars) / len(chars))
    # `evalkit score RUN` reads the stored reasoning too.
    from evalkit.pipeline.rescore import generations_to_score, score

    records, data = generations_to_score(tmp_path / "run", None, ds.DataLocations(shared_data, tmp_path / "cache"))
    rescored = score(records, data).metrics
    assert (rescored.language_judged, rescored.language_mixed) == (4, 2)


def test_rerunning_a_run_scored_before_language_mixing_was_measured_adds_it_and_generates_nothing(aime, tmp_path):
    gold = {p.id: p.answer for p in aime.problems}
    go(config(n=3, limit=2), aime, tmp_path / "run", Reasoning(gold))
    path = tmp_path / "run" / "results.json"
    old = json.loads(path.read_text())
    for key in ("language_judged", "language_mixed", "language_pairs", "mean_response_chars"):
        del old["metrics"][key]
    path.write_text(json.dumps(old))
    outcome = go(config(n=3, limit=2), aime, tmp_path / "run", Reasoning(gold, fail_after=0))
    assert outcome.generated == 0
    assert (outcome.results["metrics"]["language_judged"], outcome.results["metrics"]["language_mixed"]) == (4, 2)
    assert json.loads(path.read_text())["metrics"]["language_mixed"] == 2
