"""Leaderboard scale: 100 runs of 960 samples each (30 problems x 32) -> CSV, markdown and HTML.

Usage: python bench/leaderboard_bench.py [--runs 100] [--keep DIR]

Builds the run directories first (manifest, samples.jsonl, results.json, as `evalkit run` writes them), then
times `evalkit leaderboard` over them in a fresh process, without and with the samples pages (one page per run,
every sample's text), and reports wall time and peak memory.
Target: tables and page under 5 s, with the samples pages under 15 s; under 1 GB.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evalkit.metrics import SampleOutcome, compute
from evalkit.pipeline.run import results_document
from evalkit.provenance import now_iso, package_versions
from evalkit.store import MANIFEST, SAMPLES, SampleRecord, write_json_atomic

PROBLEMS = [f"2024-{part}-{i}" for part in ("I", "II") for i in range(1, 16)]
N = 32


def make_run(root: Path, index: int, rng: random.Random) -> None:
    run_dir = root / f"run-{index:03d}"
    run_dir.mkdir(parents=True)
    skill = rng.random()
    family = ("DAPO", "GRPO", "R1-distill")[index % 3]
    step = 20 * (index % 10 + 1)
    lines, outcomes = [], []
    for pid in PROBLEMS:
        difficulty = rng.random()
        for sample in range(N):
            correct = rng.random() < skill * (1 - difficulty)
            answer = "42" if correct else str(rng.randrange(1000))
            text = "Reasoning " * 200 + f"\\boxed{{{answer}}}"
            verdict = {"extracted": answer, "correct": correct, "rule": "integer", "found_by": "boxed", "error": None}
            lines.append(SampleRecord(pid, sample, text, "stop", 120, 2000, sample, verdict).to_json() + "\n")
            outcomes.append(SampleOutcome(pid, sample, correct, answer, False, False, 2000))
    (run_dir / SAMPLES).write_text("".join(lines))
    manifest = {
        "format": "evalkit-run/1",
        "model": f"ckpt/{family.lower()}-run/global_step_{step}",
        "checkpoint_step": step,
        "labels": {"family": family, "run_name": f"ckpt/{family.lower()}-run/global_step_*"},
        "preset": None,
        "dataset": {"name": "aime24", "content_sha256": "x" * 64, "problems": 30},
        "template": {"name": "dapo", "sha256": "y" * 64},
        "sampling": {"n": N, "temperature": 1.0, "top_p": 0.7, "max_tokens": 20480, "seed": 0},
        "verifier": "math",
        "backend": {"kind": "vllm"},
        "versions": package_versions(),
        "created_at": now_iso(),
    }
    write_json_atomic(run_dir / MANIFEST, manifest)
    metrics = compute(outcomes, n=N, bootstrap=1000, seed=index)
    generation = {"wall_time_s": 1.0, "samples_generated": 960, "output_tokens_generated": 0, "tokens_per_s": 0}
    write_json_atomic(run_dir / "results.json", results_document(metrics, manifest, generation))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="build the runs here and keep them")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="evalkit-lb-bench-"))
    rng = random.Random(0)
    start = time.perf_counter()
    for index in range(args.runs):
        make_run(root / "runs", index, rng)
    print(f"built {args.runs} runs x {len(PROBLEMS) * N} samples in {time.perf_counter() - start:.1f} s under {root}")

    walls = {}
    for label, extra, limit in (("tables and page", ["--no-samples"], 5), ("with samples pages", [], 15)):
        out = root / ("out" if extra else "out-samples")
        command = [sys.executable, "-m", "evalkit", "leaderboard", str(root / "runs"), "--out", str(out), *extra]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(result.stderr)
        walls[label] = (wall, limit)
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
        print(f"evalkit leaderboard over {args.runs} runs, {label}: {wall:.2f} s wall, {size:.1f} MB written")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory {peak_mb:.0f} MB")
    verdicts = "; ".join(f"{label} < {limit} s -> {'met' if wall < limit else 'MISSED'}"
                         for label, (wall, limit) in walls.items())  # fmt: skip
    print(f"targets: {verdicts}; < 1024 MB -> {'met' if peak_mb < 1024 else 'MISSED'}")


if __name__ == "__main__":
    main()
