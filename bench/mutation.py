"""Mutation testing of the modules that carry the README's promises: mutmut, module by module, within a time budget.

    python bench/mutation.py                                   # every module in [tool.mutmut] only_mutate
    python bench/mutation.py evalkit/metrics.py evalkit/store/run_dir.py
    python bench/mutation.py --rotate --budget-minutes 35      # today's slice, stopped at the budget
    python bench/mutation.py --together --sample 20 --budget-minutes 30   # CI: every module estimated

mutmut copies the tree into mutants/, rewrites each function of a module into its mutants, finds which tests run
which function, then runs only those tests against each mutant. Tests that start `python -m evalkit` or worker
processes see the mutated code too: they run with mutants/ first on PYTHONPATH and inherit the mutant's name.

Prints the kill rate per module (killed, including timeouts, over the mutants checked; a mutant no test reaches
counts as a survivor) and writes every survivor with its diff to `--survivors` (default mutants/survivors.txt).
With --rotate, the modules are taken in turn starting from one chosen by the date, so consecutive days cover them
all; a module cut off by the budget reports what was checked and how many were left.

With --sample N, only a seeded random sample of N of each module's unchecked mutants is run. A module not checked
in full then also gets an estimate of its kill rate over all its mutants, with a 95% interval: the mutants checked
count as they came out, the unchecked ones at the sample's rate. The rate over the mutants checked alone leans to
whatever was checked first (mutmut starts with the mutants whose tests are cheapest); the random sample does not.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
# mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code), grouped as this report counts them.
CAUGHT = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          -11: "segfault", -9: "segfault", 37: "type check"}  # fmt: skip
NOT_CHECKED = {None, 2}
# Each process mutmut starts may hold this much heap: a mutant that loops while growing a list (`k *= 2` made
# `k *= 1`) fails on its own instead of taking the machine's memory from everyone on it.
MEMORY_PER_PROCESS = 4 * 1024**3


# Functions that run only inside the verifier's worker processes. mutmut learns which tests reach a function by
# tracing the test process, so it finds none for these ("no tests"), although every pool test runs them in each
# worker. Their mutants are run here against those tests: the workers inherit the mutant's name from the
# environment and run the mutated code.
WORKER_SIDE = {
    "evalkit/verify/pool.py": (
        ("_worker_main", "_die_with_parent", "_limit_memory"),
        ("tests/test_pool.py", "tests/test_pool_units.py", "tests/test_check_many.py"),
    ),
    # The symbolic comparison is the function the workers run.
    "evalkit/verify/symbolic.py": (
        ("*",),
        ("tests/test_check_many.py", "tests/test_verify_notation.py", "tests/test_verify.py"),
    ),
}
NO_TESTS = {5, 33}
WORKER_SIDE_TIMEOUT_S = 600
# The mutants drawn by --sample, per module: only these are known to be a random sample of what was unchecked.
SAMPLES = MUTANTS / "samples.json"
Z_95 = 1.959964
SPINNER = tuple("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")


def _limit_memory() -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = MEMORY_PER_PROCESS if hard == resource.RLIM_INFINITY else min(MEMORY_PER_PROCESS, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


@dataclass(frozen=True)
class Estimate:
    """The kill rate over all of a module's mutants, from those checked and a random sample of the rest."""

    rate: float
    low: float
    high: float
    sampled_checked: int
    sampled_caught: int


