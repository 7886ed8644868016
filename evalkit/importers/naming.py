"""What an imported model is called: the name a reader knows it by, not the machine path a harness wrote."""

from __future__ import annotations

import re

from evalkit.config import checkpoint_step

# Folders a training framework puts below the model's own (verl: global_step_N/actor/huggingface): never its name.
_INNER = frozenset({"actor", "critic", "huggingface", "hf", "hf_model", "hf_ckpt"})
# Folders whose name says what they hold, not which model: named together with the folder above them.
_GENERIC = frozenset({
    "checkpoints", "checkpoint", "ckpts", "ckpt", "models", "model", "outputs", "output", "saved_models", "final",
    "latest", "best", "merged", "export", "exported", "release",
})  # fmt: skip
_PATH = re.compile(r"^(/|~|\.{1,2}/|[A-Za-z]:[\\/])")


def looks_like_path(model: str) -> bool:
    """Whether a harness's model string is a filesystem path (absolute, `~` or `./`) rather than a hub or API id."""
    return bool(_PATH.match(model))


def display_name(model: str, *, folders: bool = False) -> str:
    """The model a path names, as a reader would call it: its folder, with the training run's folder for a
    checkpoint: `home/ubuntu/runs/Sky-T1-32B` -> `Sky-T1-32B`, `icml_models/X-ckpts/checkpoint-133` ->
    `X-ckpts/checkpoint-133`, `/ckpt/dapo/global_step_120/actor/huggingface` -> `dapo/global_step_120`.

    `folders` says the source always names a model by the folders it was loaded from (the Qwen2.5-Math harness's
    `outputs/<model path>/`), so even a relative path is one. Otherwise only a string that is plainly a path is
    shortened; a hub id (`Qwen/Qwen2.5-32B`) or an API model (`openai/gpt-4o`) is kept as written.
    """
    if not (folders or looks_like_path(model)):
        return model
    parts = [part for part in re.split(r"[\\/]+", model) if part not in ("", ".", "..", "~")]
    if not parts:
        return model
    steps = [i for i, part in enumerate(parts) if checkpoint_step(part) is not None]
    end = steps[-1] + 1 if steps else len(parts)
    while not steps and end > 1 and parts[end - 1].lower() in _INNER:
        end -= 1
    start = end - 1
    # A checkpoint or a generic folder is named with the folder above it, and so on up past generic folders.
    while start > 0 and (start in steps or parts[start].lower() in _GENERIC or parts[start].lower() in _INNER):
        start -= 1
    return "/".join(parts[start:end])
