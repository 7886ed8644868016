"""Hostile and broken servers, and odd option values: what a server sends is checked where it enters, what cannot be a
sample is retried (never stored, never a crash), odd counts are recorded as unknown with a word, and options that
cannot be honoured are refused in one line before any work. Each table row is one input a user met."""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import math
import time
from pathlib import Path

import pytest
from cli_calls import run_main as invoke
from conftest import GENERATIONS
from scripted_server import Reply, Script, chunk, serve, sse

from evalkit.backends import openai_api
from evalkit.backends.base import BackendError, Completion, Prompt, SampleRequest
from evalkit.backends.openai_api import OpenAIBackend
from evalkit.backends.sse import MAX_LINE_CHARS, StreamErrorEvent, sse_lines
from evalkit.config import BackendConfig, SamplingConfig

SAMPLING = SamplingConfig(n=1, max_tokens=64)
BOM = b"\xef\xbb\xbf"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(openai_api, "backoff_seconds", lambda attempt, rng=None: 0.0)


def generate(replies: list[Reply], n: int = 1, **config) -> tuple[list[Completion] | BaseException, list[str], Script]:
    """One request for n samples of one problem, as `evalkit run` makes it (probe, then generate), against a server
    answering with `replies`: the completions (or the error that ended the run), the notices, and the script."""
    script = Script(replies)
    notices: list[str] = []
    config.setdefault("max_retries", 1)
    with serve(script) as url:
        backend = OpenAIBackend(
            "m", BackendConfig(kind="openai", base_urls=(url,), **config), environ={}, on_notice=notices.append
        )
        request = SampleRequest(Prompt("p", ({"role": "user", "content": "Q"},), ""), 0, n, 7)

        async def main() -> list[Completion]:
            try:
                await backend.probe()
                return [c async for c in backend.generate([request], SamplingConfig(n=n, max_tokens=64))]
            finally:
                await backend.aclose()

        try:
            outcome: list[Completion] | BaseException = asyncio.run(main())
        except BackendError as error:
            outcome = error
    return outcome, notices, script


def with_usage(usage: object, *events: dict) -> tuple[bytes, ...]:
    return sse(*(events or (chunk(0, "hi", "stop"),)), {"choices": [], "usage": usage})


# -- counts: dropped (recorded as unknown) with one notice -----------------------------------------------------------

OK_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "completion_tokens_details": {"reasoning_tokens": 3}}


@pytest.mark.parametrize(
    ("usage", "prompt_tokens", "output_tokens", "reasoning_tokens", "named"),
    [
        (OK_USAGE, 12, 5, 3, None),
        ({**OK_USAGE, "prompt_tokens": -100}, None, 5, 3, "usage.prompt_tokens -100"),
        ({**OK_USAGE, "completion_tokens": 10**30}, 12, 1, 3, f"usage.completion_tokens {10**30}"),  # an estimate
        ({**OK_USAGE, "prompt_tokens": "12"}, None, 5, 3, "usage.prompt_tokens '12'"),
        ({**OK_USAGE, "completion_tokens": "5"}, 12, 1, 3, "usage.completion_tokens '5'"),
        ({**OK_USAGE, "prompt_tokens": 12.0}, None, 5, 3, "usage.prompt_tokens 12.0"),
        ({**OK_USAGE, "completion_tokens": 2.5}, 12, 1, 3, "usage.completion_tokens 2.5"),
        ({**OK_USAGE, "prompt_tokens": True}, None, 5, 3, "usage.prompt_tokens True"),
        ({**OK_USAGE, "completion_tokens_details": {"reasoning_tokens": -1}}, 12, 5, None,
         "usage.completion_tokens_details.reasoning_tokens -1"),
        ({**OK_USAGE, "prompt_tokens": 10**9}, 10**9, 5, 3, None),  # the largest count still taken
        ({**OK_USAGE, "prompt_tokens": 10**9 + 1}, None, 5, 3, "usage.prompt_tokens 1000000001"),
        ("lots", None, 1, None, "usage 'lots'"),
    ],
)  # fmt: skip
def test_token_counts_that_are_no_counts_are_recorded_as_unknown_with_one_notice(
    usage, prompt_tokens, output_tokens, reasoning_tokens, named
):
    (completion,), notices, script = generate([Reply(with_usage(usage))] * 2)
    assert completion.text == "hi" and script.requests == 1  # the sample is good: not retried
    assert (completion.prompt_tokens, completion.output_tokens, completion.reasoning_tokens) == (
        prompt_tokens, output_tokens, reasoning_tokens
    )  # fmt: skip
    if named is None:
        assert notices == []
    else:
        (notice,) = notices
        assert f"reported {named}, which is not a token count" in notice and "recorded as unknown" in notice


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("token_ids", 5, "token_ids 5"),
        ("token_ids", "abc", "token_ids 'abc'"),
        ("prompt_token_ids", {"n": 3}, "prompt_token_ids {'n': 3}"),
    ],
)
def test_token_id_lists_that_are_no_lists_are_dropped_with_one_notice(field, value, named):
    (completion,), notices, _ = generate([Reply(sse(chunk(0, "hi", "stop", **{field: value})))])
    assert completion.text == "hi" and completion.output_tokens == 1 and not completion.tokens_exact
    (notice,) = notices
    assert f"reported {named}, which is not a token count" in notice


