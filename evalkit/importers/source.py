"""What a format reader takes out of another harness's files, before problems are matched or anything is verified:
the responses as written, the source's own answers and verdicts, its reported score and the protocol it states."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Protocol facts an import records; whatever a source does not state is recorded as unknown.
PROTOCOL_FIELDS = ("temperature", "top_p", "max_tokens", "n", "seed", "prompt")


@dataclass(frozen=True)
class SourceResponse:
    """One response as the source wrote it, with the answer the source extracted and its verdict (None: unknown)."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    reasoning: str | None = None
    extracted: str | None = None
    correct: bool | None = None


@dataclass(frozen=True)
class SourceItem:
    """One problem as the source wrote it. `line` says where (for reports); `key` is the source's own id.

    `problem` is the bare problem text when the source keeps it; `prompt` is the full text sent to the model
    (the problem is looked for inside it when nothing else matches). `solved_fraction` is the source's own
    per-problem score when it keeps no per-sample verdicts (lighteval).
    """

    line: str
    key: str | None
    problem: str | None
    prompt: str | None
    gold: str | None
    responses: tuple[SourceResponse, ...]
    solved_fraction: float | None = None


@dataclass(frozen=True)
class Reported:
    """The score the source reported for the run, in percent, as its own metrics file states it."""

    metric: str
    value: float
    file: str
    note: str = ""
    # Decimals (of the percent) the source rounds its number to, when its code is known to round.
    decimals: int | None = None


@dataclass(frozen=True)
class SourceRun:
    """One model or checkpoint's outputs in one source file (with its companion files)."""

    format: str
    harness: str
    path: Path
    model: str
    items: tuple[SourceItem, ...]
    protocol: dict[str, Any]
    reported: Reported | None = None
    companions: tuple[Path, ...] = ()
    task: str | None = None
    # Facts about how the source produced or scored these samples that change what its numbers mean.
    notes: tuple[str, ...] = ()
    # How many samples per problem the source asked for, when it says so (to catch a server that ignored n).
    n_requested: int | None = None
    # Whether the source writes down the answer it extracted from each response (not only its verdict).
    keeps_answers: bool = True
    # The prompt template's text, when the source keeps it (its name is protocol["prompt"]).
    prompt_text: str | None = None
    # Whether `model` is the path of folders the model was loaded from (the Qwen2.5-Math harness's layout), which
    # is shortened to the model's own folder for display (importers/naming.py).
    model_from_folders: bool = False
    # Token counts in the file that are not counts (negative, fractional, text), recorded as unknown: said once.
    token_count_note: str | None = None

    def stated_protocol(self) -> dict[str, Any]:
        """The protocol facts the source states; every field it leaves out is None."""
        return {name: self.protocol.get(name) for name in PROTOCOL_FIELDS}
