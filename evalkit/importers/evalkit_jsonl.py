"""evalkit's generations JSONL (what `evalkit score` reads): `problem_id`, `response` and optional `sample_index`,
`finish_reason`, `output_tokens`, `model`, and, when another harness scored the responses first, its answer
`source_pred` and verdict `source_score`."""

from __future__ import annotations

from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.fields import shown, verdict
from evalkit.importers.files import iter_jsonl, logical_name
from evalkit.importers.source import SourceItem, SourceResponse, SourceRun
from evalkit.pipeline.rescore import SampleNumbering, generation_fields

NAME = "evalkit"
HARNESS = "evalkit generations file"


def claims(path: Path, keys: frozenset[str] | None) -> bool:
    return logical_name(path).endswith(".jsonl") and keys is not None and {"problem_id", "response"} <= keys


def read(path: Path, root: Path) -> list[SourceRun]:
    by_model: dict[str, dict[str, list[tuple[int, SourceResponse]]]] = {}
    golds: dict[str, str | None] = {}
    # The same reading as `evalkit score` (numbering, duplicates, counts), so the two never disagree on a file.
    numbering = SampleNumbering(str(path))
    for number, row in iter_jsonl(path):
        pid, text, finish_reason, tokens = generation_fields(row, str(path), number)
        model = str(row.get("model") or logical_name(path)[: -len(".jsonl")])
        index = numbering.index((model, pid), pid, row, number)
        try:
            correct = verdict(row.get("source_score"))
        except ValueError:
            raise EvalkitError(f"{path}:{number}: source_score {shown(row['source_score'])} is not a verdict; write "
                               "true or false, 1 or 0") from None  # fmt: skip
        pred = row.get("source_pred")
        by_model.setdefault(model, {}).setdefault(pid, []).append(
            (
                index,
                SourceResponse(
                    text=text,
                    finish_reason=finish_reason,
                    output_tokens=tokens,
                    extracted=None if pred is None else str(pred),
                    correct=correct,
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
