"""Language mixing in a sample's reasoning (evalkit/verify/mixing.py): a table of real and realistic responses, the
thresholds at their edges, which text counts as the reasoning, what is taken out as math or code, the bound on the
work, and the real published responses that do and do not mix."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import GENERATIONS

from evalkit.verify import mixing
from evalkit.verify.mixing import MAX_CHARS, measure, prose, reasoning_text

ENGLISH = (
    "We need the number of ordered pairs, so we count the cases one at a time and add them up at the end. "
    "For each value of the first number, the second one must be larger, which leaves fewer choices. "
)
CHINESE = "所以我们需要重新检查一下这个条件，然后把每一种情况都代进去验证。"  # 30 characters

CASES = [
    # English reasoning with a Chinese sentence mixed in
    ("english with a chinese sentence",
     "Let me set up the equations. We have $x + y = 10$ and $xy = 21$, so $x$ and $y$ are the roots of "
     "$t^2 - 10t + 21 = 0$, which factors as $(t-3)(t-7)=0$. 所以这两个根分别是三和七，我们需要再检查一下。 Now the "
     "problem asks for $x^2 + y^2$, which is $(x+y)^2 - 2xy = 58$. Therefore the answer is $\\boxed{58}$.",
     True, "Latin+Han/Kana"),
    # A Chinese response quoting `x` and \frac{1}{2} outside math delimiters
    ("chinese quoting x and a bare fraction",
     "我们设 `x` 为所求的数。根据题意，$x$ 满足方程 $2x + 1 = 2$，所以 \\frac{1}{2} 就是 x 的值。再验证一下：把 "
     "x = \\frac{1}{2} 代入，左边等于二，右边也等于二，成立。因此答案是 \\boxed{\\frac{1}{2}}。",
     False, None),
    ("wholly chinese with points named in capitals",
     "首先，我们注意到三角形ABC是直角三角形，因为 $3^2+4^2=5^2$。设斜边上的高为 $h$，则面积可以写成两种形式："
     "$\\frac{1}{2}\\cdot 3\\cdot 4 = \\frac{1}{2}\\cdot 5\\cdot h$，解得 $h=\\frac{12}{5}$。"
     "所以答案是 $\\boxed{12/5}$。",
     False, None),
    # R1-Zero-like: the reasoning alternates between English and Chinese sentence by sentence
    ("r1-zero-like alternation",
     "Okay, so I need to find the number of ordered pairs. 首先我们考虑 $a$ 和 $b$ 的取值范围。 Then for each value "
     "of a, the number of b is $a - 1$. 所以总数是 $\\sum_{a=2}^{10}(a-1) = 45$。 Wait, let me double check this "
     "computation. 等等，我需要再验证一下这个结果。 Yes, so the total is 45. 因此答案是 45。",
     True, "Han/Kana+Latin"),
    ("japanese: kanji and kana are one writing system",
     "まず、三角形の面積を求めます。底辺は $3$、高さは $4$ なので、面積は $6$ になります。次に、外接円の半径を計算"
     "します。したがって、答えは $\\boxed{6}$ です。", False, None),
    ("english with a russian sentence",
     ENGLISH + "Теперь проверим, что это решение действительно удовлетворяет всем условиям задачи. " + ENGLISH,
     True, "Latin+Cyrillic"),
    ("korean with its own words only",
     "먼저 두 수의 합이 10이고 곱이 21이라는 조건을 정리하면, 두 수는 이차방정식의 두 근이 됩니다. 따라서 두 근은 3과 "
     "7이고, 제곱의 합은 58입니다. 그러므로 답은 58입니다. 다시 한 번 확인해 보면 계산이 맞습니다.", False, None),
    ("english with a hindi sentence", ENGLISH + "अब हम इस उत्तर को फिर से जांचते हैं और देखते हैं कि यह सही है। " + ENGLISH,
     True, "Latin+Devanagari"),
    ("english with a thai sentence", ENGLISH + "ตอนนี้เราต้องตรวจสอบคำตอบนี้อีกครั้งเพื่อความถูกต้อง " + ENGLISH,
     True, "Latin+Thai"),
    ("english with an arabic sentence", ENGLISH + "الآن نتحقق من أن هذا الحل يحقق جميع شروط المسألة. " + ENGLISH,
     True, "Latin+Arabic"),
    # Greek letters, function names and Chinese inside \text{} are math, not language
    ("math-heavy english with greek letters",
     ENGLISH + "Let ω be a primitive root, so ω^13 = 1 and the product over k of (2 - 2ω^k + ω^{2k}) is what we "
     "need; with θ = 2π/13 we get cos θ and sin θ terms, and gcd(13, 1000) = 1. $\\text{所以这里的结果是三}$ holds.",
     False, None),
    ("chinese naming points in capitals",
     "在三角形ABC中，边AB与边AC相等，点D在BC上，连接AD，过D作DE垂直于AB，再作DF垂直于AC，所以DE等于DF，"
     "因此三角形ADE与三角形ADF全等。", False, None),
    ("chinese with function names and algebra outside math",
     "因为 ab+bc+ca=0 并且 abc=2，又有 xy+yz+zx=3 和 xyz=1，所以 sin x 与 cos x 的和等于 log 2 加上 exp 1，"
     "再由 gcd 与 lcm 的关系，以及 max 和 min 的取值，得到 tan x 的值，也就是 ln 2 的两倍。", False, None),
    ("english full of greek letters",
     ENGLISH + "Here α and β are roots, γ is their sum, δ their product, ε small, θ the angle, λ the ratio, μ the "
     "mean, σ the spread and φ the golden ratio. " + ENGLISH, False, None),
    ("english borrowing one chinese term", ENGLISH + "This is the 勾股定理 (the Pythagorean theorem) again. " + ENGLISH,
     False, None),
    ("chinese comments inside a code block",
     ENGLISH + "```python\n# 计算所有满足条件的有序数对的数量并输出结果\nprint(sum(1 for a in range(10)))\n```\n"
     + ENGLISH,
     False, None),
    ("a vietnamese response is latin script",
     "Ta cần tìm số cặp có thứ tự. Với mỗi giá trị của số thứ nhất, số thứ hai phải lớn hơn, nên số cách chọn giảm "
     "dần. Cộng tất cả các trường hợp lại, ta được kết quả cuối cùng là bốn mươi lăm.", False, None),
    ("short english", "The answer is $\\boxed{5}$.", None, None),
    ("short chinese", "答案是 $5$。", None, None),
    ("only math", "$$\\prod_{k=0}^{12}(2-2\\omega^k+\\omega^{2k})=\\prod_{k=0}^{12}(2-2\\omega^k+\\omega^{2k})$$", None,
     None),
    ("empty", "", None, None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "mixed", "pair"), CASES, ids=[c[0] for c in CASES])
def test_mixing_on_real_and_realistic_responses(name, text, mixed, pair):
    found = measure(text)
    assert found.mixed is mixed, found.units
    assert found.pair == pair


def _english(words: int) -> str:
    vocabulary = ["we", "count", "the", "cases", "one", "by", "one", "and", "then", "add", "the", "counts", "together"]
    return " ".join(vocabulary[i % len(vocabulary)] for i in range(words))


@pytest.mark.parametrize(
    ("english", "han", "mixed"),
    [
        (100, 8, True),  # a second writing system of 8 words, about one short sentence ...
        (100, 7, False),  # ... while 7 are a quoted term or a name
        (490, 10, True),  # 10 of 500 words: 2%
        (500, 10, False),  # 10 of 510: under 2%, a stray sentence in a long reasoning
        (12, 8, True),  # 20 words: judged
        (11, 8, None),  # 19: too few to tell
    ],
)
def test_the_thresholds_at_their_edges(english, han, mixed):
    found = measure(_english(english) + " " + "测" * han + "。")
    assert dict(found.units) == {"Latin": english, "Han/Kana": han}
    assert found.mixed is mixed


def test_the_reasoning_is_the_separate_field_else_the_think_block_else_the_text():
    english, chinese = ENGLISH * 2, CHINESE * 3
    assert reasoning_text(english, chinese) == chinese  # a server's separate reasoning
    assert reasoning_text(english, "  ") == english  # an empty one is no reasoning
    assert reasoning_text(f"<think>{chinese}</think>{english}") == chinese
    assert reasoning_text(f"{english}<think>{chinese}") == chinese  # never closed: to the end
    assert reasoning_text(f"{chinese}</think>{english}") == chinese  # the prompt opened it
    assert reasoning_text(english) == english
    # Judged on the reasoning only: Chinese thinking with an English answer after it does not mix.
    assert measure(english, chinese).mixed is False and measure(english + chinese).mixed is True
    assert measure(f"<think>{chinese}</think>{english}").mixed is False


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("a $x^2 + \\text{答案}$ b", "a   b"),
        ("a $$\\text{答案}$$ b \\[ y \\] c \\( z \\) d", "a   b   c   d"),
        ("a \\begin{align} \\text{答} \\\\ x \\end{align} b", "a   b"),
        ("a ```\n代码\n``` b `x = 1` c https://example.com/答 d", "a   b   c   d"),
        ("a \\frac{1}{2} \\boxed{7}", "a  {1}{2}  {7}"),
        ("costs $5 and then more", "costs $5 and then more"),  # a lone dollar sign is no math
    ],
)
def test_math_code_and_addresses_are_taken_out(text, left):
    assert prose(text) == left


def test_a_delimiter_without_its_close_nearby_takes_out_nothing():
    near = "\\[ x " + "word " * 10 + "\\]"
    assert prose(near) == " "
    far = "\\[ x " + "word " * 2000 + "\\]"  # display math longer than 5,000 characters is not math
    assert prose(far) == far
    assert prose("$" + "x" * 1000 + "$") == " " and prose("$" + "x" * 1001 + "$") == "$" + "x" * 1001 + "$"


@pytest.mark.parametrize(
    ("sentence", "script", "words"),
    [
        ("עכשיו נבדוק שוב את התשובה הזאת ונראה שהיא נכונה לגמרי", "Hebrew", 10),
        ("এখন আমরা এই উত্তরটি আবার যাচাই করি এবং দেখি এটি সঠিক", "Bengali", 11),
        ("இப்போது இந்த பதிலை மீண்டும் சரிபார்த்து இது சரியானது என்று பார்ப்போம் நாம்", "Tamil", 10),
        ("Հիմա մենք նորից ստուգում ենք այս պատասխանը և տեսնում որ այն ճիշտ է", "Armenian", 13),
        ("ახლა ჩვენ კიდევ ერთხელ ვამოწმებთ ამ პასუხს და ვხედავთ რომ ის სწორია", "Georgian", 12),
        ("ตอนนี้เราตรวจสอบคำตอบนี้อีกครั้ง", "Thai", 11),  # 32 letters, no spaces: three letters a word
    ],
)
def test_every_writing_system_counts_its_words(sentence, script, words):
    found = measure(ENGLISH + sentence + ". " + ENGLISH)
    assert dict(found.units)[script] == words and found.pair == f"Latin+{script}"


def test_the_work_is_bounded_and_spread_to_the_end():
    long = ENGLISH * 2000  # about 400,000 characters
    assert len(mixing.bounded(long)) <= MAX_CHARS + 2 * mixing.WINDOWS
    # A reasoning that drifts into Chinese only in its last tenth is still seen.
    drifting = ENGLISH * 1800 + CHINESE * 800
    assert measure(drifting).mixed is True
    assert mixing.bounded(ENGLISH) == ENGLISH


def _published(model_part: str, idx: int) -> str:
    root = GENERATIONS / "published" / "qwen25-math-outputs"
    (path,) = [p for p in root.rglob("*.jsonl.gz") if model_part in str(p)]
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["idx"] == idx:
                return row["code"][0]
    raise AssertionError(f"no idx {idx} in {path}")


def test_real_published_responses():
    # A 107,510-character Sky-T1 response that falls into a Chinese loop 96,000 characters in.
    looping = _published("Sky-T1-math-reflection-1.0-32B", 4)
    assert len(looping) > 100_000 and "供应链" in looping[95_000:]
    found = measure(looping)
    assert found.mixed is True and found.pair == "Latin+Han/Kana"
    # A 121,880-character one that writes 即 once among its English: one borrowed word is no mixing.
    once = _published("checkpoint-105", 2)
    assert once.count("即") == 1 and len(once) > 100_000
    assert measure(once).mixed is False
    assert measure(once[once.index("即") - 3000 : once.index("即") + 3000]).units[1] == ("Han/Kana", 1)
