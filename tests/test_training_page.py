"""Along training: checkpoints grouped into training runs (evalkit/report/leaderboard.py), hours from train logs or
write times and the paired comparisons of checkpoints (evalkit/report/training.py), and the page's section that draws
them (evalkit/report/training_page.py), on two synthetic runs from one base and on the real ten-checkpoint Sky-T1
sweep imported from its published outputs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import GENERATIONS
from training_sweeps import FIRST_WRITE, build_sweeps

from evalkit.data import datasets as ds
from evalkit.errors import EvalkitError
from evalkit.metrics import ProblemScore, paired_comparison
from evalkit.report import leaderboard, publish, tables, training, training_page
from evalkit.report.html import page
from evalkit.report.svg import PALETTE
from evalkit.report.trainlog import StepCost

DAPO, GRPO = "/ckpt/qwen-7b-dapo/global_step_*/actor", "/ckpt/qwen-7b-grpo/global_step_*/actor"
SKY = "Sky-T1-math-correct-5K-32B-ckpts/checkpoint-*"
SKY_STEPS = [21, 35, 49, 63, 70, 84, 98, 105, 119, 133]


@pytest.fixture(scope="module")
def sweeps_root(shared_data, tmp_path_factory) -> Path:
    return build_sweeps(tmp_path_factory.mktemp("sweeps"), shared_data)


@pytest.fixture(scope="module")
def sweep_runs(sweeps_root):
    return leaderboard.load_runs([sweeps_root])


@pytest.fixture(scope="module")
def sky_runs(shared_data, tmp_path_factory):
    from evalkit.importers import import_outputs

    root = tmp_path_factory.mktemp("sky")
    data = ds.load("aime24", ds.DataLocations(shared_data, root / "cache"), allow_download=False)
    sweep = GENERATIONS / "published" / "qwen25-math-outputs" / "icml_models"
    import_outputs([sweep / "Sky-T1-math-correct-5K-32B-ckpts", sweep / "Sky-T1-math-reflection-1.0-32B"], data,
                   root / "imported", family="SFT")  # fmt: skip
    return leaderboard.load_runs([root / "imported"])


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())["metrics"]


# ---------------------------------------------------------------------------------------------------------------
# checkpoints of training runs


def test_checkpoints_are_grouped_per_training_run_in_step_order_with_their_numbers(sweep_runs, sweeps_root):
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    assert list(curves) == [DAPO, GRPO]
    assert [c.step for c in curves[DAPO]] == [c.step for c in curves[GRPO]] == [100, 200, 300, 400]
    assert leaderboard.training_runs(sweep_runs, "math500") == {}
    for name, algo in ((DAPO, "dapo"), (GRPO, "grpo")):
        for c in curves[name]:
            m = _metrics(sweeps_root / f"{algo}-{c.step}")
            assert (c.training_run, c.n, c.avg) == (name, 4, pytest.approx(100 * m["avg"]))
            assert (c.ci_low, c.ci_high) == (pytest.approx(100 * m["avg_ci"]["low"]),
                                             pytest.approx(100 * m["avg_ci"]["high"]))  # fmt: skip
            assert c.truncated == pytest.approx(100 * m["truncated"] / m["samples"])
            assert c.language_mixed == pytest.approx(100 * m["language_mixed"] / m["language_judged"])
            assert (c.mean_output_tokens, c.pass_at[4], c.maj_at[4]) == (
                m["mean_output_tokens"],
                pytest.approx(100 * m["pass_at"]["4"]),
                pytest.approx(100 * m["maj_at"]["4"]),
            )
    # What the synthetic runs were made to do: DAPO's answers grow longer and get cut; GRPO's start mixing languages.
    dapo, grpo = curves[DAPO], curves[GRPO]
    assert dapo[0].truncated == 0 < dapo[-1].truncated and dapo[0].mean_output_tokens < dapo[-1].mean_output_tokens
    assert [c.language_mixed for c in dapo] == [0.0] * 4
    assert grpo[0].language_mixed == 0 < grpo[1].language_mixed < grpo[2].language_mixed < grpo[3].language_mixed
    assert dapo[1].written_at == FIRST_WRITE + timedelta(hours=3)


def test_the_sweeps_checkpoint_record_names_the_step_and_run_when_the_top_level_fields_do_not(sweep_runs):
    record = sweep_runs[0]
    bare = {k: v for k, v in record.manifest.items() if k not in ("checkpoint_step", "labels")}
    point = leaderboard.checkpoint_of(leaderboard.RunRecord(record.path, bare, record.results))
    assert (point.step, point.training_run) == (record.manifest["checkpoint"]["step"],
                                                record.manifest["checkpoint"]["training_run"])  # fmt: skip
    no_step = {k: v for k, v in bare.items() if k != "checkpoint"}
    assert leaderboard.checkpoint_of(leaderboard.RunRecord(record.path, no_step, record.results)) is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-12-07T20:00:00Z", datetime(2026, 12, 7, 20, tzinfo=UTC)),
        ("2026-12-07T21:30:00+01:00", datetime(2026, 12, 7, 20, 30, tzinfo=UTC)),
        ("2026-12-07T20:00:00", datetime(2026, 12, 7, 20, tzinfo=UTC)),  # no zone: UTC, as the contract says
        ("yesterday", None),
        (1765137600, None),
    ],
)
def test_write_times_are_read_as_utc_and_a_bad_one_is_no_time(sweep_runs, written, expected):
    record = sweep_runs[0]
    manifest = {**record.manifest, "checkpoint": {**record.manifest["checkpoint"], "written_at": written}}
    assert (
        leaderboard.checkpoint_of(leaderboard.RunRecord(record.path, manifest, record.results)).written_at == expected
    )


def _variant(record, path: str, samples: int | None = None, **sampling):
    manifest = {**record.manifest, "sampling": {**record.manifest["sampling"], **sampling}}
    results = {**record.results, "metrics": {**record.results["metrics"]}}
    if samples is not None:
        results["metrics"]["samples"] = samples
    return leaderboard.RunRecord(Path(path), manifest, results)


def test_a_second_protocol_is_a_curve_of_its_own_and_a_step_run_twice_keeps_the_larger_evaluation(sweep_runs):
    dapo = [r for r in sweep_runs if "dapo" in r.manifest["model"]]
    hotter = [_variant(r, f"{r.path}-hot", temperature=1.0) for r in dapo[:2]]
    bigger = _variant(dapo[0], "bigger", samples=10_000)
    curves = leaderboard.training_runs([*dapo, *hotter, bigger], "aime24")
    assert list(curves) == [f"{DAPO} (dapo, T=0.6, top-p=0.95, 4096 tokens, math)",
                            f"{DAPO} (dapo, T=1.0, top-p=0.95, 4096 tokens, math)"]  # fmt: skip
    cold, hot = curves.values()
    assert [c.step for c in cold] == [100, 200, 300, 400] and [c.step for c in hot] == [100, 200]
    assert str(cold[0].run.path) == "bigger" and cold[0].training_run == DAPO
    assert leaderboard.sweep_rows([*dapo, *hotter], "aime24").keys() == curves.keys()
    # More samples per problem change the interval, not the quantity: the same curve.
    more = _variant(dapo[1], "more", samples=10_000, n=16)
    (same,) = leaderboard.training_runs([*dapo, more], "aime24").values()
    assert [str(c.run.path) for c in same][1] == "more"


# ---------------------------------------------------------------------------------------------------------------
# hours


def test_hours_come_from_write_times_since_the_first_checkpoint(sweep_runs):
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    found = training.timelines(curves, {})
    assert dict(found[DAPO].hours) == {100: 0.0, 200: 3.0, 300: 6.0, 400: 9.0}
    assert dict(found[GRPO].hours) == {100: 0.0, 200: 2.0, 300: 4.0, 400: 6.0}
    assert found[DAPO].source == "write times" and found[DAPO].gpu_hours == {} and found[DAPO].problem is None


def _timed(checkpoints, *offsets_hours):
    import dataclasses

    return [dataclasses.replace(c, written_at=None if h is None else FIRST_WRITE + timedelta(hours=h))
            for c, h in zip(checkpoints, offsets_hours)]  # fmt: skip


def test_write_times_that_cannot_be_training_time_give_no_hours_and_say_why(sweep_runs):
    dapo = leaderboard.training_runs(sweep_runs, "aime24")[DAPO]
    assert training.write_time_hours(_timed(dapo, 0, 2, 1, 3)) == (
        {}, "step 300 was written before step 200 (files copied or touched after training?)")  # fmt: skip
    assert training.write_time_hours(_timed(dapo, 0, 0.001, 0.002, 0.003))[1] == (
        "every checkpoint was written within a minute (files copied after training?)")  # fmt: skip
    assert training.write_time_hours(_timed(dapo, None, None, 5, None)) == ({}, None)  # one time: no span
    assert training.write_time_hours(_timed(dapo, None, 1, None, 4)) == ({200: 0.0, 400: 3.0}, None)
    assert training.write_time_hours(_timed(dapo, 0, 0.02, 0.02, 0.03))[0][200] == pytest.approx(0.02)


def test_a_train_log_wins_over_write_times_by_curve_or_training_run_name(sweep_runs):
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    log = [StepCost(100, 1.0, 8.0), StepCost(200, 2.5, None), StepCost(400, 6.0, 48.0)]
    found = training.timelines(curves, {DAPO: log})
    assert (found[DAPO].source, dict(found[DAPO].hours)) == ("train log", {100: 1.0, 200: 2.5, 400: 6.0})
    assert dict(found[DAPO].gpu_hours) == {100: 8.0, 400: 48.0}
    assert found[GRPO].source == "write times"
    split = {f"{DAPO} (a protocol)": curves[DAPO]}  # a curve named after its protocol finds its run's log
    assert training.timelines(split, {DAPO: log})[f"{DAPO} (a protocol)"].source == "train log"


# ---------------------------------------------------------------------------------------------------------------
# comparisons


def _expected(later, earlier):
    scores = [[ProblemScore(e["problem_id"], e["n"], e["correct"], e["majority_correct"]) for e in c.run.per_problem]
              for c in (later, earlier)]  # fmt: skip
    return paired_comparison(*scores)


def test_by_default_the_latest_checkpoint_meets_the_best_earlier_one_and_the_previous_one(sweep_runs):
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    found = training.default_comparisons(curves)
    for comparison in found:
        checkpoints = curves[comparison.curve]
        assert comparison.later is checkpoints[-1]
        assert comparison.result == _expected(comparison.later, comparison.earlier)
        assert comparison.result.difference == pytest.approx((comparison.later.avg - comparison.earlier.avg) / 100)
        best = max(c.avg for c in checkpoints[:-1])
        if comparison.reason == "latest vs best earlier":
            assert comparison.earlier.avg == best
        else:
            assert comparison.reason == "latest vs previous" and comparison.earlier is checkpoints[-2]
            assert comparison.earlier.avg < best
    reasons = [(c.curve, c.reason) for c in found]
    assert reasons.count((DAPO, "latest vs best earlier")) == reasons.count((GRPO, "latest vs best earlier")) == 1
    assert training.default_comparisons({DAPO: curves[DAPO][:1]}) == []


def test_among_equally_good_earlier_checkpoints_the_later_one_is_compared(sweep_runs):
    import dataclasses

    dapo = leaderboard.training_runs(sweep_runs, "aime24")[DAPO]
    tied = [dataclasses.replace(c, avg=50.0) for c in dapo[:3]] + [dapo[3]]
    (only,) = training.default_comparisons({DAPO: tied})
    assert only.earlier.step == 300 and only.reason == "latest vs best earlier"  # the previous one: no second row


@pytest.mark.parametrize(
    ("result", "verdict"),
    [((0.1, 0.02, 0.2), "better"), ((-0.1, -0.2, -0.01), "worse"), ((0.05, -0.02, 0.12), "within noise"),
     ((0.0, 0.0, 0.0), "within noise"), (None, "not compared")],
)  # fmt: skip
def test_the_verdict_in_words(sweep_runs, result, verdict):
    import dataclasses

    from evalkit.metrics import Interval

    dapo = leaderboard.training_runs(sweep_runs, "aime24")[DAPO]
    base = training.compare(DAPO, dapo[-1], dapo[0], "chosen")
    if result is not None:
        difference, low, high = result
        base = dataclasses.replace(base, result=dataclasses.replace(base.result, difference=difference,
                                                                    ci=Interval(low, high)))  # fmt: skip
    else:
        base = dataclasses.replace(base, result=None, problem="why")
    assert base.verdict == verdict


def test_checkpoints_on_other_problems_are_not_compared(sweep_runs):
    dapo = leaderboard.training_runs(sweep_runs, "aime24")[DAPO]
    record = dapo[0].run
    other = leaderboard.RunRecord(record.path, {**record.manifest, "dataset": {**record.manifest["dataset"],
                                  "content_sha256": "0" * 64}}, record.results)  # fmt: skip
    moved = leaderboard.checkpoint_of(other)
    found = training.compare(DAPO, dapo[-1], moved, "chosen")
    assert (found.result, found.problem, found.verdict) == (None, "the two were run on different problem sets",
                                                            "not compared")  # fmt: skip


def test_chosen_steps_by_run_name_a_part_of_it_or_none_when_there_is_one_run(sweep_runs):
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    (exact,) = training.chosen_comparisons(curves, [f"{GRPO}=400,200"])
    assert (exact.curve, exact.later.step, exact.earlier.step, exact.reason) == (GRPO, 400, 200, "chosen")
    assert exact.result == _expected(exact.later, exact.earlier)
    (part,) = training.chosen_comparisons(curves, ["dapo=100, 300"])
    assert (part.curve, part.later.step, part.earlier.step) == (DAPO, 300, 100)
    (single,) = training.chosen_comparisons({GRPO: curves[GRPO]}, ["200,300"])
    assert (single.curve, single.later.step) == (GRPO, 300)
    assert training.chosen_comparisons(curves, []) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("200,300", "there are 2 training runs; say which, as RUN=STEP,STEP"),
        ("qwen=200,300", "'qwen' is part of several training run names"),
        ("ppo=200,300", "no training run is named 'ppo'; training runs: " + DAPO),
        ("dapo=200,250", "has no checkpoint at step 250; its steps: 100, 200, 300, 400"),
        ("dapo=200", "give two different steps, as RUN=300,400"),
        ("dapo=200,200", "give two different steps"),
        ("dapo=200,300,400", "give two different steps"),
        ("dapo=x,300", "give two different steps"),
    ],
)
def test_chosen_steps_that_name_nothing_are_refused_in_one_line(sweep_runs, spec, message):
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    with pytest.raises(EvalkitError, match=re.escape(message)) as caught:
        training.chosen_comparisons(curves, [spec])
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"--compare-steps {spec}: ")
    with pytest.raises(EvalkitError, match="no run given is a checkpoint of a training run"):
        training.chosen_comparisons({}, [spec])


# ---------------------------------------------------------------------------------------------------------------
# the page's section


def _drawn(monkeypatch) -> list[tuple[tuple, dict]]:
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(training_page, "line_chart", lambda *args, **kwargs: calls.append((args, kwargs)) or "<svg/>")
    return calls


def _section(runs, logs=None, chosen=()):
    curves = leaderboard.training_runs(runs, "aime24")
    return training_page.section(curves, training.timelines(curves, logs or {}), chosen)


def test_two_runs_are_overlaid_on_every_chart_against_step_and_against_write_time_hours(sweep_runs, monkeypatch):
    calls = _drawn(monkeypatch)
    html = _section(sweep_runs)
    titles = [(args[1], args[2], args[3]) for args, _ in calls]
    assert titles == [
        ("accuracy against training step", "training step", "avg@n (%)"),
        ("mean output tokens against training step", "training step", "output tokens per sample"),
        ("truncated samples against training step", "training step", "% of samples cut at max tokens"),
        ("reasoning that mixes languages against training step", "training step", "% of judged samples"),
        ("accuracy against hours", training.WRITE_TIMES, "avg@n (%)"),
        ("mean output tokens against hours", training.WRITE_TIMES, "output tokens per sample"),
        ("truncated samples against hours", training.WRITE_TIMES, "% of samples cut at max tokens"),
        ("reasoning that mixes languages against hours", training.WRITE_TIMES, "% of judged samples"),
    ]
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    for (series, *_), options in calls:
        assert [s.label for s in series] == [DAPO, GRPO]  # both runs on the same axes
        assert [s.color for s in series] == ["#2563eb", "#dc2626"]  # one colour per run in every chart
        assert options["y_range"] is None
    step_charts, hour_charts = calls[:4], calls[4:]
    for (series, *_), options in step_charts:
        assert [x for x, _ in series[0].points] == [100, 200, 300, 400] and options["x_span"] == (100, 400)
    for (series, *_), options in hour_charts:
        assert [x for x, _ in series[0].points] == [0, 3, 6, 9] and [x for x, _ in series[1].points] == [0, 2, 4, 6]
        assert options["x_span"] == (0, 9)
    (accuracy, *_), _ = calls[0]
    assert accuracy[1].points == [(c.step, c.avg) for c in curves[GRPO]]
    assert accuracy[1].errors == [(c.ci_low, c.ci_high) for c in curves[GRPO]]
    (mixing, *_), options = calls[3]
    assert mixing[1].points == [(c.step, c.language_mixed) for c in curves[GRPO]] and mixing[1].errors is None
    assert options["y_max"] == 100.0 and calls[1][1]["y_max"] is None  # token counts have no ceiling
    assert html.startswith("<p class='note'>2 training runs, 8 checkpoints; the band is each checkpoint's 95% ")
    assert f"For {DAPO}, {GRPO}: {training.WRITE_TIMES}. Hour 0 is when the first evaluated checkpoint" in html
    assert "Not drawn" not in html and "--train-log RUN=steps.csv" not in html


def test_a_run_keeps_its_colour_in_a_chart_it_is_missing_from(sweep_runs, sky_runs, monkeypatch):
    calls = _drawn(monkeypatch)
    curves = {
        SKY: leaderboard.training_runs(sky_runs, "aime24")[SKY],
        **leaderboard.training_runs(sweep_runs, "aime24"),
    }
    training_page.section(curves, training.timelines(curves, {}))  # the imported run first: it has no token counts
    drawn = {args[1]: [(s.label, s.color) for s in args[0]] for args, _ in calls}
    blue, red, green = PALETTE[:3]
    assert drawn["accuracy against training step"] == [(SKY, blue), (DAPO, red), (GRPO, green)]
    assert drawn["mean output tokens against training step"] == [(DAPO, red), (GRPO, green)]
    assert drawn["accuracy against hours"] == [(DAPO, red), (GRPO, green)]


def test_a_train_log_for_one_run_and_write_times_for_the_other_are_marked_apart(sweep_runs, monkeypatch):
    calls = _drawn(monkeypatch)
    html = _section(sweep_runs, {DAPO: [StepCost(100, 1.0, 8.0), StepCost(200, 2.5, None), StepCost(400, 6.0, 48.0)]})
    by_hours = [(args, kwargs) for args, kwargs in calls if "hours" in args[1]]
    (series, title, x_label, _), _ = by_hours[0]
    assert (title, x_label) == ("accuracy against hours", "hours (train log, or write times where marked)")
    assert [s.label for s in series] == [DAPO, f"{GRPO} (write times)"]
    assert [x for x, _ in series[0].points] == [1.0, 2.5, 6.0]  # the step without a logged time is left out
    (gpu, title, x_label, _), _ = by_hours[-1]
    assert (title, x_label, [s.label for s in gpu]) == ("accuracy against GPU hours", "GPU hours", [DAPO])
    assert [x for x, _ in gpu[0].points] == [8.0, 48.0]
    assert f"For {GRPO}: {training.WRITE_TIMES}." in html


def test_without_hours_the_page_says_how_to_get_them_and_why_write_times_were_not_used(sweep_runs, monkeypatch):
    calls = _drawn(monkeypatch)
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    copied = {name: _timed(checkpoints, 0, 0, 0, 0) for name, checkpoints in curves.items()}
    html = training_page.section(copied, training.timelines(copied, {}))
    assert not [args for args, _ in calls if "hours" in args[1]]
    assert "--train-log RUN=steps.csv" in html and "<code>evalkit sweep</code>" in html
    assert (f"Write times not used: {DAPO}: every checkpoint was written within a minute (files copied after "
            "training?)") in html  # fmt: skip
    assert training_page.section({}, {}).startswith("<p class='note'>No checkpoint sweep yet")


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({}, "no run measured language mixing (runs scored before evalkit did: rerun their evalkit run command, "
             "which generates nothing, or import them again)"),
        ({"language_judged": 0, "language_mixed": None}, "no reasoning had the 20 words outside math it "
                                                          "takes to judge"),
    ],
)  # fmt: skip
def test_a_run_without_language_mixing_says_why(sweep_runs, monkeypatch, fields, why):
    calls = _drawn(monkeypatch)
    runs = []
    for record in sweep_runs:
        metrics = {k: v for k, v in record.results["metrics"].items() if not k.startswith("language_")}
        results = {**record.results, "metrics": {**metrics, **fields}}
        runs.append(leaderboard.RunRecord(record.path, record.manifest, results))
    html = _section(runs)
    assert not [args for args, _ in calls if "mixes languages" in args[1]]
    assert f"Not drawn: reasoning that mixes languages: {why}." in html


def test_the_comparisons_table_and_the_checkpoint_tables(sweep_runs):
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    chosen = training.chosen_comparisons(curves, ["grpo=100,300", "dapo=100,300"])
    html = training_page.section(curves, training.timelines(curves, {}), chosen, {})
    compared = html.split('<table class="steps">', 1)[1].split("</table>", 1)[0]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in compared.split("<tr>")[2:]]
    shown = [*training.default_comparisons(curves), *chosen]  # the chosen pairs end at 300: none is a default
    assert len(rows) == len(shown) == len(training.default_comparisons(curves)) + 2
    for cells, comparison in zip(rows, shown):
        r = comparison.result
        assert cells[:4] == [comparison.curve, comparison.reason, str(comparison.later.step),
                             str(comparison.earlier.step)]  # fmt: skip
        assert cells[4:6] == [f"{100 * r.avg_a:.1f}", f"{100 * r.avg_b:.1f}"]
        assert cells[6] == f"{100 * r.difference:+.1f}" and cells[8] == comparison.verdict
        assert cells[7] == f"{100 * r.ci.low:+.1f} to {100 * r.ci.high:+.1f}"
        assert cells[9] == f"{len(r.wins)} / {len(r.losses)} / {r.ties}"
        assert cells[10] == f"{r.problems} problems, n = 4 and 4"
    assert [cells[1] for cells in rows[-2:]] == ["chosen", "chosen"]
    linked = training_page.section(curves, {}, (), {str(curves[DAPO][0].run.path): "aime24-samples/d.html"})
    assert '<td class="num"><a href="aime24-samples/d.html">100</a></td>' in linked
    tables_html = html.split("<h3>Per checkpoint</h3>", 1)[1]
    assert tables_html.count("<caption>") == 2 and tables_html.count("<tr>") == 2 + 8
    assert f"<caption>{DAPO}: 4 checkpoints; hours from its write times</caption>" in tables_html
    grpo_400 = curves[GRPO][-1]
    last = re.findall(r"<td[^>]*>(.*?)</td>", tables_html.split("</table>")[1].split("<tr>")[-1])
    assert last == ["400", "6.00", f"{grpo_400.avg:.1f}", f"{grpo_400.ci_low:.1f}–{grpo_400.ci_high:.1f}", "4",
                    f"{grpo_400.pass_at[4]:.1f}", f"{grpo_400.maj_at[4]:.1f}", f"{grpo_400.mean_output_tokens:.0f}",
                    f"{grpo_400.mean_response_chars:.0f}", "0.0", f"{grpo_400.language_mixed:.1f}", "40"]  # fmt: skip


def test_a_chosen_pair_that_is_also_a_default_is_one_row_saying_both(sweep_runs):
    curves = leaderboard.training_runs(sweep_runs, "aime24")
    (default, *_) = [c for c in training.default_comparisons(curves) if c.curve == GRPO]
    spec = f"grpo={default.earlier.step},{default.later.step}"
    html = training_page.section(curves, {}, training.chosen_comparisons(curves, [spec]))
    compared = html.split('<table class="steps">', 1)[1].split("</table>", 1)[0]
    assert compared.count(f'<td class="text">{default.reason}; chosen</td>') == 1
    assert compared.count("<tr>") == 1 + len(training.default_comparisons(curves))
    shown = training.with_chosen(training.default_comparisons(curves), training.chosen_comparisons(curves, [spec]))
    markdown = tables.comparisons_markdown(shown)
    assert markdown.count(f"| {GRPO} | {default.reason}; chosen | {default.later.step} | {default.earlier.step} |") == 1
    assert len(markdown.splitlines()) == 2 + len(training.default_comparisons(curves))


def test_training_run_names_are_escaped_everywhere(sweep_runs):
    hostile = "<img src=x onerror=alert(1)>/step_*"
    runs = []
    for record in sweep_runs:
        manifest = {**record.manifest, "labels": {**record.manifest["labels"], "run_name": hostile}}
        runs.append(leaderboard.RunRecord(record.path, manifest, record.results))
    curves = leaderboard.training_runs(runs, "aime24")
    html = training_page.section(curves, training.timelines(curves, {}),
                                 training.chosen_comparisons(curves, ["onerror=100,200"]))  # fmt: skip
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# ---------------------------------------------------------------------------------------------------------------
# the real sweep: ten Sky-T1 checkpoints imported from their published outputs


def test_the_real_sky_t1_sweep_draws_ten_points_length_in_characters_and_says_what_it_lacks(sky_runs, monkeypatch):
    curves = leaderboard.training_runs(sky_runs, "aime24")
    assert list(curves) == [SKY]  # the reflection model names no step: not a checkpoint
    assert [c.step for c in curves[SKY]] == SKY_STEPS
    assert all(c.mean_output_tokens is None and c.truncated is None and c.written_at is None for c in curves[SKY])
    assert [c.language_mixed for c in curves[SKY]] == [0.0] * 10 and {c.language_judged for c in curves[SKY]} == {30}
    calls = _drawn(monkeypatch)
    html = training_page.section(curves, training.timelines(curves, {}))
    assert [args[1] for args, _ in calls] == [
        "accuracy against training step",
        "mean response length against training step",
        "reasoning that mixes languages against training step",
    ]
    (accuracy, *_), _ = calls[0]
    (line,) = accuracy
    assert len(line.points) == len(line.errors) == 10
    (length, *_), _ = calls[1]
    assert all(40_000 < y < 70_000 for _, y in length[0].points)  # the published responses average ~45,000 chars
    assert ("Not drawn: mean output tokens: no run recorded token counts; truncated samples: no run recorded why its "
            "samples ended (imported outputs often keep no finish reason).") in html  # fmt: skip
    assert "--train-log RUN=steps.csv" in html
    calls.clear()
    log = {SKY: [StepCost(step, step / 10, step * 0.8) for step in SKY_STEPS]}
    training_page.section(curves, training.timelines(curves, log))
    hours = [(args[1], args[2]) for args, _ in calls if "hours" in args[1]]
    assert hours[0] == ("accuracy against training hours", "training hours") and hours[-1][0] == (
        "accuracy against GPU hours")  # fmt: skip


def test_the_real_response_that_falls_into_chinese_is_counted_in_its_run(sky_runs):
    (reflection,) = [r for r in sky_runs if "reflection-1.0" in r.manifest["model"]]
    metrics = reflection.results["metrics"]
    assert (metrics["language_judged"], metrics["language_mixed"]) == (30, 1)
    assert metrics["language_pairs"] == {"Latin+Han/Kana": 1}
    row = leaderboard.measured_row(reflection, {})
    assert row["language_mixed"] == 3.33


# ---------------------------------------------------------------------------------------------------------------
# tables and the command line


def test_the_csv_and_markdown_carry_the_language_mixing_column_and_the_checkpoints(sweep_runs, tmp_path):
    frame = leaderboard.build(sweep_runs, "aime24", include_reported=False)
    assert "language_mixed" in leaderboard.COLUMNS
    by_model = dict(zip(frame["model"], frame["language_mixed"]))
    grpo_400 = leaderboard.training_runs(sweep_runs, "aime24")[GRPO][-1]
    assert by_model["/ckpt/qwen-7b-grpo/global_step_400/actor"] == round(grpo_400.language_mixed, 2)
    assert by_model["/ckpt/qwen-7b-dapo/global_step_400/actor"] == 0.0
    assert "| lang-mixed % |" in tables.to_markdown(frame)
    written = publish.write(frame, sweep_runs, "aime24", tmp_path, ["md", "csv"])
    text = (tmp_path / "aime24.md").read_text()
    sweep = text.split("### Accuracy by training step\n\n", 1)[1]
    assert sweep.startswith("| training run | step | avg@n | 95% CI | n | maj@n | hours | mean out tokens | "
                            "truncated % | lang-mixed % |")  # fmt: skip
    assert f"| {GRPO} | 400 | {grpo_400.avg:.1f} | " in sweep
    assert f"| 6.00 | 192 | 0.0 | {grpo_400.language_mixed:.1f} |" in sweep
    later = text.split("### Later checkpoints against earlier ones\n\n", 1)[1]
    assert later.count(f"| {DAPO} | latest vs ") >= 1 and len(written) == 2


def test_the_leaderboard_command_compares_the_steps_asked_for(sweeps_root, tmp_path):
    command = [sys.executable, "-m", "evalkit", "leaderboard", str(sweeps_root), "--out", str(tmp_path), "--no-samples",
               "--compare-steps", "grpo=100,300", "--format", "html", "--format", "md"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(GRPO)]
    assert re.fullmatch(rf"{re.escape(GRPO)}: step 300 vs 100: [\d.]+% vs [\d.]+%, [+-][\d.]+ points, 95% CI "
                        r"\[[+-][\d.]+, [+-][\d.]+\] → (better|worse|within noise)", line)  # fmt: skip
    assert '<td class="text">chosen</td>' in (tmp_path / "aime24.html").read_text()
    assert f"| {GRPO} | chosen | 300 | 100 |" in (tmp_path / "aime24.md").read_text()
    refused = subprocess.run([*command[:-6], "--compare-steps", "grpo=100,150"], capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip() == (f"error: --compare-steps grpo=100,150: {GRPO} has no checkpoint at step 150; "
                                      "its steps: 100, 200, 300, 400")  # fmt: skip
    assert not (tmp_path / "aime24.csv").exists()  # refused before writing anything


def test_the_page_holds_the_section_with_its_charts(sweep_runs, sky_runs):
    runs = [*sweep_runs, *sky_runs]
    frame = leaderboard.build(runs, "aime24", include_reported=False)
    html = page(frame, runs, "aime24")
    section = html.split('<section id="training">', 1)[1].split("</section>", 1)[0]
    assert section.count("<svg") == 5 + 5  # accuracy, tokens, characters, truncation, mixing; by step and by hours
    assert "3 training runs, 18 checkpoints" in section and training_page.STYLE in html
