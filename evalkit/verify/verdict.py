"""The outcome of one check, and a check left for the symbolic comparison."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one response against one gold answer.

    `extracted` is the answer found (None: there was none), `found_by` the extraction rule that found it,
    `rule` the comparison that decided, `error` why no proper decision was possible (timeout, unparseable).
    """

    extracted: str | None
    correct: bool
    rule: str
    found_by: str
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Pending:
    """A check that needs the symbolic comparison in a worker: of one prediction, or of the candidates a hedged
    prediction offers (each must equal the gold; see hedge.py)."""

    extracted: str
    found_by: str
    gold: str
    prediction: str | tuple[str, ...]
