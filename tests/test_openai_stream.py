"""The openai backend's parts, each on its own: SSE reading, idle clock, choice assembly, Retry-After, dialects.

Events and error bodies are written the way vLLM, DeepSeek, OpenRouter and OpenAI send them.
"""

from __future__ import annotations

import asyncio
import email.utils
import json

import pytest

from evalkit.backends.base import Prompt
from evalkit.backends.choices import StreamAssembler, response_choices
from evalkit.backends.dialect import Dialect, SamplingRejected, Unadaptable, read_rejection
from evalkit.backends.retry import RETRY_AFTER_CAP_S, retry_after
from evalkit.backends.sse import StreamEnded, StreamErrorEvent, StreamStalled, Watchdog, sse_events, sse_lines
from evalkit.config import SamplingConfig


async def _lines(lines, pause_after: int | None = None, pause_s: float = 0.0):
    """The lines as the bytes a server sends, one chunk each."""
    for number, line in enumerate(lines):
        if pause_after is not None and number == pause_after:
            await asyncio.sleep(pause_s)
        yield (line + "\n").encode()


def _events(lines, **pause) -> list[dict]:
    async def collect():
        return [event async for event in sse_events(sse_lines(_lines(lines, **pause)))]

    return asyncio.run(collect())


def _data(event: dict) -> list[str]:
    return [f"data: {json.dumps(event)}", ""]


# -- SSE -----------------------------------------------------------------------------------------------------------


def test_sse_reads_data_events_skips_comments_and_stops_at_done():
    lines = [
        ": OPENROUTER PROCESSING",
        "",
        *_data({"a": 1}),
        "event: ping",
        "id: 7",
        *_data({"b": 2}),
        "data: [DONE]",
        "",
    ]
    assert _events(lines) == [{"a": 1}, {"b": 2}]


def test_sse_joins_an_event_written_over_several_data_lines():
    assert _events(['data: {"a":', "data: 1}", "", "data: [DONE]", ""]) == [{"a": 1}]


@pytest.mark.parametrize(
    "lines, error",
    [
        ([*_data({"choices": []})], StreamEnded),  # the connection closed before [DONE]
        ([*_data({"error": {"message": "engine died", "code": 500}})], StreamErrorEvent),  # vLLM's mid-stream error
        (["data: not json", ""], StreamErrorEvent),
    ],
)
def test_sse_raises_for_a_cut_or_failed_stream(lines, error):
    with pytest.raises(error):
        _events(lines)


def test_sse_done_without_a_trailing_blank_line_is_a_complete_stream():
    assert _events([*_data({"x": 1}), "data: [DONE]"]) == [{"x": 1}]


# -- the idle clock ------------------------------------------------------------------------------------------------


def _watched(lines, idle: float, total: float, **pause) -> tuple[list[dict] | None, str | None]:
    async def collect():
        watchdog = Watchdog(idle, total)
        got: list[dict] = []
        try:
            async for event in sse_events(sse_lines(_lines(lines, **pause), watchdog)):
                got.append(event)
        except asyncio.CancelledError as cancelled:
            return got, str(watchdog.absorb(cancelled))
        finally:
            watchdog.stop()
        return got, None

    return asyncio.run(collect())


def test_a_stream_idle_past_the_idle_timeout_is_abandoned():
    lines = [*_data({"n": 1}), *_data({"n": 2}), "data: [DONE]", ""]
    got, stalled = _watched(lines, idle=0.2, total=30, pause_after=2, pause_s=5)
    assert got == [{"n": 1}] and "sent nothing for 0.2 s" in stalled


def test_the_idle_clock_starts_at_the_first_line_not_before_it():
    # A queued request sends nothing for longer than the idle timeout: it is not stalled.
    lines = [*_data({"n": 1}), "data: [DONE]", ""]
    got, stalled = _watched(lines, idle=0.2, total=30, pause_after=0, pause_s=0.6)
    assert got == [{"n": 1}] and stalled is None


def test_the_total_cap_bounds_the_wait_for_the_first_line():
    got, stalled = _watched([*_data({"n": 1})], idle=0.2, total=0.3, pause_after=0, pause_s=5)
    assert got == [] and "ran past 0.3 s" in stalled


def test_keep_alive_comments_keep_a_stream_alive():
    lines = [*_data({"n": 1})] + [": keep-alive", ""] * 6 + ["data: [DONE]", ""]

    async def slow_lines():
        for line in lines:
            await asyncio.sleep(0.05)
            yield (line + "\n").encode()

    async def collect():
        watchdog = Watchdog(0.15, 30)
        try:
            return [event async for event in sse_events(sse_lines(slow_lines(), watchdog))]
        finally:
            watchdog.stop()

    assert asyncio.run(collect()) == [{"n": 1}]


def test_a_cancellation_from_outside_is_not_taken_for_a_stall():
    async def main():
        async def reader():
            watchdog = Watchdog(10, 10)
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError as cancelled:
                raise watchdog.absorb(cancelled) from None
            finally:
                watchdog.stop()

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert issubclass(StreamStalled, Exception)