@dataclass(frozen=True)
class ModuleScore:
    path: str
    total: int
    checked: int
    caught: int
    survivors: tuple[str, ...]  # mutant names, "no tests" included
    estimate: Estimate | None = None
    drawn: int = 0  # mutants of a random sample, checked or not

    @property
    def kill_rate(self) -> float | None:
        return self.caught / self.checked if self.checked else None


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion: inside [0, 1] and sensible at 0 or all successes, where
    the normal approximation's interval collapses to a point."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def estimate_over_all(total: int, checked: int, caught: int, sampled_checked: int, sampled_caught: int) -> Estimate:
    """Mutants checked count as they came out; each unchecked one at the random sample's kill rate (its interval
    carried over linearly)."""
    unchecked = total - checked
    rate = sampled_caught / sampled_checked
    low, high = wilson_interval(sampled_caught, sampled_checked)
    return Estimate((caught + rate * unchecked) / total, (caught + low * unchecked) / total,
                    (caught + high * unchecked) / total, sampled_checked, sampled_caught)  # fmt: skip


def read_samples() -> dict[str, list[str]]:
    return json.loads(SAMPLES.read_text()) if SAMPLES.is_file() else {}


def draw_sample(module: str, size: int, seed: str) -> list[str] | None:
    """A random sample of `size` of the module's mutants not checked yet, drawn with a seed and added to those the
    module already had drawn (recorded in SAMPLES); None when mutmut has not generated the module's mutants yet."""
    meta = MUTANTS / f"{module}.meta"
    if not meta.is_file():
        return None
    data = json.loads(meta.read_text())
    results = data["exit_code_by_key"]
    # A worker-side mutant that mutmut found "no tests" for has not been checked until the worker-side pass runs it:
    # it goes back among the unchecked, so that only those drawn take that pass's minute each.
    reopened = [name for name, code in results.items() if code in NO_TESTS and runs_in_workers(module, name)]
    if reopened:
        results.update(dict.fromkeys(reopened))
        meta.write_text(json.dumps(data))
    unchecked = sorted(name for name, code in results.items() if code in NOT_CHECKED)
    drawn = random.Random(f"{seed}:{module}").sample(unchecked, min(size, len(unchecked)))
    samples = read_samples()
    samples[module] = sorted(set(samples.get(module, [])) | set(drawn))
    SAMPLES.write_text(json.dumps(samples, indent=1))
    return drawn


def configured_modules() -> list[str]:
    import tomllib  # Python 3.11+, like mutmut itself; imported here so the rest of this file loads on 3.10

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["only_mutate"])


def expand(patterns: list[str]) -> list[str]:
    """Module files matching the patterns (globs as in only_mutate), in the order given, each once."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "evalkit").rglob("*.py"))
    chosen: list[str] = []
    for pattern in patterns:
        matched = [f for f in files if fnmatch.fnmatch(f, pattern) and not f.endswith("__init__.py")]
        if not matched:
            sys.exit(f"no module matches {pattern!r} under evalkit/")
        chosen += [f for f in matched if f not in chosen]
    return chosen


def dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def todays_order(modules: list[str], today: datetime.date) -> list[str]:
    """The modules starting from one picked by the date, so each day's budget begins somewhere else."""
    start = today.toordinal() % len(modules)
    return modules[start:] + modules[:start]


def survivors_of(module: str, unchecked_too: bool = False) -> list[str] | None:
    """The module's mutants that survived (or no test reached) when it was last run, and with `unchecked_too` those
    never checked; None when that is all of them (or mutmut has not generated them yet)."""
    meta = MUTANTS / f"{module}.meta"
    if not meta.is_file():
        return None
    results = json.loads(meta.read_text())["exit_code_by_key"]
    names = sorted(name for name, code in results.items() if code not in CAUGHT and (unchecked_too or code is not None))
    return None if len(names) == len(results) else names


