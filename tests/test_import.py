"""`evalkit import` on other harnesses' real published outputs (../shared/generations/published): every format
read from its own files, problems matched, traps said, reported numbers set beside evalkit's re-score."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest
from conftest import GENERATIONS, qwen_harness_result_files

from evalkit.data import datasets as ds
from evalkit.errors import EvalkitError
from evalkit.importers import FORMATS, import_outputs
from evalkit.importers.detect import scan
from evalkit.store import read_manifest, read_run

PUBLISHED = GENERATIONS / "published"
PEERS = PUBLISHED / "peer-formats"
QWEN = PUBLISHED / "qwen25-math-outputs"
SWEEP = PUBLISHED / "qwen25-math-outputs" / "icml_models" / "Sky-T1-math-correct-5K-32B-ckpts"
STEPS = [21, 35, 49, 63, 70, 84, 98, 105, 119, 133]
# What each checkpoint's `*_metrics.json` reports (acc, percent).
SWEEP_REPORTED = {21: 36.7, 35: 33.3, 49: 36.7, 63: 26.7, 70: 30.0, 84: 26.7, 98: 33.3, 105: 33.3, 119: 36.7,
                  133: 40.0}  # fmt: skip


@pytest.fixture(scope="module")
def aime24(shared_data):
    return ds.load("aime24", ds.DataLocations(shared_data, shared_data / "no-cache"), allow_download=False)


@pytest.fixture(scope="module")
def published(aime24, tmp_path_factory):
    """Everything in published/, imported once into a run folder."""
    out = tmp_path_factory.mktemp("imported")
    summary = import_outputs([PUBLISHED], aime24, out)
    return summary, out


def by_format(summary, fmt):
    return [r for r in summary.results if r.run.source.format == fmt]


def finding(result, kind):
    return next((f.message for f in result.run.findings if f.kind == kind), None)


def test_every_published_format_is_found_and_imported(published):
    summary, _ = published
    counts = {fmt: len(by_format(summary, fmt)) for fmt in FORMATS}
    # As many runs as the folders hold: one per Qwen2.5-Math result file and SkyThought tool file, one per peer.
    qwen_files = qwen_harness_result_files(QWEN)
    assert len(qwen_files) >= 11 and counts == {
        "qwen25-math": len(qwen_files), "skythought": len(list((PUBLISHED / "skythought-tools").iterdir())),
        "lm-eval": 1, "lighteval": 1, "inspect": 1, "evalscope": 1, "evalkit": 0}  # fmt: skip
    assert sorted(r.run.source.path for r in by_format(summary, "qwen25-math")) == qwen_files
    assert summary.skipped_runs == ()
    # Metrics, results and report files are read with their outputs, not skipped as unknown files: every file is
    # an output, a companion, or a note for people (the READMEs and the provenance list).
    outputs = {r.run.source.path for r in summary.results}
    assert {p.suffix for p in summary.skipped_files} == {".md", ".tsv"}
    assert outputs | set(summary.companions) | set(summary.skipped_files) == {
        p for p in PUBLISHED.rglob("*") if p.is_file()}  # fmt: skip
    # Each Qwen2.5-Math result file's metrics; lm-eval's and lighteval's results, evalscope's report and predictions.
    assert len(summary.companions) == len(qwen_files) + 4
    for result in by_format(summary, "qwen25-math"):
        (metrics,) = result.run.source.companions
        assert metrics.parent == result.run.source.path.parent and metrics.name.endswith("_metrics.json")
    for result in summary.results:
        assert result.report.coverage.scored == 30 and not result.report.coverage.partial
        assert result.run.unmatched == ()


def test_qwen_harness_sweep_reported_vs_rescored(published):
    summary, _ = published
    sweep = sorted((r for r in by_format(summary, "qwen25-math") if r.run.checkpoint_step is not None),
                   key=lambda r: r.run.checkpoint_step)  # fmt: skip
    assert [r.run.checkpoint_step for r in sweep] == STEPS
    assert {r.run.run_name for r in sweep} == {"Sky-T1-math-correct-5K-32B-ckpts/checkpoint-*"}
    assert {r.run.model for r in sweep} == {f"Sky-T1-math-correct-5K-32B-ckpts/checkpoint-{step}" for step in STEPS}
    for result in sweep:
        step = result.run.checkpoint_step
        assert result.run.source.reported.value == SWEEP_REPORTED[step]
        assert result.run.source.reported.file.endswith("_Sky-T1_metrics.json")
        # The harness rounds to one decimal: compared at that precision, its number holds for every checkpoint.
        assert result.difference == 0.0
        assert result.source_avg * 100 == pytest.approx(SWEEP_REPORTED[step], abs=0.05)
        assert result.judged == 30 and result.disagreements == ()
        stated = result.run.protocol()["stated"]
        assert stated == {"temperature": 0.0, "seed": 0, "prompt": "Sky-T1", "n": 1}
    # The source's last-number fallback shows: it read answers out of cut-off reasoning where evalkit finds none.
    assert sum(r.other_answers for r in sweep) > 50
    base = [r for r in by_format(summary, "qwen25-math") if r.run.checkpoint_step is None]
    base = {r.run.model: r for r in base}
    # Every other model is named by its own folder (the one above `aime24_eval/`), never by the path the publisher's
    # machine wrote above it (`home/ubuntu/...`), which stays in the manifest's origin.
    folders = {f.parents[2].name for f in qwen_harness_result_files(QWEN) if "-ckpts" not in str(f)}
    assert len(folders) >= 9 and set(base) == folders
    for result in base.values():
        assert result.run.run_name is None and result.difference == 0.0
        assert result.run.source.model.endswith(result.run.model)
    assert base["Sky-T1-math-wrong-5K-27B"].run.source.model == "home/ubuntu/skyov1-dl/Sky-T1-math-wrong-5K-27B"
    llama = base["Llama-3.1-8B"]
    assert llama.run.source.model == "meta-llama/Llama-3.1-8B"
    assert llama.run.source.reported.value == 0.0 and llama.rescored == 0.0


def test_skythought_tool_json_keeps_token_usage_and_verdicts(published):
    summary, _ = published
    runs = {r.run.source.protocol["prompt"]: r for r in by_format(summary, "skythought")}
    assert set(runs) == {"still2_sys_zero", "still2_sys_one_long", "still2-sys_one_short"}
    for result in runs.values():
        assert result.run.model == "Qwen2.5-32B-Instruct" and result.run.n == 1
        assert result.run.source.protocol["temperature"] == 0.0
        assert result.run.source.reported is None  # the tool writes no metrics file
        usage = result.run.protocol()["token_usage"]
        assert usage["samples_with_counts"] == 30 and usage["output_tokens"] > 10_000
        assert result.judged == 30 and result.disagreements == ()
    assert round(runs["still2_sys_zero"].rescored, 1) == 20.0


def test_lm_eval_repeats_that_are_one_text_are_said_and_scored_as_one(published):
    summary, _ = published
    (result,) = by_format(summary, "lm-eval")
    run = result.run
    assert run.n == 1 and run.source.protocol["n"] == 16 and run.source.n_requested == 16
    message = finding(result, "identical-repeats")
    assert "16 samples are one text" in message and "fixed seed" in message and "imported as n=1" in message
    assert "take_first" in finding(result, "source")
    assert run.source.harness == "lm-evaluation-harness 0.4.13"
    assert run.source.reported.value == pytest.approx(40.0) and run.source.reported.metric == "exact_match,none"
    assert result.rescored == pytest.approx(46.67, abs=0.01) and result.difference == pytest.approx(6.67)
    # Its string comparison rejects boxed 45 against the gold 045: evalkit says so for each such sample.
    assert {(d.problem_id, d.evalkit_answer, d.evalkit_correct) for d in result.disagreements} == {
        ("2024-II-3", "45", True), ("2024-II-5", "80", True)}  # fmt: skip
    assert all("'045'" in d.why or "'080'" in d.why for d in result.disagreements)
    stated = run.protocol()
    assert stated["stated"]["temperature"] == 0.6 and stated["stated"]["max_tokens"] == 64
    assert stated["stated"]["prompt"] == "aime24_local" and run.source.prompt_text == "Question: {{problem}}\nAnswer:"
    assert "seed" in stated["unknown"] and "top_p" in stated["unknown"]


def test_lighteval_parquet_keeps_all_sixteen_distinct_samples(published):
    summary, _ = published
    (result,) = by_format(summary, "lighteval")
    assert result.run.n == 16 and finding(result, "identical-repeats") is None
    assert result.run.source.n_requested == 16 and finding(result, "n-ignored") is None
    assert result.run.source.reported.metric == "avg@n:n=16"
    assert result.rescored == pytest.approx(result.run.source.reported.value, abs=0.01)
    assert result.judged == 30 and result.disagreements == ()  # per-problem counts agree
    assert result.report.metrics.pass_at[16] >= result.report.metrics.pass_at[1]


def test_inspect_eval_log_zstd_members(published):
    summary, _ = published
    (result,) = by_format(summary, "inspect")
    run = result.run
    assert run.source.harness == "inspect_ai 0.3.285" and run.model == "openai-api/fake/fake"
    assert run.n == 1 and "16 samples are one text" in finding(result, "identical-repeats")
    assert run.source.reported.value == pytest.approx(56.67, abs=0.01) and result.difference == pytest.approx(0)
    stated = run.protocol()["stated"]
    assert stated["temperature"] == 0.6 and stated["max_tokens"] == 64 and stated["prompt"] == "aime2024_local"
    assert "ANSWER: $ANSWER" in run.source.prompt_text
    assert run.protocol()["token_usage"]["output_tokens"] == 30 * 20
    assert all(s.response.extracted is not None for s in run.samples)  # inspect keeps its scorer's answer


def test_evalscope_reviews_with_predictions_and_report(published):
    summary, _ = published
    (result,) = by_format(summary, "evalscope")
    run = result.run
    assert run.n == 1 and "the server returned one choice and the same text" in finding(result, "identical-repeats")
    assert "ignored n" in finding(result, "identical-repeats")
    assert run.source.reported.value == pytest.approx(46.67) and result.difference == 0.0
    assert {p.name for p in run.source.companions} == {"predictions_aime24_default.jsonl.gz", "report_aime24.json"}
    assert run.protocol()["token_usage"]["prompt_tokens"] == 30 * 100  # from the predictions
    assert result.judged == 30 and result.disagreements == ()


def test_evalkit_generations_with_source_verdicts(aime24, generation_files):
    summary = import_outputs(generation_files, aime24, None)
    assert len(summary.results) == 4 and summary.run_dirs == (None,) * 4
    for result in summary.results:
        assert result.run.source.format == "evalkit" and result.judged == 30
        assert result.disagreements == ()


def test_imported_run_directory(published):
    summary, out = published
    (result,) = by_format(summary, "lm-eval")
    run_dir = summary.run_dirs[summary.results.index(result)]
    manifest = read_manifest(run_dir)
    assert manifest["kind"] == "imported" and run_dir.parent == out
    assert manifest["origin"]["format"] == "lm-eval" and manifest["origin"]["harness"].startswith("lm-evaluation")
    assert manifest["origin"]["path"].endswith(".jsonl") and len(manifest["origin"]["sha256"]) == 64
    assert manifest["sampling"] == {"n": 1, "temperature": 0.6, "top_p": None, "max_tokens": 64, "seed": None}
    assert manifest["protocol"]["n_requested"] == 16 and "seed" in manifest["protocol"]["unknown"]
    assert manifest["reported"]["value"] == pytest.approx(40.0)
    assert {f["kind"] for f in manifest["findings"]} == {"source", "identical-repeats"}
    results = json.loads((run_dir / "results.json").read_text())
    assert results["reported_vs_rescored"]["difference"] == pytest.approx(6.67)
    assert len(results["reported_vs_rescored"]["disagreements"]) == 2
    contents = read_run(run_dir)
    records = contents.samples
    verdicts = contents.verdicts_for(manifest["verifier"])
    assert len(records) == 30 and all(r.source is not None and r.key in verdicts for r in records)
    assert {r.source["correct"] for r in records} == {True, False}


def test_importing_again_rewrites_the_same_runs(published, aime24, tmp_path):
    summary, out = published
    again = import_outputs([PEERS / "inspect"], aime24, out)
    (first,) = [d for r, d in zip(summary.results, summary.run_dirs) if r.run.source.format == "inspect"]
    assert again.run_dirs == (first,)
    measured = tmp_path / "measured"
    shutil.copytree(first, measured / first.name)
    manifest = json.loads((measured / first.name / "manifest.json").read_text())
    (measured / first.name / "manifest.json").write_text(json.dumps({**manifest, "kind": "measured"}))
    with pytest.raises(EvalkitError, match="not 'imported'"):
        import_outputs([PEERS / "inspect"], aime24, measured)


def test_scan_tells_outputs_from_companions_and_refuses_unknown_files(tmp_path):
    found = scan([PEERS])
    assert sorted(f.format for f in found.found) == ["evalscope", "inspect", "lighteval", "lm-eval"]
    assert {p.name for p in found.skipped} == {"README.md"}
    only = scan([PUBLISHED], "lm-eval")
    assert [f.format for f in only.found] == ["lm-eval"]
    with pytest.raises(EvalkitError, match="unknown format 'helm'"):
        scan([PEERS], "helm")
    with pytest.raises(EvalkitError, match="is not a lm-eval output"):
        scan([next(SWEEP.rglob("*.jsonl.gz"))], "lm-eval")
    with pytest.raises(EvalkitError, match="does not exist"):
        scan([tmp_path / "missing"])


def test_zstd_compressed_outputs_read_as_plain(aime24, tmp_path):
    zstandard = pytest.importorskip("zstandard")
    for source in (PEERS / "lm-eval").iterdir():
        (tmp_path / (source.name + ".zst")).write_bytes(zstandard.ZstdCompressor().compress(source.read_bytes()))
    summary = import_outputs([tmp_path], aime24, None)
    (result,) = summary.results
    assert result.run.source.format == "lm-eval" and result.run.source.reported.value == pytest.approx(40.0)


def _qwen_lines(step: int = 63) -> list[dict]:
    (path,) = (SWEEP / f"checkpoint-{step}").rglob("*.jsonl.gz")
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]


def _write_qwen(root, rows, model="org/model"):
    folder = root / model / "aime24_eval" / "aime24"
    folder.mkdir(parents=True)
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (folder / "test_qwen25-math-cot_-1_seed0_t0.0_s0_e-1.jsonl").write_text(text)
    return root


def test_partial_files_and_unmatched_lines_are_reported_never_guessed(aime24, tmp_path):
    rows = _qwen_lines()[:10]
    stranger = {**rows[0], "question": "What is 1 + 1? A question from no AIME.", "idx": 99}
    reused = {**rows[1], "idx": 0}  # a position that could be confused with another problem: matched by text only
    summary = import_outputs([_write_qwen(tmp_path / "out", [*rows, stranger, reused])], aime24, None)
    (result,) = summary.results
    assert result.run.model == "org/model"
    assert result.report.coverage.scored == 10 and result.run.n == 1
    assert "covers 10 of the 30 problems" in finding(result, "partial")
    assert "1 of 12 lines match no aime24 problem" in finding(result, "unmatched")
    assert "line 11 (idx 99)" in finding(result, "unmatched")
    assert "repeat a problem" in finding(result, "duplicate")


def test_a_file_of_another_dataset_is_not_imported(aime24, tmp_path):
    rows = [{"problem_id": f"test/algebra/{i}.json", "response": "\\boxed{1}"} for i in range(5)]
    (tmp_path / "math500.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = import_outputs([tmp_path], aime24, None)
    assert summary.results == ()
    (skipped,) = summary.skipped_runs
    assert "none of its 5 lines is a aime24 problem" in skipped.reason and "another dataset" in skipped.reason


def test_source_gold_that_differs_is_said(aime24, tmp_path):
    rows = _qwen_lines()
    rows[0] = {**rows[0], "gt": "205"}
    (result,) = import_outputs([_write_qwen(tmp_path / "out", rows)], aime24, None).results
    assert "2024-I-1: source '205', pinned '204'" in finding(result, "gold-differs")


def test_cli_import_json_and_table(tmp_path, data_env):
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "evalkit", "import", str(PEERS / "lm-eval"), str(PEERS / "evalscope"),
               "--output-dir", str(tmp_path / "runs")]  # fmt: skip
    human = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert human.returncode == 0, human.stderr
    assert "reported vs re-scored" in human.stdout and "exact_match,none" in human.stdout
    assert "+6.7" in human.stdout and "2024-II-3" in human.stdout and "'045'" in human.stdout
    assert "16 samples are one text" in human.stderr and "skipped 0" not in human.stderr
    assert "2 imported runs written" in human.stdout
    as_json = subprocess.run([*command, "--json", "--dry-run"], capture_output=True, text=True,
                             env=dict(os.environ), timeout=120)  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    runs = {r["format"]: r for r in document["runs"]}
    assert runs["lm-eval"]["difference"] == pytest.approx(6.67) and runs["lm-eval"]["run_dir"] is None
    assert runs["evalscope"]["reported"]["value"] == pytest.approx(46.67)
    bad = subprocess.run([sys.executable, "-m", "evalkit", "import", str(tmp_path / "nothing")], capture_output=True,
                         text=True, env=dict(os.environ), timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr


def test_inspect_json_log_and_evalscope_own_layout(aime24, tmp_path):
    from evalkit.importers.files import ZipMembers

    (log,) = (PEERS / "inspect").glob("*.eval")
    archive = ZipMembers(log)
    document = archive.read_json("header.json")
    document["samples"] = [archive.read_json(n) for n in archive.names() if n.startswith("samples/")]
    (tmp_path / "inspect").mkdir()
    (tmp_path / "inspect" / "log.json").write_text(json.dumps(document))
    # evalscope's own layout: reviews/<model>/<dataset>_<subset>.jsonl, predictions/..., reports/<model>/<dataset>.json
    layout = tmp_path / "evalscope" / "20261130_103000"
    for kind, name in (("reviews", "reviews_aime24_default.jsonl.gz"), ("predictions",
                       "predictions_aime24_default.jsonl.gz"), ("reports", "report_aime24.json")):  # fmt: skip
        target = layout / kind / "fake" / ("aime24.json" if kind == "reports" else "aime24_default.jsonl.gz")
        target.parent.mkdir(parents=True)
        shutil.copy(PEERS / "evalscope" / name, target)
    summary = import_outputs([tmp_path], aime24, None)
    runs = {r.run.source.format: r for r in summary.results}
    assert set(runs) == {"inspect", "evalscope"} and summary.skipped_files == ()
    assert runs["inspect"].run.source.reported.value == pytest.approx(56.67, abs=0.01)
    assert runs["inspect"].run.n == 1 and runs["inspect"].judged == 30
    evalscope = runs["evalscope"].run.source
    assert {p.parent.parent.name for p in evalscope.companions} == {"predictions", "reports"}
    assert evalscope.reported.value == pytest.approx(46.67)


def test_evalscope_predictions_alone(aime24, tmp_path):
    shutil.copy(PEERS / "evalscope" / "predictions_aime24_default.jsonl.gz", tmp_path)
    shutil.copy(PEERS / "evalscope" / "report_aime24.json", tmp_path)
    (result,) = import_outputs([tmp_path], aime24, None).results
    run = result.run
    assert run.source.format == "evalscope" and not run.source.keeps_answers and result.judged == 0
    assert run.n == 1 and finding(result, "identical-repeats") is not None  # 16 requests per prompt, one text
    assert result.report.coverage.scored == 30 and result.rescored == pytest.approx(46.67, abs=0.01)
    assert run.source.reported.value == pytest.approx(46.67)
