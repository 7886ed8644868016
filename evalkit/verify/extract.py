"""Find the final answer in a model response: think blocks, \\boxed{}, `Answer:` lines, "the final answer is".

Rules, from strongest to weakest evidence:
1. explicit markers: the last \\boxed{}/\\fbox{} (sibling boxes joined by "and"/"," or labelled "(a)", "(b)" kept
   together), an `Answer:` / `Final Answer:` line, "the final answer is ..."; the one placed last in the text wins;
2. "the answer is ..." and a complete concluding sentence at the very end ("Therefore, the area is $12$.");
3. a response that is only an answer: a bare expression (`42`, `x = 3`) or one short, finished statement.
Markers, phrases and concluding words are recognised in the eleven languages of `languages.py`; full-width
digits and punctuation read as ASCII. There is no "last number anywhere in the text" fallback: reasoning cut off
mid-way has no answer, a sentence that stops before its end is no conclusion, and a response known to be
truncated gets only rule 1.

Everything here is a linear scan over bounded windows of text (every pattern is an alternation of literals or
a single-pass class loop), so extraction runs in the calling process and cannot hang, even on megabytes of output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from evalkit.verify.languages import (
    ALTERNATIVE_CJK,
    ALTERNATIVE_WORDS,
    ANSWER_KEYWORDS,
    ANSWER_LABELS,
    ANSWER_PHRASES,
    CJK_CLASS,
    CJK_SENTENCE_END,
    CJK_UNITS,
    CONCLUSION_INSIDE,
    CONCLUSION_INSIDE_CJK,
    CONCLUSION_OPENERS,
    CONDITION_CJK,
    CONDITION_WORDS,
    CONTRAST_CJK,
    CONTRAST_WORDS,
    FINAL_PHRASES,
    HEDGE_QUALIFIERS,
    HEDGE_QUALIFIERS_CJK,
    LINKING_CJK,
    LINKING_WORDS,
    RECONSIDER_CJK,
    RECONSIDER_WORDS,
    RESULT_LABELS,
    UNIT_WORDS,
    fold_case,
    is_cjk,
    to_half_width,
    vocabulary_pattern,
)

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
BOX_COMMANDS = ("\\boxed", "\\fbox")
# Answer markers and concluding sentences are searched in the end of the text only: a final answer sits
# there, and bounding the window bounds the work on pathological inputs.
TAIL_WINDOW = 20_000
SENTENCE_WINDOW = 1_500
# A response with no marker is read as a whole answer only when it is this short.
SHORT_RESPONSE_CHARS = 300
# A bare answer may carry this many words ("10 inches", "(D) Alina"); CJK characters count half a word each.
EXPRESSION_MAX_WORDS = 2
MAX_SIBLING_BOXES = 32


@dataclass(frozen=True)
class Extraction:
    """The answer found in a response (None when there is none), the rule that found it, and where."""

    answer: str | None
    rule: str
    position: int = -1


NO_ANSWER = Extraction(None, "none")


class LazyPattern:
    """A regex compiled on first use.

    The vocabulary alternations below take tens of milliseconds to compile, and `evalkit --help` imports this
    module without ever matching anything.
    """

    def __init__(self, source: Callable[[], str]) -> None:
        self.source = source
        self.compiled: re.Pattern | None = None

    def __getattr__(self, name: str):  # search, match, finditer: the compiled pattern's own
        if self.compiled is None:
            self.compiled = re.compile(self.source())
        return getattr(self.compiled, name)


# ---------------------------------------------------------------------------------------------------------------
# Preparing the text: full-width forms, chat-template debris, think blocks

# Tokens that end the model's turn: what follows is a continuation the model invented (a new "user" turn, a
# second attempt), not its answer to this problem.
_TURN_END = re.compile(
    r"<\|(?:im_start|im_end|endoftext|eot_id|end_of_text|start_header_id|end▁of▁sentence|User|Assistant|user|"
    r"assistant|system|end)\|>|<(?:end|start)_of_turn>|</s>|<eos>"
)


def strip_chat_debris(text: str) -> str:
    """The text up to the first end-of-turn token that follows some content (`<|im_start|>user`, `<|endoftext|>`)."""
    checked = 0
    for match in _TURN_END.finditer(text):
        # Only the text since the previous token is new: checking each stretch once keeps this linear.
        if not text[checked : match.start()].isspace() and match.start() > checked:
            return text[: match.start()]
        checked = match.end()
    return text


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
        # Only a later command can be the last: each name is looked for after the last of the one before.
        pos = text.rfind(command, best + 1, before)
        # \boxed must not be a prefix of a longer command name (e.g. \boxedfoo).
        while pos != -1 and pos + len(command) < len(text) and text[pos + len(command)].isalpha():
            pos = text.rfind(command, best + 1, pos)
        best = max(best, pos)
    return best


def _command_length(text: str, start: int) -> int:
    return len("\\boxed") if text.startswith("\\boxed", start) else len("\\fbox")


# What may stand between the boxes of one multi-part answer: "\boxed{2} and \boxed{3}",
# "$\boxed{1}$, $\boxed{4}$", "\boxed{k = 45} \quad \text{and} \quad \boxed{n = 2}", "x = \boxed{2} or x = \boxed{3}",
# "(a) \boxed{3} (b) \boxed{5}", "\boxed{(3, 3)} \text{ for part (a) and } \boxed{(1, 1)}", "\boxed{2} 和 \boxed{3}".
_BOX_GLUE = re.compile(
    r"\\text\{\s*(?:(?:and|or|,|for|part|parts|\([a-h]\)|[a-h]\))\s*){0,4}\}"  # \text{ and }, \text{ for part (a) and }
    r"|\\(?:quad|qquad|[,;: ]|\(|\)|\[|\]|\\)"  # spacing, math delimiters, line breaks
    r"|\(?\b[a-h]\)|\bpart\b|\bfor\b"  # part labels: (a), b), "for part (a)"
    r"|[A-Za-z](?:_\{?\w+\}?)?\s*="  # "x =", "y_1 ="
    r"|\band\b|\bor\b|\bet\b|\by\b|\bund\b|\bи\b|\be\b|\bvà\b|[和及与與或]|および|그리고|와|과"
    r"|[\s$,;&.:]"
)


# The label of the next part of a multi-part answer: "(b)", "**b)**", "Part (b)", "(ii)", "第二问", "(2)".
_PART_LABEL = re.compile(
    r"(?im)^[ \t>*#_-]*(?:part[ \t]*)?\(?(?:[b-h]|ii|iii|iv|[2-9])\)[ \t*_.:]"
    r"|^[ \t*#]*(?:part|partie|parte|teil)[ \t]+[b-h2-9]\b"
    r"|(?<![\w\\^_])\(\s*(?:[b-h]|ii|iii|iv)\s*\)(?![ \t]*[=+*/^-])"
)


# Boxes given under conditions: "\boxed{2} if n is even and \boxed{3} if n is odd", "\boxed{5}; if x < 0, \boxed{6}".
_CONDITION = LazyPattern(
    lambda: (
        r"[\s$.,;:)]*(?:"
        + vocabulary_pattern(CONDITION_WORDS + CONDITION_CJK + ALTERNATIVE_WORDS + ALTERNATIVE_CJK)
        + ")"
    )
)


def _is_box_glue(between: str) -> bool:
    if len(between) <= 80 and "\n\n" not in between and not _BOX_GLUE.sub("", between).strip():
        return True
    if len(between) <= 120 and "\n\n" not in between and _CONDITION.match(fold_case(between)):
        # A condition or an alternative right after a box, with no reconsidering before the next one.
        return not _RECONSIDER.search(fold_case(between)) and not _CONTRAST.search(fold_case(between))
    # "(a) ... \boxed{12}.\n(b) The area is \boxed{9}.": the next box opens a new labelled part.
    return len(between) <= 300 and "\n\n\n" not in between and _PART_LABEL.search(between) is not None


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
    offered = _offered_with(text, cursor, parsed[1])
    if offered is not None:
        # "\boxed{5}, or maybe 6", "\boxed{5} or possibly \boxed{6}": the alternatives come with it.
        return Extraction(_unboxed(offered[1]), "boxed", min(cursor, offered[0]))
    return Extraction(", ".join(parts), "boxed", cursor)


def _unboxed(text: str) -> str:
    """The text with each `\\boxed{X}` written as X."""
    for _ in range(MAX_SIBLING_BOXES):
        start = _last_box_start(text, len(text))
        parsed = _box_argument(text, start + _command_length(text, start)) if start != -1 else None
        if parsed is None:
            break
        text = text[:start] + parsed[0].strip() + text[parsed[1] :]
    return text


# ---------------------------------------------------------------------------------------------------------------
# Statements: the value in "The final answer is $12$", "Answer: the largest n is 34", "x = 5.", "答案是 12。"

# Inside $...$ an escaped dollar (`\$`) does not close the span.
_MATH_SPAN = re.compile(
    r"\$\$(?P<a>(?:[^$\\]|\\.){1,3000}?)\$\$|\$(?P<b>(?:[^$\\]|\\.){1,3000}?)\$"
    r"|\\\((?P<c>.{1,3000}?)\\\)|\\\[(?P<d>.{1,3000}?)\\\]",
    re.DOTALL,
)
_NUMBER = re.compile(
    r"[-+]?(?:\d+/\d+|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)\s?(?:\\?%)?|[-+]?\.\d+"
)
# The vocabulary patterns match case-folded text (see languages.fold_case), so they need no IGNORECASE.
_LINK_VERB = LazyPattern(lambda: vocabulary_pattern(LINKING_WORDS) + "|=|(?:" + "|".join(LINKING_CJK) + ")")
# What models write after their answer that is not part of it. Stripped from the end by string operations
# (a regex anchored at the end would still be tried at every position of the text).
_TRAILERS = ("i hope it is correct.", "i hope it is correct", "i hope this is correct.", "\\end{document}", "**")
# Words of prose: letters outside CJK (any alphabet), two or more, not a LaTeX command name.
_PROSE_WORD = re.compile(rf"(?<![\\\w])[^\W\d_{CJK_CLASS}]{{2,}}")
_TEXT_ARGUMENT = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox|operatorname|begin|end)\s*\{[^{}]*\}")
# A value's own words that do not make it prose: units, measure words, currencies ("12 cm", "12个", "45 €").
_SHORT_WORDS = frozenset(
    ("cm", "mm", "km", "ml", "kg", "mg", "ft", "in", "mi", "yd", "lb", "oz", "mph", "am", "pm", "sq", "hr", "hrs")
    + ("mins", "secs", "pi", "sin", "cos", "tan", "log", "ln", "exp")
)


def strip_trailer(text: str) -> str:
    """The text without trailing whitespace and the closing formulas models add ("I hope it is correct.")."""
    text = text.rstrip()
    for _ in range(len(_TRAILERS)):
        end = text[-40:].lower()
        phrase = next((p for p in _TRAILERS if end.endswith(p)), None)
        if phrase is None:
            break
        text = text[: len(text) - len(phrase)].rstrip()
    return text


_STATEMENT_WORD = LazyPattern(
    lambda: vocabulary_pattern(tuple(w for w in CONCLUSION_OPENERS + ANSWER_LABELS if len(w) >= 3 or is_cjk(w[0]))),
)


def _span_text(match: re.Match) -> str:
    return next(v for v in match.groupdict().values() if v is not None).strip()


def prose_words(text: str) -> float:
    """How many words of prose a text holds: words of two or more letters, half a word per CJK character."""
    words = sum(1 for w in _PROSE_WORD.findall(text) if w.lower() not in _SHORT_WORDS)
    return words + sum(1 for ch in text if is_cjk(ch)) / 2


def _words_outside_math(text: str) -> float:
    return prose_words(_TEXT_ARGUMENT.sub(" ", _MATH_SPAN.sub(" ", text[:SENTENCE_WINDOW])))


def is_expression(text: str) -> bool:
    """Not prose: `42`, `x = 3`, `(1, 2)`, `\\text{Evelyn}`, `12 cm`, `12个`; not `We find that $x < 3$`.

    Beside a math span any word makes it prose ("$5$ inches" is read for its value, 5); so does any word of a
    conclusion ("Therefore 5", "答案12", "Ответ: 12" are statements, read for their value).
    """
    outside_math = _MATH_SPAN.sub(" ", text)
    if _STATEMENT_WORD.search(fold_case(outside_math)):
        return False
    words = prose_words(_TEXT_ARGUMENT.sub(" ", outside_math))
    has_math = len(outside_math) != len(text)
    return words == 0 if has_math else words <= EXPRESSION_MAX_WORDS


def _sentence_end(text: str) -> int:
    """Where the first sentence ends: a full stop outside math (not a decimal point), a CJK stop, a blank line."""
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
            return i
        if ch in ".!?" and (i + 1 == n or text[i + 1].isspace()):
            return i
        if ch in CJK_SENTENCE_END:
            return i
        i += 1
    return n


def _first_sentence(text: str) -> str:
    return text[: _sentence_end(text)]


_LIST_JOINER = re.compile(r"(?i)^(?:,|;|and\b|or\b|et\b|y\b|und\b|e\b|và\b|和|与|與|或|及|、)")


def _leading_value(sentence: str) -> str | None:
    """The number a predicate opens with, when prose, a unit or an explanation follows it ("12 cm", "12个",
    "12, because ..."); None when it opens an expression or a list ("3 + 4 = 7", "1, 2, 3", "12 and 13")."""
    number = _NUMBER.match(sentence)
    if number is None:
        return None
    rest = sentence[number.end() :].lstrip()
    if not rest:
        return number.group().strip()
    joiner = _LIST_JOINER.match(rest)
    if joiner:
        after = rest[joiner.end() :].lstrip()
        if not after or after[0].isdigit() or after[0] in "$\\-+(":
            return None  # a list of values
        return number.group().strip()
    if rest[0].isdigit() or rest[0] in "+-*/^=<>\\_{}()[].!":
        return None
    return number.group().strip()


def statement_value(raw: str, after_phrase: bool = False) -> str | None:
    """The answer in a final statement: a box, a math span or number after the linking verb, or the statement itself.

    `after_phrase`: the text follows "the answer is" (or a label), so a value it opens with is the answer.
    """
    value = _statement_value(raw[:SENTENCE_WINDOW], after_phrase)
    if value is not None and len(raw) > SENTENCE_WINDOW and raw[:SENTENCE_WINDOW].rstrip().endswith(value):
        return None  # the value runs past the window: a cut-off value is no value
    return value


def _statement_value(raw: str, after_phrase: bool) -> str | None:
    raw = strip_trailer(raw.replace("**", "")).strip()
    if not raw:
        return None
    folded = fold_case(raw)
    phrase = _FINAL_PHRASE.search(folded) or _ANSWER_PHRASE.search(folded)
    if phrase:
        raw = raw[phrase.end() :].lstrip(" \t:")
    inner = after_phrase or phrase is not None
    box = last_boxed(raw)
    if box is not None and box.answer:
        return box.answer
    sentence = _first_sentence(raw.replace('\\"', '"')).strip().rstrip(".").strip().strip('"“”«»「」『』').strip()
    if not sentence:
        return None
    joined = _joined_spans(sentence)
    if joined is not None:
        return joined
    first_span = _MATH_SPAN.match(sentence)
    if first_span and (inner or not sentence[first_span.end() :].strip(" .,;")):
        # Right after "the answer is", a math span is the value whatever explanation follows it.
        return _with_alternatives(sentence, _span_text(first_span) or None)
    if inner:
        # Right after "the answer is": its value, whatever unit or explanation follows ("12, because 3 + 4 = 7").
        leading = _leading_value(sentence)
        if leading is not None:
            return _with_alternatives(sentence, leading)
    if is_expression(sentence) and not (inner and prose_words(sentence) and _first_value(sentence) is not None):
        # After "the answer is", words beside a value are prose ("actually 15", "not 12 but 15").
        return sentence
    # Prose: prefer what follows the last linking verb ("... of $f(x)$ is 19"), else the last value in it.
    outside_math = _MATH_SPAN.sub(lambda m: " " * len(m.group()), sentence)
    verbs = list(_LINK_VERB.finditer(fold_case(outside_math)))
    if verbs and not sentence[verbs[-1].end() :].strip(" .,;:!?。！"):
        # The verb ends the sentence (Hindi, "...अब 67 कमीजें हैं"): the value stands before it.
        return _last_value(sentence[: verbs[-1].start()])
    if verbs:
        predicate = sentence[verbs[-1].end() :]
        contrast = _last_match(_CONTRAST, _MATH_SPAN.sub(lambda m: " " * len(m.group()), predicate))
        if contrast is not None and _first_value(predicate[contrast[1] :]) is not None:
            predicate = predicate[contrast[1] :]  # "... is not 33 but 27": the value after the contrast
        value = _first_value(predicate)
        if value is not None:
            at = len(sentence) - len(predicate) + predicate.find(value)
            offered = _offered_with(sentence, at, at + len(value))
            return offered[1] if offered is not None else value
        # "$x \geq 5$ is the solution": the subject is the answer. "$m+n$ is undefined": no answer.
        if not _SELF_REFERENCE.search(predicate):
            return None
    contrast = _last_match(_CONTRAST, outside_math)
    if contrast is not None and _first_value(sentence[contrast[1] :]) is not None:
        return _first_value(sentence[contrast[1] :])  # "not 12 but 15"
    # After a label the value comes first ("Réponse : Janeth aura encore 220 $ d'ici 12 mois"); in a concluding
    # sentence without a verb, last ("Donc, il a déjà 79 g de cire").
    return _with_alternatives(sentence, _first_value(sentence) if inner else _last_value(sentence), last=not inner)


# "5 or 6", "5, or possibly $6$", "x = 5 oder x = 6", "5 或 6": another answer offered right beside a value. The
# value it offers is read like the first (a number, a math span, bare LaTeX, a box); hedge.py decides what it is
# worth. Patterns are alternations of literals and bounded classes, tried at one position or on a bounded window.
# One class for each run of spaces and punctuation: two repeated classes side by side would backtrack
# quadratically over a long run of spaces.
_CONNECTOR = r"[\s$),(]*(?:{alternatives})(?:[\s,]*(?:{qualifiers}))*[\s,:$(]*(?:[A-Za-z](?:_\{{?\w+\}}?)?\s*=\s*)?"
_ALTERNATIVE_AFTER = LazyPattern(
    lambda: _CONNECTOR.format(
        alternatives=vocabulary_pattern(ALTERNATIVE_WORDS + ALTERNATIVE_CJK),
        qualifiers=vocabulary_pattern(HEDGE_QUALIFIERS + HEDGE_QUALIFIERS_CJK),
    )
)
_ALTERNATIVE_BEFORE = LazyPattern(lambda: "(?:" + _ALTERNATIVE_AFTER.source() + r")\Z")
_BOX_AT = re.compile(r"\\(?:boxed|fbox)\s*\{")
_DELIMITER = re.compile(r"\$|\\\(|\\\)|\\\[|\\\]")
# How far back a value offered before the one read may start, and the words that offer it ("or possibly x =").
ALTERNATIVE_REACH = 200
CONNECTOR_REACH = 80


def _value_at(text: str, at: int) -> int | None:
    """Where a value starting at `at` ends: a math span, a box, a number or bare LaTeX; None when none starts there."""
    span = _MATH_SPAN.match(text, at)
    if span is not None and _span_text(span):
        return span.end()
    box = _BOX_AT.match(text, at)
    if box is not None:
        braced = _read_braced(text, box.end() - 1)
        return braced[1] if braced is not None else None
    found = [m.end() for m in (_NUMBER.match(text, at), _BARE_LATEX.match(text, at)) if m is not None]
    return max(found) if found else None


def _value_before(text: str, end: int) -> int | None:
    """Where a value that ends at `end` (spaces and `$` aside) starts; None when none ends there."""
    stop = len(text[:end].rstrip(" \t$"))
    window = max(0, stop - ALTERNATIVE_REACH)
    for start in range(window, stop):
        if text[start] in "$\\" or text[start].isdigit() or text[start] in "-+(.":
            value_end = _value_at(text, start)
            if value_end is not None and len(text[:value_end].rstrip(" \t$")) == stop:
                return start
    return None


def _offered_with(text: str, start: int, end: int) -> tuple[int, str] | None:
    """The value at text[start:end] with the alternatives offered beside it ("5 or possibly 6"), as written
    without math delimiters or the parenthesis that may open an alternative ("5 (or perhaps 6)"), and where the
    first of them starts; None when it stands alone."""
    # Only the text around the value is read: eight alternatives at most on either side.
    lo, hi = max(0, start - 8 * ALTERNATIVE_REACH), min(len(text), end + 8 * ALTERNATIVE_REACH)
    if (lo, hi) != (0, len(text)):
        offered = _offered_with(text[lo:hi], start - lo, end - lo)
        return (offered[0] + lo, offered[1]) if offered is not None else None
    folded = fold_case(text)
    first, last = start, end
    connectors = []
    for _ in range(8):  # "4, 5 or 6": a few in a row
        connector = _ALTERNATIVE_AFTER.match(folded, last)
        following = _value_at(text, connector.end()) if connector and connector.end() > last else None
        if following is None:
            break
        connectors.append((connector.start(), connector.end()))
        last = following
    for _ in range(8):
        connector = _ALTERNATIVE_BEFORE.search(folded, max(0, first - CONNECTOR_REACH), first)
        preceding = _value_before(text, connector.start()) if connector and connector.start() < first else None
        if preceding is None:
            break
        connectors.append((connector.start(), connector.end()))
        first = preceding
    if (first, last) == (start, end):
        return None
    pieces = []
    cursor = first
    for connector_start, connector_end in sorted(connectors):
        pieces += [text[cursor:connector_start], text[connector_start:connector_end].replace("(", " ")]
        cursor = connector_end
    pieces.append(text[cursor:last])
    return first, " ".join(_DELIMITER.sub(" ", "".join(pieces)).split())


def _with_alternatives(text: str, value: str | None, last: bool = False) -> str | None:
    """A value read from `text`, widened to the alternatives offered beside its first (or last) occurrence."""
    if not value:
        return value
    at = text.rfind(value) if last else text.find(value)
    offered = _offered_with(text, at, at + len(value)) if at != -1 else None
    return offered[1] if offered is not None else value


def _joined_spans(sentence: str) -> str | None:
    """`$1$ and $2$ and $3$`, `$21,16$ or $11$`: one answer written as several math spans, read as a list."""
    spans = list(_MATH_SPAN.finditer(sentence))
    if len(spans) < 2 or len(spans) > MAX_SIBLING_BOXES or sentence[: spans[0].start()].strip():
        return None
    if sentence[spans[-1].end() :].strip(" .,;"):
        return None
    if not all(_is_box_glue(sentence[a.end() : b.start()]) for a, b in zip(spans, spans[1:])):
        return None
    return ", ".join(_span_text(span) for span in spans)


_RECONSIDER = LazyPattern(lambda: vocabulary_pattern(RECONSIDER_WORDS + RECONSIDER_CJK))
_CONTRAST = LazyPattern(lambda: vocabulary_pattern(CONTRAST_WORDS + CONTRAST_CJK))
_SELF_REFERENCE = re.compile(
    r"(?i)\b(?:solution|answer|result|réponse|solución|respuesta|lösung|antwort|ответ|resposta|risposta|đáp án)s?\b"
    r"|答案|答え|정답|답"
)


# A value written in LaTeX without math delimiters: "每份应该是 (\frac{2}{5}) 吨", "the area is 9\pi cm^2".
_BARE_LATEX = re.compile(
    r"-?\(?\s{0,3}-?\d{0,6}\s{0,3}\\(?:[dt]?frac\s{0,3}\{[^{}]{1,60}\}\s{0,3}\{[^{}]{1,60}\}"
    r"|sqrt\s{0,3}(?:\[[^\]]{1,10}\])?\s{0,3}\{[^{}]{1,60}\}|pi\b)(?:\s{0,3}\))?"
)


def _first_value(text: str) -> str | None:
    span = _MATH_SPAN.search(text)
    number = _NUMBER.search(text)
    latex = _BARE_LATEX.search(text[:SENTENCE_WINDOW]) if "\\" in text else None
    starts = [m.start() for m in (span, number, latex) if m is not None]
    if not starts:
        return None
    first = min(starts)
    if span is not None and span.start() == first:
        return _span_text(span) or None
    if latex is not None and latex.start() == first:
        return latex.group().strip()
    return number.group().strip() if number else None


def _last_value(text: str) -> str | None:
    spans = list(_MATH_SPAN.finditer(text))
    if spans:
        return _span_text(spans[-1]) or None
    numbers = list(_NUMBER.finditer(text))
    latex = list(_BARE_LATEX.finditer(text[-SENTENCE_WINDOW:])) if "\\" in text else []
    offset = max(0, len(text) - SENTENCE_WINDOW)
    if latex and (not numbers or numbers[-1].start() < offset + latex[-1].end()):
        return latex[-1].group().strip()  # "分到 (\frac{2}{5}) 吨": the fraction, not its denominator
    return numbers[-1].group().strip() if numbers else None


# `Answer: 42`, `**Answer:** 42`, `Final Answer: ...`, `答案：42`, `Ответ: 42`, `Answer \[ 9 \]`; at a line
# start, or `Final Answer:` anywhere. A display right after the label counts as its value without a colon.
_LABEL = vocabulary_pattern(ANSWER_LABELS)
_FINAL_LABEL = vocabulary_pattern(
    ("final answer", "réponse finale", "respuesta final", "resposta final", "risposta finale", "endgültige antwort")
    + ("окончательный ответ", "đáp án cuối cùng", "最终答案", "最終答案", "最終的な答え", "최종 답", "최종 정답")
)
# `Answer: 42`, `**Answer:** 42`, `答案：42`, `Answer \[ 9 \]`, or a label alone on its line (`**最终答案**`) with the
# value on the next one; at a line start, or `Final Answer:` anywhere.
_ANSWER_LINE = LazyPattern(
    lambda: rf"(?m)^[ \t>*#_-]*{_LABEL}[ \t*_]*(?::|(?<=】)|(?=\\\[|\$\$)|(?=\n))|{_FINAL_LABEL}[ \t*_]*:"
)
_FINAL_PHRASE = LazyPattern(lambda: vocabulary_pattern(FINAL_PHRASES) + r"[ \t]*:?")
# Weak: "the answer is", and an answer label followed by a colon anywhere in a line.
_ANSWER_PHRASE = LazyPattern(lambda: vocabulary_pattern(ANSWER_PHRASES) + r"[ \t]*:?|" + _LABEL + r"[ \t*_]*:(?![:=])")
# Weakest: "Result: 12", "Kết quả: 12", only as the very last thing in the response.
_RESULT_LINE = LazyPattern(lambda: vocabulary_pattern(RESULT_LABELS) + r"[ \t*_]*:(?![:=])")


def _last_match(pattern: LazyPattern, text: str) -> tuple[int, int] | None:
    """(start, end) of the last match in the text's tail window, which the pattern sees case-folded."""
    offset = max(0, len(text) - TAIL_WINDOW)
    last = None
    for last in pattern.finditer(fold_case(text[offset:])):  # noqa: B007 (the loop finds the last one)
        pass
    return (offset + last.start(), offset + last.end()) if last is not None else None


