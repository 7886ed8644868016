"""One Verifier per process and rule set behind a thread of its own, so any thread or event loop can check at once."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from evalkit.errors import EvalkitError
from evalkit.verify import Verdict, Verifier

# While symbolic checks are in flight the service thread waits this long for a verdict before it looks for new
# requests: the most a request arriving then waits before its own checks start.
POLL_S = 0.02
# How often a caller waiting for its verdicts looks whether the service thread is still there.
ALIVE_CHECK_S = 1.0

# (response, gold, truncated)
Check = tuple[str, str, bool]


@dataclass
class _Request:
    checks: list[Check]
    future: Future
    verdicts: dict[int, Verdict] = field(default_factory=dict)


class VerifierService:
    """A Verifier owned by one thread; `submit` hands it checks from any thread and returns a Future of verdicts.

    A Verifier is not thread-safe (it streams checks through its worker pool from one thread). Trainers call rewards
    from thread pools, background event loops and HTTP handlers at once, so every call goes through this thread: the
    checks of concurrent calls share the workers and run in parallel. A check that runs out of CPU time holds up its
    own call, and the symbolic checks that went to its worker in the same batch (they run again on a new worker once
    it is killed); calls decided without a worker, as integer answers are, are never held up. No signal is used
    anywhere, so it works off the main thread.
    """

    def __init__(self, rules: str, timeout: float, workers: int | None = None) -> None:
        self.rules = rules
        self.timeout = timeout
        self.workers = workers
        self.pid = os.getpid()
        self._verifier = Verifier(rules, workers=workers, timeout=timeout)
        self._inbox: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=f"evalkit-reward-{rules}", daemon=True)
        self._thread.start()

    def submit(self, checks: Sequence[Check]) -> Future:
        """Queue checks; the Future's result is their verdicts in order (or the error that stopped them)."""
        future: Future = Future()
        if self._closed:
            raise EvalkitError("this reward verifier has been closed; score through a new one")
        if not checks:
            future.set_result([])
            return future
        self._inbox.put(_Request(list(checks), future))
        return future

    def check_many(self, checks: Sequence[Check]) -> list[Verdict]:
        """The verdicts of `checks`, waiting for them in this thread."""
        future = self.submit(checks)
        while True:
            try:
                return future.result(timeout=ALIVE_CHECK_S)
            except FutureTimeout:
                self._raise_if_gone(future)

    async def check_many_async(self, checks: Sequence[Check]) -> list[Verdict]:
        """The verdicts of `checks`, awaited without blocking the running event loop."""
        future = self.submit(checks)
        wrapped = asyncio.wrap_future(future)
        while True:
            done, _ = await asyncio.wait({wrapped}, timeout=ALIVE_CHECK_S)
            if done:
                return wrapped.result()
            self._raise_if_gone(future)

    def _raise_if_gone(self, future: Future) -> None:
        if not self._thread.is_alive() and not future.done():
            raise EvalkitError("the reward verifier's thread has stopped; restart the process that scores rewards")

    def close(self) -> None:
        """Stop the thread and the worker processes (checks still waiting fail with an error)."""
        if self._closed:
            return
        self._closed = True
        self._inbox.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    # -----------------------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        open_requests: dict[int, _Request] = {}
        ids = itertools.count()
        try:
            while True:
                arrived = []
                if not self._verifier.pending:
                    arrived.append(self._inbox.get())  # nothing in flight: sleep until there is work
                with contextlib.suppress(queue.Empty):
                    while True:
                        arrived.append(self._inbox.get_nowait())
                for request in arrived:
                    if request is None:
                        self._fail(open_requests.values(), "the reward verifier was closed while checking")
                        return
                    try:
                        self._start(next(ids), request, open_requests)
                    except Exception as exc:  # a broken setup (workers that cannot start) fails its callers
                        self._restart(open_requests, request, exc)
                if self._verifier.pending:
                    try:
                        done = self._verifier.collect(POLL_S)
                    except Exception as exc:
                        self._restart(open_requests, None, exc)
                        continue
                    for (request_id, index), verdict in done:
                        request = open_requests.get(request_id)
                        if request is not None:
                            request.verdicts[index] = verdict
                            self._finish_if_done(request_id, request, open_requests)
        finally:
            self._verifier.close()

    def _start(self, request_id: int, request: _Request, open_requests: dict[int, _Request]) -> None:
        open_requests[request_id] = request
        for index, (response, gold, truncated) in enumerate(request.checks):
            verdict = self._verifier.submit((request_id, index), response, gold, truncated)
            if verdict is not None:
                request.verdicts[index] = verdict
            self._verifier.hand_out()  # the workers check while the rest of the request is read
        self._finish_if_done(request_id, request, open_requests)

    @staticmethod
    def _finish_if_done(request_id: int, request: _Request, open_requests: dict[int, _Request]) -> None:
        if len(request.verdicts) == len(request.checks):
            del open_requests[request_id]
            if not request.future.done():
                request.future.set_result([request.verdicts[i] for i in range(len(request.checks))])

    def _restart(self, open_requests: dict[int, _Request], request: _Request | None, exc: Exception) -> None:
        """Fail every call in flight with the error, and start over with a fresh Verifier for the calls to come."""
        failed = list(open_requests.values()) + ([request] if request is not None else [])
        open_requests.clear()
        error = exc if isinstance(exc, EvalkitError) else EvalkitError(f"the reward verifier failed: {exc}")
        for each in failed:
            if not each.future.done():
                each.future.set_exception(error)
        self._verifier.close()
        self._verifier = Verifier(self.rules, workers=self.workers, timeout=self.timeout)

    @staticmethod
    def _fail(requests, message: str) -> None:
        for request in list(requests):
            if not request.future.done():
                request.future.set_exception(EvalkitError(message))


