"""The words reasoning models conclude with, in the languages they write, and the scripts they write in.

Covered: English, Chinese (simplified and traditional), Japanese, Korean, French, Spanish, German, Russian,
Portuguese, Italian, Vietnamese. Every entry is a literal phrase (regex-escaped when the patterns are built),
so the patterns made from them are alternations of literals: linear to match.
"""

from __future__ import annotations

import re

# Full-width ASCII (１２，：（）) and the ideographic space become their ASCII forms, one character for one
# character, so positions in a translated text are positions in the original. The ideographic comma lists
# values ("1、2、3"); U+2212 is the minus sign typeset text uses.
HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
HALF_WIDTH.update({0x3000: ord(" "), 0x3001: ord(","), 0x2212: ord("-"), 0xFE63: ord("-"), 0x2013: ord("-")})
# DeepSeek's special tokens use U+FF5C; after translation they read `<|end▁of▁sentence|>`.


# str.translate looks each character up in a dict: 2.6 ms for a 45,000-character response. ASCII text needs no
# lookup at all (str.isascii reads a flag), and other text is searched for the few characters that need one, ten
# times faster than translating it.
_HALF_WIDTH_SOURCES = re.compile("[\u2013\u2212\u3000\u3001\ufe63\uff01-\uff5e]")
# That search still reads one character at a time (0.15 ms for 45,000 characters). In UTF-16, the characters
# translated have the high bytes 0x20, 0x22, 0x30, 0xFE and 0xFF. The last three (CJK punctuation, small and
# full-width forms) are rare outside the text that needs translating, so a text whose encoding holds none of them at
# a high byte needs no search; the two dashes share their high byte with the arrows and operators of mathematical
# text, so they are looked for as characters (str's `in` finds one character at memchr speed).
_COMMON_HIGH_BYTES = (0x20, 0x22)
_HALF_WIDTH_BY_CHARACTER = tuple(chr(code) for code in HALF_WIDTH if code >> 8 in _COMMON_HIGH_BYTES)
_HALF_WIDTH_HIGH_BYTES = tuple(
    bytes([high]) for high in sorted({code >> 8 for code in HALF_WIDTH}) if high not in _COMMON_HIGH_BYTES
)


def _may_need_half_width(text: str) -> bool:
    """False when to_half_width translates no character of the text (so it returns it unchanged); else True."""
    if any(character in text for character in _HALF_WIDTH_BY_CHARACTER):
        return True
    high_bytes = text.encode("utf-16-le", "surrogatepass")[1::2]
    return any(high in high_bytes for high in _HALF_WIDTH_HIGH_BYTES)


# The one character str.lower() writes as two (U+0130, "i" and a combining dot).
_LENGTHENED_BY_LOWER = "\u0130"


def fold_case(text: str) -> str:
    """Lower case, one character for one character, so that positions in the folded text are positions in the text.

    str.lower(), except that "İ" stays as it is. The vocabulary patterns match folded text and run without
    IGNORECASE, which makes Python's regex engine try every alternative at every position (six times slower).
    """
    if _LENGTHENED_BY_LOWER not in text:
        return text.lower()
    return _LENGTHENED_BY_LOWER.join(part.lower() for part in text.split(_LENGTHENED_BY_LOWER))


def to_half_width(text: str) -> str:
    """Full-width digits, letters and punctuation as ASCII; same length as the input."""
    if text.isascii() or not _may_need_half_width(text) or _HALF_WIDTH_SOURCES.search(text) is None:
        return text
    return text.translate(HALF_WIDTH)


# Scripts written without spaces between words.
# (Thai, also written without spaces between words, is counted with them.)
_CJK_RANGES = (
    (0x0E00, 0x0E7F),
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xAC00, 0xD7AF),
)
CJK_CLASS = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


# Sentence ends: Latin full stops need a following space or the end (a decimal point is not one); CJK ones
# end a sentence wherever they are.
CJK_SENTENCE_END = "。！？।"
SENTENCE_END = ".!?" + CJK_SENTENCE_END

# ---------------------------------------------------------------------------------------------------------------
# Vocabulary. Latin-script entries match as whole words (case-insensitive); CJK entries match anywhere.