# Phrases start at most a few words before their keyword; answer lines at the start of its line, looked for this
# far back.
PHRASE_LEAD = 40
LINE_LEAD = 200
# How far a marker reaches past the start of its keyword ("answer would be :"), beyond any run of spaces.
MARKER_TAIL = 80
# Keywords whose stretches are searched one by one before the rest of the window is searched at once.
MARKER_ANCHORS = 32
_ASCII_KEYWORDS = tuple(dict.fromkeys(keyword for keyword in ANSWER_KEYWORDS if keyword.isascii()))
# Each keyword outside ASCII with its first character outside ASCII: a window without that character lacks it.
_KEYWORDS_BEYOND_ASCII = tuple(
    (keyword, next(ch for ch in keyword if not ch.isascii()))
    for keyword in dict.fromkeys(ANSWER_KEYWORDS)
    if not keyword.isascii()
)


class FoldedTail:
    """A text's tail window, case-folded once, and where the answer keywords in it start, from the last back.

    Every answer marker (label, phrase, result line) contains one of ANSWER_KEYWORDS and lies on one line, so a
    marker pattern is tried only near a keyword: most responses hold none, and a large alternation tried at
    every position is the costliest step of an extraction. The window is folded and its keywords found once per
    text, not once per pattern, and each search for a keyword stops where a later one was found already.

    `after`, a position in the text: only markers starting after it are wanted (in `find_answer`, those after the
    last boxed answer: one before it cannot be the last). Keywords at or before it are not looked for, and
    `last_match` is None for a marker starting there; on a response ending in its box, the search is over at once.
    """

    def __init__(self, text: str, after: int = -1) -> None:
        self.offset = max(0, len(text) - TAIL_WINDOW)
        self.folded = fold_case(text[self.offset :])
        self.keywords = _ASCII_KEYWORDS
        if not self.folded.isascii():
            # Most windows beyond ASCII hold a few math symbols and no other script: a keyword is looked for only when
            # the window holds its telltale character (found at memchr speed, not by a search for the keyword).
            self.keywords += tuple(keyword for keyword, telltale in _KEYWORDS_BEYOND_ASCII if telltale in self.folded)
        # Keywords starting at or before this position of the window are not looked for (see `after`).
        self._after = max(-1, after - self.offset)
        last = self._after
        for keyword in self.keywords:  # an occurrence starting after the last one found so far
            at = self.folded.rfind(keyword, last + 1)
            last = at if at != -1 else last
        self._anchors = [last] if last != self._after else []
        # The last occurrence of each keyword before the last anchor, found again only once an anchor passed it.
        self._previous: dict[str, int] | None = None

    def anchor(self, index: int) -> int:
        """Where the index-th keyword occurrence from the end starts (-1: there are fewer)."""
        if not self._anchors:
            return -1
        folded = self.folded
        if self._previous is None:
            before = self._anchors[-1]
            self._previous = {
                keyword: folded.rfind(keyword, self._after + 1, before - 1 + len(keyword)) for keyword in self.keywords
            }
        while len(self._anchors) <= index:
            anchor = max(self._previous.values())
            if anchor == -1:
                return -1
            self._anchors.append(anchor)
            for keyword, at in self._previous.items():
                if at >= anchor:
                    self._previous[keyword] = folded.rfind(keyword, self._after + 1, anchor - 1 + len(keyword))
        return self._anchors[index]

    def _floor(self) -> int:
        """Where a search of the whole window starts: shortly before its first keyword, or at that line's start."""
        first = min((at for at in map(self.folded.find, self.keywords) if at != -1), default=len(self.folded))
        begin = max(0, first - PHRASE_LEAD)
        line_start = self.folded.rfind("\n", max(0, begin - LINE_LEAD), begin)
        return line_start + 1 if line_start != -1 else begin

    def last_match(self, pattern: LazyPattern) -> tuple[int, int] | None:
        """(start, end) in the text of the last match of a marker pattern in the window.

        A marker holds a keyword and lies on one line, with at most PHRASE_LEAD characters of its phrase before
        the keyword, or from the start of its line when that is less than LINE_LEAD + PHRASE_LEAD before it (an
        answer line: `**Answer:**`), and reaching at most MARKER_TAIL past it except by a run of spaces. So only
        those stretches are searched, around each keyword from the last back.
        Past MARKER_ANCHORS keywords without a marker (a window full of them), the window is searched whole.
        """
        folded = self.folded
        for count in range(MARKER_ANCHORS):
            anchor = self.anchor(count)
            if anchor == -1:
                return None  # every marker holds a keyword
            line_start = folded.rfind("\n", 0, anchor) + 1
            line_end = folded.find("\n", anchor)
            # The line's break is searched too: a marker never holds it, but may look ahead at it.
            line_end = len(folded) if line_end == -1 else line_end + 1
            start = line_start if anchor - line_start < LINE_LEAD + PHRASE_LEAD else anchor - PHRASE_LEAD
            stop = min(line_end, anchor + MARKER_TAIL)
            last = self._last_in(pattern, start, stop)
            if last is not None and stop < line_end and last.end() >= stop - 2:
                last = self._last_in(pattern, start, line_end)  # a marker running on past the stretch
            # A match ending before this keyword holds an earlier one, whose phrase may begin before `start`: it is
            # looked for from that keyword.
            if last is not None and last.end() > anchor:
                return self._wanted(last)
        # A window full of keywords without a marker near the last of them: all of it.
        last = self._last_in(pattern, self._floor(), len(folded)) if self.anchor(MARKER_ANCHORS) != -1 else None
        return self._wanted(last) if last is not None else None

    def _wanted(self, match: re.Match) -> tuple[int, int] | None:
        """A match's (start, end) in the text; None when it starts at or before `after`."""
        return (self.offset + match.start(), self.offset + match.end()) if match.start() > self._after else None

    def _last_in(self, pattern: LazyPattern, start: int, stop: int) -> re.Match | None:
        last = None
        for last in pattern.finditer(self.folded, start, stop):  # noqa: B007 (the loop finds the last one)
            pass
        return last


