"""Verifier cases by the notation and structure of the answer: (response, gold, a careful grader's verdict,
the answer extracted, or ANY when only the verdict matters), and the rule that must decide where it matters.

The rounding rule these tables pin (README, "The verifier"): a decimal matches an exact gold when it is that
gold correctly rounded to the decimal places it states, with at least two significant digits; a gold with a
finite decimal expansion (any integer, 5/8, 7/4) and a gold written as a decimal must be matched exactly.
"""

from __future__ import annotations

T, F = True, False
ANY = object()

# fmt: off
ROUNDED_DECIMALS: list[tuple[str, str, bool, object]] = [
    ("\\boxed{0.67}", "\\frac{2}{3}", T, "0.67"),
    ("\\boxed{0.667}", "2/3", T, "0.667"),
    ("\\boxed{0.6667}", "\\dfrac{2}{3}", T, "0.6667"),
    ("\\boxed{0.666667}", "\\frac{2}{3}", T, "0.666667"),
    ("\\boxed{0.66}", "\\frac{2}{3}", F, "0.66"),  # truncated, not rounded
    ("\\boxed{0.666}", "\\frac{2}{3}", F, "0.666"),
    ("\\boxed{0.7}", "\\frac{2}{3}", F, "0.7"),  # one significant digit is not an answer to 2/3
    ("\\boxed{0.3}", "\\frac{1}{3}", F, "0.3"),
    ("\\boxed{0.33}", "\\frac{1}{3}", T, "0.33"),
    ("\\boxed{0.3334}", "\\frac{1}{3}", F, "0.3334"),
    ("\\boxed{4.1667e-2}", "\\frac{1}{24}", T, "4.1667e-2"),
    ("\\boxed{4.1667 \\times 10^{-2}}", "\\frac{1}{24}", T, ANY),
    ("\\boxed{0.0417}", "\\frac{1}{24}", T, "0.0417"),
    ("\\boxed{0.042}", "\\frac{1}{24}", T, "0.042"),
    ("\\boxed{0.04}", "\\frac{1}{24}", F, "0.04"),
    ("\\boxed{4.2e-2}", "\\frac{1}{24}", T, "4.2e-2"),
    ("\\boxed{4.1e-2}", "\\frac{1}{24}", F, "4.1e-2"),
    ("\\boxed{1.41}", "\\sqrt{2}", T, "1.41"),
    ("\\boxed{1.414}", "\\sqrt{2}", T, "1.414"),
    ("\\boxed{1.42}", "\\sqrt{2}", F, "1.42"),
    ("\\boxed{3.14}", "\\pi", T, "3.14"),
    ("\\boxed{3.1416}", "\\pi", T, "3.1416"),
    ("\\boxed{3.15}", "\\pi", F, "3.15"),
    ("\\boxed{3}", "\\pi", F, "3"),
    ("\\boxed{28.27}", "9\\pi", T, "28.27"),
    ("\\boxed{0.707}", "\\frac{\\sqrt{2}}{2}", T, "0.707"),
    ("\\boxed{0.71}", "\\frac{1}{\\sqrt{2}}", T, "0.71"),
    ("\\boxed{0.625}", "\\frac{5}{8}", T, "0.625"),
    ("\\boxed{0.63}", "\\frac{5}{8}", F, "0.63"),  # 5/8 has an exact decimal: rounding it is an error
    ("\\boxed{0.6}", "\\frac{5}{8}", F, "0.6"),
    ("\\boxed{1.75}", "\\frac{7}{4}", T, "1.75"),
    ("\\boxed{1.8}", "\\frac{7}{4}", F, "1.8"),
    ("\\boxed{24.99}", "25", F, "24.99"),  # integer golds are exact
    ("\\boxed{25.00}", "25", T, "25.00"),
    ("\\boxed{2.49}", "2.5", F, "2.49"),  # a decimal gold states its own precision
    ("\\boxed{2.50}", "2.5", T, "2.50"),
    ("\\boxed{16386.2}", "16386.17", F, "16386.2"),
    ("\\boxed{\\$16,386.17}", "16386.17", T, ANY),
    ("\\boxed{[1.75, 3)}", "[\\frac{7}{4}, 3)", T, "[1.75, 3)"),
    ("\\boxed{(0.6, 2.6667]}", "(\\frac{3}{5}, \\frac{8}{3}]", T, "(0.6, 2.6667]"),
    ("\\boxed{(0.6, 2.5]}", "(\\frac{3}{5}, \\frac{8}{3}]", F, "(0.6, 2.5]"),
    ("\\boxed{12.5\\%}", "\\frac{1}{8}", T, "12.5\\%"),
    ("\\boxed{50\\%}", "0.5", T, "50\\%"),
    ("\\boxed{33.3\\%}", "\\frac{1}{3}", T, "33.3\\%"),
    ("\\boxed{33\\%}", "\\frac{1}{3}", F, "33\\%"),
    ("The probability is approximately $0.67$.", "\\frac{2}{3}", T, "0.67"),
    ("Therefore, $x \\approx 1.414$.", "\\sqrt{2}", T, ANY),
]