# "Answer" as the label of an answer line ("Answer: 12", "答案：12", "Ответ: 12").
ANSWER_LABELS = (
    "answer",
    "final answer",
    "the final answer",
    "the answer",
    "réponse",
    "réponse finale",
    "la réponse",
    "la réponse finale",
    "respuesta",
    "respuesta final",
    "la respuesta",
    "la respuesta final",
    "antwort",
    "endgültige antwort",
    "finale antwort",
    "die antwort",
    "ergebnis",
    "ответ",
    "окончательный ответ",
    "итоговый ответ",
    "финальный ответ",
    "resposta",
    "resposta final",
    "a resposta",
    "risposta",
    "risposta finale",
    "la risposta",
    "đáp án",
    "đáp số",
    "đáp án cuối cùng",
    "答案",
    "最终答案",
    "最終答案",
    "最后答案",
    "最後答案",
    "答",
    "答え",
    "最終的な答え",
    "解答",
    "정답",
    "답",
    "최종 답",
    "최종 정답",
    "【答案】",
    "【答】",
    "الإجابة",
    "الجواب",
    "الإجابة النهائية",
    "उत्तर",
    "अंतिम उत्तर",
    "คำตอบ",
)
# "Result: 12": weaker than an answer label (a step of the reasoning may be labelled so too).
RESULT_LABELS = (
    "result",
    "final result",
    "résultat",
    "conclusion",
    "resultado",
    "ergebnis",
    "результат",
    "итог",
    "risultato",
    "kết quả",
    "kết luận",
    "结果",
    "结论",
    "結果",
    "結論",
    "결과",
    "결론",
)

# Every answer label and phrase contains one of these: a text without any of them needs no pattern search.
ANSWER_KEYWORDS = ("answer", "réponse", "respuesta", "antwort", "ergebnis", "ответ", "resposta", "risposta")
ANSWER_KEYWORDS += ("đáp", "答", "正解", "답", "result", "résultat", "conclusion", "ergebnis", "результат", "итог")
ANSWER_KEYWORDS += (
    "risultato",
    "kết",
    "结果",
    "结论",
    "結果",
    "結論",
    "결과",
    "결론",
    "الإجابة",
    "الجواب",
    "उत्तर",
    "คำตอบ",
)

# "The final answer is": strong evidence wherever it stands.
FINAL_PHRASES = (
    "final answer is",
    "final answer would be",
    "final answer will be",
    "réponse finale est",
    "respuesta final es",
    "endgültige antwort ist",
    "endgültige antwort lautet",
    "окончательный ответ",
    "итоговый ответ",
    "resposta final é",
    "risposta finale è",
    "đáp án cuối cùng là",
    "最终答案是",
    "最终答案为",
    "最終答案是",
    "最終答案為",
    "最终的答案是",
    "最終的な答えは",
    "최종 답은",
    "최종 정답은",
)

# "The answer is": weaker evidence (a response may say it before reconsidering).
ANSWER_PHRASES = (
    "answer is",
    "answer would be",
    "answer will be",
    "answer =",
    "answer should be",
    "réponse est",
    "bonne réponse est",
    "respuesta es",
    "respuesta correcta es",
    "die antwort ist",
    "die antwort lautet",
    "ist die antwort",
    "lautet die antwort",
    "die richtige antwort ist",
    "ответ равен",
    "ответ будет",
    "ответом является",
    "ответ —",
    "resposta é",
    "resposta correta é",
    "risposta è",
    "risposta corretta è",
    "đáp án là",
    "đáp án đúng là",
    "đáp số là",
    "答案是",
    "答案为",
    "答案為",
    "答案应该是",
    "答案應該是",
    "答案应为",
    "答案就是",
    "答案即为",
    "答えは",
    "正解は",
    "정답은",
    "답은",
    "الإجابة هي",
    "الجواب هو",
    "उत्तर है",
    "คำตอบคือ",
)

