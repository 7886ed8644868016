"""The raw stream reader's edges (evalkit/backends/sse.py): what a server's error event and a broken event say, and
the idle clock as it runs, re-arms, chooses its message and hands the task back its cancellation."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from evalkit.backends.sse import StreamErrorEvent, StreamStalled, Watchdog, sse_events, sse_lines


async def _lines(lines, pauses: dict[int, float] | None = None, every: float = 0.0):
    """The lines as the bytes a server sends, one chunk each."""
    for number, line in enumerate(lines):
        if pauses and number in pauses:
            await asyncio.sleep(pauses[number])
        elif every:
            await asyncio.sleep(every)
        yield (line + "\n").encode()


def read(lines, watchdog_args: tuple | None = None, **timing) -> tuple[list[dict], BaseException | None, float]:
    """Events read, the error that ended the stream (a stall as StreamStalled), and the seconds it took."""

    async def collect():
        watchdog = Watchdog(*watchdog_args) if watchdog_args else None
        got: list[dict] = []
        try:
            async for event in sse_events(sse_lines(_lines(lines, **timing), watchdog)):
                got.append(event)
        except asyncio.CancelledError as cancelled:
            assert watchdog is not None
            stalled = watchdog.absorb(cancelled)
            assert asyncio.current_task().cancelling() == 0  # the task's cancellation was handed back
            return got, stalled
        except Exception as error:  # noqa: BLE001 (the test inspects it)
            return got, error
        finally:
            if watchdog is not None:
                watchdog.stop()
        return got, None

    start = time.monotonic()
    got, error = asyncio.run(collect())
    return got, error, time.monotonic() - start


def data(event) -> list[str]:
    return [f"data: {json.dumps(event)}", ""]


@pytest.mark.parametrize(
    ("error", "message", "status"),
    [
        ({"message": "engine died", "code": 500}, "engine died", 500),
        ({"message": "slow down", "code": "rate_limited"}, "slow down", None),  # a code that is not a status
        ({"code": 503}, "{'code': 503}", 503),  # no message: the error as it came
        ({"message": "m" * 400, "code": 400}, "m" * 300, 400),  # long messages are cut to 300 characters
        ("provider returned error " * 20, ("provider returned error " * 20)[:300], None),
    ],
)
def test_an_error_event_says_what_the_server_said(error, message, status):
    got, raised, _ = read([*data({"id": 1, "choices": []}), *data({"error": error})])
    assert got == [{"id": 1, "choices": []}]
    assert isinstance(raised, StreamErrorEvent) and str(raised) == message and raised.status == status


def test_an_error_event_written_over_several_lines_is_read_the_same():
    _, raised, _ = read(["data: {", 'data: "error": {"message": "boom", "code": 502}}', ""])
    assert isinstance(raised, StreamErrorEvent) and str(raised) == "boom" and raised.status == 502


def test_an_event_with_choices_and_an_error_field_is_an_event():
    event = {"choices": [{"index": 0, "delta": {"content": "x"}}], "error": None}
    got, raised, _ = read([*data(event), "data: [DONE]", ""])
    assert got == [event] and raised is None


LONG_ARRAY = "[" + "1, " * 100 + "1]"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", "the server sent an event that is not JSON: 'not json'"),
        ("x" * 200, f"the server sent an event that is not JSON: {'x' * 120!r}"),
        ("[1, 2]", "the server sent an event that is not a JSON object: '[1, 2]'"),
        (LONG_ARRAY, f"the server sent an event that is not a JSON object: {LONG_ARRAY[:120]!r}"),
    ],
)
def test_an_event_that_is_not_a_json_object_is_named(payload, message):
    _, raised, _ = read([f"data: {payload}", ""])
    assert isinstance(raised, StreamErrorEvent) and str(raised) == message


def test_a_stall_right_after_the_first_line_is_caught_at_the_idle_timeout():
    # The idle clock starts at the first line: a stream that sends one line and then nothing is stalled after the
    # idle timeout, not only at the total cap.
    got, raised, took = read([*data({"n": 1}), *data({"n": 2}), "data: [DONE]", ""], (0.2, 20.0), pauses={1: 5.0})
    assert got == [{"n": 1}] and isinstance(raised, StreamStalled)
    assert str(raised) == "the server sent nothing for 0.2 s (--idle-timeout)" and took < 3.0


def test_the_clock_re_arms_itself_and_still_catches_a_later_stall():
    # Lines every 50 ms keep a 0.3 s idle timeout satisfied (the timer fires early and re-arms); then a long pause.
    lines = [line for n in range(12) for line in data({"n": n})] + ["data: [DONE]", ""]
    got, raised, took = read(lines, (0.3, 20.0), pauses={20: 5.0}, every=0.05)
    assert len(got) == 10 and isinstance(raised, StreamStalled) and "sent nothing for 0.3 s" in str(raised)
    assert took < 4.0


@pytest.mark.parametrize("comment", [": keep-alive", ":", ": OPENROUTER PROCESSING"])
def test_comment_lines_alone_restart_the_idle_clock(comment):
    # Nothing but comments for 1.5 s, one every 0.1 s, with a 0.8 s idle timeout: a server that says it is alive is.
    lines = [*data({"n": 1}), *[comment] * 15, *data({"n": 2}), "data: [DONE]", ""]
    got, raised, _ = read(lines, (0.8, 20.0), every=0.1)
    assert got == [{"n": 1}, {"n": 2}] and raised is None
    # The same silence without the comments is a stall.
    got, raised, _ = read([*data({"n": 1}), *data({"n": 2}), "data: [DONE]", ""], (0.8, 20.0), pauses={2: 1.5})
    assert got == [{"n": 1}] and isinstance(raised, StreamStalled)


def test_the_idle_clock_measures_the_servers_silence_not_the_clients_own_work():
    # A client starved of CPU (or busy with what came) for longer than the idle timeout, then a server that answers
    # 0.1 s after the client is back to waiting: not a stall.
    async def chunks():
        yield b'data: {"n": 1}\n\n'
        await asyncio.sleep(0.1)
        yield b'data: {"n": 2}\n\ndata: [DONE]\n\n'

    async def collect() -> list[dict]:
        watchdog = Watchdog(0.3, 20.0)
        got: list[dict] = []
        try:
            async for event in sse_events(sse_lines(chunks(), watchdog)):
                got.append(event)
                if len(got) == 1:
                    time.sleep(0.5)  # blocks the loop, as a starved process does
        finally:
            watchdog.stop()
        return got

    assert asyncio.run(collect()) == [{"n": 1}, {"n": 2}]


def test_lines_that_keep_coming_past_the_total_cap_are_cut_by_the_cap():
    lines = [line for n in range(100) for line in data({"n": n})] + ["data: [DONE]", ""]
    got, raised, took = read(lines, (1.0, 0.5), every=0.05)
    assert isinstance(raised, StreamStalled) and str(raised) == "the request ran past 0.5 s (--request-timeout)"
    assert 0 < len(got) < 100 and took < 3.0


def test_without_an_idle_timeout_only_the_total_cap_counts():
    got, raised, _ = read([*data({"n": 1}), *data({"n": 2}), "data: [DONE]", ""], (None, 20.0), pauses={2: 0.3})
    assert got == [{"n": 1}, {"n": 2}] and raised is None
    got, raised, took = read([*data({"n": 1}), "data: [DONE]", ""], (None, 0.3), pauses={1: 5.0})
    assert got == [{"n": 1}] and str(raised) == "the request ran past 0.3 s (--request-timeout)" and took < 3.0


def test_a_stall_and_another_cancellation_together_stay_a_cancellation():
    async def main():
        async def reader():
            watchdog = Watchdog(None, 0.05)
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError as cancelled:
                asyncio.current_task().cancel()  # someone else cancels the task too
                raise watchdog.absorb(cancelled) from None
            finally:
                watchdog.stop()

        task = asyncio.create_task(reader())
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_data_lines_with_or_without_the_space_and_without_blank_lines_between_events():
    # Servers differ: `data: {...}` or `data:{...}`, and some send no blank line between events.
    got, raised, _ = read(['data:{"a": 1}', 'data: {"b": 2}', 'data:{"c": 3}', "data: [DONE]"])
    assert got == [{"a": 1}, {"b": 2}, {"c": 3}] and raised is None


def test_a_multi_line_event_whose_first_line_ends_in_a_brace_is_joined():
    got, raised, _ = read(['data: {"a": {"b": 1}', "data: }", "", "data: [DONE]", ""])
    assert got == [{"a": {"b": 1}}] and raised is None


def test_a_multi_line_event_with_choices_and_an_error_field_is_an_event():
    got, raised, _ = read(["data: {", 'data: "choices": [{"index": 0}], "error": null}', "", "data: [DONE]", ""])
    assert got == [{"choices": [{"index": 0}], "error": None}] and raised is None


@pytest.mark.parametrize(
    "lines",
    [
        [*data({"a": 1})],  # closed after a whole event
        [*data({"a": 1}), 'data: {"b":'],  # closed in the middle of an event
        [],  # closed before anything
    ],
)
def test_a_stream_closed_before_done_is_incomplete(lines):
    _, raised, _ = read(lines)
    assert type(raised).__name__ == "StreamEnded"
    assert str(raised) == "the connection closed before the stream was complete"
