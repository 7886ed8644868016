"""Shared fixtures: the development data beside the repo (../shared), never copied into it."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("EVALKIT_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data"
GENERATIONS = SHARED / "generations"


@functools.cache  # a failed read raises, and is not cached: the stats are read once they exist
def _durations_recorded_by_mutmut(rootdir: str) -> dict[str, float]:
    return json.loads((Path(rootdir) / "mutmut-stats.json").read_text())["duration_by_test"]


_ASKED_FOR = pytest.StashKey[set]()


def pytest_configure(config: pytest.Config) -> None:
    """Under mutation testing, the tests mutmut names one by one are collected file by file instead. pytest resolves
    each test id on the command line by collecting its file again, so the 286 ids of a normalization function (most
    of them parametrized cases of three files) took three minutes where the three files take three seconds, and the
    mutant was stopped as a timeout, which counts as killed. The ids asked for are kept and the rest deselected.
    Only a command line of test ids is rewritten (mutmut's): a whole file named beside them would be deselected too."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    ids = list(config.args)
    if len(ids) > 1 and all("::" in arg for arg in ids):
        config.stash[_ASKED_FOR] = set(ids)
        config.args[:] = list(dict.fromkeys(arg.split("::", 1)[0] for arg in ids))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under mutation testing, only the tests mutmut asked for (see pytest_configure), fastest first. mutmut hands
    each mutant the tests that reach it in no particular order and stops at the first failure (-x), so a killed
    mutant costs the time of the tests before the one that fails; fastest first makes that small. mutmut names the
    mutant in MUTANT_UNDER_TEST (empty for its clean run, which so also shows the tests pass in this order); a plain
    pytest run is never reordered."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    asked_for = config.stash.get(_ASKED_FOR, None)
    if asked_for is not None:
        unasked = [item for item in items if item.nodeid not in asked_for]
        if unasked:
            config.hook.pytest_deselected(items=unasked)
            items[:] = [item for item in items if item.nodeid in asked_for]
    try:
        durations = _durations_recorded_by_mutmut(str(config.rootpath))
    except (OSError, ValueError, KeyError):  # mutmut's own stats run, before there are any
        return
    if durations:
        # Unknown tests last; the sort is stable, so ties keep the collection order.
        items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (DATA / "aime24.jsonl").is_file():
        pytest.fail(f"development data not found at {DATA}; set EVALKIT_SHARED_DIR to the shared/ folder")
    return DATA


@pytest.fixture(scope="session")
def generation_files() -> list[Path]:
    files = sorted(GENERATIONS.glob("aime24_*.jsonl"))
    assert len(files) == 4, f"expected the 4 shared AIME 2024 generation files in {GENERATIONS}"
    return files


@pytest.fixture
def data_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_data: Path) -> Path:
    """EVALKIT_DATA_DIR pointed at ../shared/data and a private, empty cache."""
    monkeypatch.setenv("EVALKIT_DATA_DIR", str(shared_data))
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("EVALKIT_DATASET_MIRROR", raising=False)
    return shared_data


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory, shared_data) -> Path:
    from sample_runs import build_runs

    return build_runs(tmp_path_factory.mktemp("runs"), shared_data)


@pytest.fixture(scope="session")
def runs(runs_root):
    from evalkit.report import leaderboard

    return leaderboard.load_runs([runs_root])


def samples_with_verdicts(run_dir: Path) -> list[dict]:
    """A run's sample lines, each with its verdict (under the manifest's rule set) from verdicts.jsonl."""
    rules = json.loads((run_dir / "manifest.json").read_text())["verifier"]
    verdicts = {
        (v["problem_id"], v["sample_index"]): v["verdict"]
        for v in read_jsonl(run_dir / "verdicts.jsonl")
        if v["rules"] == rules
    }
    return [
        {**s, "verdict": verdicts.get((s["problem_id"], s["sample_index"]))}
        for s in read_jsonl(run_dir / "samples.jsonl")
    ]


def qwen_harness_result_files(folder: Path) -> list[Path]:
    """The Qwen2.5-Math harness's result files under a folder, found by its layout
    (`<model>/<dataset>_eval/<dataset>/test_*.jsonl[.gz]`): one per model or checkpoint, however many the shared
    data holds now. Tests count these instead of writing down how many there were when they were written."""
    return sorted(path for path in folder.rglob("*.jsonl*") if path.parent.parent.name.endswith("_eval"))
