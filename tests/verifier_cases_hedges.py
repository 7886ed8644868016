"""Hedges never pay (docs/verifier.md, Hedges never pay): rows of (response, gold, a careful grader's verdict, the rule that must decide
or None when any comparison rule may).

A hedge offers several answers where the gold is one value; each row that hedges is right for one of its
candidates, so a checker that read only the first or the last candidate would pay it. The rows after them must
keep their full reward: the same answer written twice or in two notations, an answer reconsidered before the final
one, residues and assignments, and several values where the gold itself has several.
"""

from __future__ import annotations

T, F = True, False
HEDGE = "hedge"

# fmt: off
HEDGES: list[tuple[str, str, bool, str | None]] = [
    # "or" between two answers, in the statement or inside the box
    ("The answer is 5 or 6.", "5", F, HEDGE),
    ("The answer is 5 or 6.", "6", F, HEDGE),
    ("The answer is either 5 or 6.", "5", F, HEDGE),
    ("So the answer is $5$ or $6$.", "6", F, HEDGE),
    ("Therefore, $n = 5$ or $n = 6$.", "6", F, HEDGE),
    ("Answer: 5 or 6", "5", F, HEDGE),
    ("\\boxed{5 \\text{ or } 6}", "5", F, HEDGE),
    ("\\boxed{5 or 6}", "6", F, HEDGE),
    ("\\boxed{x = 1 \\text{ or } x = 2}", "1", F, HEDGE),
    # two boxed answers under two conditions, or offered one after the other
    ("If $x > 0$ then $\\boxed{5}$, otherwise $\\boxed{6}$.", "5", F, HEDGE),
    ("If $x > 0$ then $\\boxed{5}$, otherwise $\\boxed{6}$.", "6", F, HEDGE),
    ("If $x > 0$, the answer is $\\boxed{5}$; if $x \\le 0$, it is $\\boxed{6}$.", "6", F, HEDGE),
    ("The count is $\\boxed{2}$ if $n$ is even and $\\boxed{3}$ if $n$ is odd.", "3", F, HEDGE),
    ("$\\boxed{5}$ or $\\boxed{6}$", "6", F, HEDGE),
    ("\\boxed{5} or possibly \\boxed{6}", "6", F, HEDGE),
    # a candidate followed by another one
    ("The answer is 5, or possibly 6.", "5", F, HEDGE),
    ("The answer is $\\boxed{5}$, or maybe $6$.", "5", F, HEDGE),
    ("So the final answer is \\boxed{5} (or perhaps 6).", "5", F, HEDGE),
    # lists and sets of candidates
    ("\\boxed{5, 6}", "5", F, HEDGE),
    ("\\boxed{5; 6}", "6", F, HEDGE),
    ("\\boxed{\\{5, 6\\}}", "5", F, HEDGE),
    ("The answer is $\\{5, 6\\}$.", "6", F, HEDGE),
    ("$\\boxed{5}$ and $\\boxed{6}$", "6", F, HEDGE),
    # intervals and inequalities around an integer gold, plus or minus
    ("\\boxed{[4, 6]}", "5", F, HEDGE),
    ("\\boxed{(4, 6)}", "5", F, HEDGE),
    ("\\boxed{4 \\le x \\le 6}", "5", F, HEDGE),
    ("\\boxed{4 < x < 6}", "5", F, HEDGE),
    ("\\boxed{x > 4}", "5", F, HEDGE),
    ("\\boxed{x \\geq 5}", "5", F, HEDGE),
    ("\\boxed{x \\in [4, 6]}", "5", F, HEDGE),
    ("\\boxed{5 \\pm 1}", "6", F, HEDGE),
    ("\\boxed{\\pm 5}", "5", F, HEDGE),
    # the same in the other languages evalkit reads
    ("答案是 5 或 6。", "5", F, HEDGE),
    ("所以答案是 5 或者 6。", "6", F, HEDGE),
    ("\\boxed{5 或 6}", "5", F, HEDGE),
    ("答えは 5 または 6 です。", "5", F, HEDGE),
    ("정답은 5 또는 6입니다.", "5", F, HEDGE),
    ("La réponse est 5 ou 6.", "5", F, HEDGE),
    ("La respuesta es 5 o 6.", "5", F, HEDGE),
    ("La respuesta es 7 u 8.", "8", F, HEDGE),
    ("Die Antwort ist 5 oder 6.", "5", F, HEDGE),
    ("Ответ: 5 или 6", "5", F, HEDGE),
    ("A resposta é 5 ou 6.", "5", F, HEDGE),
    ("La risposta è 5 oppure 6.", "5", F, HEDGE),
    ("La risposta è 5 o 6.", "6", F, HEDGE),
    ("Vậy đáp án là 5 hoặc 6.", "5", F, HEDGE),
    # golds that are not integers
    ("\\boxed{\\frac{1}{2} \\text{ or } \\frac{1}{3}}", "\\frac{1}{2}", F, HEDGE),
    ("The answer is $\\sqrt{2}$ or $\\sqrt{3}$.", "\\sqrt{2}", F, HEDGE),
    ("\\boxed{\\pm\\sqrt{2}}", "\\sqrt{2}", F, HEDGE),
    ("\\boxed{2\\pi \\text{ or } 4\\pi}", "2\\pi", F, HEDGE),
    ("\\boxed{\\text{Evelyn or Bob}}", "\\text{Evelyn}", F, HEDGE),
    ("\\boxed{(C) \\text{ or } (D)}", "\\text{(C)}", F, HEDGE),
]

