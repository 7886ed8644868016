"""Finding a training run's checkpoints as trainers lay them out: steps, completion markers, whole weights, LoRA
adapters, verl's shards, rotation, and choosing steps."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from checkpoint_dirs import (
    hf_folder,
    lora_step,
    settle,
    trainer_step,
    verl_fsdp_step,
    verl_step,
    write_safetensors,
)

from evalkit.data import checkpoints as ckpt
from evalkit.errors import EvalkitError


def states(found: list[ckpt.Checkpoint]) -> dict[int, tuple[str, str]]:
    return {c.step: (c.layout, c.state) for c in found}


def test_verl_merged_steps_are_ready_up_to_the_tracker_and_the_step_being_written_waits(tmp_path):
    # verl writes global_step_N/actor/huggingface, then latest_checkpointed_iteration.txt (ray_trainer._save_checkpoint)
    for step in (10, 20):
        verl_step(tmp_path, step)
    verl_step(tmp_path, 30, tracker=False)  # weights on disk, the tracker still says 20
    found = ckpt.discover([str(tmp_path)])
    assert states(found) == {10: ("verl", "ready"), 20: ("verl", "ready"), 30: ("verl", "writing")}
    assert found[0].weights == tmp_path / "global_step_10" / "actor" / "huggingface"
    assert found[0].folder == tmp_path / "global_step_10"
    assert "latest_checkpointed_iteration.txt says step 20" in found[2].reason


def test_hf_trainer_checkpoints_wait_for_trainer_state_and_whole_shards(tmp_path):
    trainer_step(tmp_path, 5)
    trainer_step(tmp_path, 10, shards=3)  # sharded safetensors with their index
    trainer_step(tmp_path, 15, state=False)  # the Trainer writes trainer_state.json last
    trainer_step(tmp_path, 20, shards=2)
    (tmp_path / "checkpoint-20" / "model-00002-of-00002.safetensors").unlink()  # a shard the index names is missing
    trainer_step(tmp_path, 25)
    write_safetensors(tmp_path / "checkpoint-25" / "model.safetensors", {"embed.weight": 16}, cut=5)  # cut short
    found = {c.step: c for c in ckpt.discover([str(tmp_path)])}
    ready = {s for s, c in found.items() if c.state == "ready"}
    assert ready == {5, 10} and {found[s].state for s in (15, 20, 25)} == {"writing"}
    assert "trainer_state.json" in found[15].reason
    assert "model-00002-of-00002.safetensors, named by its index, is not there yet" in found[20].reason
    assert "shorter than its header says" in found[25].reason
    assert all(c.layout == "hf-trainer" and c.weights == c.folder for c in found.values())


def test_layouts_without_a_marker_are_ready_once_their_files_have_settled(tmp_path):
    # OpenRLHF's save_model writes global_step{N}_hf (weights, config, tokenizer) and no marker; plain step_N, iter_N
    hf_folder(tmp_path / "global_step20_hf")
    hf_folder(tmp_path / "step_30")
    hf_folder(tmp_path / "iter_0000040")
    settle(tmp_path / "step_30")
    settle(tmp_path / "iter_0000040")
    found = ckpt.discover([str(tmp_path)], settle_s=60)
    assert states(found) == {20: ("openrlhf", "writing"), 30: ("step", "ready"), 40: ("iter", "ready")}
    assert "taken as written after 60 s" in found[0].reason
    later = ckpt.discover([str(tmp_path)], settle_s=60, now=time.time() + 61)
    assert states(later)[20] == ("openrlhf", "ready")
    assert states(ckpt.discover([str(tmp_path)], settle_s=0))[20] == ("openrlhf", "ready")


def test_a_lora_adapter_is_said_plainly_with_what_to_do(tmp_path):
    lora_step(tmp_path, 50, base="Qwen/Qwen2.5-Math-7B")
    [found] = ckpt.discover([str(tmp_path)])
    assert found.state == "lora"
    assert "is a LoRA adapter of Qwen/Qwen2.5-Math-7B (adapter_config.json), not a whole model" in found.reason
    assert "merge_and_unload" in found.reason and "--enable-lora" in found.reason


def test_verl_shards_name_the_exact_merge_command(tmp_path):
    actor = verl_fsdp_step(tmp_path, 100)
    (tmp_path / "global_step_200" / "actor" / "dist_ckpt").mkdir(parents=True)
    (tmp_path / "latest_checkpointed_iteration.txt").write_text("200")
    found = {c.step: c for c in ckpt.discover([str(tmp_path)])}
    assert found[100].state == "sharded" and found[100].shards == "fsdp" and found[100].weights == actor
    command = f"python -m verl.model_merger merge --backend fsdp --local_dir {actor} --target_dir {actor}/huggingface"
    assert f"`{command}`" in found[100].reason
    assert found[200].shards == "megatron" and "--backend megatron" in found[200].reason
    assert found[100].written_at is not None  # from the shards' modification times


def test_a_folder_with_no_hugging_face_weights_is_unusable_once_settled(tmp_path):
    megatron = tmp_path / "iter_0000500" / "mp_rank_00"
    megatron.mkdir(parents=True)
    (megatron / "model_optim_rng.pt").write_bytes(b"megatron")
    settle(tmp_path / "iter_0000500")
    [found] = ckpt.discover([str(tmp_path)])
    assert found.state == "unusable" and "holds no Hugging Face weights" in found.reason


def test_other_folders_are_not_checkpoints(tmp_path):
    trainer_step(tmp_path, 5)
    for name in ("runs", "logs", "global_step10", "checkpoint-best", "mystep_3", "_actor", "step_x"):
        (tmp_path / name).mkdir()
    (tmp_path / "checkpoint-7").write_text("a file, not a folder")
    assert [c.step for c in ckpt.discover([str(tmp_path)])] == [5]


def test_sources_are_run_folders_checkpoints_or_globs(tmp_path):
    for step in (10, 20, 30):
        verl_step(tmp_path / "run", step)
    run = tmp_path / "run"
    assert [c.step for c in ckpt.discover([str(run / "global_step_*")])] == [10, 20, 30]
    assert [c.step for c in ckpt.discover([str(run / "global_step_20" / "actor" / "huggingface")])] == [20]
    assert [c.step for c in ckpt.discover([str(run / "global_step_20"), str(run / "global_step_10")])] == [10, 20]
    assert ckpt.discover([str(tmp_path / "nothing-yet-*")]) == []  # a glob may match nothing yet (--watch)
    with pytest.raises(EvalkitError, match="does not exist"):
        ckpt.discover([str(tmp_path / "missing")])


def test_one_step_in_two_places_is_refused(tmp_path):
    trainer_step(tmp_path / "a", 10)
    trainer_step(tmp_path / "b", 10)
    with pytest.raises(EvalkitError, match="a sweep is one training run"):
        ckpt.discover([str(tmp_path / "a"), str(tmp_path / "b")])


def test_written_at_is_the_newest_weight_file_in_utc(tmp_path):
    folder = trainer_step(tmp_path, 5, shards=2)
    settle(folder)
    os.utime(folder / "model-00002-of-00002.safetensors", (1_700_000_000, 1_700_000_000))
    os.utime(folder / "trainer_state.json", (1_800_000_000, 1_800_000_000))  # not a weight file
    [found] = ckpt.discover([str(tmp_path)])
    assert found.written_at == "2023-11-14T22:13:20Z"


def test_the_newest_change_is_the_newest_file_anywhere_below_not_the_folders_own_time(tmp_path):
    folder = trainer_step(tmp_path, 5, shards=2)
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    os.utime(folder / "model-00001-of-00002.safetensors", (1_700_000_500, 1_700_000_500))  # rewritten in place
    assert ckpt.newest_change(folder) == 1_700_000_500


def test_a_folder_given_twice_is_one_checkpoint_and_the_rest_of_its_source_is_still_read(tmp_path):
    for step in (10, 20):
        trainer_step(tmp_path / "run", step)
    found = ckpt.discover([str(tmp_path / "run" / "checkpoint-10"), str(tmp_path / "run")])
    assert [c.step for c in found] == [10, 20]


def test_a_checkpoint_deleted_while_discovery_reads_it_is_left_out(tmp_path, monkeypatch):
    trainer_step(tmp_path, 5)
    trainer_step(tmp_path, 10)
    real = ckpt._candidates

    def rotated(source):
        found = real(source)
        import shutil

        shutil.rmtree(tmp_path / "checkpoint-5")  # the Trainer's rotate_checkpoints, between listing and reading
        return found

    monkeypatch.setattr(ckpt, "_candidates", rotated)
    assert [c.step for c in ckpt.discover([str(tmp_path)])] == [10]


@pytest.mark.parametrize(
    "every,steps,latest,expected",
    [
        (None, None, None, [10, 20, 30, 40, 50, 100]),
        (20, None, None, [20, 40, 100]),
        (None, "20:40", None, [20, 30, 40]),
        (None, "30:", None, [30, 40, 50, 100]),
        (None, ":20", None, [10, 20]),
        (None, None, 2, [50, 100]),
        (10, "15:60", 2, [40, 50]),
        (None, None, 100, [10, 20, 30, 40, 50, 100]),
        (7, None, None, []),
    ],
)
def test_steps_are_chosen_by_multiple_range_and_latest_in_step_order(every, steps, latest, expected):
    selection = ckpt.StepSelection.parse(every, steps, latest)
    assert selection.choose([100, 50, 10, 40, 30, 20, 20]) == expected


@pytest.mark.parametrize(
    "every,steps,latest,said",
    [
        (None, None, None, "every step"),
        (100, "200:", 3, "multiples of 100, steps 200:, the latest 3"),
        (None, ":400", None, "steps :400"),
        (None, "100:400", None, "steps 100:400"),
    ],
)
def test_a_selection_says_what_it_chooses(every, steps, latest, said):
    assert ckpt.StepSelection.parse(every, steps, latest).describe() == said


@pytest.mark.parametrize(
    "every,steps,latest,message",
    [
        (0, None, None, "--every must be at least 1"),
        (None, None, 0, "--latest must be at least 1"),
        (None, "100", None, "is not FIRST:LAST"),
        (None, "a:b", None, "is not FIRST:LAST"),
        (None, "400:100", None, "is empty: 400 is after 100"),
    ],
)
def test_impossible_selections_are_refused_in_one_line(every, steps, latest, message):
    with pytest.raises(EvalkitError, match=message):
        ckpt.StepSelection.parse(every, steps, latest)


def test_recognise_takes_a_checkpoint_folder_as_evalkit_run_is_given_it(tmp_path):
    weights = verl_step(tmp_path / "dapo", 120)
    found = ckpt.recognise(weights)
    assert (found.step, found.layout, found.state, found.weights) == (120, "verl", "ready", weights)
    assert ckpt.recognise(tmp_path / "dapo" / "global_step_120").weights == weights
    assert ckpt.recognise(hf_folder(tmp_path / "plain-model")) is None
    assert ckpt.recognise(tmp_path / "missing") is None
    # no settling for a folder given by hand: only markers and whole weights count
    assert ckpt.recognise(hf_folder(tmp_path / "step_7")).state == "ready"


STAND_IN_MERGER = """
import argparse, json, pathlib, struct, sys
parser = argparse.ArgumentParser()
parser.add_argument("operation")
parser.add_argument("--backend")
parser.add_argument("--local_dir")
parser.add_argument("--target_dir")
args = parser.parse_args()
assert args.operation == "merge" and args.backend == "fsdp", args
local = pathlib.Path(args.local_dir)
assert any(local.glob("model_world_size_*_rank_*.pt")), "no shards"
target = pathlib.Path(args.target_dir)
target.mkdir(parents=True, exist_ok=True)
(target / "config.json").write_text((local / "huggingface" / "config.json").read_text())
header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
(target / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
print("merged", local, "->", target)
"""


def test_verl_shards_are_merged_with_verls_own_merger_when_verl_is_installed(tmp_path, monkeypatch):
    """A stand-in `verl.model_merger` (its CLI as verl defines it: merge --backend --local_dir --target_dir)."""
    package = tmp_path / "site" / "verl" / "model_merger"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(STAND_IN_MERGER)
    (package / "base_model_merger.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "site"), *sys.path]))
    ckpt.merger_problem.cache_clear()
    assert ckpt.can_merge()
    actor = verl_fsdp_step(tmp_path / "run", 100)
    [found] = ckpt.discover([str(tmp_path / "run")])
    target = tmp_path / "sweep" / "merged" / "global_step_100"
    merged = ckpt.merge_sharded(found, target, tmp_path / "sweep" / "merge.log")
    assert (merged.state, merged.layout, merged.weights, merged.merged_from) == (
        "ready", "verl-fsdp-merged", target, actor,
    )  # fmt: skip
    assert ckpt.has_weights(target) and ckpt.incomplete_weights(target) is None
    assert "merged" in (tmp_path / "sweep" / "merge.log").read_text()
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no staging folder left behind
    # merged before (a resumed sweep): taken as it is, the merger not run again
    log_size = (tmp_path / "sweep" / "merge.log").stat().st_size
    assert ckpt.merge_sharded(found, target, tmp_path / "sweep" / "merge.log") == merged
    assert (tmp_path / "sweep" / "merge.log").stat().st_size == log_size
    # a merger that fails leaves no folder that looks merged, and says where its output is
    (actor / "model_world_size_2_rank_0.pt").unlink()
    (actor / "model_world_size_2_rank_1.pt").unlink()
    with pytest.raises(EvalkitError, match="verl's model merger failed .* its output is in"):
        ckpt.merge_sharded(found, tmp_path / "sweep" / "merged" / "other", tmp_path / "sweep" / "merge.log")
    assert not (tmp_path / "sweep" / "merged" / "other").exists()
    assert "AssertionError: no shards" in (tmp_path / "sweep" / "merge.log").read_text()  # its errors too
    ckpt.merger_problem.cache_clear()


def test_a_verl_that_cannot_import_its_merger_is_not_taken_for_one_that_can(tmp_path, monkeypatch):
    package = tmp_path / "site" / "verl"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("import ray  # verl imports ray first; installed without it, it fails\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    ckpt.merger_problem.cache_clear()
    try:
        assert not ckpt.can_merge()
        assert "verl is installed but its merger cannot be imported" in ckpt.merger_problem()
        assert "No module named 'ray'" in ckpt.merger_problem()
    finally:
        ckpt.merger_problem.cache_clear()


def test_safetensors_wholeness_reads_the_header_the_library_writes(tmp_path):
    safetensors = pytest.importorskip("safetensors.numpy")
    import numpy as np

    path = tmp_path / "real.safetensors"
    safetensors.save_file({"a": np.zeros((3, 5), dtype=np.float32), "b": np.ones(7, dtype=np.int64)}, str(path))
    assert ckpt._safetensors_whole(path)
    data = path.read_bytes()
    path.write_bytes(data[:-1])
    assert not ckpt._safetensors_whole(path)
    path.write_bytes(data[:6])
    assert not ckpt._safetensors_whole(path)
    path.write_bytes(json.dumps({"not": "safetensors"}).encode())
    assert not ckpt._safetensors_whole(path)
