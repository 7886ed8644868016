"""The shared verifier behind the rewards: any number of threads and event loops at once, a slow check holding up
only its own call, a broken verifier failing its callers and starting afresh, a forked process scoring on its own."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from evalkit.errors import EvalkitError
from evalkit.reward import service as service_module
from evalkit.reward.scoring import RewardConfig, score, score_async
from evalkit.reward.service import VerifierService, close_services, shared_service
from evalkit.verify import Verifier, check_many
from evalkit.verify import verifier as verifier_module
from evalkit.verify.pool import BoundedPool

# Symbolic golds, so that the worker processes decide (AIME's integers are decided in the calling process).
CHECKS = [(f"so the answer is $\\boxed{{\\sqrt{{{k * k}}}}}$", str(k + (k % 3 == 0)), False) for k in range(2, 42)]
SLOW = ("$\\boxed{9^{9^{9^{9}}}}$", "\\frac{\\sqrt{3}}{2}", False)


@pytest.fixture(autouse=True)
def fresh_services():
    close_services()
    yield
    close_services()


def test_checks_from_many_threads_at_once_get_the_verifiers_own_verdicts():
    expected = check_many([(r, g) for r, g, _ in CHECKS])
    service = shared_service("math", 5.0)
    with ThreadPoolExecutor(16) as pool:
        # each thread asks for a slice of its own, overlapping the others'
        slices = list(pool.map(lambda i: service.check_many(CHECKS[i : i + 8]), range(len(CHECKS) - 8)))
    for start, verdicts in enumerate(slices):
        assert verdicts == expected[start : start + 8]
    assert sum(v.correct for v in expected) == len([k for k in range(2, 42) if k % 3])


def test_a_requests_checks_go_out_to_the_workers_while_the_rest_of_it_is_read(monkeypatch):
    service = VerifierService("math", 5.0, workers=1)
    try:
        service.check_many(CHECKS[:1])  # the worker is up
        events: list[str] = []
        real_first_pass, real_poll = verifier_module.first_pass, BoundedPool.poll

        def first_pass(*args):
            events.append("read")
            return real_first_pass(*args)

        def poll(self, timeout):
            events.append(f"poll {timeout}")
            return real_poll(self, timeout)

        monkeypatch.setattr(verifier_module, "first_pass", first_pass)
        monkeypatch.setattr(BoundedPool, "poll", poll)
        integers = [(f"so \\boxed{{{k}}}", str(k), False) for k in range(20)]  # decided without a worker
        verdicts = service.check_many([CHECKS[2], *integers])  # sqrt(16) against 4
    finally:
        service.close()
    assert verdicts[0].correct and all(v.correct for v in verdicts[1:])
    # The symbolic check went to the worker as soon as it was read, before the 20 answers after it were.
    assert events[:2] == ["read", "poll 0"]


def test_a_check_past_its_bound_does_not_hold_up_the_calls_of_other_threads():
    service = shared_service("math", 2.0, workers=2)
    order = []
    slow = threading.Thread(target=lambda: order.append(("slow", service.check_many([SLOW]))))
    slow.start()
    integers = [(f"so \\boxed{{{k}}}", str(k), False) for k in range(50)]  # decided without a worker
    order.append(("fast", service.check_many(integers)))  # asked after the slow one, answered before it
    slow.join()
    assert [name for name, _ in order] == ["fast", "slow"]
    assert order[1][1][0].error == "timeout"


def test_awaiting_rewards_leaves_the_event_loop_free():
    config = RewardConfig(timeout=1.0)

    async def main():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        outcomes = await score_async(config, [SLOW[0]], [SLOW[1]])
        ticker.cancel()
        return outcomes, ticks

    outcomes, ticks = asyncio.run(main())
    assert outcomes[0].timed_out
    assert ticks >= 20  # the loop ran on through the whole check (a second of CPU time, at least)


def test_a_blocking_call_from_inside_a_running_event_loop_returns():
    """verl's legacy managers call the reward synchronously, and may do so from code under a running loop: nothing
    in the path calls asyncio.run or waits on that loop."""

    async def main():
        return score(RewardConfig(), ["so \\boxed{\\sqrt{16}}"], ["4"])

    assert asyncio.run(main())[0].correct


class FailingOnce(Verifier):
    failed = False

    def submit(self, *args, **kwargs):
        if not FailingOnce.failed:
            FailingOnce.failed = True
            raise RuntimeError("workers fail to start")
        return super().submit(*args, **kwargs)


def test_a_verifier_that_breaks_fails_its_callers_with_one_line_and_the_next_call_starts_afresh(monkeypatch):
    monkeypatch.setattr(service_module, "Verifier", FailingOnce)
    service = VerifierService("math", 5.0)
    try:
        with pytest.raises(EvalkitError, match="the reward verifier failed: workers fail to start"):
            service.check_many(CHECKS[:3])
        assert [v.correct for v in service.check_many(CHECKS[:3])] == [True, False, True]
    finally:
        service.close()


def test_a_closed_service_refuses_work_and_its_waiting_callers_are_told():
    service = VerifierService("math", 5.0)
    service.close()
    with pytest.raises(EvalkitError, match="has been closed"):
        service.submit(CHECKS[:1])


def _score_in_child(results) -> None:
    results.put(
        [o.correct for o in score(RewardConfig(), [r for r, _, _ in CHECKS[:4]], [g for _, g, _ in CHECKS[:4]])]
    )


def test_a_process_forked_after_scoring_scores_with_a_service_of_its_own():
    before = score(RewardConfig(), [r for r, _, _ in CHECKS[:4]], [g for _, g, _ in CHECKS[:4]])
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_score_in_child, args=(results,))
    child.start()
    try:
        assert results.get(timeout=60) == [o.correct for o in before]
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
