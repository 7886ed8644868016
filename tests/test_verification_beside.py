"""Verification beside generation (evalkit/pipeline/verification.py), on its own: stored samples are checked on one
thread, `submit` never blocks, what does not fit in memory is read back from disk, each sample gets one verdict
line, a verifier fault is a wrong verdict that says why, and an error on the thread reaches the caller."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from evalkit.pipeline.verification import VerificationBeside
from evalkit.store import RunWriter, SampleRecord, read_run
from evalkit.verify import Verdict, Verifier

GOLD = {"p": "\\frac{1}{2}", "q": "42"}


def record(problem: str, index: int, text: str) -> SampleRecord:
    return SampleRecord(problem, index, text, "stop", 5, 9, index)


def stored(writer: RunWriter, *records: SampleRecord) -> list[SampleRecord]:
    for r in records:
        writer.append_sample(r)
    return list(records)


def verdict_lines(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]


@pytest.fixture
def writer(tmp_path):
    writer = RunWriter(tmp_path)
    writer.open()
    yield writer
    writer.close()


def test_every_stored_sample_gets_one_verdict_line_even_past_the_queue(writer, tmp_path):
    samples = stored(
        writer,
        *(record("p", i, f"So $\\boxed{{\\frac{{{i + 1}}}{{{2 * i + 2}}}}}$") for i in range(6)),  # symbolic
        record("q", 0, "\\boxed{42}"),  # decided in process
        SampleRecord("q", 1, "Let x be the number of ways; then", "length", 5, 9, 1),  # cut off: no answer
    )
    seen: list[tuple] = []
    with Verifier("math", workers=2) as verifier:
        beside = VerificationBeside(verifier, GOLD, writer, on_verdict=lambda r, v: seen.append(r.key), queue_size=3)
        beside.submit(samples[0])
        beside.submit(samples[0])  # the same sample again is not checked twice
        for sample in samples[1:]:
            beside.submit(sample)  # the queue holds 3: the rest stay on disk, and submit never waits
        beside.start()
        beside.finish(lambda: read_run(tmp_path).unverified("math"))
    lines = verdict_lines(tmp_path)
    assert sorted((v["problem_id"], v["sample_index"]) for v in lines) == sorted(s.key for s in samples)
    assert all(v["rules"] == "math" for v in lines)
    by_key = {(v["problem_id"], v["sample_index"]): v["verdict"] for v in lines}
    assert all(by_key[("p", i)]["correct"] for i in range(6))
    assert by_key[("q", 0)]["correct"] and not by_key[("q", 1)]["correct"] and by_key[("q", 1)]["extracted"] is None
    assert beside.verified == 8 and sorted(seen) == sorted(s.key for s in samples)


def test_the_callback_gets_each_sample_with_the_verdict_written_for_it(writer, tmp_path):
    # The run counts verdicts through the callback; a caller showing them needs the verdict itself, not only the sample.
    samples = stored(writer, record("q", 0, "\\boxed{42}"), record("q", 1, "\\boxed{41}"))
    seen: dict[tuple, dict] = {}
    with Verifier("math", workers=1) as verifier:
        beside = VerificationBeside(verifier, GOLD, writer, on_verdict=lambda r, v: seen.update({r.key: v.to_dict()}))
        beside.start()
        for sample in samples:
            beside.submit(sample)
        beside.finish(lambda: [])
    assert seen == {(v["problem_id"], v["sample_index"]): v["verdict"] for v in verdict_lines(tmp_path)}
    assert seen[("q", 0)]["correct"] and not seen[("q", 1)]["correct"]


def test_a_fault_in_the_verifier_is_a_wrong_verdict_that_says_why(writer, tmp_path):
    class Broken(Verifier):
        def submit(self, key, response, gold, truncated=False):
            raise RuntimeError("extraction blew up")

    (sample,) = stored(writer, record("q", 0, "\\boxed{42}"))
    with Broken("math", workers=1) as verifier:
        beside = VerificationBeside(verifier, GOLD, writer)
        beside.start()
        beside.submit(sample)
        beside.finish(lambda: [])
    (line,) = verdict_lines(tmp_path)
    assert line["verdict"] == {"extracted": None, "correct": False, "rule": "none", "found_by": "none",
                               "error": "verifier failed: RuntimeError: extraction blew up"}  # fmt: skip


def test_an_error_on_the_thread_is_raised_by_finish(writer):
    (sample,) = stored(writer, record("q", 0, "\\boxed{42}"))

    def fail(record, verdict):
        raise OSError("disk full")

    with Verifier("math", workers=1) as verifier:
        beside = VerificationBeside(verifier, GOLD, writer, on_verdict=fail)
        beside.start()
        beside.submit(sample)
        with pytest.raises(OSError, match="disk full"):
            beside.finish(lambda: [])


def test_abort_stops_at_once_and_leaves_the_check_under_way_unverified(writer, tmp_path):
    endless = record("q", 0, "After all that work, the answer is $\\boxed{(x+1)^{10000}}$.")
    stored(writer, endless)
    verifier = Verifier("math", workers=1, timeout=600)
    beside = VerificationBeside(verifier, GOLD, writer)
    beside.start()
    beside.submit(endless)
    time.sleep(0.5)  # the check is under way in a worker
    start = time.monotonic()
    beside.abort()
    assert time.monotonic() - start < 3.0
    assert not (tmp_path / "verdicts.jsonl").exists() or verdict_lines(tmp_path) == []
    assert verifier._pool is None  # the workers were stopped


def test_submit_never_waits_for_the_thread(writer):
    gate = threading.Event()

    def slow(record, verdict):
        gate.wait(5)

    samples = stored(writer, *(record("q", i, "\\boxed{42}") for i in range(20)))
    with Verifier("math", workers=1) as verifier:
        beside = VerificationBeside(verifier, GOLD, writer, on_verdict=slow, queue_size=4)
        beside.start()
        start = time.monotonic()
        for sample in samples:
            beside.submit(sample)
        assert time.monotonic() - start < 0.5  # the thread is stuck on the first verdict; submit went on
        gate.set()
        beside.finish(lambda: read_run(writer.run_dir).unverified("math"))
    assert beside.verified == 20


def test_a_cut_off_sample_is_checked_as_truncated_so_only_an_explicit_answer_counts(writer, tmp_path):
    text = "Adding the two cases, the answer is 42."  # a weak answer phrase: no conclusion when cut off
    cut_off, finished = stored(writer, SampleRecord("q", 0, text, "length", 5, 9, 0), record("q", 1, text))
    with Verifier("math", workers=1) as verifier:
        beside = VerificationBeside(verifier, GOLD, writer)
        beside.start()
        beside.submit(cut_off)
        beside.submit(finished)
        beside.finish(lambda: [])
    by_index = {v["sample_index"]: v["verdict"] for v in verdict_lines(tmp_path)}
    assert by_index[0]["extracted"] is None and not by_index[0]["correct"]
    assert by_index[1]["extracted"] == "42" and by_index[1]["correct"]


def test_finish_reads_the_run_back_from_disk_only_when_the_queue_overflowed(writer, tmp_path):
    # Reading back a large run costs time and memory: it is done only for samples that did not fit in the queue.
    samples = stored(writer, *(record("q", i, "\\boxed{42}") for i in range(3)))
    read_back: list[int] = []

    def unverified_on_disk():
        read_back.append(1)
        return read_run(tmp_path).unverified("math")

    with Verifier("math", workers=1) as verifier:
        beside = VerificationBeside(verifier, GOLD, writer, queue_size=3)
        for sample in samples:
            beside.submit(sample)
        beside.start()
        beside.finish(unverified_on_disk)
    assert read_back == [] and len(verdict_lines(tmp_path)) == 3


class DeferredVerifier:
    """Stands in for Verifier: every check goes to the (imaginary) pool, and `collect` returns all of them decided.
    Each `submit` notes how many verdicts were on disk then."""

    rules = "math"
    niceness = 0

    def __init__(self, verdicts_path) -> None:
        self.verdicts_path = verdicts_path
        self.keys: list = []
        self.started_and_on_disk: list[tuple[int, int]] = []

    @property
    def pending(self) -> int:
        return len(self.keys)

    def submit(self, key, response, gold, truncated=False):
        self.keys.append(key)
        on_disk = len(self.verdicts_path.read_text().splitlines()) if self.verdicts_path.exists() else 0
        self.started_and_on_disk.append((len(self.started_and_on_disk) + 1, on_disk))
        return None

    def collect(self, timeout=None):
        decided, self.keys = self.keys, []
        return [(key, Verdict("42", True, "integer", "boxed", None)) for key in decided]

    def close(self) -> None:
        pass


def test_a_large_backlog_is_started_in_batches_whose_verdicts_are_recorded_in_between(writer, tmp_path):
    # Verdicts of checks under way are collected (and written) between batches: a backlog, or generation that keeps
    # the queue full, never holds every verdict back until the queue is empty.
    samples = stored(writer, *(record("q", i, "\\boxed{42}") for i in range(600)))
    verifier = DeferredVerifier(tmp_path / "verdicts.jsonl")
    beside = VerificationBeside(verifier, GOLD, writer)  # type: ignore[arg-type]
    for sample in samples:
        beside.submit(sample)
    beside.start()
    beside.finish(lambda: [])
    assert max(started - on_disk for started, on_disk in verifier.started_and_on_disk) <= 256
    assert verifier.started_and_on_disk[-1][1] >= 512
    assert beside.verified == 600 and len(verdict_lines(tmp_path)) == 600


def test_a_signal_that_lands_on_another_thread_still_interrupts_finish_at_once(writer):
    # finish waits in short steps: a Ctrl-C or SIGTERM the system hands to some other thread is acted on by the main
    # thread within one step, not only when the last verdict is in.
    (sample,) = stored(writer, record("q", 0, "\\boxed{42}"))
    gate = threading.Event()

    class Interrupted(Exception):
        pass

    def interrupt(signum, frame):
        raise Interrupted

    sent: list[float] = []

    def send_to_this_thread():
        time.sleep(0.2)  # finish is waiting by now
        sent.append(time.monotonic())
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    with Verifier("math", workers=1) as verifier:
        beside = VerificationBeside(verifier, GOLD, writer, on_verdict=lambda r, v: gate.wait(10))
        beside.start()
        beside.submit(sample)  # its verdict holds the thread until the gate opens
        previous = signal.signal(signal.SIGINT, interrupt)
        try:
            threading.Thread(target=send_to_this_thread).start()
            with pytest.raises(Interrupted):
                beside.finish(lambda: [])
            assert time.monotonic() - sent[0] < 0.5
        finally:
            signal.signal(signal.SIGINT, previous)
            gate.set()
            beside.abort()


def test_a_program_that_drops_the_verification_without_finish_or_abort_still_exits():
    # The thread must not keep the interpreter alive: a caller that fails before `finish` exits instead of hanging.
    script = textwrap.dedent(
        """
        from evalkit.pipeline.verification import VerificationBeside

        class Idle:
            rules, niceness, pending = "math", 0, 0

        beside = VerificationBeside(Idle(), {}, writer=None)
        beside.start()
        raise SystemExit(3)
        """
    )
    # Started where the tests run, as the CLI tests start evalkit: under mutation testing that is the mutated copy.
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20)
    assert result.returncode == 3, result.stderr

    # The same construction in this process too: mutmut picks the tests for a mutant by what it sees called here,
    # and without it would never run this test against the thread's construction.
    class Idle:
        rules, niceness, pending = "math", 0, 0

    assert not VerificationBeside(Idle(), {}, writer=None)._thread.is_alive()  # made, never started