_services: dict[tuple[int, str, float, int | None], VerifierService] = {}
_services_lock = threading.Lock()


def shared_service(rules: str, timeout: float, workers: int | None = None) -> VerifierService:
    """The process's service for this rule set, timeout and worker count, started on first use.

    Keyed by process id as well: a process forked from one that scored rewards has none of its threads, so it
    starts its own service instead of waiting on a copy whose thread does not exist.
    """
    pid = os.getpid()
    key = (pid, rules, timeout, workers)
    with _services_lock:
        service = _services.get(key)
        if service is None:
            inherited = [k for k in _services if k[0] != pid]
            if inherited:
                # Forked from a process that scored: its services' threads and workers are the parent's. They are
                # forgotten, never closed (that would kill the parent's workers), and so is its fork server.
                for stale in inherited:
                    del _services[stale]
                _forget_parents_fork_server()
            if not _services:
                atexit.register(close_services)
            service = _services[key] = VerifierService(rules, timeout, workers)
        return service


def _forget_parents_fork_server() -> None:
    """Let this forked process start a fork server of its own for its workers.

    multiprocessing keeps one fork server per process and, after a fork, the child still holds its parent's: asking
    whether it runs (waitpid) fails in the child, which is not its parent, so no worker could start.
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    if server is None or getattr(server, "_forkserver_pid", None) is None:
        return
    with contextlib.suppress(OSError, TypeError):
        os.close(server._forkserver_alive_fd)  # this copy alone would keep the parent's fork server alive
    server._forkserver_alive_fd = None
    server._forkserver_address = None
    server._forkserver_pid = None
    server._lock = threading.Lock()  # another thread of the parent may have held it when the fork happened


def close_services() -> None:
    """Stop every service this process started (at exit; tests call it to start afresh)."""
    with _services_lock:
        mine = [s for key, s in _services.items() if key[0] == os.getpid()]
        _services.clear()
    for service in mine:
        service.close()
