"""The openai backend against servers that behave like vLLM, `vllm serve --reasoning-parser`, DeepSeek's API,
OpenAI's o-series and OpenRouter (tests/fake_openai_server.py), streamed and not, with faults mid-stream."""

from __future__ import annotations

import asyncio
import time

import pytest
from fake_openai_server import PERSONAS, Faults, Persona, ServerState, fake_sample, serve

from evalkit.backends import retry
from evalkit.backends.base import BackendError, Completion, Prompt, SampleRequest
from evalkit.backends.openai_api import OpenAIBackend
from evalkit.config import BackendConfig, SamplingConfig

SAMPLING = SamplingConfig(n=4, temperature=0.6, top_p=0.95, max_tokens=256, seed=0)
O_SERIES = SamplingConfig(n=4, temperature=1.0, top_p=1.0, max_tokens=256, seed=0)


def prompts(count: int = 3, prefix: str = "") -> list[Prompt]:
    return [Prompt(f"p{i}", ({"role": "user", "content": f"problem number {i}"},), prefix) for i in range(count)]


def requests_for(items: list[Prompt], n: int = 4) -> list[SampleRequest]:
    return [SampleRequest(p, 0, n, 1000 * (i + 1)) for i, p in enumerate(items)]


def generate(
    urls: str | tuple[str, ...],
    requests: list[SampleRequest],
    sampling: SamplingConfig = SAMPLING,
    environ: dict | None = None,
    transport: str | None = None,
    **config,
) -> tuple[list[Completion], OpenAIBackend, list[str]]:
    """Run the backend as `evalkit run` does (probe, then generate); returns completions, backend, notices."""
    urls = (urls,) if isinstance(urls, str) else urls
    notices: list[str] = []
    backend = OpenAIBackend(
        "fake-model", BackendConfig(kind="openai", base_urls=urls, **config), environ=environ or {},
        on_notice=notices.append, transport=transport,
    )  # fmt: skip

    async def main() -> list[Completion]:
        try:
            await backend.probe()
            return [c async for c in backend.generate(requests, sampling)]
        finally:
            await backend.aclose()

    return asyncio.run(main()), backend, notices


def generate_one_without_probe(backend: OpenAIBackend) -> None:
    """One sample of one problem, asked for at once (no probe first, so the first request meets the fault)."""

    async def main() -> None:
        try:
            async for _ in backend.generate(requests_for(prompts(1), n=1), SAMPLING):
                pass
        finally:
            await backend.aclose()

    asyncio.run(main())


def by_key(completions: list[Completion]) -> dict[tuple[str, int], Completion]:
    keyed = {(c.problem_id, c.sample_index): c for c in completions}
    assert len(keyed) == len(completions), "a sample was delivered twice"
    return keyed


def expected(persona: str, request: SampleRequest, index: int, sampling: SamplingConfig = SAMPLING):
    prompt = request.prompt.messages[0]["content"]
    seed = request.seed + index - request.first_index
    return fake_sample(PERSONAS[persona], prompt, seed, sampling.max_tokens, None)


# -- reasoning kept ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("persona", ["vllm-reasoning", "vllm-reasoning-content", "deepseek", "openrouter"])
def test_reasoning_is_stored_beside_the_answer_streamed_or_not(persona, stream):
    state = ServerState(persona=PERSONAS[persona])
    requests = requests_for(prompts())
    with serve(state) as url:
        completions, _, _ = generate(url, requests, stream=stream)
    samples = by_key(completions)
    assert len(samples) == 12
    cut_in_thinking = 0
    for request in requests:
        for index in range(4):
            sample, want = samples[(request.prompt.problem_id, index)], expected(persona, request, index)
            assert sample.reasoning == "".join(want.reasoning)
            assert sample.text == "".join(want.answer)
            assert sample.finish_reason == want.finish_reason
            assert sample.seed == request.seed + index
            if sample.finish_reason == "length":
                cut_in_thinking += 1
                assert sample.text == "" and sample.reasoning  # no answer text, the thinking kept
            else:
                assert "\\boxed{" in sample.text and "\\boxed{" not in sample.reasoning
    assert cut_in_thinking > 0, "the fixed seeds include samples cut off while thinking"