# Words that open a concluding sentence ("Therefore, the area is 12.", "所以面积是 12。").
CONCLUSION_OPENERS = (
    "therefore",
    "thus",
    "hence",
    "so",
    "finally",
    "consequently",
    "in conclusion",
    "in summary",
    "overall",
    "the answer",
    "the final answer",
    "the result",
    "the solution",
    "this gives",
    "we get",
    "we obtain",
    "we conclude",
    "on obtient",
    "on trouve",
    "nous obtenons",
    "le résultat",
    "la solution",
    "obtenemos",
    "el resultado",
    "la solución",
    "wir erhalten",
    "das ergebnis",
    "die lösung",
    "es ergibt sich",
    "получаем",
    "получим",
    "результат",
    "obtemos",
    "o resultado",
    "a solução",
    "otteniamo",
    "il risultato",
    "la soluzione",
    "ta được",
    "kết quả",
    "kết luận",
    "结果",
    "结论",
    "所求",
    "我们得到",
    "結果",
    "donc",
    "ainsi",
    "alors",
    "par conséquent",
    "finalement",
    "en conclusion",
    "d'où",
    "la réponse",
    "por lo tanto",
    "por tanto",
    "así que",
    "así",
    "entonces",
    "finalmente",
    "en conclusión",
    "luego",
    "la respuesta",
    "also",
    "daher",
    "somit",
    "folglich",
    "damit",
    "insgesamt",
    "schließlich",
    "deshalb",
    "die antwort",
    "следовательно",
    "итак",
    "таким образом",
    "значит",
    "поэтому",
    "окончательно",
    "ответ",
    "portanto",
    "logo",
    "assim",
    "então",
    "concluindo",
    "a resposta",
    "quindi",
    "pertanto",
    "dunque",
    "perciò",
    "così",
    "infine",
    "in conclusione",
    "la risposta",
    "vậy",
    "do đó",
    "vì vậy",
    "như vậy",
    "suy ra",
    "tóm lại",
    "đáp án",
    "đáp số",
    "所以",
    "因此",
    "故",
    "综上所述",
    "綜上所述",
    "综上",
    "綜上",
    "因而",
    "于是",
    "於是",
    "总之",
    "總之",
    "最后",
    "最後",
    "从而",
    "從而",
    "答案",
    "最终",
    "最終",
    "よって",
    "したがって",
    "従って",
    "ゆえに",
    "以上より",
    "以上から",
    "つまり",
    "結論として",
    "答えは",
    "따라서",
    "그러므로",
    "그래서",
    "결론적으로",
    "즉",
    "정답은",
    "답은",
    "لذا",
    "لذلك",
    "إذن",
    "وبالتالي",
    "الإجابة",
    "इसलिए",
    "अतः",
    "उत्तर",
    "ดังนั้น",
    "คำตอบ",
)

# Words of a response taking its answer back ("the answer is 5. Wait, ..."): after a weak "the answer is", any of
# these means the reasoning went on, so that answer is not the conclusion.
RECONSIDER_WORDS = (
    "wait", "hmm", "actually", "mistake", "wrong", "incorrect", "oops", "reconsider", "re-examine", "recalculate",
    "attendez", "attends", "erreur", "espera", "warte", "fehler", "подожди", "ошибка", "неверно", "espere", "erro",
    "aspetta", "errore", "khoan", "sai rồi",
)  # fmt: skip
RECONSIDER_CJK = ("等等", "不对", "错了", "重新", "待って", "間違", "잠깐", "틀렸")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Unit words that a careful grader ignores after a number ("25 minutes", "10 cm", "5 dollars", "12个", "45 €").
UNIT_WORDS = _words(
    """degree degrees minute minutes min mins hour hours hr hrs second seconds sec secs day days week weeks month
    months year years dollar dollars cent cents unit units square sq cubic feet foot ft inches inch in meter
    meters metre metres m cm mm km mile miles mi yard yards yd kilometer kilometers centimeter centimeters
    millimeter millimeters gram grams g kg pound pounds lb lbs ounce ounces oz liter liters litre litres l ml
    gallon gallons mph kmh h s people person persons student students way ways point points step steps coin
    coins time times euro euros eur usd yuan yen won rubles рублей рубля рубль руб р см м км кг г шт метров
    градусов способов đồng cách người mét độ"""
)
CURRENCY_SIGNS = "€£¥₩₫₽$"
# Measure words and units written without a space after a number in Chinese, Japanese and Korean.
CJK_UNITS = _words(
    """个 個 人 名 位 种 種 次 天 元 块 米 厘米 毫米 千米 公里 平方米 平方厘米 立方米 立方厘米 度 分 分钟 秒
    小时 年 岁 只 条 张 本 颗 枚 组 对 種類 通り 回 円 匹 歳 개 명 가지 번 원 일 년 도 살 마리 장 권 平方单位
    单位 条边 步 倍 页"""
)


# Conclusion words that also conclude from inside a last sentence ("The final cost is therefore 70.").
CONCLUSION_INSIDE = (
    "therefore", "thus", "hence", "donc", "por lo tanto", "daher", "somit", "следовательно", "поэтому",
    "portanto", "logo", "quindi", "pertanto", "dunque", "vậy", "do đó", "لذا", "इसलिए",
)  # fmt: skip
CONCLUSION_INSIDE_CJK = ("所以", "因此", "因而", "于是", "总共", "一共", "よって", "したがって", "따라서")

