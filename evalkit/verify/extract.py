"""Find the final answer in a model response: think blocks, \\boxed{}, `Answer:` lines, "the final answer is".

Rules, from strongest to weakest evidence:
1. explicit markers: the last \\boxed{}/\\fbox{} (sibling boxes joined by "and"/"," kept together), an
   `Answer:` / `Final Answer:` line, "the final answer is ..."; the one placed last in the text wins;
2. "the answer is ..." and a complete concluding sentence at the very end ("Therefore, the area is $12$.");
3. a response that is only an answer: a bare expression (`42`, `x = 3`) or one short statement.
There is no "last number anywhere in the text" fallback: reasoning cut off mid-way has no answer, and a
response known to be truncated gets only rule 1.

Everything here is a linear scan over bounded windows of text, so extraction runs in the calling process
and cannot hang, even on megabytes of output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
BOX_COMMANDS = ("\\boxed", "\\fbox")
# Answer markers and concluding sentences are searched in the end of the text only: a final answer sits
# there, and bounding the window bounds the work on pathological inputs.
TAIL_WINDOW = 20_000
SENTENCE_WINDOW = 1_500
# A response with no marker is read as a whole answer only when it is this short.
SHORT_RESPONSE_CHARS = 300
EXPRESSION_MAX_WORDS = 2
MAX_SIBLING_BOXES = 32


@dataclass(frozen=True)
class Extraction:
    """The answer found in a response (None when there is none), the rule that found it, and where."""

    answer: str | None
    rule: str
    position: int = -1


NO_ANSWER = Extraction(None, "none")


def answer_region(response: str) -> tuple[str, str | None, bool]:
    """Split off reasoning: (text to search, finished reasoning to fall back on, think block left unfinished).

    A response that opens <think> and never closes it was cut off while reasoning: nothing in it counts.
    R1-style templates put `<think>\\n` in the prompt, so a response may hold only the closing tag.
    """
    close = response.rfind(THINK_CLOSE)
    if close != -1:
        return response[close + len(THINK_CLOSE) :], response[:close], False
    if THINK_OPEN in response:
        return "", None, True
    return response, None, False


# ---------------------------------------------------------------------------------------------------------------
# Boxes


def _read_braced(text: str, start: int) -> tuple[str, int] | None:
    """Read `{...}` starting at text[start] == '{', honouring nesting and escaped braces; None when unclosed."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "{}":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
        i += 1
    return None


def _box_argument(text: str, command_end: int) -> tuple[str, int] | None:
    """The argument of a \\boxed whose name ends at command_end: `{...}` or a single space-separated token."""
    i = command_end
    n = len(text)
    while i < n and text[i] in " \t":
        i += 1
    if i < n and text[i] == "{":
        return _read_braced(text, i)
    if command_end < i < n:
        # `\boxed 5` (old TeX style): the argument runs to the next space, `$` or end of line.
        end = i
        while end < n and text[end] not in " \t\n$":
            end += 1
        return text[i:end], end
    return None


def _last_box_start(text: str, before: int) -> int:
    best = -1
    for command in BOX_COMMANDS:
        pos = text.rfind(command, 0, before)
        # \boxed must not be a prefix of a longer command name (e.g. \boxedfoo).
        while pos != -1 and pos + len(command) < len(text) and text[pos + len(command)].isalpha():
            pos = text.rfind(command, 0, pos)
        best = max(best, pos)
    return best


def _command_length(text: str, start: int) -> int:
    return len("\\boxed") if text.startswith("\\boxed", start) else len("\\fbox")


# What may stand between the boxes of one multi-part answer: "\boxed{2} and \boxed{3}",
# "$\boxed{1}$, $\boxed{4}$", "\boxed{k = 45} \quad \text{and} \quad \boxed{n = 2}", "x = \boxed{2} or x = \boxed{3}".
_BOX_GLUE = re.compile(
    r"\\text\{\s*(?:and|or|,)?\s*\}"  # \text{ and }
    r"|\\(?:quad|qquad|[,;: ]|\(|\)|\[|\])"  # spacing and math delimiters
    r"|[A-Za-z](?:_\{?\w+\}?)?\s*="  # "x =", "y_1 ="
    r"|\band\b|\bor\b|[\s$,;&]"
)


