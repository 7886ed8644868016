"""What a run reports (evalkit/pipeline/run.py): results.json's generation and verification blocks, the progress the
caller sees, the notices a resumed run gives, prompts for the completions API, and a refused start that leaves
nothing behind."""

from __future__ import annotations

import json

import pytest
from fake_backend import FakeBackend

from evalkit.backends.base import BackendError
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
