"""The leaderboard page and a samples page in a real headless Chromium, at phone and desktop widths: they load
without console errors, the inline script runs (sorting and filtering controls appear), charts are drawn, and
hostile model text shows as text. Needs Debian's `chromium` (installed by .ci/run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import GENERATIONS
from training_sweeps import build_sweeps

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
WIDTHS = {"phone": (390, 2400), "desktop": (1400, 3200)}


@pytest.fixture(scope="module")
def pages(runs, shared_data, tmp_path_factory) -> Path:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    from evalkit.data import datasets as ds
    from evalkit.importers import import_outputs
    from evalkit.report import leaderboard, publish

    root = tmp_path_factory.mktemp("page")
    data = ds.load("aime24", ds.DataLocations(shared_data, root / "cache"), allow_download=False)
    published = GENERATIONS / "published"
    import_outputs([published / "qwen25-math-outputs", published / "peer-formats"], data, root / "imported")
    build_sweeps(root / "sweeps", shared_data)  # two training runs with write times, one mixing languages
    every = [*runs, *leaderboard.load_runs([root / "imported", root / "sweeps"])]
    frame = leaderboard.build(every, "aime24")
    publish.write(frame, every, "aime24", root / "out", ["html"])
    return root / "out"


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def drawn_share(shot: Path, size: tuple[int, int]):
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape == (size[1], size[0], 3)
    return pixels, (pixels < 245).any(axis=2).mean()


def test_leaderboard_page_loads_runs_its_script_and_escapes_model_text(pages, tmp_path):
    html = pages / "aime24.html"
    dom = chromium(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", "--dump-dom", html.as_uri()],
                   tmp_path / "profile")  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_errors(dom.stderr) == []
    assert '<table id="runs">' in dom.stdout and "accuracy against training step" in dom.stdout
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in dom.stdout  # text, not an element
    # The script ran: the controls were shown and counted the rows.
    assert '<div class="controls" id="controls">' in dom.stdout and " of " in dom.stdout.split('id="shown"')[1][:80]
    assert dom.stdout.lower().count("<script") == 1
    # Along training: every curve against step and against hours from write times, the comparisons, the tables.
    training = dom.stdout.split('<section id="training">', 1)[1].split("</section>", 1)[0]
    for title in ("accuracy", "mean output tokens", "mean response length", "truncated samples",
                  "reasoning that mixes languages"):  # fmt: skip
        assert f"{title} against training step" in training and f"{title} against hours" in training
    assert "hours from checkpoint write times, not training logs" in training
    assert "Is the change more than noise?" in training and training.count('<table class="checkpoints">') == 4


@pytest.mark.parametrize("width", WIDTHS)
def test_leaderboard_page_is_drawn_at_phone_and_desktop_widths(pages, tmp_path, width):
    size = WIDTHS[width]
    shot = tmp_path / f"{width}.png"
    result = chromium([f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=3000", f"--screenshot={shot}",
                       (pages / "aime24.html").as_uri()], tmp_path / "profile")  # fmt: skip
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    pixels, drawn = drawn_share(shot, size)
    assert drawn > 0.05  # not a blank page
    # The dot chart's marks: imported runs (purple) and reported numbers (orange) are drawn.
    purple = ((abs(pixels[..., 0] - 124) < 30) & (abs(pixels[..., 1] - 58) < 30) & (pixels[..., 2] > 200)).sum()
    orange = ((pixels[..., 0] > 220) & (abs(pixels[..., 1] - 88) < 35) & (pixels[..., 2] < 60)).sum()
    assert purple > 100 and orange > 100


def test_samples_page_loads_and_filters(pages, tmp_path):
    (page,) = [p for p in (pages / "aime24-samples").glob("*.html") if "hostile" in p.name]
    dom = chromium(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
                   tmp_path / "profile")  # fmt: skip
    assert dom.returncode == 0 and console_errors(dom.stderr) == [], dom.stderr[-2000:]
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in dom.stdout
    assert '<div class="filters" id="filters">' in dom.stdout  # shown by its script
    (sweep,) = [p for p in (pages / "aime24-samples").glob("*.html") if "checkpoint-63_" in p.name]
    shot = tmp_path / "samples.png"
    result = chromium(["--window-size=390,1600", "--virtual-time-budget=5000", f"--screenshot={shot}",
                       sweep.as_uri()], tmp_path / "profile2")  # fmt: skip
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    _, drawn = drawn_share(shot, (390, 1600))
    assert drawn > 0.05
