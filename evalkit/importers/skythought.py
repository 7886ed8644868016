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
from evalkit.fields import TokenCounts, shown, text_or_none, verdict
from evalkit.importers.files import Outline, logical_name, read_json
from evalkit.importers.source import SourceItem, SourceResponse, SourceRun

NAME = "skythought"
HARNESS = "SkyThought evaluation tool"
_FILE = re.compile(
    r"^(?P<model>.+?)_(?P<task>[A-Za-z][A-Za-z0-9]*)_(?P<split>[A-Za-z]+)_(?P<source>[^_]+)_(?P<start>-?\d+)"
    r"_(?P<end>-?\d+)(?:_(?P<prompt>.+))?\.json$"
)


def _looks_like_entry(value: Any) -> bool:
    return isinstance(value, dict) and "responses" in value and ("problem" in value or "question" in value)


def claims(path: Path, outline: Outline | None) -> bool:
    """A JSON object whose first value is an entry: `responses` and the `problem` (or `question`)."""
    if not logical_name(path).endswith(".json") or outline is None:
        return False
    return "responses" in outline.first_value_keys and bool({"problem", "question"} & outline.first_value_keys)


def _responses(value: Any) -> list[dict[str, Any]]:
    """A temperature's responses: one object, or a list of them when several were sampled."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v if isinstance(v, dict) else {"content": v} for v in value]
    if isinstance(value, str):
        return [{"content": value}]
    return []


def _usage(usages: Any, temperature: str, index: int, name: str) -> Any:
    entry = usages.get(temperature) if isinstance(usages, dict) else None
    value = entry.get(name) if isinstance(entry, dict) else None
    if isinstance(value, list):
        value = value[index] if index < len(value) else None
    return value


def read(path: Path, root: Path, document: Any | None = None) -> list[SourceRun]:
    document = read_json(path) if document is None else document
    if not isinstance(document, dict):
        raise EvalkitError(f"{path}: expected one JSON object keyed by problem")
    match = _FILE.match(logical_name(path))
    model = match["model"] if match else logical_name(path)[: -len(".json")]
    by_temperature: dict[str, list[SourceItem]] = {}
    token_counts = TokenCounts()
    for number, (key, entry) in enumerate(document.items(), start=1):
        if not _looks_like_entry(entry):
            raise EvalkitError(f"{path}: entry {number} has no `responses`; is this a SkyThought results file?")
        per_temperature = entry.get("responses")
        if not isinstance(per_temperature, dict):
            raise EvalkitError(f"{path}: entry {number}'s `responses` is not an object keyed by temperature")
        usages = entry.get("token_usages")
        for temperature, value in per_temperature.items():
            responses = []
            for index, response in enumerate(_responses(value)):
                where = f"entry {number}"
                try:
                    correct = verdict(response.get("correctness"))
                except ValueError:
                    raise EvalkitError(f"{path}: {where}: correctness {shown(response['correctness'])} is not a "
                                       "verdict (true or false, 1 or 0)") from None  # fmt: skip
                responses.append(
                    SourceResponse(
                        text=str(response.get("content") or ""),
                        prompt_tokens=token_counts.read(_usage(usages, temperature, index, "prompt_tokens"), where),
                        output_tokens=token_counts.read(_usage(usages, temperature, index, "completion_tokens"), where),
                        correct=correct,
                    )
                )
            by_temperature.setdefault(temperature, []).append(
                SourceItem(
                    line=f"entry {number} (id {entry.get('id')})",
                    key=None,  # its id is a row number in the source's copy of the data
                    problem=text_or_none(entry.get("problem")) or text_or_none(entry.get("question")) or key,
                    prompt=text_or_none(entry.get("prompt")),
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
                token_count_note=token_counts.note(),
            )
        )
    return runs
