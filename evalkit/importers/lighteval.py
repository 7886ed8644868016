"""lighteval's details parquet: `details_<task>_<time>.parquet`, one row per problem with `doc` (the query sent, the
gold among `choices`, the samples asked for), `model_response` (every sampled `text`, token counts, reasonings)
and `metric` (that problem's scores), and `results_<time>.json` with the aggregate it reported and the generation
parameters. lighteval keeps per-problem scores only, not a verdict per sample."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.fields import TokenCounts, finite_number, text_or_none
from evalkit.importers.files import existing, logical_name, read_bytes, read_json
from evalkit.importers.source import Reported, SourceItem, SourceResponse, SourceRun

NAME = "lighteval"
HARNESS = "lighteval"
_FILE = re.compile(r"^details_(?P<task>.+)_(?P<time>\d{4}-\d{2}-\d{2}T[\d.-]+)\.parquet$")
# The per-problem metric that is the mean over samples, in the order lighteval names them.
_MEAN_METRICS = ("avg@n", "pass@k:k=1", "pass@1", "math_pass@1", "extractive_match", "expr_gold_metric")


def claims(path: Path) -> bool:
    return logical_name(path).endswith(".parquet") and logical_name(path).startswith("details_")


def _results_file(path: Path, time: str | None) -> Path | None:
    """`results_<time>.json` beside the details, or in lighteval's own layout (results/<model>/ next to details/)."""
    if time is None:
        return None
    name = f"results_{time}.json"
    beside = existing(path.parent, name)
    if beside is not None:
        return beside
    for ancestor in list(path.parents)[:4]:
        found = sorted(ancestor.glob(f"results/**/{name}*"))
        if found:
            return found[0]
    return None


def _rows(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise EvalkitError(f"{path} is parquet; install `pyarrow` (pip install pyarrow) to read it") from None
    import io

    try:
        table = pq.read_table(io.BytesIO(read_bytes(path)))
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise EvalkitError(f"{path} is not a readable parquet file ({exc})") from None
    return table.to_pylist()


def _mean_metric(metrics: dict[str, Any]) -> tuple[str, float] | None:
    for prefix in _MEAN_METRICS:
        for name, value in metrics.items():
            if name.startswith(prefix) and not name.endswith("_stderr") and finite_number(value) is not None:
                return name, float(value)
    return None


def _at(values: Any, index: int) -> Any:
    return values[index] if isinstance(values, list) and index < len(values) else None


def read(path: Path, root: Path) -> list[SourceRun]:
    match = _FILE.match(logical_name(path))
    task = match["task"] if match else None
    results_path = _results_file(path, match["time"] if match else None)
    results = read_json(results_path) if results_path is not None else {}
    items = []
    requested: set[int] = set()
    metric_name = None
    token_counts = TokenCounts()
    for number, row in enumerate(_rows(path), start=1):
        doc = row.get("doc") or {}
        response = row.get("model_response") or {}
        texts = response.get("text") or []
        reasonings = response.get("reasonings") or []
        responses = [
            SourceResponse(
                text=str(text),
                reasoning=reasonings[i] if i < len(reasonings) and isinstance(reasonings[i], str) else None,
                prompt_tokens=token_counts.read(_at(response.get("input_tokens"), i), f"row {number}"),
                output_tokens=token_counts.read(_at(response.get("output_tokens"), i), f"row {number}"),
            )
            for i, text in enumerate(texts)
        ]
        if isinstance(doc.get("num_samples"), int):
            requested.add(doc["num_samples"])
        choices = doc.get("choices") or []
        gold_index = doc.get("gold_index")
        gold = None
        if isinstance(gold_index, int) and gold_index < len(choices):
            gold = str(choices[gold_index])
        elif isinstance(gold_index, list) and gold_index and gold_index[0] < len(choices):
            gold = str(choices[gold_index[0]])
        mean = _mean_metric(row.get("metric") or {})
        metric_name = metric_name or (mean[0] if mean else None)
        items.append(
            SourceItem(
                line=f"row {number} (id {doc.get('id')})",
                key=None,  # lighteval numbers documents by position in its own copy of the data
                problem=None,
                prompt=text_or_none(doc.get("query")) or text_or_none(doc.get("original_query")),
                gold=gold,
                responses=tuple(responses),
                solved_fraction=mean[1] if mean else None,
            )
        )
    general = results.get("config_general") or {} if isinstance(results, dict) else {}
    model_config = general.get("model_config") or {}
    params = model_config.get("generation_parameters") or {}
    protocol: dict[str, Any] = {
        "temperature": params.get("temperature"),
        "top_p": params.get("top_p"),
        "max_tokens": params.get("max_new_tokens"),
        "seed": params.get("seed"),
        "prompt": None,
    }
    task_config = (results.get("config_tasks") or {}).get(task or "", {}) if isinstance(results, dict) else {}
    if isinstance(task_config, dict) and task_config.get("prompt_function"):
        protocol["prompt"] = task_config["prompt_function"]
    counts = {len(item.responses) for item in items}
    if len(counts) == 1:
        protocol["n"] = counts.pop()
    reported = None
    task_results = (results.get("results") or {}).get(task or "", {}) if isinstance(results, dict) else {}
    value = finite_number(task_results.get(metric_name)) if metric_name and isinstance(task_results, dict) else None
    if value is not None and results_path is not None:
        reported = Reported(metric_name, 100 * value, results_path.name, "lighteval's mean")
    model = general.get("model_name") or model_config.get("model_name") or path.parent.name
    version = general.get("lighteval_sha")
    return [
        SourceRun(
            format=NAME,
            harness=HARNESS if not version or version == "?" else f"{HARNESS} {version}",
            path=path,
            model=str(model),
            items=tuple(items),
            protocol=protocol,
            reported=reported,
            companions=(results_path,) if results_path else (),
            task=task,
            notes=("lighteval keeps a score per problem, not a verdict per sample",),
            n_requested=requested.pop() if len(requested) == 1 else None,
            keeps_answers=False,
            token_count_note=token_counts.note(),
        )
    ]