def test_a_server_that_cannot_stream_is_read_whole():
    state = ServerState(persona=Persona(reasoning_field="reasoning", streams=False))
    with serve(state) as url:
        completions, backend, _ = generate(url, requests_for(prompts(2)))
    assert len(by_key(completions)) == 8 and all(b["stream"] for b in state.bodies) and state.requests == 2
    assert all(c.reasoning for c in completions) and backend.broken_streams == 0


def test_a_stream_sent_without_a_content_type_is_read_as_a_stream():
    # Only a JSON content type means the server answered the streamed request whole; no content type at all is a
    # stream like any other.
    state = ServerState(persona=Persona(stream_content_type=None))
    with serve(state) as url:
        completions, backend, _ = generate(url, requests_for(prompts(2)))
    assert len(by_key(completions)) == 8 and state.requests == 2 and backend.broken_streams == 0
    assert backend.streamed_deltas > 0  # read event by event


def test_an_inline_think_block_is_left_as_it_came():
    state = ServerState(persona=PERSONAS["inline-think"])
    with serve(state) as url:
        completions, _, _ = generate(url, requests_for(prompts(1)))
    for sample in completions:
        assert sample.reasoning is None and sample.text.startswith("<think>\n") and sample.tokens_exact


@pytest.mark.parametrize("persona", ["deepseek", "openrouter"])
def test_usage_with_reasoning_tokens_gives_exact_counts_per_sample(persona):
    state = ServerState(persona=PERSONAS[persona])
    requests = requests_for(prompts(2))
    with serve(state) as url:
        completions, backend, notices = generate(url, requests, vllm_extensions=False)
    for sample in completions:
        request = next(r for r in requests if r.prompt.problem_id == sample.problem_id)
        want = expected(persona, request, sample.sample_index)
        assert (sample.output_tokens, sample.reasoning_tokens, sample.tokens_exact) == (
            want.tokens, want.reasoning_tokens, True
        )  # fmt: skip
        assert sample.prompt_tokens == 3
    # hosted: one sample per request from the start, nothing sent that such APIs do not take
    assert state.requests == 8 and all("n" not in b and "return_token_ids" not in b for b in state.bodies)
    assert backend.describe()["dialects"][url]["samples_per_request"] == "one" and notices == []


def test_a_server_taking_one_sample_per_request_is_sent_one_request_per_sample_even_for_two():
    # Two missing samples are two requests from the start, not one asked for two that is then topped up.
    state = ServerState(persona=PERSONAS["deepseek"])
    requests = requests_for(prompts(3), n=2)
    with serve(state) as url:
        completions, backend, _ = generate(url, requests, vllm_extensions=False)
    assert sorted(by_key(completions)) == [(p, i) for p in ("p0", "p1", "p2") for i in range(2)]
    assert state.requests == 6 and sorted(b["seed"] for b in state.bodies) == sorted(
        r.seed + i for r in requests for i in range(2)
    )
    assert backend.describe()["requests"]["extra_requests"] == 0


def test_servers_that_ignore_n_still_give_exactly_n_samples_with_their_own_seeds():
    state = ServerState(persona=PERSONAS["openrouter"])
    requests = requests_for(prompts(2))
    with serve(state) as url:
        completions, backend, notices = generate(url, requests, concurrency=1)
    assert sorted(by_key(completions)) == [(p, i) for p in ("p0", "p1") for i in range(4)]
    assert sorted(b["seed"] for b in state.bodies) == sorted(r.seed + i for r in requests for i in range(4))
    assert notices == [f"{url}: one sample per request (the server ignores n)"]  # learned once
    assert [b.get("n") for b in state.bodies] == [4] + [None] * 7


