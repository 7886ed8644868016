"""The worker pool's bookkeeping (evalkit/verify/pool.py): how many workers it starts, what a failing task or a
worker that cannot start becomes, a worker that stops computing, waiting with a timeout, and the main module hidden
while workers start; which workers get work, when a check that waited for a CPU is looked at again, and which workers
the startup bound applies to, and what becomes of a batch whose worker exited before taking it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections import deque

import pytest

from evalkit.errors import EvalkitError
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
    assert isinstance(error.value, EvalkitError)  # the CLI shows it as one line, not as a bug with a traceback


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
    # README: "a worker whose CPU time stops moving for ten bounds is killed too" (STALL_FACTOR is the ten).
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


def test_a_memory_cap_above_a_finite_hard_limit_gives_workers_the_hard_limit():
    # Under a finite hard limit (a cluster's ulimit -v) a cap above it cannot be set: the workers get the hard limit
    # as their soft limit, not whatever soft limit they inherited (here a lower one, which a failed call would keep).
    import subprocess
    import sys

    code = """
import resource, sys
sys.path.insert(0, sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (6 * 1024**3, 8 * 1024**3))
from evalkit.verify.pool import BoundedPool
with BoundedPool("pool_tasks.address_space_limit", workers=1, timeout=20, memory_limit=16 * 1024**3) as pool:
    (outcome,) = pool.map([None])
print(outcome.value[0] if outcome.error is None else outcome.error)
"""
    tests = os.path.dirname(os.path.abspath(__file__))
    result = subprocess.run([sys.executable, "-c", code, tests], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == str(8 * 1024**3), result.stderr[-2000:]


def test_the_task_module_is_imported_once_in_the_fork_server_not_in_each_worker(tmp_path):
    # pool.py: "workers start from a fork server that has already imported the task's module, so a replacement
    # costs milliseconds" (sympy and math-verify take seconds to import). In a fresh interpreter, because the fork
    # server is one per process and may already run here with another module preloaded.
    import subprocess
    import sys

    pool = BoundedPool("pool_tasks.pid", workers=1, timeout=5)  # built here too: mutmut sees what it traces here
    assert pool.context.get_start_method() == "forkserver"
    pool.close()
    log = tmp_path / "imports.log"
    code = """
from evalkit.verify.pool import BoundedPool
with BoundedPool("pool_tasks.pid", workers=2, timeout=20) as pool:
    workers = {outcome.value for outcome in pool.map([None] * 8)}
    print(" ".join(str(pid) for pid in sorted(workers)))
"""
    # On PYTHONPATH, not sys.path: the fork server of Python 3.11 starts with the default path and imports what it
    # can (evalkit is installed; these tasks are not).
    tests = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join([tests, *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "POOL_TASKS_IMPORT_LOG": str(log), "PYTHONPATH": path}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    workers = set(result.stdout.split())
    importers = log.read_text().split()
    assert workers and len(importers) == 1, (workers, importers, result.stderr[-2000:])
    assert importers[0] not in workers  # the fork server imported it; the workers inherited it


def test_start_server_starts_the_fork_server_and_its_imports_at_once_and_no_worker(tmp_path):
    # pool.py: start_server "returns at once"; the fork server imports the task's module meanwhile, and "it starts no
    # worker". In a fresh interpreter: the fork server is one per process.
    import subprocess
    import sys

    log = tmp_path / "imports.log"
    code = f"""
import os, time
import multiprocessing.forkserver as forkserver
from evalkit.verify.pool import BoundedPool
with BoundedPool("pool_tasks.parent", workers=2, timeout=20) as pool:
    pool.start_server()
    server = forkserver._forkserver._forkserver_pid
    deadline = time.monotonic() + 20
    while not os.path.exists({str(log)!r}) and time.monotonic() < deadline:
        time.sleep(0.01)  # the fork server imports the tasks' module, with no worker asked for
    print(server, len(pool.workers), pool._starting is None)
    parents = {{outcome.value for outcome in pool.map([None] * 4)}}
    print(" ".join(str(pid) for pid in sorted(parents)))
"""
    tests = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join([tests, *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "POOL_TASKS_IMPORT_LOG": str(log), "PYTHONPATH": path}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    lines = result.stdout.split("\n")
    assert len(lines) >= 2, result.stderr[-2000:]
    server, workers, none_starting = lines[0].split()
    assert (workers, none_starting) == ("0", "True")
    assert log.read_text().split() == [server]  # imported once, by the fork server
    assert lines[1].split() == [server]  # the workers came from it


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


class FakeProcess:
    """Stands in for a worker's process: a pid /proc does not have, already gone, nothing to wait for."""

    pid = 2**22 + 4321
    exitcode = None

    def join(self, timeout=None):
        pass

    def kill(self):
        pass

    def is_alive(self):
        return False


