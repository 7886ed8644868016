"""The verifier's worker pool: order, batching, the CPU-time bound, crashes, the memory cap, and workers that
die with their parent and never re-import the caller's main script."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evalkit.verify.pool import LOWEST_NICENESS, MAX_BATCH, BoundedPool, process_cpu_seconds

TESTS = Path(__file__).parent
REPO = TESTS.parent


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until_dead(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def test_map_keeps_order_and_sends_work_in_batches():
    with BoundedPool("pool_tasks.echo", workers=2, timeout=5) as pool:
        payloads = list(range(200))
        outcomes = pool.map(payloads)
        assert [o.value for o in outcomes] == payloads and all(o.error is None for o in outcomes)
        assert pool.tasks_done == 200
        assert len(pool.workers) == 2


def test_streaming_submit_and_poll_return_each_outcome_once():
    with BoundedPool("pool_tasks.echo", workers=2, timeout=5) as pool:
        ids = {pool.submit(i): i for i in range(30)}
        seen = {}
        while pool.outstanding:
            for task_id, outcome in pool.poll(1.0):
                assert task_id not in seen
                seen[task_id] = outcome.value
        assert seen == ids
        assert pool.poll(0.1) == []  # nothing outstanding: returns at once


def test_a_task_past_its_cpu_bound_is_killed_and_its_batch_goes_on_elsewhere():
    # README: "every symbolic comparison runs in a worker process that is killed when it has spent
    # `--verify-timeout` seconds of CPU time on one check"
    # One slow task in the middle of a long list: more tasks than workers, so batches of several are in flight.
    payloads = [0.01] * 20 + [30.0] + [0.01] * 20
    with BoundedPool("pool_tasks.spin", workers=2, timeout=1.0) as pool:
        start = time.monotonic()
        outcomes = pool.map(payloads)
        elapsed = time.monotonic() - start
    assert outcomes[20].error == "timeout" and 1.0 <= outcomes[20].seconds < 4.0
    assert all(o.error is None for i, o in enumerate(outcomes) if i != 20)
    assert pool.timeouts == 1
    assert elapsed < 8.0
    assert MAX_BATCH > 1


def test_the_bound_is_cpu_time_so_a_busy_machine_does_not_turn_work_into_timeouts():
    """Wall time a worker spends not computing (here: stopped, as if other processes had every core) is not
    charged to its check; only the work it does counts."""
    with BoundedPool("pool_tasks.spin", workers=1, timeout=1.0) as pool:
        task = pool.submit(0.6)
        deadline = time.monotonic() + 30
        while not (pool.workers and pool.workers[0].queue) and time.monotonic() < deadline:
            pool.poll(0.02)  # until the worker runs the check
        worker = pool.workers[0].process.pid
        os.kill(worker, signal.SIGSTOP)
        try:
            assert pool.poll(1.5) == []  # 1.5 s of wall time pass, past the 1 s bound
        finally:
            os.kill(worker, signal.SIGCONT)
        outcomes = dict(pool.poll(None))
    assert outcomes[task].error is None, outcomes[task]
    # A wall-clock bound would have called it a timeout.
    assert outcomes[task].seconds > 1.5, outcomes[task]


def test_workers_run_at_the_niceness_asked_for():
    with BoundedPool("pool_tasks.niceness", workers=1, timeout=5, niceness=7) as pool:
        (outcome,) = pool.map([None])
    assert outcome.value == os.nice(0) + 7
    with BoundedPool("pool_tasks.scheduler", workers=1, timeout=5, niceness=7) as pool:
        assert pool.map([None])[0].value == os.SCHED_OTHER


def test_at_the_lowest_niceness_workers_take_only_idle_cpu():
    # README: "worker processes run at the lowest CPU priority"
    with BoundedPool("pool_tasks.scheduler", workers=1, timeout=5, niceness=LOWEST_NICENESS) as pool:
        (outcome,) = pool.map([None])
    assert outcome.value == os.SCHED_IDLE


def test_a_crashing_task_is_an_outcome_and_the_pool_goes_on():
    with BoundedPool("pool_tasks.die", workers=1, timeout=5) as pool:
        outcomes = pool.map([None, None])
        assert [o.error for o in outcomes] == ["crashed: worker exited (7)"] * 2
        assert pool.crashes == 2


def test_a_runaway_allocation_hits_the_memory_cap():
    # README: "a runaway expression hits a 4 GB memory cap" (the cap itself: test_check_many.py)
    with BoundedPool("pool_tasks.allocate", workers=1, timeout=20, memory_limit=512 * 1024**2) as pool:
        big, small = pool.map([2 * 1024**3, 1024])
    assert big.error == "error: out of memory"
    assert small.value == 1024


def test_close_kills_a_worker_in_the_middle_of_a_check_at_once():
    pool = BoundedPool("pool_tasks.forever", workers=1, timeout=600)
    pool.submit(None)
    pool.poll(0.5)
    (worker,) = pool.workers
    pid = worker.process.pid
    start = time.monotonic()
    pool.close()
    assert time.monotonic() - start < 2.0
    assert wait_until_dead([pid], 2.0) == []


def test_workers_ignore_ctrl_c_so_it_reaches_only_the_caller():
    with BoundedPool("pool_tasks.spin", workers=1, timeout=10) as pool:
        task = pool.submit(0.5)
        deadline = time.monotonic() + 30
        while not (pool.workers and pool.workers[0].queue) and time.monotonic() < deadline:
            pool.poll(0.02)  # until the worker is running the task
        os.kill(pool.workers[0].process.pid, signal.SIGINT)
        outcomes = dict(pool.poll(None))
    assert outcomes[task].error is None and pool.crashes == 0


def test_a_worker_lost_while_it_starts_is_replaced_and_the_work_still_done():
    # A Ctrl-C meant for the terminal's process group can reach a worker before it ignores it.
    with BoundedPool("pool_tasks.spin", workers=1, timeout=10) as pool:
        task = pool.submit(0.1)
        pool._grow()
        first = pool.workers[0].process
        first.kill()
        outcomes = dict(pool.poll(None))
        assert pool.workers[0].process is not first
    assert outcomes[task].error is None


def test_cpu_seconds_of_a_process_are_read_from_proc():
    before = process_cpu_seconds(os.getpid())
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    after = process_cpu_seconds(os.getpid())
    assert before is not None and after is not None and after - before >= 0.15


SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{tests!r}, {repo!r}]
    from evalkit.verify.pool import BoundedPool
    pool = BoundedPool("pool_tasks.forever", workers=2, timeout=600)
    # One task at a time until each worker runs one (a worker still starting, or idle, would exit on its own when
    # the parent dies, and prove nothing).
    deadline = time.monotonic() + 60
    for running in (1, 2):
        pool.submit(None)
        while not (len(pool.workers) == running and all(w.ready and w.queue for w in pool.workers)):
            assert time.monotonic() < deadline, "the workers did not start"
            pool.poll(0.05)
    print(" ".join(str(w.process.pid) for w in pool.workers), flush=True)
    time.sleep(600)
    """
)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_their_parent_even_after_kill_9(how):
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(tests=str(TESTS), repo=str(REPO))], stdout=subprocess.PIPE, text=True
    )
    pids: list[int] = []
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
        pids += {parent_of(p) for p in pids} - {parent.pid}  # the fork server too
        parent.send_signal(how)
        parent.wait(timeout=10)
        assert wait_until_dead(pids, 10.0) == [], "workers outlived their parent"
    finally:
        parent.kill()
        for pid in pids:  # when the test fails, leave no process spinning on the machine
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return int(handle.read().rsplit(b")", 1)[1].split()[1])