def test_a_server_that_ignores_n_is_learned_from_a_request_for_two_samples_too():
    state = ServerState(persona=PERSONAS["openrouter"])
    with serve(state) as url:
        completions, _, notices = generate(url, requests_for(prompts(3), n=2), concurrency=1)
    assert len(by_key(completions)) == 6
    assert notices == [f"{url}: one sample per request (the server ignores n)"]
    assert [b.get("n") for b in state.bodies] == [2] + [None] * 5  # one request asked for two, then one each


def test_a_server_returning_more_choices_than_asked_still_gives_each_sample_once_from_its_own_request():
    state = ServerState(faults=Faults(extra_choices=1))
    request = requests_for(prompts(1))[0]
    with serve(state) as url:
        completions, _, _ = generate(url, [request], vllm_extensions=False, concurrency=1)
    samples = by_key(completions)
    assert sorted(samples) == [("p0", i) for i in range(4)]
    # one request per sample, each with that sample's seed; the choice it did not ask for is dropped
    assert state.requests == 4 and sorted(b["seed"] for b in state.bodies) == [request.seed + i for i in range(4)]
    assert all(s.seed == request.seed + i for (_, i), s in samples.items())


# -- dialects learned once per server, in-flight requests included -------------------------------------------------


def test_an_openai_o_series_server_is_adapted_to_once_for_every_request_in_flight():
    state = ServerState(persona=PERSONAS["openai-o"])
    items = prompts(8, prefix="<think>\n")
    with serve(state) as url:
        completions, backend, notices = generate(url, requests_for(items), O_SERIES, concurrency=8)
    assert len(by_key(completions)) == 32
    learned = backend.describe()["dialects"][url]
    assert learned["token_limit_field"] == "max_completion_tokens" and learned["samples_per_request"] == "one"
    assert not learned["assistant_prefill"] and not learned["return_token_ids"]
    assert len(notices) == len(set(notices)) == 4  # each adaptation announced once
    takes = {"model", "messages", "temperature", "top_p", "max_completion_tokens", "seed", "stream", "stream_options"}
    rejected = [b for b in state.bodies if set(b) - takes]
    accepted = [b for b in state.bodies if not set(b) - takes]
    # Only requests already in flight (at most one wave of 8 per adaptation) were rejected; the rest went adapted.
    assert len(rejected) <= 8 * 3 and len(accepted) == 32
    assert all(b["messages"][-1]["role"] == "user" for b in accepted)
    description = backend.describe()
    assert description["assistant_prefill"] == {
        "wanted": description["assistant_prefill"]["wanted"],
        "sent": False,
        "note": "the template's assistant prefill was not sent (the server takes no prefill): the model began its own "
        "turn, as hosted R1-style models do when they think anyway",
    }
    for sample in completions:
        assert sample.reasoning is None  # o-series bills the thinking but never returns it
        assert bool(sample.text) == (sample.finish_reason == "stop")
        assert sample.tokens_exact and 0 < sample.reasoning_tokens <= sample.output_tokens
        assert (sample.reasoning_tokens == sample.output_tokens) == (sample.finish_reason == "length")


def test_a_rejected_temperature_stops_the_run_before_another_request_goes_out():
    state = ServerState(persona=PERSONAS["openai-o"])
    with serve(state) as url, pytest.raises(BackendError) as stopped:
        generate(url, requests_for(prompts(6)), concurrency=1)
    message = str(stopped.value)
    assert "rejects temperature 0.6" in message and "rerun with --temperature 1" in message
    assert "\n" not in message
    # extensions, then max_tokens, then the temperature: three requests, and not one after
    assert state.requests == 3 and state.bodies[-1]["temperature"] == 0.6


