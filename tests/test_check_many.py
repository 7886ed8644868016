"""The Verifier around its worker pool: `check_many` checks each distinct pair once and the symbolic ones in parallel,
verdicts come back in input order, the default bound is 5 s, the workers' memory cap is 4 GB, and a stream of
checks through `submit`/`collect` keeps each caller's verdicts apart."""

from __future__ import annotations

import resource
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.verify import DEFAULT_TIMEOUT_S, Verifier, check, check_many
from evalkit.verify import pool as pool_module
from evalkit.verify import verifier as verifier_module
from evalkit.verify.pool import WORKER_MEMORY_BYTES, BoundedPool
from evalkit.verify.verifier import DEDUP_TAIL_CHARS, first_of_each


def half(k: int) -> tuple[str, str]:
    """A response equal to x/2 that only the symbolic comparison (a worker) can settle (plain numbers are settled
    in-process)."""
    return f"The answer is $\\boxed{{\\frac{{{2 * k}x}}{{{4 * k}}}}}$.", "\\frac{x}{2}"


class RecordingPool(BoundedPool):
    """The real pool, counting what was handed to it and how much was outstanding at once."""

    made: list[RecordingPool] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.payloads: list = []
        self.most_outstanding = 0
        RecordingPool.made.append(self)

    def submit(self, payload):
        self.payloads.append(payload)
        task = super().submit(payload)
        self.most_outstanding = max(self.most_outstanding, self.outstanding)
        return task


@pytest.fixture
def recording(monkeypatch) -> list[RecordingPool]:
    RecordingPool.made = []
    monkeypatch.setattr(verifier_module, "BoundedPool", RecordingPool)
    return RecordingPool.made


def test_check_many_checks_each_distinct_pair_once(recording):
    # README: "`check_many(pairs, workers=...)`"; the docstring: "identical checks are done once".
    pairs = [half(1)] * 10 + [half(2)] * 5 + [("\\boxed{42}", "42")] * 3 + [half(3)]
    verdicts = check_many(pairs, workers=2)
    assert len(verdicts) == len(pairs) and all(v.correct for v in verdicts)
    (pool,) = recording
    assert len(pool.payloads) == 3  # three distinct symbolic checks; the integer one never reaches a worker
    assert len({p[1] for p in pool.payloads}) == 3


def test_each_distinct_response_is_read_once_however_alike_the_others_look(monkeypatch):
    read: list[str] = []
    real_first_pass = verifier_module.first_pass

    def counting_first_pass(rules, response, gold, truncated):
        read.append(response)
        return real_first_pass(rules, response, gold, truncated)

    monkeypatch.setattr(verifier_module, "first_pass", counting_first_pass)
    tail = " so the answer is \\boxed{12}." + "x" * DEDUP_TAIL_CHARS
    # Three responses of one length ending alike (one group), each repeated; one also under another gold and flag.
    alike = [f"Reasoning {letter}.{tail}" for letter in "abc"]
    pairs = [(alike[0], "12"), (alike[1], "12"), (alike[0], "12"), (alike[2], "12"), (alike[1], "12")]
    pairs += [(alike[2], "12"), (alike[0], "13")]
    flags = [False] * 6 + [False]
    with Verifier("math", workers=1) as verifier:
        verdicts = verifier.check_many(pairs + [(alike[0], "12")], truncated=flags + [True])
    assert sorted(read) == sorted([alike[0], alike[1], alike[2], alike[0], alike[0]])
    assert [v.correct for v in verdicts] == [True] * 6 + [False, True]


@given(
    st.lists(
        st.tuples(st.sampled_from(["", "a", "b", "ab", "ba"]), st.sampled_from(["1", "2"]), st.booleans()), max_size=40
    )
)
def test_repeats_are_found_exactly_as_whole_keys_would_find_them(parts):
    # Short stems before a long shared tail: keys that share a length and tail but differ, and exact repeats.
    keys = [(stem + "z" * (DEDUP_TAIL_CHARS + 3), gold, flag) for stem, gold, flag in parts]
    whole: dict[tuple[str, str, bool], int] = {}
    assert first_of_each(keys) == [whole.setdefault(key, index) for index, key in enumerate(keys)]


def test_check_many_runs_the_symbolic_checks_in_parallel(recording):
    pairs = [half(k) for k in range(1, 7)]
    with Verifier("math", workers=3) as verifier:
        verdicts = verifier.check_many(pairs)
        (pool,) = recording
        # Every distinct check was handed out before the first verdict was waited for, over 3 worker processes.
        assert pool.most_outstanding == 6
        assert len(pool.workers) == 3 and len({w.process.pid for w in pool.workers}) == 3
        assert verifier.symbolic_checks == 6
    assert all(v.correct and v.rule for v in verdicts)


