"""Long-lived worker processes that run one function over many payloads, each call bounded in time.

Why not concurrent.futures: a ProcessPoolExecutor cannot stop a running task, so one sympy call that never
returns holds a worker forever. Why not SIGALRM (math-verify's own timeouts): it only works in a main thread.
Here a worker that overruns is killed and replaced; workers start from a fork server that has already imported
the task's module, so a replacement costs milliseconds and no worker is forked from a threaded process.

Work goes out in small batches per worker (one task at a time while the queue is short) and results stream back one
by one, so on a long queue a round trip is paid per batch, not per task. The bound is CPU time where the platform
reports it (Linux): a worker that waits for a busy CPU (it may run at low priority beside an inference engine) is not
blamed for the wait. A worker whose CPU time stops moving altogether for `STALL_FACTOR` times the bound is killed
too.

Workers die with their parent: a worker asks the kernel for SIGKILL when the fork server (its parent) exits, and
the fork server exits when evalkit does, even after a kill -9. Workers ignore Ctrl-C; the pool kills them.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.errors import EvalkitError

# Each worker may use this much address space; a runaway expression raises MemoryError instead of taking
# the machine down.
WORKER_MEMORY_BYTES = 4 * 1024**3
STARTUP_TIMEOUT_S = 60.0
LOWEST_NICENESS = 19
# Starts that fail in a row before the pool gives up: one can fail for a passing reason (a Ctrl-C meant for the
# terminal's process group reaching a worker before it ignores it), a broken setup fails every time.
START_ATTEMPTS = 3
# Tasks sent to a worker in one message. Small: a timeout costs the worker, and the batch's unfinished rest is
# sent again elsewhere. A batch is a 1/MAX_BATCH part of a worker's share of the queue: a short queue (the few
# symbolic checks of a batch of AIME answers) goes out one check at a time to whichever worker is free, where a
# round trip (a tenth of a millisecond) is nothing beside a check; a long one in batches of MAX_BATCH.
MAX_BATCH = 8
# A worker whose CPU time has not moved for this many timeouts is stopped or stuck, not slow: it is killed.
STALL_FACTOR = 10.0
MIN_RECHECK_S = 0.05
_READY = "ready"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class WorkerStartError(EvalkitError):
    """Workers die before they can take work: retrying would fail the same way for every task."""


@dataclass(frozen=True)
class TaskOutcome:
    """What became of one task: its value, or why there is none ("timeout", "crashed: ...", "error: ...")."""

    value: Any = None
    error: str | None = None
    seconds: float = 0.0


def _limit_memory(limit: int) -> None:
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    except (ImportError, ValueError, OSError):
        pass


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent (the fork server) exits.

    The fork server lives as long as any process holds its "alive" pipe, and multiprocessing hands every child a
    copy: a worker closes its copy, so the fork server's life (and with it the workers') ends with evalkit's.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        from multiprocessing import forkserver

        alive = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
        if alive is not None:
            os.close(alive)
            forkserver._forkserver._forkserver_alive_fd = None
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent was gone before the request took effect
        os._exit(0)


def _worker_main(
    conn: multiprocessing.connection.Connection, function_path: str, memory_limit: int, niceness: int
) -> None:
    # Ctrl-C is the parent's to handle (it kills the workers): ignored first, before anything slow can be hit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if niceness:
        with contextlib.suppress(OSError):
            os.nice(niceness)
    if niceness >= LOWEST_NICENESS and hasattr(os, "sched_setscheduler"):
        # The lowest priority there is: CPU time nobody else wants. Nice 19 alone still takes slices from an
        # engine that computes on the same cores.
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    _limit_memory(memory_limit)
    module_name, _, attribute = function_path.rpartition(".")
    function = getattr(importlib.import_module(module_name), attribute)
    try:
        conn.send((_READY, time.process_time()))
    except (OSError, ValueError):  # the pool was closed while this worker started
        return
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for task_id, payload in batch:
            try:
                result: tuple[str, Any] = ("ok", function(payload))
            except MemoryError:
                result = ("error", "out of memory")
            except RecursionError:
                result = ("error", "recursion too deep")
            except Exception as exc:  # a task's failure is its result, never the pool's
                result = ("error", f"{type(exc).__name__}: {exc}"[:300])
            try:
                conn.send((task_id, *result, time.process_time()))
            except (OSError, ValueError):
                return


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start processes without telling them about the parent's __main__.

    multiprocessing re-imports the parent's main script in every new worker: that re-runs unguarded scripts
    and fails outright for code read from stdin. Workers here need only evalkit, so while a worker starts the
    main module shows no file or spec, and nothing is re-imported.
    """
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__") if hasattr(main, name)}
    try:
        if "__file__" in saved:
            del main.__file__  # type: ignore[union-attr]
        if "__spec__" in saved:
            main.__spec__ = None  # type: ignore[union-attr]
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None where there are none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (Linux /proc); None where the platform does not tell."""
    fields = _stat_fields(pid)
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return None if fields is None else (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def process_waits_for_cpu(pid: int) -> bool:
    """True when a live process is runnable (Linux /proc state R): it computes, or waits only for a CPU."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] == b"R"