def _repair_line(line: str) -> str:
    """An answer line written carelessly: `\\boxed{12` never closed, a stray `$` ("Answer: $12")."""
    start = _last_box_start(line, len(line))
    if start != -1 and _box_argument(line, start + _command_length(line, start)) is None:
        brace = line.find("{", start)
        if brace != -1:
            inside = line[brace + 1 :].rstrip().rstrip("$").rstrip()
            while inside.endswith("}") and inside.count("}") > inside.count("{"):
                inside = inside[:-1].rstrip()
            line = line[:start] + inside
    if line.count("$") % 2 == 1:
        line = line.replace("$", " ")
    return line


def answer_line(text: str, tail: FoldedTail | None = None) -> Extraction | None:
    found = (tail or FoldedTail(text)).last_match(_ANSWER_LINE)
    if found is None:
        return None
    start, end = found
    rest = text[end : end + SENTENCE_WINDOW].lstrip(" \t*_")
    display = _MATH_SPAN.match(rest.lstrip())
    if display and rest.lstrip().startswith(("\\[", "$$")):
        value = _span_text(display)
    else:
        line = rest.split("\n", 1)[0]
        if line.strip():
            value = statement_value(_repair_line(line), True)
        else:
            # A label alone on its line: the next line is the answer only if it is one (not more reasoning).
            following = rest.strip().split("\n", 1)[0].strip(" *_")
            value = statement_value(following, True) if following and is_expression(following) else None
    return Extraction(value, "answer-line", start) if value else None


