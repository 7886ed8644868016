"""Lay out the original source bytes of every dataset the way raw.githubusercontent.com serves them.

aime24 and amc23 are the original files in ../shared/data/raw. math500 and aime25 are rebuilt from the
normalized copies; the rebuilt bytes are checked against the sha256 each card pins, so they are the originals.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import read_jsonl

from evalkit.data.datasets import GITHUB_RAW, load_card

MATH500_FIELDS = ("problem", "solution", "answer", "subject", "level", "unique_id")


def _source_bytes(shared_data: Path) -> dict[str, dict[str, bytes]]:
    files: dict[str, dict[str, bytes]] = {
        "aime24": {
            "evaluation/data/aime24/test.jsonl": (shared_data / "raw/qwen25math_aime24_test.jsonl").read_bytes()
        },
        "amc23": {"evaluation/data/amc23/test.jsonl": (shared_data / "raw/qwen25math_amc23_test.jsonl").read_bytes()},
    }
    rows = read_jsonl(shared_data / "math500.jsonl")
    files["math500"] = {
        "examples/simplelr_math_eval/data/math500/test.jsonl": "".join(
            json.dumps({k: r[k] for k in MATH500_FIELDS}) + "\n" for r in rows
        ).encode()
    }
    card = load_card("aime25")
    pinned = card.source_sha256
    aime25: dict[str, bytes] = {}
    rows = read_jsonl(shared_data / "aime25.jsonl")
    for part in ("I", "II"):
        part_rows = [r for r in rows if r["contest"] == f"AIME {part}"]
        csv = "id,answer\n" + "".join(f"{r['number']},{r['answer']}\n" for r in part_rows)
        aime25[f"data/aime/aime_2025_{part}/answers.csv"] = csv.encode()
        for r in part_rows:
            path = f"data/aime/aime_2025_{part}/problems/{r['number']}.tex"
            # The normalized text is stripped; the original ends in a newline or two.
            for suffix in ("\n", "", "\n\n"):
                data = (r["problem"] + suffix).encode()
                if hashlib.sha256(data).hexdigest() == pinned[path]:
                    break
            aime25[path] = data
    files["aime25"] = aime25
    return files


def build_mirror(root: Path, shared_data: Path) -> Path:
    """Write every card's source files under root/<owner>/<repo>/<commit>/<path>; returns root."""
    for name, files in _source_bytes(shared_data).items():
        card = load_card(name)
        base = card.base_url[len(GITHUB_RAW) :]
        for path, data in files.items():
            assert hashlib.sha256(data).hexdigest() == card.source_sha256[path], f"rebuilt {name}:{path} differs"
            target = root / base / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return root
