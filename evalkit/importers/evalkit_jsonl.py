"""evalkit's generations JSONL (what `evalkit score` reads): `problem_id`, `response` and optional `sample_index`,
`finish_reason`, `output_tokens`, `model`, and, when another harness scored the responses first, its answer
`source_pred` and verdict `source_score`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.importers.files import iter_jsonl, logical_name
from evalkit.importers.source import SourceItem, SourceResponse, SourceRun

NAME = "evalkit"
HARNESS = "evalkit generations file"


def claims(path: Path, first_row: dict[str, Any] | None) -> bool:
    return (
        logical_name(path).endswith(".jsonl") and first_row is not None and {"problem_id", "response"} <= set(first_row)
    )


def read(path: Path, root: Path) -> list[SourceRun]:
    by_model: dict[str, dict[str, list[tuple[int, SourceResponse]]]] = {}
    golds: dict[str, str | None] = {}
    for number, row in iter_jsonl(path):
        if "problem_id" not in row or not isinstance(row.get("response"), str):
            raise EvalkitError(f"{path}:{number} needs `problem_id` and a text `response`")
        pid = str(row["problem_id"])
        model = str(row.get("model") or logical_name(path)[: -len(".jsonl")])
        problems = by_model.setdefault(model, {})
        samples = problems.setdefault(pid, [])
        index = row.get("sample_index")
        tokens = row.get("output_tokens")
        score = row.get("source_score")
        samples.append(
            (
                int(index) if isinstance(index, int) else len(samples),
                SourceResponse(
                    text=row["response"],
                    finish_reason=row.get("finish_reason"),
                    output_tokens=int(tokens) if isinstance(tokens, (int, float)) else None,
                    extracted=None if row.get("source_pred") is None else str(row["source_pred"]),
                    correct=None if score is None else bool(score),
                ),
            )
        )
        if row.get("gold") is not None:
            golds[pid] = str(row["gold"])
    runs = []
    for model, problems in by_model.items():
        items = tuple(
            SourceItem(
                line=f"problem_id {pid}",
                key=pid,
                problem=None,
                prompt=None,
                gold=golds.get(pid),
                responses=tuple(response for _, response in sorted(samples, key=lambda pair: pair[0])),
            )
            for pid, samples in problems.items()
        )
        counts = {len(item.responses) for item in items}
        runs.append(
            SourceRun(
                format=NAME,
                harness=HARNESS,
                path=path,
                model=model,
                items=items,
                protocol={"n": counts.pop()} if len(counts) == 1 else {},
                keeps_answers=any(r.extracted is not None for item in items for r in item.responses),
            )
        )
    return runs
