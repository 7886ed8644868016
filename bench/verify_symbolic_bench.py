"""Per-check cost of the symbolic comparison against a plain math-verify loop, on MATH-500's real gold answers.

Usage: python bench/verify_symbolic_bench.py [--shared ../shared] [--samples 4] [--repeat 1]

The shape of a MATH-500 run: each of the 500 gold answers comes back `--samples` times, with the prediction
written as the gold itself, restyled (\\dfrac, \\left/\\right, spacing, `x =`), or wrong (one digit changed).
Both sides run in this process, one pair after another: `evalkit.verify.symbolic.compare` (what a verifier
worker runs per check) and `math_verify.parse` + `verify` at their defaults. Prints the per-pair cost of each,
their ratio, and the pairs on which the verdicts differ.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from pathlib import Path

from math_verify import parse, verify

from evalkit.verify import symbolic


def restyled(gold: str) -> str:
    text = gold.replace("\\frac", "\\dfrac").replace(", ", ",")
    if text.startswith("(") and text.endswith(")"):
        text = "\\left" + text[:-1] + "\\right)"
    if not any(c in text for c in "=<>,") and not text.startswith("\\text"):
        text = "x = " + text
    return text


def wrong(gold: str) -> str:
    match = re.search(r"\d", gold)
    if match is None:
        return gold + " + 1"
    digit = str((int(match.group()) + 1) % 10)
    return gold[: match.start()] + digit + gold[match.end() :]


def make_pairs(shared: Path, samples: int) -> list[tuple[str, str]]:
    golds = [json.loads(line)["answer"] for line in (shared / "data" / "math500.jsonl").read_text().splitlines()]
    forms = (lambda g: g, restyled, wrong, restyled)
    return [(gold, forms[i % len(forms)](gold)) for gold in golds for i in range(samples)]


def main() -> None:
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--samples", type=int, default=4, help="predictions per gold answer (the run's n)")
    parser.add_argument("--repeat", type=int, default=1, help="time each side this many times, keep the best")
    args = parser.parse_args()
    pairs = make_pairs(args.shared, args.samples)
    print(f"{len(pairs)} pairs ({len(pairs) // args.samples} MATH-500 golds x {args.samples} predictions)")

    symbolic.compare(("1", "1", "1"))  # imports and grammar loading are not per-check work
    ours_s, theirs_s = float("inf"), float("inf")
    for _ in range(args.repeat):
        symbolic.clear_cache()
        start = time.perf_counter()
        ours = [symbolic.compare((gold, pred, gold))[0] for gold, pred in pairs]
        ours_s = min(ours_s, time.perf_counter() - start)
        start = time.perf_counter()
        theirs = [bool(verify(parse(f"${gold}$"), parse(f"${pred}$"))) for gold, pred in pairs]
        theirs_s = min(theirs_s, time.perf_counter() - start)

    print(f"evalkit symbolic.compare:      {1000 * ours_s / len(pairs):6.2f} ms/pair  ({ours_s:6.2f} s)")
    print(f"math-verify parse+verify loop: {1000 * theirs_s / len(pairs):6.2f} ms/pair  ({theirs_s:6.2f} s)")
    print(f"ratio (evalkit / math-verify): {ours_s / theirs_s:6.2f}")
    print(f"equal verdicts: evalkit {sum(ours)}, math-verify {sum(theirs)} of {len(pairs)}")
    differ = [(g, p, o, t) for (g, p), o, t in zip(pairs, ours, theirs) if o != t]
    print(f"verdicts differ on {len(differ)} pairs:")
    for gold, pred, o, t in differ[:40]:
        print(f"  gold {gold!r} pred {pred!r}: evalkit {o}, math-verify {t}")


if __name__ == "__main__":
    main()
