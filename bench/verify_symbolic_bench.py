"""Per-check cost of the symbolic comparison against a plain math-verify loop, on MATH-500's real gold answers.

Usage: python bench/verify_symbolic_bench.py [--shared ../shared] [--samples 4] [--repeat 2]

The shape of a MATH-500 run: each of the 500 gold answers comes back `--samples` times, the prediction written
as the gold itself, restyled (\\dfrac, \\left/\\right, spacing, `x =`), rewritten (`\\frac{a}{b}` as `a/b`,
the terms of a sum swapped: equal, but only a parser can tell) or wrong (one digit changed). Each side runs in
its own fresh process (the LaTeX grammar's caches warm up as it parses, so a side run second would profit from
the first), one pair after another: `evalkit.verify.symbolic.compare` (what a verifier worker runs per check)
and `math_verify.parse` + `verify` at their defaults (which keep their own cache of recently parsed strings).
`--repeat` passes over the pairs; the first pass is cold, the best later one warm. Prints the per-pair CPU cost of
each side, overall and by prediction form, their ratio, and the pairs on which the verdicts differ. By form, a
gold's own parse is counted on the first of its pairs that needs a parser: for math-verify that is the pair
written as the gold itself, for evalkit (which settles equal canonical text without parsing) a rewritten or
wrong one; compare the overall figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
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


def run_side(side: str, pairs: list[tuple[str, str, str]], repeat: int) -> dict:
    """Verdicts and per-pair seconds of one side: its first (cold) pass and its best later (warm) pass."""
    if side == "evalkit":
        symbolic.compare(("1", "1"))  # imports and grammar loading are not per-check work

        def check(gold: str, pred: str) -> bool:
            return symbolic.compare((gold, pred))[0]
    else:
        verify(parse("$1$"), parse("$1$"))

        def check(gold: str, pred: str) -> bool:
            return bool(verify(parse(f"${gold}$"), parse(f"${pred}$")))

    passes = []
    for _ in range(max(1, repeat)):
        symbolic.clear_cache()
        passes.append(timed(check, pairs))
    warm = min(passes[1:] or passes, key=lambda p: sum(p[1]))
    # The per-check cost alone: pairs that need a parser, every gold already parsed on both sides.
    parser_pairs = [pair for pair in pairs if pair[0] in ("rewritten", "wrong")]
    if side == "evalkit":
        for _, gold, _ in parser_pairs:
            symbolic._parsed_gold(gold)
        _, per_check = timed(check, parser_pairs)
    else:
        golds = {gold: parse(f"${gold}$") for _, gold, _ in parser_pairs}
        _, per_check = timed(lambda gold, pred: bool(verify(golds[gold], parse(f"${pred}$"))), parser_pairs)
    return {"verdicts": passes[0][0], "cold": passes[0][1], "warm": warm[1], "per_check": per_check}


def main() -> None:
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--samples", type=int, default=4, help="predictions per gold answer (the run's n)")
    parser.add_argument("--repeat", type=int, default=2, help="passes over the pairs in each side's process")
    parser.add_argument("--side", choices=("evalkit", "math-verify"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    pairs = make_pairs(args.shared, args.samples)
    if args.side:
        print(json.dumps(run_side(args.side, pairs, args.repeat)))
        return
    print(f"{len(pairs)} pairs ({len(pairs) // args.samples} MATH-500 golds x {args.samples} predictions)")
    results = {}
    for side in ("evalkit", "math-verify"):
        command = [sys.executable, __file__, "--side", side, "--shared", str(args.shared)]
        command += ["--samples", str(args.samples), "--repeat", str(args.repeat)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        results[side] = json.loads(output.strip().splitlines()[-1])
    ours, theirs = results["evalkit"], results["math-verify"]
    for phase in ("cold", "warm"):
        ours_s, theirs_s = sum(ours[phase]), sum(theirs[phase])
        print(f"{phase} pass:")
        print(f"  evalkit symbolic.compare:      {1000 * ours_s / len(pairs):6.2f} ms/pair  ({ours_s:6.2f} s)")
        print(f"  math-verify parse+verify loop: {1000 * theirs_s / len(pairs):6.2f} ms/pair  ({theirs_s:6.2f} s)")
        print(f"  ratio (evalkit / math-verify): {ours_s / theirs_s:6.2f}")
        for form in FORMS:
            at = [i for i, (f, *_) in enumerate(pairs) if f == form]
            ours_ms = 1000 * sum(ours[phase][i] for i in at) / len(at)
            theirs_ms = 1000 * sum(theirs[phase][i] for i in at) / len(at)
            print(f"    {form:<10} {len(at):5d} pairs: evalkit {ours_ms:6.2f}, math-verify {theirs_ms:6.2f} ms/pair")
    ours_s, theirs_s = sum(ours["per_check"]), sum(theirs["per_check"])
    count = len(ours["per_check"])
    print(f"per check, golds parsed beforehand on both sides ({count} rewritten and wrong pairs):")
    print(f"  evalkit {1000 * ours_s / count:6.2f}, math-verify {1000 * theirs_s / count:6.2f} ms/pair")
    print(f"  ratio (evalkit / math-verify): {ours_s / theirs_s:6.2f}")
    # The target: evalkit's per-pair cost at most math-verify's (parity) on short symbolic pairs.
    for phase in ("cold", "warm"):
        ratio = sum(ours[phase]) / sum(theirs[phase])
        verdict = "at parity or better" if ratio <= 1.0 else "slower than math-verify"
        print(f"{phase}: evalkit costs {ratio:.2f}x math-verify per pair ({1 / ratio:.2f}x its throughput): {verdict}")
    print(f"equal verdicts: evalkit {sum(ours['verdicts'])}, math-verify {sum(theirs['verdicts'])} of {len(pairs)}")
    differ = [(g, p, o, t) for (_, g, p), o, t in zip(pairs, ours["verdicts"], theirs["verdicts"]) if o != t]
    print(f"verdicts differ on {len(differ)} pairs:")
    for gold, pred, o, t in differ[:40]:
        print(f"  gold {gold!r} pred {pred!r}: evalkit {o}, math-verify {t}")


def timed(check, pairs: list[tuple[str, str, str]]) -> tuple[list[bool], list[float]]:
    """Verdicts and CPU seconds per pair (CPU time, not wall time: the machine may be shared)."""
    verdicts, times = [], []
    for _, gold, pred in pairs:
        start = time.process_time()
        verdicts.append(check(gold, pred))
        times.append(time.process_time() - start)
    return verdicts, times


if __name__ == "__main__":
    main()
