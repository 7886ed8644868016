"""The openai backend's waiting and routing, asserted on what the servers saw and when: Retry-After honoured,
exponential backoff with full jitter, at most --concurrency requests in flight, the least busy server that is up,
an unreachable or failing server skipped while another works."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import socket
import time

import pytest
from fake_openai_server import Faults, ServerState, serve
from test_openai_providers import generate, generate_one_without_probe, prompts, requests_for

from evalkit.backends import openai_api, retry
from evalkit.backends.base import BackendError
from evalkit.backends.openai_api import OpenAIBackend
from evalkit.config import BackendConfig


@pytest.fixture
def backoffs(monkeypatch) -> list[int]:
    """Backoff waits the backend asks for (by attempt number), each made zero so only Retry-After waits."""
    asked: list[int] = []

    def no_wait(attempt: int, rng=None) -> float:
        asked.append(attempt)
        return 0.0

    monkeypatch.setattr(openai_api, "backoff_seconds", no_wait)
    return asked


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gaps(state: ServerState) -> list[float]:
    return [b - a for a, b in zip(state.arrivals, state.arrivals[1:])]


def test_retry_after_seconds_is_waited_before_the_next_request(backoffs):
    # README: "`Retry-After` (seconds or an HTTP date) is honoured up to 10 minutes".
    state = ServerState(faults=Faults(status_429={1}, retry_after_s=1.2))
    with serve(state) as url:
        completions, backend, _ = generate(url, requests_for(prompts(1), n=2), stream=False)
    assert len(completions) == 2 and state.requests == 2 and backend.retries == 1
    assert gaps(state)[0] >= 1.2  # the server asked for 1.2 s and got at least that
    assert backoffs == [0]  # the backoff was asked for too, and came on top of nothing


def test_an_unreadable_retry_after_falls_back_to_backoff(backoffs):
    state = ServerState(faults=Faults(status_429={1}, retry_after_s="soon"))
    with serve(state) as url:
        completions, _, _ = generate(url, requests_for(prompts(1), n=2), stream=False)
    assert len(completions) == 2 and gaps(state)[0] < 1.0 and backoffs == [0]


def test_failures_in_a_row_back_off_exponentially(backoffs):
    # README: "retries with exponential backoff and jitter on 429, 5xx, timeouts, ...".
    state = ServerState(faults=Faults(status_503={1, 2, 3}))
    with serve(state) as url:
        completions, backend, _ = generate(url, requests_for(prompts(1), n=2), max_retries=3)
    assert len(completions) == 2 and backend.retries == 3
    assert backoffs == [0, 1, 2]  # attempt k waits up to base * 2**k


def test_backoff_is_full_jitter_under_a_doubling_bound():
    rng = random.Random(0)
    for attempt in range(8):
        bound = min(retry.RETRY_CAP_S, retry.RETRY_BASE_S * 2**attempt)
        draws = [retry.backoff_seconds(attempt, rng) for _ in range(400)]
        assert all(0 <= d <= bound for d in draws)
        # Full jitter: spread over the whole range, not a fixed wait (requests retried together spread out).
        assert min(draws) < 0.1 * bound and max(draws) > 0.9 * bound and len(set(draws)) == 400
    assert retry.RETRY_BASE_S == 1.0 and retry.RETRY_CAP_S == 60.0
    assert max(retry.backoff_seconds(1000, rng) for _ in range(400)) <= 60.0
    assert max(retry.backoff_seconds(1000, rng) for _ in range(400)) > 50.0  # a huge attempt still means the cap


def test_the_backoff_is_really_slept_between_failures(monkeypatch):
    # With a 0.4 s wait per failure, two failures in a row cost the run at least 0.8 s between its requests.
    monkeypatch.setattr(openai_api, "backoff_seconds", lambda attempt, rng=None: 0.4)
    state = ServerState(faults=Faults(status_503={1, 2}))
    with serve(state) as url:
        generate(url, requests_for(prompts(1), n=1), max_retries=2)
    assert [round(g, 1) >= 0.4 for g in gaps(state)] == [True, True]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_at_most_concurrency_requests_are_in_flight(concurrency):
    # README: "`--concurrency` requests in flight".
    state = ServerState(latency_s=0.3)
    with serve(state) as url:
        completions, _, _ = generate(url, requests_for(prompts(8), n=1), concurrency=concurrency, stream=False)
    assert len(completions) == 8
    assert state.peak_in_flight == concurrency  # never more, and the bound is used


def test_requests_go_to_the_least_busy_server():
    # README: "requests go to the least busy server that is up".
    a, b = ServerState(latency_s=0.3), ServerState(latency_s=0.3)
    with serve(a) as url_a, serve(b) as url_b:
        completions, _, _ = generate((url_a, url_b), requests_for(prompts(8), n=1), concurrency=4, stream=False)
    assert len(completions) == 8
    assert a.requests == b.requests == 4 and a.peak_in_flight == b.peak_in_flight == 2


def test_an_unreachable_server_is_not_tried_while_another_is_up():
    # README: "a server that cannot be reached is skipped while others work".
    working = ServerState(latency_s=0.2)
    with serve(working) as url:
        completions, backend, notices = generate(
            ("http://127.0.0.1:9/v1", url), requests_for(prompts(6), n=1), concurrency=3, stream=False
        )
    assert len(completions) == 6 and working.requests == 6 and working.peak_in_flight == 3
    assert backend.attempts == 6 and backend.retries == 0  # no request was sent to the dead one
    (notice,) = notices
    assert notice.startswith("skipping http://127.0.0.1:9/v1 (") and notice.endswith(
        ") for now; requests go to the other servers"
    )


def test_a_failing_server_is_left_for_the_retry_and_the_next_requests(backoffs):
    # README: "a failing server is skipped on retry".
    failing = ServerState(faults=Faults(status_503=set(range(1, 1000))))
    working = ServerState()
    with serve(failing) as url_a, serve(working) as url_b:
        completions, backend, _ = generate((url_a, url_b), requests_for(prompts(4), n=1), concurrency=1, max_retries=1)
    assert len(completions) == 4 and working.requests == 4
    assert failing.requests == 1  # tried once, then every request went to the server that works
    assert backend.retries == 1 and backoffs == []  # another server was up: the retry did not wait


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_server_that_refuses_connections_is_paused_and_the_run_ends_when_none_can_serve(backoffs, transport):
    # Generation without the probe: the refusal is met by a request, retried once, then the run ends.
    url = f"http://127.0.0.1:{closed_port()}/v1"
    backend = OpenAIBackend(
        "fake-model", BackendConfig(kind="openai", base_urls=(url,), max_retries=1), environ={}, transport=transport
    )

    start = time.monotonic()
    # Said as what it is, with the address, on both transports (aiohttp's SDK error says "Request timed out.").
    port = url.split(":")[2].split("/")[0]
    given_up = (
        rf"^giving up after 2 attempts in a row for problem p0: http://127.0.0.1:{port}/v1: connection refused: "
        rf"nothing listens at 127.0.0.1:{port}$"
    )
    with pytest.raises(BackendError, match=given_up):
        generate_one_without_probe(backend)
    # Paused after the refusal (30 s / 16 after a first failure) before it is tried again: no hammering a dead server.
    assert time.monotonic() - start >= openai_api.UNREACHABLE_PAUSE_S / 16
    assert backend.attempts == 2


def test_extra_requests_for_missing_choices_carry_the_seeds_of_the_samples_they_draw(backoffs):
    # README: "the missing ones drawn with further requests and their own seeds when a server returns fewer".
    state = ServerState(faults=Faults(max_choices=1))
    request = requests_for(prompts(1), n=4)[0]
    with serve(state) as url:
        completions, backend, _ = generate(url, [request], concurrency=1)
    assert sorted(c.sample_index for c in completions) == [0, 1, 2, 3]
    assert [b.get("seed") for b in state.bodies] == [request.seed, request.seed + 1, request.seed + 2, request.seed + 3]
    assert {c.sample_index: c.seed for c in completions} == {i: request.seed + i for i in range(4)}
    assert [b.get("n") for b in state.bodies] == [4, None, None, None]  # then one per request: it ignores n


def test_a_retry_goes_to_another_server_even_when_the_failed_one_is_less_busy(backoffs):
    # README: "a failing server is skipped on retry": the failed server is idle and the other busy, so "least busy"
    # alone would send the retry straight back to the server that just failed.
    flaky = ServerState(latency_s=0.5, faults=Faults(status_503={1}))
    busy = ServerState(latency_s=0.5)
    with serve(flaky) as url_a, serve(busy) as url_b:
        completions, backend, _ = generate((url_a, url_b), requests_for(prompts(2), n=1), concurrency=2, stream=False)
    assert len(completions) == 2 and backend.retries == 1
    assert flaky.requests == 1 and busy.requests == 2


def test_a_request_waiting_for_a_paused_server_comes_back_after_the_pause_and_its_jitter(backoffs, monkeypatch):
    # The wait for a paused server is lengthened by up to a tenth and 10 ms, so the requests waiting for it do not
    # all arrive the instant it comes back: here the jitter is made its largest.
    monkeypatch.setattr(openai_api.random, "uniform", lambda low, high: high)
    state = ServerState(faults=Faults(status_429={1}, retry_after_s=0.8))
    with serve(state) as url:
        completions, _, _ = generate(url, requests_for(prompts(1), n=1), stream=False)
    assert len(completions) == 1 and state.requests == 2
    assert gaps(state)[0] >= 0.88  # the 0.8 s asked for, then a tenth of it and 10 ms on top


def test_an_unreachable_server_is_paused_twice_as_long_after_each_failure_in_a_row(backoffs, monkeypatch):
    # 1/16 of UNREACHABLE_PAUSE_S after the first refusal, then 2/16, 4/16, ... (made short here, with no jitter).
    monkeypatch.setattr(openai_api, "UNREACHABLE_PAUSE_S", 1.6)
    monkeypatch.setattr(openai_api.random, "uniform", lambda low, high: low)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    backend = OpenAIBackend("fake-model", BackendConfig(kind="openai", base_urls=(url,), max_retries=3), environ={})
    attempts: list[float] = []
    attempt = backend._attempt

    async def timed(*args, **kwargs):
        attempts.append(time.monotonic())
        return await attempt(*args, **kwargs)

    backend._attempt = timed

    with pytest.raises(BackendError, match="giving up after 4 attempts"):
        generate_one_without_probe(backend)
    waits = [b - a for a, b in zip(attempts, attempts[1:])]
    assert [w >= pause for w, pause in zip(waits, (0.1, 0.2, 0.4))] == [True, True, True]
    assert attempts[-1] - attempts[0] < 1.1  # 0.7 s of pauses, not the 1.3 s a steeper ladder would take


def test_the_jitter_on_a_paused_server_is_at_most_a_tenth_of_the_wait_and_10_ms(monkeypatch):
    # The bound of the jitter, read from the sleep itself rather than from a clock: largest jitter, 0.5 s pause.
    config = BackendConfig(kind="openai", base_urls=("http://127.0.0.1:1/v1",))
    backend = OpenAIBackend("fake-model", config, environ={})
    (server,) = backend.servers
    monkeypatch.setattr(openai_api, "_now", lambda: 100.0)
    server.down_until = 100.5
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        server.down_until = 0.0  # the pause is over

    monkeypatch.setattr(openai_api.random, "uniform", lambda low, high: high)
    try:
        with monkeypatch.context() as patched:
            patched.setattr(openai_api, "asyncio", type("Clock", (), {"sleep": staticmethod(sleep)}))
            assert asyncio.run(backend._choose_server(None)) is server
    finally:
        backend.close()
    assert slept == [pytest.approx(0.5 + 0.05 + 0.01)]


def test_a_server_unreachable_at_the_probe_comes_after_a_healthy_one_once_its_pause_is_over():
    # Its failed probe counts as a failure in a row: once both are up and equally busy, the healthy server is asked
    # first, and a new failure of the flaky one pauses it longer than a first failure would.
    flaky = f"http://127.0.0.1:{closed_port()}/v1"
    with serve(ServerState()) as healthy:
        config = BackendConfig(kind="openai", base_urls=(flaky, healthy))
        backend = OpenAIBackend("fake-model", config, environ={})
        try:
            asyncio.run(backend.probe())
            first, second = backend.servers
            assert (first.failures_in_row, second.failures_in_row) == (1, 0)
            first.down_until = 0.0  # its pause is over
            assert asyncio.run(backend._choose_server(None)) is second
        finally:
            backend.close()


def test_a_resumed_requests_extra_requests_carry_the_seeds_of_its_own_samples(backoffs):
    # A resumed run asks for samples 2 and 3 only: the request's seed is sample 2's, and the extra request for the
    # missing one must carry sample 3's (its seed plus one), not one counted from sample 0.
    state = ServerState(faults=Faults(max_choices=1))
    request = dataclasses.replace(requests_for(prompts(1), n=2)[0], first_index=2, seed=5000)
    with serve(state) as url:
        completions, _, _ = generate(url, [request], concurrency=1)
    assert [b.get("seed") for b in state.bodies] == [5000, 5001]
    assert {c.sample_index: c.seed for c in completions} == {2: 5000, 3: 5001}


def test_attempts_that_each_deliver_a_choice_are_not_failures_in_a_row(backoffs):
    # Each stream drops after one finished choice: every attempt makes progress, so the count of failures in a row
    # starts again each time and four samples arrive with max_retries=2, although it took four requests.
    state = ServerState(faults=Faults(drop_after_finished={1: 1, 2: 1, 3: 1}))
    with serve(state) as url:
        completions, _, _ = generate(url, requests_for(prompts(1), n=4), concurrency=1, max_retries=2)
    assert sorted(c.sample_index for c in completions) == [0, 1, 2, 3] and state.requests == 4
