"""Reading a server-sent-event stream raw: bytes in, lines, JSON events out, with an idle clock and a total cap.

The openai SDK builds a pydantic object per event (~70 µs of CPU per streamed token); reading the lines and
parsing them with `json` costs a fraction of that, which matters when one client drains a cluster. Lines are
split here, not by httpx's `aiter_lines`: that splits at every character `str.splitlines` knows (U+2028, U+0085,
...), which JSON carries unescaped inside a string, so a model that wrote one broke its event in two.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

DONE = "[DONE]"
# The longest line (in characters) a stream may send. The largest legitimate event is a whole sample sent as one
# delta (a server that does not stream token by token) with vLLM's token ids: 131,072 tokens at ~4 characters of
# text and ~7 of ids each is ~1.5 M characters, and ~3 M if every character came JSON-escaped. 16 Mi is five
# times that, and 64 requests in flight then hold at most ~1 GiB of unfinished lines; a server past it is broken.
MAX_LINE_CHARS = 16 * 2**20
BOM = "\ufeff"
# SSE's fields other than a `data:` line with a value: skipped without a word; any other line is reported.
_SSE_FIELDS = ("data", "event", "id", "retry")


class StreamStalled(Exception):
    """The server sent nothing for longer than the idle timeout, or the request ran past its total cap."""


class StreamEnded(Exception):
    """The stream ended before the server said it was done (a dropped connection)."""


class StreamErrorEvent(Exception):
    """The server reported an error inside the stream (vLLM and OpenRouter do, after the 200 status), or sent an
    event that cannot be read (not JSON, a line past MAX_LINE_CHARS)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Watchdog:
    """Cancels the task it guards when the response goes idle or the whole request runs too long.

    The idle clock starts at the first `touch`: the first bytes of a streamed body (before them a busy server may
    hold the request in its queue, sending nothing, which is not a stall: vLLM sends its headers at once and its
    first event when the request is scheduled; that wait is bounded by the total cap alone), or the headers of a
    JSON body (a server sends those when the whole body is ready, so silence after them is a stall). Every chunk
    of bytes restarts the clock (once handled), a partial line or an SSE comment (`: keep-alive`) included: a slow
    server is still sending, a stalled one sends nothing; a line that never ends is bounded by MAX_LINE_CHARS in
    size and by the total cap in time. `touch()` costs one clock read, so it runs per chunk without a timer per chunk:
    the timer re-arms itself when it fires early.
    """

    def __init__(self, idle_s: float | None, total_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._idle = idle_s
        self._deadline = self._loop.time() + total_s
        self._total = total_s
        self.last_heard: float | None = None
        self.fired: str | None = None
        self._handle = self._loop.call_at(self._deadline, self._check)

    def touch(self) -> None:
        now = self._loop.time()
        if self.last_heard is None and self._idle is not None:
            self._handle.cancel()
            self._handle = self._loop.call_at(min(self._deadline, now + self._idle), self._check)
        self.last_heard = now

    def _check(self) -> None:
        now = self._loop.time()
        due = self._deadline
        if self._idle is not None and self.last_heard is not None:
            due = min(due, self.last_heard + self._idle)
        if now < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        idle = self._idle is not None and self.last_heard is not None and due < self._deadline
        self.fired = (
            f"the server sent nothing for {self._idle:g} s (--idle-timeout)"
            if idle
            else f"the request ran past {self._total:g} s (--request-timeout)"
        )
        if self._task is not None:
            self._task.cancel()

    def stop(self) -> None:
        self._handle.cancel()

    def absorb(self, error: asyncio.CancelledError) -> StreamStalled:
        """Turn the cancellation this watchdog caused into StreamStalled; re-raise any other cancellation."""
        if self.fired is None:
            raise error
        task = self._task
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+: keep the task's cancel count honest
        if uncancel is not None:
            uncancel()
            if task.cancelling():  # type: ignore[union-attr]
                raise error  # someone else cancelled too: that one wins
        return StreamStalled(self.fired)


async def sse_lines(
    chunks: AsyncIterator[bytes], watchdog: Watchdog | None = None, max_line: int = MAX_LINE_CHARS
) -> AsyncIterator[str]:
    """The lines of a UTF-8 event stream, split only where SSE splits them (CRLF, LF or CR), without a leading
    byte-order mark (SSE says to ignore one). Each chunk that arrives touches the watchdog once its lines are
    handled; a line longer than `max_line` characters raises StreamErrorEvent."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parts: list[str] = []  # the unfinished line, in pieces: joining a long line per chunk would be quadratic
    size = 0
    carry_cr = False
    started = False
    async for chunk in chunks:
        text = decoder.decode(chunk)
        if not started and text:
            started = True
            text = text.removeprefix(BOM)
        if carry_cr:
            text = "\r" + text
            carry_cr = False
        if "\r" in text:
            if text.endswith("\r"):  # perhaps the first half of a CRLF: wait for the next chunk
                text, carry_cr = text[:-1], True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        pieces = text.split("\n")
        if len(pieces) > 1:
            if parts:
                parts.append(pieces[0])
                pieces[0] = "".join(parts)
                parts, size = [], 0
            last = pieces.pop()
            for line in pieces:
                if len(line) > max_line:
                    raise _too_long(max_line)
                yield line
            pieces = [last]
        if pieces[0]:
            parts.append(pieces[0])
            size += len(pieces[0])
            if size > max_line:
                raise _too_long(max_line)
        if watchdog is not None:
            # Once the chunk's lines are handled, as the wait for the next begins: the clock measures the server's
            # silence, not the time a client starved of CPU spent on what the server sent.
            watchdog.touch()
    tail = "".join(parts) + decoder.decode(b"", final=True)
    if tail or carry_cr:
        yield tail


def _too_long(max_line: int) -> StreamErrorEvent:
    return StreamErrorEvent(
        f"the server sent a line of more than {max_line:,} characters (no event is that long); not an event stream"
    )


async def sse_events(
    lines: AsyncIterator[str], on_skipped: Callable[[str], None] | None = None
) -> AsyncIterator[dict[str, Any]]:
    """JSON payloads of the `data:` events until `data: [DONE]`.

    Comments (`: keep-alive`) and SSE's other fields (`event:`, `id:`, `retry:`) are skipped; any other line is
    skipped too, as SSE says, and handed to `on_skipped` (a server writing something else than it claims). An
    `error` payload raises StreamErrorEvent, a body that ends without `[DONE]` raises StreamEnded. Events of
    more than one `data:` line are joined as SSE says.
    """
    pending: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data = line[6:] if line.startswith("data: ") else line[5:]
            if not pending and data.endswith("}"):
                # The common case, one line per event: parse at once instead of waiting for the blank line.
                try:
                    event = json.loads(data)
                except json.JSONDecodeError:
                    event = None  # the first line of a multi-line event
                if isinstance(event, dict):
                    if "error" in event and not event.get("choices"):
                        raise _error_event(event)
                    yield event
                    continue
            pending.append(data)
            continue
        if line.strip():
            if on_skipped is not None and not line.startswith(":") and line.partition(":")[0] not in _SSE_FIELDS:
                on_skipped(line)
            continue
        if not pending:
            continue  # a blank line after an event already sent
        data, pending = "\n".join(pending), []
        if data.strip() == DONE:
            return
        event = _parse(data)
        if "error" in event and not event.get("choices"):
            raise _error_event(event)
        yield event
    if pending and "\n".join(pending).strip() == DONE:
        return
    raise StreamEnded("the connection closed before the stream was complete")


def _parse(data: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except json.JSONDecodeError:
        raise StreamErrorEvent(f"the server sent an event that is not JSON: {data[:120]!r}") from None
    if not isinstance(event, dict):
        raise StreamErrorEvent(f"the server sent an event that is not a JSON object: {data[:120]!r}")
    return event


def _error_event(event: dict[str, Any]) -> StreamErrorEvent:
    error = event["error"]
    if isinstance(error, dict):
        status = error.get("code") if isinstance(error.get("code"), int) else None
        return StreamErrorEvent(str(error.get("message") or error)[:300], status)
    return StreamErrorEvent(str(error)[:300])