@pytest.mark.parametrize(
    ("usage", "prompt_tokens", "output_tokens", "named"),
    [
        ({"prompt_tokens": "12", "completion_tokens": 5}, None, 5, "usage.prompt_tokens '12'"),
        ({"prompt_tokens": 12, "completion_tokens": -5}, 12, None, "usage.completion_tokens -5"),
        ({"prompt_tokens": 12, "completion_tokens": 1e30}, 12, None, "usage.completion_tokens 1e+30"),
    ],
)
def test_a_whole_responses_counts_are_checked_the_same_way(usage, prompt_tokens, output_tokens, named):
    body = json.dumps({"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
                       "usage": usage}).encode()  # fmt: skip
    (completion,), notices, _ = generate([Reply((body,), content_type="application/json", length=True)], stream=False)
    assert (completion.text, completion.prompt_tokens, completion.output_tokens) == ("hi", prompt_tokens, output_tokens)
    (notice,) = notices
    assert f"reported {named}, which is not a token count" in notice


def test_bad_counts_are_told_once_per_server_not_once_per_request():
    usage = {"prompt_tokens": -1, "completion_tokens": 3}
    completions, notices, script = generate([Reply(with_usage(usage))], n=3, vllm_extensions=False)
    assert len(completions) == 3 and script.requests == 3 and len(notices) == 1


def test_a_run_given_bad_counts_stores_samples_its_own_reader_reads(tmp_path):
    # The defect: prompt_tokens -100 was stored, and the run's own reader refused the file forever as damaged.
    from evalkit.pipeline.run import record_of
    from evalkit.store import RunWriter, read_run

    (completion,), _, _ = generate([Reply(with_usage({"prompt_tokens": -100, "completion_tokens": 10**30}))])
    writer = RunWriter(tmp_path)
    writer.open()
    writer.append_sample(record_of(completion))
    writer.close()
    (stored,) = read_run(tmp_path).samples
    assert stored.prompt_tokens is None and stored.output_tokens == 1 and stored.tokens_exact is False


# -- choices that cannot be a sample: a malformed event, retried, never stored --------------------------------------


@pytest.mark.parametrize(
    ("choice", "reason"),
    [
        ({"index": -1, "delta": {"content": "hi"}, "finish_reason": "stop"}, "index -1"),
        ({"index": "0", "delta": {"content": "hi"}, "finish_reason": "stop"}, "index '0'"),
        ({"index": 0.0, "delta": {"content": "hi"}, "finish_reason": "stop"}, "index 0.0"),
        ({"index": True, "delta": {"content": "hi"}, "finish_reason": "stop"}, "index True"),
        ({"index": None, "delta": {"content": "hi"}, "finish_reason": "stop"}, "index None"),
        ({"index": 0, "delta": {"content": 5}, "finish_reason": "stop"}, "`content` is int 5, not text"),
        ({"index": 0, "delta": {"content": ["hi"]}, "finish_reason": "stop"}, "`content` is list ['hi'], not text"),
        ({"index": 0, "delta": {"reasoning_content": {"x": 1}}, "finish_reason": "stop"},
         "`reasoning_content` is dict {'x': 1}, not text"),
        ({"index": 0, "delta": {"reasoning": 5}, "finish_reason": "stop"}, "`reasoning` is int 5, not text"),
        ({"index": 0, "delta": {"content": "hi"}, "finish_reason": 5}, "`finish_reason` is int 5, not text"),
        ({"index": 0, "delta": {"content": "hi"}, "finish_reason": {}}, "`finish_reason` is dict {}, not text"),
        ({"index": 0, "delta": ["hi"], "finish_reason": "stop"}, "`delta` is list, not an object"),
    ],
)  # fmt: skip
def test_a_streamed_choice_that_cannot_be_a_sample_is_a_malformed_event_retried(choice, reason):
    good = Reply(sse(chunk(0, "fine", "stop")))
    event = {"object": "chat.completion.chunk", "choices": [choice]}
    (completion,), _, script = generate([Reply(sse(event)), good])
    assert completion.text == "fine" and completion.sample_index == 0 and script.requests == 2
    # A server that keeps sending it ends the run with one line naming what was wrong, never a crash.
    error, _, script = generate([Reply(sse(event))])
    assert isinstance(error, BackendError) and script.requests == 2
    assert "cannot be a sample" in str(error) and reason in str(error)


