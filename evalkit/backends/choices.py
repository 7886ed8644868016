"""Samples out of OpenAI-style responses: assembled from streamed deltas, or read from one JSON body.

The answer is `content` (chat) or `text` (completions); the thinking a reasoning server returns beside it is
`reasoning_content` (vLLM's reasoning parsers until 0.10, DeepSeek, SGLang) or `reasoning` (OpenRouter, newer
vLLM). Token counts come, best first, from vLLM's per-choice `token_ids`, from `usage` when the response holds
one choice, else they are an estimate (`tokens_exact` False).

What a server sends is checked here, where it enters. A choice that cannot be a sample (an index that is not a
non-negative integer, text that is not text) raises MalformedChoice: the event is broken, and the request is
retried like any other transient fault. A token count that is not a sane count is dropped instead (recorded as
unknown, and named in `dropped` so the caller can say so once): the sample's text is good, a retry would only
bring the same bad count back from the same server, and counts feed nothing but cost and token statistics,
which say how many samples they could not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A choice that ended like this produced no sample (vLLM aborts, OpenRouter reports a provider error): draw it again.
FAILED_FINISH_REASONS = frozenset({"error", "abort"})
# No request reads or writes a billion tokens (the longest contexts are a few million); a larger number is not a
# count, and would overflow the 64-bit integers of the tables and languages that read a run.
MAX_TOKEN_COUNT = 10**9


class MalformedChoice(ValueError):
    """A choice that cannot be a sample: its index is not a non-negative integer, or its text is not text."""


@dataclass(frozen=True)
class FinishedChoice:
    """One finished choice of a response, `index` as the server numbered it."""

    index: int
    text: str
    reasoning: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    output_tokens: int | None
    tokens_exact: bool
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None

    @classmethod
    def of(cls, usage: Any, dropped: list[str] | None = None) -> Usage | None:
        """The counts of a `usage` object; a count that is not a sane one is None, and described in `dropped`."""
        if not isinstance(usage, dict):
            if usage is not None:
                _drop(dropped, f"usage {_shown(usage)}")
            return None
        details = usage.get("completion_tokens_details")
        reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
        return cls(
            token_count(usage.get("prompt_tokens"), "usage.prompt_tokens", dropped),
            token_count(usage.get("completion_tokens"), "usage.completion_tokens", dropped),
            token_count(reasoning, "usage.completion_tokens_details.reasoning_tokens", dropped),
        )


def token_count(value: Any, name: str, dropped: list[str] | None = None) -> int | None:
    """`value` when it is an integer in 0..MAX_TOKEN_COUNT; else None, described in `dropped` (a bool, a string,
    a float, a negative or absurd number: none of them is a count)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKEN_COUNT:
        return value
    _drop(dropped, f"{name} {_shown(value)}")
    return None


def _ids_count(value: Any, name: str, dropped: list[str] | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, list):
        return len(value)
    _drop(dropped, f"{name} {_shown(value)}")
    return None


def _drop(dropped: list[str] | None, what: str) -> None:
    # A few are enough to say what was wrong; a server that sends a bad count on every event would fill memory.
    if dropped is not None and len(dropped) < 8:
        dropped.append(what)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _index(choice: dict[str, Any]) -> int:
    """The server's number for a choice (0 when it gives none, as single-choice servers may)."""
    index = choice.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise MalformedChoice(f"a choice has index {_shown(index)}, not a non-negative integer")
    return index


def _text(part: dict[str, Any], name: str, index: int) -> str | None:
    value = part.get(name)
    if value is None or isinstance(value, str):
        return value
    raise MalformedChoice(f"choice {index}'s `{name}` is {type(value).__name__} {_shown(value)}, not text")


def _reasoning_of(part: dict[str, Any], index: int) -> str | None:
    # Servers in transition send the same text under both names; take one, never both.
    value = _text(part, "reasoning_content", index)
    return _text(part, "reasoning", index) if value is None else value


def _finish_reason(choice: dict[str, Any], index: int) -> str | None:
    # Ollama once sent "" on every chunk: no reason yet, as null is.
    return _text(choice, "finish_reason", index) or None


