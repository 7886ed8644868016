"""`evalkit import` over the real published outputs in ../shared/generations/published (every format: 18 runs,
about 23 MB of JSON once decompressed), then `evalkit leaderboard` with its samples pages over what was imported.

Usage: python bench/import_bench.py [--published DIR] [--keep DIR]

Runs each command in a fresh process and prints its wall time and peak memory, and the size of what it wrote.
Target: import under 10 s, leaderboard with samples pages under 10 s, both under 1 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(os.environ.get("EVALKIT_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one command in a fresh process (peak over children so far)."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.stderr)
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--published", type=Path, default=SHARED / "generations" / "published")
    parser.add_argument("--keep", type=Path, help="write runs and pages here and keep them")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="evalkit-import-bench-"))
    os.environ.setdefault("EVALKIT_DATA_DIR", str(SHARED / "data"))
    evalkit = [sys.executable, "-m", "evalkit"]
    wall, peak = timed([*evalkit, "import", str(args.published), "--output-dir", str(root / "runs"), "--json"])
    runs = len(list((root / "runs").iterdir()))
    print(f"evalkit import {args.published}: {runs} runs in {wall:.2f} s, peak memory {peak:.0f} MB, "
          f"{size_mb(root / 'runs'):.1f} MB of runs")  # fmt: skip
    page_wall, page_peak = timed([*evalkit, "leaderboard", str(root / "runs"), "--out", str(root / "out")])
    print(f"evalkit leaderboard with samples pages: {page_wall:.2f} s, peak memory {page_peak:.0f} MB, "
          f"page {(root / 'out' / 'aime24.html').stat().st_size / 1e3:.0f} kB, samples pages "
          f"{size_mb(root / 'out' / 'aime24-samples'):.1f} MB")  # fmt: skip
    met = wall < 10 and page_wall < 10 and max(peak, page_peak) < 1024
    print(f"targets: import < 10 s, leaderboard < 10 s, < 1024 MB -> {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