def event_log(monkeypatch) -> list[str]:
    """What check_many does, in order: `read` (one response's first pass) and `poll 0` (a look at the workers that
    never waits)."""
    events: list[str] = []
    real_first_pass = verifier_module.first_pass
    real_poll = BoundedPool.poll

    def first_pass(*args):
        events.append("read")
        return real_first_pass(*args)

    def poll(self, timeout):
        if timeout == 0:
            events.append("poll 0")
        return real_poll(self, timeout)

    monkeypatch.setattr(verifier_module, "first_pass", first_pass)
    monkeypatch.setattr(BoundedPool, "poll", poll)
    return events


def plain(k: int) -> tuple[str, str]:
    """A response settled in-process (no worker)."""
    return f"Reasoning, {k} lines of it. The answer is $\\boxed{{{k}}}$.", str(k)


def test_checks_go_out_to_started_workers_while_the_rest_of_the_batch_is_read(monkeypatch):
    with Verifier("math", workers=1) as verifier:
        verifier.check(*half(1))  # the worker is up
        events = event_log(monkeypatch)
        verdicts = verifier.check_many([half(2)] + [plain(k) for k in range(1, 30)])
    assert all(v.correct for v in verdicts)
    # The symbolic check was handed to the worker right after it was read, not after the 29 in-process ones.
    assert events[:2] == ["read", "poll 0"]


def test_a_batch_is_read_on_while_the_first_worker_starts(monkeypatch):
    starting = threading.Event()
    released: list[bool] = []
    real_spawn = BoundedPool._spawn

    def slow_spawn(self):
        # The first worker starts once the batch's last response has been read: as slow as the fork server's
        # imports can be. A check_many that waited for it meanwhile would never read that response.
        released.append(starting.wait(5))
        return real_spawn(self)

    monkeypatch.setattr(BoundedPool, "_spawn", slow_spawn)
    real_first_pass = verifier_module.first_pass

    def last_one_releases(rules, response, gold, truncated):
        if response == plain(29)[0]:
            starting.set()
        return real_first_pass(rules, response, gold, truncated)

    monkeypatch.setattr(verifier_module, "first_pass", last_one_releases)
    with Verifier("math", workers=1) as verifier:
        verdicts = verifier.check_many([half(2)] + [plain(k) for k in range(1, 30)])
    assert all(v.correct for v in verdicts)
    assert released == [True]


def test_verdicts_come_back_in_input_order_with_truncation_flags():
    pairs = [half(1), ("\\boxed{7}", "8"), ("The answer is 5", "5"), half(1)]
    with Verifier("math", workers=1) as verifier:
        verdicts = verifier.check_many(pairs, truncated=[False, False, True, True])
        assert [v.correct for v in verdicts] == [True, False, False, True]
        assert verdicts[2].extracted is None  # cut off: only explicit markers count, and "the answer is" is none
        with pytest.raises(ValueError, match="one flag per pair"):
            verifier.check_many(pairs, truncated=[False])


def test_checks_streamed_by_another_caller_are_kept_for_it():
    with Verifier("math", workers=1) as verifier:
        assert verifier.submit("mine", *half(5)) is None
        assert verifier.check_many([half(6)])[0].correct
        assert dict(verifier.collect(None)) == {"mine": verifier.check(*half(5))}
        assert verifier.pending == 0 and verifier.collect(0.01) == []


def test_a_repeated_symbolic_check_is_answered_from_the_cache():
    with Verifier("math", workers=1) as verifier:
        first = verifier.check(*half(4))
        assert verifier.symbolic_checks == 1
        assert verifier.submit("again", *half(4)) is None  # answered without a worker
        assert verifier.collect(0) == [("again", first)] and verifier.symbolic_checks == 1


def test_the_default_bound_is_5_seconds_everywhere():
    # README: "killed when it has spent `--verify-timeout` seconds of CPU time on one check (default 5 s)".
    assert DEFAULT_TIMEOUT_S == 5.0
    assert Verifier().timeout == 5.0
    with Verifier("math", workers=1) as verifier:
        verifier.check(*half(1))
        assert verifier._pool.timeout == 5.0
    import typer

    from evalkit.cli import app

    commands = typer.main.get_command(app).commands
    defaults = {
        name: param.default
        for name, command in commands.items()
        for param in command.params
        if param.name == "verify_timeout"
    }
    assert defaults == {"run": 5.0, "sweep": 5.0, "score": 5.0, "import": 5.0, "reward-server": 5.0}