def test_choices_that_are_not_a_list_of_objects_are_malformed():
    for choices in ({"0": {"delta": {"content": "x"}}}, ["x"], 5):
        error, _, _ = generate([Reply(sse({"choices": choices}))])
        assert isinstance(error, BackendError) and "`choices` is not a list of objects" in str(error)


def test_an_index_beyond_those_asked_for_is_an_extra_choice_left_out_not_a_malformed_event():
    # A server that does not honour a small n sends more choices: exactly n are kept, as before.
    body = sse(chunk(1, "extra", "stop"), chunk(0, "asked", "stop"))
    (completion,), _, script = generate([Reply(body)])
    assert completion.text == "asked" and script.requests == 1


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"content": 5}, "`content` is int 5, not text"),
        ({"content": {"text": "hi"}}, "`content` is dict"),
        ({"content": "hi", "reasoning_content": 7}, "`reasoning_content` is int 7"),
    ],
)
def test_a_whole_response_whose_text_is_not_text_is_retried_not_stored_as_a_damaged_line(message, reason):
    # The defect: `"content": 5` was stored as the sample's text, and the run's own reader refused the file.
    def body(msg: dict) -> bytes:
        return json.dumps({"choices": [{"index": 0, "message": msg, "finish_reason": "stop"}]}).encode()

    replies = [Reply((body(message),), content_type="application/json", length=True),
               Reply((body({"content": "fine"}),), content_type="application/json", length=True)]  # fmt: skip
    (completion,), _, script = generate(replies, stream=False)
    assert completion.text == "fine" and script.requests == 2
    error, _, _ = generate(replies[:1], stream=False)
    assert isinstance(error, BackendError) and reason in str(error)


@pytest.mark.parametrize("index", [-1, "0", 1.5])
def test_a_whole_response_with_an_index_that_is_no_index_is_retried(index):
    bad = json.dumps({"choices": [{"index": index, "message": {"content": "x"}, "finish_reason": "stop"}]}).encode()
    error, _, script = generate([Reply((bad,), content_type="application/json", length=True)], stream=False)
    assert isinstance(error, BackendError) and "not a non-negative integer" in str(error) and script.requests == 2


# -- the bytes of the stream: BOMs, line ends, characters JSON leaves unescaped ---------------------------------------

HI = sse(chunk(0, "h"), chunk(0, "i", "stop"))


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ((BOM, *HI), "hi"),  # a byte-order mark before the first line: SSE says to ignore it
        ((BOM + HI[0], *HI[1:]), "hi"),
        ((BOM[:2], BOM[2:] + HI[0], *HI[1:]), "hi"),  # the mark split over two chunks
        (tuple(p.replace(b"\n", b"\r\n") for p in HI), "hi"),  # CRLF line ends
        (tuple(p.replace(b"\n", b"\r") for p in HI), "hi"),  # CR line ends
        ((HI[0].replace(b"\n", b"\r\n")[:-1], b"\n" + HI[1], *HI[2:]), "hi"),  # a CRLF split over two chunks
        (sse(chunk(0, "a\u2028b\u2029c\x85d\x1ce", "stop")), "a\u2028b\u2029c\x85d\x1ce"),  # not line ends in SSE
        ((lambda e: (e[:40], e[40:]))(sse(chunk(0, "é€", "stop"))[0]) + (b"data: [DONE]\n\n",), "é€"),
        ((b": keep-alive\n\n", *HI), "hi"),  # a comment first (DeepSeek)
        ((b"event: message\nid: 1\nretry: 10\n", *HI), "hi"),  # SSE's other fields
        ((b"".join(HI),), "hi"),  # the whole stream in one chunk
        (tuple(bytes([b]) for b in b"".join(HI)), "hi"),  # one byte per chunk
    ],
)
def test_stream_bytes_are_read_as_sse_says(body, text):
    (completion,), notices, script = generate([Reply(body)])
    assert completion.text == text and completion.finish_reason == "stop"
    assert script.requests == 1 and notices == []


