"""The leaderboard page in a real headless Chromium: it loads without errors, shows the table and the charts,
and shows hostile model text as text. Needs Debian's `chromium` (installed by .ci/run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    return tmp_path_factory.mktemp("page")


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_page_loads_shows_the_table_and_escapes_model_text(runs, page, tmp_path):
    from evalkit.report import leaderboard, publish

    frame = leaderboard.build(runs, "aime24")
    (html,) = publish.write(frame, runs, "aime24", page, ["html"])
    dom = chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", html.as_uri()], tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<table class="leaderboard">' in dom.stdout and dom.stdout.count("<tr") == len(frame) + 1
    assert "pass@k against k" in dom.stdout and "accuracy against training step" in dom.stdout
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in dom.stdout  # text, not an element
    assert "<script" not in dom.stdout.lower()
    console_errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console_errors == []

    shot = tmp_path / "page.png"
    result = chromium(["--window-size=1400,3200", f"--screenshot={shot}", html.as_uri()], tmp_path / "profile2")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape == (3200, 1400, 3)
    # The page is not blank: a real share of pixels is drawn, and the heatmap's solved cells (blue) are there.
    drawn = (pixels != 255).any(axis=2).mean()
    assert drawn > 0.03
    blues = ((pixels[..., 2] > 200) & (pixels[..., 0] < 120)).sum()
    assert blues > 200