class FakeConn:
    """Stands in for the pipe to a worker: keeps what the pool sends."""

    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)

    def close(self):
        pass


def fake_worker(ready=True, born=0.0):
    """A worker with the pool's real bookkeeping (queue, start_head, deadlines, stop) and no process behind it."""
    worker = object.__new__(pool_module._Worker)
    worker.conn, worker.process = FakeConn(), FakeProcess()
    worker.born, worker.ready, worker.queue = born, ready, deque()
    worker.task_wall = worker.task_cpu = worker.reported_cpu = worker.deadline = 0.0
    worker.last_cpu = worker.last_progress = 0.0
    return worker


def test_work_goes_only_to_ready_workers_not_to_one_still_starting():
    # A worker still starting cannot run a check yet: a task sent to it would wait out its start (and have the start
    # charged to its clock). Nor does the worker ready first take the whole of a short queue: the rest waits for
    # whichever worker is free first, the one still starting (milliseconds away) or the first once it is done.
    pool = BoundedPool("pool_tasks.echo", workers=2, timeout=5)
    ready, starting = fake_worker(ready=True), fake_worker(ready=False)
    pool.workers = [ready, starting]
    ids = [pool.submit(payload) for payload in ("a", "b", "c")]
    pool._dispatch()
    assert list(ready.queue) == ids[:1] and ready.conn.sent == [[(ids[0], "a")]]
    assert not starting.queue and starting.conn.sent == [] and list(pool._pending) == ids[1:]
    starting.ready = True
    pool._dispatch()
    assert starting.conn.sent == [[(ids[1], "b")]] and list(pool._pending) == ids[2:]
    ready.queue.clear()  # done with "a"
    pool._dispatch()
    assert ready.conn.sent == [[(ids[0], "a")], [(ids[2], "c")]] and not pool._pending


@pytest.mark.parametrize(
    ("queued", "batches"),
    [(1, [1]), (2, [1, 1]), (5, [1, 1]), (16, [1, 1]), (17, [2, 2]), (40, [3, 3]), (128, [8, 8]), (1000, [8, 8])],
)
def test_batches_grow_with_the_queue(queued, batches):
    # MAX_BATCH: "a short queue ... goes out one check at a time to whichever worker is free ...; a long one in
    # batches of MAX_BATCH".
    pool = BoundedPool("pool_tasks.echo", workers=2, timeout=5)
    pool.workers = [fake_worker(), fake_worker()]
    for payload in range(queued):
        pool.submit(payload)
    pool._dispatch()
    assert [len(worker.queue) for worker in pool.workers if worker.queue] == batches


def test_a_check_that_waited_for_a_cpu_times_out_when_its_cpu_time_reaches_the_bound(monkeypatch):
    # The bound is CPU time. At the wall-clock deadline the check has used 0.5 of its 1 s (it waited for a CPU): it is
    # looked at again when the other 0.5 s could have been spent, and times out then if it has spent them, not later.
    cpu = {"seconds": 5.0}
    monkeypatch.setattr(pool_module, "process_cpu_seconds", lambda pid: cpu["seconds"])
    pool = BoundedPool("pool_tasks.echo", workers=1, timeout=1.0)
    worker, replacement = fake_worker(), fake_worker()
    worker.reported_cpu = 5.0
    pool.workers = [worker]
    monkeypatch.setattr(pool, "_spawn", lambda: replacement)
    task = pool.submit("slow")
    pool._dispatch()
    worker.start_head(100.0, pool.timeout)  # the check starts at t = 100 s, at 5 s of the worker's CPU time
    cpu["seconds"] = 5.5
    pool._check_deadline(worker, 101.0)
    assert pool.timeouts == 0 and worker.deadline == 101.5
    cpu["seconds"] = 6.0
    pool._check_deadline(worker, 101.5)
    ((finished, outcome),) = pool.poll(0)
    assert finished == task and outcome.error == "timeout" and outcome.seconds == 1.5
    assert pool.timeouts == 1 and pool.workers == [replacement]


