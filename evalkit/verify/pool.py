"""A process pool that bounds every task in wall-clock time by killing the worker that overruns.

Why not concurrent.futures: a ProcessPoolExecutor cannot cancel a running task, so one sympy call that never
returns holds a worker forever. Why not SIGALRM (math-verify's own timeouts): it only works in a main thread.
Workers start from a fork server that has already imported the task's module, so replacing a killed worker
costs milliseconds, and no worker is ever forked from a process that runs threads (vLLM, asyncio).
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# Each worker may use this much address space; a runaway expression raises MemoryError instead of taking
# the machine down.
WORKER_MEMORY_BYTES = 4 * 1024**3
READY = "ready"
STARTUP_TIMEOUT_S = 60.0


class WorkerStartError(RuntimeError):
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


def _worker_main(conn: multiprocessing.connection.Connection, function_path: str, memory_limit: int) -> None:
    _limit_memory(memory_limit)
    module_name, _, attribute = function_path.rpartition(".")
    function = getattr(importlib.import_module(module_name), attribute)
    conn.send(READY)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task_id, payload = message
        try:
            result: tuple[str, Any] = ("ok", function(payload))
        except MemoryError:
            result = ("error", "out of memory")
        except RecursionError:
            result = ("error", "recursion too deep")
        except Exception as exc:  # a task's failure is its result, never the pool's
            result = ("error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send((task_id, *result))
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


class _Worker:
    def __init__(self, context: Any, function_path: str, memory_limit: int) -> None:
        parent, child = context.Pipe()
        self.conn = parent
        self.process = context.Process(
            target=_worker_main, args=(child, function_path, memory_limit), daemon=True, name="evalkit-verify"
        )
        with _main_module_hidden():
            self.process.start()
        child.close()
        self.ready = False
        self.task: int | None = None
        self.deadline = 0.0
        self.started = 0.0

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
        self.process.join(timeout=1 if not kill else None)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class BoundedPool:
    """Run `function(payload)` for many payloads in worker processes, each call limited to `timeout` seconds.

    `function_path` names a module-level function ("package.module.function"): the fork server imports that
    module once, and workers are forked from it ready to work.
    """

    def __init__(
        self,
        function_path: str,
        workers: int | None = None,
        timeout: float = 5.0,
        memory_limit: int = WORKER_MEMORY_BYTES,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.function_path = function_path
        self.size = max(1, workers or os.cpu_count() or 1)
        self.timeout = timeout
        self.memory_limit = memory_limit
        module = function_path.rpartition(".")[0]
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self.context = multiprocessing.get_context(method)
        if method == "forkserver":
            self.context.set_forkserver_preload([module])
        self.workers: list[_Worker] = []
        self.timeouts = 0
        self.crashes = 0

    def __enter__(self) -> BoundedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers:
            worker.stop(kill=worker.task is not None)
        self.workers = []

    def _spawn(self) -> _Worker:
        return _Worker(self.context, self.function_path, self.memory_limit)

    def _await_ready(self, worker: _Worker) -> None:
        """Wait for a new worker's handshake, so a worker that cannot even start is not blamed on a task."""
        if worker.ready:
            return
        if worker.conn.poll(STARTUP_TIMEOUT_S):
            try:
                if worker.conn.recv() == READY:
                    worker.ready = True
                    return
            except (EOFError, OSError):
                pass
        worker.process.join(timeout=1)
        raise WorkerStartError(
            f"verifier worker processes fail to start (exit code {worker.process.exitcode}); if evalkit is used "
            'from a script, put the calling code under `if __name__ == "__main__":` (multiprocessing re-imports '
            "the main module in each worker)"
        )

    def map(self, payloads: Sequence[Any]) -> list[TaskOutcome]:
        """Outcomes in the order of payloads; never raises for a task that fails, hangs or kills its worker."""
        outcomes: list[TaskOutcome | None] = [None] * len(payloads)
        pending = deque(range(len(payloads)))
        while len(self.workers) < min(self.size, len(payloads)):
            self.workers.append(self._spawn())
        busy: dict[int, _Worker] = {}

        def assign(worker: _Worker) -> None:
            self._await_ready(worker)
            task = pending.popleft()
            worker.task = task
            worker.started = time.monotonic()
            worker.deadline = worker.started + self.timeout
            worker.conn.send((task, payloads[task]))
            busy[task] = worker

        def replace(worker: _Worker) -> None:
            index = self.workers.index(worker)
            worker.stop(kill=True)
            self.workers[index] = self._spawn()

        for worker in self.workers:
            if pending:
                assign(worker)
        while busy:
            now = time.monotonic()
            wait_for = max(0.0, min(w.deadline for w in busy.values()) - now)
            ready = multiprocessing.connection.wait([w.conn for w in busy.values()], timeout=wait_for)
            for worker in list(busy.values()):
                task = worker.task
                assert task is not None
                if worker.conn in ready:
                    try:
                        task_id, status, value = worker.conn.recv()
                    except (EOFError, OSError):
                        self.crashes += 1
                        code = worker.process.exitcode
                        outcomes[task] = TaskOutcome(
                            error=f"crashed: worker exited ({code})",
                            seconds=time.monotonic() - worker.started,
                        )
                        del busy[task]
                        replace(worker)
                        continue
                    elapsed = time.monotonic() - worker.started
                    outcomes[task_id] = (
                        TaskOutcome(value=value, seconds=elapsed)
                        if status == "ok"
                        else TaskOutcome(error=f"error: {value}", seconds=elapsed)
                    )
                    del busy[task]
                    worker.task = None
                    if pending:
                        assign(worker)
                elif time.monotonic() >= worker.deadline:
                    self.timeouts += 1
                    outcomes[task] = TaskOutcome(error="timeout", seconds=self.timeout)
                    del busy[task]
                    replace(worker)
            # Workers replaced above are idle: give them work.
            for worker in self.workers:
                if worker.task is None and pending and worker.process.is_alive():
                    assign(worker)
        return [o if o is not None else TaskOutcome(error="not run") for o in outcomes]
