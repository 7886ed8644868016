"""An OpenAI-compatible HTTP server for tests and benchmarks that behaves like the servers evalkit meets, with
faults injected on a schedule.

Its "model" is deterministic: a completion depends only on the prompt and the seed, so a run that was killed
and resumed must end with exactly the samples of an uninterrupted run. Some seeds answer correctly (the gold
answers are given to the server), others wrongly, a few run out of tokens (inside their thinking, when the
persona separates thinking from the answer).

Personas (`PERSONAS`): `vllm` (the default: vLLM's extensions, exact token ids, no reasoning parser),
`vllm-reasoning` (`vllm serve --reasoning-parser`: `reasoning` beside `content`), `vllm-reasoning-content`
(older vLLM and SGLang: `reasoning_content`), `inline-think` (no parser: `<think>` left in the content),
`deepseek` (DeepSeek's API: `reasoning_content`, ignores `n` and unknown fields, usage with reasoning tokens),
`openai-o` (OpenAI's o-series: rejects `max_tokens`, any temperature but 1 and every field it does not know,
hides the reasoning but bills it), `openrouter` (`reasoning`, ignores `n`, sends `: OPENROUTER PROCESSING`
comments while it waits).

Streaming (`"stream": true`) sends SSE chunks with chunked transfer encoding, one token per event, the choices of
an n-sample request interleaved (they finish at different times), the usage chunk when asked for, then `[DONE]`.

Run standalone: python tests/fake_openai_server.py --port 8123 [--latency 0.05] [--max-concurrency 4] [--persona vllm]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from http_fixtures import running


@dataclass
class Faults:
    """Which requests fail and how. Request numbers count from 1 over the server's lifetime."""

    status_503: set[int] = field(default_factory=set)
    status_429: set[int] = field(default_factory=set)
    retry_after_s: float | str = 0.2  # sent as the Retry-After header, as given (a string may be anything)
    slow: set[int] = field(default_factory=set)
    slow_s: float = 5.0
    drop_connection: set[int] = field(default_factory=set)
    # Return at most this many choices whatever n was asked (llama.cpp returns one).
    max_choices: int | None = None
    # A stream that sends its first chunk, then nothing for stall_s seconds.
    stall_after_first_chunk: set[int] = field(default_factory=set)
    stall_s: float = 30.0
    # request number -> cut the connection mid-stream once this many of its choices have finished.
    drop_after_finished: dict[int, int] = field(default_factory=dict)
    # request number -> send nothing for stall_s seconds once this many of its choices have finished.
    stall_after_finished: dict[int, int] = field(default_factory=dict)
    # request number -> the choice that ends with finish_reason "error" (a provider failing behind OpenRouter).
    error_choice: dict[int, int] = field(default_factory=dict)
    # Requests answered only after this long with nothing sent at all (a busy server's queue).
    queued: set[int] = field(default_factory=set)
    queued_s: float = 2.0
    # Requests that get 401 (a key the provider refuses).
    status_401: set[int] = field(default_factory=set)
    # request number -> a status the request gets, with the message "status <code>" (403, 404, 422, ...).
    other_status: dict[int, int] = field(default_factory=dict)
    # Requests answered 200 with a body cut off mid-JSON (a proxy that gave up half-way).
    malformed_200: set[int] = field(default_factory=set)
    # Return this many choices more than were asked (a server or proxy that does not honour a small n).
    extra_choices: int = 0


@dataclass(frozen=True)
class Persona:
    """How a server family answers: where the thinking goes, what it rejects, what it ignores."""

    reasoning_field: str | None = None  # "reasoning_content" or "reasoning"
    inline_think: bool = False
    hide_reasoning: bool = False  # OpenAI: the thinking is billed but never returned
    usage_reasoning_tokens: bool = False
    token_ids: bool = True  # vLLM's return_token_ids
    strict_fields: bool = False  # reject any field it does not know (OpenAI)
    rejects_max_tokens: bool = False
    fixed_temperature: float | None = None  # reject other values
    refuses_temperature: bool = False  # reject the parameter whatever its value (o3-mini)
    ignores_n: bool = False
    processing_comments: bool = False
    streams: bool = True  # False: answers a streamed request with one JSON body (servers without streaming)
    stream_content_type: str | None = "text/event-stream"  # None: a stream sent with no Content-Type header at all
    refuses_seed: bool = False  # reject the parameter whatever its value