@functools.cache
def longest_real_response() -> str:
    """The longest response in the published Qwen2.5-Math harness outputs in ../shared (167,446 characters)."""
    longest = ""
    for path in sorted((GENERATIONS / "published" / "qwen25-math-outputs").rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                for text in json.loads(line).get("code") or ():
                    if isinstance(text, str) and len(text) > len(longest):
                        longest = text
    return longest


@pytest.mark.parametrize("whole", [False, True], ids=["token by token", "one event"])
def test_the_longest_real_response_arrives_intact_whatever_the_chunks(whole):
    # Token-sized events written in odd-sized chunks (cut inside lines and inside characters), or the whole sample
    # as one event (a server that does not stream token by token): far below the line cap either way.
    text = longest_real_response()
    assert len(text) > 150_000
    pieces = [text] if whole else [text[i : i + 16] for i in range(0, len(text), 16)]
    stream = b"".join(sse(*(chunk(0, piece) for piece in pieces), chunk(0, None, "stop")))
    body = tuple(stream[i : i + 65521] for i in range(0, len(stream), 65521))
    (completion,), notices, script = generate([Reply(body)])
    assert completion.text == text and completion.finish_reason == "stop" and script.requests == 1
    assert completion.output_tokens == len(pieces) and notices == []


def test_a_stream_whose_lines_are_not_sse_is_reported_not_emptied_without_a_word():
    # NDJSON (no `data:`), or a mark that is not at the start: the lines are skipped, as SSE says, and said so.
    body = (json.dumps(chunk(0, "hi", "stop")).encode() + b"\n", b"data: [DONE]\n\n")
    error, notices, _ = generate([Reply(body)])
    assert isinstance(error, BackendError) and "none of the 1 asked for" in str(error)
    (notice,) = notices
    assert "sent stream lines that are neither `data:` events nor SSE comments or fields" in notice
    assert '(the first: \'{"object": "chat.completion.chunk"' in notice


def test_a_json_body_with_a_byte_order_mark_is_read():
    body = BOM + json.dumps({"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}]}).encode()
    (completion,), _, script = generate([Reply((body,), content_type="application/json", length=True)], stream=False)
    assert completion.text == "hi" and script.requests == 1


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([b"a\nb\n"], ["a", "b"]),
        ([b"a\r\nb\rc\n"], ["a", "b", "c"]),
        ([b"a\r", b"\nb\n"], ["a", "b"]),  # CRLF across chunks: one line end
        ([b"a\r", b"b\n"], ["a", "b"]),  # a lone CR, then the next line
        ([b"a\r"], ["a"]),  # a CR at the very end ends its line
        ([b"no end"], ["no end"]),  # a last line without its end is still handed over
        ([BOM + b"x\n", BOM + b"y\n"], ["x", "\ufeffy"]),  # only the first mark is the stream's
        ([b"\xe2\x80", b"\xa8\n"], ["\u2028"]),  # a character split over chunks
        ([b"\xff\n"], ["\ufffd"]),  # bytes that are not UTF-8 become replacement characters
        ([b"a\n\nb"], ["a", "", "b"]),
    ],
)
def test_sse_lines_split_only_at_line_ends_sse_knows(chunks, lines):
    async def read() -> list[str]:
        async def source():
            for piece in chunks:
                yield piece

        return [line async for line in sse_lines(source())]

    assert asyncio.run(read()) == lines


@pytest.mark.parametrize(
    "chunks",
    [
        [b"x" * 11 + b"\n"],  # a whole line past the cap
        [b"x" * 6, b"x" * 6],  # an unfinished one, in pieces
        [b"ok\n", b"x" * 8, b"x" * 3, b"\n"],
    ],
)
def test_a_line_past_the_cap_is_refused_before_it_is_all_held(chunks):
    async def read() -> None:
        async def source():
            for piece in chunks:
                yield piece

        async for _ in sse_lines(source(), max_line=10):
            pass

    with pytest.raises(StreamErrorEvent, match="a line of more than 10 characters"):
        asyncio.run(read())


def test_a_line_of_the_cap_exactly_is_read():
    async def read() -> list[str]:
        async def source():
            yield b"x" * 5
            yield b"x" * 5 + b"\n"

        return [line async for line in sse_lines(source(), max_line=10)]

    assert asyncio.run(read()) == ["x" * 10]


def test_a_server_sending_a_line_without_end_is_cut_at_the_cap_and_retried():
    # The defect: 200 MB without a newline was held in memory until --request-timeout (an hour by default).
    endless = (b"data: {" + b"x" * (1 << 20),) * (MAX_LINE_CHARS // (1 << 20) + 2)
    start = time.monotonic()
    error, _, script = generate([Reply(endless)], request_timeout=600)
    assert isinstance(error, BackendError) and f"a line of more than {MAX_LINE_CHARS:,} characters" in str(error)
    assert script.requests == 2 and time.monotonic() - start < 60  # not the 600 s of the request's cap


# -- silence: the idle clock ---------------------------------------------------------------------------------------


def whole(text: str) -> bytes:
    return json.dumps({"choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop"}]}).encode()


