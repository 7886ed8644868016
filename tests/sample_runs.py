"""Runs for leaderboard tests: real runs through the pipeline with fake backends, and the shared generations
scored into run directories."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import GENERATIONS
from fake_backend import FakeBackend

from evalkit.backends.base import Completion
from evalkit.config import resolve_run
from evalkit.data import datasets as ds
from evalkit.data.presets import find_preset
from evalkit.data.prompts import load_template
from evalkit.pipeline.rescore import read_generations, save_scored_run, score
from evalkit.pipeline.run import run
from evalkit.verify import Verifier

HOSTILE = "<script>alert('x')</script>"


class HostileBackend(FakeBackend):
    """Answers every problem with markup, as a misbehaving model might."""

    async def generate(self, requests, sampling):
        for request in requests:
            for offset in range(request.count):
                text = f"So the answer is \\boxed{{{HOSTILE}}}."
                index = request.first_index + offset
                yield Completion(request.prompt.problem_id, index, text, "stop", 10, 8, request.seed + offset)


def make_run(root: Path, dataset, model: str, n: int = 4, backend=None, **given) -> Path:
    preset = find_preset(model)
    resolved = resolve_run(model, {"n": n, "limit": 10, **given}, preset)
    config = resolved.config
    run_dir = root / model.replace("/", "--")
    backend = backend or FakeBackend({p.id: p.answer for p in dataset.problems})
    with Verifier(resolved.verifier) as verifier:
        run(config, dataset, load_template(config.template), lambda: backend, run_dir, verifier)
    return run_dir


def build_runs(root: Path, shared_data: Path) -> Path:
    """Six runs (a preset, a baseline, a three-checkpoint sweep, a hostile model) and four scored files."""
    dataset = ds.load("aime24", ds.DataLocations(shared_data, root / "cache"))
    make_run(root, dataset, "DAPO-Qwen-32B", n=8)
    make_run(root, dataset, "org/grpo-baseline", n=4, family="GRPO", base_model="Qwen2.5-32B")
    for step in (40, 80, 120):
        make_run(root, dataset, f"ckpt/dapo-run/global_step_{step}/actor", n=2, family="DAPO", seed=step)
    make_run(root, dataset, "org/hostile", n=2, backend=HostileBackend())
    for path in sorted(GENERATIONS.glob("aime24_*.jsonl")):
        generations = read_generations(path)
        report = score(generations, dataset, "math")
        model = json.loads(path.read_text().splitlines()[0])["model"]
        save_scored_run(report, generations, dataset, root / "scored" / path.stem, model, "SkyThought greedy outputs",
                        "0" * 64, {"template": "qwen25-math-cot"}, {"temperature": 0.0})  # fmt: skip
    return root
