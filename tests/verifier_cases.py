"""Tables of verifier cases: (gold, answer as a model writes it, a careful human grader's verdict).

Each notation pair is also embedded in realistic long responses (real reasoning text from ../shared/generations
followed by a final answer in one of the formats models use), so the tables test extraction and comparison
together, the way the verifier meets them in a run.
"""

from __future__ import annotations

from pathlib import Path

from conftest import read_jsonl

T, F = True, False

# fmt: off
NOTATION_PAIRS: list[tuple[str, str, bool]] = [
    # AIME-style integers: leading zeros, decimals, units, wrappers, equations, expressions
    ("025", "25", T), ("25", "025", T), ("204", "204.0", T), ("204", "204.00", T), ("073", "73", T),
    ("80", r"80^\circ", T), ("80", r"80^{\circ}", T), ("540", r"540 \text{ minutes}", T), ("204", "204 minutes", T),
    ("902", r"\text{902}", T), ("127", r"\mathbf{127}", T), ("73", r"\textbf{73}", T), ("211", "x = 211", T),
    ("315", "n=315", T), ("113", "m+n=113", T), ("33", "m + n = 33", T), ("23", r"\dfrac{46}{2}", T),
    ("321", r"3.21 \times 10^2", T), ("100", "10^2", T), ("8", "2^3", T), ("1000", "1{,}000", T),
    ("1000", "1,000", T), ("0", "0", T), ("999", "999", T), ("468", r"468\%", T),
    ("236", "236.5", F), ("601", "610", F), ("33", "-33", F), ("45", "45.5", F), ("55", "5", F),
    ("104", "1040", F), ("197", "480", F), ("721", r"\frac{721}{2}", F), ("25", "x = 24", F), ("371", r"\sqrt{371}", F),
    # fractions and decimals
    (r"\frac{1}{2}", "0.5", T), (r"\frac{1}{2}", "1/2", T), (r"\frac{1}{2}", r"\dfrac{1}{2}", T),
    (r"\frac{1}{2}", r"\tfrac12", T), (r"\frac{1}{2}", r"\frac{2}{4}", T), (r"\frac{3}{4}", "0.75", T),
    (r"-\frac{2}{3}", "-2/3", T), (r"\frac{-2}{3}", r"-\frac{2}{3}", T), (r"\frac{7}{2}", "3.5", T),
    (r"\frac{9}{4}", r"\frac{9}{4}", T), ("1.5", "1.50", T), ("1.5", r"\frac{3}{2}", T), ("0.001", "10^{-3}", T),
    (r"\frac{1}{2}", r"\frac{1}{3}", F), (r"\frac{2}{3}", r"\frac{3}{2}", F), ("2.5", "2.49", F),
    (r"\frac{1}{3}", "0.33", T), (r"\frac{5}{8}", "0.6", F),
    # rounded decimals (the rounding rule), mixed numbers, scientific notation
    (r"\frac{2}{3}", "0.67", T), (r"\frac{2}{3}", "0.66", F), (r"\frac{1}{3}", "0.3", F), (r"\frac{5}{8}", "0.63", F),
    (r"\frac{1}{24}", "4.1667e-2", T), (r"\frac{1}{24}", "4.1e-2", F), (r"\frac{11}{4}", "2 3/4", T),
    (r"\frac{11}{4}", r"2\frac{1}{4}", F), ("1200", r"1.2 \times 10^3", T), ("1200", "1.3e3", F),
    # radicals
    (r"2\sqrt{2}", r"\sqrt{8}", T), (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", T), (r"\sqrt{3}", "3^{1/2}", T),
    (r"3\sqrt{3}", r"\sqrt{27}", T), (r"\sqrt[3]{2}", "2^{1/3}", T), (r"5\sqrt{2}", r"5 \sqrt 2", T),
    (r"4+2\sqrt{3}", r"2\sqrt{3}+4", T), (r"\frac{5\sqrt{42}}{27}", r"\frac{5\sqrt{42}}{27}", T),
    (r"\sqrt{2}", r"\sqrt{3}", F), (r"\sqrt{3}", "1.732", T), (r"2\sqrt{5}", r"5\sqrt{2}", F),
    # pi
    (r"2\pi", r"2 \pi", T), (r"\frac{\pi}{3}", r"\pi/3", T), (r"\frac{4}{3}\pi", r"\frac{4\pi}{3}", T),
    (r"6\pi", r"6\pi \text{ cm}^2", T), (r"\pi^2", r"\pi \cdot \pi", T), (r"\pi", "3.14", T), (r"2\pi", r"4\pi", F),
    # intervals
    ("[1, 2)", "[1,2)", T), (r"(-\infty, 3)", r"(-\infty,3)", T), (r"[2, \infty)", r"[2,\infty)", T),
    (r"(0,1) \cup (1, \infty)", r"(0,1)\cup(1,\infty)", T), ("[-3, 2]", r"\left[-3, 2\right]", T),
    ("[1,2)", "[1,2]", F), ("(-3, 2)", "[-3, 2]", F), (r"(-\infty, 3)", r"(-\infty, 3]", F),
    # sets and lists of values
    (r"\{1, 2, 3\}", r"\{3, 2, 1\}", T), ("1, 2, 3", "3, 1, 2", T), ("-1, 5", "5, -1", T), ("2, -2", r"\pm 2", T),
    (r"\{1,2\}", r"\{1,3\}", F), ("1, 2, 3", "1, 2", F),
    # tuples and points
    ("(3, 4)", "(3,4)", T), ("(1, -2, 3)", "(1,-2,3)", T), (r"\left( 3, \frac{\pi}{2} \right)", r"(3, \frac{\pi}{2})", T),
    ("(3, 4)", "(4, 3)", F), ("(1, 2)", "(1, -2)", F),
    # matrices and vectors
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}", T),
    (r"\begin{pmatrix} -1 \\ 2 \end{pmatrix}", r"\begin{pmatrix}-1\\2\end{pmatrix}", T),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", r"\begin{pmatrix}1&2\\3&5\end{pmatrix}", F),
    # equations
    ("3", "x = 3", T), ("x=3", "3", T), ("-2", "x=-2", T), ("y = 2x + 3", "y=2x+3", T), ("2x + 3y = 6", "3y + 2x = 6", T),
    ("x^2 + y^2 = 25", "y^2 + x^2 = 25", T), ("5", "x = 6", F), ("x = 1", "x = -1", F), ("y = 2x + 3", "y = 3x + 2", F),
    # percents
    (r"25\%", "25", T), (r"25\%", r"25 \%", T), ("25", r"25\%", T), (r"12.5\%", "12.5", T), (r"50\%", r"40\%", F),
    # units and money
    ("10", r"10 \text{ cm}", T), ("10", r"10\text{cm}", T), ("10", r"\text{10 inches}", T), ("5", r"\$5", T),
    ("5.50", r"\$5.50", T), ("18", r"18 \text{ square units}", T), ("36", r"36 \mbox{ sq ft}", T), ("12", "13 cm", F),
    # text answers and choices
    (r"\text{Evelyn}", "Evelyn", T), (r"\text{Evelyn}", r"\text{Evelyn}", T), (r"\text{(C)}", "C", T),
    (r"\text{(C)}", "(C)", T), (r"\text{Monday}", "Monday", T), (r"\text{north}", "North", T),
    (r"\text{(C)}", r"\text{(D)}", F), (r"\text{Tuesday}", "Monday", F), (r"\text{Evelyn}", "Bob", F),
    # thousands separators and LaTeX spacing
    ("1000000", "1,000,000", T), ("1234567", "1,234,567", T), ("12345", "12{,}345", T), ("12345", r"12\,345", T),
    ("10455", "10,455", T), (r"3\sqrt{2}", r"3 \, \sqrt{2}", T), ("x+1", r"x \! + \! 1", T),
    (r"\left(1,2\right)", "(1, 2)", T), (r"\displaystyle\frac{3}{5}", r"\frac35", T), (r"\frac{1}{2}", r"\frac{1}{2} \;", T),
    ("12345", "12,346", F),
    # degrees
    ("30", r"30^\circ", T), (r"30^\circ", "30", T), (r"120^{\circ}", "120°", T), ("45", r"45^\circ", T), ("30", r"60^\circ", F),
    # complex numbers, infinity, expressions
    ("1 + i", "i + 1", T), ("3+4i", "4i+3", T), ("1-i", "1+i", F), (r"-\infty", r"- \infty", T),
    ("-1+3i", "i(3+i)", T), ("-1+3i", "i(3-i)", F), ("5t-1", "g(t) = 5t-1", T), ("g(t) = 5t-1", "y = 5t-1", T),
    ("g(t) = 5t-1", "y = 5t+1", F),
    ("x^2 - 1", "(x-1)(x+1)", T), ("2x+2", "2(x+1)", T), (r"\frac{x+1}{2}", r"\frac{x}{2}+\frac{1}{2}", T),
    ("3x^2 - 2x", "x(3x-2)", T), ("x^2+1", "x^2-1", F), (r"e^{2}", r"\exp(2)", T), (r"\log_2 8", "3", T),
]
# fmt: on

