"""Training checkpoints on disk as verl, HF Trainer / TRL, OpenRLHF and plain scripts write them, small and fast:
config.json, tokenizer files and real safetensors files (header and tensor bytes, written by hand as the format
says), with the trainers' completion markers where they write one."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8, "vocab_size": 16}
OLD = 1_600_000_000.0  # a modification time long past: files that have settled


def write_safetensors(path: Path, tensors: dict[str, int], fill: int = 0, cut: int = 0) -> None:
    """A safetensors file of float32 vectors (name -> length), each element `fill`; `cut` bytes short (still being
    written) when asked."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, length in tensors.items():
        header[name] = {"dtype": "F32", "shape": [length], "data_offsets": [offset, offset + 4 * length]}
        offset += 4 * length
    encoded = json.dumps(header).encode()
    data = struct.pack("<Q", len(encoded)) + encoded + struct.pack("<f", fill) * (offset // 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) - cut] if cut else data)


def hf_folder(folder: Path, fill: int = 0, shards: int = 1, config: dict | None = None, tokenizer: str = "tok") -> Path:
    """A Hugging Face model folder: config.json, tokenizer files and weights (sharded with an index when asked)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({**CONFIG, **(config or {}), "_name_or_path": str(folder)}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"name": tokenizer}))
    (folder / "tokenizer.json").write_text(json.dumps({"vocab": tokenizer}))
    if shards == 1:
        write_safetensors(folder / "model.safetensors", {"embed.weight": 16, "norm.weight": 8}, fill)
    else:
        weight_map = {}
        for number in range(1, shards + 1):
            name = f"model-{number:05d}-of-{shards:05d}.safetensors"
            write_safetensors(folder / name, {f"layers.{number}.weight": 8}, fill)
            weight_map[f"layers.{number}.weight"] = name
        index = {"metadata": {"total_size": 32 * shards}, "weight_map": weight_map}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder


def settle(folder: Path, when: float = OLD) -> None:
    """Set every file's modification time to `when` (a checkpoint written long ago)."""
    for root, dirs, files in os.walk(folder):
        for name in [*files, *dirs, "."]:
            os.utime(os.path.join(root, name), (when, when))


def verl_step(root: Path, step: int, fill: int = 0, tracker: bool = True) -> Path:
    """verl with hf_model in checkpoint.contents: global_step_N/actor/huggingface, then the tracker file."""
    weights = hf_folder(root / f"global_step_{step}" / "actor" / "huggingface", fill)
    (root / f"global_step_{step}" / "data.pt").write_bytes(b"dataloader")
    if tracker:
        (root / "latest_checkpointed_iteration.txt").write_text(str(step))
    return weights


def verl_fsdp_step(root: Path, step: int, world_size: int = 2) -> Path:
    """verl without hf_model: FSDP shards in actor/, only config and tokenizer in actor/huggingface."""
    actor = root / f"global_step_{step}" / "actor"
    (actor / "huggingface").mkdir(parents=True, exist_ok=True)
    (actor / "huggingface" / "config.json").write_text(json.dumps(CONFIG))
    for rank in range(world_size):
        for kind in ("model", "optim", "extra_state"):
            (actor / f"{kind}_world_size_{world_size}_rank_{rank}.pt").write_bytes(b"shard")
    (actor / "fsdp_config.json").write_text(json.dumps({"world_size": world_size}))
    (root / "latest_checkpointed_iteration.txt").write_text(str(step))
    return actor


def trainer_step(root: Path, step: int, fill: int = 0, shards: int = 1, state: bool = True, **kwargs) -> Path:
    """transformers' Trainer (and TRL's trainers): checkpoint-N with the model, optimizer, then trainer_state.json."""
    folder = hf_folder(root / f"checkpoint-{step}", fill, shards, **kwargs)
    (folder / "optimizer.pt").write_bytes(b"adam")
    if state:
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return folder


def lora_step(root: Path, step: int, base: str = "Qwen/Qwen2.5-7B") -> Path:
    """TRL with peft: checkpoint-N holds an adapter, not a model."""
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base, "r": 16}))
    write_safetensors(folder / "adapter_model.safetensors", {"lora_A": 8})
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return folder


def real_checkpoints(source: Path, root: Path, layout: str, steps: tuple[int, ...], sharded: int | None = None) -> None:
    """Checkpoints of a real model (the converted SmolLM2): the first step its own weights, each later step the same
    with seeded noise on a few tensors (a step of training, small and distinct), saved with safetensors in the
    layout a trainer writes (`verl` or `hf-trainer`); step `sharded` split into two shards with their index."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    weights = load_file(str(source / "model.safetensors"))
    for number, step in enumerate(steps):
        folder = (
            root / f"global_step_{step}" / "actor" / "huggingface" if layout == "verl" else root / f"checkpoint-{step}"
        )
        folder.mkdir(parents=True)
        for path in source.iterdir():
            if path.is_file() and path.name != "model.safetensors" and not path.name.startswith("."):
                shutil.copy(path, folder / path.name)
        tensors = dict(weights)
        if number:
            noise = torch.Generator().manual_seed(step)
            for name in [n for n in tensors if ".layers.0." in n or ".layers.1." in n or n == "model.norm.weight"]:
                value = tensors[name].float()
                tensors[name] = (value + 0.15 * value.std() * torch.randn(value.shape, generator=noise)).to(
                    tensors[name].dtype
                )
        if step == sharded:
            names = sorted(tensors)
            halves = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
            weight_map = {}
            for file, part in halves.items():
                save_file({n: tensors[n] for n in part}, str(folder / file), metadata={"format": "pt"})
                weight_map.update(dict.fromkeys(part, file))
            total = sum(t.numel() * t.element_size() for t in tensors.values())
            index = {"metadata": {"total_size": total}, "weight_map": weight_map}
            (folder / "model.safetensors.index.json").write_text(json.dumps(index))
        else:
            save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        if layout == "verl":
            (root / "latest_checkpointed_iteration.txt").write_text(str(step))
        else:
            (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
