"""Per-check cost of the symbolic comparison against a plain math-verify loop, on MATH-500's real gold answers.

Usage: python bench/verify_symbolic_bench.py [--shared ../shared] [--samples 4] [--repeat 1]

The shape of a MATH-500 run: each of the 500 gold answers comes back `--samples` times, the prediction written
as the gold itself, restyled (\\dfrac, \\left/\\right, spacing, `x =`), rewritten (`\\frac{a}{b}` as `a/b`,
the terms of a sum swapped: equal, but only a parser can tell) or wrong (one digit changed). Both sides run in
this process, one pair after another: `evalkit.verify.symbolic.compare` (what a verifier worker runs per check)
and `math_verify.parse` + `verify` at their defaults (which caches parsed LaTeX strings itself). Prints the
per-pair cost of each, overall and by prediction form, their ratio, and the pairs on which the verdicts differ.
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


_FRACTION = re.compile(r"\\frac\{(\d+)\}\{(\d+)\}")


def rewritten(gold: str) -> str:
    """Equal in value, different as text: `\\frac{a}{b}` as `a/b`, `p + q` as `q + p`."""
    text = _FRACTION.sub(r"(\1/\2)", gold)
    if text == gold and " + " in gold and gold.count(" + ") == 1 and not any(c in gold for c in "(),=[]{}"):
        left, right = gold.split(" + ")
        text = f"{right} + {left}"
    if text == gold and any(c.isdigit() for c in gold) and not any(c in gold for c in ",=<>"):
        text = f"0 + {gold}"
    return text


FORMS = {"same": lambda g: g, "restyled": restyled, "rewritten": rewritten, "wrong": wrong}


def make_pairs(shared: Path, samples: int) -> list[tuple[str, str, str]]:
    """(form, gold, prediction) for every gold answer of MATH-500, `samples` predictions each."""
    golds = [json.loads(line)["answer"] for line in (shared / "data" / "math500.jsonl").read_text().splitlines()]
    names = list(FORMS)
    return [(names[i % len(names)], gold, FORMS[names[i % len(names)]](gold)) for gold in golds for i in range(samples)]


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
    ours_by_form: dict[str, float] = {}
    theirs_by_form: dict[str, float] = {}
    for _ in range(args.repeat):
        symbolic.clear_cache()
        ours, ours_times = timed(lambda gold, pred: symbolic.compare((gold, pred, gold))[0], pairs)
        theirs, theirs_times = timed(lambda gold, pred: bool(verify(parse(f"${gold}$"), parse(f"${pred}$"))), pairs)
        ours_s, theirs_s = min(ours_s, sum(ours_times)), min(theirs_s, sum(theirs_times))
        for form in FORMS:
            ours_form = sum(t for (f, *_), t in zip(pairs, ours_times) if f == form)
            theirs_form = sum(t for (f, *_), t in zip(pairs, theirs_times) if f == form)
            ours_by_form[form] = min(ours_by_form.get(form, float("inf")), ours_form)
            theirs_by_form[form] = min(theirs_by_form.get(form, float("inf")), theirs_form)

    print(f"evalkit symbolic.compare:      {1000 * ours_s / len(pairs):6.2f} ms/pair  ({ours_s:6.2f} s)")
    print(f"math-verify parse+verify loop: {1000 * theirs_s / len(pairs):6.2f} ms/pair  ({theirs_s:6.2f} s)")
    print(f"ratio (evalkit / math-verify): {ours_s / theirs_s:6.2f}")
    for form in FORMS:
        count = sum(f == form for f, *_ in pairs)
        ours_ms, theirs_ms = 1000 * ours_by_form[form] / count, 1000 * theirs_by_form[form] / count
        print(f"  {form:<10} {count:5d} pairs: evalkit {ours_ms:6.2f} ms/pair, math-verify {theirs_ms:6.2f} ms/pair")
    print(f"equal verdicts: evalkit {sum(ours)}, math-verify {sum(theirs)} of {len(pairs)}")
    differ = [(g, p, o, t) for (_, g, p), o, t in zip(pairs, ours, theirs) if o != t]
    print(f"verdicts differ on {len(differ)} pairs:")
    for gold, pred, o, t in differ[:40]:
        print(f"  gold {gold!r} pred {pred!r}: evalkit {o}, math-verify {t}")


def timed(check, pairs: list[tuple[str, str, str]]) -> tuple[list[bool], list[float]]:
    verdicts, times = [], []
    for _, gold, pred in pairs:
        start = time.perf_counter()
        verdicts.append(check(gold, pred))
        times.append(time.perf_counter() - start)
    return verdicts, times


if __name__ == "__main__":
    main()