# How models state a final answer; {answer} is the written answer, {reasoning} real reasoning text.
STYLES: dict[str, str] = {
    "r1-think": "{reasoning}\n</think>\n\nPutting the steps together gives the result.\n\n**Final Answer**\n\\[\n\\boxed{{{answer}}}\n\\]",
    "qwen-boxed": "{reasoning}\n\nTherefore, the final answer is $\\boxed{{{answer}}}$.",
    "dapo-line": "{reasoning}\n\nAnswer: ${answer}$",
    "minerva": "{reasoning} Final Answer: The final answer is ${answer}$. I hope it is correct.",
    "inline-box": "{reasoning}\n\nSo the value we are looking for is $\\boxed{{{answer}}}$, which completes the solution.",
}


def reasoning_texts(generations: Path, count: int = 12) -> list[str]:
    """Opening paragraphs of real responses, free of answer markers, to stand for a model's reasoning."""
    texts = []
    for path in sorted(generations.glob("aime24_*.jsonl")):
        for row in read_jsonl(path):
            head = row["response"][:1500]
            cut = head.rfind("\n\n")
            head = head[:cut] if cut > 300 else head
            lowered = head.lower()
            if "boxed" in lowered or "answer" in lowered or "think>" in lowered:
                continue
            texts.append(head)
    return texts[:: max(1, len(texts) // count)][:count]


def long_response_cases(generations: Path) -> list[tuple[str, str, bool, str]]:
    """Every notation pair, embedded in two realistic long responses: (response, gold, expected, style)."""
    reasoning = reasoning_texts(generations)
    styles = list(STYLES)
    cases = []
    for i, (gold, answer, expected) in enumerate(NOTATION_PAIRS):
        for j in range(2):
            style = styles[(2 * i + j) % len(styles)]
            body = reasoning[(i + j) % len(reasoning)]
            text = STYLES[style].format(reasoning=body, answer=answer)
            cases.append((text, gold, expected, style))
    return cases


# Extraction cases on whole responses: (response, gold, expected verdict, expected extracted answer or None).
EXTRACTION_CASES: list[tuple[str, str, bool, str | None]] = [
    # the last box wins over earlier intermediate boxes
    ("First guess \\boxed{12}. Checking again, that was wrong.\n\nThe answer is \\boxed{14}.", "14", T, "14"),
    ("Nested braces: \\boxed{\\frac{1}{\\sqrt{2}}}", r"\frac{\sqrt{2}}{2}", T, r"\frac{1}{\sqrt{2}}"),
    ("Old style \\fbox{42} at the end.", "42", T, "42"),
    ("TeX without braces: $\\boxed 7$.", "7", T, "7"),
    ("Both roots: $x = \\boxed{2}$ or $x = \\boxed{3}$.", "2, 3", T, "2, 3"),
    ("The pairs are \\boxed{(1, 2)} and \\boxed{(2, 1)}.", "(1,2), (2,1)", T, "(1, 2), (2, 1)"),
    # a box cut off or left empty is no answer, even after an earlier complete one
    ("Maybe \\boxed{5}? Let me verify by computing \\boxed{5", "5", F, None),
    ("Result: \\boxed{}", "5", F, None),
    # think blocks
    ("<think>\nTry 3... no, 4.\n</think>\n\nThe answer is $\\boxed{4}$.", "4", T, "4"),
    ("<think>\nSo far the answer is \\boxed{4} but I should double-check the case n = 2 and", "4", F, None),
    ("Okay, the setup is...\n</think>\nAfter simplifying, the area is \\boxed{12}.", "12", T, "12"),
    ("<think>\nClearly the total is \\boxed{9}.\n</think>\n\n", "9", T, "9"),
    # DAPO answer lines: the last one wins; markdown emphasis is fine
    ("Reasoning...\nAnswer: 12\nWait, I mis-added.\nAnswer: 13", "13", T, "13"),
    ("Step 3 gives the count.\n\n**Answer:** $\\frac{3}{7}$", r"\frac{3}{7}", T, r"\frac{3}{7}"),
    ("Hence the total.\n\nFinal Answer: 204", "204", T, "204"),
    ("Answer \\[ 9 \\]", "9", T, "9"),
    # "final answer is" phrasings, Minerva style; they override an earlier box
    (
        "so $\\boxed{255}$ interest. In total $10,455. Final Answer: The final answer is $10,455$. I hope it is correct.",
        "10455",
        T,
        "10,455",
    ),
    ("Thus the final answer is: 73.", "73", T, "73"),
    ("The final answer is $\\frac{5}{2}$, as shown.", "2.5", T, r"\frac{5}{2}"),
    # "the answer is" counts only without a box
    ("\\boxed{42}\n\nDouble-checking: the answer is indeed 42 because 6 * 7 = 42.", "42", T, "42"),
    ("We conclude that the answer is 17.", "17", T, "17"),
    # a concluding sentence at the very end of complete reasoning
    (
        "... P(A) = (1/2) * (4/3) so P(A) = 2/3. Therefore, the probability that Alice wins the game is 2/3.",
        r"\frac{2}{3}",
        T,
        "2/3",
    ),
    ("Adding the cases gives 19 points in all.\nThus, the maximum number of points is $19$.", "19", T, "19"),
    ("Since no solutions exist, the expression is undefined. Therefore, $m+n$ is also undefined.", "7", F, None),
    # cut off mid-reasoning: no answer, never "the last number in the text"
    ("We have $3x = 12$, so $x = 4$. Then substituting into the second equation gives $y = 7$ and", "7", F, None),
    ("Let me compute 17 * 12 = 204. Now the remaining time is 204 - 180 = 24 minutes, which means", "24", F, None),
    ("The sum of the first 10 terms is 55 and the next term is", "55", F, None),
    # short responses that are only an answer or one statement
    ("42", "42", T, "42"),
    ("$\\frac{1}{2}$", "0.5", T, r"\frac{1}{2}"),
    ("x = 3", "3", T, "x = 3"),
    (
        "The identity matrix is $\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$.",
        r"\begin{pmatrix}1 & 0 \\ 0 & 1\end{pmatrix}",
        T,
        r"\begin{pmatrix}1 & 0 \\ 0 & 1\end{pmatrix}",
    ),
    ("Therefore $x \\geq 5$ is the solution.", "x >= 5", T, r"x \geq 5"),
    ("Jane started growing Sphere 3 hours ago.", "3", T, "3"),
    ("", "3", F, None),
    ("   \n  ", "3", F, None),
]


def real_generation_expectations() -> dict[tuple[str, str], tuple[str | None, bool]]:
    """Verdicts on the 120 real responses in ../shared/generations, each read by hand.

    Keyed by (file model name, problem id): (extracted answer, correct). Responses not listed have the answer
    of their last box and are wrong; these are the ones that need care (no box, empty box, cut off, correct).
    """
    return {
        ("Qwen_Qwen2.5-14B-Instruct", "2024-I-1"): ("204", T),
        ("Qwen_Qwen2.5-14B-Instruct", "2024-I-2"): ("25", T),
        ("Qwen_Qwen2.5-14B-Instruct", "2024-I-4"): ("116", T),
        ("Qwen_Qwen2.5-14B-Instruct", "2024-II-2"): ("236", T),
        ("Qwen_Qwen2.5-14B-Instruct", "2024-II-3"): ("45", T),
        ("Qwen_Qwen2.5-14B-Instruct", "2024-II-6"): ("55", T),
        ("Qwen_Qwen2.5-14B-Instruct", "2024-II-14"): (None, F),  # cut off inside a list of fractions
        ("Qwen_Qwen2.5-Math-7B", "2024-I-1"): ("204", T),
        ("Qwen_Qwen2.5-Math-7B", "2024-I-2"): ("25", T),
        ("Qwen_Qwen2.5-Math-7B", "2024-I-3"): (None, F),  # cut off listing winning positions
        ("Qwen_Qwen2.5-Math-7B", "2024-I-4"): ("116", T),
        ("Qwen_Qwen2.5-Math-7B", "2024-I-5"): (None, F),  # degenerates into empty boxes
        ("Qwen_Qwen2.5-Math-7B", "2024-I-8"): (None, F),  # ends inside an unclosed box
        ("Qwen_Qwen2.5-Math-7B", "2024-I-13"): ("110", T),
        ("Qwen_Qwen2.5-Math-7B", "2024-II-1"): (None, F),
        ("Qwen_Qwen2.5-Math-7B", "2024-II-6"): ("Assistant", F),
        ("Qwen_Qwen2.5-Math-7B", "2024-II-10"): (None, F),  # "Shay Shay Shay ..."
        ("Qwen_Qwen2.5-Math-7B", "2024-II-11"): ("601", T),
        ("Qwen_Qwen2.5-Math-7B", "2024-II-12"): (None, F),  # a loop of \\implies
        ("Qwen_Qwen2.5-Math-7B", "2024-II-13"): (None, F),  # a tool call that timed out
        ("Qwen_Qwen2.5-Math-7B", "2024-II-14"): ("211", T),
        ("Sky-T1-math-correct-5K-32B-short", "2024-I-2"): ("25", T),
        ("Sky-T1-math-correct-5K-32B-short", "2024-I-4"): ("116", T),
        ("Sky-T1-math-correct-5K-32B-short", "2024-I-7"): ("540", T),
        ("Sky-T1-math-correct-5K-32B-short", "2024-II-6"): ("55", T),
        ("google_gemma-2-27b-it", "2024-I-1"): (None, F),  # offers to finish the algebra, never answers
        ("google_gemma-2-27b-it", "2024-I-2"): ("25", T),
        ("google_gemma-2-27b-it", "2024-I-4"): (None, F),  # ends "m + n = 6 + 5 = **11**", unmarked (and wrong)
        # the value of sqrt(324^2 + 432^2) is 540: a correct answer left unsimplified
        ("google_gemma-2-27b-it", "2024-I-7"): (r"\sqrt{324^2 + (-432)^2}", T),
        ("google_gemma-2-27b-it", "2024-I-9"): (r"\text{maximum value}", F),
        ("google_gemma-2-27b-it", "2024-II-4"): (None, F),  # concludes that m+n is undefined
        ("google_gemma-2-27b-it", "2024-II-6"): ("unknown without further calculation", F),
        ("google_gemma-2-27b-it", "2024-I-8"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-I-10"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-I-12"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-I-14"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-I-15"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-II-1"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-II-3"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-II-10"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-II-12"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-II-15"): (None, F),  # an outline that stops before any number
        ("google_gemma-2-27b-it", "2024-II-11"): ("(100, 100, 100)", F),
    }