def _is_box_glue(between: str) -> bool:
    return len(between) <= 80 and "\n\n" not in between and not _BOX_GLUE.sub("", between).strip()


def last_boxed(text: str) -> Extraction | None:
    """The content of the last \\boxed{...} / \\fbox{...}, with directly preceding sibling boxes joined by ", ".

    An unclosed last box (output cut off inside it) or an empty one is not an answer.
    """
    start = _last_box_start(text, len(text))
    if start == -1:
        return None
    parsed = _box_argument(text, start + _command_length(text, start))
    if parsed is None:
        return Extraction(None, "boxed-unclosed", start)
    parts = [parsed[0].strip()]
    if not parts[0]:
        return Extraction(None, "boxed-empty", start)
    cursor = start
    for _ in range(MAX_SIBLING_BOXES):
        previous = _last_box_start(text, cursor)
        if previous == -1:
            break
        prev_parsed = _box_argument(text, previous + _command_length(text, previous))
        if prev_parsed is None or not prev_parsed[0].strip() or not _is_box_glue(text[prev_parsed[1] : cursor]):
            break
        parts.append(prev_parsed[0].strip())
        cursor = previous
    parts.reverse()
    return Extraction(", ".join(parts), "boxed", cursor)


# ---------------------------------------------------------------------------------------------------------------
# Statements: the value in "The final answer is $12$", "Answer: the largest n is 34", "x = 5."

_MATH_SPAN = re.compile(
    r"\$\$(?P<a>[^$]{1,3000}?)\$\$|\$(?P<b>[^$]{1,3000}?)\$|\\\((?P<c>.{1,3000}?)\\\)|\\\[(?P<d>.{1,3000}?)\\\]",
    re.DOTALL,
)
_NUMBER = re.compile(r"[-+]?(?:\d+/\d+|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)\s*(?:\\?%)?|[-+]?\.\d+")
_LINK_VERB = re.compile(r"(?i)\b(?:is|are|equals?|was|were|be|becomes|gives|yields)\b|=")
_TRAILER = re.compile(r"(?is)(?:\s*(?:<\|[a-z_]+\|>\s*\w*|I hope (?:it|this) is correct\.?|\\end\{document\}))+\s*$")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_TEXT_ARGUMENT = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox|operatorname|begin|end)\s*\{[^{}]*\}")


def _span_text(match: re.Match) -> str:
    return next(v for v in match.groupdict().values() if v is not None).strip()


def _is_expression(text: str) -> bool:
    """Not prose: `42`, `x = 3`, `(1, 2)`, `\\text{Evelyn}`, `$\\frac{1}{2}$ cm`; not `We find that $x < 3$`.

    Beside a math span any word makes it prose ("$5$ inches" is read for its value, 5).
    """
    outside_math = _MATH_SPAN.sub(" ", text)
    words = len(_PROSE_WORD.findall(_TEXT_ARGUMENT.sub(" ", outside_math)))
    has_math = len(outside_math) != len(text)
    return words == 0 if has_math else words <= EXPRESSION_MAX_WORDS


def _first_sentence(text: str) -> str:
    """Text up to the first full stop outside math (a decimal point is not one)."""
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "$\\":
            match = _MATH_SPAN.match(text, i)
            if match:
                i = match.end()
                continue
        if ch == "\n" and i > 0 and text[i - 1] == "\n":
            return text[:i]
        if ch == "." and (i + 1 == n or text[i + 1].isspace()):
            return text[:i]
        i += 1
    return text


