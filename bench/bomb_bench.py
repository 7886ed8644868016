"""`evalkit import` handed compression bombs: a 1.5 MB `.gz`, a `.zst` of about 50 kB and an inspect `.eval` whose
deflated sample member expands to gigabytes, each behind a valid first line (so format detection claims it). Before the
cap, the issue measured 4.8 GB of memory for such a `.gz` and a MemoryError for such a `.zst`.

Usage: python bench/bomb_bench.py [--gigabytes 1.5]

Each import runs in a fresh process; printed per bomb: its size on disk, what it expands to, whether it was refused
in one line naming the file (exit 2), the wall time and the evalkit process's own peak memory.
Target: every bomb refused in one line, each under 300 MB of peak memory and 30 s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

SHARED = Path(os.environ.get("EVALKIT_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
FIRST_LINE = json.dumps({"problem_id": "2024-I-1", "response": "\\boxed{204}"}).encode() + b"\n"
BLOCK = b" " * (64 << 20)


def gz_bomb(path: Path, size: int) -> None:
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(FIRST_LINE)
        for _ in range(size // len(BLOCK)):
            out.write(BLOCK)


def zst_bomb(path: Path, size: int) -> None:
    import zstandard

    with (
        open(path, "wb") as raw,
        zstandard.ZstdCompressor(level=19).stream_writer(raw, size=size + len(FIRST_LINE)) as out,
    ):
        out.write(FIRST_LINE)
        for _ in range(size // len(BLOCK)):
            out.write(BLOCK)


def eval_bomb(path: Path, size: int) -> None:
    header = json.dumps({"eval": {"task": "aime", "model": "m"}, "plan": {}}).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("header.json", header)
        with archive.open("samples/2024-I-1_epoch_1.json", "w", force_zip64=True) as out:
            for _ in range(size // len(BLOCK)):
                out.write(BLOCK)


# The import runs in this wrapper, which reports the peak memory of its own process (the verifier's worker
# processes, which import sympy, are not the bomb's doing and are left out).
WRAPPER = """import resource, runpy, sys
sys.argv = ["evalkit", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("evalkit", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def measured(arguments: list[str]) -> tuple[int, str, float, float]:
    """Exit code, stderr (without the peak line), wall seconds and the peak resident MB of the evalkit process."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", WRAPPER, *arguments], capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = result.stderr.splitlines(keepends=True)
    peak = next((int(line.split()[1]) / 1024 for line in lines if line.startswith("PEAK ")), float("nan"))
    return result.returncode, "".join(line for line in lines if not line.startswith("PEAK ")), wall, peak


MAKERS = {"bomb.jsonl.gz": gz_bomb, "bomb.jsonl.zst": zst_bomb, "bomb.eval": eval_bomb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gigabytes", type=float, default=1.5, help="what each bomb expands to")
    parser.add_argument("--make", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        MAKERS[args.make[0]](Path(args.make[1]), int(args.gigabytes * (1 << 30)))
        return
    size = int(args.gigabytes * (1 << 30))
    os.environ.setdefault("EVALKIT_DATA_DIR", str(SHARED / "data"))
    met = True
    real = SHARED / "generations" / "aime24_Qwen_Qwen2.5-Math-7B.jsonl"
    _, _, wall, peak = measured(["import", str(real), "--dry-run"])
    print(f"for scale, a real 30-response file: imported in {wall:.1f} s, peak memory {peak:.0f} MB")
    with tempfile.TemporaryDirectory(prefix="evalkit-bomb-bench-") as folder:
        for name in MAKERS:
            path = Path(folder) / name
            # Made in another process: a process's peak memory survives into the children it starts.
            subprocess.run([sys.executable, __file__, "--gigabytes", str(args.gigabytes), "--make", name, str(path)],
                           check=True)  # fmt: skip
            code, err, wall, peak = measured(["import", str(path), "--dry-run"])
            refused = code == 2 and err.count("\n") == 1 and str(path) in err and "decompresses to more than" in err
            met = met and refused and peak < 300 and wall < 30
            print(f"{name}: {path.stat().st_size / 1e3:,.0f} kB on disk, expands to {size / 1e9:.1f} GB: "
                  f"{'refused in one line' if refused else f'NOT refused (exit {code})'} in {wall:.1f} s, "
                  f"peak memory {peak:.0f} MB")  # fmt: skip
            if not refused:
                print(err[-2000:])
    print(f"targets: every bomb refused in one line, < 300 MB and < 30 s each -> {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
