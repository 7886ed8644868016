"""Store first, verify beside: completions are on disk the moment they arrive, the engine never waits for a
verdict, a kill or an interrupt during verification loses nothing, and a rerun verifies what lacks a verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fake_backend import FakeBackend

from evalkit.config import BackendConfig, RunConfig, SamplingConfig
from evalkit.data import datasets as ds
from evalkit.data.prompts import TEMPLATES
from evalkit.errors import EvalkitError
from evalkit.pipeline.run import missing_ranges, plan_requests, run
from evalkit.store import RunLock, read_run
from evalkit.verify import Verifier

TESTS = Path(__file__).parent
REPO = TESTS.parent
# An answer sympy cannot settle within any bound: expanding it takes minutes of CPU.
ENDLESS = "After all that work, the answer is $\\boxed{(x+1)^{10000}}$."


@pytest.fixture
def aime(shared_data, tmp_path):
    return ds.load("aime24", ds.DataLocations(shared_data, tmp_path / "cache"))


def config(n=4, limit=5, seed=0) -> RunConfig:
    return RunConfig(
        model="fake-model",
        dataset="aime24",
        template="boxed",
        sampling=SamplingConfig(n=n, temperature=0.6, top_p=0.95, max_tokens=512, seed=seed),
        backend=BackendConfig(kind="vllm"),
        limit=limit,
    )


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def slow_for(aime, slow: set[tuple[str, int]]):
    """Texts: the gold answer boxed, except the (problem, index) pairs in `slow`, which get ENDLESS."""
    gold = {p.id: p.answer for p in aime.problems}

    def text(problem_id: str, index: int) -> str:
        return ENDLESS if (problem_id, index) in slow else f"So the answer is $\\boxed{{{gold[problem_id]}}}$."

    return text


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children, grandchildren, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def no_engine():
    raise AssertionError("nothing is missing: no engine may start")


def test_every_completion_is_on_disk_before_the_next_is_asked_for_and_generation_never_waits(aime, tmp_path):
    # README: "stores every completion the moment it exists" (and ARCHITECTURE: generation never waits for verification)
    run_dir = tmp_path / "run"
    ids = [p.id for p in aime.problems[:5]]
    slow = {(ids[0], 0), (ids[1], 1), (ids[2], 2), (ids[3], 3)}
    on_disk_when_asked: list[int] = []
    finished_at: list[float] = []

    def resumed(yielded: int) -> None:
        on_disk_when_asked.append(len(lines(run_dir / "samples.jsonl")))
        if yielded == 20:
            finished_at.append(time.monotonic())

    backend = FakeBackend(text_for=slow_for(aime, slow), on_resume=resumed)
    start = time.monotonic()
    with Verifier("math", workers=2, timeout=1.0) as verifier:
        outcome = run(config(), aime, TEMPLATES["boxed"], lambda: backend, run_dir, verifier)
    total = time.monotonic() - start
    assert on_disk_when_asked == list(range(1, 21))
    # Four checks run into the 1 s bound on two workers, yet all twenty completions were taken at once.
    generation = finished_at[0] - start
    assert generation < 1.0 < total, (generation, total)
    verdicts = {(v["problem_id"], v["sample_index"]): v["verdict"] for v in lines(run_dir / "verdicts.jsonl")}
    assert len(verdicts) == 20
    assert {k for k, v in verdicts.items() if v["error"] == "timeout"} == slow
    assert outcome.metrics.avg == pytest.approx(16 / 20)
    assert outcome.results["verification"]["waited_after_generation_s"] >= 0.9
    assert outcome.results["generation"]["wall_time_s"] < 1.0


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{tests!r}, {repo!r}]
    from pathlib import Path
    from fake_backend import FakeBackend
    from evalkit.config import BackendConfig, RunConfig, SamplingConfig
    from evalkit.data import datasets as ds
    from evalkit.data.prompts import TEMPLATES
    from evalkit.pipeline.run import run
    from evalkit.verify import Verifier

    data = ds.load("aime24", ds.DataLocations(Path({data!r}), Path({cache!r})))
    gold = {{p.id: p.answer for p in data.problems}}
    slow = set(tuple(x) for x in {slow!r})

    def text(pid, i):
        return {endless!r} if (pid, i) in slow else "So the answer is $\\\\boxed{{" + gold[pid] + "}}$."

    def resumed(yielded):
        if yielded == 20:
            print("generated", flush=True)

    config = RunConfig("fake-model", "aime24", "boxed", SamplingConfig(n=4, max_tokens=512), BackendConfig(), limit=5)
    with Verifier("math", workers=1, timeout=60) as verifier:
        run(config, data, TEMPLATES["boxed"], lambda: FakeBackend(text_for=text, on_resume=resumed),
            Path({run_dir!r}), verifier)
    print("finished", flush=True)
    """
)