MIXED_AND_SCIENTIFIC: list[tuple[str, str, bool, object]] = [
    ("\\boxed{2 3/4}", "\\frac{11}{4}", T, "2 3/4"),
    ("\\boxed{2\\frac{3}{4}}", "\\frac{11}{4}", T, "2\\frac{3}{4}"),
    ("\\boxed{2\\frac{3}{4}}", "2.75", T, "2\\frac{3}{4}"),
    ("\\boxed{-1\\frac{1}{2}}", "-\\frac{3}{2}", T, "-1\\frac{1}{2}"),
    ("\\boxed{3\\frac{1}{3}}", "\\frac{10}{3}", T, "3\\frac{1}{3}"),
    ("\\boxed{6\\tfrac{1}{4}}", "\\frac{25}{4}", T, "6\\tfrac{1}{4}"),
    ("\\boxed{2 3/4}", "\\frac{3}{2}", F, "2 3/4"),
    ("\\boxed{2\\frac{1}{4}}", "\\frac{11}{4}", F, "2\\frac{1}{4}"),
    ("\\boxed{1.2 \\times 10^{3}}", "1200", T, "1.2 \\times 10^{3}"),
    ("\\boxed{1.2e3}", "1200", T, "1.2e3"),
    ("\\boxed{1.2 \\times 10^{3}}", "1201", F, "1.2 \\times 10^{3}"),
    ("\\boxed{5 \\times 10^{-3}}", "0.005", T, "5 \\times 10^{-3}"),
    ("\\boxed{5e-3}", "\\frac{1}{200}", T, "5e-3"),
    ("\\boxed{5e-3}", "0.05", F, "5e-3"),
    ("\\boxed{2.5 \\cdot 10^2}", "250", T, "2.5 \\cdot 10^2"),
    ("\\boxed{6.02 \\times 10^{23}}", "6.02 \\times 10^{23}", T, "6.02 \\times 10^{23}"),
    ("\\boxed{6.02 \\times 10^{23}}", "6.02 \\times 10^{22}", F, "6.02 \\times 10^{23}"),
    ("\\boxed{10^{-3}}", "0.001", T, "10^{-3}"),
    ("\\boxed{2.5e1}", "25", T, "2.5e1"),
    ("\\boxed{17 \\text{ apples}}", "17", T, "17 \\text{ apples}"),
    ("\\boxed{C. x = 42}", "C", T, "C. x = 42"),
    ("\\boxed{(C) 42}", "C", T, "(C) 42"),
    ("\\boxed{A function of x}", "A", F, "A function of x"),
]

COMPLEX_NUMBERS: list[tuple[str, str, bool, object]] = [
    ("\\boxed{i(3+i)}", "-1+3i", T, "i(3+i)"),
    ("\\boxed{3i - 1}", "-1+3i", T, "3i - 1"),
    ("\\boxed{-1-3i}", "-1+3i", F, "-1-3i"),
    ("\\boxed{(1+i)^2}", "2i", T, "(1+i)^2"),
    ("\\boxed{(2+i)(2-i)}", "5", T, "(2+i)(2-i)"),
    ("\\boxed{(2+i)(2+i)}", "5", F, "(2+i)(2+i)"),
    ("\\boxed{\\frac{1}{i}}", "-i", T, "\\frac{1}{i}"),
    ("\\boxed{i^2}", "-1", T, "i^2"),
    ("\\boxed{\\frac{2+4i}{2}}", "1+2i", T, "\\frac{2+4i}{2}"),
    ("\\boxed{2 + i}", "2 - i", F, "2 + i"),
]

