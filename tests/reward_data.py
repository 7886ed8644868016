"""1,024 real (response, gold) pairs for the reward adapters: every real response in ../shared/generations, and
the same responses against golds written symbolically, so that the worker pool decides part of them."""

from __future__ import annotations

import functools
import gzip
import json

from conftest import GENERATIONS, read_jsonl

PAIRS = 1024


@functools.cache
def real_responses() -> tuple[tuple[str, str, str], ...]:
    """(question, response, gold) for the four greedy files and the published qwen25-math outputs (690 responses,
    45,000 characters on average in the published ones, up to 167,000)."""
    found = []
    for path in sorted(GENERATIONS.glob("aime24_*.jsonl")):
        found += [("", line["response"], str(line["gold"])) for line in read_jsonl(path)]
    for path in sorted((GENERATIONS / "published" / "qwen25-math-outputs").rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for raw in handle:
                line = json.loads(raw)
                gold = str(line.get("gt") or line.get("answer"))
                found += [(line["question"], response, gold) for response in line["code"]]
    assert len(found) >= 690, f"expected the 690 real responses under {GENERATIONS}, found {len(found)}"
    return tuple(found)


@functools.cache
def reward_pairs() -> tuple[tuple[str, str, str], ...]:
    """1,024 (question, response, gold): the real responses with their golds, then as many again as it takes
    against a symbolic gold (`\\sqrt{g^2}`, equal to the gold g, or `\\sqrt{(g+1)^2}`, not equal)."""
    real = list(real_responses())
    extra = []
    for index, (question, response, gold) in enumerate(real[: PAIRS - len(real)]):
        symbolic = f"\\sqrt{{{gold}^2}}" if index % 2 == 0 else f"\\sqrt{{({gold}+1)^2}}"
        extra.append((question, response, symbolic))
    return tuple(real + extra)[:PAIRS]


def chat_prompt(question: str) -> str:
    """A ChatML prompt as a chat template renders it (Qwen's), which OpenRLHF decodes in front of the response."""
    return (
        "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
        f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
    )