def test_a_rejected_temperature_with_many_in_flight_sends_no_new_request():
    state = ServerState(persona=PERSONAS["openai-o"], latency_s=0.2)
    with serve(state) as url:
        with pytest.raises(BackendError, match="rejects temperature"):
            generate(url, requests_for(prompts(40)), concurrency=8)
        # A request the client had already begun sending may reach a busy server a moment later; wait until the
        # server has heard nothing for a while, then nothing more may come.
        after, quiet_since = state.requests, time.monotonic()
        while time.monotonic() - quiet_since < 0.5:
            time.sleep(0.05)
            if state.requests != after:
                after, quiet_since = state.requests, time.monotonic()
        time.sleep(0.5)
        assert state.requests == after
    assert after < 40  # the run stopped with the first rejection of its temperature, not after 160 samples


def test_a_server_that_refuses_seeds_is_sent_none_and_its_samples_record_none():
    state = ServerState(persona=Persona(refuses_seed=True))
    with serve(state) as url:
        completions, _, notices = generate(url, requests_for(prompts(1)))
    assert sorted(by_key(completions)) == [("p0", i) for i in range(4)]
    assert "seed" in state.bodies[0] and state.bodies[1:] and all("seed" not in b for b in state.bodies[1:])
    assert all(c.seed is None for c in completions)  # drawn by the server's own randomness, not by a seed
    assert notices == [f"{url}: no seed (the server rejects it; samples are not reproducible)"]


def test_api_params_are_sent_and_one_the_server_rejects_is_named():
    state = ServerState(persona=PERSONAS["openai-o"])
    with serve(state) as url:
        completions, _, _ = generate(url, requests_for(prompts(1)), O_SERIES, vllm_extensions=False,
                                     api_params={"reasoning_effort": "high"})  # fmt: skip
        assert len(completions) == 4 and all(b["reasoning_effort"] == "high" for b in state.bodies)
        with pytest.raises(BackendError, match="rejected --api-param top_k"):
            generate(url, requests_for(prompts(1)), O_SERIES, vllm_extensions=False, api_params={"top_k": 20})


@pytest.mark.parametrize(
    ("status", "ending"),
    [
        (403, "answered 403 (status 403): the API key is not set; evalkit reads it from $KEY"),
        (404, "answered 404: status 404"),  # not retried: another try gets the same answer
        (422, "rejected the request: status 422"),  # a rejection, read like a 400; nothing in it to adapt to
    ],
)
def test_a_status_that_no_retry_can_change_stops_the_run_saying_what_the_server_said(status, ending):
    state = ServerState(faults=Faults(other_status={1: status}))
    with serve(state) as url, pytest.raises(BackendError) as stopped:
        generate(url, requests_for(prompts(1)), api_key_env="KEY")
    assert str(stopped.value).startswith(f"{url} {ending}")
    assert state.requests == 1


def test_a_refused_key_names_the_variable_it_was_read_from():
    state = ServerState(faults=Faults(status_401={1}))
    with serve(state) as url, pytest.raises(BackendError) as refused:
        generate(url, requests_for(prompts(1)), api_key_env="DEEPSEEK_API_KEY")
    assert str(refused.value).startswith(f"{url} answered 401 (")
    assert str(refused.value).endswith(
        "): the API key is not set; evalkit reads it from $DEEPSEEK_API_KEY (choose the variable with --api-key-env)"
    )
    assert state.requests == 1


# -- faults mid-stream ---------------------------------------------------------------------------------------------


def test_a_stream_that_stalls_after_its_first_chunk_is_retried_within_the_idle_timeout():
    state = ServerState(faults=Faults(stall_after_first_chunk={1}, stall_s=120))
    start = time.monotonic()
    with serve(state) as url:
        completions, backend, _ = generate(url, requests_for(prompts(1)), idle_timeout=0.5)
    assert time.monotonic() - start < 60  # not the 120 s of the stall (~2 s unless the machine is very busy)
    assert backend.stalled_streams == 1 and state.requests == 2
    assert sorted(c.sample_index for c in completions) == [0, 1, 2, 3]