def _ends_finished(text: str, value: str) -> bool:
    """Whether a text stops at the end of a sentence, or right after its value; not mid-way through a clause."""
    tail = strip_trailer(text[-SENTENCE_WINDOW:])
    if not tail:
        return False
    if tail[-1] in ".!?。！？$" or tail.endswith(("\\]", "\\)")):
        return True
    # "The answer is 12", "答案是12个", "the answer is 12 cm": the value (and its unit) is the last thing.
    cut = tail.rfind(value[-20:]) if value else -1
    if cut == -1:
        return False
    after = tail[cut + len(value[-20:]) :]
    # A unit may follow ("4000平方米", "12 square units"); a new clause may not ("12，然后我们", "12で次に").
    words = after.strip(" .!。！").split()
    return prose_words(after) <= 1 or all(w.lower() in UNIT_WORDS or w in CJK_UNITS for w in words)


def _phrase(
    pattern: LazyPattern, text: str, rule: str, finished: bool, last: bool = False, tail: FoldedTail | None = None
) -> Extraction | None:
    found = (tail or FoldedTail(text)).last_match(pattern)
    if found is None:
        return None
    start, end = found
    value = statement_value(text[end : end + SENTENCE_WINDOW].split("\n\n", 1)[0], True)
    if value and last:
        after = text[end : end + SENTENCE_WINDOW]
        if len(text) - end > SENTENCE_WINDOW or _words_outside_math(after[_sentence_end(after) + 1 :]) > 2:
            return None  # "Result: 45. Then the area is ...": a step, not the conclusion
    if value and finished:
        if not _ends_finished(text, value):
            return None  # "the answer is 12, but let me check the case n = 2 where": cut off mid-reasoning
        after = text[end:]
        if len(after) > SENTENCE_WINDOW or _RECONSIDER.search(fold_case(after)):
            return None  # "the answer is 5. Wait, ...": reasoning went on past it
    return Extraction(value, rule, start) if value else None