@pytest.mark.parametrize("stream", [False, True])  # True: a server that answers a streamed request with JSON
def test_a_json_body_stalled_after_its_headers_is_retried_within_the_idle_timeout(stream):
    # The defect: only --request-timeout (an hour) bounded it. A server sends a JSON body's headers when the body
    # is ready, so the idle clock starts at them.
    stalled = Reply((whole("late")[:10], 30.0, whole("late")[10:]), content_type="application/json", length=True)
    good = Reply((whole("fine"),), content_type="application/json", length=True)
    start = time.monotonic()
    (completion,), _, script = generate([stalled, good], stream=stream, idle_timeout=0.5, request_timeout=60)
    assert completion.text == "fine" and script.requests == 2
    assert time.monotonic() - start < 20  # the idle timeout, not the 30 s stall or the 60 s cap


def test_a_json_body_that_keeps_arriving_slowly_is_not_stalled():
    body = whole("slow but alive")
    pieces = tuple(x for i in range(0, len(body), 8) for x in (body[i : i + 8], 0.1))
    (completion,), _, script = generate([Reply(pieces, content_type="application/json", length=True)], stream=False,
                                        idle_timeout=0.8)  # fmt: skip
    assert completion.text == "slow but alive" and script.requests == 1  # ~1 s in all, never 0.8 s silent


def test_a_queued_stream_is_not_stalled_before_its_first_bytes():
    # vLLM sends a stream's headers at once and its first event when the request is scheduled.
    (completion,), _, script = generate([Reply((1.5, *HI))], idle_timeout=0.4)
    assert completion.text == "hi" and script.requests == 1


@pytest.mark.parametrize("comment", [b": keep-alive\n\n", b": OPENROUTER PROCESSING\n\n", b":\n"])
def test_comments_alone_keep_a_stream_alive(comment):
    body = (HI[0], *(x for _ in range(15) for x in (0.1, comment)), *HI[1:])
    (completion,), _, script = generate([Reply(body)], idle_timeout=0.8)
    assert completion.text == "hi" and script.requests == 1  # 1.5 s of comments only, never 0.8 s silent


def test_a_partial_line_arriving_slowly_is_alive_and_a_silent_one_is_stalled():
    event = HI[0]
    trickled = tuple(x for b in event for x in (bytes([b]), 0.02))  # a byte every 20 ms: the server is sending
    (completion,), _, script = generate([Reply((*trickled, *HI[1:]))], idle_timeout=0.4)
    assert completion.text == "hi" and script.requests == 1
    silent = (event[:20], 30.0, event[20:], *HI[1:])  # half a line, then nothing
    start = time.monotonic()
    (completion,), _, script = generate([Reply(silent), Reply(HI)], idle_timeout=0.4)
    assert completion.text == "hi" and script.requests == 2 and time.monotonic() - start < 20


# -- the end of a stream -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        sse(chunk(0, "h"), chunk(0, "i")),  # the reason never comes (Gemini's OpenAI-compatible proxies)
        sse(chunk(0, "h", ""), chunk(0, "i", "")),  # "" on every chunk (Ollama once)
    ],
)
def test_done_without_a_finish_reason_stores_the_choice_with_its_reason_unknown(body):
    # The defect: retried until the run gave up. [DONE] says the server is done; the reason is not made up ("stop"
    # would hide a truncation), so it is stored unknown, with one notice.
    (completion,), notices, script = generate([Reply(body)])
    assert completion.text == "hi" and completion.finish_reason is None and script.requests == 1
    (notice,) = notices
    assert "ended a choice with [DONE] but no finish_reason" in notice and "cannot be told" in notice


