"""README claims about the command line that no other test pins, each checked through the CLI itself (in process):
run defaults and the run directory's name, `--api completions`, `--api-key-env`, `--limit` and `-n` extending a
run, `evalkit score RUN_DIR` and `score --save`, `presets list | show`, and the leaderboard's options."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pytest
import typer.testing
from fake_openai_server import ServerState, serve

from evalkit import cli
from evalkit.config import identity, identity_sha256
from evalkit.errors import EvalkitError
from evalkit.pipeline import launch


def invoke(*argv: str, env: dict[str, str] | None = None) -> typer.testing.Result:
    return typer.testing.CliRunner().invoke(cli.app, [str(a) for a in argv], env=env)


def ok(result: typer.testing.Result) -> str:
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.output


@pytest.fixture
def prepared_runs(monkeypatch, data_env, tmp_path) -> list:
    """`evalkit run` up to the point where an engine would start; what it prepared is recorded."""
    seen: list = []

    def execute(prepared, view, workers, verify_timeout, wait_for_lock=False):
        seen.append(prepared)
        raise EvalkitError("stopped before the engine")

    monkeypatch.setattr(launch, "execute", execute)
    monkeypatch.chdir(tmp_path)
    return seen


def test_run_defaults_are_the_readmes(prepared_runs):
    # README: "`evalkit run MODEL [--backend vllm|openai] [--dataset aime24] [-n 32] [--template dapo]
    # [--temperature 0.6] [--top-p 0.95] [--max-tokens 32768] [--seed 0] [--limit N] [--output-dir runs/]`".
    invoke("run", "my/model")
    (prepared,) = prepared_runs
    config = prepared.config
    assert (config.backend.kind, config.dataset, config.template, config.limit) == ("vllm", "aime24", "dapo", None)
    sampling = config.sampling
    assert (sampling.n, sampling.temperature, sampling.top_p, sampling.max_tokens, sampling.seed) == (
        32, 0.6, 0.95, 32768, 0
    )  # fmt: skip
    assert prepared.verifier == "math" and len(prepared.dataset.problems) == 30
    assert prepared.run_dir.parent == Path("runs")
    # README (the openai backend): concurrency, timeouts and retries as documented.
    backend = config.backend
    assert (backend.concurrency, backend.idle_timeout, backend.request_timeout, backend.api_key_env) == (
        64, 300.0, 3600.0, "OPENAI_API_KEY"
    )  # fmt: skip


def test_the_run_directory_is_named_dataset_model_template_hash(prepared_runs):
    # README: "Each configuration gets a run directory under `--output-dir`
    # (`runs/<dataset>__<model>__<template>__<hash>`, ...), or exactly `--run-dir`".
    invoke("run", "org/My Model", "--template", "r1", "-n", "4")
    invoke("run", "org/My Model", "--template", "r1", "-n", "4", "--temperature", "0.7")
    invoke("run", "org/My Model", "--template", "r1", "-n", "4", "--run-dir", "elsewhere/mine")
    first, warmer, chosen = prepared_runs
    ident = identity(first.config, first.dataset.content_sha256, first.template.sha256)
    assert first.run_dir == Path("runs") / f"aime24__org--My-Model__r1__{identity_sha256(ident)[:10]}"
    assert re.fullmatch(r"aime24__org--My-Model__r1__[0-9a-f]{10}", first.run_dir.name)
    assert warmer.run_dir != first.run_dir and warmer.run_dir.name.startswith("aime24__org--My-Model__r1__")
    assert chosen.run_dir == Path("elsewhere/mine")


def run_args(url: str, out: Path, *extra: str) -> list[str]:
    return ["run", "fake-model", "--backend", "openai", "--base-url", url, "--output-dir", str(out),
            "--max-tokens", "64", "--template", "boxed", *extra]  # fmt: skip


def only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_api_completions_sends_the_prompt_as_text_without_a_chat_template(data_env, tmp_path):
    # README: "`--api completions` runs base models without a chat template."
    state = ServerState()
    with serve(state) as url:
        ok(invoke(*run_args(url, tmp_path, "--api", "completions", "--limit", "2", "-n", "2")))
    assert state.requests >= 2
    for body in state.bodies:
        assert "messages" not in body and isinstance(body["prompt"], str)
        assert body["prompt"].startswith("Please reason step by step") or "\\boxed{}" in body["prompt"]
    manifest = json.loads((only_run_dir(tmp_path) / "manifest.json").read_text())
    assert manifest["backend"]["api"] == "completions" and manifest["config"]["backend"]["api"] == "completions"
    assert len(lines(only_run_dir(tmp_path) / "samples.jsonl")) == 4


def test_api_key_env_names_where_the_key_is_read_and_it_is_never_written(data_env, tmp_path):
    # README: "The API key is read from the environment (`OPENAI_API_KEY`, or the variable named by `--api-key-env`)
    # and never written to disk or logs".
    state = ServerState()
    env = {"OPENAI_API_KEY": "sk-not-this-one", "MY_PROVIDER_KEY": "sk-provider-secret-42"}
    with serve(state) as url:
        result = invoke(*run_args(url, tmp_path, "--api-key-env", "MY_PROVIDER_KEY", "--limit", "1", "-n", "1"),
                        env=env)  # fmt: skip
    output = ok(result)
    assert set(state.seen_auth) == {"Bearer sk-provider-secret-42"}
    run_dir = only_run_dir(tmp_path)
    for path in run_dir.iterdir():
        assert "sk-provider-secret-42" not in path.read_text(errors="replace"), path
    assert "sk-provider-secret-42" not in output
    assert json.loads((run_dir / "manifest.json").read_text())["backend"]["api_key_env"] == "MY_PROVIDER_KEY"


def test_no_limit_and_a_larger_n_extend_the_run_in_place(data_env, tmp_path):
    # README: "A larger `-n` or no `--limit` extends the run." and "only the missing (problem, sample) pairs are
    # generated, never a duplicate".
    state = ServerState()
    with serve(state) as url:
        ok(invoke(*run_args(url, tmp_path, "--limit", "2", "-n", "2")))
        run_dir = only_run_dir(tmp_path)
        first = {(s["problem_id"], s["sample_index"]): s["text"] for s in lines(run_dir / "samples.jsonl")}
        asked_before = state.requests
        ok(invoke(*run_args(url, tmp_path, "--limit", "4", "-n", "2")))
        assert only_run_dir(tmp_path) == run_dir  # the same run, extended
        asked_limit = state.requests - asked_before
        ok(invoke(*run_args(url, tmp_path, "--limit", "4", "-n", "3")))
    samples = lines(run_dir / "samples.jsonl")
    keys = [(s["problem_id"], s["sample_index"]) for s in samples]
    assert len(keys) == len(set(keys)) == 12  # 4 problems x 3 samples, no duplicate
    assert {k: t for k, t in ((k, s["text"]) for k, s in zip(keys, samples)) if k in first} == first
    assert asked_limit == 2  # one request per new problem, nothing asked again for the first two
    assert sorted(k[1] for k in keys[8:]) == [2, 2, 2, 2]  # the third sample of each problem, drawn last
    results = json.loads((run_dir / "results.json").read_text())
    assert results["metrics"]["n"] == 3 and results["metrics"]["problems"] == 4


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_score_run_dir_verifies_the_stored_samples_again_and_changes_nothing(data_env, tmp_path):
    # README: "evalkit score runs/aime24__...   --verifier strict-int      # verify a run's stored samples again".
    state = ServerState()
    with serve(state) as url:
        ok(invoke(*run_args(url, tmp_path, "--limit", "3", "-n", "2")))
    run_dir = only_run_dir(tmp_path)
    before = snapshot(run_dir)
    asked = state.requests
    scored = json.loads(ok(invoke("score", run_dir, "--verifier", "strict-int", "--json")))
    assert scored["verifier"] == "strict-int" and scored["metrics"]["n"] == 2 and scored["metrics"]["problems"] == 3
    assert len(scored["samples"]) == 6
    assert snapshot(run_dir) == before and state.requests == asked  # nothing generated, nothing written
    table = ok(invoke("score", run_dir))
    assert run_dir.name in table and "avg@2" in table


def test_score_save_writes_a_run_that_the_leaderboard_shows(data_env, generation_files, tmp_path):
    # README: "`--save DIR` writes the scored file as a run directory (marked as scored from existing generations,
    # with `--origin`) so it can appear on leaderboards."
    source = generation_files[0]
    saved = tmp_path / "saved"
    output = ok(invoke("score", source, "--dataset", "aime24", "--save", saved, "--origin", "my eval, Nov 2026",
                       "--temperature", "0", "--template-name", "qwen25-math-cot"))  # fmt: skip
    assert f"saved as a scored run in {saved}" in output.replace("\n", "")
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["kind"] == "scored-generations" and manifest["origin"] == "my eval, Nov 2026"
    ok(invoke("leaderboard", saved, "--out", tmp_path / "tables", "--format", "csv", "--no-reported"))
    (row,) = list(csv.DictReader((tmp_path / "tables" / "aime24.csv").open()))
    assert row["kind"] == "scored-generations" and row["template"] == "qwen25-math-cot" and row["source"]
    with pytest.raises(AssertionError):
        ok(invoke("score", saved, "--save", tmp_path / "again"))  # --save takes a generations file


def test_presets_list_and_show(tmp_path):
    # README: "`evalkit presets list | show NAME`: known checkpoints with their paper's protocol and reported AIME
    # 2024 numbers, each cited" and "Where sources disagree, the preset says so (`evalkit presets show DAPO-Qwen-32B`)".
    listing = ok(invoke("presets", "list"))
    for name in ("DAPO-Qwen-32B", "DeepSeek-R1-Distill-Qwen-7B", "smollm2-135m", "deepseek-reasoner"):
        assert name in listing
    shown = ok(invoke("presets", "show", "DAPO-Qwen-32B"))
    assert "protocol: template dapo · temperature 1 · top-p 0.7 · max tokens 20480 · n 32 · verifier dapo" in shown
    assert "reported aime24 avg@32 = 50" in shown and "source: arXiv 2503.14476" in shown
    assert "notes: Max tokens: 20480 in the README's eval command" in shown  # the sources' disagreement, said
    hosted = ok(invoke("presets", "show", "deepseek-reasoner"))
    assert "DEEPSEEK_API_KEY" in hosted and "https://api.deepseek.com" in hosted
    result = invoke("presets", "show", "no-such-preset")
    assert isinstance(result.exception, EvalkitError) and "no-such-preset" in str(result.exception)


def table_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


def test_leaderboard_options_do_what_the_readme_says(runs_root, data_env, tmp_path):
    # README: "evalkit leaderboard [RUN_DIR ...] [--dataset aime24] [--format csv|md|html] [--out leaderboards/]
    # [--family DAPO --family GRPO] [--sort avg] [--no-reported] [--train-log ...] [--no-samples]".
    out = tmp_path / "all"
    ok(invoke("leaderboard", runs_root, "--out", out, "--no-samples"))
    assert sorted(p.name for p in out.iterdir()) == ["aime24.csv", "aime24.html", "aime24.md"]  # no samples pages
    rows = table_rows(out / "aime24.csv")
    assert {"measured", "scored-generations"} <= {r["kind"] for r in rows}
    assert any(r["kind"].startswith("reported") for r in rows)  # published numbers by default
    averages = [float(r["avg"]) for r in rows if r["avg"]]
    assert averages == sorted(averages, reverse=True)  # --sort avg by default, best first

    only_md = tmp_path / "md"
    ok(invoke("leaderboard", runs_root, "--out", only_md, "--format", "md", "--no-reported"))
    assert [p.name for p in only_md.iterdir()] == ["aime24.md"]
    first_table = (only_md / "aime24.md").read_text().split("\n\n")[0].splitlines()[2:]
    kinds = [line.split(" | ")[2] for line in first_table]
    assert kinds and not any(kind.startswith("reported") for kind in kinds)  # no published-number row

    families = tmp_path / "families"
    ok(invoke("leaderboard", runs_root, "--out", families, "--format", "csv", "--family", "DAPO", "--family", "GRPO"))
    assert {r["family"] for r in table_rows(families / "aime24.csv")} == {"DAPO", "GRPO"}

    by_n = tmp_path / "by-n"
    ok(invoke("leaderboard", runs_root, "--out", by_n, "--format", "csv", "--sort", "n", "--no-reported"))
    ns = [int(float(r["n"])) for r in table_rows(by_n / "aime24.csv")]
    assert ns == sorted(ns, reverse=True) and len(set(ns)) > 1

    log = tmp_path / "steps.csv"
    log.write_text("step,hours,gpu_hours\n40,1.5,12\n80,3.0,24\n120,4.5,36\n")
    hours = tmp_path / "hours"
    ok(invoke("leaderboard", runs_root, "--out", hours, "--format", "html", "--train-log", log, "--no-samples"))
    page = (hours / "aime24.html").read_text()
    assert "accuracy against training hours" in page and "accuracy against GPU hours" in page

    other = invoke("leaderboard", runs_root, "--out", tmp_path / "x", "--dataset", "math500")
    assert other.exit_code != 0 or "no runs" in other.output.lower()


def test_the_end_of_run_table_gives_what_the_readme_lists(data_env, tmp_path):
    # README: "at the end a table gives avg@n with its 95% interval, pass@k for k = 1, 2, 4, … n, maj@n, truncation
    # rate, mean output tokens, wall time and tokens/s, and the run directory".
    state = ServerState()
    with serve(state) as url:
        output = ok(invoke(*run_args(url, tmp_path, "--limit", "2", "-n", "4")))
    for row in ("avg@4", "95% CI", "pass@1", "pass@2", "pass@4", "maj@4", "truncated", "mean output tokens",
                "wall time", "tokens/s"):  # fmt: skip
        assert row in output, row
    assert "pass@3" not in output
    assert only_run_dir(tmp_path).name[:20] in output.replace("\n", "").replace(" ", "")


def test_templates_are_the_ones_the_readme_describes():
    # README: "Prompt templates (named, versioned, hashed into the run): `dapo` (DAPO's prompt, last line `Answer:
    # $Answer`), `r1` (... no system prompt, "Please reason step by step, and put your final answer within
    # \boxed{}.", the response starts with `<think>\n`), `boxed` (the boxed directive as the system prompt), ...,
    # `orz` (Open-Reasoner-Zero's completion prompt), `plain`".
    from evalkit.data.prompts import TEMPLATES

    directive = "Please reason step by step, and put your final answer within \\boxed{}."
    assert set(TEMPLATES) == {"dapo", "r1", "boxed", "qwen-boxed", "orz", "plain"}
    dapo = TEMPLATES["dapo"].messages("What is 1+1?")
    assert dapo[-1]["role"] == "user" and "Answer: $Answer" in dapo[-1]["content"] and "What is 1+1?" in dapo[-1][
        "content"]  # fmt: skip
    assert TEMPLATES["r1"].messages("Q") == [{"role": "user", "content": f"Q\n{directive}"}]
    assert TEMPLATES["r1"].assistant_prefix == "<think>\n"
    assert TEMPLATES["boxed"].messages("Q") == [{"role": "system", "content": directive}, {"role": "user",
                                                                                          "content": "Q"}]  # fmt: skip
    assert TEMPLATES["orz"].completion and "Q" in TEMPLATES["orz"].completion_text("Q")
    assert TEMPLATES["plain"].messages("Q") == [{"role": "user", "content": "Q"}]
    hashes = {t.sha256 for t in TEMPLATES.values()}
    assert len(hashes) == len(TEMPLATES) and all(len(h) == 64 for h in hashes)


def test_equivalent_answers_vote_together():
    # README: "maj@k: majority vote over extracted answers (equivalent answers vote together; ties go to the answer
    # given first)".
    from evalkit.metrics import majority_vote
    from evalkit.pipeline.rescore import sample_outcome

    answers = ["7", "025", "25", "\\boxed{25}"]
    outcomes = [sample_outcome("p", i, a, a != "7", None, "stop", 10) for i, a in enumerate(answers)]
    assert len({o.vote for o in outcomes[1:]}) == 1 and outcomes[0].vote != outcomes[1].vote
    assert majority_vote(outcomes).correct  # three ways of writing 25 outvote the 7 given first
    cut = sample_outcome("p", 0, None, False, "timeout", "length", 5)
    assert cut.vote is None and cut.truncated is True and cut.error is False  # no answer: no vote, no error


def test_the_progress_bar_shows_samples_done_tokens_per_second_and_eta():
    # README: "A progress bar shows samples done, tokens/s and ETA".
    import io

    from rich.console import Console

    from evalkit.pipeline.run import RunProgress
    from evalkit.report.terminal import RunProgressView

    console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
    view = RunProgressView(console)
    state = RunProgress(total=40, done=10)
    view.started(state, {"dataset": "aime24", "resumed": 10, "to_generate": 30, "run_dir": "runs/x"})
    state.done, state.generated, state.output_tokens = 25, 15, 3000
    state.started -= 10.0  # ten seconds in: 300 tok/s
    view.sampled(state)
    view.progress.refresh()
    view.stopped()
    text = console.file.getvalue()
    assert "resuming runs/x: 10 samples on disk, 30 to go" in text
    assert "25/40 samples" in text and "tok/s" in text and "ETA" in text
    assert re.search(r"\b(29\d|30\d)\.\d tok/s", text)


def test_every_test_the_promise_table_names_exists():
    """The table of what a run promises (docs/runs.md, linked from the README) names the tests that pin each promise;
    a renamed or deleted test would leave a promise pinned by nothing while the table still claims it."""
    runs_doc = (Path(__file__).resolve().parents[1] / "docs" / "runs.md").read_text()
    after = runs_doc.split("\n## What a run promises, and the test that breaks when it does\n", 1)[1]
    table = [line for line in after.split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    assert table[0] == "| Promise | Test |" and len(table) >= 2 + 17
    named = 0
    for row in table[2:]:
        current = None
        for reference in re.findall(r"`([^`]+)`", row.rsplit("|", 2)[1]):
            file, _, test = reference.partition("::")
            if not (file.endswith(".py") or test):
                continue  # a command or an option, not a test
            if file:
                current = file
            if not test:
                assert (Path(__file__).parent / file).is_file(), reference
                continue
            assert current, f"{reference} names no test file"
            source = (Path(__file__).parent / current).read_text()
            assert re.search(rf"^(async )?def {re.escape(test)}\(", source, re.M), f"{current}::{test} does not exist"
            named += 1
    assert named >= 25
