"""Does a sample's reasoning mix languages: its words counted per writing system, with math, LaTeX, code and numbers
taken out first, and a second writing system holding a real share of them.

Writing systems, not languages, are what can be told apart reliably on a few hundred words of math prose: a Chinese
character is Chinese (or Japanese) wherever it stands, while "a", "die", "de" or "in" belong to several Latin-script
languages and to math. So English mixed with French, or Chinese with Japanese, is not measured (see
docs/training-metrics.md); English mixed with Chinese, Russian, Korean, Arabic, Hindi or Thai is.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# A sample is judged only when its reasoning has this many words outside math: a shorter one ("The answer is 5.")
# cannot show a share of anything.
MIN_JUDGED_UNITS = 20
# A second writing system mixes in when it holds at least this many words, about one short sentence (a quoted term,
# a name or a unit is fewer) ...
MIN_SECOND_UNITS = 8
# ... and at least this share of all the words: one foreign word per fifty is no longer a stray quote, while a single
# borrowed word in a long response (a real Sky-T1 response writes "即" once in 20,000 English words) stays far below.
MIN_SECOND_SHARE = 0.02
# The work is bounded: a longer reasoning is judged on this many characters, taken as evenly spread windows from
# its start to its end (so a reasoning that drifts into another language near its end is still seen).
MAX_CHARS = 40_000
WINDOWS = 10

# Latin letters: ASCII, Latin-1 and Latin Extended A/B, and Latin Extended Additional (Vietnamese).
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
# Characters that make a Latin letter run part of a formula rather than a word: digits, operators, TeX.
_MATH_NEIGHBOURS = r"0-9_^=+*/<>|{}\[\]\\"
# A run of two or more Latin letters with no digit, operator or TeX next to it (a single letter is a variable, or a
# word too short to tell a language by). The pattern opens with a letter, not a lookbehind, so the regex engine
# skips to candidate positions quickly.
_LATIN_WORD = re.compile(
    rf"[{_LATIN}](?<![{_LATIN}{_MATH_NEIGHBOURS}][{_LATIN}])[{_LATIN}]+(?![{_LATIN}{_MATH_NEIGHBOURS}(])"
)
# Names of functions and operators written in letters: math in any language, never evidence of English. Capitals
# up to five letters (ABC, AIME) are left out too: they name points and contests.
_NOT_WORDS = frozenset((
    "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan", "log", "ln", "lg",
    "exp", "lim", "max", "min", "sup", "inf", "gcd", "lcm", "mod", "det", "deg", "arg", "dim", "ker",
))  # fmt: skip


@dataclass(frozen=True)
class Script:
    """A writing system: its letters, and how many of them make one word (None: count runs of letters, for
    scripts that put spaces between words)."""

    name: str
    letters: str
    letters_per_word: float | None = None


# Greek is left out on purpose: in math prose α, π, θ, ω are symbols (a real Sky-T1 response uses ω 8,000 times).
SCRIPTS = (
    Script("Latin", _LATIN),
    # Chinese and Japanese share the Han characters, so Kana joins them: a Japanese text is not "mixed". A Chinese
    # word is one or two characters; each character counts as a word.
    Script("Han/Kana", "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f", 1.0),
    Script("Hangul", "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"),
    Script("Cyrillic", "\u0400-\u04ff\u0500-\u052f"),
    Script("Arabic", "\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f"),
    Script("Hebrew", "\u05d0-\u05ea"),
    Script("Devanagari", "\u0900-\u0963\u0970-\u097f"),
    Script("Bengali", "\u0980-\u09e3\u09f0-\u09ff"),
    Script("Tamil", "\u0b80-\u0be5\u0bf0-\u0bff"),
    Script("Armenian", "\u0531-\u0587"),
    Script("Georgian", "\u10a0-\u10ff"),
    # Thai is written without spaces between words; its words average about three letters.
    Script("Thai", "\u0e01-\u0e4e", 3.0),
)
_LETTERS = {s.name: re.compile(f"[{s.letters}]") for s in SCRIPTS}
_RUNS = {s.name: re.compile(f"[{s.letters}]+") for s in SCRIPTS}
# Any letter of a script other than Latin: one pass finds them all, and only the scripts among them are counted.
_OTHER_SCRIPT = re.compile("[" + "".join(s.letters for s in SCRIPTS[1:]) + "]")

# Math, LaTeX and code, each bounded in length so an unclosed delimiter costs a bounded scan, not the rest of the text.
_NOT_PROSE = re.compile(
    r"```.{0,20000}?```"  # fenced code
    r"|`[^`\n]{1,300}`"  # inline code
    r"|\$\$.{0,5000}?\$\$|\\\[.{0,5000}?\\\]|\\\(.{0,2000}?\\\)"  # display and inline TeX math
    r"|\\begin\{([A-Za-z*]+)\}.{0,10000}?\\end\{\1\}"  # TeX environments (align, cases, array...)
    r"|\$(?:[^$\\]|\\.){1,1000}?\$"  # $ ... $
    r"|\\[A-Za-z]+"  # a TeX command outside math (\frac, \boxed), its arguments left as numbers and letters
    r"|https?://\S+",
    re.DOTALL,
)
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def reasoning_text(text: str, reasoning: str | None = None) -> str:
    """The reasoning of a sample: the separate reasoning a server sent, else the `<think>` block of the text (from
    `<think>` to `</think>`, or to the end when it never closed, or from the start when the prompt opened it), else
    the whole text."""
    if reasoning and reasoning.strip():
        return reasoning
    start = text.find(_THINK_OPEN)
    end = text.find(_THINK_CLOSE, start + len(_THINK_OPEN) if start >= 0 else 0)
    if start >= 0:
        return text[start + len(_THINK_OPEN) : end if end >= 0 else len(text)]
    return text[:end] if end >= 0 else text


def bounded(text: str, limit: int = MAX_CHARS, windows: int = WINDOWS) -> str:
    """`text` itself, or `windows` evenly spread pieces of it totalling `limit` characters, joined by blank lines."""
    if len(text) <= limit:
        return text
    size = limit // windows
    stride = (len(text) - size) / (windows - 1)
    return "\n\n".join(text[round(i * stride) : round(i * stride) + size] for i in range(windows))


def prose(text: str) -> str:
    """`text` without fenced or inline code, TeX math (delimited or as bare commands) and addresses."""
    return _NOT_PROSE.sub(" ", text)


@dataclass(frozen=True)
class LanguageMix:
    """Words per writing system in one reasoning, and what they mean: `mixed` is None when it is too short to say."""

    units: tuple[tuple[str, int], ...]  # (script, words), most words first; scripts with none left out

    @property
    def total(self) -> int:
        return sum(count for _, count in self.units)

    @property
    def main(self) -> str | None:
        return self.units[0][0] if self.units else None

    @property
    def second(self) -> str | None:
        return self.units[1][0] if len(self.units) > 1 else None

    @property
    def second_share(self) -> float:
        return self.units[1][1] / self.total if len(self.units) > 1 else 0.0

    @property
    def mixed(self) -> bool | None:
        if self.total < MIN_JUDGED_UNITS:
            return None
        return len(self.units) > 1 and self.units[1][1] >= MIN_SECOND_UNITS and self.second_share >= MIN_SECOND_SHARE

    @property
    def pair(self) -> str | None:
        """The main writing system and the one mixed into it ("Latin+Han/Kana"), when mixed."""
        return f"{self.main}+{self.second}" if self.mixed else None


def _latin_words(text: str) -> int:
    words = Counter(_LATIN_WORD.findall(text))
    left_out = sum(c for w, c in words.items() if w in _NOT_WORDS or (len(w) <= 5 and w.isupper()))
    return sum(words.values()) - left_out


def count_words(text: str) -> LanguageMix:
    """Words per writing system in `text` as it is (math not taken out)."""
    counts = {"Latin": _latin_words(text)}
    others = "".join(_OTHER_SCRIPT.findall(text))
    for script in SCRIPTS[1:] if others else ():
        if not _LETTERS[script.name].search(others):
            continue
        if script.letters_per_word:
            letters = len(_LETTERS[script.name].findall(others))
            counts[script.name] = math.ceil(letters / script.letters_per_word)
        else:
            counts[script.name] = len(_RUNS[script.name].findall(text))
    ranked = sorted(((name, n) for name, n in counts.items() if n), key=lambda item: -item[1])
    return LanguageMix(tuple(ranked))


def measure(text: str, reasoning: str | None = None) -> LanguageMix:
    """The writing systems of a sample's reasoning (see `reasoning_text`), math and code taken out, work bounded."""
    return count_words(prose(bounded(reasoning_text(text, reasoning))))