# Verbs and particles that link a subject to its value ("the area IS 12", "面积是 12", "面積は 12 です").
LINKING_WORDS = (
    "is",
    "are",
    "equals",
    "equal",
    "was",
    "were",
    "be",
    "becomes",
    "gives",
    "yields",
    "est",
    "vaut",
    "égale",
    "sont",
    "es",
    "son",
    "vale",
    "equivale a",
    "igual a",
    "ist",
    "beträgt",
    "lautet",
    "sind",
    "gleich",
    "равен",
    "равна",
    "равно",
    "равны",
    "составляет",
    "é",
    "são",
    "è",
    "sono",
    "uguale a",
    "là",
    "bằng",
    "هو",
    "هي",
    "يساوي",
    "है",
    "हैं",
    "คือ",
)
# Korean and Japanese topic particles: the value follows the subject they mark ("넓이는 12입니다").
# "not 33 but 27", "不是 33，而是 27", "33개가 아니라 27개": the value after the contrast is the one meant.
CONTRAST_WORDS = ("but", "mais", "pero", "sino", "sondern", "aber", "а", "но", "mas", "ma", "nhưng", "mà")
CONTRAST_CJK = ("而是", "不是", "但是", "ではなく", "でなく", "아니라", "아니고")
LINKING_CJK = ("是", "为", "為", "等于", "等於", "は", "은", "는")


def _alternation(words: tuple[str, ...]) -> str:
    # Longest first, so "final answer" wins over "answer" at the same position.
    ordered = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(w).replace("\\ ", "[ \\t]+") for w in ordered)


def vocabulary_pattern(words: tuple[str, ...]) -> str:
    """A regex alternation of the phrases: Latin-script ones as whole words, CJK ones anywhere."""
    latin = tuple(w for w in words if not any(is_cjk(ch) for ch in w))
    cjk = tuple(w for w in words if any(is_cjk(ch) for ch in w))
    parts = []
    if latin:
        # Word edges that work for words ending in a symbol too ("ответ —", "answer ="): not inside a word.
        parts.append(rf"(?<![^\W\d_])(?:{_alternation(latin)})(?![^\W\d_])")
    if cjk:
        parts.append(f"(?:{_alternation(cjk)})")
    return "(?:" + "|".join(parts) + ")"


# Hedges (see hedge.py). Words that offer another answer beside the first ("5 or 6", "5 ou 6", "5 或 6", "if x > 0
# then 5, otherwise 6"). Spanish and Italian "o" and "u", Portuguese "ou" and Japanese "か" are common words
# elsewhere ("o" is the Portuguese article): they count only between two values.
ALTERNATIVE_WORDS = (
    "or", "otherwise", "else", "alternatively", "ou", "sinon", "o", "u", "o bien", "de lo contrario", "oder",
    "sonst", "ansonsten", "или", "либо", "иначе", "senão", "oppure", "altrimenti", "hoặc", "nếu không",
)  # fmt: skip
ALTERNATIVE_CJK = (
    "或者",
    "或是",
    "或",
    "还是",
    "還是",
    "否则",
    "否則",
    "または",
    "もしくは",
    "あるいは",
    "か",
    "또는",
    "혹은",
    "아니면",
)
# Words that may stand between such a word and the other answer ("or possibly 6", "ou peut-être 6", "或者可能是 6"),
# or before the first one ("either 5 or 6").
HEDGE_QUALIFIERS = (
    "possibly", "maybe", "perhaps", "probably", "likely", "even", "also", "either", "it could be", "it might be",
    "could be", "might be", "peut-être", "soit", "quizás", "quizá", "tal vez", "acaso", "bien", "vielleicht",
    "eventuell", "entweder", "auch", "возможно", "может быть", "forse", "magari", "anche", "talvez", "também",
    "có thể", "có lẽ",
)  # fmt: skip
HEDGE_QUALIFIERS_CJK = (
    "也可能是",
    "也可能",
    "可能是",
    "可能",
    "也许是",
    "也许",
    "也許",
    "或许",
    "或許",
    "多分",
    "たぶん",
    "아마도",
    "아마",
)
# Words saying the next value is the same answer written another way ("1/2, i.e. 0.5", "5, or equivalently 005"):
# not a second candidate, whatever it is written as.
EQUIVALENCE_WORDS = (
    "equivalently", "i.e.", "i.e", "ie", "that is", "namely", "simply", "in other words", "which is", "written as",
    "c'est-à-dire", "es decir", "d.h.", "das heißt", "то есть", "cioè", "ou seja", "tức là",
)  # fmt: skip
EQUIVALENCE_CJK = ("即", "也就是", "つまり", "즉")
# Words that put an answer under a condition ("\\boxed{2} if n is even and \\boxed{3} if n is odd").
CONDITION_WORDS = (
    "if", "when", "whenever", "unless", "in case", "for odd", "for even", "si", "sinon", "cuando", "wenn", "falls",
    "если", "когда", "se", "quando", "nếu", "khi",
)  # fmt: skip
CONDITION_CJK = ("如果", "若", "当", "當", "否则", "否則", "の場合", "場合", "なら", "ならば", "경우", "이면", "라면")
