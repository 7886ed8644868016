"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp, hosted APIs) through the `openai` package.

Bounded concurrency, retries with exponential backoff and full jitter on 429, 5xx, timeouts and dropped
connections (honouring Retry-After), one AsyncOpenAI client per --base-url with requests spread across
them, and samples a server did not return (llama.cpp ignores `n`) drawn with further requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import openai

from evalkit.backends.base import BackendError, Completion, SampleRequest
from evalkit.config import BackendConfig, SamplingConfig, public_url

RETRY_BASE_S = 1.0
RETRY_CAP_S = 60.0
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def retry_after_seconds(error: Exception) -> float | None:
    """Seconds a server asked us to wait (Retry-After as seconds or an HTTP date, or retry-after-ms)."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    if headers.get("retry-after-ms"):
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def is_retryable(error: Exception) -> bool:
    if isinstance(error, (openai.APITimeoutError, openai.APIConnectionError)):
        return True
    return isinstance(error, openai.APIStatusError) and error.status_code in RETRYABLE_STATUS


@dataclass
class _Server:
    url: str
    client: openai.AsyncOpenAI
    in_flight: int = 0
    failures: int = 0


class OpenAIBackend:
    def __init__(self, model: str, config: BackendConfig, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        # Local servers (vLLM, llama.cpp) accept any key; hosted APIs need the real one from the environment.
        api_key = env.get(config.api_key_env) or "EMPTY"
        self.model = config.served_model or model
        self.config = config
        self.servers = [
            _Server(
                url, openai.AsyncOpenAI(base_url=url, api_key=api_key, max_retries=0, timeout=config.request_timeout)
            )
            for url in config.base_urls
        ]
        self._context_length: int | None = None
        self._closed = False
        self.send_token_ids = True  # vLLM's return_token_ids gives exact per-sample token counts
        self.retries = 0
        self.requests = 0
        self.extra_requests = 0

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "openai",
            "endpoints": [public_url(s.url) for s in self.servers],
            "api": self.config.api,
            "served_model": self.model,
            "concurrency": self.config.concurrency,
            "request_timeout_s": self.config.request_timeout,
            "max_retries": self.config.max_retries,
            "api_key_env": self.config.api_key_env,
            "openai_package": openai.__version__,
        }

    def context_length(self) -> int | None:
        return self._context_length

    async def probe(self) -> None:
        """Check every server answers and serves the model; learn its context length when it says (vLLM does)."""
        for server in self.servers:
            try:
                listing = await server.client.models.list()
            except Exception as error:
                if isinstance(error, openai.NotFoundError):
                    continue  # some servers have no /models; the first real request will tell
                raise BackendError(
                    f"cannot reach {public_url(server.url)} ({type(error).__name__}: {_message(error)}); "
                    "is the server up and is --base-url right (it usually ends in /v1)?"
                ) from None
            served = {m.id: m for m in listing.data}
            if served and self.model not in served:
                raise BackendError(
                    f"{public_url(server.url)} serves {', '.join(sorted(served))}, not {self.model!r}; "
                    "pass --served-model-name with one of those"
                )
            length = getattr(served.get(self.model), "max_model_len", None)
            if isinstance(length, int):
                self._context_length = min(length, self._context_length or length)

    def close(self) -> None:
        """Close the HTTP clients if generation never ran (then `aclose` has done it already)."""
        if not self._closed:
            with contextlib.suppress(RuntimeError):
                asyncio.run(self.aclose())

    async def aclose(self) -> None:
        self._closed = True
        for server in self.servers:
            await server.client.close()

    def _pick_server(self, avoid: _Server | None) -> _Server:
        candidates = [s for s in self.servers if s is not avoid] or self.servers
        return min(candidates, key=lambda s: (s.in_flight, s.failures))

    def _request_kwargs(self, request: SampleRequest, count: int, seed: int | None, sampling: SamplingConfig) -> dict:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "n": count,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if seed is not None:
            kwargs["seed"] = seed
        extra: dict[str, Any] = {}
        if self.send_token_ids:
            extra["return_token_ids"] = True
        prompt = request.prompt
        if prompt.text is not None:
            kwargs["prompt"] = prompt.text
        else:
            messages = [dict(m) for m in prompt.messages]
            if prompt.assistant_prefix:
                # Prefill the assistant turn (R1's "<think>\n"): vLLM and SGLang continue the final message.
                messages.append({"role": "assistant", "content": prompt.assistant_prefix})
                extra.update(continue_final_message=True, add_generation_prompt=False)
            kwargs["messages"] = messages
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    async def _call(self, kwargs: dict) -> Any:
        """One API call with retries; a server that keeps failing is swapped for another between attempts."""
        server: _Server | None = None
        last_error: Exception | None = None
        for attempt in range(self.config.max_retries + 1):
            server = self._pick_server(avoid=server if last_error is not None else None)
            server.in_flight += 1
            try:
                self.requests += 1
                if "prompt" in kwargs:
                    return await server.client.completions.create(**kwargs)
                return await server.client.chat.completions.create(**kwargs)
            except openai.BadRequestError as error:
                if self.send_token_ids and "return_token_ids" in str(error):
                    self.send_token_ids = False  # not a vLLM server: ask again without the extension
                    kwargs.get("extra_body", {}).pop("return_token_ids", None)
                    continue
                raise BackendError(f"{public_url(server.url)} rejected the request: {_message(error)}") from None
            except Exception as error:
                if not is_retryable(error):
                    if isinstance(error, openai.APIStatusError):
                        raise BackendError(
                            f"{public_url(server.url)} answered {error.status_code}: {_message(error)}"
                        ) from None
                    raise
                last_error = error
                server.failures += 1
                if attempt == self.config.max_retries:
                    break
                self.retries += 1
                wait = retry_after_seconds(error)
                if wait is None:
                    wait = random.uniform(0, min(RETRY_CAP_S, RETRY_BASE_S * 2**attempt))
                await asyncio.sleep(wait)
            finally:
                server.in_flight -= 1
        assert last_error is not None
        attempts = self.config.max_retries + 1
        raise BackendError(f"giving up after {attempts} attempts: {type(last_error).__name__}: {_message(last_error)}")

    def _completions(self, request: SampleRequest, start: int, seed: int | None, response: Any) -> list[Completion]:
        choices = sorted(response.choices, key=lambda c: c.index)
        usage = getattr(response, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", None)
        total_output = getattr(usage, "completion_tokens", None)
        out = []
        for offset, choice in enumerate(choices):
            text = choice.text if request.prompt.text is not None else (choice.message.content or "")
            token_ids = getattr(choice, "token_ids", None)
            if token_ids is not None:
                tokens, exact = len(token_ids), True
            elif total_output is not None and len(choices) == 1:
                tokens, exact = total_output, True
            elif total_output is not None:
                tokens, exact = round(total_output / len(choices)), False
            else:
                tokens, exact = None, False
            out.append(
                Completion(
                    problem_id=request.prompt.problem_id,
                    sample_index=start + offset,
                    text=text,
                    finish_reason=choice.finish_reason,
                    prompt_tokens=prompt_tokens,
                    output_tokens=tokens,
                    seed=None if seed is None else seed + offset,
                    tokens_exact=exact,
                )
            )
        return out

    async def _serve_request(
        self, request: SampleRequest, sampling: SamplingConfig, limit: asyncio.Semaphore, queue: asyncio.Queue
    ) -> None:
        """All samples of one request; when a server returns fewer choices, ask again for the rest."""
        next_index = request.first_index
        end = request.first_index + request.count
        while next_index < end:
            seed = request.seed_of(next_index - request.first_index)
            async with limit:
                response = await self._call(self._request_kwargs(request, end - next_index, seed, sampling))
            if not response.choices:
                raise BackendError(f"the server returned no choices for problem {request.prompt.problem_id}")
            if next_index > request.first_index:
                self.extra_requests += 1
            try:
                completions = self._completions(request, next_index, seed, response)[: end - next_index]
            except (AttributeError, TypeError) as exc:
                raise BackendError(f"the server's response is not an OpenAI completion ({exc})") from None
            for completion in completions:
                await queue.put(completion)
            next_index += len(completions)

    async def generate(self, requests: Sequence[SampleRequest], sampling: SamplingConfig) -> AsyncIterator[Completion]:
        """Completions in the order they arrive. A request that fails for good ends the stream with its error,
        after every completion that had already arrived has been handed over."""
        queue: asyncio.Queue[Completion | BaseException] = asyncio.Queue()
        limit = asyncio.Semaphore(self.config.concurrency)

        async def serve(request: SampleRequest) -> None:
            try:
                await self._serve_request(request, sampling, limit, queue)
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


def _message(error: Exception) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
        if body.get("message"):
            return str(body["message"])[:300]
    return str(error)[:300]
