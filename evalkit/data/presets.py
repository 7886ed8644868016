"""Known checkpoints with their paper's evaluation protocol and reported scores (data in presets.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.errors import EvalkitError

PRESETS_FILE = Path(__file__).with_name("presets.toml")
_METRIC = re.compile(r"^(avg|maj|pass)@(\d+)$")


@dataclass(frozen=True)
class ReportedScore:
    """A published number: which metric on which dataset, in percent, and where it was published."""

    dataset: str
    metric: str
    value: float
    source: str
    quote: str = ""
    secondary: bool = False

    @property
    def kind(self) -> str:
        return _METRIC.match(self.metric).group(1)  # type: ignore[union-attr]

    @property
    def k(self) -> int:
        return int(_METRIC.match(self.metric).group(2))  # type: ignore[union-attr]


@dataclass(frozen=True)
class Preset:
    name: str
    model: str
    family: str
    base: str
    template: str
    temperature: float
    top_p: float
    max_tokens: int
    n: int
    verifier: str
    notes: str = ""
    runnable: bool = True
    embedded: bool = False
    max_model_len: int | None = None
    dtype: str | None = None
    # A hosted model: where it is served, the variable holding its key, what the provider calls it, its price.
    kind: str | None = None
    base_urls: tuple[str, ...] | None = None
    api_key_env: str | None = None
    served_model: str | None = None
    vllm_extensions: bool | None = None
    price_input: float | None = None
    price_output: float | None = None
    price_source: str = ""
    # Shown when the preset runs: what the provider does that the protocol cannot control.
    warning: str = ""
    reported: tuple[ReportedScore, ...] = field(default_factory=tuple)

    @property
    def hosted(self) -> bool:
        return bool(self.base_urls)

    def reported_for(self, dataset: str) -> tuple[ReportedScore, ...]:
        return tuple(r for r in self.reported if r.dataset == dataset)


def load_presets(path: Path = PRESETS_FILE) -> list[Preset]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    presets = []
    for entry in raw.get("preset", []):
        reported = tuple(ReportedScore(**row) for row in entry.pop("reported", []))
        for score in reported:
            if not _METRIC.match(score.metric):
                raise ValueError(f"preset {entry['name']}: metric {score.metric!r} is not avg@N, maj@N or pass@N")
        if "base_urls" in entry:
            entry["base_urls"] = tuple(entry["base_urls"])
        presets.append(Preset(**entry, reported=reported))
    names = [p.name.lower() for p in presets]
    if len(names) != len(set(names)):
        raise ValueError("preset names must be unique")
    return presets


def find_preset(name: str, presets: list[Preset] | None = None) -> Preset | None:
    """The preset called `name`, or whose model id (or its last part) is `name`; case does not matter."""
    wanted = name.strip().lower()
    for preset in presets if presets is not None else load_presets():
        if wanted in (preset.name.lower(), preset.model.lower(), preset.model.rsplit("/", 1)[-1].lower()):
            return preset
    return None


def require_runnable(preset: Preset) -> Preset:
    if not preset.runnable:
        raise EvalkitError(
            f"preset {preset.name} has no public weights ({preset.model}); it is a reported-only row. "
            "Run your own checkpoint with its protocol: --template "
            f"{preset.template} --temperature {preset.temperature} --top-p {preset.top_p} "
            f"--max-tokens {preset.max_tokens} -n {preset.n} --verifier {preset.verifier}"
        )
    return preset
