"""The backend protocol: rendered prompts in, completions out as each one finishes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from evalkit.config import SamplingConfig


@dataclass(frozen=True)
class Prompt:
    """One problem's prompt in both forms a backend may need: chat messages, or plain text for completion APIs."""

    problem_id: str
    messages: tuple[dict[str, str], ...]
    assistant_prefix: str
    text: str | None = None  # completion-mode text; None in chat mode


@dataclass(frozen=True)
class SampleRequest:
    """Draw samples `first_index .. first_index + count - 1` of one problem; sample i gets seed `seed + i - first`
    (seed None: the engine's own randomness, `--seed-policy engine`)."""

    prompt: Prompt
    first_index: int
    count: int
    seed: int | None

    def seed_of(self, offset: int) -> int | None:
        """The seed of sample `first_index + offset`."""
        return None if self.seed is None else self.seed + offset


@dataclass(frozen=True)
class Completion:
    """One sample as the backend produced it.

    `text` is the answer content; `reasoning` the separate thinking text a reasoning server returns beside it
    (None when the server gives none, e.g. a `<think>` block left inline in `text`). `output_tokens` counts
    both; `reasoning_tokens` the thinking part, when the server reports it.
    """

    problem_id: str
    sample_index: int
    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    output_tokens: int | None
    seed: int | None
    tokens_exact: bool = True
    reasoning: str | None = None
    reasoning_tokens: int | None = None


class BackendError(Exception):
    """The backend cannot go on (server gone, out of memory, bad model). Samples already stored are safe."""


class Backend(Protocol):
    """Generates completions. Implementations decide their own concurrency; `generate` must yield each
    completion as soon as it exists, never after waiting for the whole batch."""

    def describe(self) -> dict[str, Any]:
        """Settings and versions for the manifest (endpoints without credentials)."""
        ...

    def context_length(self) -> int | None:
        """The model's maximum sequence length, when the backend can tell before generating."""
        ...

    def generate(self, requests: Sequence[SampleRequest], sampling: SamplingConfig) -> AsyncIterator[Completion]: ...

    def close(self) -> None: ...
