"""The lines of a run's two append-only files: a sample as generated, and a verdict on it under one rule set."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from evalkit.store.files import json_line


class RecordError(ValueError):
    """A line that is not a valid record (edited by hand, or written by something else)."""


def _text(data: dict[str, Any], key: str, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise RecordError(f"`{key}` must be text")
    return value


def _count(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"`{key}` must be a non-negative integer")
    return value


def _key(data: dict[str, Any]) -> tuple[str, int]:
    problem_id = data.get("problem_id")
    if not isinstance(problem_id, (str, int)) or isinstance(problem_id, bool) or str(problem_id) == "":
        raise RecordError("`problem_id` must be a non-empty string")
    index = data.get("sample_index")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise RecordError("`sample_index` must be a non-negative integer")
    return str(problem_id), index


@dataclass(frozen=True)
class SampleRecord:
    """One completion as stored: the answer text and any separate reasoning, how it ended, its token counts,
    and its seed. Written the moment it arrives, before any verdict."""

    problem_id: str
    sample_index: int
    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    output_tokens: int | None
    seed: int | None
    # Only in files written before verdicts moved to verdicts.jsonl; read as verdicts of the manifest's rule set.
    verdict: dict[str, Any] | None = None
    tokens_exact: bool = True
    reasoning: str | None = None
    reasoning_tokens: int | None = None
    # Imported runs only: the source harness's own extracted answer and verdict for this sample.
    source: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.problem_id, self.sample_index

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_json(self) -> str:
        data = asdict(self)
        for optional in ("verdict", "source"):
            if data[optional] is None:
                del data[optional]
        return json_line(data)

    @classmethod
    def from_dict(cls, data: Any) -> SampleRecord:
        if not isinstance(data, dict):
            raise RecordError("a sample record is a JSON object")
        problem_id, index = _key(data)
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise RecordError("`seed` must be an integer")
        verdict = data.get("verdict")
        if verdict is not None and not isinstance(verdict, dict):
            raise RecordError("`verdict` must be an object")
        source = data.get("source")
        if source is not None and not isinstance(source, dict):
            raise RecordError("`source` must be an object")
        return cls(
            problem_id=problem_id,
            sample_index=index,
            text=_text(data, "text"),  # type: ignore[arg-type]
            finish_reason=_text(data, "finish_reason", optional=True),
            prompt_tokens=_count(data, "prompt_tokens"),
            output_tokens=_count(data, "output_tokens"),
            seed=seed,
            verdict=verdict,
            tokens_exact=bool(data.get("tokens_exact", True)),
            reasoning=_text(data, "reasoning", optional=True),
            reasoning_tokens=_count(data, "reasoning_tokens"),
            source=source,
        )


@dataclass(frozen=True)
class VerdictRecord:
    """The verdict on one stored sample under one rule set (`rules`)."""

    problem_id: str
    sample_index: int
    rules: str
    verdict: dict[str, Any]

    @property
    def key(self) -> tuple[str, int]:
        return self.problem_id, self.sample_index

    def to_json(self) -> str:
        return json_line(asdict(self))

    @classmethod
    def from_dict(cls, data: Any) -> VerdictRecord:
        if not isinstance(data, dict):
            raise RecordError("a verdict record is a JSON object")
        problem_id, index = _key(data)
        verdict = data.get("verdict")
        if not isinstance(verdict, dict) or not isinstance(verdict.get("correct"), bool):
            raise RecordError("`verdict` must be an object with a boolean `correct`")
        return cls(problem_id, index, _text(data, "rules"), verdict)  # type: ignore[arg-type]