NOT_HEDGES: list[tuple[str, str, bool, str | None]] = [
    # honest repetition and one answer in two notations
    ("\\boxed{5} \\boxed{5}", "5", T, None),
    ("So $\\boxed{5}$.\n\nChecking the count once more, the answer is $\\boxed{5}$.", "5", T, None),
    ("$\\boxed{5}$ and $\\boxed{005}$", "5", T, None),
    ("The answer is $\\frac{1}{2}$, i.e. $0.5$.", "\\frac{1}{2}", T, None),
    ("\\boxed{\\frac{1}{2} \\text{ or } 0.5}", "\\frac{1}{2}", T, None),
    ("\\boxed{\\sqrt{8} \\text{ or } 2\\sqrt{2}}", "2\\sqrt{2}", T, None),
    ("The answer is $\\boxed{5}$ (or, equivalently, $005$).", "5", T, None),
    # an answer reconsidered before the final one
    ("First I thought the answer was 6, but rechecking the count, the answer is 5.", "5", T, None),
    ("I first got $\\boxed{6}$, but that counts one case twice; the answer is $\\boxed{5}$.", "5", T, None),
    ("The answer is 6. Wait, the case $n = 0$ is not allowed, so the answer is 5.", "5", T, None),
    ("We first find $\\boxed{4}$ for the width. Then, after computing the rest of the perimeter and checking the"
     " constraints again with the second equation, the length is $\\boxed{6}$.", "6", T, None),
    # one answer, written with a residue, an assignment, degrees, leading zeros, scientific notation
    ("\\boxed{005}", "5", T, None),
    ("\\boxed{5 \\pmod{1000}}", "5", T, None),
    ("\\boxed{5 \\ (\\text{mod } 1000)}", "5", T, None),
    ("So $N \\equiv 5 \\pmod{1000}$, and the answer is $\\boxed{5}$.", "5", T, None),
    ("\\boxed{x = 5}", "5", T, None),
    ("\\boxed{5^\\circ}", "5", T, None),
    ("\\boxed{2.5e1}", "25", T, None),
    ("\\boxed{4.1667e-2}", "\\frac{1}{24}", T, None),
    ("\\boxed{1,000}", "1000", T, None),
    ("\\boxed{2,5}", "2.5", T, None),
    # "o", "e", "u" as words, not between two answers
    ("A resposta é 5, o que confirma a contagem.", "5", T, None),
    ("La respuesta es 5 (o sea, cinco).", "5", T, None),
    ("Il risultato è 5 e lo verifichiamo.", "5", T, None),
    # a wrong answer stays wrong, not a hedge
    ("The answer is 7.", "5", F, "integer"),
    ("\\boxed{5} \\boxed{5}", "6", F, "integer"),
    # several values where the gold has several: a list is the answer
    ("\\boxed{5 \\text{ or } 6}", "5 \\text{ or } 6", T, None),
    ("The answer is 5 or 6.", "5 \\text{ or } 6", T, None),
    ("\\boxed{5, 6}", "5, 6", T, None),
    ("\\boxed{\\{5, 6\\}}", "\\{5, 6\\}", T, None),
    ("\\boxed{[4, 6]}", "[4, 6]", T, None),
    ("\\boxed{(3, 4)}", "(3, 4)", T, None),
    ("\\boxed{x > 4}", "x > 4", T, None),
    ("\\boxed{\\pm 2}", "2, -2", T, None),
    ("The roots are $\\boxed{2}$ and $\\boxed{3}$.", "2, 3", T, None),
    ("Both roots: $x = \\boxed{2}$ or $x = \\boxed{3}$.", "2, 3", T, None),
    ("\\boxed{(-\\infty, 3)}", "(-\\infty, 3)", T, None),
]
# fmt: on

ALL_HEDGE_CASES = HEDGES + NOT_HEDGES