def run_mutmut(
    modules: list[str], max_children: int, deadline: float | None, log: Path, names: list[str] | None = None
) -> bool:
    """mutmut on the modules' mutants (or only `names`); False when the budget ran out first (the run is stopped,
    its results kept)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(MUTANTS), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("EVALKIT_SHARED_DIR", str(ROOT.parent / "shared"))
    # A subprocess that imports evalkit must find the mutated copy; a PYTHONPATH entry that did not exist when the
    # interpreter started is never looked at again, so the folder exists before mutmut starts.
    MUTANTS.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children),
               *(names or [f"{dotted(module)}.*" for module in modules])]  # fmt: skip
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=_limit_memory)  # fmt: skip
        try:
            process.wait(timeout=None if deadline is None else max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # SIGINT first: mutmut saves what it has checked; then the whole group, workers included.
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            return False
    if process.returncode != 0:
        # mutmut stops before any mutant when the tests cannot run (a failing test in its statistics or clean run):
        # a kill rate of nothing checked must not pass for a result.
        sys.exit(f"mutmut failed (exit code {process.returncode}) before checking the mutants; {log} ends with:\n"
                 + "\n".join(last_lines(log, 8)))  # fmt: skip
    return True


def last_lines(log: Path, count: int) -> list[str]:
    """The log's last lines of text, without mutmut's progress spinner (it redraws one line with carriage returns)."""
    lines = log.read_bytes().decode(errors="replace").replace("\r", "\n").splitlines()
    text = [line for line in lines if line.strip() and not line.lstrip().startswith(SPINNER)]
    return text[-count:]


def runs_in_workers(module: str, mutant: str) -> bool:
    """Whether the mutant is of a function that runs only in the verifier's worker processes."""
    functions = WORKER_SIDE.get(module, ((), ()))[0]
    function = mutant.rpartition(".")[2].split("__mutmut_")[0].removeprefix("x_")
    return "*" in functions or function in functions


def generate_mutants(max_children: int) -> None:
    """mutmut's own first step alone: copy the tree into mutants/ and write each module's mutants and their (empty)
    results, so a sample can be drawn before anything runs. Files already mutated are left as they are."""
    script = ("from mutmut.__main__ import copy_src_dir, copy_also_copy_files, create_mutants\n"
              f"copy_src_dir(); copy_also_copy_files(); create_mutants({max_children})")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"mutmut could not generate the mutants: {done.stderr.strip().splitlines()[-1:]}")


