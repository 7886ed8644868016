"""Training checkpoints on disk: the folders trainers write, their steps, whether each is whole, which to evaluate."""

from __future__ import annotations

import contextlib
import functools
import glob
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from evalkit.errors import EvalkitError

# Folder names trainers give a checkpoint (matched whole), most specific first:
#   OpenRLHF  <ckpt.path>/global_step{N}_hf      (--ckpt.save_hf; DeepSpeed's own global_step{N} is not HF)
#   verl      <default_local_dir>/global_step_{N}/actor/huggingface, or FSDP/Megatron shards in .../actor
#   HF Trainer and TRL  <output_dir>/checkpoint-{N}
#   plain     step_{N}, step-{N}, iter_{N}, iter_0000100
FOLDER_NAMES = (
    (re.compile(r"global_step(\d+)_hf"), "openrlhf"),
    (re.compile(r"global_step_(\d+)"), "verl"),
    (re.compile(r"checkpoint-(\d+)"), "hf-trainer"),
    (re.compile(r"step[_-](\d+)"), "step"),
    (re.compile(r"iter[_-](\d+)"), "iter"),
)
# Completion markers, written by the trainer after the weights (verl's ray_trainer._save_checkpoint writes the
# tracker in default_local_dir once every role is saved; transformers' Trainer._save_checkpoint writes
# trainer_state.json after the model, optimizer and RNG state). The other layouts have none.
VERL_TRACKER = "latest_checkpointed_iteration.txt"
HF_TRAINER_STATE = "trainer_state.json"
# Without a marker, a folder is taken as written once none of its files has changed for this long.
DEFAULT_SETTLE_S = 60.0

READY, WRITING, LORA, SHARDED, UNUSABLE = "ready", "writing", "lora", "sharded", "unusable"
_FSDP_SHARD = re.compile(r"model_world_size_(\d+)_rank_(\d+)\.pt")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Checkpoint:
    """One step of a training run as found on disk.

    `folder` is what the trainer named for the step (global_step_120, checkpoint-120, ...); `weights` the Hugging
    Face folder to evaluate (verl: folder/actor/huggingface; sharded verl: the shards' folder, until merged).
    `state` is ready, writing (not complete yet: `reason` says why), lora, sharded or unusable (`reason` says what it
    is and what to do).
    """

    step: int
    folder: Path
    layout: str
    weights: Path
    state: str
    reason: str = ""
    written_at: str | None = None
    shards: str | None = None  # "fsdp" or "megatron" for verl's sharded checkpoints
    merged_from: Path | None = None

    @property
    def ready(self) -> bool:
        return self.state == READY

    @property
    def name(self) -> str:
        return self.folder.name


def iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _step_and_layout(name: str) -> tuple[int, str] | None:
    for pattern, layout in FOLDER_NAMES:
        match = pattern.fullmatch(name)
        if match:
            return int(match.group(1)), layout
    return None


def _weight_files(folder: Path) -> list[Path]:
    """The model's weight files in a Hugging Face folder (its index's shards when it has one); adapters excluded."""
    for index_name in _INDEXES:
        index = folder / index_name
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
                return [folder / name for name in sorted(set(weight_map.values()))]
            except (OSError, ValueError, AttributeError):
                return [index]  # a half-written index: checked (and found wanting) below
    try:
        return sorted(
            p
            for p in folder.iterdir()
            if p.suffix in (".safetensors", ".bin") and not p.name.startswith(("adapter_", "training_args"))
        )
    except OSError:
        return []


def has_weights(folder: Path) -> bool:
    """A Hugging Face model folder: config.json and weights (or their index)."""
    if not (folder / "config.json").is_file():
        return False
    return any((folder / name).is_file() for name in _INDEXES) or bool(_weight_files(folder))


