"""bench/mutation.py's sampled estimate of a module's kill rate (README: "Mutation testing"): which mutants a sample
draws, and the rate and interval it reports over all of a module's mutants."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# Under mutation testing this file runs from the copy of the tests in mutants/, which sits inside the repository.
TREE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TREE / "bench" if (TREE / "bench").is_dir() else TREE.parent / "bench"))
import mutation  # noqa: E402

MODULE = "evalkit/verify/dapo_rule.py"


@pytest.fixture
def mutants(tmp_path, monkeypatch):
    """A mutants/ folder of mutmut's shape with one module's results, written by the test."""
    monkeypatch.setattr(mutation, "MUTANTS", tmp_path)
    monkeypatch.setattr(mutation, "SAMPLES", tmp_path / "samples.json")

    def write(results: dict[str, int | None]) -> None:
        meta = tmp_path / f"{MODULE}.meta"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": results}))

    return write


def names(first: int, last: int) -> list[str]:
    return [f"evalkit.verify.dapo_rule.x_score__mutmut_{i}" for i in range(first, last)]


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634), (19, 20, 0.7639, 0.9911),
     (0, 0, 0.0, 1.0)],
)  # fmt: skip
def test_the_interval_is_wilsons_and_not_a_point_at_all_or_nothing(successes, trials, low, high):
    # Published Wilson 95% bounds; the normal approximation would give (0, 0) for 0/10 and (1, 1) for 10/10.
    assert mutation.wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-4)


def test_mutants_checked_count_as_they_came_out_and_the_rest_at_the_samples_rate():
    # 100 mutants: 40 checked (38 killed), among them a sample of 20 of the 60 that were unchecked (18 killed).
    estimate = mutation.estimate_over_all(100, 40, 38, 20, 18)
    low, high = mutation.wilson_interval(18, 20)
    assert estimate.rate == pytest.approx((38 + 0.9 * 60) / 100)
    assert (estimate.low, estimate.high) == pytest.approx(((38 + low * 60) / 100, (38 + high * 60) / 100))
    assert estimate.low < estimate.rate < estimate.high


def test_a_sample_is_drawn_from_unchecked_mutants_only_seeded_and_recorded(mutants):
    results = {name: 1 for name in names(0, 10)} | {name: None for name in names(10, 40)}
    mutants(results)
    drawn = mutation.draw_sample(MODULE, 5, "2026-11-30")
    assert len(drawn) == len(set(drawn)) == 5
    assert set(drawn) <= set(names(10, 40))
    assert mutation.read_samples() == {MODULE: sorted(drawn)}
    # The same seed over the same results draws the same mutants; another seed, others.
    assert mutation.draw_sample(MODULE, 5, "2026-11-30") == drawn
    assert mutation.draw_sample(MODULE, 5, "2026-12-01") != drawn
    # A sample larger than what is left takes all of it; the record keeps every mutant ever drawn.
    assert sorted(mutation.draw_sample(MODULE, 100, "x")) == names(10, 40)
    assert mutation.read_samples()[MODULE] == sorted(names(10, 40))


def test_no_sample_can_be_drawn_before_mutmut_has_generated_the_mutants(mutants):
    assert mutation.draw_sample(MODULE, 5, "x") is None


def test_a_partly_checked_module_reports_the_estimate_from_its_sample_alone(mutants):
    # 10 checked before the sample (all killed: mutmut's cheap mutants first), 30 unchecked of which 10 are drawn;
    # 5 of those are then killed, 4 survive, 1 finds no test, and the other 20 stay unchecked.
    early, drawn, rest = names(0, 10), names(10, 20), names(20, 40)
    results = {name: 1 for name in early} | {name: None for name in drawn + rest}
    mutants(results)
    (mutation.MUTANTS / "samples.json").write_text(json.dumps({MODULE: drawn}))
    results.update({name: 1 for name in drawn[:5]} | {name: 0 for name in drawn[5:9]} | {drawn[9]: 33})
    mutants(results)
    result = mutation.score(MODULE, mutation.read_samples())
    assert (result.total, result.checked, result.caught) == (40, 20, 15)
    assert len(result.survivors) == 5
    estimate = result.estimate
    assert (result.drawn, estimate.sampled_checked, estimate.sampled_caught) == (10, 10, 5)
    assert estimate.rate == pytest.approx((15 + 0.5 * 20) / 40)
    line = mutation.describe(result)
    assert "75.0%" in line and "15/20" in line
    assert "estimate over all 40: 62.5% [" in line and "sample 5/10 killed of 10 drawn" in line


def test_a_module_without_a_sample_or_checked_in_full_has_no_estimate(mutants):
    mutants({name: 1 for name in names(0, 3)} | {name: None for name in names(3, 6)})
    partial = mutation.score(MODULE, {})
    assert partial.estimate is None
    assert "3 of 6 unchecked, no random sample" in mutation.describe(partial)
    drawn = mutation.score(MODULE, {MODULE: names(4, 6)})
    assert drawn.estimate is None
    assert "3 of 6 unchecked, a sample of 2 drawn, none checked yet" in mutation.describe(drawn)
    mutants({name: 1 for name in names(0, 6)})
    (mutation.MUTANTS / "samples.json").write_text(json.dumps({MODULE: names(3, 6)}))
    complete = mutation.score(MODULE, mutation.read_samples())
    assert complete.estimate is None and complete.kill_rate == 1.0
    assert mutation.describe(complete).endswith("(complete)")


def test_worker_side_mutants_mutmut_found_no_test_for_are_unchecked_until_drawn(tmp_path, monkeypatch):
    # mutmut traces only the test process, so it reports "no tests" (33) for functions that run in the pool's
    # workers; those are not outcomes, so a sample may draw them (and only those drawn go to the worker-side pass).
    monkeypatch.setattr(mutation, "MUTANTS", tmp_path)
    monkeypatch.setattr(mutation, "SAMPLES", tmp_path / "samples.json")
    module = "evalkit/verify/pool.py"
    worker = [f"evalkit.verify.pool.x__worker_main__mutmut_{i}" for i in range(1, 4)]
    caller = "evalkit.verify.pool.x_helper__mutmut_1"
    meta = tmp_path / f"{module}.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": dict.fromkeys(worker, 33) | {caller: 33}}))
    drawn = mutation.draw_sample(module, 10, "x")
    assert sorted(drawn) == sorted(worker)
    assert json.loads(meta.read_text())["exit_code_by_key"] == dict.fromkeys(worker) | {caller: 33}
    assert mutation.runs_in_workers(module, worker[0]) and not mutation.runs_in_workers(module, caller)
    # Until the worker-side pass runs them they are not counted as checked (nor as survivors); "no tests" elsewhere is.
    meta.write_text(json.dumps({"exit_code_by_key": {worker[0]: 33, worker[1]: 1, caller: 33}}))
    result = mutation.score(module)
    assert (result.total, result.checked, result.caught, result.survivors) == (3, 2, 1, (caller,))
    assert mutation.runs_in_workers("evalkit/verify/symbolic.py", "evalkit.verify.symbolic.x_compare__mutmut_1")


def test_a_mutmut_that_stops_before_any_mutant_fails_the_job_with_the_logs_last_lines(tmp_path, monkeypatch):
    # A failing test in mutmut's statistics run stops it before any mutant: the job must fail, not report "0 checked".
    monkeypatch.setattr(mutation, "MUTANTS", tmp_path)
    log = tmp_path / "mutation.log"
    log.write_text("⠋ Running stats\r⠙ Running stats\rfailed to collect stats. runner returned 1\n")
    monkeypatch.setattr(sys, "executable", "/bin/false")  # stands in for a mutmut that exits 1
    with pytest.raises(SystemExit) as stopped:
        mutation.run_mutmut([MODULE], 1, None, log)
    message = str(stopped.value.code)
    assert message.startswith("mutmut failed (exit code 1) before checking the mutants")
    assert "failed to collect stats. runner returned 1" in message and "Running stats" not in message


def test_under_mutmut_the_test_ids_it_names_are_collected_by_file_and_only_they_run(tmp_path):
    # mutmut names each test on the command line; pytest collecting a file once per id made hundreds of parametrized
    # ids take minutes, and the mutant a "timeout" counted as killed. tests/conftest.py collects each file once.
    import os
    import subprocess

    tests_dir = Path(__file__).parent
    ids = [f"tests/test_metrics.py::{name}" for name in _first_tests(tests_dir / "test_metrics.py", 3)]
    env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}

    def pytest_run(*more: str, **extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ids, *more],
            cwd=tests_dir.parent, env={**env, **extra}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:]
        return done.stdout.strip().splitlines()[-1]

    under_mutmut = pytest_run(MUTANT_UNDER_TEST="")
    assert under_mutmut.startswith("3 passed, ") and " deselected" in under_mutmut
    assert pytest_run().startswith("3 passed in")  # a plain run resolves the ids itself
    # A whole file named beside the ids keeps all its tests: only a command line of ids alone is rewritten.
    beside_a_file = pytest_run("tests/test_tables.py", MUTANT_UNDER_TEST="")
    plain = pytest_run("tests/test_tables.py")
    assert "deselected" not in beside_a_file and beside_a_file.split(" in ")[0] == plain.split(" in ")[0]


def _first_tests(path: Path, count: int) -> list[str]:
    """Names of the first `count` plain (unparametrized) test functions of a test file."""
    import ast

    tree = ast.parse(path.read_text())
    plain = [f.name for f in tree.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")
             and not any("parametrize" in ast.unparse(d) for d in f.decorator_list)]  # fmt: skip
    return plain[:count]