class _Worker:
    def __init__(self, context: Any, function_path: str, memory_limit: int, niceness: int) -> None:
        parent, child = context.Pipe()
        self.conn = parent
        self.process = context.Process(
            target=_worker_main,
            args=(child, function_path, memory_limit, niceness),
            daemon=True,
            name="evalkit-verify",
        )
        with _main_module_hidden():
            self.process.start()
        child.close()
        self.born = time.monotonic()
        self.ready = False
        self.queue: deque[int] = deque()  # task ids sent, in the order the worker runs them
        self.task_wall = 0.0  # when the head task started
        self.task_cpu = 0.0  # the worker's CPU seconds when the head task started
        self.reported_cpu = 0.0
        self.deadline = 0.0
        self.last_cpu = 0.0  # CPU seconds at the last deadline check, and when they last grew
        self.last_progress = 0.0

    def start_head(self, now: float, timeout: float) -> None:
        self.task_wall = now
        self.task_cpu = self.last_cpu = self.reported_cpu
        self.last_progress = now
        self.deadline = now + timeout

    def stop(self, kill: bool) -> None:
        if kill:
            with contextlib.suppress(OSError):
                self.process.kill()
        else:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
        self.process.join(timeout=1 if not kill else 5)
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.process.kill()
            self.process.join()
        self.conn.close()