def test_a_kill_9_during_verification_loses_no_completion_and_the_rerun_only_verifies(aime, shared_data, tmp_path):
    # README: "Running the same command again resumes" after a kill: nothing that arrived is lost
    run_dir = tmp_path / "run"
    ids = [p.id for p in aime.problems[:5]]
    slow = [(ids[0], 1), (ids[2], 3), (ids[4], 0)]
    script = KILL_SCRIPT.format(
        tests=str(TESTS), repo=str(REPO), data=str(shared_data), cache=str(tmp_path / "cache"), slow=slow,
        endless=ENDLESS, run_dir=str(run_dir),
    )  # fmt: skip
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "generated"
        time.sleep(0.5)  # the fast verdicts are written; the slow checks are under way
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    assert len(lines(run_dir / "samples.jsonl")) == 20
    verdicts_before = lines(run_dir / "verdicts.jsonl")
    assert 0 < len(verdicts_before) < 20
    assert not (run_dir / "results.json").exists()

    with Verifier("math", workers=2, timeout=1.0) as verifier:
        outcome = run(config(), aime, TEMPLATES["boxed"], no_engine, run_dir, verifier)
    assert outcome.generated == 0
    assert outcome.results["verification"]["verified_now"] == 20 - len(verdicts_before)
    verdicts = {(v["problem_id"], v["sample_index"]): v["verdict"] for v in lines(run_dir / "verdicts.jsonl")}
    assert len(verdicts) == 20 and {k for k, v in verdicts.items() if v["error"] == "timeout"} == set(slow)
    assert outcome.metrics.avg == pytest.approx(17 / 20)


INTERRUPT_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{tests!r}, {repo!r}]
    from pathlib import Path
    from fake_backend import FakeBackend
    from evalkit.errors import EvalkitError
    from evalkit.pipeline import launch
    from evalkit.report.terminal import RunProgressView
    from rich.console import Console

    view = RunProgressView(Console(stderr=True))
    given = {{"kind": "openai", "base_urls": ("http://127.0.0.1:9/v1",), "n": 2, "limit": 3, "template": "boxed"}}
    prepared = launch.prepare("fake-model", given, Path({output!r}), None, view)
    endless = {endless!r}

    def resumed(yielded):
        if yielded == 6:
            print(prepared.run_dir, flush=True)

    backend = FakeBackend(text_for=lambda pid, i: endless, on_resume=resumed)
    try:
        launch.execute(prepared, view, workers=2, verify_timeout=600, backend_factory=lambda c, m: backend)
    except EvalkitError as exc:
        print("error:", exc, flush=True)
        sys.exit(2)
    """
)


class SlowCollectVerifier:
    """Stands in for Verifier: every collect takes a while, and closing it while a collect runs is recorded."""

    rules = "math"
    niceness = 0

    def __init__(self) -> None:
        self.collecting = False
        self.closed_while_collecting = False
        self.closed = False
        self._keys: list = []

    @property
    def pending(self) -> int:
        return len(self._keys)

    def submit(self, key, response, gold, truncated=False):
        self._keys.append(key)
        return None

    def collect(self, timeout=None):
        self.collecting = True
        time.sleep(0.6)
        self.collecting = False
        return []

    def close(self) -> None:
        self.closed_while_collecting |= self.collecting
        self.closed = True


def test_an_interrupted_wait_still_lets_the_verification_thread_leave_the_pool_before_it_is_closed(tmp_path):
    """Ctrl-C during `finish` interrupts a thread join; on CPython 3.11 that can mark the still-running thread as
    stopped. `abort` must wait for the thread itself, or the pool is closed under its feet (file descriptors the
    thread still uses closed and reused: a worker's pipe, the verdicts file)."""
    from evalkit.pipeline.verification import VerificationBeside
    from evalkit.store import RunWriter, SampleRecord

    writer = RunWriter(tmp_path)
    writer.open()
    verifier = SlowCollectVerifier()
    beside = VerificationBeside(verifier, {"p": "1"}, writer)  # type: ignore[arg-type]
    beside.start()
    beside.submit(SampleRecord("p", 0, "x", "stop", None, None, None))

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.25)
        with pytest.raises(KeyboardInterrupt):
            beside.finish(lambda: [])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    beside.abort()
    writer.close()
    assert verifier.closed
    assert not verifier.closed_while_collecting


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_at_once_during_a_check_with_the_resume_hint(data_env, tmp_path, how):
    # README: "evalkit stops with one line saying how many samples are saved and that rerunning resumes"
    script = INTERRUPT_SCRIPT.format(tests=str(TESTS), repo=str(REPO), output=str(tmp_path / "runs"), endless=ENDLESS)
    # Ctrl-C as a terminal delivers it: a suite started in the background (`make test &`) has SIGINT ignored,
    # and the child would inherit that.
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        run_dir = Path(process.stdout.readline().strip())
        # Wait until both workers are deep in a check bounded at 600 s: the fork server and its two workers (and
        # multiprocessing's resource tracker) are running.
        deadline = time.monotonic() + 30
        workers = descendants(process.pid)
        while len(workers) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = descendants(process.pid)
        assert len(workers) >= 3
        time.sleep(0.5)
        sent = time.monotonic()
        process.send_signal(how)
        out, err = process.communicate(timeout=20)
        stopped_after = time.monotonic() - sent
    finally:
        process.kill()
    assert process.returncode == 2, err
    assert stopped_after < 5.0
    assert "error: interrupted. 6 samples are saved in" in out and "rerun the same command to resume" in out
    assert "Traceback" not in err
    assert len(lines(run_dir / "samples.jsonl")) == 6
    # No process of this run is left behind, let alone spinning.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(running(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if running(pid)]


