"""Verifier throughput: evalkit against a plain single-process math-verify loop on the same long real responses.

Usage: python bench/verify_bench.py [--count 960] [--shared ../shared] [--evalkit-only]

Takes the real AIME 2024 responses in ../shared: the 570 published Qwen2.5-Math-harness outputs (long reasoning,
~45,000 characters on average, up to 167,000) and the 120 of ../shared/generations, repeats them to `--count`
(each copy made distinct with trailing whitespace, so neither side can skip work by caching identical texts),
verifies them with evalkit (`check_many`, default rules and workers) and with `math_verify.parse` + `verify` one
by one, and prints their mean length, both wall times, their ratio, the slowest single evalkit check, and every
response on which the two verdicts differ. A second evalkit pass on exact repeats shows what deduplication adds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import time
from pathlib import Path

from math_verify import parse, verify

from evalkit.verify import Verifier


def load_pairs(shared: Path) -> list[tuple[str, str, str]]:
    """(name, response, gold) of every real response: the published outputs, then ../shared/generations."""
    rows = []
    published = shared / "generations" / "published" / "qwen25-math-outputs"
    for path in sorted(published.rglob("*.jsonl.gz")):
        model = path.relative_to(published).parts[-4]  # <model path>/aime24_eval/aime24/<file>
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                rows += [(f"{model}:{row['idx']}", response, str(row["gt"])) for response in row["code"]]
    for path in sorted((shared / "generations").glob("aime24_*.jsonl")):
        model = path.stem.removeprefix("aime24_")
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows.append((f"{model}:{row['problem_id']}", row["response"], row["gold"]))
    return rows


def math_verify_loop(pairs: list[tuple[str, str]]) -> list[bool]:
    verdicts = []
    for response, gold in pairs:
        gold_parsed = parse(f"${gold}$")
        verdicts.append(bool(verify(gold_parsed, parse(response))))
    return verdicts


def main() -> None:
    # math-verify logs every parse timeout with the whole response; the counts below are what matter.
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=960, help="responses to verify (the real ones, repeated)")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument(
        "--evalkit-only", action="store_true", help="skip the slow math-verify loop (to compare two evalkit trees)"
    )
    args = parser.parse_args()

    base = load_pairs(args.shared)
    chosen = [(i // len(base), *base[i % len(base)]) for i in range(args.count)]
    names = [name for _, name, _, _ in chosen]
    pairs = [(response + " " * copy, gold) for copy, _, response, gold in chosen]
    mean_chars = sum(len(response) for response, _ in pairs) / len(pairs)
    print(
        f"{len(pairs)} responses ({len(base)} real ones, repeated as distinct copies), mean length"
        f" {mean_chars:,.0f} characters (longest {max(len(r) for r, _ in pairs):,}), {os.cpu_count()} CPUs"
    )

    start, cpu = time.perf_counter(), time.process_time()
    with Verifier() as verifier:
        ours = verifier.check_many(pairs)
        ours_s, ours_cpu = time.perf_counter() - start, time.process_time() - cpu
        slowest = verifier.max_symbolic_seconds
        symbolic = verifier.symbolic_checks

    # A trainer's reward function lives as long as the training job: from its second batch on, the workers have done
    # their imports, as math-verify's own were done before its loop below is timed. The same batch on a Verifier
    # whose workers have started (on an unrelated answer, so no verdict of the batch is known in advance).
    with Verifier() as verifier:
        warm_up = verifier.check("\\boxed{\\frac{x^2-1}{x-1}}", "x+1")
        if not (warm_up.correct and verifier.symbolic_checks == 1):
            raise SystemExit("the warm-up check did not go to a worker: choose another warm-up answer")
        start = time.perf_counter()
        again = verifier.check_many(pairs)
        warm_s = time.perf_counter() - start
        warm_symbolic = verifier.symbolic_checks - 1
    if [v.correct for v in again] != [v.correct for v in ours] or warm_symbolic != symbolic:
        raise SystemExit("the started workers' batch differs from the first batch: a bug in the bench or the verifier")

    if args.evalkit_only:
        print(f"evalkit check_many:            {ours_s:7.2f} s  ({len(pairs) / ours_s:8.1f} responses/s)")
        print(f"evalkit, workers started:      {warm_s:7.2f} s")
        print(f"CPU of the calling process: {ours_cpu:.2f} s")
        print(f"symbolic checks in workers: {symbolic}; slowest single check: {slowest:.3f} s")
        print(f"accuracy: evalkit {sum(v.correct for v in ours)}/{len(ours)}")
        return
    start, cpu = time.perf_counter(), time.process_time()
    theirs = math_verify_loop(pairs)
    theirs_s, theirs_cpu = time.perf_counter() - start, time.process_time() - cpu

    exact_pairs = [(response, gold) for _, _, response, gold in chosen]
    start = time.perf_counter()
    with Verifier() as verifier:
        verifier.check_many(exact_pairs)
    dedup_s = time.perf_counter() - start

    print(f"evalkit check_many:            {ours_s:7.2f} s  ({len(pairs) / ours_s:8.1f} responses/s)")
    print(f"math-verify parse+verify loop: {theirs_s:7.2f} s  ({len(pairs) / theirs_s:8.1f} responses/s)")
    print(f"speed-up:                      {theirs_s / ours_s:7.1f} x  (first batch of a new process)")
    print(f"evalkit, workers started:      {warm_s:7.2f} s  ({theirs_s / warm_s:.1f} x: every batch but the first)")
    # The wall time above includes starting the worker processes: the fork server, started as the batch begins,
    # imports sympy and math-verify (~0.4 s of another core) before the first worker can check an answer that needs
    # one. This is the calling process's own share.
    print(f"CPU of the calling process: evalkit {ours_cpu:.2f} s, math-verify loop {theirs_cpu:.2f} s")
    print(f"symbolic checks in workers: {symbolic}; slowest single check: {slowest:.3f} s")
    print(f"evalkit on exact repeats (deduplicated): {dedup_s:.2f} s ({theirs_s / dedup_s:.1f} x)")
    print(f"accuracy: evalkit {sum(v.correct for v in ours)}/{len(ours)}, math-verify {sum(theirs)}/{len(theirs)}")

    distinct = min(len(base), len(pairs))
    differ = [
        (name, v, t) for name, v, t in zip(names[:distinct], ours[:distinct], theirs[:distinct]) if v.correct != t
    ]
    print(f"verdicts differ on {len(differ)} of {distinct} distinct responses:")
    for name, v, t in differ:
        print(f"  {name}: evalkit {v.correct} (answer {v.extracted!r} by {v.found_by}), math-verify {t}")


if __name__ == "__main__":
    main()