def test_done_without_a_finish_reason_ends_every_choice_still_open_and_keeps_honest_truncations():
    body = sse(chunk(0, "a", "length"), chunk(1, "b"), chunk(2, "c", "stop"))
    completions, notices, script = generate([Reply(body)], n=3)
    reasons = {c.sample_index: (c.text, c.finish_reason) for c in completions}
    assert reasons == {0: ("a", "length"), 1: ("b", None), 2: ("c", "stop")} and script.requests == 1
    assert len(notices) == 1


def test_a_stream_cut_before_done_is_still_drawn_again():
    body = sse(chunk(0, "h"), done=False)
    (completion,), _, script = generate([Reply(body, close_early=True), Reply(HI)])
    assert completion.text == "hi" and completion.finish_reason == "stop" and script.requests == 2


# -- messages that say what happened -------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_refused_connection_is_called_refused_with_its_address_not_a_timeout(transport):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = OpenAIBackend("m", BackendConfig(kind="openai", base_urls=(f"http://127.0.0.1:{port}/v1",)), environ={},
                            transport=transport)  # fmt: skip

    async def probe_it() -> None:
        try:
            await backend.probe()
        finally:
            await backend.aclose()

    with pytest.raises(BackendError) as error:
        asyncio.run(probe_it())
    assert f"(connection refused: nothing listens at 127.0.0.1:{port})" in str(error.value)
    assert "timed out" not in str(error.value).lower()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://no-such-host.invalid:8000/v1", "unreachable: the host name 'no-such-host.invalid' does not resolve"),
    ],
)
def test_an_unresolvable_host_is_called_unreachable(url, said):
    backend = OpenAIBackend("m", BackendConfig(kind="openai", base_urls=(url,)), environ={})

    async def probe_it() -> None:
        try:
            await backend.probe()
        finally:
            await backend.aclose()

    with pytest.raises(BackendError, match=said):
        asyncio.run(probe_it())


# -- options and datasets: refused in one line before any work ----------------------------------------------------