def test_another_verifier_verifies_the_stored_samples_again_and_never_mixes_rule_sets(aime, tmp_path):
    run_dir = tmp_path / "run"
    text = slow_for(aime, set())
    with Verifier("math") as verifier:
        run(config(), aime, TEMPLATES["boxed"], lambda: FakeBackend(text_for=text), run_dir, verifier)
    with Verifier("strict-int") as verifier:
        outcome = run(config(), aime, TEMPLATES["boxed"], no_engine, run_dir, verifier)
    assert outcome.generated == 0 and outcome.results["verification"]["verified_now"] == 20
    manifest = json.loads((run_dir / "manifest.json").read_text())
    results = json.loads((run_dir / "results.json").read_text())
    assert manifest["verifier"] == results["verifier"] == "strict-int"
    contents = read_run(run_dir)
    assert set(contents.verdicts) == {"math", "strict-int"}
    assert all(v["rule"] == "strict-int" for v in contents.verdicts_for("strict-int").values())
    with Verifier("math") as verifier:
        again = run(config(), aime, TEMPLATES["boxed"], no_engine, run_dir, verifier)
    assert again.results["verification"]["verified_now"] == 0  # its verdicts are kept under its own name


def test_a_second_writer_is_refused_naming_the_holder_and_can_wait(aime, tmp_path):
    run_dir = tmp_path / "run"
    holder = RunLock(run_dir)
    holder.acquire()
    before = sorted(p.name for p in run_dir.iterdir())
    with Verifier("math") as verifier, pytest.raises(EvalkitError) as refused:
        run(config(), aime, TEMPLATES["boxed"], lambda: FakeBackend(), run_dir, verifier)
    assert f"process {os.getpid()} on " in str(refused.value) and "--wait" in str(refused.value)
    assert sorted(p.name for p in run_dir.iterdir()) == before  # nothing written on refusal
    notices: list[str] = []
    threading.Timer(0.5, holder.release).start()
    start = time.monotonic()
    with Verifier("math") as verifier:
        outcome = run(
            config(), aime, TEMPLATES["boxed"], lambda: FakeBackend(), run_dir, verifier, on_notice=notices.append,
            wait_for_lock=True,
        )  # fmt: skip
    assert time.monotonic() - start >= 0.4 and outcome.generated == 20
    assert any(m.startswith(f"waiting for process {os.getpid()}") for m in notices)


def test_the_run_holds_its_lock_from_start_to_end_of_generation(aime, tmp_path):
    # A second writer is refused while the run generates, not only before it starts; once it ends, the lock is free.
    run_dir = tmp_path / "run"
    attempts: list[str] = []

    def second_writer(yielded: int) -> None:
        if yielded in (1, 10, 20):
            lock = RunLock(run_dir)
            try:
                lock.acquire()
            except EvalkitError as refused:
                attempts.append(str(refused))
            else:
                attempts.append("taken")
                lock.release()

    with Verifier("math") as verifier:
        run(config(), aime, TEMPLATES["boxed"], lambda: FakeBackend(on_resume=second_writer), run_dir, verifier)
    assert len(attempts) == 3 and all(f"is being written by process {os.getpid()}" in a for a in attempts), attempts
    lock = RunLock(run_dir)
    lock.acquire()
    lock.release()


