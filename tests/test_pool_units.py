"""The worker pool's bookkeeping (evalkit/verify/pool.py): how many workers it starts, what a failing task or a
worker that cannot start becomes, a worker that stops computing, waiting with a timeout, and the main module hidden
while workers start."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from evalkit.verify import pool as pool_module
from evalkit.verify.pool import BoundedPool, WorkerStartError, process_cpu_seconds


def test_workers_are_started_only_as_the_work_needs_them():
    with BoundedPool("pool_tasks.pid", workers=4, timeout=5) as pool:
        (one,) = pool.map([None])
        assert len(pool.workers) == 1 and one.value != os.getpid()
        pids = {o.value for o in pool.map([None] * 40)}
        assert len(pool.workers) == 4 and 1 <= len(pids) <= 4
    assert pool.workers == []  # closed
    assert BoundedPool("pool_tasks.echo").size == (os.cpu_count() or 1)
    assert BoundedPool("pool_tasks.echo", workers=0).size == max(1, os.cpu_count() or 1)


def test_a_task_that_raises_is_an_error_outcome_and_the_worker_goes_on():
    with BoundedPool("pool_tasks.fail", workers=1, timeout=5) as pool:
        outcomes = pool.map(["bad input", "x" * 500])
        assert outcomes[0].error == "error: ValueError: bad input" and outcomes[0].value is None
        assert outcomes[1].error == "error: " + f"ValueError: {'x' * 500}"[:300]
        assert pool.crashes == 0 and pool.timeouts == 0 and pool.tasks_done == 2
    with BoundedPool("pool_tasks.recurse", workers=1, timeout=5) as pool:
        (outcome,) = pool.map([0])
    assert outcome.error == "error: recursion too deep"


def test_outcomes_that_succeed_carry_their_time():
    with BoundedPool("pool_tasks.spin", workers=1, timeout=5) as pool:
        (outcome,) = pool.map([0.2])
    assert outcome.error is None and 0.2 <= outcome.seconds < 4.0


def test_workers_that_cannot_start_stop_the_pool_with_one_clear_error():
    with (
        BoundedPool("pool_tasks_that_do_not_exist.compare", workers=1, timeout=5) as pool,
        pytest.raises(WorkerStartError) as error,
    ):
        pool.map([None])
    assert str(error.value) == (
        "verifier worker processes fail to start (exit code 1); if evalkit is used from a script, put the calling "
        'code under `if __name__ == "__main__":` (multiprocessing re-imports the main module in each worker)'
    )


def test_a_crashed_task_says_how_long_it_ran():
    with BoundedPool("pool_tasks.die", workers=1, timeout=5) as pool:
        (outcome,) = pool.map([None])
    assert outcome.error == "crashed: worker exited (7)" and 0 < outcome.seconds < 5


def test_poll_returns_when_its_timeout_passes_with_nothing_finished():
    with BoundedPool("pool_tasks.forever", workers=1, timeout=60) as pool:
        pool.submit(None)
        start = time.monotonic()
        assert pool.poll(0.3) == []
        assert 0.25 <= time.monotonic() - start < 3.0
        assert pool.outstanding == 1


def test_a_worker_that_stops_computing_is_killed_after_the_stall_bound(monkeypatch):
    # README (pool.py): "A worker whose CPU time stops moving altogether for STALL_FACTOR times the bound is killed".
    monkeypatch.setattr(pool_module, "STALL_FACTOR", 4.0)
    with BoundedPool("pool_tasks.spin", workers=1, timeout=0.5) as pool:
        task = pool.submit(30.0)
        while not pool.workers or not pool.workers[0].queue:
            pool.poll(0.05)
        os.kill(pool.workers[0].process.pid, signal.SIGSTOP)  # no CPU time: not slow, stopped
        start = time.monotonic()
        outcomes = dict(pool.poll(None))
        waited = time.monotonic() - start
    assert outcomes[task].error == "timeout" and pool.timeouts == 1
    assert 1.0 <= waited < 6.0  # about 4 x 0.5 s, not the 30 s the task asked for


def test_cpu_seconds_of_a_process_that_is_gone_are_unknown():
    assert process_cpu_seconds(2**22 + 12345) is None
    assert process_cpu_seconds(os.getpid()) > 0


def test_the_main_module_is_hidden_only_while_workers_start():
    main = sys.modules["__main__"]
    had_file, spec = getattr(main, "__file__", None), getattr(main, "__spec__", None)
    main.__file__ = "/tmp/somebody's-script.py"
    try:
        with pool_module._main_module_hidden():
            assert not hasattr(main, "__file__") and main.__spec__ is None
        assert main.__file__ == "/tmp/somebody's-script.py" and main.__spec__ is spec
    finally:
        if had_file is None:
            del main.__file__
        else:
            main.__file__ = had_file


def test_a_memory_cap_below_the_hard_limit_is_the_soft_limit_workers_get():
    with BoundedPool("pool_tasks.address_space_limit", workers=1, timeout=5, memory_limit=1024**3) as pool:
        (outcome,) = pool.map([None])
    assert outcome.value[0] == 1024**3


def test_a_process_waiting_for_cpu_is_told_from_a_stopped_or_sleeping_one():
    """A worker at the lowest priority beside a busy engine gets no CPU for long and is runnable: not stalled.
    A stopped or blocked one is."""
    import signal
    import subprocess
    import sys

    from evalkit.verify.pool import process_waits_for_cpu

    assert process_waits_for_cpu(os.getpid())  # this process, running as it reads
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        assert not process_waits_for_cpu(sleeper.pid)
        assert process_waits_for_cpu(spinner.pid)
        spinner.send_signal(signal.SIGSTOP)
        time.sleep(0.2)
        assert not process_waits_for_cpu(spinner.pid)
    finally:
        sleeper.kill()
        spinner.kill()
    assert not process_waits_for_cpu(2**22 + 7)  # no such process


def test_a_worker_that_cannot_start_is_tried_start_attempts_times_in_a_row_then_the_pool_stops(monkeypatch):
    # A worker lost while it starts is replaced; only START_ATTEMPTS failed starts in a row stop the pool.
    spawned = []
    spawn = BoundedPool._spawn

    def counting_spawn(self):
        spawned.append(1)
        return spawn(self)

    monkeypatch.setattr(BoundedPool, "_spawn", counting_spawn)
    with (
        BoundedPool("pool_tasks_that_do_not_exist.compare", workers=1, timeout=5) as pool,
        pytest.raises(WorkerStartError),
    ):
        pool.map([None])
    assert len(spawned) == pool_module.START_ATTEMPTS == 3