def _safetensors_whole(path: Path) -> bool:
    """A safetensors file is whole when it is as long as its header says: 8 bytes of header length, the JSON header,
    then every tensor's bytes. A file still being written (or cut short) is shorter."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                return False
            (header_length,) = struct.unpack("<Q", prefix)
            if header_length > size - 8:
                return False
            header = json.loads(handle.read(header_length))
    except (OSError, ValueError, struct.error):
        return False
    ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    return size == 8 + header_length + max(ends, default=0)


def incomplete_weights(folder: Path) -> str | None:
    """Why the weights in `folder` are not whole yet (a shard its index names is missing, a safetensors file is
    shorter than its header says), or None."""
    for path in _weight_files(folder):
        if path.name in _INDEXES:
            return f"{path.name} cannot be read yet"
        if not path.is_file():
            return f"{path.name}, named by its index, is not there yet"
        if path.suffix == ".safetensors" and not _safetensors_whole(path):
            return f"{path.name} is shorter than its header says (still being written)"
    return None


def newest_change(folder: Path) -> float:
    """The newest modification time of anything in `folder` (recursively), the folder itself included."""
    newest = 0.0
    for root, _dirs, files in os.walk(folder):
        for name in [*files, "."]:
            try:
                newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
            except OSError:
                continue  # deleted while we looked
    return newest


def written_at(folder: Path) -> str | None:
    """When the weights were written: the newest modification time among the weight files, UTC."""
    times = []
    for path in _weight_files(folder):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return iso_utc(max(times)) if times else None


def _shards_written_at(actor: Path, shards: str) -> str | None:
    if shards == "megatron":
        newest = newest_change(actor / "dist_ckpt")
        return iso_utc(newest) if newest else None
    times = [p.stat().st_mtime for p in actor.iterdir() if _FSDP_SHARD.fullmatch(p.name)]
    return iso_utc(max(times)) if times else None


def _verl_tracker(folder: Path) -> int | None:
    try:
        return int((folder.parent / VERL_TRACKER).read_text().strip())
    except (OSError, ValueError):
        return None


def lora_reason(folder: Path) -> str:
    base = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        base = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")
    of = f" of {base}" if base else ""
    return (
        f"{folder} is a LoRA adapter{of} (adapter_config.json), not a whole model: merge it into its base "
        "(peft's PeftModel.from_pretrained(base, folder).merge_and_unload().save_pretrained(out)) and sweep the merged "
        "folders, or serve the base with `vllm serve BASE --enable-lora --lora-modules NAME=FOLDER` and sweep with "
        "--backend openai"
    )


def merge_command(checkpoint: Checkpoint, target: Path, python: str = "python") -> list[str]:
    """verl's own merger for a sharded checkpoint (verl.model_merger: `merge --backend fsdp|megatron`)."""
    return [python, "-m", "verl.model_merger", "merge", "--backend", checkpoint.shards or "fsdp",
            "--local_dir", str(checkpoint.weights), "--target_dir", str(target)]  # fmt: skip


def _verl_weights(folder: Path, step: int) -> tuple[Path, str | None]:
    """verl's Hugging Face folder for a step, or its shards ("fsdp" / "megatron") when only they were saved."""
    actor = folder / "actor"
    merged = actor / "huggingface"
    if has_weights(merged):
        return merged, None
    if has_weights(folder):  # merged by hand into the step folder itself
        return folder, None
    try:
        if any(_FSDP_SHARD.fullmatch(p.name) for p in actor.iterdir()):
            return actor, "fsdp"
    except OSError:
        pass
    if (actor / "dist_ckpt").is_dir():
        return actor, "megatron"
    return merged, None


