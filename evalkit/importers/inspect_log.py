"""inspect's eval logs: a `.eval` file is a zip of JSON members (`header.json` with the task, model, generate
config, epochs and results; `samples/<id>_epoch_<k>.json` per sample with its output, usage and scores), written
zstd-compressed by recent versions; an older `.json` log holds the same in one document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.fields import TokenCounts, finite_number, text_or_none
from evalkit.importers.files import Outline, ZipMembers, logical_name, read_json
from evalkit.importers.source import Reported, SourceItem, SourceResponse, SourceRun

NAME = "inspect"
HARNESS = "inspect_ai"
# Scores inspect writes as letters: correct, incorrect, partial, no answer.
_LETTERS = {"C": True, "I": False, "P": False, "N": False}


def claims(path: Path, outline: Outline | None = None) -> bool:
    if logical_name(path).endswith(".eval"):
        return True
    return outline is not None and {"eval", "samples", "plan"} <= outline.keys


def _text(content: Any) -> tuple[str, str | None]:
    """A message's text and reasoning: content is a string, or a list of blocks (text, reasoning)."""
    if isinstance(content, str):
        return content, None
    texts, reasoning = [], []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "reasoning":
            reasoning.append(str(block.get("reasoning") or block.get("summary") or ""))
        elif isinstance(block.get("text"), str):
            texts.append(block["text"])
    return "".join(texts), ("\n".join(reasoning) or None)


def _verdict(value: Any) -> bool | None:
    if isinstance(value, str):
        return _LETTERS.get(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value >= 1
    return None


def _object(value: Any) -> dict[str, Any]:
    """A field that should hold an object; anything else (a damaged or foreign log) reads as an empty one."""
    return value if isinstance(value, dict) else {}


def _response(sample: dict[str, Any], token_counts: TokenCounts) -> SourceResponse:
    output = _object(sample.get("output"))
    choices = output.get("choices")
    choice = _object(choices[0]) if isinstance(choices, list) and choices else {}
    text, reasoning = _text(_object(choice.get("message")).get("content"))
    if not text and isinstance(output.get("completion"), str):
        text = output["completion"]
    usage = _object(output.get("usage"))
    scores = _object(sample.get("scores"))
    score = next(iter(scores.values()), None) if scores else None
    stop = text_or_none(choice.get("stop_reason"))
    where = f"sample {sample.get('id')} epoch {sample.get('epoch')}"
    return SourceResponse(
        text=text,
        finish_reason={"max_tokens": "length", "model_length": "length"}.get(stop, stop) if stop else None,
        prompt_tokens=token_counts.read(usage.get("input_tokens"), where),
        output_tokens=token_counts.read(usage.get("output_tokens"), where),
        reasoning=reasoning,
        extracted=None if not isinstance(score, dict) or score.get("answer") is None else str(score["answer"]),
        correct=_verdict(score.get("value")) if isinstance(score, dict) else None,
    )


def _prompt(sample: dict[str, Any]) -> str | None:
    for message in sample.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content"))[0]
    return None


def _load(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if logical_name(path).endswith(".eval"):
        with ZipMembers(path) as archive:
            names = archive.names()
            if "header.json" in names:
                header = archive.read_object("header.json")
            elif "_journal/start.json" in names:
                header = archive.read_object("_journal/start.json")
            else:
                raise EvalkitError(f"{path} has no header.json: is it an inspect log?")
            members = sorted(n for n in names if n.startswith("samples/") and n.endswith(".json"))
            return header, [archive.read_object(n) for n in members]
    document = read_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("samples") or [], list):
        raise EvalkitError(f"{path} is not an inspect log (not one object with a list of samples)")
    samples = document.get("samples") or []
    for number, sample in enumerate(samples, start=1):
        if not isinstance(sample, dict):
            raise EvalkitError(f"{path}: sample {number} is {type(sample).__name__} JSON, not an object")
    return document, samples


def read(path: Path, root: Path) -> list[SourceRun]:
    header, samples = _load(path)
    evaluation = _object(header.get("eval"))
    token_counts = TokenCounts()
    by_id: dict[str, list[dict[str, Any]]] = {}
    for sample in samples:
        by_id.setdefault(str(sample.get("id")), []).append(sample)
    items = []
    for sample_id, epochs in by_id.items():
        epochs.sort(key=lambda s: s.get("epoch") if isinstance(s.get("epoch"), int) else 0)
        first = epochs[0]
        raw_id = first.get("id")
        target = first.get("target")
        if isinstance(target, list):
            target = target[0] if target else None
        problem = first.get("input")
        items.append(
            SourceItem(
                line=f"sample {sample_id}",
                # inspect numbers samples 1, 2, ... when the dataset has no ids: only a written id is an id.
                key=raw_id if isinstance(raw_id, str) else None,
                problem=problem if isinstance(problem, str) else None,
                prompt=_prompt(first),
                gold=None if target is None else str(target),
                responses=tuple(_response(s, token_counts) for s in epochs),
            )
        )
    config = _object(evaluation.get("config"))
    generate = _object(evaluation.get("model_generate_config"))
    prompt = None
    for step in _object(header.get("plan")).get("steps") or []:
        if isinstance(step, dict) and step.get("solver") == "prompt_template":
            prompt = text_or_none(_object(step.get("params")).get("template"))
    protocol: dict[str, Any] = {
        "temperature": generate.get("temperature"),
        "top_p": generate.get("top_p"),
        "max_tokens": generate.get("max_tokens"),
        "seed": generate.get("seed"),
        "prompt": evaluation.get("task") if prompt else None,
    }
    counts = {len(item.responses) for item in items}
    if len(counts) == 1:
        protocol["n"] = counts.pop()
    reported = None
    for score in _object(header.get("results")).get("scores") or []:
        value = finite_number(_object(_object(_object(score).get("metrics")).get("accuracy")).get("value"))
        if value is not None:
            reported = Reported(f"{_object(score).get('name')} accuracy", 100 * value, "header.json",
                                "inspect's accuracy over epochs")  # fmt: skip
            break
    version = _object(evaluation.get("packages")).get("inspect_ai")
    notes = []
    if header.get("status") not in (None, "success"):
        notes.append(f"the log's status is {header.get('status')!r}: the evaluation did not finish")
    return [
        SourceRun(
            format=NAME,
            harness=f"{HARNESS} {version}" if version else HARNESS,
            path=path,
            model=str(evaluation.get("model") or path.stem),
            items=tuple(items),
            protocol=protocol,
            reported=reported,
            task=text_or_none(evaluation.get("task")),
            notes=tuple(notes),
            n_requested=config.get("epochs") if isinstance(config.get("epochs"), int) else None,
            prompt_text=prompt,
            token_count_note=token_counts.note(),
        )
    ]