def _part(choice: dict[str, Any], name: str, index: int) -> dict[str, Any]:
    value = choice.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedChoice(f"choice {index}'s `{name}` is {type(value).__name__}, not an object")
    return value


def _choices(container: dict[str, Any]) -> list[dict[str, Any]]:
    choices = container.get("choices")
    if choices is None:
        return []
    if type(choices) is not list:
        raise MalformedChoice("`choices` is not a list of objects")
    for choice in choices:
        if type(choice) is not dict:
            raise MalformedChoice("`choices` is not a list of objects")
    return choices


class _Draft:
    __slots__ = ("text", "reasoning", "token_ids", "deltas", "finish_reason")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.token_ids: int | None = None
        self.deltas = 0
        self.finish_reason: str | None = None


class StreamAssembler:
    """Feeds on a stream's events; hands back each choice when its finish_reason arrives.

    When one choice was asked for, it is held until the stream ends (the usage chunk follows its finish_reason
    at once) so its token counts and reasoning tokens are exact. Choices of a multi-sample request are handed
    over at once, with vLLM's exact counts or an estimate. Counts that are no counts are named in `dropped`.
    """

    def __init__(self, chat: bool, asked: int) -> None:
        self.chat = chat
        self.asked = asked
        self.drafts: dict[int, _Draft] = {}
        self.done: set[int] = set()
        self.failed: dict[int, str] = {}
        self.held: list[int] = []
        self.usage: Usage | None = None
        self.prompt_tokens: int | None = None
        self.model: str | None = None
        self.dropped: list[str] = []
        self.ended_without_reason: list[int] = []

    @property
    def unfinished(self) -> list[int]:
        """Choices that started but neither finished nor failed."""
        return [i for i in self.drafts if i not in self.done and i not in self.failed]

    def feed(self, event: dict[str, Any]) -> list[FinishedChoice]:
        """The choices this event finishes (raises MalformedChoice for a choice that cannot be a sample)."""
        if self.model is None and isinstance(event.get("model"), str):
            self.model = event["model"]
        usage = event.get("usage")
        if usage:
            self.usage = Usage.of(usage, self.dropped) or self.usage
        if self.prompt_tokens is None and "prompt_token_ids" in event:
            self.prompt_tokens = _ids_count(event["prompt_token_ids"], "prompt_token_ids", self.dropped)
        finished: list[FinishedChoice] = []
        # The checks are written out for the common case (this runs once per streamed token); the helpers raise.
        for choice in _choices(event):
            index = choice.get("index", 0)
            if type(index) is not int or index < 0:  # type(): a bool is no index
                index = _index(choice)
            if self.chat:
                delta = choice.get("delta")
                if type(delta) is not dict:
                    delta = _part(choice, "delta", index)
                content = delta.get("content")
                if content is not None and type(content) is not str:
                    _text(delta, "content", index)
                reasoning = delta.get("reasoning_content")
                if reasoning is None:
                    reasoning = delta.get("reasoning")
                if reasoning is not None and type(reasoning) is not str:
                    _reasoning_of(delta, index)
            else:
                content, reasoning = _text(choice, "text", index), None
            reason = choice.get("finish_reason")
            if reason is not None:
                reason = _finish_reason(choice, index)
            draft = self.drafts.get(index)
            if draft is None:
                draft = self.drafts[index] = _Draft()
            if content:
                draft.text.append(content)
            if reasoning:
                draft.reasoning.append(reasoning)
            if content or reasoning:
                draft.deltas += 1
            ids = choice.get("token_ids")
            if ids is not None:
                count = len(ids) if type(ids) is list else _ids_count(ids, "token_ids", self.dropped)
                if count is not None:
                    draft.token_ids = (draft.token_ids or 0) + count
            if self.prompt_tokens is None and "prompt_token_ids" in choice:
                self.prompt_tokens = _ids_count(choice["prompt_token_ids"], "prompt_token_ids", self.dropped)
            if reason and index not in self.done and index not in self.failed:
                if reason in FAILED_FINISH_REASONS:
                    self.failed[index] = reason
                    continue
                finished += self._finish(index, reason)
        return finished

    def end(self) -> list[FinishedChoice]:
        """The stream said `[DONE]`: a choice still without a finish_reason ends here, its finish_reason unknown
        (None), never guessed: "stop" would hide a truncation. Gemini's OpenAI-compatible proxies and servers
        that send "" or null on every chunk end so; vLLM, SGLang and llama.cpp always send a reason."""
        finished: list[FinishedChoice] = []
        for index in self.unfinished:
            self.ended_without_reason.append(index)
            finished += self._finish(index, None)
        return finished

    def _finish(self, index: int, reason: str | None) -> list[FinishedChoice]:
        draft = self.drafts[index]
        draft.finish_reason = reason
        self.done.add(index)
        if self.asked == 1:
            self.held.append(index)
            return []
        return [self._finished(index, draft)]

    def release(self) -> list[FinishedChoice]:
        """The held choices, at the end of the stream (also one that broke off: they had finished)."""
        held, self.held = self.held, []
        return [self._finished(index, self.drafts[index]) for index in held]

    def _finished(self, index: int, draft: _Draft) -> FinishedChoice:
        usage = self.usage
        alone = len(self.drafts) == 1 and self.asked == 1
        prompt_tokens = self.prompt_tokens
        if prompt_tokens is None and usage is not None:
            prompt_tokens = usage.prompt_tokens
        reasoning_tokens = usage.reasoning_tokens if (usage is not None and alone) else None
        if draft.token_ids is not None:
            tokens, exact = draft.token_ids, True
        elif alone and usage is not None and usage.completion_tokens is not None:
            tokens, exact = usage.completion_tokens, True
        else:
            tokens, exact = draft.deltas, False  # most servers stream one token per event
        return FinishedChoice(
            index=index,
            text="".join(draft.text),
            reasoning="".join(draft.reasoning) if draft.reasoning else None,
            finish_reason=draft.finish_reason,
            prompt_tokens=prompt_tokens,
            output_tokens=tokens,
            tokens_exact=exact,
            reasoning_tokens=reasoning_tokens,
        )