def inspect_checkpoint(
    folder: Path, step: int, layout: str, settle_s: float = DEFAULT_SETTLE_S, now: float | None = None
) -> Checkpoint:
    """What one checkpoint folder holds and whether it can be evaluated now."""
    now = time.time() if now is None else now
    weights, shards = _verl_weights(folder, step) if layout == "verl" else (folder, None)
    found = Checkpoint(step, folder, layout, weights, READY, shards=shards)
    tracker = _verl_tracker(folder) if layout == "verl" else None
    if layout == "verl" and tracker is not None and tracker < step:
        return replace(found, state=WRITING, reason=f"verl's {VERL_TRACKER} says step {tracker}: still being written")
    if layout == "hf-trainer" and not (folder / HF_TRAINER_STATE).is_file():
        return replace(found, state=WRITING, reason=f"no {HF_TRAINER_STATE} yet (the Trainer writes it last)")
    marked = (layout == "verl" and tracker is not None) or layout == "hf-trainer"
    if not marked and settle_s > 0:
        quiet = now - newest_change(folder)
        if quiet < settle_s:
            return replace(
                found, state=WRITING, reason=f"changed {max(quiet, 0):.0f} s ago; taken as written after {settle_s:g} s"
            )
    if (weights / "adapter_config.json").is_file() or (folder / "adapter_config.json").is_file():
        return replace(
            found, state=LORA, reason=lora_reason(weights if (weights / "adapter_config.json").is_file() else folder)
        )
    if shards is not None:
        command = " ".join(merge_command(found, weights / "huggingface"))
        return replace(
            found, state=SHARDED, written_at=_shards_written_at(weights, shards),
            reason=f"holds verl {shards.upper()} shards, not Hugging Face weights; merge them with `{command}` "
            "(or install verl and evalkit merges them itself)",
        )  # fmt: skip
    if not has_weights(weights):
        return replace(
            found, state=UNUSABLE,
            reason=f"{weights} holds no Hugging Face weights (config.json with *.safetensors or *.bin)",
        )  # fmt: skip
    problem = incomplete_weights(weights)
    if problem is not None:
        return replace(found, state=WRITING, reason=problem)
    return replace(found, written_at=written_at(weights))


def _checkpoint_of(path: Path) -> tuple[Path, int, str] | None:
    """The step folder a path names: the folder itself, or a verl step folder's actor or actor/huggingface."""
    parts = path.parts
    for depth in range(3):
        if len(parts) <= depth:
            break
        candidate = path.parents[depth - 1] if depth else path
        named = _step_and_layout(candidate.name)
        if named is None:
            continue
        below = parts[len(parts) - depth :]
        if depth == 0 or (named[1] == "verl" and below in (("actor",), ("actor", "huggingface"))):
            return candidate, *named
    return None


def _candidates(source: str) -> list[tuple[Path, int, str]]:
    paths = [Path(p) for p in sorted(glob.glob(source))] if _GLOB_CHARS.search(source) else [Path(source)]
    found = []
    for path in paths:
        if not path.exists():
            raise EvalkitError(f"{path} does not exist; give a training run's checkpoint folder, or a glob of them")
        named = _checkpoint_of(path.absolute())
        if named is not None:
            found.append(named)
            continue
        if not path.is_dir():
            continue
        for child in sorted(path.iterdir()):
            step = _step_and_layout(child.name)
            if step is not None and child.is_dir():
                found.append((child.absolute(), *step))
    return found


def discover(sources: Sequence[str], settle_s: float = DEFAULT_SETTLE_S, now: float | None = None) -> list[Checkpoint]:
    """Every checkpoint under `sources` (a training run's checkpoint folder, a checkpoint, or a glob), in step
    order, each with its state. One step found in two places is refused: one sweep is one training run."""
    by_step: dict[int, Checkpoint] = {}
    seen: set[Path] = set()
    for source in sources:
        for folder, step, layout in _candidates(source):
            if folder in seen:
                continue
            seen.add(folder)
            if not folder.exists():
                continue  # removed by the trainer's rotation while we looked
            checkpoint = inspect_checkpoint(folder, step, layout, settle_s, now)
            other = by_step.get(step)
            if other is not None:
                raise EvalkitError(
                    f"step {step} is both {other.folder} and {folder}; a sweep is one training run: give the folder "
                    "of one run (or a glob that matches only its checkpoints)"
                )
            by_step[step] = checkpoint
    return [by_step[step] for step in sorted(by_step)]