def statement_value(raw: str) -> str | None:
    """The answer in a final statement: a box, a math span or number after the linking verb, or the statement itself."""
    raw = _TRAILER.sub("", raw[:SENTENCE_WINDOW]).strip()
    if not raw:
        return None
    inner = _FINAL_PHRASE.search(raw) or _ANSWER_PHRASE.search(raw)
    if inner:
        raw = raw[inner.end() :].strip()
    box = last_boxed(raw)
    if box is not None and box.answer:
        return box.answer
    sentence = _first_sentence(raw).strip().rstrip(".").strip()
    if not sentence:
        return None
    first_span = _MATH_SPAN.match(sentence)
    if first_span and not sentence[first_span.end() :].strip(" .,;"):
        return _span_text(first_span) or None
    if _is_expression(sentence):
        return sentence
    # Prose: prefer what follows the last linking verb ("... of $f(x)$ is 19"), else the last value in it.
    outside_math = _MATH_SPAN.sub(lambda m: " " * len(m.group()), sentence)
    verbs = list(_LINK_VERB.finditer(outside_math))
    if verbs:
        predicate = sentence[verbs[-1].end() :]
        value = _first_value(predicate)
        if value is not None:
            return value
        # "$x \geq 5$ is the solution": the subject is the answer. "$m+n$ is undefined": no answer.
        if not _SELF_REFERENCE.search(predicate):
            return None
    return _last_value(sentence)


_SELF_REFERENCE = re.compile(r"(?i)\b(?:solution|answer|result)s?\b")


def _first_value(text: str) -> str | None:
    span = _MATH_SPAN.search(text)
    number = _NUMBER.search(text)
    if span and (number is None or span.start() <= number.start()):
        return _span_text(span) or None
    return number.group().strip() if number else None


def _last_value(text: str) -> str | None:
    spans = list(_MATH_SPAN.finditer(text))
    if spans:
        return _span_text(spans[-1]) or None
    numbers = _NUMBER.findall(text)
    return numbers[-1].strip() if numbers else None


# `Answer: 42`, `**Answer:** 42`, `Final Answer: ...`, `Answer \[ 9 \]`; at a line start, or `Final Answer:` anywhere.
_ANSWER_LINE = re.compile(
    r"(?im)(?:^[ \t>*#_]*(?:the[ \t]+)?(?:final[ \t]+)?answer[ \t*_]*(?:[:：]|(?=\s*(?:\\\[|\$\$)))"
    r"|\bfinal[ \t]+answer[ \t*_]*[:：])"
)
_FINAL_PHRASE = re.compile(r"(?i)\bfinal[ \t]+answer[ \t]+(?:is|would[ \t]+be|will[ \t]+be)[ \t]*:?")
_ANSWER_PHRASE = re.compile(
    r"(?i)\b(?:the[ \t]+)?(?:correct[ \t]+|right[ \t]+)?answer[ \t]+(?:is|would[ \t]+be|will[ \t]+be|=)[ \t]*:?"
)


def _last_match(pattern: re.Pattern, text: str) -> re.Match | None:
    last = None
    for match in pattern.finditer(text, max(0, len(text) - TAIL_WINDOW)):
        last = match
    return last


def answer_line(text: str) -> Extraction | None:
    match = _last_match(_ANSWER_LINE, text)
    if match is None:
        return None
    rest = text[match.end() : match.end() + SENTENCE_WINDOW].lstrip(" \t*_")
    display = _MATH_SPAN.match(rest.lstrip())
    if display and rest.lstrip().startswith(("\\[", "$$")):
        value = _span_text(display)
    else:
        line = rest.split("\n", 1)[0]
        value = statement_value(line) if line.strip() else statement_value(rest)
    return Extraction(value, "answer-line", match.start()) if value else None


def _phrase(pattern: re.Pattern, text: str, rule: str) -> Extraction | None:
    match = _last_match(pattern, text)
    if match is None:
        return None
    value = statement_value(text[match.end() : match.end() + SENTENCE_WINDOW].split("\n\n", 1)[0])
    return Extraction(value, rule, match.start()) if value else None