def response_choices(
    body: dict[str, Any], chat: bool, dropped: list[str] | None = None
) -> tuple[list[FinishedChoice], list[int]]:
    """The finished choices of a non-streamed response, and the indices of choices that failed.

    Raises ValueError (MalformedChoice) for a body that holds no sample; counts that are no counts are None and
    named in `dropped`.
    """
    raw = body.get("choices")
    if not isinstance(raw, list):
        raise ValueError("the response has no `choices` list")
    raw = _choices(body)
    usage = Usage.of(body.get("usage"), dropped)
    prompt_tokens = _ids_count(body.get("prompt_token_ids"), "prompt_token_ids", dropped)
    if prompt_tokens is None and usage is not None:
        prompt_tokens = usage.prompt_tokens
    finished, failed = [], []
    for choice in raw:
        index = _index(choice)
        reason = _finish_reason(choice, index)
        if reason in FAILED_FINISH_REASONS:
            failed.append(index)
            continue
        if chat:
            message = _part(choice, "message", index)
            text, reasoning = _text(message, "content", index) or "", _reasoning_of(message, index) or None
        else:
            text, reasoning = _text(choice, "text", index) or "", None
        ids = _ids_count(choice.get("token_ids"), "token_ids", dropped)
        total = usage.completion_tokens if usage else None
        if ids is not None:
            tokens, exact = ids, True
        elif total is not None and len(raw) == 1:
            tokens, exact = total, True
        elif total is not None:
            tokens, exact = round(total / len(raw)), False
        else:
            tokens, exact = None, False
        finished.append(
            FinishedChoice(
                index=index,
                text=text,
                reasoning=reasoning,
                finish_reason=reason,
                prompt_tokens=prompt_tokens,
                output_tokens=tokens,
                tokens_exact=exact,
                reasoning_tokens=usage.reasoning_tokens if (usage and len(raw) == 1) else None,
            )
        )
    return finished, failed