def test_a_request_queued_longer_than_the_idle_timeout_is_not_taken_for_a_stalled_one():
    state = ServerState(faults=Faults(queued={1}, queued_s=1.5))
    with serve(state) as url:
        completions, backend, _ = generate(url, requests_for(prompts(1)), idle_timeout=0.3)
    assert len(completions) == 4 and backend.stalled_streams == 0 and state.requests == 1


def test_a_request_past_its_total_cap_is_retried():
    state = ServerState(faults=Faults(queued={1}, queued_s=20))
    start = time.monotonic()
    with serve(state) as url:
        completions, backend, _ = generate(url, requests_for(prompts(1)), request_timeout=2.0)
    assert time.monotonic() - start < 15
    assert len(completions) == 4 and state.requests == 2


def test_a_choice_is_handed_over_the_moment_it_finishes_not_at_the_end_of_its_stream():
    state = ServerState(faults=Faults(stall_after_finished={1: 1}, stall_s=3))
    arrived: list[float] = []

    async def main(url: str) -> None:
        backend = OpenAIBackend("fake-model", BackendConfig(kind="openai", base_urls=(url,)), environ={})
        start = time.monotonic()
        try:
            async for _ in backend.generate(requests_for(prompts(1)), SAMPLING):
                arrived.append(time.monotonic() - start)
        finally:
            await backend.aclose()

    with serve(state) as url:
        asyncio.run(main(url))
    assert len(arrived) == 4 and state.requests == 1
    assert arrived[0] < 2.5 <= arrived[1]  # the first came while its stream was still stalled, the rest after


@pytest.mark.parametrize("finished_before_the_drop", [1, 2, 3])
def test_a_dropped_stream_keeps_its_finished_choices_and_draws_only_the_rest(finished_before_the_drop):
    request = requests_for(prompts(1), n=6)[0]
    clean = ServerState()
    faulty = ServerState(faults=Faults(drop_after_finished={1: finished_before_the_drop}))
    with serve(clean) as clean_url, serve(faulty) as url:
        reference, _, _ = generate(clean_url, [request])
        completions, backend, _ = generate(url, [request])
    assert backend.broken_streams == 1
    samples = by_key(completions)
    assert sorted(samples) == [("p0", i) for i in range(6)]
    # every sample is the one an uninterrupted run draws: same text, same seed
    assert {k: (c.text, c.seed) for k, c in samples.items()} == {
        (c.problem_id, c.sample_index): (c.text, c.seed) for c in reference
    }
    first, *redraws = faulty.bodies
    assert first["n"] == 6
    asked_again = sum(b.get("n", 1) for b in redraws)
    assert asked_again == 6 - finished_before_the_drop  # only the unfinished ones
    kept = {i for i in range(6)} - {b["seed"] - request.seed + j for b in redraws for j in range(b.get("n", 1))}
    assert len(kept) == finished_before_the_drop


def test_samples_lost_on_both_sides_of_a_kept_one_are_asked_for_run_by_run():
    request = requests_for(prompts(2))[1]  # its choice 1 finishes first; 0 and 3 take longest
    state = ServerState(faults=Faults(drop_after_finished={1: 1}))
    with serve(state) as url:
        completions, _, _ = generate(url, [request])
    assert sorted(by_key(completions)) == [("p1", i) for i in range(4)]
    first, *redraws = state.bodies
    assert (first["n"], first["seed"]) == (4, request.seed)
    # 0, then 2 and 3, each run from its own first seed: no request spans the kept sample 1 and draws it again
    assert sorted((b.get("n", 1), b["seed"]) for b in redraws) == [(1, request.seed), (2, request.seed + 2)]