@pytest.mark.parametrize("how", ["file", "stdin"])
@pytest.mark.parametrize("padding", [0, 1_000_000])
def test_workers_never_re_import_the_callers_main_script(tmp_path, how, padding):
    # README: "Workers ... start from a fork server, never re-import your main script"
    """A script with no __main__ guard that verifies: multiprocessing would re-run it in every worker (from a file),
    or fail outright (from stdin). The answers need the symbolic comparison, so workers really start. A batch of a
    million characters starts the fork server as it begins (verifier.py), before any worker."""
    marker = tmp_path / "runs.txt"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(REPO)!r}]
        with open({str(marker)!r}, "a") as handle:
            handle.write("ran\\n")
        from evalkit.verify import Verifier
        with Verifier(workers=2) as verifier:
            pairs = [("x" * {padding} + "\\\\boxed{{\\\\frac{{2x}}{{4}}}}", "\\\\frac{{x}}{{2}}")]
            pairs.append(("x = \\\\boxed{{0.5 y}}", "y/2"))
            verdicts = verifier.check_many(pairs)
            print(all(v.correct for v in verdicts), verifier.symbolic_checks)
        """
    )
    if how == "file":
        path = tmp_path / "unguarded.py"
        path.write_text(script)
        command, stdin = [sys.executable, str(path)], None
    else:
        command, stdin = [sys.executable, "-"], script
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True 2"
    assert marker.read_text() == "ran\n"


def test_a_lower_priority_is_dropped_by_replacing_the_workers_and_their_checks_run_again():
    with BoundedPool("pool_tasks.niceness", workers=2, timeout=5, niceness=9) as pool:
        assert {o.value for o in pool.map([None, None])} == {os.nice(0) + 9}
        pool.set_niceness(0)
        assert {o.value for o in pool.map([None, None, None])} == {os.nice(0)}
    with BoundedPool("pool_tasks.spin", workers=1, timeout=10, niceness=9) as pool:
        task = pool.submit(0.3)
        pool.poll(0.1)  # under way at the lower priority
        pool.set_niceness(0)
        (outcome,) = dict(pool.poll(None)).values()
    assert outcome.error is None and task == 0
