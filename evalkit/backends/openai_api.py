"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp, DeepSeek, OpenAI, OpenRouter) through the `openai` package.

Requests are streamed by default and read raw (sse.py): each choice is assembled from its deltas (choices.py)
and handed over the moment its finish_reason arrives, so a dropped connection loses only the unfinished
choices, which are drawn again with their own seeds. A response idle for --idle-timeout is abandoned and retried,
and so is one that cannot be read (a broken event, a choice that cannot be a sample).
Each server's dialect (dialect.py) is learned from its rejections once, for every request after. Transient
faults are retried with backoff (retry.py); a server that cannot be reached is routed around while others work.
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import json
import os
import random
import socket
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai

from evalkit.backends.base import BackendError, Completion, SampleRequest
from evalkit.backends.choices import FinishedChoice, MalformedChoice, StreamAssembler, response_choices
from evalkit.backends.dialect import Dialect, SamplingRejected, Unadaptable, read_rejection
from evalkit.backends.retry import backoff_seconds, is_transient_status, is_transport_error, retry_after
from evalkit.backends.sse import (
    MAX_LINE_CHARS,
    StreamEnded,
    StreamErrorEvent,
    StreamStalled,
    Watchdog,
    sse_events,
    sse_lines,
)
from evalkit.config import BackendConfig, SamplingConfig, public_url

CONNECT_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 30.0
# A server that could not be reached is tried again after this long (and after each further failure, longer).
UNREACHABLE_PAUSE_S = 30.0


class MalformedResponse(Exception):
    """A successful status with a body that is not an OpenAI completion."""


class StreamIncomplete(Exception):
    """The stream ended, but some choices it started never finished (or the server reported them failed)."""


@dataclass
class _Server:
    url: str
    client: openai.AsyncOpenAI
    dialect: Dialect
    in_flight: int = 0
    failures_in_row: int = 0
    down_until: float = 0.0
    notified: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return public_url(self.url)


@dataclass
class _Draw:
    """The samples of one SampleRequest still to come; shared by the draws working on it."""

    request: SampleRequest
    missing: set[int]
    deliver: Callable[[Completion], None]


