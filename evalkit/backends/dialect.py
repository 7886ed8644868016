"""What one server accepts, learned from its rejections, and the request body built from it.

Every server starts as vLLM would take it: `max_tokens`, vLLM's `return_token_ids` (exact per-sample token
counts), the assistant prefill fields (`continue_final_message`), `stream_options`, a seed, n samples in one
request. A 400 that names one of these adapts the server's dialect once, for every request after it: OpenAI's
reasoning models want `max_completion_tokens`; hosted APIs reject vLLM's extensions. A rejected temperature or
top-p is never adapted away: the run stops, because the samples would no longer follow the protocol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from evalkit.backends.base import Prompt
from evalkit.config import SamplingConfig

EXTENSION_FIELDS = ("return_token_ids", "continue_final_message", "add_generation_prompt")
SAMPLING_FIELDS = ("temperature", "top_p")
# Phrases with which servers refuse a parameter outright (rather than one of its values).
_PARAMETER_REFUSED = re.compile(
    r"unsupported parameter|not supported|unrecognized|unknown (?:parameter|field|argument)|extra (?:inputs|fields)"
    r"|not permitted|unexpected",
    re.IGNORECASE,
)
_ALLOWED_VALUE = re.compile(r"only the default \(([-0-9.]+)\)", re.IGNORECASE)


class SamplingRejected(Exception):
    """The server will not sample as the protocol asks; the run must stop."""


class Unadaptable(Exception):
    """The server rejected something no dialect change can fix."""


@dataclass
class Dialect:
    """One server's learned request shape. Mutated only by `adapt`, shared by all requests to that server."""

    token_limit_field: str = "max_tokens"
    token_ids: bool = True
    prefill: bool = True
    stream_usage: bool = True
    seed: bool = True
    one_sample_per_request: bool = False
    omitted_sampling: tuple[str, ...] = ()
    learned: list[str] = field(default_factory=list)
    reported_model: str | None = None

    @classmethod
    def for_server(cls, vllm_extensions: bool) -> Dialect:
        """The starting dialect. Without vLLM's extensions (hosted APIs) each sample is its own request, so its
        token counts, reasoning tokens and cost are exact (a response's usage covers all its choices)."""
        if vllm_extensions:
            return cls()
        return cls(token_ids=False, prefill=False, one_sample_per_request=True)

    def body(
        self,
        model: str,
        prompt: Prompt,
        count: int,
        seed: int | None,
        sampling: SamplingConfig,
        stream: bool,
        api_params: dict[str, Any],
    ) -> dict[str, Any]:
        """The JSON body of one request for `count` samples, the first with `seed` (None: no seed is sent, the
        server's own randomness decides, as `--seed-policy engine` asks)."""
        body: dict[str, Any] = {"model": model}
        if prompt.text is not None:
            body["prompt"] = prompt.text
        else:
            messages = [dict(m) for m in prompt.messages]
            if prompt.assistant_prefix and self.prefill:
                # R1's "<think>\n": vLLM and SGLang continue the final (assistant) message.
                messages.append({"role": "assistant", "content": prompt.assistant_prefix})
                body["continue_final_message"] = True
                body["add_generation_prompt"] = False
            body["messages"] = messages
        if count > 1:
            body["n"] = count
        for name in SAMPLING_FIELDS:
            if name not in self.omitted_sampling:
                body[name] = getattr(sampling, name)
        body[self.token_limit_field] = sampling.max_tokens
        if self.seed and seed is not None:
            body["seed"] = seed
        if self.token_ids:
            body["return_token_ids"] = True
        if stream:
            body["stream"] = True
            if self.stream_usage:
                body["stream_options"] = {"include_usage": True}
        body.update(api_params)
        return body

    def adapt(self, rejection: Rejection, sent: dict[str, Any], api_params: dict[str, Any]) -> list[str]:
        """Learn from a 400 about fields of the body `sent`; returns what was newly learned.

        Raises SamplingRejected for a temperature or top-p the server will not take, Unadaptable for a field
        evalkit cannot do without (a rejected --api-param is the user's to fix).
        """
        notes: list[str] = []
        message = rejection.message
        if not rejection.fields:
            raise Unadaptable(f"rejected the request: {message}")
        for name in rejection.fields:
            if name in api_params:
                raise Unadaptable(f"rejected --api-param {name} ({message}); leave it out or change its value")
            if name in SAMPLING_FIELDS:
                notes += self._sampling(name, rejection, sent)
            elif name == "max_tokens":
                notes += self._learn(
                    "token_limit_field", "max_completion_tokens", "max_completion_tokens instead of max_tokens"
                )
            elif name == "return_token_ids":
                notes += self._learn("token_ids", False, "no return_token_ids (token counts from usage)")
                notes += self._learn("one_sample_per_request", True, "one sample per request (exact usage per sample)")
            elif name in ("continue_final_message", "add_generation_prompt"):
                notes += self._learn("prefill", False, "no assistant prefill (continue_final_message is vLLM's)")
            elif name == "stream_options":
                notes += self._learn("stream_usage", False, "no stream_options (usage only if the server sends it)")
            elif name == "seed":
                notes += self._learn("seed", False, "no seed (the server rejects it; samples are not reproducible)")
            elif name == "n":
                notes += self._learn("one_sample_per_request", True, "one sample per request (the server rejects n)")
            else:
                raise Unadaptable(f"rejected the request: {message}")
        return notes

    def _sampling(self, name: str, rejection: Rejection, sent: dict[str, Any]) -> list[str]:
        value = sent.get(name)
        flag = "--" + name.replace("_", "-")
        message = rejection.message
        if value == 1 and rejection.refused:
            # The parameter itself is refused, and 1 is the API's documented default: omitting it asks for the
            # same sampling, so nothing is dropped.
            if name not in self.omitted_sampling:
                self.omitted_sampling = (*self.omitted_sampling, name)
                note = f"{name} not sent (the server refuses the parameter; 1, as asked, is its default)"
                self.learned.append(note)
                return [note]
            return []
        allowed = _ALLOWED_VALUE.search(message)
        if allowed:
            hint = f"rerun with {flag} {allowed.group(1)}, the only value it allows"
        elif rejection.refused:
            hint = f"rerun with {flag} 1: it takes no {name} at all, and 1 is the API's default (then left out)"
        else:
            hint = f"rerun with a {name} its provider documents for this model ({flag})"
        raise SamplingRejected(
            f"rejects {name} {value} ({message}); evalkit never drops a sampling setting, so the run stops here: "
            f"{hint}, which is a different protocol and is recorded as such"
        )

    def _learn(self, attribute: str, value: Any, note: str) -> list[str]:
        if getattr(self, attribute) == value:
            return []
        setattr(self, attribute, value)
        self.learned.append(note)
        return [note]

    def learn_ignores_n(self) -> list[str]:
        """The server answered fewer choices than asked (llama.cpp, DeepSeek, OpenRouter ignore `n`)."""
        return self._learn("one_sample_per_request", True, "one sample per request (the server ignores n)")

    def describe(self) -> dict[str, Any]:
        return {
            "token_limit_field": self.token_limit_field,
            "return_token_ids": self.token_ids,
            "assistant_prefill": self.prefill,
            "stream_usage": self.stream_usage,
            "seed": self.seed,
            "samples_per_request": "one" if self.one_sample_per_request else "n",
            "sampling_not_sent": list(self.omitted_sampling),
            "learned": list(self.learned),
            "model_reported": self.reported_model,
        }


@dataclass(frozen=True)
class Rejection:
    """A 400 that names fields of the body sent; `refused` when it refuses the parameters, not their values."""

    fields: tuple[str, ...]
    refused: bool
    message: str


def read_rejection(message: str, param: str | None, code: str | None, sent: dict[str, Any]) -> Rejection:
    """Which fields of the body `sent` a 400 is about: its `param`, else any field its message names.

    A field other than temperature and top-p counts only when the parameter itself is refused ("Unsupported
    parameter", "Unrecognized request argument", "Extra inputs are not permitted"): "max_tokens is too large"
    is about a value, and no dialect fixes it.
    """
    if param and param in sent:
        named = [param]
    else:
        named = []
        for name in sent:
            if name in ("model", "messages", "prompt"):
                continue
            # Short names (n) count only when quoted; longer ones as whole words.
            quoted = rf"['\"`]{re.escape(name)}['\"`]"
            pattern = quoted if len(name) < 3 else rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])"
            if re.search(pattern, message):
                named.append(name)
    refused = code in ("unsupported_parameter", "unknown_parameter") or bool(_PARAMETER_REFUSED.search(message))
    fields = tuple(name for name in named if refused or name in SAMPLING_FIELDS)
    return Rejection(fields, refused, message)
