"""Every real model response in ../shared, with its gold answer: the rows that verdicts on real data are pinned on.

The four files of ../shared/generations (120 responses), the published Qwen2.5-Math-harness outputs (570 long
reasoning responses, ~45,000 characters on average) and SkyThought's own tool's outputs (90), read as those
harnesses wrote them. Read from ../shared at test time, never copied into the repository.
"""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass

from conftest import GENERATIONS, read_jsonl

PUBLISHED = GENERATIONS / "published"


@dataclass(frozen=True)
class RealResponse:
    """One response a real model wrote: where it comes from (`source:model:problem`), its text and the gold."""

    name: str
    response: str
    gold: str


@functools.cache
def real_responses() -> tuple[RealResponse, ...]:
    rows = []
    for path in sorted(GENERATIONS.glob("aime24_*.jsonl")):
        model = path.stem.removeprefix("aime24_")
        rows += [
            RealResponse(f"generations:{model}:{r['problem_id']}", r["response"], r["gold"]) for r in read_jsonl(path)
        ]
    published = PUBLISHED / "qwen25-math-outputs"
    for path in sorted(published.rglob("*.jsonl.gz")):
        model = "/".join(path.relative_to(published).parts[:-3])  # <model path>/aime24_eval/aime24/<file>
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                rows += [
                    RealResponse(f"qwen25-math:{model}:{row['idx']}", text, str(row["gt"])) for text in row["code"]
                ]
    for path in sorted((PUBLISHED / "skythought-tools").glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as file:
            document = json.load(file)
        for number, entry in enumerate(document.values()):
            for temperature, response in entry["responses"].items():
                name = f"skythought:{path.name.removesuffix('.json.gz')}:{number}:t{temperature}"
                rows.append(RealResponse(name, response["content"], str(entry["answer"])))
    return tuple(rows)
