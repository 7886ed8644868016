"""lm-evaluation-harness `--log_samples` files: `samples_<task>_<time>.jsonl` (one line per document: `doc`,
`target`, `arguments` with the generation settings, `resps` with every repeat, `filtered_resps`, and one field
per metric) beside `results_<time>.json` (the aggregate it reported and the task config)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evalkit.fields import finite_number, verdict
from evalkit.importers.files import existing, iter_jsonl, logical_name, read_json
from evalkit.importers.source import Reported, SourceItem, SourceResponse, SourceRun

NAME = "lm-eval"
HARNESS = "lm-evaluation-harness"
FIELDS = {"doc_id", "doc", "resps", "filtered_resps"}
_FILE = re.compile(r"^samples_(?P<task>.+)_(?P<time>\d{4}-\d{2}-\d{2}T[\d.-]+)\.jsonl$")


def claims(path: Path, keys: frozenset[str] | None) -> bool:
    return logical_name(path).endswith(".jsonl") and keys is not None and keys >= FIELDS


def is_companion(path: Path) -> bool:
    return re.match(r"^results_\d{4}-\d{2}-\d{2}T[\d.-]+\.json$", logical_name(path)) is not None


def _results_file(path: Path, time: str | None) -> Path | None:
    return None if time is None else existing(path.parent, f"results_{time}.json")


def _generation_kwargs(row: dict[str, Any]) -> dict[str, Any]:
    arguments = row.get("arguments") or {}
    first = next(iter(arguments.values()), None) if isinstance(arguments, dict) else None
    if isinstance(first, dict):
        kwargs = first.get("arg_1")
        return kwargs if isinstance(kwargs, dict) else {}
    if isinstance(first, (list, tuple)) and len(first) > 1 and isinstance(first[1], dict):
        return first[1]
    return {}


def _prompt_text(row: dict[str, Any]) -> str | None:
    arguments = row.get("arguments") or {}
    first = next(iter(arguments.values()), None) if isinstance(arguments, dict) else None
    raw = first.get("arg_0") if isinstance(first, dict) else (first[0] if isinstance(first, (list, tuple)) else None)
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if not isinstance(raw, str):
        return None
    try:  # chat requests are logged as the JSON of their messages
        messages = json.loads(raw)
        if isinstance(messages, list):
            return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    except json.JSONDecodeError:
        pass
    return raw


def _repeats(resps: Any) -> list[str]:
    """The generations of a document: `resps` holds one list per request; generate_until makes one request."""
    if not isinstance(resps, list) or not resps:
        return []
    first = resps[0]
    if isinstance(first, list):
        return [str(r) for r in first]
    return [str(r) for r in resps]


def read(path: Path, root: Path) -> list[SourceRun]:
    match = _FILE.match(logical_name(path))
    task = match["task"] if match else None
    results_path = _results_file(path, match["time"] if match else None)
    results = read_json(results_path) if results_path is not None else {}
    config = (results.get("configs") or {}).get(task or "", {}) if isinstance(results, dict) else {}
    items = []
    metric_name = None
    kwargs: dict[str, Any] = {}
    for number, row in iter_jsonl(path):
        kwargs = kwargs or _generation_kwargs(row)
        metrics = row.get("metrics") or []
        metric_name = metric_name or (metrics[0] if metrics else None)
        score = row.get(metric_name) if metric_name else None
        texts = _repeats(row.get("resps"))
        try:
            correct = verdict(score)
        except ValueError:  # a metric that is no verdict (a partial score): the source's verdict is unknown
            correct = None
        responses = [
            # Its default filter (take_first) scores the first repeat only: the verdict belongs to that one.
            SourceResponse(text=text, correct=None if i else correct)
            for i, text in enumerate(texts)
        ]
        doc = row.get("doc") if isinstance(row.get("doc"), dict) else {}
        problem = next((doc[k] for k in ("problem", "question", "Problem", "Question") if isinstance(doc.get(k), str)),
                       None)  # fmt: skip
        key = doc.get("id", doc.get("ID"))
        items.append(
            SourceItem(
                line=f"line {number} (doc_id {row.get('doc_id')})",
                key=None if key is None else str(key),
                problem=problem,
                prompt=_prompt_text(row),
                gold=None if row.get("target") is None else str(row["target"]),
                responses=tuple(responses),
            )
        )
    repeats = config.get("repeats") if isinstance(config, dict) else None
    protocol: dict[str, Any] = {
        "temperature": kwargs.get("temperature"),
        "top_p": kwargs.get("top_p"),
        "max_tokens": kwargs.get("max_gen_toks", kwargs.get("max_tokens")),
        "seed": None,
        "prompt": task,
    }
    if kwargs.get("do_sample") is False and protocol["temperature"] is None:
        protocol["temperature"] = 0.0
    counts = {len(item.responses) for item in items}
    if len(counts) == 1:
        protocol["n"] = counts.pop()
    notes = []
    filters = config.get("filter_list") if isinstance(config, dict) else None
    if isinstance(repeats, int) and repeats > 1 and not filters:
        notes.append(
            f"lm-eval scored only the first of the {repeats} repeats of each problem (its default take_first "
            "filter): its reported number is one sample per problem"
        )
    reported = None
    task_results = (results.get("results") or {}).get(task or "", {}) if isinstance(results, dict) else {}
    for key, value in task_results.items():
        stated = key.startswith(f"{metric_name},") and "stderr" not in key if metric_name else False
        if stated and finite_number(value) is not None:
            reported = Reported(key, 100 * value, results_path.name if results_path else "", "lm-eval's aggregate")
            break
    model_args = (results.get("config") or {}).get("model_args") if isinstance(results, dict) else None
    model = None
    if isinstance(model_args, dict):
        model = model_args.get("model") or model_args.get("pretrained")
    elif isinstance(model_args, str):
        found = re.search(r"(?:^|,)(?:model|pretrained)=([^,]+)", model_args)
        model = found.group(1) if found else None
    model = model or (results.get("model_name") if isinstance(results, dict) else None) or path.parent.name
    version = results.get("lm_eval_version") if isinstance(results, dict) else None
    return [
        SourceRun(
            format=NAME,
            harness=f"{HARNESS} {version}" if version else HARNESS,
            path=path,
            model=str(model),
            items=tuple(items),
            protocol=protocol,
            reported=reported,
            companions=(results_path,) if results_path else (),
            task=task,
            notes=tuple(notes),
            n_requested=repeats if isinstance(repeats, int) else None,
            prompt_text=config.get("doc_to_text") if isinstance(config, dict) else None,
            keeps_answers=False,
        )
    ]