def test_a_worker_ready_for_longer_than_the_startup_bound_keeps_its_work():
    # The startup bound is for workers that never report ready; a ready one that has lived long (a pool in use for an
    # hour) is not taken for one that failed to start, and its checks are not reported as crashes.
    with BoundedPool("pool_tasks.pid", workers=1, timeout=5) as pool:
        (first,) = pool.map([None])
        pool.workers[0].born -= pool_module.STARTUP_TIMEOUT_S + 1  # as if started long ago
        outcomes = pool.map([None, None])
        assert [o.error for o in outcomes] == [None, None] and {o.value for o in outcomes} == {first.value}
        assert pool.crashes == 0


def test_a_worker_that_does_not_report_ready_within_the_startup_bound_is_replaced():
    # A worker stuck while it starts (its pipe stays silent) would hold the task forever: past STARTUP_TIMEOUT_S it
    # is given up on and a new worker runs the task.
    reader, writer = multiprocessing.Pipe(duplex=False)
    with BoundedPool("pool_tasks.pid", workers=1, timeout=5) as pool:
        stuck = fake_worker(ready=False, born=time.monotonic() - pool_module.STARTUP_TIMEOUT_S - 1)
        stuck.conn = reader
        pool.workers = [stuck]
        task = pool.submit(None)
        outcomes = dict(pool.poll(10.0))  # returns with the outcome, long before 10 s
        (worker,) = pool.workers
        assert worker is not stuck and outcomes[task].error is None
        assert outcomes[task].value == worker.process.pid and pool.crashes == 0
    writer.close()


def test_poll_returns_the_first_outcome_without_waiting_for_work_still_running():
    # The caller records each verdict as it comes: one check that runs long must not hold back those already done.
    with BoundedPool("pool_tasks.spin", workers=2, timeout=30) as pool:
        for _ in range(50):  # until both workers have started (the pool grows as work comes)
            pool.map([0.05, 0.05])
            if len(pool.workers) == 2 and all(worker.ready for worker in pool.workers):
                break
        slow, fast = pool.submit(2.0), pool.submit(0.0)
        finished = pool.poll(None)
        assert [task for task, _ in finished] == [fast]  # back with it, the slow check still running
        rest = dict(pool.poll(None))
        assert rest[slow].error is None


def test_a_worker_that_exits_before_taking_its_batch_has_the_batch_run_elsewhere_not_recorded_as_crashed():
    # Killed while idle (the out-of-memory killer, say): none of the batch sent to its closed pipe ran, so the whole
    # batch runs on a new worker and no check is given a crash it never had.
    with BoundedPool("pool_tasks.pid", workers=1, timeout=5) as pool:
        (first,) = pool.map([None])
        (gone,) = pool.workers
        gone.process.kill()
        gone.process.join(timeout=5)
        outcomes = pool.map([None, None, None])
        assert [o.error for o in outcomes] == [None, None, None]
        assert {o.value for o in outcomes} == {pool.workers[0].process.pid} != {first.value}
        assert pool.crashes == 0 and pool.tasks_done == 4


class ClosedConn(FakeConn):
    """The pipe to a worker that has exited: sending fails as a closed pipe does."""

    def send(self, message):
        raise BrokenPipeError(32, "Broken pipe")


def exited_worker():
    worker = fake_worker(ready=True)
    worker.conn = ClosedConn()
    return worker


def test_workers_that_keep_exiting_before_taking_work_stop_the_pool_with_one_clear_error(monkeypatch):
    # Replacing them without end would hang the run; each batch goes back to the queue until START_ATTEMPTS in a row.
    spawned = []

    def spawn():
        spawned.append(exited_worker())
        return spawned[-1]

    pool = BoundedPool("pool_tasks.echo", workers=1, timeout=5)
    monkeypatch.setattr(pool, "_spawn", spawn)
    ids = [pool.submit(payload) for payload in ("a", "b")]
    pool.workers = [exited_worker()]
    with pytest.raises(WorkerStartError) as error:
        for _ in range(10):
            pool._dispatch()
    assert str(error.value) == (
        "verifier worker processes exit before taking work (3 in a row, last exit code None); something is killing "
        "them, most often the system running out of memory: free memory or run fewer workers (--workers)"
    )
    assert len(spawned) == pool_module.START_ATTEMPTS - 1 and pool.crashes == 0 and pool.tasks_done == 0
    assert pool.outstanding == len(ids)  # neither given an outcome it did not earn


