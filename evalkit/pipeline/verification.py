"""Verification beside generation: stored samples are checked on a thread of their own, so the engine never
waits for a verdict, and each verdict is appended to the run's verdicts file the moment it is decided."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable

from evalkit.store import RunWriter, SampleRecord, VerdictRecord
from evalkit.verify import Verdict, Verifier

# Samples waiting for the verifier in memory. When generation outruns verification by more than this, further
# samples are left on disk and picked up from there once generation is done.
QUEUE_SIZE = 4096
POLL_S = 0.05
# How long an abort waits for the verification thread to leave the pool (starting a worker on a loaded machine
# can take seconds); past it the workers are killed anyway.
ABORT_WAIT_S = 30.0


class VerificationBeside:
    """Feeds stored samples to a Verifier from one thread and records every verdict.

    `submit` never blocks the caller. `finish` waits for every verdict (interruptibly: Ctrl-C is not held up by a
    check); `abort` stops at once and abandons the checks under way (their samples stay unverified on disk, and a
    rerun verifies them).
    """

    def __init__(
        self,
        verifier: Verifier,
        gold: dict[str, str],
        writer: RunWriter,
        on_verdict: Callable[[SampleRecord, Verdict], None] = lambda record, verdict: None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.verifier = verifier
        self.gold = gold
        self.writer = writer
        self.on_verdict = on_verdict
        self._queue: queue.Queue[SampleRecord] = queue.Queue(maxsize=queue_size)
        self._input_done = threading.Event()
        self._generation_done = threading.Event()
        self._stop = threading.Event()
        # Set when `_work` returns. Not `Thread.is_alive`: on CPython 3.11 a join interrupted by Ctrl-C can mark a
        # thread that is still running as stopped, and the pool would then be closed under its feet.
        self._exited = threading.Event()
        self._submitted: set[tuple[str, int]] = set()
        self._waiting: dict[tuple[str, int], SampleRecord] = {}
        self._overflowed = False
        self.verified = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="evalkit-verification", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, record: SampleRecord) -> None:
        """Queue a stored sample for its verdict; never waits."""
        if record.key in self._submitted:
            return
        try:
            self._queue.put_nowait(record)
            self._submitted.add(record.key)
        except queue.Full:
            self._overflowed = True  # the sample is on disk: `finish` picks it up from there

    def finish(self, unverified_on_disk: Callable[[], Iterable[SampleRecord]]) -> None:
        """Verify what is left (what did not fit in the queue is read back from disk) and wait for every verdict.

        Generation is over, so the workers no longer give way to the engine: they go back to normal priority (on a
        machine other jobs keep busy, low-priority workers could otherwise wait indefinitely)."""
        self._generation_done.set()
        if self._overflowed:
            for record in unverified_on_disk():
                if record.key not in self._submitted:
                    self._queue.put(record)
                    self._submitted.add(record.key)
        self._input_done.set()
        while not self._exited.wait(timeout=0.1):  # short waits keep Ctrl-C and SIGTERM deliverable
            pass
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Stop now: the thread leaves after its current poll (or a worker start it is in the middle of), then
        the workers are killed mid-check. The pool is not shared between threads, so it is closed only once the
        thread is out of it."""
        self._stop.set()
        if self._thread.ident is not None:
            self._exited.wait(timeout=ABORT_WAIT_S)
        self.verifier.close()

    # -----------------------------------------------------------------------------------------------------------

    def _record(self, record: SampleRecord, verdict: Verdict) -> None:
        self.writer.append_verdict(
            VerdictRecord(record.problem_id, record.sample_index, self.verifier.rules, verdict.to_dict())
        )
        self.verified += 1
        self.on_verdict(record, verdict)

    def _start_check(self, record: SampleRecord) -> None:
        try:
            verdict = self.verifier.submit(record.key, record.text, self.gold[record.problem_id], record.truncated)
        except Exception as exc:
            # A fault in extraction must not cost the sample its place in the results: it is scored wrong, with why.
            verdict = Verdict(None, False, "none", "none", f"verifier failed: {type(exc).__name__}: {exc}")
        if verdict is not None:
            self._record(record, verdict)
        else:
            self._waiting[record.key] = record

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                if self._generation_done.is_set() and self.verifier.niceness:
                    self.verifier.set_niceness(0)
                took = 0
                while took < 256:
                    try:
                        self._start_check(self._queue.get_nowait())
                        took += 1
                    except queue.Empty:
                        break
                if self.verifier.pending:
                    for key, verdict in self.verifier.collect(POLL_S):
                        self._record(self._waiting.pop(key), verdict)  # type: ignore[arg-type]
                elif took == 0:
                    if self._input_done.is_set() and self._queue.empty():
                        return
                    with contextlib.suppress(queue.Empty):
                        self._start_check(self._queue.get(timeout=POLL_S))
        except BaseException as exc:  # handed to `finish`, which raises it in the main thread
            self.error = exc
        finally:
            self._exited.set()
