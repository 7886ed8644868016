"""evalkit's reward server run in a thread of the test process, on a free port, stopped at the end of the test."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator

from evalkit.reward.scoring import RewardConfig
from evalkit.reward.server import make_app, serve_until_stopped


@contextlib.contextmanager
def running_servers() -> Iterator[Callable[..., str]]:
    """A function that starts a server with the given RewardConfig settings and returns its /get_reward URL."""
    started: list[tuple[asyncio.AbstractEventLoop, asyncio.Event, threading.Thread]] = []

    def start(max_request_mb: float = 256, **settings) -> str:
        app = make_app(RewardConfig(**settings), max_request_mb)
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        ready = threading.Event()
        addresses: list[str] = []
        failure: list[BaseException] = []

        def on_ready(found: list[str]) -> None:
            addresses.extend(found)
            ready.set()

        def run() -> None:
            try:
                loop.run_until_complete(serve_until_stopped(app, "127.0.0.1", 0, on_ready, stop))
            except BaseException as exc:  # shown by the test that started it
                failure.append(exc)
                ready.set()
            finally:
                loop.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert ready.wait(30), "the reward server did not start"
        assert not failure, failure
        started.append((loop, stop, thread))
        return addresses[0] + "/get_reward"

    try:
        yield start
    finally:
        for loop, stop, thread in started:
            loop.call_soon_threadsafe(stop.set)
            thread.join(30)