EXPRESSIONS: list[tuple[str, str, bool, object]] = [
    ("\\boxed{\\cos(90^\\circ - x)}", "\\sin x", T, "\\cos(90^\\circ - x)"),
    ("\\boxed{\\sin(180^\\circ - x)}", "\\sin x", T, "\\sin(180^\\circ - x)"),
    ("\\boxed{\\cos(90^\\circ + x)}", "\\sin x", F, "\\cos(90^\\circ + x)"),
    ("\\boxed{\\cos(\\frac{\\pi}{2} - x)}", "\\sin x", T, ANY),
    ("\\boxed{x^{1/2}}", "\\sqrt{x}", T, "x^{1/2}"),
    ("\\boxed{x^{3/2}}", "x\\sqrt{x}", T, "x^{3/2}"),
    ("\\boxed{x^{2/3}}", "\\sqrt[3]{x^2}", T, "x^{2/3}"),
    ("\\boxed{x^{-1/2}}", "\\frac{1}{\\sqrt{x}}", T, "x^{-1/2}"),
    ("\\boxed{x^{1/3}}", "\\sqrt{x}", F, "x^{1/3}"),
    ("\\boxed{4^{1/4}}", "\\sqrt{2}", T, "4^{1/4}"),
    ("\\boxed{2^{3/2}}", "2\\sqrt{2}", T, "2^{3/2}"),
    ("\\boxed{g(t) = 5t-1}", "5t-1", T, "g(t) = 5t-1"),
    ("\\boxed{y = 5t-1}", "g(t) = 5t-1", T, "y = 5t-1"),
    ("\\boxed{5t-1}", "g(t) = 5t-1", T, "5t-1"),
    ("\\boxed{f(x) = 2x + 3}", "y = 2x + 3", T, "f(x) = 2x + 3"),
    ("\\boxed{h(x) = x^2 - 1}", "f(x) = (x-1)(x+1)", T, "h(x) = x^2 - 1"),
    ("\\boxed{g(t) = 5t+1}", "5t-1", F, "g(t) = 5t+1"),
    ("\\boxed{y = 5t+1}", "g(t) = 5t-1", F, "y = 5t+1"),
    ("\\boxed{x = 1}", "y = 1", F, "x = 1"),
    ("\\boxed{\\tan^2 y + 1}", "\\sec^2 y", T, ANY),
]