_CONCLUSION = LazyPattern(lambda: r"^[\s*_#>\-]*(?:" + vocabulary_pattern(CONCLUSION_OPENERS) + ")")
# "The final cost is therefore 70.", "所以一共有 13 只。": a conclusion word inside the last sentence.
_CONCLUSION_INSIDE = LazyPattern(lambda: vocabulary_pattern(CONCLUSION_INSIDE + CONCLUSION_INSIDE_CJK))
# Where a new sentence may start: after a full stop and space, after display math, after a CJK stop.
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=\$)|(?<=\\\]))\s+(?=\S)|(?<=[。！？।])\s*(?=\S)")


def _last_sentence_start(body: str) -> int:
    start = body.rfind("\n") + 1
    for match in _SENTENCE_BREAK.finditer(body, start):
        follower = body[match.end()]
        # "e.g. the", "3. 5": a lower-case word or a digit after a full stop does not open a sentence.
        before = body[match.start() - 1]
        if before in "。！？।" or (before != "$" and not (follower.isdigit() or "a" <= follower <= "z")):
            start = match.end()
        elif (
            before == "$"
            and "A" <= follower <= "Z"
            and _CONCLUSION.match(fold_case(body[match.end() : match.end() + 80]))
        ):
            start = match.end()  # "... $y = 6$ So, the ordered pair is $(7, 6)$": no full stop after math
    return start


