"""Leaderboards from real runs (fake backend), scored shared generations and the presets' reported numbers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest
from sample_runs import make_run

from evalkit.data import datasets as ds
from evalkit.data.presets import find_preset, load_presets
from evalkit.errors import EvalkitError
from evalkit.report import leaderboard, publish, tables


def test_rows_carry_their_settings_and_reported_numbers(runs):
    frame = leaderboard.build(runs, "aime24")
    measured = frame[~frame["kind"].str.startswith("reported")]
    assert len(measured) == 10  # 6 runs + 4 scored generation files
    dapo = measured[measured["preset"] == "DAPO-Qwen-32B"].iloc[0]
    assert (dapo["temperature"], dapo["top_p"], dapo["max_tokens"], dapo["n"]) == (1.0, 0.7, 20480, 8)
    assert dapo["verifier"] == "dapo" and dapo["template"] == "dapo" and len(dapo["template_sha"]) == 10
    assert dapo["reported"] == 50.0 and dapo["reported_metric"] == "avg@32"
    assert dapo["difference"] == pytest.approx(dapo["avg"] - 50.0, abs=0.01)
    assert dapo["pass@1"] == pytest.approx(dapo["avg"]) and dapo["pass@8"] >= dapo["pass@1"]
    assert pd.isna(dapo["pass@32"])  # n = 8 does not allow it
    assert dapo["evalkit"] and dapo["family"] == "DAPO" and dapo["kind"] == "measured"
    scored = measured[measured["kind"] == "scored-generations"]
    assert set(scored["model"]) == {"Qwen/Qwen2.5-14B-Instruct", "Qwen/Qwen2.5-Math-7B", "google/gemma-2-27b-it",
                                    "Sky-T1-math-correct-5K-32B-short"}  # fmt: skip
    assert sorted(scored["avg"]) == [6.67, 13.33, 20.0, 20.0]
    reported = frame[frame["kind"] == "reported"]
    r1_7b = reported[reported["model"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"].iloc[0]
    assert (r1_7b["avg"], r1_7b["maj"], r1_7b["n"], r1_7b["temperature"]) == (55.5, 83.3, 64, 0.6)
    assert "2501.12948" in r1_7b["source"]
    ablation = reported[reported["model"].str.contains("naive GRPO")].iloc[0]
    assert ablation["avg"] == 30.0


def test_one_model_under_two_protocols_stays_two_rows(runs_root, shared_data, runs, tmp_path):
    dataset = ds.load("aime24", ds.DataLocations(shared_data, runs_root / "cache"))
    other = make_run(tmp_path, dataset, "org/grpo-baseline", n=4, temperature=1.0)
    frame = leaderboard.build([*runs, leaderboard.load_run(other)], "aime24", include_reported=False)
    rows = frame[frame["model"] == "org/grpo-baseline"]
    assert sorted(rows["temperature"]) == [0.6, 1.0]


def test_sorting_and_family_filters(runs):
    frame = leaderboard.build(runs, "aime24", families=["dapo"])
    assert set(frame["family"]) == {"DAPO"}
    avgs = [v for v in frame["avg"] if not pd.isna(v)]
    assert avgs == sorted(avgs, reverse=True)
    by_model = leaderboard.build(runs, "aime24", sort_by="model", include_reported=False)
    assert list(by_model["model"]) == sorted(by_model["model"])
    with pytest.raises(EvalkitError, match="cannot sort by 'speed'"):
        leaderboard.build(runs, "aime24", sort_by="speed")


def test_csv_round_trips_and_markdown_is_a_github_table(runs):
    frame = leaderboard.build(runs, "aime24")
    back = pd.read_csv(io.StringIO(tables.to_csv(frame)))
    assert list(back.columns) == leaderboard.COLUMNS and len(back) == len(frame)
    markdown = tables.to_markdown(frame).splitlines()
    assert markdown[1].startswith("|---") and len(markdown) == len(frame) + 2
    widths = {line.count("|") - line.count("\\|") for line in markdown}
    assert len(widths) == 1  # every row has as many cells as the header


def test_sweeps_show_accuracy_against_step(runs):
    sweeps = leaderboard.sweep_rows(runs, "aime24")
    assert list(sweeps) == ["ckpt/dapo-run/global_step_*/actor"]
    assert [step for step, *_ in sweeps["ckpt/dapo-run/global_step_*/actor"]] == [40, 80, 120]
    assert "| ckpt/dapo-run/global_step_*/actor | 80 |" in tables.sweep_markdown(sweeps)


def test_html_page_is_self_contained_and_escapes_model_text(runs, tmp_path):
    frame = leaderboard.build(runs, "aime24")
    (path,) = publish.write(frame, runs, "aime24", tmp_path, ["html"])
    page = path.read_text()
    assert "<table" in page and "pass@k against k" in page and "accuracy against training step" in page
    assert "per-problem solve rate" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page  # the hostile answer, shown as text
    assert "<script" not in page.lower()
    for external in ("src=", "<link", "@import", "url("):
        assert external not in page


def test_leaderboard_and_compare_commands(runs_root, tmp_path, data_env):
    env = dict(os.environ)
    result = subprocess.run([sys.executable, "-m", "evalkit", "leaderboard", str(runs_root), "--out", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"aime24.csv", "aime24.md", "aime24.html"}
    assert "10 measured and" in result.stdout
    a, b = runs_root / "DAPO-Qwen-32B", runs_root / "org--grpo-baseline"
    compared = subprocess.run([sys.executable, "-m", "evalkit", "compare", str(a), str(b), "--json"],
                              capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    report = json.loads(compared.stdout)
    assert report["problems"] == 10 and report["ci"]["low"] <= report["difference"] <= report["ci"]["high"]
    assert "temperature 1.0 vs 0.6" in report["protocol_differences"]
    assert isinstance(report["distinguishable"], bool)
    human = subprocess.run([sys.executable, "-m", "evalkit", "compare", str(a), str(b)],
                           capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert "distinguishable from noise at 10 problems" in human.stdout and "runs differ in" in human.stderr


def test_presets_are_complete_and_cited():
    presets = load_presets()
    names = {p.name for p in presets}
    for required in ("DAPO-Qwen-32B", "DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-Qwen-7B",
                     "DeepSeek-R1-Distill-Qwen-14B", "DeepSeek-R1-Distill-Qwen-32B", "DeepSeek-R1-Distill-Llama-8B",
                     "DeepSeek-R1-Distill-Llama-70B", "DAPO-ablation-naive-GRPO", "DeepSeek-R1-Zero-Qwen-32B",
                     "smollm2-135m", "Oat-Zero-7B", "DeepScaleR-1.5B-Preview", "SimpleRL-Zoo-Qwen2.5-32B"):  # fmt: skip
        assert required in names
    for preset in presets:
        assert preset.template and preset.verifier in ("math", "dapo", "strict-int")
        for score in preset.reported:
            assert score.source and 0 < score.value <= 100
    dapo = find_preset("BytedTsinghua-SIA/DAPO-Qwen-32B")
    assert (dapo.template, dapo.temperature, dapo.top_p, dapo.max_tokens, dapo.n, dapo.verifier) == (
        "dapo",
        1.0,
        0.7,
        20480,
        32,
        "dapo",
    )
    distill = find_preset("deepseek-r1-distill-qwen-7b")
    assert (distill.template, distill.temperature, distill.top_p, distill.max_tokens, distill.n) == (
        "r1",
        0.6,
        0.95,
        32768,
        64,
    )
    assert not find_preset("DAPO-ablation-naive-GRPO").runnable
    assert replace(dapo, n=1).n == 1  # presets are plain frozen values