class OpenAIBackend:
    def __init__(
        self,
        model: str,
        config: BackendConfig,
        environ: dict[str, str] | None = None,
        on_notice: Callable[[str], None] | None = None,
        transport: str | None = None,
    ) -> None:
        """`transport` forces "httpx" or "aiohttp" (benchmarks); by default aiohttp when it is installed."""
        env = os.environ if environ is None else environ
        # Local servers (vLLM, llama.cpp) accept any key; hosted APIs need the real one from the environment.
        self._key_set = bool(env.get(config.api_key_env))
        api_key = env.get(config.api_key_env) or "EMPTY"
        self.model = config.served_model or model
        self.config = config
        timeout = openai.Timeout(config.request_timeout, connect=min(CONNECT_TIMEOUT_S, config.request_timeout))
        self.transport = "httpx"
        self.servers: list[_Server] = []
        for url in config.base_urls:
            http_client, self.transport = _http_client(timeout, transport)
            client = openai.AsyncOpenAI(
                base_url=url, api_key=api_key, max_retries=0, timeout=timeout, http_client=http_client
            )
            self.servers.append(_Server(url, client, Dialect.for_server(config.vllm_extensions)))
        self.on_notice = on_notice or (lambda message: None)
        self._context_length: int | None = None
        self._closed = False
        self._fatal: BackendError | None = None
        self._limit: asyncio.Semaphore | None = None
        self._prefill_wanted: str | None = None
        self.attempts = 0
        self.retries = 0
        self.extra_requests = 0
        self.stalled_streams = 0
        self.broken_streams = 0
        self.streamed_deltas = 0

    # -- description -------------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Settings, and what each server was actually sent (its learned dialect), for the manifest."""
        description: dict[str, Any] = {
            "kind": "openai",
            "endpoints": [s.name for s in self.servers],
            "api": self.config.api,
            "served_model": self.model,
            "stream": self.config.stream,
            "concurrency": self.config.concurrency,
            "idle_timeout_s": self.config.idle_timeout,
            "request_timeout_s": self.config.request_timeout,
            "max_retries": self.config.max_retries,
            "api_key_env": self.config.api_key_env,
            "api_params": dict(self.config.api_params),
            "vllm_extensions": self.config.vllm_extensions,
            "openai_package": openai.__version__,
            "http_transport": self.transport,
            "dialects": {s.name: s.dialect.describe() for s in self.servers},
            "requests": {
                "attempts": self.attempts,
                "retries": self.retries,
                "extra_requests": self.extra_requests,
                "stalled_streams": self.stalled_streams,
                "broken_streams": self.broken_streams,
            },
        }
        if self._prefill_wanted is not None:
            sent = all(s.dialect.prefill for s in self.servers)
            description["assistant_prefill"] = {
                "wanted": self._prefill_wanted,
                "sent": sent,
                "note": None
                if sent
                else "the template's assistant prefill was not sent (the server takes no prefill): the model "
                "began its own turn, as hosted R1-style models do when they think anyway",
            }
        return description

    def context_length(self) -> int | None:
        return self._context_length

    def preview(self, request: SampleRequest, sampling: SamplingConfig) -> dict[str, Any]:
        """The body the first request would have, before any server has taught a dialect."""
        dialect = self.servers[0].dialect
        count = 1 if dialect.one_sample_per_request else request.count
        return dialect.body(
            self.model, request.prompt, count, request.seed, sampling, self.config.stream, self.config.api_params
        )

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def probe(self) -> None:
        """Check the servers answer and serve the model; learn the context length when one says (vLLM does).

        A server that cannot be reached is skipped with a notice while at least one other can be.
        """
        unreachable: list[str] = []
        for server in self.servers:
            try:
                listing = await server.client.models.list(timeout=min(PROBE_TIMEOUT_S, self.config.request_timeout))
            except openai.NotFoundError:
                continue  # some servers have no /models; the first real request will tell
            except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
                raise self._auth_error(server, error) from None
            except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as error:
                reason = _unreachable(error, server.url) or f"{type(error).__name__}: {_message(error)}"
                unreachable.append(f"{server.name} ({reason})")
                server.down_until = _now() + UNREACHABLE_PAUSE_S
                server.failures_in_row += 1
                continue
            except openai.APIStatusError as error:
                raise BackendError(f"{server.name} answered {error.status_code}: {_message(error)}") from None
            served = {m.id: m for m in listing.data}
            if served and self.model not in served:
                raise BackendError(
                    f"{server.name} serves {', '.join(sorted(served)[:10])}, not {self.model!r}; "
                    "pass --served-model-name with one of those"
                )
            length = getattr(served.get(self.model), "max_model_len", None)
            if isinstance(length, int):
                self._context_length = min(length, self._context_length or length)
        if len(unreachable) == len(self.servers):
            raise BackendError(
                f"cannot reach {'; '.join(unreachable)}; is the server up and is --base-url right "
                "(it usually ends in /v1)?"
            )
        for text in unreachable:
            self.on_notice(f"skipping {text} for now; requests go to the other servers")

    def close(self) -> None:
        """Close the HTTP clients if generation never ran (then `aclose` has done it already). Inside a running
        event loop nothing can wait for them here: the code running there awaits `aclose`."""
        if self._closed or _in_running_loop():
            return
        asyncio.run(self.aclose())

    async def aclose(self) -> None:
        self._closed = True
        for server in self.servers:
            await server.client.close()

    # -- generation --------------------------------------------------------------------------------------------

    async def generate(self, requests: Sequence[SampleRequest], sampling: SamplingConfig) -> AsyncIterator[Completion]:
        """Completions in the order they arrive. A request that fails for good ends the stream with its error,
        after every completion that had already arrived has been handed over."""
        queue: asyncio.Queue[Completion | BaseException] = asyncio.Queue()
        self._limit = asyncio.Semaphore(self.config.concurrency)
        prefixes = {r.prompt.assistant_prefix for r in requests if r.prompt.assistant_prefix and r.prompt.text is None}
        self._prefill_wanted = next(iter(prefixes), None)

        async def serve(request: SampleRequest) -> None:
            wanted = set(range(request.first_index, request.first_index + request.count))
            draw = _Draw(request, wanted, queue.put_nowait)
            try:
                await self._draw(draw, sorted(draw.missing), sampling)
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # handed to the consumer, which raises it
                queue.put_nowait(error)

        tasks = [asyncio.create_task(serve(r)) for r in requests]
        try:
            for _ in range(sum(r.count for r in requests)):
                item = await queue.get()
                if isinstance(item, BaseException):
                    while not queue.empty():
                        finished = queue.get_nowait()
                        if isinstance(finished, Completion):
                            yield finished
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _draw(self, draw: _Draw, indices: list[int], sampling: SamplingConfig) -> None:
        """Draw samples `indices` (consecutive) of one request until each has arrived, retrying transient faults.

        A server that answers fewer choices than asked, or a stream cut off mid-way, leaves some missing: they are
        asked for again, each with its own seed. Consecutive attempts that bring nothing are bounded by
        --max-retries.
        """
        request = draw.request
        failures = 0
        attempted = False
        avoid: _Server | None = None
        while True:
            pending = [i for i in indices if i in draw.missing]
            if not pending:
                return
            runs = _consecutive_runs(pending)
            if len(runs) > 1:
                await _all_or_cancel(self._draw(draw, run, sampling) for run in runs)
                continue
            if self._fatal is not None:
                raise self._fatal
            assert self._limit is not None
            split = False
            async with self._limit:
                if self._fatal is not None:
                    raise self._fatal
                server = await self._choose_server(avoid)
                if server.dialect.one_sample_per_request and len(pending) > 1:
                    split = True
                else:
                    start = pending[0]
                    seed = request.seed_of(start - request.first_index)

                    def rebuild(server: _Server = server, count: int = len(pending), seed: int | None = seed) -> dict:
                        return server.dialect.body(
                            self.model, request.prompt, count, seed, sampling, self.config.stream,
                            self.config.api_params,
                        )  # fmt: skip

                    body = rebuild()
                    if attempted:
                        self.extra_requests += 1
                    attempted = True
                    before = len(draw.missing)
                    try:
                        await self._attempt(server, draw, start, len(pending), body)
                        server.failures_in_row = 0
                        continue
                    except Exception as error:
                        fault = self._fault(server, error, body, rebuild)
                    if fault is None:
                        continue  # adapted to a rejection: ask again at once, not a failure
                    server.failures_in_row += 1
                    progressed = len(draw.missing) < before
                    failures = 0 if progressed else failures + 1
                    if failures > self.config.max_retries:
                        raise BackendError(
                            f"giving up after {failures} attempts in a row for problem {request.prompt.problem_id}: "
                            f"{_describe_fault(server, fault)}"
                        )
                    self.retries += 1
                    avoid = server if len(self.servers) > 1 else None
            if split:
                await _all_or_cancel(self._draw(draw, [i], sampling) for i in pending)
                continue
            # Back off unless another server can take the retry at once (with one server, it always backs off).
            if failures and not self._another_server_up(server):
                await asyncio.sleep(backoff_seconds(failures - 1))

    async def _attempt(self, server: _Server, draw: _Draw, start: int, count: int, body: dict[str, Any]) -> None:
        """One HTTP request for samples start .. start+count-1; delivers each choice as it finishes."""
        request = draw.request
        chat = request.prompt.text is None
        resource = server.client.chat.completions if chat else server.client.completions
        named = {"model": body["model"]}
        if chat:
            named["messages"] = body["messages"]
        else:
            named["prompt"] = body["prompt"]
        extra = {k: v for k, v in body.items() if k not in named}
        send_seed = "seed" in body
        stream = bool(body.get("stream"))

        delivered = 0

        def deliver(choice: FinishedChoice) -> None:
            nonlocal delivered
            index = start + choice.index
            if choice.index >= count or index not in draw.missing:
                return  # more choices than asked, or one already delivered: exactly n per problem
            draw.missing.discard(index)
            delivered += 1
            draw.deliver(
                Completion(
                    problem_id=request.prompt.problem_id,
                    sample_index=index,
                    text=choice.text,
                    finish_reason=choice.finish_reason,
                    prompt_tokens=choice.prompt_tokens,
                    output_tokens=choice.output_tokens,
                    seed=request.seed_of(index - request.first_index) if send_seed else None,
                    tokens_exact=choice.tokens_exact,
                    reasoning=choice.reasoning,
                    reasoning_tokens=choice.reasoning_tokens,
                )
            )

        self.attempts += 1
        server.in_flight += 1
        watchdog = Watchdog(self.config.idle_timeout, self.config.request_timeout)
        try:
            async with resource.with_streaming_response.create(**named, extra_body=extra) as response:
                chunks = response.http_response.aiter_bytes()
                # A server that does not stream answers a streamed request with one JSON body: read it as such.
                if stream and not response.headers.get("content-type", "").startswith("application/json"):
                    lines = sse_lines(chunks, watchdog)
                    returned = await self._read_stream(lines, chat, count, server, deliver)
                else:
                    # The headers of a JSON body come when the whole body is ready: silence from here is a stall.
                    watchdog.touch()
                    data = await _read_all(chunks, watchdog, MAX_LINE_CHARS * count, server.name)
                    returned = self._read_body(data, chat, server, deliver)
        except asyncio.CancelledError as cancelled:
            raise watchdog.absorb(cancelled) from None
        finally:
            watchdog.stop()
            server.in_flight -= 1
        if delivered == 0:
            raise StreamIncomplete(f"the server returned {returned} choices and none of the {count} asked for")
        if count > 1 and returned < count:
            for note in server.dialect.learn_ignores_n():
                self.on_notice(f"{server.name}: {note}")

    async def _read_stream(
        self,
        lines: AsyncIterator[str],
        chat: bool,
        count: int,
        server: _Server,
        deliver: Callable[[FinishedChoice], None],
    ) -> int:
        assembler = StreamAssembler(chat, count)
        skipped: list[str] = []

        def skip(line: str) -> None:
            if not skipped:  # the first says enough
                skipped.append(line)

        try:
            async for event in sse_events(lines, skip):
                for choice in assembler.feed(event):
                    deliver(choice)
            for choice in assembler.end():
                deliver(choice)
        except MalformedChoice as malformed:
            raise MalformedResponse(f"the stream holds a choice that cannot be a sample ({malformed})") from None
        finally:
            # Finished choices held for the usage chunk are kept even when the stream broke off after them.
            for choice in assembler.release():
                deliver(choice)
            self.streamed_deltas += sum(d.deltas for d in assembler.drafts.values())
            if server.dialect.reported_model is None:
                server.dialect.reported_model = assembler.model
            self._notice_once(server, "dropped-counts", _dropped_notice(server, assembler.dropped))
            self._notice_once(server, "skipped-lines", _skipped_notice(server, skipped))
        if assembler.ended_without_reason:
            self._notice_once(
                server,
                "no-finish-reason",
                f"{server.name} ended a choice with [DONE] but no finish_reason; such samples are stored with "
                "finish_reason unknown (null), so whether they were cut off at --max-tokens cannot be told",
            )
        if assembler.unfinished or assembler.failed:
            lost = len(assembler.unfinished) + len(assembler.failed)
            raise StreamIncomplete(f"the stream ended with {lost} choice(s) unfinished")
        return len(assembler.drafts)

    def _read_body(self, data: bytes, chat: bool, server: _Server, deliver: Callable[[FinishedChoice], None]) -> int:
        dropped: list[str] = []
        try:
            body = json.loads(data.removeprefix(codecs.BOM_UTF8))  # JSON parsers may ignore a BOM (RFC 8259)
            finished, failed = response_choices(body, chat, dropped)
        except (ValueError, TypeError, AttributeError) as exc:
            # A 200 whose body is cut off or garbled (a proxy gave up half-way): a fault of the transport, retried.
            raise MalformedResponse(f"{server.name}'s response is not an OpenAI completion ({exc})") from None
        self._notice_once(server, "dropped-counts", _dropped_notice(server, dropped))
        if server.dialect.reported_model is None and isinstance(body.get("model"), str):
            server.dialect.reported_model = body["model"]
        for choice in finished:
            deliver(choice)
        if failed:
            raise StreamIncomplete(f"the server reported {len(failed)} choice(s) failed")
        return len(finished)

    # -- faults ------------------------------------------------------------------------------------------------

    def _fault(
        self, server: _Server, error: Exception, body: dict[str, Any], rebuild: Callable[[], dict]
    ) -> Exception | None:
        """The transient fault to retry after a pause, or None when a rejection taught the server's dialect (ask
        again at once). Anything else is raised: it ends the run."""
        if isinstance(error, openai.APIStatusError):
            return error if self._is_transient_status_error(server, error, body, rebuild) else None
        if isinstance(error, StreamStalled):
            self.stalled_streams += 1
            return error
        if isinstance(error, openai.APIConnectionError) and _not_reached(error):
            # Nothing listening: route around this server for a while (longer after each failure in a row).
            self._pause(server, UNREACHABLE_PAUSE_S * 2 ** min(server.failures_in_row, 4) / 16)
            return error
        if isinstance(error, openai.APITimeoutError):
            return error
        if isinstance(
            error, (StreamEnded, StreamErrorEvent, StreamIncomplete, MalformedResponse)
        ) or is_transport_error(error):
            self.broken_streams += 1
            return error
        raise error

    def _is_transient_status_error(
        self, server: _Server, error: openai.APIStatusError, body: dict[str, Any], rebuild: Callable[[], dict]
    ) -> bool:
        """True for a fault to retry after a pause; False when a rejection taught the dialect (ask again now).
        Anything else stops the run at once (`_stop`)."""
        status = error.status_code
        if status in (401, 403):
            raise self._stop(self._auth_error(server, error))
        if is_transient_status(status):
            wait = retry_after(getattr(error.response, "headers", None))
            if wait is not None:
                if wait.capped and "retry-after-cap" not in server.notified:
                    server.notified.add("retry-after-cap")
                    self.on_notice(
                        f"{server.name} asked to wait {wait.asked:.0f} s (Retry-After); waiting {wait.seconds:.0f} s, "
                        "the cap"
                    )
                self._pause(server, wait.seconds)
            return True
        if status not in (400, 422):
            raise self._stop(BackendError(f"{server.name} answered {status}: {_message(error)}"))
        message, param, code = _error_fields(error)
        rejection = read_rejection(message, param, code, body)
        try:
            notes = server.dialect.adapt(rejection, body, self.config.api_params)
        except SamplingRejected as rejected:
            raise self._stop(BackendError(f"{server.name} {rejected}")) from None
        except Unadaptable as unadaptable:
            raise self._stop(BackendError(f"{server.name} {unadaptable}")) from None
        if rebuild() == body:  # nothing learned that changes the request: the server refuses it as it is
            raise self._stop(BackendError(f"{server.name} rejected the request: {message}"))
        for note in notes:
            self.on_notice(f"{server.name}: {note}")
        return False

    def _notice_once(self, server: _Server, kind: str, message: str | None) -> None:
        """Tell the user once per server of a kind of oddity (every request would repeat it)."""
        if message is not None and kind not in server.notified:
            server.notified.add(kind)
            self.on_notice(message)

    def _stop(self, error: BackendError) -> BackendError:
        """Stop the run: no request goes out after this one (those in flight are cancelled by `generate`)."""
        if self._fatal is None:
            self._fatal = error
        return self._fatal

    def _auth_error(self, server: _Server, error: openai.APIStatusError) -> BackendError:
        variable = self.config.api_key_env
        state = "is set but was refused" if self._key_set else "is not set"
        return BackendError(
            f"{server.name} answered {error.status_code} ({_message(error)}): the API key {state}; evalkit reads it "
            f"from ${variable} (choose the variable with --api-key-env)"
        )

    def _pause(self, server: _Server, seconds: float) -> None:
        server.down_until = max(server.down_until, _now() + seconds)

    def _another_server_up(self, avoid: _Server | None) -> bool:
        now = _now()
        return any(s is not avoid and s.down_until <= now for s in self.servers)

    async def _choose_server(self, avoid: _Server | None) -> _Server:
        """The least busy server that is up; when none is, wait for the first to come back."""
        while True:
            now = _now()
            up = [s for s in self.servers if s.down_until <= now]
            if up:
                candidates = [s for s in up if s is not avoid] or up
                return min(candidates, key=lambda s: (s.in_flight, s.failures_in_row))
            wake = min(s.down_until for s in self.servers) - now
            # Jitter, so the requests waiting for one server do not all arrive in the same instant.
            await asyncio.sleep(wake + random.uniform(0, 0.1 * wake + 0.01))


