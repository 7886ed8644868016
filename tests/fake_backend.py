"""An in-process Backend for pipeline tests: deterministic completions, optional failure after k samples."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from fake_openai_server import fake_completion

from evalkit.backends.base import BackendError, Completion, SampleRequest
from evalkit.config import SamplingConfig


class FakeBackend:
    """`text_for(problem_id, sample_index)`, when given, replaces the generated text (e.g. answers that take the
    verifier its whole time bound); `on_resume(yielded)` runs each time the consumer asks for the next sample."""

    def __init__(
        self,
        gold: dict[str, str] | None = None,
        fail_after: int | None = None,
        context: int | None = None,
        text_for: Callable[[str, int], str] | None = None,
        on_resume: Callable[[int], None] | None = None,
    ):
        self.gold = gold or {}
        self.fail_after = fail_after
        self.context = context
        self.text_for = text_for
        self.on_resume = on_resume
        self.requests: list[SampleRequest] = []
        self.yielded = 0

    def describe(self) -> dict[str, Any]:
        return {"kind": "fake"}

    def context_length(self) -> int | None:
        return self.context

    def prompt_tokens(self, prompt) -> int:
        return sum(len(m["content"].split()) for m in prompt.messages)

    def close(self) -> None:
        pass

    async def generate(self, requests: Sequence[SampleRequest], sampling: SamplingConfig) -> AsyncIterator[Completion]:
        for request in requests:
            self.requests.append(request)
            prompt = "\n".join(m["content"] for m in request.prompt.messages)
            for offset in range(request.count):
                seed = request.seed_of(offset)
                if self.fail_after is not None and self.yielded >= self.fail_after:
                    raise BackendError("the fake server went away")
                text, reason, tokens = fake_completion(
                    prompt, seed or 0, sampling.max_tokens, self.gold.get(request.prompt.problem_id)
                )
                if self.text_for is not None:
                    text, reason = self.text_for(request.prompt.problem_id, request.first_index + offset), "stop"
                self.yielded += 1
                completion = Completion(
                    problem_id=request.prompt.problem_id,
                    sample_index=request.first_index + offset,
                    text=text,
                    finish_reason=reason,
                    prompt_tokens=len(prompt.split()),
                    output_tokens=tokens,
                    seed=seed,
                )
                yield completion
                if self.on_resume is not None:
                    self.on_resume(self.yielded)