STRUCTURE: list[tuple[str, str, bool, object]] = [
    # several boxes, several parts
    ("(a) $\\boxed{3}$ and (b) $\\boxed{5}$", "(3, 5)", T, "3, 5"),
    ("**(a)** The perimeter is $\\boxed{12}$.\n**(b)** The area is $\\boxed{9}$.", "12, 9", T, "12, 9"),
    ("(a) The perimeter is $\\boxed{12}$.\n(b) The area is $\\boxed{9}$.", "(12, 9)", T, "12, 9"),
    ("Part (a): $\\boxed{2}$\n\nPart (b): $\\boxed{7}$", "2, 7", T, "2, 7"),
    ("$\\boxed{(3, 3)} \\text{ for part (a) and } \\boxed{(1, 1)}$", "(3, 3), (1, 1)", T, "(3, 3), (1, 1)"),
    ("The roots are $\\boxed{2}$ and $\\boxed{3}$.", "\\{2, 3\\}", T, "2, 3"),
    ("The roots are $\\boxed{2}$ 和 $\\boxed{3}$。", "2, 3", T, "2, 3"),
    ("We first find $\\boxed{4}$ for the width. Then, after computing the rest of the perimeter and checking the"
     " constraints again with the second equation, the length is $\\boxed{6}$.", "6", T, "6"),
    ("I get $f(c) = \\boxed{2}$, so the minimum of the function over the whole interval is $\\boxed{5}$.", "5", T, "5"),
    # several solutions against a set
    ("\\boxed{a=3, b=1; a=4, b=1}", "\\{(3,1),(4,1)\\}", T, "a=3, b=1; a=4, b=1"),
    ("\\boxed{(a, b) = (3, 1), (4, 1)}", "(3,1),(4,1)", T, ANY),
    ("\\boxed{p=5,q=2;p=7,q=2}", "(5,2),(7,2)", T, "p=5,q=2;p=7,q=2"),
    ("\\boxed{a=3, b=1; a=5, b=1}", "\\{(3,1),(4,1)\\}", F, ANY),
    ("The answer is $12 \\text{ and } 13$.", "12, 13", T, ANY),
    ("Final Answer: The final answer is $12$ and $13$. I hope it is correct.", "12, 13", T, "12, 13"),
    # a gold that is a sentence or a whole solution
    ("\\boxed{12}", "The answer is 12.", T, "12"),
    ("\\boxed{12}", "Since $3 \\cdot 4 = 12$, the area is $\\boxed{12}$.", T, "12"),
    ("\\boxed{13}", "Since $3 \\cdot 4 = 12$, the area is $\\boxed{12}$.", F, "13"),
    ("\\boxed{3}", "We get $x = 3$.", T, "3"),
    ("\\boxed{1, 2, 3}", "$1$ and $2$ and $3$", T, "1, 2, 3"),
    # chat-template debris after the answer
    ("The area is $\\boxed{12}$.<|im_end|>", "12", T, "12"),
    ("So the answer is 12.<|endoftext|>Human: next question, the answer is 7.", "12", T, "12"),
    ("**Final Answer**\n\\boxed{12}<|im_start|>user\nNext problem: compute 3 + 4.\n<|im_start|>assistant\n\\boxed{7}",
     "12", T, "12"),
    ("Therefore the answer is 12.\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhy 7?", "12", T, "12"),
    ("Therefore the answer is 12.</s><s>[INST] And now the answer is 7. [/INST]", "12", T, "12"),
    ("The final answer is $\\frac{1}{2}$. I hope it is correct.<|im_start|>user", "0.5", T, "\\frac{1}{2}"),
    # answer lines written carelessly
    ("Let me add them up.\nAnswer: $12", "12", T, "12"),
    ("Let me add them up.\nAnswer: 12$", "12", T, "12"),
    ("Let me add them up.\nAnswer: \\boxed{12", "12", T, "12"),
    ("Let me add them up.\nAnswer: $\\boxed{12$", "12", T, "12"),
    ("Let me add them up.\nAnswer: $\\boxed{\\frac{1}{2}$", "0.5", T, "\\frac{1}{2}"),
    ("Let me add them up.\nAnswer: $\\boxed{13$", "12", F, "13"),
]

# None of these may be read as an answer: cut off mid-reasoning, or a number before a different conclusion.
NO_FALSE_POSITIVES: list[tuple[str, str, bool, object]] = [
    ("So the answer is 12, but wait, let me check the case $n = 2$, where", "12", F, None),
    ("Therefore, the area is 12 square units and the perimeter is", "12", F, None),
    ("We know $x = 12$. Then we substitute into the second equation and", "12", F, None),
    ("Thus the final result will be", "12", F, None),
    ("所以三角形的面积是12，然后我们", "12", F, None),
    ("所以答案是", "12", F, None),
    ("答案是12，不过我们还需要检查", "12", F, None),
    ("したがって、面積は 12 で、次に", "12", F, None),
    ("Donc la réponse est 12, mais il faut vérifier que", "12", F, None),
    ("Следовательно, ответ равен 12, но нужно проверить, что", "12", F, None),
    ("Earlier I thought it was 12, but the answer is actually 15.", "12", F, "15"),
    ("The answer is not 12 but 15.", "12", F, "15"),
    ("答案不是 12，而是 15。", "12", F, "15"),
    ("La respuesta no es 12 sino 15.", "12", F, "15"),
    ("Die Antwort ist nicht 12, sondern 15.", "12", F, "15"),
    ("Let me compute: 12 apples plus 3 more", "15", F, None),
    ("Result: 45. Then the area of the triangle is half the base times the height.", "45", F, None),
    ("I think the answer is 5. But wait, let me reconsider the second case: the count misses two, so 7.", "5", F, None),
    ("所以答案是 5。等等，我重新算一下：应该是 7 种。", "5", F, None),
    ("La réponse est 5. Attendez, il y a une erreur dans le deuxième cas.", "5", F, None),
    ("So the answer is 5.\n\nTo verify: 5 times 3 is 15, which matches the total.", "5", T, "5"),
]