def _http_client(timeout: Any, transport: str | None) -> tuple[Any, str]:
    """The SDK's aiohttp transport when installed (`openai[aiohttp]`), else its httpx default (None).

    Reading a stream costs ~9 µs of client CPU per token through aiohttp's C parser against ~26 µs through httpx's
    pure-Python one (bench/api_bench.py): at 20k tokens/s per node, a fifth of a core against half of one.
    """
    if transport == "httpx":
        return None, "httpx"
    try:
        return openai.DefaultAioHttpClient(timeout=timeout), "aiohttp"
    except (AttributeError, ImportError, RuntimeError):
        if transport == "aiohttp":
            raise BackendError(
                "the aiohttp transport needs the openai aiohttp extra: pip install 'openai[aiohttp]'"
            ) from None
        return None, "httpx"


async def _read_all(chunks: AsyncIterator[bytes], watchdog: Watchdog, cap: int, name: str) -> bytes:
    """A whole response body, each chunk restarting the idle clock; a body past `cap` bytes is refused (as big as
    one of the longest stream events per choice asked: no completion is bigger)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        watchdog.touch()
        size += len(chunk)
        if size > cap:
            raise MalformedResponse(f"{name}'s response is larger than {cap:,} bytes; no completion is that large")
        parts.append(chunk)
    return b"".join(parts)


def _dropped_notice(server: _Server, dropped: list[str]) -> str | None:
    if not dropped:
        return None
    return (
        f"{server.name} reported {dropped[0]}, which is not a token count (a whole number from 0 to a billion); "
        "such counts are recorded as unknown, and cost and token statistics leave them out"
    )


def _skipped_notice(server: _Server, skipped: list[str]) -> str | None:
    if not skipped:
        return None
    return (
        f"{server.name} sent stream lines that are neither `data:` events nor SSE comments or fields, which were "
        f"skipped (the first: {skipped[0][:80]!r}); a server that sends no `data:` events gives no samples"
    )


def _unreachable(error: BaseException, url: str) -> str | None:
    """Why no connection to `url` could be made, in words naming its address; None when one was made (a request
    that then failed or ran too long). The transports wrap the socket's error: the SDK over aiohttp reports a
    refused connection as a timeout, over httpx as a connection error."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = f"{parts.hostname}:{port}"
    timed_out = False
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused: nothing listens at {address}"
        if isinstance(cause, socket.gaierror):
            return f"unreachable: the host name {parts.hostname!r} does not resolve ({cause.strerror})"
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake with {address} failed ({cause.reason or cause})"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return f"unreachable: {address} ({cause.strerror})"
        timed_out = timed_out or type(cause).__name__ in ("ConnectTimeout", "ConnectionTimeoutError")
        cause = cause.__cause__ or cause.__context__
    if timed_out:
        return f"unreachable: {address} did not accept a connection within {CONNECT_TIMEOUT_S:g} s"
    return None