PERSONAS = {
    "vllm": Persona(),
    "vllm-reasoning": Persona(reasoning_field="reasoning"),
    "vllm-reasoning-content": Persona(reasoning_field="reasoning_content"),
    "inline-think": Persona(inline_think=True),
    "deepseek": Persona(reasoning_field="reasoning_content", usage_reasoning_tokens=True, token_ids=False,
                        ignores_n=True),
    "openai-o": Persona(hide_reasoning=True, usage_reasoning_tokens=True, token_ids=False, strict_fields=True,
                        rejects_max_tokens=True, fixed_temperature=1.0),
    "openrouter": Persona(reasoning_field="reasoning", usage_reasoning_tokens=True, token_ids=False, ignores_n=True,
                          processing_comments=True),
}  # fmt: skip
OPENAI_FIELDS = {
    "model", "messages", "prompt", "n", "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed",
    "stream", "stream_options", "reasoning_effort", "stop",
}  # fmt: skip


@dataclass
class ServerState:
    model: str = "fake-model"
    # More names it serves, as a server of a training run's checkpoints does (one per step); each answers
    # differently, since its name is part of what a completion depends on.
    other_models: tuple[str, ...] = ()
    gold: dict[str, str] = field(default_factory=dict)  # problem text -> answer
    faults: Faults = field(default_factory=Faults)
    persona: Persona = field(default_factory=Persona)
    latency_s: float = 0.0
    max_concurrency: int | None = None
    max_model_len: int = 4096
    think_longer: int = 1
    requests: int = 0
    completed: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    streamed_events: int = 0
    seen_auth: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each request, in arrival order
    bodies: list[dict] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of each request, names lower-cased, beside bodies
    record_bodies: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Semaphore | None = None


def fake_completion(prompt: str, seed: int, max_tokens: int, gold: str | None) -> tuple[str, str, int]:
    """(text, finish_reason, tokens) for one sample: a function of the prompt and the seed only."""
    digest = int.from_bytes(hashlib.sha256(f"{seed}|{prompt}".encode()).digest()[:8], "big")
    words = ["Let", "us", "compute", "carefully", "step", "by", "step", "and", "check", "each", "case"]
    reasoning = " ".join(words[(digest >> i) % len(words)] for i in range(0, 40, 4))
    kind = digest % 5
    if kind == 4 or max_tokens < 20:
        body = (reasoning + " ") * 4
        return body[: max_tokens * 4], "length", max_tokens
    answer = gold if (kind < 2 and gold is not None) else str(digest % 1000)
    text = f"{reasoning}.\n\nTherefore the final answer is $\\boxed{{{answer}}}$."
    return text, "stop", min(max_tokens, len(text.split()))


@dataclass(frozen=True)
class FakeSample:
    """One sample as a persona returns it: thinking and answer pieces (one token each), how it ended."""

    reasoning: tuple[str, ...]
    answer: tuple[str, ...]
    finish_reason: str
    tokens: int

    @property
    def reasoning_tokens(self) -> int:
        if not self.answer:
            return self.tokens
        return min(self.tokens, len(self.reasoning))


_PIECE = re.compile(r"\s*\S+\s*")


def _pieces(text: str) -> tuple[str, ...]:
    return tuple(_PIECE.findall(text)) or ((text,) if text else ())


