"""Which pinned problem a source's line answers: by the source's id when it writes the dataset's own ids, else by
the problem text, else by finding exactly one problem's text inside the prompt that was sent. Nothing is guessed:
a line that matches no problem, or more than one, stays unmatched and is reported."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from evalkit.data.datasets import Dataset, Problem
from evalkit.importers.source import SourceItem


def normalize_text(text: str) -> str:
    """Text compared for matching: Unicode-normalized, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class Match:
    problem: Problem
    how: str  # "id", "text" or "prompt"


class ProblemMatcher:
    """Matches source lines to one dataset's problems."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._by_id = dataset.by_id()
        self._texts = [(normalize_text(p.question), p) for p in dataset.problems]
        self._by_text = dict(self._texts)

    def _inside(self, text: str) -> Problem | None:
        """The one problem whose text appears inside `text`; when several do, the one containing all the others."""
        found = [(q, p) for q, p in self._texts if q and q in text]
        if not found:
            return None
        longest_text, longest = max(found, key=lambda pair: len(pair[0]))
        return longest if all(q in longest_text for q, _ in found) else None

    def match(self, item: SourceItem) -> Match | None:
        text = normalize_text(item.problem) if item.problem else None
        if item.key is not None and item.key in self._by_id:
            problem = self._by_id[item.key]
            own = normalize_text(problem.question)
            # An id agrees with the text when the text is there to check: a reused id on another problem is no match.
            if text is None or own == text or own in text:
                return Match(problem, "id")
        if text is not None:
            if text in self._by_text:
                return Match(self._by_text[text], "text")
            inside = self._inside(text)
            if inside is not None:
                return Match(inside, "text")
        if item.prompt:
            inside = self._inside(normalize_text(item.prompt))
            if inside is not None:
                return Match(inside, "prompt")
        return None


_INTEGER = re.compile(r"^[+-]?\d+$")


def same_gold(source_gold: str, pinned: str) -> bool:
    """Whether the source's gold answer is the pinned one as written differently (`025` and `25`, `$25$`)."""

    def clean(value: str) -> str:
        return value.strip().strip("$").replace(" ", "").removeprefix("\\boxed{").removesuffix("}")

    a, b = clean(source_gold), clean(pinned)
    if _INTEGER.match(a) and _INTEGER.match(b):
        return int(a) == int(b)
    return a == b