def _not_reached(error: openai.APIConnectionError) -> bool:
    """The server could not be reached at all (not a request that ran too long). The SDK's aiohttp transport reports
    a refused connection as a timeout (its cause is a ConnectTimeout), httpx as a connection error."""
    if not isinstance(error, openai.APITimeoutError):
        return True
    return type(error.__cause__).__name__ in ("ConnectTimeout", "ConnectError")


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _now() -> float:
    return asyncio.get_running_loop().time()


def _consecutive_runs(indices: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] + 1 == index:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


async def _all_or_cancel(coroutines: Iterable[Awaitable[None]]) -> None:
    """Run concurrently; when one fails, cancel the others and raise its error."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _error_fields(error: Exception) -> tuple[str, str | None, str | None]:
    """(message, param, code) of an API error body, in OpenAI's shape or close to it."""
    body = getattr(error, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(inner, dict):
        message = str(inner.get("message") or json.dumps(inner))[:500]
        param = inner.get("param") if isinstance(inner.get("param"), str) else None
        code = inner.get("code") if isinstance(inner.get("code"), str) else None
        return message, param, code
    return _message(error), None, None


def _describe_fault(server: _Server, fault: BaseException) -> str:
    if isinstance(fault, openai.APIStatusError):
        return f"{server.name} answered {fault.status_code}: {_message(fault)}"
    if isinstance(fault, openai.APIConnectionError):
        unreachable = _unreachable(fault, server.url)
        if unreachable is not None:
            return f"{server.name}: {unreachable}"
    return f"{server.name}: {type(fault).__name__}: {_message(fault)}"


def _message(error: BaseException) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
        if body.get("message"):
            return str(body["message"])[:300]
    return (str(error) or type(error).__name__)[:300]