def fake_sample(
    persona: Persona, prompt: str, seed: int, max_tokens: int, gold: str | None, think_longer: int = 1
) -> FakeSample:
    """`think_longer` repeats the thinking (a longer stream for benchmarks); the answer stays the same."""
    text, reason, tokens = fake_completion(prompt, seed, max_tokens, gold)
    thinking, sep, answer = text.partition("\n\n")
    if not sep:  # cut off before the thinking ended
        thinking, answer = text, ""
    if think_longer > 1:
        thinking = " ".join([thinking] * think_longer)
        text = f"{thinking}{sep}{answer}"
        tokens = len(_pieces(text))
    if persona.inline_think:
        closing = "\n</think>\n\n" if sep else ""
        return FakeSample((), _pieces(f"<think>\n{thinking}{closing}{answer}"), reason, tokens)
    if persona.reasoning_field or persona.hide_reasoning:
        return FakeSample(_pieces(thinking), _pieces(answer), reason, tokens)
    return FakeSample((), _pieces(text), reason, tokens)


def _gold_for(state: ServerState, prompt: str) -> str | None:
    for problem, answer in state.gold.items():
        if problem in prompt:
            return answer
    return None


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    state: ServerState

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _reject(self, message: str, param: str | None, code: str) -> None:
        error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
        self._send(400, {"error": error})

    def do_GET(self) -> None:
        if self.path == "/stats":  # requests served so far, for benchmarks running the server in a process
            data = json.dumps({"requests": self.state.requests, "events": self.state.streamed_events}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path.rstrip("/").endswith("/models"):
            names = (self.state.model, *self.state.other_models)
            models = [{"id": name, "object": "model", "max_model_len": self.state.max_model_len} for name in names]
            self._send(200, {"object": "list", "data": models})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def _rejection(self, payload: dict) -> bool:
        """Answer 400 the way the persona's provider does, when it would; True if it did."""
        persona = self.state.persona
        if persona.strict_fields:
            unknown = sorted(set(payload) - OPENAI_FIELDS)
            if unknown:
                names = ", ".join(unknown)
                self._reject(f"Unrecognized request argument{'s' if len(unknown) > 1 else ''} supplied: {names}",
                             None, "unknown_parameter")  # fmt: skip
                return True
        if persona.rejects_max_tokens and "max_tokens" in payload:
            self._reject("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                         "'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter")  # fmt: skip
            return True
        if persona.refuses_temperature and "temperature" in payload:
            self._reject("Unsupported parameter: 'temperature' is not supported with this model.", "temperature",
                         "unsupported_parameter")  # fmt: skip
            return True
        if persona.refuses_seed and "seed" in payload:
            self._reject("Unsupported parameter: 'seed' is not supported with this model.", "seed",
                         "unsupported_parameter")  # fmt: skip
            return True
        fixed = persona.fixed_temperature
        if fixed is not None and "temperature" in payload and payload["temperature"] != fixed:
            self._reject(f"Unsupported value: 'temperature' does not support {payload['temperature']} with this "
                         f"model. Only the default ({fixed:g}) value is supported.", "temperature",
                         "unsupported_value")  # fmt: skip
            return True
        return False

    def do_POST(self) -> None:
        state = self.state
        length = int(self.headers.get("Content-Length", 0))
        payload = json.loads(self.rfile.read(length) or b"{}")
        with state.lock:
            state.requests += 1
            number = state.requests
            state.arrivals.append(time.monotonic())
            state.seen_auth.append(self.headers.get("Authorization", ""))
            if state.record_bodies:
                state.bodies.append(payload)
                state.headers.append({k.lower(): v for k, v in self.headers.items()})
        faults = state.faults
        if number in faults.drop_connection:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if number in faults.status_401:
            self._send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            return
        if number in faults.other_status:
            code = faults.other_status[number]
            self._send(code, {"error": {"message": f"status {code}"}})
            return
        if number in faults.status_503:
            self._send(503, {"error": {"message": "overloaded"}})
            return
        if number in faults.malformed_200:
            data = b'{"id": "cut", "object": "chat.completion", "choices": [{"index": 0, "mess'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if number in faults.status_429:
            self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": str(faults.retry_after_s)})
            return
        if payload.get("model") not in (state.model, *state.other_models):
            self._send(404, {"error": {"message": f"model {payload.get('model')} not served"}})
            return
        if self._rejection(payload):
            return
        n = int(payload.get("n") or 1)
        max_tokens = int(payload.get("max_tokens") or payload.get("max_completion_tokens") or 16)
        if max_tokens > state.max_model_len:
            self._send(400, {"error": {"message": f"max_tokens {max_tokens} exceeds max_model_len"}})
            return
        if number in faults.queued:
            time.sleep(faults.queued_s)
        gate = state.gate or contextlib.nullcontext()
        with gate:
            with state.lock:
                state.in_flight += 1
                state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
            try:
                if number in faults.slow:
                    time.sleep(faults.slow_s)
                samples, prompt_tokens = self._samples(payload, n)
                if payload.get("stream") and state.persona.streams:
                    with contextlib.suppress(_ClientGone, BrokenPipeError, ConnectionResetError):
                        self._stream(payload, number, samples, prompt_tokens)
                    return
                if state.latency_s:
                    time.sleep(state.latency_s)
                body = self._body(payload, number, samples, prompt_tokens)
            finally:
                with state.lock:
                    state.in_flight -= 1
                    state.completed += 1
        self._send(200, body)

    def _samples(self, payload: dict, n: int) -> tuple[list[FakeSample], int]:
        state = self.state
        chat = self.path.rstrip("/").endswith("/chat/completions")
        prompt = "\n".join(m["content"] for m in payload.get("messages", [])) if chat else payload.get("prompt", "")
        seed = int(payload.get("seed") or 0)
        max_tokens = int(payload.get("max_tokens") or payload.get("max_completion_tokens") or 16)
        count = n + state.faults.extra_choices
        if state.faults.max_choices is not None:
            count = min(count, state.faults.max_choices)
        if state.persona.ignores_n:
            count = 1
        gold = _gold_for(state, prompt)
        model = payload.get("model")
        drawn = prompt if model == state.model else f"{model}\n{prompt}"
        samples = [
            fake_sample(state.persona, drawn, seed + i, max_tokens, gold, state.think_longer) for i in range(count)
        ]
        return samples, len(prompt.split())

    def _usage(self, samples: list[FakeSample], prompt_tokens: int) -> dict:
        total = sum(s.tokens for s in samples)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": total, "total_tokens": total + prompt_tokens}
        if self.state.persona.usage_reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": sum(s.reasoning_tokens for s in samples)}
        return usage

    def _message(self, sample: FakeSample) -> dict:
        persona = self.state.persona
        content = "".join(sample.answer)
        message: dict = {"role": "assistant", "content": content or (None if persona.reasoning_field else "")}
        if persona.reasoning_field:
            message[persona.reasoning_field] = "".join(sample.reasoning) or None
        return message

    def _body(self, payload: dict, number: int, samples: list[FakeSample], prompt_tokens: int) -> dict:
        chat = self.path.rstrip("/").endswith("/chat/completions")
        choices = []
        for index, sample in enumerate(samples):
            choice: dict = {"index": index, "finish_reason": sample.finish_reason}
            if chat:
                choice["message"] = self._message(sample)
            else:
                choice["text"] = "".join(sample.reasoning + sample.answer)
            if payload.get("return_token_ids") and self.state.persona.token_ids:
                choice["token_ids"] = list(range(sample.tokens))
            choices.append(choice)
        return {
            "id": f"fake-{number}",
            "object": "chat.completion" if chat else "text_completion",
            "model": self.state.model,
            "choices": choices,
            "usage": self._usage(samples, prompt_tokens),
        }

    # -- streaming ---------------------------------------------------------------------------------------------

    def _chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except OSError:
            raise _ClientGone from None

    def _event(self, event: dict) -> None:
        self._chunk(b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n")

    def _stream(self, payload: dict, number: int, samples: list[FakeSample], prompt_tokens: int) -> None:
        state, persona, faults = self.state, self.state.persona, self.state.faults
        chat = self.path.rstrip("/").endswith("/chat/completions")
        self.send_response(200)
        if persona.stream_content_type is not None:
            self.send_header("Content-Type", persona.stream_content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if persona.processing_comments:
            self._chunk(b": OPENROUTER PROCESSING\n\n")
        token_ids = bool(payload.get("return_token_ids")) and persona.token_ids
        head = {"id": f"fake-{number}", "object": "chat.completion.chunk" if chat else "text_completion",
                "created": 0, "model": state.model}  # fmt: skip
        # Every choice as its events: a first one (the role), one per token, then the finish.
        plans = []
        for index, sample in enumerate(samples):
            events = []
            pieces = [(p, True) for p in (() if persona.hide_reasoning else sample.reasoning)]
            pieces += [(p, False) for p in sample.answer]
            ids_left = sample.tokens
            for position, (piece, thinking) in enumerate(pieces):
                ids = 1 if position < len(pieces) - 1 else max(ids_left, 0)
                ids_left -= ids
                if chat:
                    key = persona.reasoning_field if thinking else "content"
                    choice = {"index": index, "delta": {key: piece}, "finish_reason": None}
                else:
                    choice = {"index": index, "text": piece, "finish_reason": None}
                if token_ids:
                    choice["token_ids"] = list(range(ids))
                events.append(choice)
            failed = faults.error_choice.get(number) == index
            final = {"index": index, "finish_reason": "error" if failed else sample.finish_reason}
            final["delta" if chat else "text"] = {} if chat else ""
            events.append(final)
            plans.append(events)
        first = {**head, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                                     for i in range(len(samples))]} if chat else None  # fmt: skip
        if first is not None:
            if token_ids:
                first["prompt_token_ids"] = list(range(prompt_tokens))
            self._event(first)
        steps = max(len(p) for p in plans)
        delay = state.latency_s / steps if state.latency_s else 0.0
        finished = 0
        drop_at = faults.drop_after_finished.get(number)
        stall_at = faults.stall_after_finished.get(number)
        for step in range(steps):
            if step == 1 and number in faults.stall_after_first_chunk:
                time.sleep(faults.stall_s)
            sent = 0
            for events in plans:
                if step < len(events):
                    sent += 1
                    self._event({**head, "choices": [events[step]]})
                    if events[step].get("finish_reason"):
                        finished += 1
                        if stall_at is not None and finished == stall_at:
                            time.sleep(faults.stall_s)
                        if drop_at is not None and finished >= drop_at:
                            self.close_connection = True
                            self.connection.shutdown(2)  # mid-stream, without the terminating chunk
                            return
            with state.lock:
                state.streamed_events += sent
            if delay:
                time.sleep(delay)
        if (payload.get("stream_options") or {}).get("include_usage"):
            self._event({**head, "choices": [], "usage": self._usage(samples, prompt_tokens)})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections when a client opens many at once.
    request_queue_size = 256

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up on a request (a cancelled run, an abandoned stream) is not a server fault.
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(state: ServerState, port: int = 0) -> Iterator[str]:
    """Run the server in a thread; yields its base URL (ending in /v1)."""
    if state.max_concurrency:
        state.gate = threading.Semaphore(state.max_concurrency)
    handler = type("Handler", (_Handler,), {"state": state})
    server = _Server(("127.0.0.1", port), handler)
    server.daemon_threads = True
    with running(server) as url:
        yield url + "/v1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request (spread over its tokens)")
    parser.add_argument("--max-concurrency", type=int, default=None)
    parser.add_argument("--gold", help="dataset .jsonl whose answers the fake model sometimes gives")
    parser.add_argument("--one-choice", action="store_true", help="return one choice whatever n is (llama.cpp)")
    parser.add_argument("--persona", choices=sorted(PERSONAS), default="vllm")
    parser.add_argument("--think-longer", type=int, default=1, help="repeat each sample's thinking this many times")
    args = parser.parse_args()
    gold = {}
    if args.gold:
        with open(args.gold, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        gold = {row["problem"]: row["answer"] for row in rows}
    faults = Faults(max_choices=1 if args.one_choice else None)
    state = ServerState(
        model=args.model, gold=gold, latency_s=args.latency, max_concurrency=args.max_concurrency, faults=faults,
        persona=PERSONAS[args.persona], record_bodies=False, think_longer=args.think_longer,
    )  # fmt: skip
    with serve(state, args.port) as url:
        print(f"serving {args.model} ({args.persona}) at {url}", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