# -- assembling choices --------------------------------------------------------------------------------------------


def _chunk(index, finish=None, **delta):
    return {"model": "m", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_is_kept_beside_the_answer(field):
    assembler = StreamAssembler(chat=True, asked=1)
    events = [
        _chunk(0, role="assistant", content=""), _chunk(0, **{field: "Let me "}), _chunk(0, **{field: "think."}),
        _chunk(0, content="The answer is "), _chunk(0, content="$\\boxed{7}$"), _chunk(0, finish="stop"),
    ]  # fmt: skip
    for event in events:
        assert assembler.feed(event) == []  # one sample asked: held for the usage chunk
    usage = {"prompt_tokens": 12, "completion_tokens": 40, "completion_tokens_details": {"reasoning_tokens": 31}}
    assembler.feed({"choices": [], "usage": usage})
    (choice,) = assembler.release()
    assert choice.text == "The answer is $\\boxed{7}$" and choice.reasoning == "Let me think."
    assert (choice.output_tokens, choice.reasoning_tokens, choice.prompt_tokens, choice.tokens_exact) == (
        40,
        31,
        12,
        True,
    )


def test_a_sample_cut_off_while_thinking_has_no_answer_text_and_keeps_its_thinking():
    assembler = StreamAssembler(chat=True, asked=1)
    assembler.feed(_chunk(0, reasoning_content="Suppose x = 3, then"))
    assembler.feed(_chunk(0, content=None, finish="length"))
    assembler.feed({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 30000}})
    (choice,) = assembler.release()
    assert choice.text == "" and choice.reasoning == "Suppose x = 3, then" and choice.finish_reason == "length"
    assert choice.output_tokens == 30000


def test_a_server_sending_both_names_is_not_counted_twice():
    assembler = StreamAssembler(chat=True, asked=1)
    assembler.feed(_chunk(0, reasoning_content="same", reasoning="same"))
    assembler.feed(_chunk(0, finish="stop"))
    assert assembler.release()[0].reasoning == "same"


def test_choices_of_a_multi_sample_stream_are_handed_over_as_each_finishes_with_vllm_token_ids():
    assembler = StreamAssembler(chat=True, asked=3)
    assembler.feed({"prompt_token_ids": [1, 2, 3, 4], "choices": []})
    for index in range(3):
        assembler.feed({"choices": [{"index": index, "delta": {"content": f"s{index} "}, "token_ids": [9, 9]}]})
    assert [c.index for c in assembler.feed(_chunk(1, finish="stop"))] == [1]
    assert assembler.unfinished == [0, 2]
    finished = assembler.feed(_chunk(0, finish="length"))
    assert finished[0].output_tokens == 2 and finished[0].tokens_exact and finished[0].prompt_tokens == 4
    assembler.feed({"choices": [{"index": 2, "delta": {}, "finish_reason": "abort"}]})  # vLLM aborted it
    assert assembler.unfinished == [] and assembler.failed == {2: "abort"}


def test_completions_api_streams_text_and_non_streamed_bodies_are_read_alike():
    assembler = StreamAssembler(chat=False, asked=2)
    assembler.feed({"choices": [{"index": 0, "text": "4", "finish_reason": None}]})
    (choice,) = assembler.feed({"choices": [{"index": 0, "text": "2", "finish_reason": "stop"}]})
    assert choice.text == "42" and not choice.tokens_exact  # an estimate: one token per event
    body = {
        "model": "deepseek-reasoner",
        "choices": [{"index": 0, "finish_reason": "length",
                     "message": {"role": "assistant", "content": None, "reasoning_content": "Hmm"}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 100, "completion_tokens_details": {"reasoning_tokens": 100}},
    }  # fmt: skip
    (read,), failed = response_choices(body, chat=True)
    assert (read.text, read.reasoning, read.output_tokens, read.reasoning_tokens, failed) == ("", "Hmm", 100, 100, [])


# -- Retry-After ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, seconds, capped",
    [
        ({"retry-after": "3"}, 3.0, False),
        ({"retry-after": "0.25"}, 0.25, False),
        ({"retry-after-ms": "1500"}, 1.5, False),
        ({"retry-after": "100000"}, RETRY_AFTER_CAP_S, True),
        ({"retry-after": "soon"}, None, False),  # neither a number nor a date: ignored, never a crash
        ({"retry-after": "Tue, 99 Foo 2024"}, None, False),
        ({"retry-after": "nan"}, None, False),
        ({}, None, False),
    ],
)
def test_retry_after_is_honoured_up_to_a_cap_and_ignored_when_unreadable(headers, seconds, capped):
    wait = retry_after(headers)
    assert (wait.seconds if wait else None) == seconds
    assert (wait.capped if wait else False) == capped


