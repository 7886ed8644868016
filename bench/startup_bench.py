"""Whole-process start-up of the commands people type most: `evalkit --help`, `presets list`, `datasets list`
(target: under 0.3 s each), beside a bare `python -c pass`, and which heavy packages each command imports.

Usage: python bench/startup_bench.py [--runs 10]

Each command runs as its own process; the minimum and the median wall time over the runs are printed (the
minimum is the machine's best case, the median what a user sees). A command that imports openai, pandas, numpy,
sympy, math_verify or vllm is named, since those are what make a start slow.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "evalkit --help": [sys.executable, "-m", "evalkit", "--help"],
    "evalkit presets list": [sys.executable, "-m", "evalkit", "presets", "list"],
    "evalkit datasets list": [sys.executable, "-m", "evalkit", "datasets", "list"],
}
HEAVY = ("openai", "pandas", "numpy", "sympy", "math_verify", "vllm", "torch")
PROBE = (
    "import sys, runpy; sys.argv = ['evalkit'] + sys.argv[1:]\n"
    "try:\n    runpy.run_module('evalkit', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    "print('HEAVY:' + ','.join(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)\n"
)


def heavy_imports(args: list[str]) -> str:
    code = PROBE.format(heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    line = [x for x in result.stderr.splitlines() if x.startswith("HEAVY:")]
    return line[-1][len("HEAVY:") :] if line else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    for label, command in COMMANDS.items():
        subprocess.run(command, capture_output=True)  # warm the file cache
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        heavy = heavy_imports(command[3:]) if label.startswith("evalkit") else "-"
        print(
            f"{label:24} min {min(times):.3f} s  median {statistics.median(times):.3f} s  "
            f"heavy imports: {heavy or 'none'}",
            flush=True,
        )


if __name__ == "__main__":
    main()
