"""SkyThought's evaluation tool JSON: `<model>_<task>_<split>_<source>_<start>_<end>[_<prompt>].json`, one object
keyed by problem text whose values hold `problem`, `answer`, `responses` (per temperature: `content` and, once
checked, `correctness`), `token_usages` (per temperature) and the `prompt` sent. It writes no metrics file:
its accuracy is the mean of those `correctness` verdicts."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.importers.files import logical_name, read_json
from evalkit.importers.source import SourceItem, SourceResponse, SourceRun

NAME = "skythought"
HARNESS = "SkyThought evaluation tool"
_FILE = re.compile(
    r"^(?P<model>.+?)_(?P<task>[A-Za-z][A-Za-z0-9]*)_(?P<split>[A-Za-z]+)_(?P<source>[^_]+)_(?P<start>-?\d+)"
    r"_(?P<end>-?\d+)(?:_(?P<prompt>.+))?\.json$"
)


def _looks_like_entry(value: Any) -> bool:
    return isinstance(value, dict) and "responses" in value and ("problem" in value or "question" in value)


def claims(path: Path, document: Any) -> bool:
    if not logical_name(path).endswith(".json") or not isinstance(document, dict) or not document:
        return False
    return _looks_like_entry(next(iter(document.values())))


def _responses(value: Any) -> list[dict[str, Any]]:
    """A temperature's responses: one object, or a list of them when several were sampled."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v if isinstance(v, dict) else {"content": v} for v in value]
    if isinstance(value, str):
        return [{"content": value}]
    return []


def _usage(usages: Any, temperature: str, index: int, name: str) -> int | None:
    entry = usages.get(temperature) if isinstance(usages, dict) else None
    value = entry.get(name) if isinstance(entry, dict) else None
    if isinstance(value, list):
        value = value[index] if index < len(value) else None
    return int(value) if isinstance(value, (int, float)) else None


def read(path: Path, root: Path, document: Any | None = None) -> list[SourceRun]:
    document = read_json(path) if document is None else document
    if not isinstance(document, dict):
        raise EvalkitError(f"{path}: expected one JSON object keyed by problem")
    match = _FILE.match(logical_name(path))
    model = match["model"] if match else logical_name(path)[: -len(".json")]
    by_temperature: dict[str, list[SourceItem]] = {}
    for number, (key, entry) in enumerate(document.items(), start=1):
        if not _looks_like_entry(entry):
            raise EvalkitError(f"{path}: entry {number} has no `responses`; is this a SkyThought results file?")
        for temperature, value in (entry.get("responses") or {}).items():
            responses = []
            for index, response in enumerate(_responses(value)):
                correctness = response.get("correctness")
                responses.append(
                    SourceResponse(
                        text=str(response.get("content") or ""),
                        prompt_tokens=_usage(entry.get("token_usages"), temperature, index, "prompt_tokens"),
                        output_tokens=_usage(entry.get("token_usages"), temperature, index, "completion_tokens"),
                        correct=None if correctness is None else bool(correctness),
                    )
                )
            by_temperature.setdefault(temperature, []).append(
                SourceItem(
                    line=f"entry {number} (id {entry.get('id')})",
                    key=None,  # its id is a row number in the source's copy of the data
                    problem=entry.get("problem") or entry.get("question") or key,
                    prompt=entry.get("prompt"),
                    gold=None if entry.get("answer") is None else str(entry["answer"]),
                    responses=tuple(responses),
                )
            )
    runs = []
    for temperature, items in by_temperature.items():
        counts = {len(item.responses) for item in items}
        protocol: dict[str, Any] = {"prompt": match["prompt"] if match and match["prompt"] else None}
        with contextlib.suppress(ValueError):  # a key that is no temperature states none
            protocol["temperature"] = float(temperature)
        if len(counts) == 1:
            protocol["n"] = counts.pop()
        runs.append(
            SourceRun(
                format=NAME,
                harness=HARNESS,
                path=path,
                model=model,
                items=tuple(items),
                protocol=protocol,
                reported=None,
                task=match["task"] if match else None,
                keeps_answers=False,
            )
        )
    return runs