def test_workers_run_under_a_4_gb_address_space_cap():
    # README: "a runaway expression hits a 4 GB memory cap".
    assert WORKER_MEMORY_BYTES == 4 * 1024**3
    with Verifier("math", workers=1) as verifier:
        verifier.check(*half(1))
        assert verifier._pool.memory_limit == 4 * 1024**3
    with BoundedPool("pool_tasks.address_space_limit", workers=1, timeout=5) as pool:
        (outcome,) = pool.map([None])
    soft, hard = outcome.value
    assert soft == 4 * 1024**3 or (hard != resource.RLIM_INFINITY and soft == min(4 * 1024**3, hard))


def test_unknown_rules_and_bad_timeouts_are_refused():
    with pytest.raises(ValueError, match="unknown rule set 'maths'; choose one of math, dapo, strict-int"):
        Verifier("maths")
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
            Verifier(timeout=bad)
        with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
            BoundedPool("pool_tasks.echo", timeout=bad)


def test_one_shot_check_shares_one_worker_per_rule_set():
    assert check(*half(1)).correct and check(*half(2)).correct
    shared = verifier_module._shared[("math", DEFAULT_TIMEOUT_S)]
    assert shared.workers == 1 and shared._pool is not None and len(shared._pool.workers) == 1
    assert check("\\boxed{3}", "3", rules="strict-int").correct
    assert ("strict-int", DEFAULT_TIMEOUT_S) in verifier_module._shared
    assert check(*half(3), timeout=2.5).correct  # another bound: another shared verifier, with that bound
    assert verifier_module._shared[("math", 2.5)].timeout == 2.5


def test_a_timed_out_symbolic_check_is_a_wrong_verdict_that_says_why(monkeypatch):
    with Verifier("math", workers=1, timeout=0.5) as verifier:
        monkeypatch.setattr(pool_module, "STALL_FACTOR", 2.0)
        verdict = verifier.check("So $\\boxed{(x+1)^{10000}}$.", "5")
    assert verdict.correct is False and verdict.error == "timeout" and verdict.rule == "math-verify"
    assert verdict.extracted == "(x+1)^{10000}"


def test_the_same_check_streamed_twice_before_its_verdict_runs_once(recording):
    # The run pipeline streams samples through `submit`: samples of one problem often repeat an answer.
    with Verifier("math", workers=2) as verifier:
        assert verifier.submit(("p", 0), *half(7)) is None
        assert verifier.submit(("p", 1), *half(7)) is None
        assert verifier.pending == 2 and verifier.symbolic_checks == 1
        got = {}
        while verifier.pending:
            got.update(verifier.collect(None))
    assert set(got) == {("p", 0), ("p", 1)} and all(v.correct for v in got.values())
    assert len(recording[0].payloads) == 1


def integer_batch(characters: int) -> list[tuple[str, str]]:
    """Four long responses with integer answers (no symbolic work), `characters` long in all."""
    answers = [f" so the answer is \\boxed{{{k}}}." for k in range(4)]
    padding = characters - sum(len(answer) for answer in answers)
    return [("x" * (padding // 4 + (k < padding % 4)) + answer, str(k)) for k, answer in enumerate(answers)]


@pytest.mark.parametrize(
    ("rules", "niceness", "characters", "early"),
    [
        ("math", 0, verifier_module.EARLY_SERVER_CHARS, True),
        ("math", 0, verifier_module.EARLY_SERVER_CHARS - 1, False),  # a small batch: started only if a check needs it
        ("math", 5, verifier_module.EARLY_SERVER_CHARS, False),  # beside an engine: nothing started in advance
        ("dapo", 0, verifier_module.EARLY_SERVER_CHARS, False),  # rule sets that never need a worker
        ("strict-int", 0, verifier_module.EARLY_SERVER_CHARS, False),
    ],
)
def test_a_large_batch_starts_the_fork_server_before_its_first_pass(
    recording, monkeypatch, rules, niceness, characters, early
):
    # docs/verifier.md: "a batch of 1,000,000 characters or more under `math` starts the workers' fork server as it
    # begins ... it starts no worker".
    events: list[str] = []
    monkeypatch.setattr(RecordingPool, "start_server", lambda self: events.append("fork server"))
    first_pass = verifier_module.first_pass
    monkeypatch.setattr(verifier_module, "first_pass", lambda *args: events.append("check") or first_pass(*args))
    pairs = integer_batch(characters)
    assert sum(len(response) for response, _ in pairs) == characters
    with Verifier(rules, niceness=niceness) as verifier:
        assert all(verdict.correct for verdict in verifier.check_many(pairs))
        assert events == ["fork server"] * early + ["check"] * 4
        assert verifier.symbolic_checks == 0 and all(not pool.workers and not pool._starting for pool in recording)
