"""Reading a server-sent-event stream raw: lines in, JSON events out, with an idle clock and a total cap.

The openai SDK builds a pydantic object per event (~70 µs of CPU per streamed token); reading the lines and
parsing them with `json` costs a fraction of that, which matters when one client drains a cluster.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

DONE = "[DONE]"


class StreamStalled(Exception):
    """The server sent nothing for longer than the idle timeout, or the request ran past its total cap."""


class StreamEnded(Exception):
    """The stream ended before the server said it was done (a dropped connection)."""


class StreamErrorEvent(Exception):
    """The server reported an error inside the stream (vLLM and OpenRouter do, after the 200 status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Watchdog:
    """Cancels the task it guards when the stream goes idle or the whole request runs too long.

    The idle clock starts at the first line of the body: before it, a request may be queued behind others by a
    busy server, which sends nothing and is not stalled; that wait is bounded by the total cap alone. Any line,
    an SSE comment such as `: keep-alive` included, restarts the idle clock. `touch()` costs one clock read, so
    the check runs per line without a timer per line: the timer re-arms itself when it fires early.
    """

    def __init__(self, idle_s: float | None, total_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._idle = idle_s
        self._deadline = self._loop.time() + total_s
        self._total = total_s
        self.last_line: float | None = None
        self.fired: str | None = None
        self._handle = self._loop.call_at(self._deadline, self._check)

    def touch(self) -> None:
        now = self._loop.time()
        if self.last_line is None and self._idle is not None:
            self._handle.cancel()
            self._handle = self._loop.call_at(min(self._deadline, now + self._idle), self._check)
        self.last_line = now

    def _check(self) -> None:
        now = self._loop.time()
        due = self._deadline
        if self._idle is not None and self.last_line is not None:
            due = min(due, self.last_line + self._idle)
        if now < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        idle = self._idle is not None and self.last_line is not None and due < self._deadline
        self.fired = (
            f"the stream sent nothing for {self._idle:g} s (--idle-timeout)"
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


async def sse_events(lines: AsyncIterator[str], watchdog: Watchdog | None = None) -> AsyncIterator[dict[str, Any]]:
    """JSON payloads of the `data:` events until `data: [DONE]`.

    Comments (`: keep-alive`) and other fields are skipped. An `error` payload raises StreamErrorEvent, a body
    that ends without `[DONE]` raises StreamEnded. Events of more than one `data:` line are joined as SSE says.
    """
    pending: list[str] = []
    async for line in lines:
        if watchdog is not None:
            watchdog.touch()
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
        if line.strip() or not pending:
            continue  # a comment, `event:`/`id:`/`retry:` field, or a blank line after an event already sent
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