def test_a_finished_check_resets_the_count_of_workers_that_exited_before_taking_work(monkeypatch):
    pool = BoundedPool("pool_tasks.echo", workers=1, timeout=5)
    monkeypatch.setattr(pool, "_spawn", exited_worker)
    task = pool.submit("x")
    pool.workers = [exited_worker()]
    for _ in range(pool_module.START_ATTEMPTS - 1):
        pool._dispatch()
    working = fake_worker(ready=True)
    pool.workers = [working]
    pool._dispatch()
    assert list(working.queue) == [task]
    working.conn.recv = lambda: (task, "ok", "x", 0.0)
    pool._receive(working, working.task_wall + 1.0)
    assert pool.poll(0) == [(task, pool_module.TaskOutcome(value="x", seconds=1.0))]
    later = pool.submit("y")
    pool.workers = [exited_worker()]
    for _ in range(pool_module.START_ATTEMPTS - 1):
        pool._dispatch()  # START_ATTEMPTS - 1 exits since the last finished check: not yet too many
    assert list(pool._pending) == [later] and pool.crashes == 0


def check_started_at_100_s(monkeypatch, cpu: dict[str, float]) -> tuple[BoundedPool, object]:
    """A pool with one fake worker whose check started at t = 100 s and 5 s of its CPU time; `cpu["seconds"]` is the
    CPU time the pool reads for it, and it is never runnable when looked at."""
    monkeypatch.setattr(pool_module, "process_cpu_seconds", lambda pid: cpu["seconds"])
    monkeypatch.setattr(pool_module, "process_waits_for_cpu", lambda pid: False)
    pool = BoundedPool("pool_tasks.echo", workers=1, timeout=1.0)
    worker = fake_worker()
    worker.reported_cpu = 5.0
    pool.workers = [worker]
    pool.submit("check")
    pool._dispatch()
    worker.start_head(100.0, pool.timeout)
    return pool, worker


def test_a_check_whose_cpu_time_keeps_growing_is_not_taken_for_stalled(monkeypatch):
    # A check at the lowest priority gets a slice now and then: its CPU time grows, slowly. Long after STALL_FACTOR
    # times the bound in wall time, and though it is not runnable at the moment it is looked at, it is still
    # computing within its bound: it goes on. Only CPU time that stops moving altogether is a stall.
    cpu = {"seconds": 5.0}
    pool, worker = check_started_at_100_s(monkeypatch, cpu)
    now = 100.0
    while now < 100.0 + 3 * pool_module.STALL_FACTOR * pool.timeout:
        now = max(now + 1.0, worker.deadline)
        cpu["seconds"] += 0.01
        pool._check_deadline(worker, now)
        assert pool.timeouts == 0, f"timed out at {now - 100:.0f} s with {cpu['seconds'] - 5:.2f} s of CPU"
    assert worker.queue and worker.last_progress == now
    # The same check with its CPU time frozen from here is a stall once STALL_FACTOR times the bound has passed.
    monkeypatch.setattr(pool, "_spawn", lambda: fake_worker())
    stalled_at = now + pool_module.STALL_FACTOR * pool.timeout
    pool._check_deadline(worker, stalled_at - 0.5)
    assert pool.timeouts == 0
    pool._check_deadline(worker, max(stalled_at, worker.deadline))
    assert pool.timeouts == 1


def test_close_kills_busy_and_starting_workers_and_lets_idle_ones_exit():
    # A check under way is abandoned, not waited out (Ctrl-C stops at once); an idle worker is asked to exit.
    pool = BoundedPool("pool_tasks.echo", workers=3, timeout=5)
    busy, idle, starting = fake_worker(), fake_worker(), fake_worker(ready=False)
    busy.queue.append(7)
    stops = []
    for name, worker in (("busy", busy), ("idle", idle), ("starting", starting)):
        worker.stop = lambda kill, name=name: stops.append((name, kill))
    pool.workers = [busy, idle, starting]
    pool.close()
    assert stops == [("busy", True), ("idle", False), ("starting", True)] and pool.workers == []


def test_a_check_with_no_cpu_time_yet_at_its_deadline_is_given_more_time(monkeypatch):
    # At its wall-clock deadline the check has had no CPU at all (it waited for a core): not a timeout, not yet a
    # stall (that takes STALL_FACTOR times the bound), so it is looked at again once its bound could have been spent.
    pool, worker = check_started_at_100_s(monkeypatch, {"seconds": 5.0})
    pool._check_deadline(worker, 101.0)
    assert pool.timeouts == 0 and worker.deadline == 102.0 and worker.queue