def refused(argv: list[str], capsys, *fragments: str) -> str:
    code, _, err = invoke(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "a bug in evalkit" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def cli_env(monkeypatch, data_env, tmp_path):
    monkeypatch.delenv("EVALKIT_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


RUN = ["run", "fake-model", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--limit", "1", "-n", "1"]


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--api-param", "a=NaN"], ["--api-param a=NaN holds a number JSON cannot carry"]),
        (["--api-param", "a=1e999"], ["--api-param a=1e999 holds a number JSON cannot carry"]),
        (["--api-param", "a=-Infinity"], ["holds a number JSON cannot carry"]),
        (["--api-param", 'provider={"order": [NaN]}'], ["holds a number JSON cannot carry"]),
        (["--api-param", "a={"], ["--api-param a={ is not valid JSON", "quote the whole pair"]),
        (["--api-param", "a=[1, 2"], ["--api-param a=[1, 2 is not valid JSON"]),
        (["--api-param", 'a="high'], ["is not valid JSON (Unterminated string"]),
        (["--api-param", "provider={order: [1]}"], ["is not valid JSON"]),
        (["--engine-arg", "a=NaN"], ["--engine-arg a=NaN holds a number JSON cannot carry"]),
        (["--price-input", "inf", "--price-output", "1"], ["prices must be 0 or more", "and finite", "inf"]),
        (["--price-input", "1", "--price-output", "nan"], ["prices must be 0 or more", "nan"]),
        (["--price-input", "-1", "--price-output", "1"], ["prices must be 0 or more"]),
        (["--temperature", "5"], ["--temperature must be from 0 to 2", "got 5.0"]),
        (["--temperature", "2.01"], ["--temperature must be from 0 to 2"]),
        (["--temperature", "inf"], ["--temperature must be from 0 to 2"]),
        (["--temperature", "nan"], ["--temperature must be from 0 to 2"]),
        (["--temperature", "-0.1"], ["--temperature must be from 0 to 2"]),
    ],
)
def test_option_values_that_cannot_be_honoured_are_refused_in_one_line(cli_env, capsys, extra, fragments):
    refused([*RUN, *extra], capsys, *fragments)
    assert not (cli_env / "runs").exists()


@pytest.mark.parametrize(
    ("extra", "sent"),
    [
        (["--api-param", "reasoning_effort=high"], {"reasoning_effort": "high"}),  # a plain word is text
        (["--api-param", "top_k=20"], {"top_k": 20}),
        (["--api-param", 'provider={"order": ["a"]}'], {"provider": {"order": ["a"]}}),
        (["--api-param", "stop=1.2.3"], {"stop": "1.2.3"}),  # not JSON, and not shaped like it: text
        (["--temperature", "2"], {"temperature": 2.0}),
        (["--price-input", "0", "--price-output", "0"], {}),
    ],
)
def test_option_values_that_can_be_honoured_are_taken(cli_env, capsys, extra, sent):
    code, out, err = invoke([*RUN, *extra, "--dry-run"], capsys)
    assert code == 0, err
    first = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert {k: first[k] for k in sent} == sent


def dataset_file(folder: Path, rows: list[object]) -> Path:
    path = folder / "mine.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


GOOD_ROW = {"id": "a", "problem": "What is 2+2?", "answer": "4"}


@pytest.mark.parametrize(
    ("row", "fragments"),
    [
        ({**GOOD_ROW, "problem": 5}, ["mine.jsonl: line 3: `problem` is a number (5), not text"]),
        ({**GOOD_ROW, "problem": ["a", "b"]}, ["line 3: `problem` is a list ([\"a\", \"b\"]), not text"]),
        ({**GOOD_ROW, "answer": [1, 2]}, ["line 3: `answer` is a list ([1, 2]), not text or an integer"]),
        ({**GOOD_ROW, "answer": {"value": 4}}, ["line 3: `answer` is an object"]),
        ({**GOOD_ROW, "answer": True}, ["line 3: `answer` is a boolean (true)"]),
        ({**GOOD_ROW, "answer": 1.5}, ["line 3: `answer` is a number (1.5), not text or an integer"]),
        ({**GOOD_ROW, "id": [1]}, ["line 3: `id` is a list ([1]), not text or an integer"]),
        ({**GOOD_ROW, "id": 1.0}, ["line 3: `id` is a number (1.0)"]),
    ],
)  # fmt: skip
def test_dataset_rows_with_fields_that_are_not_text_are_refused_naming_file_line_and_field(
    cli_env, capsys, row, fragments
):
    path = dataset_file(cli_env, [{**GOOD_ROW, "id": "first"}, "", row])
    line = refused([*RUN, "--dataset", str(path), "--dry-run"], capsys, *fragments)
    assert str(path) in line and "write it as a JSON string" in line


def test_a_numeric_answer_or_id_is_taken_as_its_text(cli_env):
    from evalkit.data import datasets as ds

    path = dataset_file(cli_env, [{"id": 7, "problem": "What is 6*7?", "answer": 42}])
    (problem,) = ds.load(str(path), ds.DataLocations.from_env()).problems
    assert (problem.id, problem.answer) == ("7", "42")


def test_a_dataset_folder_is_called_a_folder(cli_env, capsys):
    folder = cli_env / "data"
    folder.mkdir()
    dataset_file(folder, [GOOD_ROW])
    refused([*RUN, "--dataset", str(folder)], capsys, f"--dataset {folder} is a folder (it holds mine.jsonl)",
            "give a dataset .jsonl file")  # fmt: skip
    refused([*RUN, "--dataset", "data"], capsys, "--dataset data is a folder")  # no slash: not taken for a name


def test_a_one_problem_run_prints_no_nan_and_says_why_there_is_no_interval(cli_env, capsys):
    from fake_openai_server import ServerState
    from fake_openai_server import serve as serve_fake

    with serve_fake(ServerState()) as url:
        code, out, err = invoke(["run", "fake-model", "--backend", "openai", "--base-url", url, "--limit", "1",
                                 "-n", "2", "--max-tokens", "64"], capsys)  # fmt: skip
    assert code == 0, err
    assert "nan" not in out.lower() and "one problem: no standard error or interval" in out
    (results,) = (cli_env / "runs").glob("*/results.json")
    metrics = json.loads(results.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in results.json"))
    assert metrics["metrics"]["avg_se"] is None and math.isfinite(metrics["metrics"]["avg"])