def concluding_sentence(text: str) -> Extraction | None:
    """A complete last sentence that concludes ("Therefore, the probability is 2/3.", "所以答案是 12。")."""
    tail = strip_trailer(text[-SENTENCE_WINDOW:])
    if not tail.endswith((".", "$", "\\]", "!", "。", "！", "।")) and not tail[-1:].isdigit():
        return None  # stops mid-sentence: cut off, not concluded
    body = tail.rstrip(".!。！। ")
    start = _last_sentence_start(body)
    sentence = body[start:].strip()
    folded = fold_case(sentence)
    if not _CONCLUSION.match(folded) and not _CONCLUSION_INSIDE.search(folded):
        return None
    value = statement_value(sentence)
    return Extraction(value, "concluding-sentence", len(text) - len(tail) + start) if value else None


_SHORT_LABEL = re.compile(r"^[^\W\d_]{2,30}(?:[ \t][^\W\d_]{2,30}){0,2}[ \t]?:[ \t]*(?=[-+.\d$\\])")


def short_response(text: str) -> Extraction | None:
    """A response that is nothing but an answer: `42`, `$\\frac{1}{2}$`, `The identity matrix is $I$.`, `答案是12。`"""
    if len(text) > 2 * SHORT_RESPONSE_CHARS:
        return None
    stripped = strip_trailer(text).strip()
    if not stripped or len(stripped) > SHORT_RESPONSE_CHARS:
        return None
    labelled = _SHORT_LABEL.match(stripped)
    if labelled and "\n" not in stripped:
        # "Résultat : 2,74 $", "Total: 45 €": a short label, a colon, the value.
        rest = stripped[labelled.end() :]
        value = statement_value(rest, True)
        after_sentence = rest[_sentence_end(rest) + 1 :]
        if value is None or _words_outside_math(after_sentence) > 2 or not _ends_finished(stripped, value):
            return None  # "Result: 45. Then the area is ...": more reasoning follows the value
        return Extraction(value, "short-statement", 0)
    if is_expression(stripped) and stripped.count("\n") <= 2:
        bare = stripped.rstrip(".。").strip()
        whole_span = _MATH_SPAN.fullmatch(bare)
        return Extraction(_span_text(whole_span) if whole_span else bare, "bare", 0)
    # One finished sentence: several sentences or lines are reasoning; a sentence cut off before its end
    # ("... and the next term is", "所以三角形的面积是12，然后") is no answer.
    if "\n" in stripped:
        return None
    body = stripped.rstrip(".!。！")
    if _sentence_end(body) != len(body):
        return None
    value = statement_value(stripped)
    if value is None or not _ends_finished(stripped, value):
        return None
    return Extraction(value, "short-statement", 0)


# ---------------------------------------------------------------------------------------------------------------


def find_answer(text: str, allow_weak: bool = True) -> Extraction | None:
    """The answer a text commits to; an empty or unclosed last box is returned as a no-answer Extraction."""
    boxed = last_boxed(text)
    # The marker placed last wins: behind a boxed answer, only markers after it are looked for.
    tail = FoldedTail(text, boxed.position if boxed is not None and boxed.answer is not None else -1)
    marked = [
        boxed,
        answer_line(text, tail),
        _phrase(_FINAL_PHRASE, text, "final-answer-phrase", False, tail=tail),
    ]
    candidates = [c for c in marked if c is not None]
    found = [c for c in candidates if c.answer is not None]
    if found:
        return max(found, key=lambda c: c.position)
    if allow_weak:
        weak = [
            _phrase(_ANSWER_PHRASE, text, "answer-phrase", True, tail=tail),
            _phrase(_RESULT_LINE, text, "answer-phrase", True, last=True, tail=tail),
            concluding_sentence(text),
        ]
        weak = [c for c in weak if c is not None]
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
    response = strip_chat_debris(to_half_width(response))
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