def test_a_choice_the_server_reports_failed_is_drawn_again_and_the_others_kept():
    request = requests_for(prompts(1), n=4)[0]
    state = ServerState(faults=Faults(error_choice={1: 2}))
    with serve(state) as url:
        completions, backend, _ = generate(url, [request])
    assert sorted(by_key(completions)) == [("p0", i) for i in range(4)]
    assert all(c.finish_reason in ("stop", "length") for c in completions) and backend.broken_streams == 1
    assert [(b.get("n", 1), b["seed"]) for b in state.bodies] == [(4, request.seed), (1, request.seed + 2)]
    # A choice that fails on every attempt counts against --max-retries like any other fault.
    always = ServerState(faults=Faults(error_choice={number: 0 for number in range(1, 60)}))
    with serve(always) as url, pytest.raises(BackendError, match="giving up after 3 attempts"):
        generate(url, requests_for(prompts(1), n=1), max_retries=2)
    assert always.requests == 3


def test_mid_stream_faults_on_every_request_still_end_with_exactly_n():
    faults = Faults(drop_after_finished={n: 1 for n in range(1, 40, 2)}, status_503={4, 8}, status_429={6},
                    retry_after_s="soon")  # fmt: skip
    state = ServerState(faults=faults)
    with serve(state) as url:
        completions, _, _ = generate(url, requests_for(prompts(5), n=5), concurrency=3, max_retries=4)
    assert sorted(by_key(completions)) == [(f"p{p}", i) for p in range(5) for i in range(5)]


def test_a_retry_after_over_the_cap_is_cut_to_the_cap_with_a_notice(monkeypatch):
    monkeypatch.setattr(retry, "RETRY_AFTER_CAP_S", 0.3)
    state = ServerState(faults=Faults(status_429={1, 2}, retry_after_s=100000))
    start = time.monotonic()
    with serve(state) as url:
        completions, _, notices = generate(url, requests_for(prompts(1)))
    assert len(completions) == 4 and time.monotonic() - start < 60  # never the 100000 s asked for
    assert state.requests == 3
    # Said once per server, however often it asks.
    assert notices == [f"{url} asked to wait 100000 s (Retry-After); waiting 0 s, the cap"]


# -- several servers -----------------------------------------------------------------------------------------------


def test_an_unreachable_server_among_several_is_skipped():
    state = ServerState()
    with serve(state) as url:
        completions, _, notices = generate((url, "http://127.0.0.1:9/v1"), requests_for(prompts(4)))
    assert len(completions) == 16 and state.requests == 4
    assert len(notices) == 1 and notices[0].startswith("skipping http://127.0.0.1:9/v1")


def test_a_server_failing_mid_run_is_routed_around_while_another_works():
    failing = ServerState(faults=Faults(status_503=set(range(2, 1000))))
    working = ServerState()
    with serve(failing) as url_a, serve(working) as url_b:
        completions, _, _ = generate((url_a, url_b), requests_for(prompts(12)), concurrency=4, max_retries=2)
    assert len(completions) == 48 and working.completed >= 11


def test_the_run_ends_when_no_server_can_serve():
    failing = ServerState(faults=Faults(status_503=set(range(1, 1000))))
    with serve(failing) as url, pytest.raises(BackendError, match="giving up after 2 attempts"):
        generate(url, requests_for(prompts(1)), max_retries=1)


def test_without_the_aiohttp_extra_the_httpx_transport_behaves_alike():
    faults = Faults(drop_after_finished={1: 2}, stall_after_first_chunk={2}, stall_s=120)
    state = ServerState(persona=PERSONAS["vllm-reasoning"], faults=faults)
    request = requests_for(prompts(1), n=5)[0]
    with serve(state) as url:
        completions, backend, _ = generate(url, [request], transport="httpx", idle_timeout=0.5)
    assert backend.transport == "httpx" and backend.broken_streams == 1 and backend.stalled_streams == 1
    samples = by_key(completions)
    assert sorted(samples) == [("p0", i) for i in range(5)]
    for (_, index), sample in samples.items():
        assert sample.reasoning == "".join(expected("vllm-reasoning", request, index).reasoning)
