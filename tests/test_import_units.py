"""The import's parts as tables of cases: problem matching, checkpoint steps from paths, the traps assembly finds,
and the reason given when the source's verdict and evalkit's differ."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.config import checkpoint_step, training_run
from evalkit.data import datasets as ds
from evalkit.importers.assemble import NothingToImport, assemble
from evalkit.importers.compare import explain
from evalkit.importers.match import ProblemMatcher, same_gold
from evalkit.importers.naming import display_name
from evalkit.importers.qwen25_math import model_name
from evalkit.importers.source import SourceItem, SourceResponse, SourceRun
from evalkit.verify import Verdict


@pytest.fixture(scope="module")
def aime24(shared_data):
    return ds.load("aime24", ds.DataLocations(shared_data, shared_data / "no-cache"), allow_download=False)


def item(key=None, problem=None, prompt=None, gold=None, texts=("\\boxed{1}",), line="line 1", **response):
    return SourceItem(line, key, problem, prompt, gold, tuple(SourceResponse(t, **response) for t in texts))


def test_matching_by_id_text_and_prompt_and_never_by_guess(aime24):
    matcher = ProblemMatcher(aime24)
    first, second = aime24.problems[0], aime24.problems[1]
    assert matcher.match(item(key="2024-I-1")).how == "id"
    assert matcher.match(item(key="2024-I-1", problem="  " + first.question.replace(" ", "\n"))).problem == first
    # An id that names one problem while the text is another's: the text decides, the id is not trusted.
    found = matcher.match(item(key="2024-I-1", problem=second.question))
    assert (found.problem, found.how) == (second, "text")
    prompt = f"Solve step by step.\n\n{second.question}\n\nPut the answer in \\boxed{{}}."
    assert matcher.match(item(prompt=prompt)).problem == second
    # Two problems inside one prompt (a few-shot prompt showing another problem): ambiguous, so unmatched.
    assert matcher.match(item(prompt=first.question + "\n\n" + second.question)) is None
    assert matcher.match(item(key="1", problem="What is 1 + 1?")) is None
    assert matcher.match(item()) is None


@pytest.mark.parametrize(
    "source_gold,pinned,same",
    [("025", "025", True), ("25", "025", True), ("$25$", "025", True), ("\\boxed{204}", "204", True),
     ("26", "025", False), ("1/2", "\\frac{1}{2}", False)],
)  # fmt: skip
def test_gold_answers_written_differently(source_gold, pinned, same):
    assert same_gold(source_gold, pinned) is same


@pytest.mark.parametrize(
    "path,step,run",
    [
        ("/ckpt/dapo/global_step_120/actor/huggingface", 120, "/ckpt/dapo/global_step_*/actor/huggingface"),
        ("runs/grpo/checkpoint-500", 500, "runs/grpo/checkpoint-*"),
        ("exp/step_40", 40, "exp/step_*"),
        ("megatron/run1/iter_0000100", 100, "megatron/run1/iter_*"),
        ("megatron/run1/iter-12/", 12, "megatron/run1/iter-*"),
        ("m/ckpt-7", 7, "m/ckpt-*"),
        ("icml_models/Sky-T1-math-correct-5K-32B-ckpts/checkpoint-63", 63,
         "icml_models/Sky-T1-math-correct-5K-32B-ckpts/checkpoint-*"),
        ("Qwen/Qwen2.5-32B", None, None),
        ("data/filter_3", None, None),  # a word ending in "iter" names no step
        ("models/mystep10", None, None),
    ],
)  # fmt: skip
def test_checkpoint_steps_in_every_common_naming(path, step, run):
    assert checkpoint_step(path) == step
    assert training_run(path) == run


@pytest.mark.parametrize(
    "relative,model",
    [
        ("outputs/meta-llama/Llama-3.1-8B/aime24_eval/aime24/test_x.jsonl", "meta-llama/Llama-3.1-8B"),
        ("qwen25-math-outputs/org/ckpts/checkpoint-21/aime24_eval/aime24/test_x.jsonl.gz", "org/ckpts/checkpoint-21"),
        ("org/model/math_eval/aime24/test_x.jsonl", "org/model"),
    ],
)  # fmt: skip
def test_qwen_harness_model_names_from_paths(tmp_path, relative, model):
    assert model_name(tmp_path / relative, tmp_path) == model


@pytest.mark.parametrize(
    "model,folders,name",
    [
        # The Qwen2.5-Math harness names a model by the folders it was loaded from: the model's own folder is its name.
        ("home/ubuntu/skyov1-dl/Sky-T1-math-wrong-5K-27B", True, "Sky-T1-math-wrong-5K-27B"),
        ("icml_models/Sky-T1-math-reflection-0.2-32B", True, "Sky-T1-math-reflection-0.2-32B"),
        ("meta-llama/Llama-3.1-8B", True, "Llama-3.1-8B"),
        ("Llama-3.1-8B", True, "Llama-3.1-8B"),
        # A checkpoint is named with its training run's folder, and nothing below the step folder.
        ("icml_models/Sky-T1-math-correct-5K-32B-ckpts/checkpoint-133", True,
         "Sky-T1-math-correct-5K-32B-ckpts/checkpoint-133"),
        ("/ckpt/dapo/global_step_120/actor/huggingface", False, "dapo/global_step_120"),
        ("/ckpt/run1/checkpoints/global_step_50", False, "run1/checkpoints/global_step_50"),
        ("checkpoint-7", True, "checkpoint-7"),
        # Folders that say what they hold, not which model, are named with the folder above them.
        ("/data/grpo-7b/huggingface", False, "grpo-7b"),
        ("/data/grpo-7b/final", False, "grpo-7b/final"),
        ("~/models/sft-run/merged/", False, "sft-run/merged"),
        ("./exp/orz-7b", False, "orz-7b"),
        ("C:\\runs\\grpo\\checkpoint-40", False, "grpo/checkpoint-40"),
        # What is not plainly a path is a hub or API id, kept as the source wrote it.
        ("Qwen/Qwen2.5-32B", False, "Qwen/Qwen2.5-32B"),
        ("openai-api/fake/fake", False, "openai-api/fake/fake"),
        ("fake", False, "fake"),
    ],
)  # fmt: skip
def test_an_imported_model_is_named_by_its_folder_never_by_the_machine_path(model, folders, name):
    assert display_name(model, folders=folders) == name


def test_the_display_name_reaches_the_run_and_the_source_name_stays_in_the_origin(aime24, tmp_path):
    from evalkit.importers.compare import rescore
    from evalkit.importers.write import write_imported_run
    from evalkit.store import read_manifest
    from evalkit.verify import Verifier

    items = [item(key=p.id, gold=p.answer, texts=(f"\\boxed{{{p.answer}}}",)) for p in aime24.problems]
    checkpoint = "home/alice/runs/grpo-7b/global_step_40/actor/huggingface"
    file = tmp_path / "x.jsonl"
    file.write_text("the same bytes in both folders\n")
    runs = []
    for path in (checkpoint, "other/" + checkpoint):
        fold = SourceRun("qwen25-math", "test", file, path, tuple(items), {}, model_from_folders=True)
        runs.append(assemble(fold, aime24))
    assert [(r.model, r.checkpoint_step, r.run_name) for r in runs] == [
        ("grpo-7b/global_step_40", 40, "grpo-7b/global_step_*")
    ] * 2
    with Verifier("math", workers=1) as verifier:
        written = [write_imported_run(rescore(run, verifier), tmp_path / "runs") for run in runs]
    assert len(set(written)) == 2  # one display name, two source folders: two runs, neither overwritten
    manifest = read_manifest(written[0])
    assert (manifest["model"], manifest["origin"]["model"]) == ("grpo-7b/global_step_40", checkpoint)
    assert "alice" not in written[0].name
    # A harness that names the model itself keeps a hub id, but a filesystem path is shortened the same way.
    for named, shown in (("/home/alice/runs/grpo-7b/global_step_40/actor/huggingface", "grpo-7b/global_step_40"),
                         ("Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B")):  # fmt: skip
        lm_eval = SourceRun("lm-eval", "test", file, named, tuple(items), {})
        assert assemble(lm_eval, aime24).model == shown


def source(items, fmt="evalkit", n_requested=None):
    return SourceRun(fmt, "test", Path("x.jsonl"), "org/m", tuple(items), {}, n_requested=n_requested)


def test_a_server_that_ignored_n_is_said(aime24):
    items = [item(key=p.id, line=f"line {i}") for i, p in enumerate(aime24.problems)]
    run = assemble(source(items, n_requested=16), aime24)
    assert run.n == 1
    (message,) = [f.message for f in run.findings if f.kind == "n-ignored"]
    assert "16 samples per problem were asked for" in message and "ignored n" in message


def test_uneven_and_repeated_samples(aime24):
    p1, p2 = aime24.problems[:2]
    distinct = [item(key=p1.id, texts=("a \\boxed{1}", "b \\boxed{2}", "c \\boxed{3}")),
                item(key=p2.id, texts=("x \\boxed{1}", "y \\boxed{2}"))]  # fmt: skip
    run = assemble(source(distinct), aime24)
    assert run.n == 2 and len(run.samples) == 4
    assert any(f.kind == "uneven" and "first 2" in f.message for f in run.findings)
    assert any(f.kind == "partial" for f in run.findings)
    repeated = [item(key=p1.id, texts=("same",) * 4), item(key=p2.id, texts=("a", "b", "c", "d"))]
    some = assemble(source(repeated), aime24)
    assert some.n == 4 and any("on 1 of 2 problems all 4 samples are one text" in f.message for f in some.findings)
    every = assemble(source([item(key=p1.id, texts=("same",) * 4)], fmt="lm-eval"), aime24)
    assert every.n == 1 and any("fixed seed" in f.message for f in every.findings)


def test_nothing_matching_raises(aime24):
    with pytest.raises(NothingToImport, match="covers another dataset"):
        assemble(source([item(key="test/1.json", problem="What is 2 + 2?")]), aime24)


CUT = "Let me compute. The total is 12 and then 7 so far, and we still need"


@pytest.mark.parametrize(
    "text,finish,theirs,keeps,verdict,gold,expected",
    [
        (CUT, None, "7", True, Verdict(None, False, "none", "none"), "204",
         "was cut off mid-reasoning; the source took the last number in the text (7)"),
        (CUT, "length", "12", True, Verdict(None, False, "none", "none"), "204", "the source read '12'"),
        ("So x = 5.", None, "5", True, Verdict(None, False, "none", "none"), "5",
         "states no final answer"),
        ("\\boxed{45}.", "stop", None, False, Verdict("45", True, "integer", "boxed"), "045",
         "the gold '045' written another way"),
        ("\\boxed{1/2}.", "stop", "1/2", True, Verdict("1/2", True, "math-verify", "boxed"), "\\frac{1}{2}",
         "same answer '1/2'; evalkit's comparison (math-verify) accepts it"),
        ("It is 3, so \\boxed{4}. Then 9", "stop", "9", True, Verdict("4", False, "integer", "boxed"), "9",
         "the source took the last number in the text (9)"),
        ("\\boxed{4}.", "stop", None, True, Verdict("4", True, "integer", "boxed"), "4",
         "the source found no answer; evalkit read '4' (boxed)"),
        ("", "stop", "0", True, Verdict(None, False, "none", "none"), "4", "the response is empty"),
    ],
)  # fmt: skip
def test_why_the_verdicts_differ(text, finish, theirs, keeps, verdict, gold, expected):
    assert expected in explain(text, finish, theirs, keeps, verdict, gold)