class BoundedPool:
    """Run `function(payload)` for many payloads in worker processes, each call limited to `timeout` seconds.

    `function_path` names a module-level function ("package.module.function"): the fork server imports that
    module once, and workers are forked from it ready to work. Use `submit` and `poll` to stream work through
    the pool from one thread, or `map` for a finite list. `niceness` > 0 runs workers at lower CPU priority.
    """

    def __init__(
        self,
        function_path: str,
        workers: int | None = None,
        timeout: float = 5.0,
        memory_limit: int = WORKER_MEMORY_BYTES,
        niceness: int = 0,
    ) -> None:
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError("timeout must be a positive number of seconds")
        self.function_path = function_path
        self.size = max(1, workers or os.cpu_count() or 1)
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.niceness = niceness
        module = function_path.rpartition(".")[0]
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self.context = multiprocessing.get_context(method)
        if method == "forkserver":
            self.context.set_forkserver_preload([module])
        self.workers: list[_Worker] = []
        self._ids = itertools.count()
        self._pending: deque[int] = deque()
        self._payloads: dict[int, Any] = {}
        self._finished: list[tuple[int, TaskOutcome]] = []
        self.timeouts = 0
        self.crashes = 0
        self.tasks_done = 0
        self._failed_starts = 0
        self._exits_before_work = 0
        self._starting: threading.Thread | None = None
        self._started: list[_Worker | BaseException] = []

    def __enter__(self) -> BoundedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def outstanding(self) -> int:
        """Tasks submitted whose outcome has not been returned by `poll` yet."""
        return len(self._payloads) + len(self._finished)

    @property
    def starting(self) -> bool:
        """The worker `start_soon` began is still starting: a `poll` now would wait for it (for the fork server's
        imports, when it is the first)."""
        return self._starting is not None and self._starting.is_alive()

    def close(self) -> None:
        """Stop every worker now: idle ones are asked to exit, busy ones are killed (no check is waited out)."""
        self._take_started(raise_failure=False)
        for worker in self.workers:
            worker.stop(kill=bool(worker.queue) or not worker.ready)
        self.workers = []

    def set_niceness(self, niceness: int) -> None:
        """Run from now on at this CPU priority. A process cannot raise its own priority again, so workers started
        at another niceness are replaced; a check one of them was running starts again on a new worker."""
        if niceness == self.niceness:
            return
        self._take_started()
        self.niceness = niceness
        for worker in list(self.workers):
            self._replace(worker)

    def submit(self, payload: Any) -> int:
        """Queue one task; its outcome comes back from `poll` under the returned id."""
        task_id = next(self._ids)
        self._payloads[task_id] = payload
        self._pending.append(task_id)
        return task_id

    def start_server(self) -> None:
        """Start the fork server now, if none runs yet, and return at once.

        The fork server imports the task's module before it can fork a worker (sympy and math-verify: ~0.4 s of
        one core); started early, it does so while the caller works on, and the first worker starts in
        milliseconds once it is needed. It starts no worker.
        """
        if self.context.get_start_method() != "forkserver":
            return
        from multiprocessing import forkserver

        with _main_module_hidden():
            forkserver.ensure_running()

    def start_soon(self) -> None:
        """Start the first worker now, in a background thread, and return at once.

        Starting the first worker waits for the fork server to import the task's module (sympy and math-verify:
        half a second); a caller with other work to do meanwhile (the in-process checks of the rest of a batch)
        calls this when it queues its first task, and the first `poll` finds the worker started or nearly so.
        """
        if self.workers or self._starting is not None:
            return

        def start() -> None:
            try:
                self._started.append(self._spawn())
            except BaseException as exc:  # raised again in the caller's thread, by the next poll
                self._started.append(exc)

        self._starting = threading.Thread(target=start, name="evalkit-verify-start", daemon=True)
        self._starting.start()

    def _take_started(self, raise_failure: bool = True) -> None:
        """Wait for a worker `start_soon` is starting, and count it in."""
        if self._starting is None:
            return
        self._starting.join()
        self._starting = None
        started, self._started = self._started, []
        for item in started:
            if isinstance(item, _Worker):
                self.workers.append(item)
            elif raise_failure:
                raise item

    def map(self, payloads: Sequence[Any]) -> list[TaskOutcome]:
        """Outcomes in the order of payloads; never raises for a task that fails, hangs or kills its worker."""
        ids = [self.submit(p) for p in payloads]
        outcomes: dict[int, TaskOutcome] = {}
        while len(outcomes) < len(ids):
            outcomes.update(self.poll(None))
        return [outcomes[i] for i in ids]

    # -----------------------------------------------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        return _Worker(self.context, self.function_path, self.memory_limit, self.niceness)

    def _grow(self) -> None:
        self._take_started()
        wanted = min(self.size, len(self._pending) + sum(len(w.queue) for w in self.workers))
        while len(self.workers) < wanted:
            self.workers.append(self._spawn())

    def _dispatch(self) -> None:
        idle = [w for w in self.workers if w.ready and not w.queue]
        # Workers still starting count as takers: they are forked from the fork server, ready in milliseconds once it
        # is, and the first worker ready must not take every check of a short queue on its own.
        takers = len(idle) + sum(1 for w in self.workers if not w.ready)
        # Spread over the workers, in batches that grow with the queue (see MAX_BATCH).
        size = min(MAX_BATCH, math.ceil(len(self._pending) / (max(1, takers) * MAX_BATCH)))
        for worker in idle:
            if not self._pending:
                return
            batch = [self._pending.popleft() for _ in range(min(size, len(self._pending)))]
            worker.queue.extend(batch)
            worker.start_head(time.monotonic(), self.timeout)
            try:
                worker.conn.send([(task_id, self._payloads[task_id]) for task_id in batch])
            except (OSError, ValueError):
                self._exited_before_work(worker)

    def _finish(self, task_id: int, outcome: TaskOutcome) -> None:
        self._payloads.pop(task_id, None)
        self._finished.append((task_id, outcome))
        self.tasks_done += 1

    def _replace(self, worker: _Worker) -> None:
        index = self.workers.index(worker)
        worker.stop(kill=True)
        # The unfinished rest of its batch goes back to the front of the queue.
        self._pending.extendleft(reversed(worker.queue))
        worker.queue.clear()
        self.workers[index] = self._spawn()

    def _lost(self, worker: _Worker, error: str) -> None:
        if not worker.ready:
            worker.process.join(timeout=1)
            self._failed_starts += 1
            if self._failed_starts < START_ATTEMPTS:
                self._replace(worker)
                return
            raise WorkerStartError(
                f"verifier worker processes fail to start (exit code {worker.process.exitcode}); if evalkit is used "
                'from a script, put the calling code under `if __name__ == "__main__":` (multiprocessing re-imports '
                "the main module in each worker)"
            )
        if worker.queue:
            self.crashes += 1
            task_id = worker.queue.popleft()
            self._finish(task_id, TaskOutcome(error=error, seconds=time.monotonic() - worker.task_wall))
        self._replace(worker)

    def _exited_before_work(self, worker: _Worker) -> None:
        """The worker exited after it reported ready and before it took its batch. None of the batch ran, so none of
        it is a crash to record: it all goes back to the queue for a new worker. Workers that keep exiting this way
        stop the pool, as workers that cannot start do, rather than be replaced without end."""
        worker.process.join(timeout=1)
        self._exits_before_work += 1
        if self._exits_before_work >= START_ATTEMPTS:
            raise WorkerStartError(
                f"verifier worker processes exit before taking work ({self._exits_before_work} in a row, last exit "
                f"code {worker.process.exitcode}); something is killing them, most often the system running out of "
                "memory: free memory or run fewer workers (--workers)"
            )
        self._replace(worker)

    def _receive(self, worker: _Worker, now: float) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(timeout=1)  # it is exiting: its exit code says why
            self._lost(worker, f"crashed: worker exited ({worker.process.exitcode})")
            return
        if message[0] == _READY:
            worker.ready = True
            self._failed_starts = 0
            worker.reported_cpu = message[1]
            return
        task_id, status, value, cpu = message
        worker.reported_cpu = cpu
        self._exits_before_work = 0
        if worker.queue and worker.queue[0] == task_id:
            worker.queue.popleft()
        elapsed = now - worker.task_wall
        outcome = TaskOutcome(value=value, seconds=elapsed) if status == "ok" else TaskOutcome(error=f"error: {value}")
        self._finish(task_id, outcome)
        if worker.queue:
            worker.start_head(now, self.timeout)

    def _check_deadline(self, worker: _Worker, now: float) -> None:
        if not worker.queue or now < worker.deadline:
            return
        cpu = process_cpu_seconds(worker.process.pid) if worker.process.pid else None
        used = self.timeout if cpu is None else cpu - worker.task_cpu
        if cpu is not None and cpu > worker.last_cpu:
            worker.last_cpu, worker.last_progress = cpu, now
        # No CPU time for long is a stopped or stuck worker, unless it is runnable: a worker at the lowest priority
        # beside a busy engine waits for a CPU, and its check is not over.
        stalled = now - worker.last_progress >= self.timeout * STALL_FACTOR
        if stalled and worker.process.pid and process_waits_for_cpu(worker.process.pid):
            worker.last_progress = now
            stalled = False
        if used < self.timeout and not stalled:
            # Waiting for the CPU (it may run at low priority beside an engine), not computing: the bound is on
            # the work done, so a verdict does not depend on how busy the machine was.
            worker.deadline = now + max(self.timeout - used, MIN_RECHECK_S)
            return
        self.timeouts += 1
        task_id = worker.queue.popleft()
        self._finish(task_id, TaskOutcome(error="timeout", seconds=now - worker.task_wall))
        self._replace(worker)

    def poll(self, timeout: float | None) -> list[tuple[int, TaskOutcome]]:
        """Run queued work; return the outcomes that finished, waiting up to `timeout` seconds for one
        (None: until at least one finishes, or at once when nothing is outstanding)."""
        give_up = None if timeout is None else time.monotonic() + timeout
        while not self._finished and self._payloads:
            self._grow()
            self._dispatch()
            now = time.monotonic()
            waits = [w.deadline - now for w in self.workers if w.queue]
            for worker in self.workers:
                if not worker.ready and now - worker.born > STARTUP_TIMEOUT_S:
                    self._lost(worker, "crashed: worker did not start")
            waits.append(STARTUP_TIMEOUT_S)
            if give_up is not None:
                waits.append(give_up - now)
            wait_for = max(0.0, min(waits))
            ready = multiprocessing.connection.wait([w.conn for w in self.workers], timeout=wait_for)
            now = time.monotonic()
            for worker in list(self.workers):
                if worker.conn in ready:
                    self._receive(worker, now)
            for worker in list(self.workers):
                self._check_deadline(worker, now)
            if give_up is not None and now >= give_up:
                break
        self._dispatch()
        finished, self._finished = self._finished, []
        return finished