def test_retry_after_as_an_http_date():
    now = 1_700_000_000.0
    wait = retry_after({"retry-after": email.utils.formatdate(now + 30, usegmt=True)}, now=now)
    assert wait is not None and abs(wait.seconds - 30) < 1.01


# -- dialects ------------------------------------------------------------------------------------------------------

SAMPLING = SamplingConfig(n=4, temperature=0.6, top_p=0.95, max_tokens=1000, seed=0)
R1_PROMPT = Prompt("p", ({"role": "user", "content": "What is 6 x 7?"},), "<think>\n")


def _body(dialect: Dialect, sampling: SamplingConfig = SAMPLING, params=None) -> dict:
    return dialect.body("m", R1_PROMPT, 4, 11, sampling, True, params or {})


def test_the_first_request_is_what_vllm_takes():
    body = _body(Dialect())
    assert body["messages"][-1] == {"role": "assistant", "content": "<think>\n"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert (body["n"], body["max_tokens"], body["seed"], body["return_token_ids"]) == (4, 1000, 11, True)
    assert body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    "message, param, code, learned",
    [
        ("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
         "max_tokens", "unsupported_parameter", "max_completion_tokens instead of max_tokens"),
        ("Unrecognized request argument supplied: return_token_ids", None, None, "no return_token_ids"),
        ("Unrecognized request arguments supplied: add_generation_prompt, continue_final_message", None, None,
         "no assistant prefill"),
        ("[{'loc': ('body', 'stream_options'), 'msg': 'Extra inputs are not permitted'}]", None, None,
         "no stream_options"),
    ],
)  # fmt: skip
def test_rejections_of_what_evalkit_can_do_without_adapt_the_dialect(message, param, code, learned):
    dialect = Dialect()
    sent = _body(dialect)
    notes = dialect.adapt(read_rejection(message, param, code, sent), sent, {})
    assert any(learned in note for note in notes)
    assert _body(dialect) != sent
    assert dialect.adapt(read_rejection(message, param, code, sent), sent, {}) == []  # learned once


def test_without_prefill_the_assistant_turn_is_not_sent_at_all():
    dialect = Dialect()
    sent = _body(dialect)
    dialect.adapt(read_rejection("Unrecognized request argument supplied: continue_final_message", None, None, sent),
                  sent, {})  # fmt: skip
    body = _body(dialect)
    assert [m["role"] for m in body["messages"]] == ["user"] and "continue_final_message" not in body


def test_a_rejected_temperature_is_never_adapted_away():
    dialect = Dialect(token_limit_field="max_completion_tokens")
    sent = _body(dialect)
    message = "Unsupported value: 'temperature' does not support 0.6 with this model. "
    message += "Only the default (1) value is supported."
    with pytest.raises(SamplingRejected, match="rerun with --temperature 1, the only value it allows"):
        dialect.adapt(read_rejection(message, "temperature", "unsupported_value", sent), sent, {})


def test_a_refused_temperature_parameter_is_left_out_only_when_1_was_asked():
    message = "Unsupported parameter: 'temperature' is not supported with this model."
    at_one = SamplingConfig(n=1, temperature=1.0, top_p=1.0, max_tokens=10)
    dialect = Dialect()
    sent = _body(dialect, at_one)
    assert dialect.adapt(read_rejection(message, "temperature", "unsupported_parameter", sent), sent, {})
    assert "temperature" not in _body(dialect, at_one)
    other = Dialect()
    sent = _body(other)
    with pytest.raises(SamplingRejected, match="takes no temperature at all"):
        other.adapt(read_rejection(message, "temperature", "unsupported_parameter", sent), sent, {})


def test_a_rejected_value_is_not_taken_for_a_rejected_parameter():
    # vLLM's context-length error names max_tokens, but no dialect fixes a value that is too large.
    message = "'max_tokens' or 'max_completion_tokens' is too large: 4096. This model's maximum context length is 2048"
    dialect = Dialect()
    sent = _body(dialect)
    with pytest.raises(Unadaptable):
        dialect.adapt(read_rejection(message, None, None, sent), sent, {})


def test_a_rejected_api_param_is_the_users_to_fix():
    dialect = Dialect()
    sent = _body(dialect, params={"top_k": 20})
    with pytest.raises(Unadaptable, match="--api-param top_k"):
        dialect.adapt(read_rejection("Unrecognized request argument supplied: top_k", None, None, sent), sent,
                      {"top_k": 20})  # fmt: skip


def test_hosted_dialect_sends_one_sample_per_request_and_no_vllm_extension():
    dialect = Dialect.for_server(vllm_extensions=False)
    body = dialect.body("m", R1_PROMPT, 1, 11, SAMPLING, True, {"reasoning_effort": "high"})
    assert "n" not in body and "return_token_ids" not in body and "continue_final_message" not in body
    assert body["messages"] == [{"role": "user", "content": "What is 6 x 7?"}]
    assert body["reasoning_effort"] == "high" and dialect.one_sample_per_request
