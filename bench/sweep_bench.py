"""A sweep's cost per checkpoint: one vLLM engine whose weights are swapped in place, against a new engine for every
checkpoint (`--restart-engine`), on the same checkpoints, problems and settings, in one process.

Usage: python bench/sweep_bench.py [--checkpoints 5] [--problems 2] [-n 2] [--max-tokens 32] [--check-load-weights]

Checkpoints are the embedded SmolLM2-135M (converted once into the evalkit cache) and copies with seeded noise on a
few tensors, saved with safetensors in HF Trainer's layout in a temporary folder. Both sweeps run the real pipeline
(`evalkit.pipeline.sweep.Sweep`: runs, store, verification, leaderboard files); the engine's starts, closes, swaps
and greedy checks are timed where they happen. Prints, for each mode: the whole sweep, the engine work in it, and
the overhead a checkpoint adds beyond generating and scoring its samples; and that overhead against a cold engine
start (the issue's target: at most a quarter). vLLM is imported once before both (its import, ~10-20 s, is not an
engine start and is printed apart). `--check-load-weights` also checks the fallback swap (the model's own
load_weights) against a fresh engine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


class Timings:
    def __init__(self) -> None:
        self.spans: dict[str, list[float]] = {}

    def add(self, kind: str, seconds: float) -> None:
        self.spans.setdefault(kind, []).append(seconds)

    def timed(self, kind: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(kind, time.perf_counter() - started)

        return wrapper

    def total(self, kind: str) -> float:
        return sum(self.spans.get(kind, []))

    def count(self, kind: str) -> int:
        return len(self.spans.get(kind, []))

    def mean(self, kind: str) -> float:
        values = self.spans.get(kind, [])
        return statistics.mean(values) if values else 0.0


class QuietView:
    def notice(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def started(self, progress: Any, info: Any) -> None:
        pass

    def sampled(self, progress: Any) -> None:
        pass

    def stopped(self) -> None:
        pass


def sweep_once(root: Path, out: Path, given: dict, restart: bool) -> tuple[float, Timings, int]:
    from evalkit.pipeline import launch
    from evalkit.pipeline.sweep import Sweep, SweepOptions

    timings = Timings()

    def start(model: str, config: Any) -> Any:
        engine = timings.timed("start", launch.make_backend)(config, model)
        engine.reload_weights = timings.timed("swap", engine.reload_weights)
        engine.greedy = timings.timed("greedy check", engine.greedy)
        engine.close = timings.timed("close", engine.close)
        return engine

    options = SweepOptions(sources=(str(root),), output_dir=out, restart_engine=restart)
    started = time.perf_counter()
    outcome = Sweep(options, given, QuietView(), None, 5.0, start_engine=start).run()
    return time.perf_counter() - started, timings, len(outcome.evaluated)


def report(name: str, wall: float, timings: Timings, checkpoints: int, cold_start: float) -> float:
    engine_work = sum(timings.total(k) for k in ("start", "close", "swap", "greedy check"))
    evaluating = wall - engine_work
    # What a checkpoint adds beyond generating and scoring its samples; the first engine start is paid by any
    # evaluation, one checkpoint or a sweep, so it is left out.
    overhead = (engine_work - timings.spans["start"][0]) / max(checkpoints - 1, 1)
    print(f"\n{name}: {checkpoints} checkpoints in {wall:.1f} s")
    print(f"  engine starts  {timings.count('start')} x {timings.mean('start'):.2f} s")
    print(f"  engine closes  {timings.count('close')} x {timings.mean('close'):.2f} s")
    if timings.count("swap"):
        swaps = f"{timings.count('swap')} x {timings.mean('swap'):.2f} s"
        print(f"  in-place swaps {swaps} (reload_weights + prefix cache reset)")
    if timings.count("greedy check"):
        checks = f"{timings.count('greedy check')} x {timings.mean('greedy check'):.2f} s"
        print(f"  greedy checks  {checks} (the once-per-sweep swap check)")
    print(f"  engine work    {engine_work:.1f} s; generating, verifying, scoring, writing: {evaluating:.1f} s")
    print(f"  overhead per checkpoint after the first: {overhead:.2f} s = {overhead / cold_start:.2f} of a cold start")
    return overhead


def check_load_weights(first: Path, second: Path, given: dict) -> None:
    """The fallback swap (the model's own load_weights through collective_rpc) against a fresh engine."""
    from evalkit.backends.vllm_engine import worker_load_weights
    from evalkit.config import resolve_run
    from evalkit.data import datasets as ds
    from evalkit.data.prompts import load_template
    from evalkit.pipeline import launch
    from evalkit.pipeline.run import build_prompts

    config = resolve_run(str(first), given, None).config
    data = ds.load(config.dataset, ds.DataLocations.from_env()).select(1)
    probe = next(iter(build_prompts(data, load_template(config.template), "chat").values()))
    engine = launch.make_backend(config, str(first))
    before = engine.greedy(probe)
    started = time.perf_counter()
    try:
        engine.llm.collective_rpc(worker_load_weights, args=(str(second),))
    except Exception as exc:  # what the sweep does then: restart the engine for that checkpoint
        last = str(exc).strip().splitlines()[-1][:200]
        print(f"\nload_weights fallback: fails on this vLLM ({type(exc).__name__}: {last}); a sweep restarts instead")
        engine.close()
        return
    engine.llm.reset_prefix_cache()
    seconds = time.perf_counter() - started
    swapped = engine.greedy(probe)
    engine.close()
    fresh_engine = launch.make_backend(config, str(second))
    fresh = fresh_engine.greedy(probe)
    fresh_engine.close()
    print(f"\nload_weights fallback: {seconds:.2f} s; swapped vs fresh: {swapped.difference(fresh) or 'the same'}; "
          f"before vs after: {before.difference(swapped) or 'the same (the swap changed nothing)'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=int, default=5)
    parser.add_argument("--problems", type=int, default=2)
    parser.add_argument("-n", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--check-load-weights", action="store_true")
    args = parser.parse_args()

    from checkpoint_dirs import real_checkpoints

    from evalkit.data import datasets as ds
    from evalkit.data.embedded import ensure_model

    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    source = ensure_model(ds.DataLocations.from_env().cache_dir)
    given = {"n": args.n, "limit": args.problems, "max_tokens": args.max_tokens, "template": "boxed",
             "max_model_len": 2048}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as work:
        root = Path(work) / "run"
        steps = tuple(range(100, 100 * (args.checkpoints + 1), 100))
        real_checkpoints(source, root, "hf-trainer", steps)
        for path in root.rglob("*.safetensors"):  # both modes read the weights from the page cache
            path.read_bytes()
        started = time.perf_counter()
        import vllm  # noqa: F401

        print(f"vLLM import (once, before both modes): {time.perf_counter() - started:.1f} s")
        print(f"{args.checkpoints} checkpoints of SmolLM2-135M, {args.problems} problems x n={args.n}, "
              f"max tokens {args.max_tokens}, {os.cpu_count()} CPUs")  # fmt: skip
        wall_b, restart, count_b = sweep_once(root, Path(work) / "restart", given, restart=True)
        wall_a, swap, count_a = sweep_once(root, Path(work) / "swap", given, restart=False)
        starts = restart.spans["start"] + swap.spans["start"]
        cold = statistics.mean(starts)
        print(
            f"cold engine start: mean {cold:.2f} s ({min(starts):.2f} to {max(starts):.2f} over {len(starts)} starts)"
        )
        per_b = report("a new engine per checkpoint (--restart-engine)", wall_b, restart, count_b, cold)
        per_a = report("one engine, weights swapped in place", wall_a, swap, count_a, cold)
        steady = swap.mean("swap") / cold
        print(f"\none engine against one per checkpoint: whole sweep {wall_a:.1f} s vs {wall_b:.1f} s; overhead per "
              f"checkpoint {per_a:.2f} s vs {per_b:.2f} s")  # fmt: skip
        print(f"steady state (a swap): {swap.mean('swap'):.2f} s = {steady:.2f} of a cold start "
              f"(target <= 0.25: {'met' if steady <= 0.25 else 'NOT met'}); with the once-per-sweep check amortized "
              f"over these {count_a - 1} swaps: {per_a / cold:.2f}")  # fmt: skip
        if args.check_load_weights:
            check_load_weights(root / f"checkpoint-{steps[0]}", root / f"checkpoint-{steps[1]}", given)


if __name__ == "__main__":
    main()