# Short answers concluded in the eleven languages (and full-width forms).
SHORT_LANGUAGE_ANSWERS: list[tuple[str, str, bool, object]] = [
    ("答案：１２", "12", T, "12"),
    ("綜上所述，答案為 12。", "12", T, "12"),
    ("因此，最終答案是 $\\frac{1}{2}$。", "0.5", T, "\\frac{1}{2}"),
    ("答案是 12。", "12", T, "12"),
    ("所以答案是 $\\frac{1}{2}$。", "\\frac{1}{2}", T, "\\frac{1}{2}"),
    ("答：共有 12 种方法。", "12", T, "12"),
    ("综上所述，答案是12个。", "12", T, "12"),
    ("最终答案：（３，４）", "(3, 4)", T, "(3,4)"),
    ("答案：$x=３$", "3", T, "x=3"),
    ("答え：12", "12", T, "12"),
    ("よって、答えは 12 です。", "12", T, "12"),
    ("したがって、求める値は 12 である。", "12", T, "12"),
    ("정답: 12", "12", T, "12"),
    ("따라서 정답은 12입니다.", "12", T, "12"),
    ("따라서 답은 12개입니다.", "12", T, "12"),
    ("Réponse : 12", "12", T, "12"),
    ("Donc la réponse est 12.", "12", T, "12"),
    ("La réponse finale est $\\frac{3}{4}$.", "0.75", T, "\\frac{3}{4}"),
    ("Respuesta: 12", "12", T, "12"),
    ("Por lo tanto, la respuesta es 12.", "12", T, "12"),
    ("Antwort: 12", "12", T, "12"),
    ("Also ist die Antwort 12.", "12", T, "12"),
    ("Ответ: 12", "12", T, "12"),
    ("Следовательно, ответ: 12.", "12", T, "12"),
    ("Resposta: 12", "12", T, "12"),
    ("Portanto, a resposta é 12.", "12", T, "12"),
    ("Risposta: 12", "12", T, "12"),
    ("Quindi la risposta è 12.", "12", T, "12"),
    ("Đáp án: 12", "12", T, "12"),
    ("Vậy đáp án là 12.", "12", T, "12"),
    ("Réponse : 45 €", "45", T, "45"),
    ("Soucis : 2,74 $", "2.74", T, "2,74"),
    ("Vậy đáp án là 13.", "12", F, "13"),
    ("réponse est (20 + 25 = 45).", "45", T, ANY),
    ("Réponse : il restera 220 $ à payer dans 12 mois.", "220", T, "220"),
    ("La remise vaut 30 $. Le prix final est donc de 100 - 30 = 70", "70", T, "70"),
    ("The total cost is therefore 70.", "70", T, "70"),
    ("所以，每人应该分到 (\\frac{2}{5}) 吨。", "\\frac{2}{5}", T, "(\\frac{2}{5})"),
    ("答案：每份是 \\frac{3}{7} 千克。", "3/7", T, "\\frac{3}{7}"),
    ("计划的比例为13/28", "\\frac{13}{28}", T, "13/28"),
    ("總面積 = 72000 / 18 = 4000平方米", "4000", T, "4000"),
    ("ดังนั้น คำตอบคือ 12", "12", T, "12"),
    ("La respuesta es 12.", "12", T, "12"),
    ("A resposta é 12.", "12", T, "12"),
    ("Ответ: 13", "12", F, "13"),
    ("答案：13", "12", F, "13"),
]
# fmt: on

ALL_NOTATION_CASES = {
    "rounded decimals": ROUNDED_DECIMALS,
    "mixed and scientific": MIXED_AND_SCIENTIFIC,
    "complex numbers": COMPLEX_NUMBERS,
    "expressions": EXPRESSIONS,
    "structure": STRUCTURE,
    "no false positives": NO_FALSE_POSITIVES,
    "short answers in other languages": SHORT_LANGUAGE_ANSWERS,
}
