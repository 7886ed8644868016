"""--trained-reward: the rule a checkpoint was trained on reaches the manifest of a run, a scored file and an import,
and the leaderboard says whether the row was judged by that rule."""

from __future__ import annotations

import json

import pytest
import typer.testing
from conftest import GENERATIONS
from sample_runs import make_run

from evalkit import cli
from evalkit.data import datasets as ds
from evalkit.report import leaderboard, tables

PUBLISHED = GENERATIONS / "published" / "qwen25-math-outputs" / "meta-llama"


def invoke(*argv: str):
    return typer.testing.CliRunner().invoke(cli.app, [str(a) for a in argv])


def row_of(run_dir):
    frame = leaderboard.build(leaderboard.load_runs([run_dir]), "aime24", include_reported=False)
    assert len(frame) == 1
    return frame, frame.to_dict("records")[0]


@pytest.mark.parametrize(
    "verifier, judged, text", [("dapo", True, "dapo (= verifier)"), ("math", False, "dapo (≠ math)")]
)
def test_a_scored_file_says_whether_it_was_judged_by_the_rule_it_was_trained_on(
    data_env, tmp_path, verifier, judged, text
):
    save = tmp_path / "scored"
    generations = GENERATIONS / "aime24_Qwen_Qwen2.5-Math-7B.jsonl"
    done = invoke("score", generations, "--save", save, "--verifier", verifier, "--trained-reward", "dapo")
    assert done.exit_code == 0, done.output
    assert json.loads((save / "manifest.json").read_text())["labels"]["trained_reward"] == "dapo"
    frame, row = row_of(save)
    assert (row["trained_reward"], row["judged_by_trained_reward"], row["verifier"]) == ("dapo", judged, verifier)
    csv = tables.to_csv(frame)
    assert csv.splitlines()[0].split(",")[18:20] == ["trained_reward", "judged_by_trained_reward"]
    assert f",dapo,{judged}," in csv
    markdown = tables.to_markdown(frame)
    assert "| trained reward |" in markdown.splitlines()[0] and f"| {text} |" in markdown


def test_a_run_records_the_rule_it_was_trained_on_and_a_row_without_one_shows_nothing(data_env, tmp_path):
    dataset = ds.load("aime24", ds.DataLocations.from_env())
    trained = make_run(tmp_path, dataset, "org/dapo-checkpoint", n=2, trained_reward="dapo", verifier="math")
    plain = make_run(tmp_path, dataset, "org/plain", n=2)
    assert json.loads((trained / "manifest.json").read_text())["labels"]["trained_reward"] == "dapo"
    assert "trained_reward" not in json.loads((plain / "manifest.json").read_text())["labels"]
    frame = leaderboard.build(leaderboard.load_runs([tmp_path]), "aime24", include_reported=False)
    cells = {r["model"]: r["trained_reward_text"] for r in tables.display_rows(frame)}
    assert cells == {"org/dapo-checkpoint": "dapo (≠ math)", "org/plain": ""}


def test_imported_runs_carry_the_rule_they_were_trained_on(data_env, tmp_path):
    done = invoke("import", PUBLISHED, "--output-dir", tmp_path, "--trained-reward", "math-verify")
    assert done.exit_code == 0, done.output
    manifests = [json.loads(p.read_text()) for p in tmp_path.glob("*/manifest.json")]
    assert manifests and all(m["labels"]["trained_reward"] == "math-verify" for m in manifests)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["score", "{generations}", "--trained-reward", "dapo"], "--trained-reward labels the run that --save DIR"),
        (["score", "{generations}", "--save", "{out}", "--trained-reward", "da po"], "is not a rule name"),
        (["score", "{generations}", "--save", "{out}", "--trained-reward", ""], "is not a rule name"),
        (["import", "{generations}", "--trained-reward", "x" * 65], "is not a rule name"),
        (["run", "m", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--trained-reward", "a\nb"],
         "is not a rule name"),
    ],
)  # fmt: skip
def test_a_label_that_is_no_rule_name_is_refused_in_one_line(data_env, tmp_path, argv, message):
    places = {"generations": str(GENERATIONS / "aime24_Qwen_Qwen2.5-Math-7B.jsonl"), "out": str(tmp_path / "out")}
    done = invoke(*[a.format(**places) if "{" in a else a for a in argv])
    assert isinstance(done.exception, Exception) and message in str(done.exception)
    assert not (tmp_path / "out").exists()
