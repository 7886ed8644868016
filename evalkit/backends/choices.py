"""Samples out of OpenAI-style responses: assembled from streamed deltas, or read from one JSON body.

The answer is `content` (chat) or `text` (completions); the thinking a reasoning server returns beside it is
`reasoning_content` (vLLM's reasoning parsers until 0.10, DeepSeek, SGLang) or `reasoning` (OpenRouter, newer
vLLM). Token counts come, best first, from vLLM's per-choice `token_ids`, from `usage` when the response holds
one choice, else they are an estimate (`tokens_exact` False).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A choice that ended like this produced no sample (vLLM aborts, OpenRouter reports a provider error): draw it again.
FAILED_FINISH_REASONS = frozenset({"error", "abort"})


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
    def of(cls, usage: Any) -> Usage | None:
        if not isinstance(usage, dict):
            return None
        details = usage.get("completion_tokens_details")
        reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
        return cls(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")), _int(reasoning))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _reasoning_of(part: dict[str, Any]) -> str | None:
    # Servers in transition send the same text under both names; take one, never both.
    value = part.get("reasoning_content")
    if value is None:
        value = part.get("reasoning")
    return value if isinstance(value, str) else None


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
    over at once, with vLLM's exact counts or an estimate.
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

    @property
    def unfinished(self) -> list[int]:
        """Choices that started but neither finished nor failed."""
        return [i for i in self.drafts if i not in self.done and i not in self.failed]

    def feed(self, event: dict[str, Any]) -> list[FinishedChoice]:
        if self.model is None and isinstance(event.get("model"), str):
            self.model = event["model"]
        usage = event.get("usage")
        if usage:
            self.usage = Usage.of(usage) or self.usage
        if self.prompt_tokens is None and isinstance(event.get("prompt_token_ids"), list):
            self.prompt_tokens = len(event["prompt_token_ids"])
        finished: list[FinishedChoice] = []
        for choice in event.get("choices") or ():
            index = choice.get("index", 0)
            draft = self.drafts.get(index)
            if draft is None:
                draft = self.drafts[index] = _Draft()
            if self.chat:
                delta = choice.get("delta") or {}
                content = delta.get("content")
                reasoning = _reasoning_of(delta)
            else:
                content, reasoning = choice.get("text"), None
            if content:
                draft.text.append(content)
            if reasoning:
                draft.reasoning.append(reasoning)
            if content or reasoning:
                draft.deltas += 1
            ids = choice.get("token_ids")
            if ids is not None:
                draft.token_ids = (draft.token_ids or 0) + len(ids)
            if self.prompt_tokens is None and isinstance(choice.get("prompt_token_ids"), list):
                self.prompt_tokens = len(choice["prompt_token_ids"])
            reason = choice.get("finish_reason")
            if reason and index not in self.done and index not in self.failed:
                if reason in FAILED_FINISH_REASONS:
                    self.failed[index] = reason
                    continue
                draft.finish_reason = reason
                self.done.add(index)
                if self.asked == 1:
                    self.held.append(index)
                else:
                    finished.append(self._finished(index, draft))
        return finished

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


def response_choices(body: dict[str, Any], chat: bool) -> tuple[list[FinishedChoice], list[int]]:
    """The finished choices of a non-streamed response, and the indices of choices that failed."""
    raw = body.get("choices")
    if not isinstance(raw, list):
        raise ValueError("the response has no `choices` list")
    usage = Usage.of(body.get("usage"))
    prompt_ids = body.get("prompt_token_ids")
    prompt_tokens = len(prompt_ids) if isinstance(prompt_ids, list) else (usage.prompt_tokens if usage else None)
    finished, failed = [], []
    for choice in raw:
        index = choice.get("index", 0)
        reason = choice.get("finish_reason")
        if reason in FAILED_FINISH_REASONS:
            failed.append(index)
            continue
        if chat:
            message = choice.get("message") or {}
            text, reasoning = message.get("content") or "", _reasoning_of(message) or None
        else:
            text, reasoning = choice.get("text") or "", None
        ids = choice.get("token_ids")
        total = usage.completion_tokens if usage else None
        if isinstance(ids, list):
            tokens, exact = len(ids), True
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
