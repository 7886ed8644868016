"""Language mixing on the published responses: its cost per response (all of them, and the ones of 100,000 characters
or more) and the share of judged samples that mix, per published run.

Usage: python bench/language_mixing_bench.py [--shared ../shared] [--repeat 3]

Reads every `.jsonl.gz` under generations/published/qwen25-math-outputs (field `code`), times
`evalkit.verify.mixing.measure` on each response (best of --repeat, so a busy machine shows less), and prints the
per-run counts the leaderboard's lang-mixed column is made from. Target: under 10 ms per response of 100,000
characters, since every sample of a run is measured when it is scored.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from pathlib import Path

from evalkit.verify.mixing import measure


def responses(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in sorted(root.rglob("*.jsonl.gz")):
        name = str(path.relative_to(root)).split("/aime24_eval/")[0]
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            found[name] = [text for line in lines for text in json.loads(line)["code"]]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = responses(args.shared / "generations" / "published" / "qwen25-math-outputs")
    timings: list[tuple[int, float]] = []
    print(f"{'run':<62} {'responses':>9} {'judged':>6} {'mixed':>5}  pairs")
    for name, texts in runs.items():
        results = []
        for text in texts:
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                found = measure(text)
                best = min(best, time.perf_counter() - start)
            timings.append((len(text), best))
            results.append(found)
        judged = [r for r in results if r.mixed is not None]
        pairs = sorted({r.pair for r in judged if r.mixed})
        print(f"{name:<62} {len(texts):>9} {len(judged):>6} {sum(r.mixed for r in judged):>5}  {', '.join(pairs)}")
    chars = sum(n for n, _ in timings)
    long = [t for n, t in timings if n >= 100_000]
    every = [t for _, t in timings]
    print(f"\n{len(timings)} responses, {chars / 1e6:.1f} M characters (mean {chars / len(timings):,.0f}, longest "
          f"{max(n for n, _ in timings):,})")  # fmt: skip
    print(f"all: mean {1000 * statistics.mean(every):.2f} ms, median {1000 * statistics.median(every):.2f} ms, "
          f"max {1000 * max(every):.2f} ms per response; {sum(every):.2f} s in all")  # fmt: skip
    if long:
        print(f">= 100,000 characters ({len(long)}): mean {1000 * statistics.mean(long):.2f} ms, "
              f"max {1000 * max(long):.2f} ms per response")  # fmt: skip


if __name__ == "__main__":
    main()
