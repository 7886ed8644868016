"""Two synthetic training runs from one base (a DAPO and a GRPO run, four checkpoints each), evaluated through the
real pipeline with a backend whose answers, lengths, truncation and language mixing change with the step as such runs
do; each run directory then gets the `checkpoint` record `evalkit sweep` writes, with the weights' write time."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fake_backend import FakeBackend

from evalkit.backends.base import Completion
from evalkit.config import resolve_run
from evalkit.data import datasets as ds
from evalkit.data.prompts import load_template
from evalkit.pipeline.run import run
from evalkit.verify import Verifier

STEPS = (100, 200, 300, 400)
FIRST_WRITE = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)

ENGLISH = (
    "Let me think about this carefully. We first write down what is given and what is asked, then we check "
    "each case in turn, and we verify the result by substituting it back into the original conditions. "
)
# R1-Zero-like: the reasoning switches to Chinese mid-way and back.
CHINESE = "所以我们需要重新检查一下这个条件，然后把每一种情况都代进去验证结果是否正确。"


@dataclass(frozen=True)
class Trajectory:
    """How a training run's checkpoints answer, per step: accuracy, words per response, and the shares of truncated
    and language-mixing samples."""

    accuracy: dict[int, float]
    words: dict[int, int]
    truncated: dict[int, float]
    mixing: dict[int, float]
    hours_per_100_steps: float


DAPO = Trajectory(
    accuracy={100: 0.3, 200: 0.4, 300: 0.5, 400: 0.6},
    words={100: 150, 200: 220, 300: 300, 400: 380},
    truncated={100: 0.0, 200: 0.1, 300: 0.1, 400: 0.2},
    mixing={100: 0.0, 200: 0.0, 300: 0.0, 400: 0.0},
    hours_per_100_steps=3.0,
)
GRPO = Trajectory(
    accuracy={100: 0.3, 200: 0.35, 300: 0.4, 400: 0.4},
    words={100: 150, 200: 160, 300: 170, 400: 180},
    truncated={100: 0.0, 200: 0.0, 300: 0.0, 400: 0.0},
    mixing={100: 0.0, 200: 0.2, 300: 0.4, 400: 0.6},
    hours_per_100_steps=2.0,
)


def _uniform(*key: object) -> float:
    digest = hashlib.sha256(":".join(map(str, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class TrajectoryBackend(FakeBackend):
    """Answers like the checkpoint at `step` of a run following `trajectory`, decided per sample by a hash."""

    def __init__(self, gold: dict[str, str], trajectory: Trajectory, step: int, name: str):
        super().__init__(gold)
        self.trajectory, self.step, self.name = trajectory, step, name

    async def generate(self, requests, sampling):
        t, step = self.trajectory, self.step
        for request in requests:
            pid = request.prompt.problem_id
            for offset in range(request.count):
                index = request.first_index + offset
                words = t.words[step]
                text = (ENGLISH * (words // 32 + 1))[: words * 6]
                if _uniform(self.name, step, pid, index, "mix") < t.mixing[step]:
                    text = ENGLISH * 2 + CHINESE * 2 + ENGLISH + CHINESE
                if _uniform(self.name, step, pid, index, "cut") < t.truncated[step]:
                    reason, tokens = "length", 2 * words
                else:
                    right = _uniform(self.name, step, pid, index, "right") < t.accuracy[step]
                    answer = self.gold[pid] if right else str(int(self.gold[pid]) + 1)
                    text += f"\n\nTherefore the answer is $\\boxed{{{answer}}}$."
                    reason, tokens = "stop", words + 12
                yield Completion(pid, index, text, reason, 30, tokens, request.seed_of(offset))


def record_checkpoint(run_dir: Path, step: int, written_at: datetime, layout: str = "verl") -> None:
    """Add the manifest record `evalkit sweep` writes for a checkpoint it evaluated."""
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["checkpoint"] = {
        "path": manifest["model"], "step": step, "layout": layout,
        "training_run": manifest["labels"]["run_name"], "written_at": written_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    path.write_text(json.dumps(manifest, indent=2))


def build_sweeps(root: Path, shared_data: Path, steps=STEPS, n: int = 4, limit: int = 10) -> Path:
    """`root/<algo>-<step>/` for DAPO and GRPO; both start from one base and write their first checkpoint at once."""
    dataset = ds.load("aime24", ds.DataLocations(shared_data, root / "cache"), allow_download=False)
    gold = {p.id: p.answer for p in dataset.problems}
    for name, trajectory in (("dapo", DAPO), ("grpo", GRPO)):
        for step in steps:
            model = f"/ckpt/qwen-7b-{name}/global_step_{step}/actor"
            resolved = resolve_run(model, {"n": n, "limit": limit, "family": name.upper(), "seed": step,
                                           "max_tokens": 4096}, None)  # fmt: skip
            run_dir = root / f"{name}-{step}"
            backend = TrajectoryBackend(gold, trajectory, step, name)
            with Verifier(resolved.verifier) as verifier:
                run(resolved.config, dataset, load_template(resolved.config.template), lambda b=backend: b, run_dir,
                    verifier)  # fmt: skip
            hours = (step - steps[0]) / 100 * trajectory.hours_per_100_steps
            record_checkpoint(run_dir, step, FIRST_WRITE + timedelta(hours=hours))
    return root
