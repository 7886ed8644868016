"""The package as a wheel (not only editable): dataset cards and presets ship inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_cards_and_presets_and_finds_them(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("evalkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for card in ("aime24", "aime25", "amc23", "math500"):
        assert f"evalkit/_cards/{card}.toml" in names
    assert "evalkit/data/presets.toml" in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)

    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    probe = (
        "import evalkit.data.datasets as d, evalkit.data.presets as p; "
        "print(d.cards_dir()); print(','.join(d.card_names())); print(len(p.load_presets()))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    cards_dir, names_line, presets = result.stdout.split()
    assert cards_dir == str(target / "evalkit" / "_cards")
    assert names_line == "aime24,aime25,amc23,math500" and int(presets) > 20