_CONCLUSION = re.compile(
    r"(?i)^(?:therefore|thus|hence|so|finally|consequently|in conclusion|in summary|overall|the answer|"
    r"the final answer|the result|the solution|this gives|we get|we conclude|donc|ainsi|alors)\b"
)


# A new sentence: a capital after a full stop, or after display math ("... \\geq 2.$$ Therefore, ...").
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=\$\$)|(?<=\\\]))\s+(?=[A-Z])")


def concluding_sentence(text: str) -> Extraction | None:
    """A complete last sentence that concludes ("Therefore, the probability is 2/3."), read for its value."""
    tail = _TRAILER.sub("", text[-SENTENCE_WINDOW:]).rstrip()
    if not tail.endswith((".", "$", "\\]", "!")):
        return None  # stops mid-sentence: cut off, not concluded
    body = tail.rstrip(".! ")
    starts = [body.rfind("\n") + 1]
    starts += [m.end() for m in _SENTENCE_BREAK.finditer(body)]
    start = max(starts)
    sentence = body[start:].strip()
    if not _CONCLUSION.match(sentence):
        return None
    value = statement_value(sentence)
    return Extraction(value, "concluding-sentence", len(text) - len(tail) + start) if value else None


def short_response(text: str) -> Extraction | None:
    """A response that is nothing but an answer: `42`, `$\\frac{1}{2}$`, `The identity matrix is $I$.`"""
    if len(text) > 2 * SHORT_RESPONSE_CHARS:
        return None
    stripped = _TRAILER.sub("", text).strip()
    if not stripped or len(stripped) > SHORT_RESPONSE_CHARS:
        return None
    if _is_expression(stripped) and stripped.count("\n") <= 2:
        bare = stripped.rstrip(".").strip()
        whole_span = _MATH_SPAN.fullmatch(bare)
        return Extraction(_span_text(whole_span) if whole_span else bare, "bare", 0)
    # One sentence: several sentences or lines are reasoning. A sentence cut off before its value
    # ("... and the next term is") yields nothing in statement_value.
    if "\n" in stripped:
        return None
    if _first_sentence(stripped).strip().rstrip(".!") != stripped.rstrip(".!"):
        return None
    value = statement_value(stripped)
    return Extraction(value, "short-statement", 0) if value else None


# ---------------------------------------------------------------------------------------------------------------


def find_answer(text: str, allow_weak: bool = True) -> Extraction | None:
    """The answer a text commits to; an empty or unclosed last box is returned as a no-answer Extraction."""
    marked = [last_boxed(text), answer_line(text), _phrase(_FINAL_PHRASE, text, "final-answer-phrase")]
    candidates = [c for c in marked if c is not None]
    found = [c for c in candidates if c.answer is not None]
    if found:
        return max(found, key=lambda c: c.position)
    if allow_weak:
        weak = [c for c in (_phrase(_ANSWER_PHRASE, text, "answer-phrase"), concluding_sentence(text)) if c]
        # A box left empty or cut off after the weak evidence is the last word: no answer.
        weak = [c for c in weak if not candidates or c.position > candidates[0].position]
        if weak:
            return max(weak, key=lambda c: c.position)
    return candidates[0] if candidates else None


def extract_answer(response: str, truncated: bool = False) -> Extraction:
    """The final answer of a response, or an Extraction whose answer is None.

    `truncated` (the generation hit its token limit) keeps only explicit markers: a cut-off response's
    last sentence is not a conclusion.
    """
    region, finished_reasoning, unfinished = answer_region(response)
    if unfinished:
        return Extraction(None, "unfinished-think")
    found = find_answer(region, allow_weak=not truncated)
    if found is not None and found.answer is not None:
        return found
    if finished_reasoning is not None:
        inside = find_answer(finished_reasoning, allow_weak=False)
        if inside is not None and inside.answer is not None:
            return Extraction(inside.answer, inside.rule + "-in-think", inside.position)
    if found is not None:
        return found
    if not truncated and finished_reasoning is None:
        short = short_response(region)
        if short is not None:
            return short
    return NO_ANSWER