def run_worker_side(module: str, deadline: float | None, log: Path) -> bool:
    """Run the worker-side mutants of `module` that mutmut found no test for ("*": any of its functions) against
    the tests that drive the workers, and record each outcome in mutmut's own results (killed when a test fails).
    False when the budget ran out first."""
    _, tests = WORKER_SIDE[module]
    meta_path = MUTANTS / f"{module}.meta"
    if not meta_path.is_file():
        return True
    meta = json.loads(meta_path.read_text())
    results = meta["exit_code_by_key"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(MUTANTS), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("EVALKIT_SHARED_DIR", str(ROOT.parent / "shared"))
    for name, code in sorted(results.items()):
        if code not in NO_TESTS or not runs_in_workers(module, name):
            continue
        if deadline is not None and time.monotonic() > deadline:
            return False
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        with open(log, "ab") as out:
            out.write(f"\n$ MUTANT_UNDER_TEST={name} {' '.join(command)}\n".encode())
            out.flush()
            try:
                exit_code = subprocess.run(command, cwd=MUTANTS, env={**env, "MUTANT_UNDER_TEST": name}, stdout=out,
                                           stderr=subprocess.STDOUT, timeout=WORKER_SIDE_TIMEOUT_S,
                                           preexec_fn=_limit_memory).returncode  # fmt: skip
            except subprocess.TimeoutExpired:
                exit_code = 36
        results[name] = exit_code
        meta_path.write_text(json.dumps(meta))
    return True


def score(module: str, samples: dict[str, list[str]] | None = None) -> ModuleScore:
    meta = MUTANTS / f"{module}.meta"
    results = json.loads(meta.read_text())["exit_code_by_key"] if meta.is_file() else {}
    # "No tests" for a function that runs only in the workers is no outcome: the worker-side pass has not run it yet.
    checked = {name: code for name, code in results.items()
               if code not in NOT_CHECKED and not (code in NO_TESTS and runs_in_workers(module, name))}  # fmt: skip
    caught = sum(1 for code in checked.values() if code in CAUGHT)
    survivors = tuple(sorted(name for name, code in checked.items() if code not in CAUGHT))
    sampled = [name for name in (samples or {}).get(module, []) if name in results]
    sampled_checked = [checked[name] for name in sampled if name in checked]
    estimate = None
    if sampled_checked and len(checked) < len(results):
        sampled_caught = sum(1 for code in sampled_checked if code in CAUGHT)
        estimate = estimate_over_all(len(results), len(checked), caught, len(sampled_checked), sampled_caught)
    return ModuleScore(module, len(results), len(checked), caught, survivors, estimate, len(sampled))


def describe(result: ModuleScore) -> str:
    """One line of the kill-rate table: the rate over the mutants checked, and the estimate over all of them."""
    rate = "-" if result.kill_rate is None else f"{100 * result.kill_rate:5.1f}%"
    line = f"  {rate}  {result.caught:4d}/{result.checked:<4d}  {result.path}"
    if result.checked == result.total and result.total:
        return line + "  (complete)"
    estimate = result.estimate
    if estimate is None:
        sample = f"a sample of {result.drawn} drawn, none checked yet" if result.drawn else "no random sample"
        return line + f"  ({result.total - result.checked} of {result.total} unchecked, {sample})"
    return line + (f"  (estimate over all {result.total}: {100 * estimate.rate:.1f}% [{100 * estimate.low:.1f}, "
                   f"{100 * estimate.high:.1f}], sample {estimate.sampled_caught}/{estimate.sampled_checked} killed"
                   f" of {result.drawn} drawn)")  # fmt: skip


def survivor_report(scores: list[ModuleScore]) -> str:
    """Each survivor's diff, from mutmut's own record of it."""
    os.chdir(ROOT)
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant
    except ImportError:  # another mutmut 3 layout: the survivors are still named, without their diffs

        def get_diff_for_mutant(name: str, path: str) -> str:
            raise LookupError("this mutmut version does not expose its diffs here")

    parts = []
    for module in scores:
        for name in module.survivors:
            results = json.loads((MUTANTS / f"{module.path}.meta").read_text())["exit_code_by_key"]
            status = "no tests" if results[name] in (5, 33) else "survived"
            try:
                diff = get_diff_for_mutant(name, path=module.path)
            except Exception as exc:  # a diff that cannot be shown still names the survivor
                diff = f"(no diff: {type(exc).__name__}: {exc})"
            parts.append(f"# {name}: {status}\n{diff}\n")
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="module files or globs (default: [tool.mutmut] only_mutate)")
    parser.add_argument("--rotate", action="store_true", help="start from the module the date picks")
    parser.add_argument("--budget-minutes", type=float, default=None, help="stop mutmut when this is spent")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--survivors", type=Path, default=MUTANTS / "survivors.txt")
    parser.add_argument("--fail-under", type=float, default=None, help="exit 1 if a module finished below this %%")
    parser.add_argument(
        "--survivors-only", action="store_true", help="run again only what survived last time (after new tests)"
    )
    parser.add_argument(
        "--skip-killed", action="store_true", help="leave out mutants already killed (resume an interrupted run)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="run nothing: the kill rates and survivors of the last runs"
    )
    parser.add_argument(
        "--together", action="store_true", help="one mutmut run for all the modules (one clean run, not one each)"
    )
    parser.add_argument(
        "--worker-side-only", action="store_true", help="only the worker-side mutants mutmut found no test for"
    )
    parser.add_argument(
        "--sample", type=int, default=None, metavar="N", help="run a random sample of N unchecked mutants per module"
    )
    parser.add_argument("--seed", default=None, help="the sample's seed (default: today's date)")
    args = parser.parse_args()
    if args.sample is not None and (args.sample < 1 or args.survivors_only):
        parser.error("--sample takes a positive count and draws from unchecked mutants: not with --survivors-only")
    try:
        import mutmut  # noqa: F401
    except ImportError:
        sys.exit("mutmut is not installed: pip install -e '.[mutation]'")

    modules = expand(args.modules or configured_modules())
    if args.rotate:
        modules = todays_order(modules, datetime.date.today())
    deadline = None if args.budget_minutes is None else time.monotonic() + args.budget_minutes * 60
    MUTANTS.mkdir(exist_ok=True)
    log = MUTANTS / "mutation.log"
    if not args.report_only:
        log.write_text("")

    seed = args.seed or datetime.date.today().isoformat()

    def run_mutants_of(chosen: list[str]) -> bool:
        """mutmut on these modules: all their mutants, or with --survivors-only / --skip-killed only those left
        from the last run, or with --sample a random sample of those unchecked (nothing when none are left); False
        when the budget ran out first."""
        names = None
        if args.sample is not None:
            generate_mutants(args.max_children)
            names = [name for m in chosen for name in draw_sample(m, args.sample, seed) or []]
            print(f"sample of {args.sample} unchecked mutants per module, seed {seed!r}: {len(names)} drawn",
                  flush=True)  # fmt: skip
        elif args.survivors_only or args.skip_killed:
            per_module = [survivors_of(m, unchecked_too=args.skip_killed) for m in chosen]
            names = None if None in per_module else [n for found in per_module for n in found]
        return names == [] or run_mutmut(chosen, args.max_children, deadline, log, names)

    scores: list[ModuleScore] = []
    finished: set[str] = set()
    if args.report_only:
        samples = read_samples()
        scores = [score(module, samples) for module in modules]
        finished = {s.path for s in scores if s.checked == s.total}
    elif args.together and not args.worker_side_only:
        # One mutmut run: its clean run of every test that reaches the modules is paid once, not once per module
        # (for the verifier's modules that is most of the suite, minutes each time).
        started = time.monotonic()
        together_complete = run_mutants_of(modules)
        print(f"mutmut on {len(modules)} modules together: {time.monotonic() - started:.0f} s"
              + ("" if together_complete else " -- budget spent, the rest unchecked"), flush=True)  # fmt: skip
    for module in [] if args.report_only else modules:
        if not args.together and deadline is not None and time.monotonic() > deadline - 60:
            break
        started = time.monotonic()
        if args.worker_side_only:
            complete = module not in WORKER_SIDE or run_worker_side(module, deadline, log)
        elif args.together:
            complete = together_complete
        else:
            complete = run_mutants_of([module])
        if complete and module in WORKER_SIDE and not args.worker_side_only:
            complete = run_worker_side(module, deadline, log)
        result = score(module, read_samples())
        scores.append(result)
        if complete:
            finished.add(module)
        rate = "-" if result.kill_rate is None else f"{100 * result.kill_rate:.1f}%"
        print(f"{module}: {rate} killed ({result.caught}/{result.checked} checked of {result.total}; "
              f"{len(result.survivors)} survivors; {time.monotonic() - started:.0f} s)"
              + ("" if complete else " -- budget spent, the rest unchecked"), flush=True)  # fmt: skip
        if not complete and not args.together:
            break

    print("\nkill rate per module (killed / checked):")
    for result in scores:
        print(describe(result))
    skipped = [m for m in modules if m not in {s.path for s in scores}]
    if skipped:
        print(f"not run this time (budget): {', '.join(skipped)}")
    args.survivors.parent.mkdir(parents=True, exist_ok=True)
    args.survivors.write_text(survivor_report(scores))
    print(f"survivors with their diffs: {args.survivors} ({sum(len(s.survivors) for s in scores)} mutants)")
    if args.fail_under is not None:
        low = [s for s in scores if s.path in finished and s.kill_rate is not None]
        low = [s for s in low if 100 * s.kill_rate < args.fail_under]
        if low:
            print(f"below {args.fail_under}%: {', '.join(s.path for s in low)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