def recognise(path: Path) -> Checkpoint | None:
    """The checkpoint a model folder is, when it is laid out as a trainer writes one; None for any other folder.
    Only hard evidence counts as still being written (a marker missing, a file shorter than its header)."""
    if not path.is_dir():
        return None
    named = _checkpoint_of(path.absolute())
    if named is None:
        return None
    return inspect_checkpoint(*named, settle_s=0)


@dataclass(frozen=True)
class StepSelection:
    """Which steps a sweep evaluates: multiples of `every`, within [first, last], then the `latest` highest."""

    every: int | None = None
    first: int | None = None
    last: int | None = None
    latest: int | None = None

    @classmethod
    def parse(cls, every: int | None, steps: str | None, latest: int | None) -> StepSelection:
        if every is not None and every < 1:
            raise EvalkitError(f"--every must be at least 1, got {every}")
        if latest is not None and latest < 1:
            raise EvalkitError(f"--latest must be at least 1, got {latest}")
        first = last = None
        if steps is not None:
            low, sep, high = steps.partition(":")
            try:
                if not sep:
                    raise ValueError
                first = int(low) if low.strip() else None
                last = int(high) if high.strip() else None
            except ValueError:
                raise EvalkitError(f"--steps {steps!r} is not FIRST:LAST (e.g. 100:400, 100: or :400)") from None
            if first is not None and last is not None and first > last:
                raise EvalkitError(f"--steps {steps!r} is empty: {first} is after {last}")
        return cls(every, first, last, latest)

    def choose(self, steps: Iterable[int]) -> list[int]:
        chosen = sorted(
            s
            for s in set(steps)
            if (self.every is None or s % self.every == 0)
            and (self.first is None or s >= self.first)
            and (self.last is None or s <= self.last)
        )
        return chosen[-self.latest :] if self.latest is not None else chosen

    def describe(self) -> str:
        parts = []
        if self.every is not None:
            parts.append(f"multiples of {self.every}")
        if self.first is not None or self.last is not None:
            parts.append(f"steps {'' if self.first is None else self.first}:{'' if self.last is None else self.last}")
        if self.latest is not None:
            parts.append(f"the latest {self.latest}")
        return ", ".join(parts) or "every step"


@functools.cache
def merger_problem() -> str | None:
    """Why verl's model merger cannot run here (verl not installed, or installed without what it imports), or None.
    Asked once, in a separate interpreter: importing verl pulls in ray and torch."""
    if importlib.util.find_spec("verl") is None:
        return "verl is not installed"
    probe = subprocess.run([sys.executable, "-c", "import verl.model_merger.base_model_merger"], capture_output=True,
                           text=True, check=False)  # fmt: skip
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"verl is installed but its merger cannot be imported ({last})"
    return None


def can_merge() -> bool:
    """verl's model merger can turn sharded checkpoints into Hugging Face folders here."""
    return merger_problem() is None


def merge_sharded(checkpoint: Checkpoint, target: Path, log_path: Path) -> Checkpoint:
    """Merge a sharded verl checkpoint into `target` with verl's merger; the merged folder appears whole or not at
    all (written beside it, then renamed). The merger's output goes to `log_path`."""
    if target.is_dir() and has_weights(target) and incomplete_weights(target) is None:
        return _merged(checkpoint, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with open(log_path, "ab") as log:
            result = subprocess.run(merge_command(checkpoint, staging, sys.executable), stdout=log,
                                    stderr=subprocess.STDOUT, check=False)  # fmt: skip
        if result.returncode != 0 or not has_weights(staging):
            raise EvalkitError(
                f"verl's model merger failed on {checkpoint.weights} (exit {result.returncode}); its output is in "
                f"{log_path}"
            )
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return _merged(checkpoint, target)


def _merged(checkpoint: Checkpoint, target: Path) -> Checkpoint:
    return replace(
        checkpoint,
        layout=f"verl-{checkpoint.shards}-merged",
        weights=target,
        state=READY,
        reason="",
        written_at=checkpoint.written_at,
        merged_from=checkpoint.weights,
    )
