"""Hedges: a prediction that offers several answers where the gold is one value earns nothing.

Reinforcement learning finds whatever a reward pays. A prediction that hedges ("5 or 6", `\\boxed{5, 6}`,
`\\{5, 6\\}`, `[4, 6]`, `4 \\le x \\le 6`, `x > 4`, `5 \\pm 1`, "if x > 0 then 5, otherwise 6") would be right
whenever one of its candidates is, so against a gold that is one value it is right only when every candidate it
offers is that value (the same answer twice: `\\boxed{5}` and `\\boxed{5}`, "1/2, i.e. 0.5"); otherwise the rule
that decides is `hedge`. A range of values (an inequality, an interval, a tuple, `\\pm`) offers no value to list and
is a hedge outright. A gold that is itself a list, set, tuple, interval, inequality or "5 or 6" is compared as
before: there several values are the answer. This module only reads canonical text (normalize.canonical); the
rule sets (rules.py, and symbolic.py for candidates that need sympy) decide with it. Everything is linear-time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evalkit.verify.extract import LazyPattern, is_expression
from evalkit.verify.languages import (
    ALTERNATIVE_CJK,
    ALTERNATIVE_WORDS,
    EQUIVALENCE_CJK,
    EQUIVALENCE_WORDS,
    HEDGE_QUALIFIERS,
    HEDGE_QUALIFIERS_CJK,
    fold_case,
    vocabulary_pattern,
)

# Several values at once: relations (after canonical, `\lt` is `<`), plus-minus, membership, unions.
_RANGE = re.compile(
    r"<|>|≤|≥|≠|±|∓|∈|∪|\\(?:leq?|geq?|leqslant|geqslant|neq?|lt|gt|pm|mp|in|notin|cup|subset|subseteq)(?![A-Za-z])"
)
# "and" between values: a list of answers, which against one value is as much a hedge as "or".
_AND_WORDS = ("and", "et", "y", "und", "e", "и", "và", "sowie")
_AND_CJK = ("以及", "和", "与", "與", "及", "および", "그리고")
# Short words that are common words elsewhere: they separate answers only between two values written in digits or
# LaTeX ("5 o 6", "5 e 6", "5か6"), never beside words ("o resultado").
_AMBIGUOUS = frozenset(("o", "u", "e", "y", "и", "か"))
_SEPARATOR = LazyPattern(
    lambda: r"[,;]|" + vocabulary_pattern(ALTERNATIVE_WORDS + ALTERNATIVE_CJK + _AND_WORDS + _AND_CJK)
)
_QUALIFIER = LazyPattern(lambda: r"^(?:\s*(?:" + vocabulary_pattern(HEDGE_QUALIFIERS + HEDGE_QUALIFIERS_CJK) + r"))+")
_EQUIVALENCE = LazyPattern(lambda: r"^\s*(?:" + vocabulary_pattern(EQUIVALENCE_WORDS + EQUIVALENCE_CJK) + r")")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_MATHY = re.compile(r"[\d\\]")
# Longer predictions are not split: a hedge is a short answer.
MAX_SPLIT_CHARS = 2_000


@dataclass(frozen=True)
class Offer:
    """What a prediction offers: its candidate answers (canonical text, in order, repeats kept), or a range of
    values that cannot be listed (`ranged`: an inequality, an interval or tuple, `\\pm`)."""

    candidates: tuple[str, ...]
    ranged: bool = False


def _depths(text: str) -> list[int]:
    """The bracket depth at each character: (), [], {}, `\\{ \\}` and `\\begin ... \\end` all count."""
    depths = []
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if text.startswith("\\begin", i):
            depth += 1
        elif text.startswith("\\end", i):
            depth = max(0, depth - 1)
        if ch in "([{":
            depth += 1
            depths.append(depth)
        elif ch in ")]}":
            depths.append(depth)
            depth = max(0, depth - 1)
        else:
            depths.append(depth)
        i += 1
    return depths


def _collection(text: str) -> tuple[str, list[str]] | None:
    """(opening bracket, elements) when the whole text is one bracketed collection of two or more elements:
    `(4, 6)`, `[4, 6)`, `\\{5, 6\\}`; None otherwise (`(5)`, `f(1, 2)`, `(1, 2) + (3, 4)`)."""
    body = text
    opener = text[:1]
    if text.startswith("\\{") and text.endswith("\\}"):
        body, opener = text[1:-2] + "}", "{"
    if opener not in _OPENERS or not body or body[-1] not in ")]}":
        return None
    depths = _depths(body)
    if any(depth == 0 for depth in depths[1:-1]):
        return None  # the first bracket closes before the end
    cuts = [i for i, ch in enumerate(body) if ch in ",;" and depths[i] == 1]
    if not cuts:
        return None
    edges = [0, *cuts, len(body) - 1]
    return opener, [body[a + 1 : b].strip() for a, b in zip(edges, edges[1:])]


def _top_level_parts(text: str) -> list[str] | None:
    """The text cut at its top-level separators (commas, semicolons, "or" and "and" words in any language), or
    None when it has none. A comma between two digits ("2,5", "1,000") does not cut."""
    depths = _depths(text)
    folded = fold_case(text)
    parts = []
    start = 0
    for match in _SEPARATOR.finditer(folded):
        at, end = match.start(), match.end()
        if depths[at] != 0:
            continue
        word = match.group().strip()
        if word == "," and 0 < at < len(text) - 1 and text[at - 1].isdigit() and text[at + 1].isdigit():
            continue
        if word in _AMBIGUOUS:
            # Between two values, and (but for "か") as a word of its own: "5 o 6", never "4.1e-2" or "o resultado".
            spaced = word == "か" or (text[at - 1 : at].isspace() and text[end : end + 1].isspace())
            before, after = text[:at].rstrip()[-1:], text[end:].lstrip()[:1]
            mathy = (_MATHY.match(before) or before in ")}") and (_MATHY.match(after) or after == "-")
            if not (spaced and before and after and mathy):
                continue
        parts.append(text[start:at])
        start = end
    if not parts:
        return None
    parts.append(text[start:])
    return parts


def offer(prediction: str, mathematical: bool = True) -> Offer | None:
    """What a canonical prediction offers when it is more than one plain answer; None when it is one answer.

    `mathematical`: the gold is written with digits or LaTeX, so every candidate must be too ("So, 644" is one
    answer with a word before it, not two answers); against a gold in words ("Evelyn") any short phrase counts.
    """
    text = prediction.strip()
    if not text or len(text) > MAX_SPLIT_CHARS:
        return None
    if _RANGE.search(text):
        return Offer((), ranged=True)
    collection = _collection(text)
    if collection is not None:
        opener, elements = collection
        return Offer(tuple(elements)) if opener == "{" else Offer((), ranged=True)
    parts = _top_level_parts(text)
    if parts is None:
        return None
    candidates = []
    for part in parts:
        if _EQUIVALENCE.match(fold_case(part)):
            continue  # "1/2, i.e. 0.5": the same answer written again
        qualifier = _QUALIFIER.match(fold_case(part))
        part = (part[qualifier.end() :] if qualifier else part).strip(" :")
        if not part:
            continue
        if not is_expression(part) or (mathematical and not _MATHY.search(part)):
            return None  # prose, not a list of answers ("the sum of 5 and 6")
        candidates.append(part)
    return Offer(tuple(candidates)) if candidates else None


def single_valued(gold: str) -> bool:
    """Whether a canonical gold names one value: not a list, set, tuple, interval, inequality, `\\pm` or "5 or 6"."""
    found = offer(gold, mathematical=is_mathematical(gold))
    return found is None or (not found.ranged and len(found.candidates) < 2)


def is_mathematical(gold: str) -> bool:
    """Whether a gold is written with digits or LaTeX (not only words, as "Evelyn" or "north")."""
    return _MATHY.search(gold) is not None