def test_a_completion_reaches_the_verifier_only_once_it_is_on_disk(aime, tmp_path, monkeypatch):
    # Store first: a verdict never exists for a sample a crash could still lose.
    from evalkit.pipeline import run as runner

    run_dir = tmp_path / "run"
    on_disk_when_submitted: list[bool] = []

    class Checking(runner.VerificationBeside):
        def submit(self, record) -> None:
            stored = {(r["problem_id"], r["sample_index"]) for r in lines(run_dir / "samples.jsonl")}
            on_disk_when_submitted.append(record.key in stored)
            super().submit(record)

    monkeypatch.setattr(runner, "VerificationBeside", Checking)
    with Verifier("math") as verifier:
        outcome = run(config(), aime, TEMPLATES["boxed"], lambda: FakeBackend(), run_dir, verifier)
    assert outcome.generated == 20 and on_disk_when_submitted == [True] * 20


def test_the_lock_is_released_when_its_holder_dies(aime, tmp_path):
    run_dir = tmp_path / "run"
    code = f"import sys; sys.path[:0]=[{str(REPO)!r}]; from evalkit.store import RunLock; RunLock(__import__('pathlib').Path({str(run_dir)!r})).acquire(); print('held', flush=True); import time; time.sleep(60)"  # noqa: E501
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(EvalkitError, match=f"process {holder.pid} on"):
        RunLock(run_dir).acquire()
    holder.kill()
    holder.wait()
    lock = RunLock(run_dir)
    lock.acquire()
    lock.release()


def test_planning_is_linear_in_what_is_stored_not_in_n():
    assert missing_ranges(10, [0, 1, 4, 9, 12]) == [(2, 2), (5, 4)]
    assert missing_ranges(3, []) == [(0, 3)]
    assert missing_ranges(2, [0, 1]) == []
    from evalkit.backends.base import Prompt

    prompt = Prompt("p", ({"role": "user", "content": "q"},), "")
    start = time.monotonic()
    requests = plan_requests({"p": prompt}, 10**9, 0, {("p", 5)})
    assert time.monotonic() - start < 0.1
    assert [(r.first_index, r.count) for r in requests] == [(0, 5), (6, 10**9 - 6)]
    engine = plan_requests({"p": prompt}, 4, 0, set(), seed_policy="engine")
    assert [r.seed for r in engine] == [None]


def test_seed_policy_engine_leaves_seeds_to_the_engine_and_is_part_of_the_identity(aime, tmp_path):
    from dataclasses import replace

    engine = replace(config(), sampling=replace(config().sampling, seed_policy="engine"))
    backend = FakeBackend()
    with Verifier("math") as verifier:
        run(engine, aime, TEMPLATES["boxed"], lambda: backend, tmp_path / "run", verifier)
    assert {r.seed for r in backend.requests} == {None}
    assert all(s["seed"] is None for s in lines(tmp_path / "run" / "samples.jsonl"))
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["identity"]["seed_policy"] == manifest["sampling"]["seed_policy"] == "engine"
    with Verifier("math") as verifier, pytest.raises(EvalkitError, match="seed_policy 'engine' -> 'sample'"):
        run(config(), aime, TEMPLATES["boxed"], lambda: backend, tmp_path / "run", verifier)


def test_once_generation_is_over_the_verifier_runs_at_normal_priority(aime, tmp_path):
    """Workers give way to the engine only while it generates: afterwards a busy machine must not starve them."""
    with Verifier("math", workers=1, timeout=5.0, niceness=19) as verifier:
        run(config(n=1, limit=2), aime, TEMPLATES["boxed"], lambda: FakeBackend(), tmp_path / "run", verifier)
        assert verifier.niceness == 0
        assert verifier._pool is None or verifier._pool.niceness == 0


def test_samples_that_outrun_the_verification_queue_are_verified_from_disk(aime, tmp_path, monkeypatch):
    """Generation far ahead of verification: what does not fit in the in-memory queue is read back from disk once
    generation is done, and every sample gets its verdict."""
    import functools

    import evalkit.pipeline.run as run_module
    from evalkit.pipeline.verification import VerificationBeside

    monkeypatch.setattr(run_module, "VerificationBeside", functools.partial(VerificationBeside, queue_size=2))
    generated = threading.Event()

    class HeldUp(Verifier):
        def submit(self, key, response, gold, truncated=False):
            generated.wait(10)  # the first check holds the thread until all twenty samples are generated
            return super().submit(key, response, gold, truncated)

    backend = FakeBackend(text_for=slow_for(aime, set()), on_resume=lambda yielded: yielded == 20 and generated.set())
    with HeldUp("math", workers=1) as verifier:
        outcome = run(config(), aime, TEMPLATES["boxed"], lambda: backend, tmp_path / "run", verifier)
    verdicts = {(v["problem_id"], v["sample_index"]): v["verdict"] for v in lines(tmp_path / "run" / "verdicts.jsonl")}
    assert len(verdicts) == 20 and all(v["correct"] for v in verdicts.values())
    assert outcome.results["verification"]["verified_now"] == 20 and outcome.metrics.avg == 1.0
