"""The Qwen2.5-Math evaluation harness's outputs (also what SkyThought's and SimpleRL-Zoo's evaluations write):
`<model>/<dataset>_eval/<dataset>/<split>_<prompt>_<count>_seed<S>_t<T>_s<start>_e<end>.jsonl`, one line per
problem with `question`, `gt`, `code` (the responses), `pred` (its extracted answers) and `score` (its
verdicts), and beside it `..._<prompt>_metrics.json` with the `acc` it reported, in percent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.fields import finite_number, shown, text_or_none, verdict
from evalkit.importers.files import existing, iter_jsonl, logical_name, read_json
from evalkit.importers.source import Reported, SourceItem, SourceResponse, SourceRun

NAME = "qwen25-math"
HARNESS = "Qwen2.5-Math evaluation harness"
FIELDS = {"idx", "code", "pred", "score"}
_FILE = re.compile(
    r"^(?P<split>[^_]+)_(?P<prompt>.+)_(?P<count>-?\d+)_seed(?P<seed>-?\d+)_t(?P<temperature>\d+(?:\.\d+)?)"
    r"_s(?P<start>-?\d+)_e(?P<end>-?\d+)\.jsonl$"
)
# Folders whose name says they hold evaluation outputs: the model path starts below them.
_OUTPUT_ROOTS = re.compile(r"(^|[-_])outputs?$")


def claims(path: Path, keys: frozenset[str] | None) -> bool:
    return logical_name(path).endswith(".jsonl") and keys is not None and keys >= FIELDS


def is_companion(path: Path) -> bool:
    return logical_name(path).endswith("_metrics.json")


def model_name(path: Path, root: Path) -> str:
    """The model a result file belongs to, as the harness wrote it (the path it was loaded from; what is shown is
    its own folder, importers/naming.py): the folders above `<dataset>_eval/`, below an `outputs` folder or else
    below the import root: `outputs/meta-llama/Llama-3.1-8B/aime24_eval/aime24/x.jsonl` -> meta-llama/Llama-3.1-8B.
    """

    def above_eval(parts: tuple[str, ...]) -> tuple[str, ...]:
        eval_at = next((i for i in range(len(parts) - 1, -1, -1) if parts[i].endswith("_eval")), None)
        return parts[:eval_at] if eval_at is not None else parts[:-1]

    model_parts = above_eval(path.parent.parts)
    roots = [i for i, part in enumerate(model_parts) if _OUTPUT_ROOTS.search(part)]
    if roots:
        chosen = model_parts[roots[-1] + 1 :]
    else:
        try:
            chosen = above_eval(path.parent.relative_to(root).parts)
        except ValueError:
            chosen = ()
    chosen = chosen or model_parts[-2:]
    return "/".join(chosen) or path.stem


def _metrics_file(path: Path, prompt: str | None) -> Path | None:
    stem = logical_name(path)[: -len(".jsonl")]
    named = existing(path.parent, f"{stem}_{prompt}_metrics.json") if prompt else None
    return named or next(iter(sorted(path.parent.glob(f"{stem}_*metrics.json*"))), None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def read(path: Path, root: Path) -> list[SourceRun]:
    match = _FILE.match(logical_name(path))
    protocol: dict[str, Any] = {}
    if match:
        protocol = {
            "prompt": match["prompt"],
            "seed": int(match["seed"]),
            "temperature": float(match["temperature"]),
        }
    items = []
    for number, row in iter_jsonl(path):
        responses = _as_list(row.get("code"))
        preds = _as_list(row.get("pred"))
        scores = _as_list(row.get("score"))
        if not all(isinstance(r, str) for r in responses):
            raise EvalkitError(f"{path}:{number}: `code` should be the list of response texts")
        sampled = []
        for i, text in enumerate(responses):
            pred = preds[i] if i < len(preds) else None
            try:
                correct = verdict(scores[i] if i < len(scores) else None)
            except ValueError:
                raise EvalkitError(f"{path}:{number}: `score` {shown(scores[i])} is not a verdict (true or false, "
                                   "1 or 0)") from None  # fmt: skip
            sampled.append(SourceResponse(text=text, extracted=None if pred is None else str(pred), correct=correct))
        gold = row.get("gt", row.get("answer"))
        items.append(
            SourceItem(
                line=f"line {number} (idx {row.get('idx')})",
                key=None,  # idx is a position in the harness's copy of the data, not an id
                problem=text_or_none(row.get("question")) or text_or_none(row.get("problem")),
                prompt=None,
                gold=None if gold is None else str(gold),
                responses=tuple(sampled),
            )
        )
    counts = {len(item.responses) for item in items}
    if len(counts) == 1:
        protocol["n"] = counts.pop()
    reported = None
    companions: tuple[Path, ...] = ()
    metrics_path = _metrics_file(path, protocol.get("prompt"))
    if metrics_path is not None:
        companions = (metrics_path,)
        metrics = read_json(metrics_path)
        acc = finite_number(metrics.get("acc")) if isinstance(metrics, dict) else None
        if acc is not None:
            # It writes round(100 * mean, 1).
            reported = Reported("acc", acc, metrics_path.name, "mean of its verdicts", decimals=1)
    task = path.parent.name
    return [
        SourceRun(
            format=NAME,
            harness=HARNESS,
            path=path,
            model=model_name(path, root),
            model_from_folders=True,
            items=tuple(items),
            protocol=protocol,
            reported=reported,
            companions=companions,
            task=task,
            notes=(
                "its answer extraction falls back to the last number in the text, so a response cut off "
                "mid-reasoning can count as answered",
            ),
        )
    ]
