"""Leaderboards from real runs (fake backend), scored shared generations and the presets' reported numbers."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import GENERATIONS, qwen_harness_result_files
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
    assert "| ckpt/dapo-run/global_step_*/actor | 80 |" in tables.sweep_markdown(
        leaderboard.training_runs(runs, "aime24")
    )


def test_html_page_is_self_contained_and_escapes_model_text(runs, tmp_path):
    frame = leaderboard.build(runs, "aime24")
    samples_dir, path = publish.write(frame, runs, "aime24", tmp_path, ["html"])
    page = path.read_text()
    for section in ("At a glance", "Reported vs re-scored", "Along training", "pass@k", "Per problem", "All rows"):
        assert f">{section}</h2>" in page
    assert "avg@n with 95% intervals" in page and "accuracy against training step" in page
    assert "pass@k against k" in page and "per-problem solve rate" in page
    hostile = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    assert hostile in page  # the hostile answer, shown as text
    # One inline script (sorting and filtering), no other: the page reads the same without it.
    assert page.lower().count("<script") == 1 and "<script>" in page and "innerHTML" not in page
    for external in ("src=", "<link", "@import", "url(", 'href="http', "fetch("):
        assert external not in page  # nothing is loaded from anywhere
    # Every run's samples page exists, is linked from the table, and shows the hostile text as text too.
    pages = sorted(samples_dir.glob("*.html"))
    assert len(pages) == 10
    for sample_page in pages:
        assert f'href="aime24-samples/{sample_page.name}"' in page
        assert f'href="aime24-samples/{sample_page.name}#p-2024-I-1"' in page  # a heatmap cell opens its problem
        assert 'id="p-2024-I-1"' in sample_page.read_text()
    (hostile_page,) = [p for p in pages if "hostile" in p.name]
    text = hostile_page.read_text()
    assert hostile in text and text.lower().count("<script") == 1
    assert "src=" not in text and 'href="http' not in text and "url(" not in text


def test_leaderboard_and_compare_commands(runs_root, tmp_path, data_env):
    env = dict(os.environ)
    result = subprocess.run([sys.executable, "-m", "evalkit", "leaderboard", str(runs_root), "--out", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"aime24.csv", "aime24.md", "aime24.html", "aime24-samples"}
    assert "6 measured, 4 scored-generations)" in result.stdout
    a, b = runs_root / "DAPO-Qwen-32B", runs_root / "org--grpo-baseline"
    compared = subprocess.run([sys.executable, "-m", "evalkit", "compare", str(a), str(b), "--json"],
                              capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    report = json.loads(compared.stdout)
    assert report["problems"] == 10 and report["ci"]["low"] <= report["difference"] <= report["ci"]["high"]
    assert "temperature 1.0 vs 0.6" in report["protocol_differences"]
    distinguishable = report["ci"]["low"] > 0 or report["ci"]["high"] < 0
    assert report["distinguishable"] is distinguishable
    human = subprocess.run([sys.executable, "-m", "evalkit", "compare", str(a), str(b)],
                           capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    # The verdict line says exactly what the interval says ("NOT distinguishable" also contains "distinguishable").
    verdict = "distinguishable" if distinguishable else "NOT distinguishable"
    assert f"→ {verdict} from noise at 10 problems" in human.stdout and "runs differ in" in human.stderr


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
    with pytest.raises(dataclasses.FrozenInstanceError):
        dapo.n = 1  # presets are frozen values: a run cannot change them for the next one


# ---------------------------------------------------------------------------------------------------------------
# imported runs on the leaderboard: their own kind, the source's reported number, the checkpoint sweep

PUBLISHED = GENERATIONS / "published"
SWEEP = PUBLISHED / "qwen25-math-outputs" / "icml_models"
# The runs imported below, counted from what the folders hold (the shared data grows).
IMPORTED_RUNS = len(qwen_harness_result_files(SWEEP)) + 1 + len(list((PUBLISHED / "skythought-tools").iterdir()))


@pytest.fixture(scope="module")
def imported_root(shared_data, tmp_path_factory):
    from evalkit.importers import import_outputs

    root = tmp_path_factory.mktemp("imported-runs")
    data = ds.load("aime24", ds.DataLocations(shared_data, root / "cache"), allow_download=False)
    import_outputs([SWEEP], data, root / "imported", family="SFT")
    import_outputs([PUBLISHED / "peer-formats" / "lm-eval"], data, root / "imported")
    import_outputs([PUBLISHED / "skythought-tools"], data, root / "imported", family="instruct")
    return root


def test_imported_rows_carry_the_source_numbers_and_keep_csv_columns(imported_root, runs):
    imported = leaderboard.load_runs([imported_root])
    frame = leaderboard.build([*runs, *imported], "aime24")
    rows = frame[frame["kind"] == "imported"]
    # One row per run the imported folders hold: each Qwen2.5-Math result file, the lm-eval run, each tool file.
    assert len(rows) == IMPORTED_RUNS
    lm = rows[rows["model"] == "fake"].iloc[0]
    assert (lm["reported"], lm["reported_metric"], lm["difference"]) == (40.0, "exact_match,none (source)", 6.67)
    assert lm["n"] == 1 and lm["notes"] == "repeated samples were one text"
    assert lm["source"].startswith("lm-evaluation-harness 0.4.13: ") and lm["source"].endswith(".jsonl")
    sweep = rows[rows["step"].notna()].sort_values("step")
    assert list(sweep["step"]) == [21, 35, 49, 63, 70, 84, 98, 105, 119, 133] and set(sweep["family"]) == {"SFT"}
    assert set(sweep["difference"]) == {0.0} and set(sweep["run_name"]) == {
        "Sky-T1-math-correct-5K-32B-ckpts/checkpoint-*"}  # fmt: skip
    back = pd.read_csv(io.StringIO(tables.to_csv(frame)))
    for column in ("model", "kind", "avg", "reported", "difference", "step", "run_name", "source", "run"):
        assert column in back.columns  # people's scripts read these names
    assert list(back.columns) == leaderboard.COLUMNS
    compared = tables.reported_vs_rescored_markdown(frame)
    assert "| fake | imported | exact_match,none (source) | 40.0 | 46.7 | +6.7 | repeated samples were one text |" in (
        compared)  # fmt: skip


def test_sweep_of_ten_checkpoints_is_a_curve_with_bands_and_hours(imported_root, tmp_path):
    from evalkit.report.html import page
    from evalkit.report.trainlog import read_train_logs

    imported = leaderboard.load_runs([imported_root])
    frame = leaderboard.build(imported, "aime24", include_reported=False)
    sweeps = leaderboard.sweep_rows(imported, "aime24")
    (name,) = sweeps
    assert len(sweeps[name]) == 10
    log = tmp_path / "train.csv"
    log.write_text("step,hours,gpu_hours\n" + "".join(f"{s},{s / 10},{s * 0.8}\n" for s, *_ in sweeps[name]))
    logs = read_train_logs([str(log)], list(sweeps))
    html = page(frame, imported, "aime24", logs)
    assert "accuracy against training step" in html and "accuracy against training hours" in html
    assert "accuracy against GPU hours" in html and "10 checkpoints" in html
    chart = html.split("accuracy against training step", 1)[1].split("</svg>", 1)[0]
    assert chart.count("<circle") == 10 and chart.count("<polygon") == 1  # ten points and their interval band
    without = page(frame, imported, "aime24")
    assert "accuracy against training hours" not in without and "--train-log" in without
    # Every imported run is in the reported-vs-re-scored table, one whose source wrote no number too.
    compared = without.split('id="reported"', 1)[1].split("</section>", 1)[0]
    assert compared.count("<tr>") == IMPORTED_RUNS + 1
    assert "no number written; its own verdicts give 20.0" in compared


def test_train_logs_are_checked(tmp_path):
    from evalkit.report.trainlog import read_train_logs

    good = tmp_path / "good.csv"
    good.write_text("step,hours\n10,1.5\n20,3\n")
    assert [c.step for c in read_train_logs([str(good)], ["a/step_*"])["a/step_*"]] == [10, 20]
    assert read_train_logs([f"b/step_*={good}"], ["a/step_*", "b/step_*"])["b/step_*"][1].hours == 3.0
    named = tmp_path / "named.csv"
    named.write_text("run_name,step,hours,gpu_hours\na/step_*,10,1,8\nb/step_*,10,2,16\n")
    both = read_train_logs([str(named)], ["a/step_*", "b/step_*"])
    assert (both["a/step_*"][0].gpu_hours, both["b/step_*"][0].hours) == (8.0, 2.0)
    with pytest.raises(EvalkitError, match="pass --train-log RUN_NAME="):
        read_train_logs([str(good)], ["a/step_*", "b/step_*"])
    with pytest.raises(EvalkitError, match="no sweep is named 'c'"):
        read_train_logs([f"c={good}"], ["a/step_*"])
    bad = tmp_path / "bad.csv"
    bad.write_text("step,minutes\n10,3\n")
    with pytest.raises(EvalkitError, match="needs `step` and `hours` columns"):
        read_train_logs([str(bad)], ["a/step_*"])
    bad.write_text("step,hours\n10,three\n")
    with pytest.raises(EvalkitError, match=r"bad.csv:2: hours 'three' is not a number"):
        read_train_logs([str(bad)], ["a/step_*"])


def test_readme_section_lists_reported_vs_rescored_and_the_sweep(imported_root, runs, tmp_path):
    imported = leaderboard.load_runs([imported_root])
    frame = leaderboard.build([*runs, *imported], "aime24")
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{tables.README_START}\nold\n{tables.README_END}\n\nafter\n")
    tables.update_readme(readme, frame, "aime24", [*runs, *imported])
    text = readme.read_text()
    assert "old" not in text and text.endswith(f"{tables.README_END}\n\nafter\n")
    rows = [line for line in text.splitlines() if line.startswith("| ") and " | model | " not in f" {line}"]
    # The best rows evalkit scored, not the papers' numbers above them.
    scored = frame[~frame["kind"].str.startswith("reported")].sort_values("avg", ascending=False, kind="stable")
    assert [row.split(" | ")[0][2:] for row in rows] == list(scored["model"][: tables.README_ROWS])
    assert frame["avg"].max() > scored["avg"].max() and len(scored) > tables.README_ROWS
    both = scored[scored["reported"].notna()]
    assert len(both) > 10 and f"Reported vs re-scored: {len(both)} rows evalkit scored also carry a reported" in text
    # The fake runs differ from the papers' numbers; of the imported runs only lm-eval's, which scored the first of
    # 16 identical repeats and reports 40.0 where evalkit reads 46.7 off the same texts.
    differ = (both["difference"].abs() >= 0.05).sum()
    assert differ > 1 and f"evalkit's number differs from the reported one on {differ} of them, by at most " in text
    sweep = "- `Sky-T1-math-correct-5K-32B-ckpts/checkpoint-*`: 10 checkpoints, steps 21–133, avg@n 26.7–40.0"
    assert f"{sweep} (best 40.0 at step 133)" in text


def test_show_command_prints_samples(imported_root, data_env):
    run_dir = next(p for p in (imported_root / "imported").iterdir() if "checkpoint-63_" in p.name)
    env = dict(os.environ)
    table = subprocess.run([sys.executable, "-m", "evalkit", "show", str(run_dir)], capture_output=True, text=True,
                           env=env, timeout=120)  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "imported" in table.stdout and "reported 26.7 (acc)" in table.stdout
    assert "2024-I-1 " in table.stdout and "✓204" in table.stdout and "✗2" in table.stdout  # the source's answer
    wrong = subprocess.run([sys.executable, "-m", "evalkit", "show", str(run_dir), "--wrong"], capture_output=True,
                           text=True, env=env, timeout=120)  # fmt: skip
    assert "2024-I-1 " not in wrong.stdout and "2024-I-3 " in wrong.stdout
    full = subprocess.run([sys.executable, "-m", "evalkit", "show", str(run_dir), "--problem", "2024-I-3"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert "problem 2024-I-3 (gold 809)" in full.stdout and "sample 0: wrong · answer (none)" in full.stdout
    assert "source: wrong · answer 2" in full.stdout and len(full.stdout) > 20_000  # the response in full
    missing = subprocess.run([sys.executable, "-m", "evalkit", "show", str(run_dir), "--problem", "2030-I-1"],
                             capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert missing.returncode == 2 and "has no problem '2030-I-1'" in missing.stderr


def test_cli_stays_light():
    # `evalkit --help` must start at once: the CLI module imports no reader, no pandas, no pyarrow.
    probe = "import sys, evalkit.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
            "('pandas', 'pyarrow', 'numpy', 'zstandard') or m.startswith('evalkit.importers')))"  # fmt: skip
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    from evalkit.cli import IMPORT_FORMATS
    from evalkit.importers import FORMATS

    assert tuple(FORMATS) == IMPORT_FORMATS


def test_samples_page_of_a_huge_run_stays_openable():
    from evalkit.report.samples_page import shown_text

    text = "start " + "x" * 50_000 + " \\boxed{7}"
    shown = shown_text(text, 4_000, "evalkit show run --problem 2024-I-1")
    assert len(shown) < 4_200 and shown.startswith("start ") and shown.endswith("\\boxed{7}")
    assert "characters left out here; evalkit show run --problem 2024-I-1 prints it whole" in shown
    assert shown_text("short", 4_000, "x") == "short"
