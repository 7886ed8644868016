"""Long responses that conclude in another language: (response, gold, a careful grader's verdict, answer extracted).

Each language has a worked problem written the way reasoning models write it (several paragraphs, some of them
inside a `<think>` block, mixed with English), and the endings models use in that language: an answer label,
"the answer is", a concluding sentence without any marker, a box inside a sentence, full-width digits, a unit
or measure word after the number, a number mentioned before a different conclusion, chat-template debris, and
endings cut off mid-sentence (no answer).
"""

from __future__ import annotations

from dataclasses import dataclass

T, F = True, False


@dataclass(frozen=True)
class Language:
    """A worked problem in one language and the endings a model writes in it.

    `endings`: (ending text, gold, expected verdict, expected extracted answer or None); `{a}` in an ending is
    replaced by nothing (it marks where the answer sits, for readability of the table).
    """

    name: str
    reasoning: tuple[str, ...]
    endings: tuple[tuple[str, str, bool, str | None], ...]


# fmt: off
LANGUAGES: tuple[Language, ...] = (
    Language(
        "chinese",
        (
            "我们需要求出满足条件的三角形的面积。设直角三角形的两条直角边分别为 $a$ 和 $b$，斜边为 $c$。根据题意，$a + b = 7$，并且 $c = 5$。",
            "由勾股定理，$a^2 + b^2 = c^2 = 25$。又因为 $(a+b)^2 = a^2 + 2ab + b^2$，所以 $49 = 25 + 2ab$，从而 $ab = 12$。",
            "Wait, let me double-check: 面积应该是 $\\frac{1}{2}ab$，也就是 $\\frac{1}{2} \\times 12 = 6$。题目问的是 $ab$ 的值，不是面积，所以我们要的是 $ab$。",
            "验证一下：$a = 3, b = 4$ 满足 $a + b = 7$ 且 $a^2 + b^2 = 25$，此时 $ab = 12$，没有问题。",
        ),
        (
            ("因此，$ab$ 的值是 $\\boxed{12}$。", "12", T, "12"),
            ("答案：12", "12", T, "12"),
            ("所以答案是 12。", "12", T, "12"),
            ("综上所述，$ab = 12$。", "12", T, "ab = 12"),
            ("最终答案是 $12$。", "12", T, "12"),
            ("故答案为 １２。", "12", T, "12"),
            ("所以满足条件的乘积一共是 12 个单位。", "12", T, "12"),
            ("一开始我以为答案是 6，但题目问的是乘积，所以答案是 12。", "6", F, "12"),
            ("**答案**：$\\frac{24}{2}$", "12", T, "\\frac{24}{2}"),
            ("所以答案是 12。<|im_end|>\n<|im_start|>user\n下一题：答案是 7。", "7", F, "12"),
            ("所以 $ab$ 的值是 12，接下来我们再验证一下 $a$ 和 $b$ 是否都是", "12", F, None),
            ("因此我们得到", "12", F, None),
            ("所以答案是 13。", "12", F, "13"),
        ),
    ),
    Language(
        "chinese-think",
        (
            "<think>\n好的，我们来看这道题。一个数列满足 $a_1 = 1$，$a_{n+1} = 2a_n + 1$。要求 $a_{10}$。",
            "先算前几项：$a_2 = 3$，$a_3 = 7$，$a_4 = 15$。看起来 $a_n = 2^n - 1$。用归纳法：若 $a_n = 2^n - 1$，则 $a_{n+1} = 2(2^n - 1) + 1 = 2^{n+1} - 1$。成立。",
            "So $a_{10} = 2^{10} - 1 = 1024 - 1 = 1023$. 再检查一次：$2^{10} = 1024$，没错。\n</think>",
            "数列的通项公式为 $a_n = 2^n - 1$，代入 $n = 10$ 得到结果。",
        ),
        (
            ("因此 $a_{10} = \\boxed{1023}$。", "1023", T, "1023"),
            ("所以 $a_{10}$ 的值为 1023。", "1023", T, "1023"),
            ("答案：$1023$", "1023", T, "1023"),
            ("最终答案：１０２３", "1023", T, "1023"),
            ("因此，答案是 1,023。", "1023", T, "1,023"),
            ("所以答案是 1024。", "1023", F, "1024"),
            ("所以 $a_{10}$ 等于", "1023", F, None),
        ),
    ),
    Language(
        "japanese",
        (
            "問題を整理します。箱の中に赤玉が 3 個、白玉が 5 個入っています。同時に 2 個取り出すとき、2 個とも赤玉である確率を求めます。",
            "全体の取り出し方は $\\binom{8}{2} = 28$ 通りです。赤玉 2 個の取り出し方は $\\binom{3}{2} = 3$ 通りです。",
            "Let me verify with sequential draws: 最初に赤を引く確率は $\\frac{3}{8}$、次も赤を引く確率は $\\frac{2}{7}$ なので、$\\frac{3}{8} \\cdot \\frac{2}{7} = \\frac{6}{56} = \\frac{3}{28}$ です。一致します。",
        ),
        (
            ("よって、求める確率は $\\boxed{\\frac{3}{28}}$ です。", "\\frac{3}{28}", T, "\\frac{3}{28}"),
            ("答え：$\\frac{3}{28}$", "\\frac{3}{28}", T, "\\frac{3}{28}"),
            ("したがって、答えは $\\frac{3}{28}$ です。", "\\frac{3}{28}", T, "\\frac{3}{28}"),
            ("よって、確率は 3/28 である。", "\\frac{3}{28}", T, "3/28"),
            ("したがって、確率は約 0.107 です。", "\\frac{3}{28}", T, "0.107"),
            ("したがって、確率は約 0.11 です。", "\\frac{3}{28}", T, "0.11"),
            ("したがって、答えは $\\frac{3}{56}$ です。", "\\frac{3}{28}", F, "\\frac{3}{56}"),
            ("最終的な答えは $\\frac{6}{56}$ です。", "\\frac{3}{28}", T, "\\frac{6}{56}"),
            ("よって、求める確率は", "\\frac{3}{28}", F, None),
            ("したがって、確率は $\\frac{3}{28}$ となり、次に白玉の場合を考えると", "\\frac{3}{28}", F, None),
        ),
    ),
    Language(
        "korean",
        (
            "문제를 정리하면, 한 변의 길이가 $6$인 정사각형 안에 내접하는 원의 넓이를 구하는 것입니다.",
            "정사각형에 내접하는 원의 지름은 정사각형의 한 변의 길이와 같으므로 지름은 $6$이고 반지름은 $3$입니다.",
            "원의 넓이 공식은 $\\pi r^2$입니다. 반지름을 대입하면 넓이를 바로 구할 수 있습니다.",
            "Double-check: 원의 넓이 공식은 $\\pi r^2$이므로 $\\pi \\cdot 3^2 = 9\\pi$입니다. 계산이 맞습니다.",
        ),
        (
            ("따라서 원의 넓이는 $\\boxed{9\\pi}$입니다.", "9\\pi", T, "9\\pi"),
            ("정답: $9\\pi$", "9\\pi", T, "9\\pi"),
            ("따라서 정답은 $9\\pi$입니다.", "9\\pi", T, "9\\pi"),
            ("그러므로 원의 넓이는 약 28.27입니다.", "9\\pi", T, "28.27"),
            ("그러므로 원의 넓이는 약 28.3입니다.", "9\\pi", T, "28.3"),
            ("따라서 정답은 $36\\pi$입니다.", "9\\pi", F, "36\\pi"),
            ("최종 답: $9\\pi$", "9\\pi", T, "9\\pi"),
            ("따라서 원의 넓이는", "9\\pi", F, None),
        ),
    ),
    Language(
        "korean-count",
        (
            "1부터 100까지의 자연수 중에서 3의 배수이면서 5의 배수가 아닌 수의 개수를 구해 봅시다.",
            "3의 배수의 개수는 $\\lfloor 100/3 \\rfloor = 33$개입니다. 15의 배수의 개수는 $\\lfloor 100/15 \\rfloor = 6$개입니다.",
            "따라서 3의 배수 중 15의 배수를 제외하면 $33 - 6 = 27$개가 남습니다.",
        ),
        (
            ("따라서 답은 27개입니다.", "27", T, "27"),
            ("정답은 27입니다.", "27", T, "27"),
            ("답: 27개", "27", T, "27"),
            ("따라서 구하는 개수는 33개가 아니라 27개입니다.", "33", F, "27"),
            ("따라서 구하는 개수는 ２７개입니다.", "27", T, "27"),
            ("따라서 구하는 개수는 27개이고, 이제 5의 배수를", "27", F, None),
        ),
    ),
    Language(
        "french",
        (
            "Cherchons le nombre de façons de choisir un comité de 3 personnes parmi 7 candidats, sachant que l'ordre ne compte pas.",
            "Le nombre de combinaisons est $\\binom{7}{3} = \\frac{7 \\cdot 6 \\cdot 5}{3 \\cdot 2 \\cdot 1}$. Le numérateur vaut $210$ et le dénominateur vaut $6$.",
            "Vérifions : $210 / 6 = 35$. On peut aussi utiliser la symétrie $\\binom{7}{3} = \\binom{7}{4} = 35$.",
        ),
        (
            ("Donc la réponse est $\\boxed{35}$.", "35", T, "35"),
            ("Réponse : 35", "35", T, "35"),
            ("La réponse finale est 35.", "35", T, "35"),
            ("Par conséquent, il y a 35 façons de choisir le comité.", "35", T, "35"),
            ("Ainsi, le nombre de comités possibles est $35$.", "35", T, "35"),
            ("Donc la réponse est 35 façons.", "35", T, "35"),
            ("**Réponse finale :** $\\boxed{35}$", "35", T, "35"),
            ("Au début j'ai trouvé 210, mais il faut diviser par 6, donc la réponse est 35.", "210", F, "35"),
            ("Donc la réponse est 34.", "35", F, "34"),
            ("Donc le nombre de comités est 35 et maintenant il faut vérifier que", "35", F, None),
        ),
    ),
    Language(
        "french-decimal",
        (
            "On lance une pièce équilibrée 3 fois. On cherche la probabilité d'obtenir exactement deux fois pile.",
            "Il y a $2^3 = 8$ issues équiprobables, et $\\binom{3}{2} = 3$ issues favorables.",
            "La probabilité vaut donc $\\frac{3}{8}$, soit $0,375$ en écriture décimale.",
        ),
        (
            ("Donc la probabilité est 0,375.", "\\frac{3}{8}", T, "0,375"),
            ("Réponse : $0,375$", "0.375", T, "0,375"),
            ("Donc la probabilité est 3/8.", "\\frac{3}{8}", T, "3/8"),
            ("Donc la probabilité est 0,38.", "\\frac{3}{8}", F, "0,38"),
        ),
    ),
    Language(
        "spanish",
        (
            "Queremos hallar el valor de $x$ que satisface la ecuación $2x + 3 = 17$.",
            "Restamos 3 en ambos lados: $2x = 14$. Luego dividimos entre 2 y obtenemos $x = 7$.",
            "Comprobación: $2 \\cdot 7 + 3 = 14 + 3 = 17$, que es correcto.",
        ),
        (
            ("Por lo tanto, la respuesta es $\\boxed{7}$.", "7", T, "7"),
            ("Respuesta: 7", "7", T, "7"),
            ("Por lo tanto, $x = 7$.", "7", T, "x = 7"),
            ("La respuesta final es 7.", "7", T, "7"),
            ("Entonces el valor de $x$ es 7.", "7", T, "7"),
            ("**Respuesta final:** $x = 7$", "7", T, "x = 7"),
            ("Primero pensé que era 14, pero hay que dividir entre 2, así que la respuesta es 7.", "14", F, "7"),
            ("Por lo tanto, la respuesta es 8.", "7", F, "8"),
            ("Por lo tanto, el valor de $x$ es 7 y ahora sustituimos en la segunda ecuación para", "7", F, None),
        ),
    ),
    Language(
        "spanish-money",
        (
            "Un libro cuesta 30 euros y tiene un descuento del 15 %. Queremos saber cuánto se paga.",
            "El descuento es $30 \\cdot 0,15 = 4,5$ euros. Por lo tanto el precio final es $30 - 4,5$.",
            "Calculamos: $30 - 4,5 = 25,5$.",
        ),
        (
            ("Por lo tanto, se pagan 25,5 €.", "25.5", T, "25,5"),
            ("Respuesta: 25,50 euros", "25.5", T, "25,50"),
            ("La respuesta es $\\frac{51}{2}$ euros.", "25.5", T, "\\frac{51}{2}"),
            ("Por lo tanto, se pagan 26 €.", "25.5", F, "26"),
        ),
    ),
    Language(
        "german",
        (
            "Gesucht ist die Summe der ersten 20 natürlichen Zahlen, also $1 + 2 + \\dots + 20$.",
            "Nach der Gaußschen Summenformel gilt $\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$. Für $n = 20$ ergibt sich $\\frac{20 \\cdot 21}{2}$.",
            "Kontrolle: $20 \\cdot 21 = 420$ und $420 / 2 = 210$. Paarweise Addition liefert ebenfalls $10 \\cdot 21 = 210$.",
        ),
        (
            ("Also ist die Antwort $\\boxed{210}$.", "210", T, "210"),
            ("Antwort: 210", "210", T, "210"),
            ("Die Antwort lautet 210.", "210", T, "210"),
            ("Somit beträgt die Summe 210.", "210", T, "210"),
            ("Die endgültige Antwort ist 210.", "210", T, "210"),
            ("Damit ist die Summe gleich $210$.", "210", T, "210"),
            ("Zuerst hatte ich 420, aber man muss durch 2 teilen, also ist die Antwort 210.", "420", F, "210"),
            ("Also ist die Antwort 211.", "210", F, "211"),
            ("Also ist die Summe 210, und jetzt prüfen wir noch, ob", "210", F, None),
        ),
    ),
    Language(
        "russian",
        (
            "Найдём количество диагоналей выпуклого восьмиугольника.",
            "Из каждой вершины можно провести диагонали ко всем вершинам, кроме самой себя и двух соседних, то есть $8 - 3 = 5$ диагоналей.",
            "Каждая диагональ считается дважды, поэтому общее число равно $\\frac{8 \\cdot 5}{2}$. Проверим по формуле $\\frac{n(n-3)}{2}$ при $n = 8$: $\\frac{8 \\cdot 5}{2} = 20$.",
        ),
        (
            ("Следовательно, ответ: $\\boxed{20}$.", "20", T, "20"),
            ("Ответ: 20", "20", T, "20"),
            ("**Ответ:** 20 диагоналей.", "20", T, "20"),
            ("Итак, ответ: 20.", "20", T, "20"),
            ("Таким образом, у восьмиугольника 20 диагоналей.", "20", T, "20"),
            ("Окончательный ответ: $20$", "20", T, "20"),
            ("Сначала я получил 40, но каждая диагональ посчитана дважды, поэтому ответ равен 20.", "40", F, "20"),
            ("Следовательно, ответ: 21.", "20", F, "21"),
            ("Следовательно, число диагоналей равно 20, и теперь рассмотрим случай, когда", "20", F, None),
        ),
    ),
    Language(
        "portuguese",
        (
            "Queremos encontrar o máximo divisor comum de 84 e 126.",
            "Vamos usar a fatoração em primos, que é o caminho mais direto para números pequenos como estes.",
            "Fatorando: $84 = 2^2 \\cdot 3 \\cdot 7$ e $126 = 2 \\cdot 3^2 \\cdot 7$.",
            "Os fatores comuns com os menores expoentes são $2 \\cdot 3 \\cdot 7 = 42$. Verificação pelo algoritmo de Euclides: $126 = 1 \\cdot 84 + 42$ e $84 = 2 \\cdot 42$.",
        ),
        (
            ("Portanto, a resposta é $\\boxed{42}$.", "42", T, "42"),
            ("Resposta: 42", "42", T, "42"),
            ("Logo, o MDC é 42.", "42", T, "42"),
            ("A resposta final é 42.", "42", T, "42"),
            ("Portanto, o máximo divisor comum vale $42$.", "42", T, "42"),
            ("Pensei que fosse 21, mas a resposta é 42.", "21", F, "42"),
            ("Portanto, a resposta é 14.", "42", F, "14"),
            ("Portanto, o MDC é 42 e agora vamos calcular o MMC, que é", "42", F, None),
        ),
    ),
    Language(
        "italian",
        (
            "Dobbiamo calcolare l'area di un trapezio con basi 8 e 12 e altezza 5.",
            "L'area di un trapezio è $\\frac{(B + b) h}{2}$. Sostituendo: $\\frac{(12 + 8) \\cdot 5}{2} = \\frac{100}{2}$.",
            "Quindi otteniamo $50$. Controllo: la base media è $10$ e $10 \\cdot 5 = 50$.",
        ),
        (
            ("Quindi la risposta è $\\boxed{50}$.", "50", T, "50"),
            ("Risposta: 50", "50", T, "50"),
            ("La risposta finale è 50.", "50", T, "50"),
            ("Pertanto, l'area del trapezio è 50 unità quadrate.", "50", T, "50"),
            ("Dunque l'area vale $50$.", "50", T, "50"),
            # A sentence that opens with a conclusion word and holds no other marker: each word alone decides.
            ("Otteniamo così un'area di $50$ unità quadrate.", "50", T, "50"),
            ("Il risultato è $50$ unità quadrate.", "50", T, "50"),
            ("La soluzione del problema è un'area di $50$.", "50", T, "50"),
            # The conclusion word inside the sentence, after the verb, as Italian puts it.
            ("L'area del trapezio è quindi 50.", "50", T, "50"),
            ("L'area cercata è pertanto 50 unità quadrate.", "50", T, "50"),
            ("L'area vale dunque $50$, come previsto.", "50", T, "50"),
            ("All'inizio avevo 100, ma va diviso per 2, quindi la risposta è 50.", "100", F, "50"),
            ("Quindi la risposta è 60.", "50", F, "60"),
            ("Quindi l'area è 50 e ora verifichiamo che l'altezza sia", "50", F, None),
        ),
    ),
    Language(
        "vietnamese",
        (
            "Ta cần tìm số nghiệm nguyên dương của phương trình $x + y = 10$.",
            "Với mỗi giá trị $x$ từ $1$ đến $9$, ta có đúng một giá trị $y = 10 - x$ là số nguyên dương.",
            "Kiểm tra: khi $x = 1$ thì $y = 9$, khi $x = 9$ thì $y = 1$. Có tất cả $9$ cặp.",
        ),
        (
            ("Vậy đáp án là $\\boxed{9}$.", "9", T, "9"),
            ("Đáp án: 9", "9", T, "9"),
            ("Vậy đáp án là 9.", "9", T, "9"),
            ("Do đó, phương trình có 9 nghiệm nguyên dương.", "9", T, "9"),
            ("Đáp số: 9 cặp", "9", T, "9"),
            ("Ban đầu tôi nghĩ là 10, nhưng $x$ phải dương nên đáp án là 9.", "10", F, "9"),
            ("Vậy đáp án là 8.", "9", F, "8"),
            ("Vậy số nghiệm là 9 và bây giờ ta xét trường hợp", "9", F, None),
        ),
    ),
    Language(
        "arabic",
        (
            "نريد حساب ناتج العملية $48 \\div 4 + 3$. نبدأ بالقسمة لأنها تسبق الجمع في ترتيب العمليات.",
            "أولاً: $48 \\div 4 = 12$. ثانياً: نضيف 3 إلى الناتج فنحصل على $12 + 3$.",
            "للتحقق: $15 - 3 = 12$ و $12 \\times 4 = 48$، إذن الحساب صحيح.",
        ),
        (
            ("لذا، ناتج العملية هو **15**.", "15", T, "15"),
            ("الإجابة: 15", "15", T, "15"),
            ("وبالتالي فإن الناتج يساوي $15$.", "15", T, "15"),
            ("الإجابة النهائية: $\\boxed{15}$", "15", T, "15"),
            ("لذا، ناتج العملية هو 16.", "15", F, "16"),
            ("لذا، ناتج العملية هو 15 ثم نقوم", "15", F, None),
        ),
    ),
    Language(
        "hindi",
        (
            "हमें एक कक्षा में कुल विद्यार्थियों की संख्या ज्ञात करनी है। कक्षा में 18 लड़के और 14 लड़कियाँ हैं।",
            "कुल संख्या ज्ञात करने के लिए दोनों को जोड़ते हैं: $18 + 14 = 32$।",
            "जाँच: $32 - 14 = 18$, जो लड़कों की संख्या है। गणना सही है।",
        ),
        (
            ("इसलिए, कक्षा में कुल 32 विद्यार्थी हैं।", "32", T, "32"),
            ("उत्तर: 32", "32", T, "32"),
            ("अतः उत्तर $\\boxed{32}$ है।", "32", T, "32"),
            ("इसलिए, कक्षा में कुल 31 विद्यार्थी हैं।", "32", F, "31"),
            ("इसलिए, कक्षा में कुल 32 विद्यार्थी हैं और अब हम", "32", F, None),
        ),
    ),
    Language(
        "english-think-then-chinese",
        (
            "<think>\nThe problem asks for the remainder when $2^{100}$ is divided by 7. Powers of 2 mod 7 cycle: $2, 4, 1, 2, 4, 1, \\dots$ with period 3.",
            "Since $100 = 3 \\cdot 33 + 1$, we get $2^{100} \\equiv 2^1 = 2 \\pmod 7$. 等一下，再确认一下：$2^3 = 8 \\equiv 1$，所以 $2^{99} \\equiv 1$，$2^{100} \\equiv 2$。\n</think>",
            "利用 $2^3 \\equiv 1 \\pmod 7$，可知 $2^{100} = (2^3)^{33} \\cdot 2 \\equiv 2 \\pmod 7$。",
        ),
        (
            ("所以余数是 2。", "2", T, "2"),
            ("答案：$\\boxed{2}$", "2", T, "2"),
            ("因此答案为 2。", "2", T, "2"),
            ("因此余数为 4。", "2", F, "4"),
        ),
    ),
    Language(
        "chinese-think-then-english",
        (
            "<think>\n题目：求 $\\sqrt{50} + \\sqrt{18}$ 的化简结果。$\\sqrt{50} = 5\\sqrt{2}$，$\\sqrt{18} = 3\\sqrt{2}$。",
            "所以和是 $8\\sqrt{2}$。Let me double check: $5\\sqrt{2} + 3\\sqrt{2} = 8\\sqrt{2}$, yes.\n</think>",
            "We simplify each radical: $\\sqrt{50} = 5\\sqrt{2}$ and $\\sqrt{18} = 3\\sqrt{2}$.",
        ),
        (
            ("Therefore, the sum is $8\\sqrt{2}$.", "8\\sqrt{2}", T, "8\\sqrt{2}"),
            ("所以结果是 $\\sqrt{128}$。", "8\\sqrt{2}", T, "\\sqrt{128}"),
            ("Answer: $8\\sqrt2$", "8\\sqrt{2}", T, "8\\sqrt2"),
            ("The final answer is $\\approx 11.31$.", "8\\sqrt{2}", T, "\\approx 11.31"),
        ),
    ),
    Language(
        "think-unfinished",
        (
            "<think>\n我们来计算 $17 \\times 23$。可以把 23 拆成 20 加 3，分别相乘再相加，这样比较不容易出错。",
            "先算 $17 \\times 20 = 340$，再算 $17 \\times 3 = 51$。",
            "所以 $17 \\times 23 = 391$。答案是 391。但是等一下，我要再检查一下乘法",
        ),
        (
            ("，因为", "391", F, None),
            ("。所以答案是 $\\boxed{391}$", "391", F, None),
        ),
    ),
)
# fmt: on


# More ways each language states its result, after the same reasoning; `{v}` is that problem's answer. The
# gold and the extracted answer are the language's first correct ending's.
# fmt: off
PHRASINGS: dict[str, tuple[str, ...]] = {
    "chinese": (
        "最后答案为 {v}", "答案为：{v}", "结果是 {v}。", "因此，所求的值为 ${v}$。", "故所求为{v}。", "答案应为 $\\boxed{{{v}}}$",
        "综上，满足条件的乘积为 {v}。", "即答案为{v}。", "【答案】{v}", "答案: {v}", "所以最终结果为{v}。", "因此 $ab$ 等于 {v}。",
        "**最终答案**\n\n{v}", "因此，答案是 ${v}$ 。",
    ),
    "japanese": (
        "答えは ${v}$ です。", "よって、求める値は ${v}$ である。", "以上より、答えは${v}$。", "答：${v}$",
        "よって、答えは $\\boxed{{{v}}}$ です。", "したがって、求める確率は ${v}$ です。",
    ),
    "korean": (
        "따라서 답은 ${v}$입니다.", "그러므로 구하는 값은 ${v}$이다.", "결론적으로 ${v}$가 답입니다.", "따라서 최종 답은 ${v}$입니다.",
    ),
    "french": (
        "La réponse est donc {v}.", "On obtient donc {v}.", "Le résultat est {v}.", "Réponse finale : {v}", "D'où le résultat : {v}.",
        "Finalement, on trouve {v}.", "Conclusion : {v}",
    ),
    "spanish": (
        "La respuesta es {v}.", "Por lo tanto, el resultado es {v}.", "Así que la respuesta final es {v}.", "Respuesta final: {v}",
        "En conclusión, obtenemos {v}.", "Resultado: {v}",
    ),
    "german": (
        "Die Lösung ist {v}.", "Das Ergebnis ist {v}.", "Also ergibt sich {v}.", "Die Antwort lautet: {v}", "Ergebnis: {v}",
        "Damit erhalten wir {v}.",
    ),
    "russian": (
        "Ответ: {v}.", "Таким образом, ответ {v}.", "Значит, искомое число равно {v}.", "Получаем {v}.", "Окончательный ответ: {v}",
        "Ответ: $\\boxed{{{v}}}$", "Следовательно, искомое значение равно ${v}$.",
    ),
    "portuguese": (
        "A resposta é {v}.", "Logo, o resultado é {v}.", "Resposta final: {v}", "Assim, obtemos {v}.", "Então a resposta é {v}.",
    ),
    "italian": (
        "La risposta è {v}.", "Quindi il risultato è {v}.", "Risposta finale: {v}", "Dunque la soluzione è {v}.", "Quindi otteniamo {v}.",
    ),
    "vietnamese": (
        "Vậy kết quả là {v}.", "Vậy đáp số là {v}.", "Kết luận: {v}", "Vậy có {v} nghiệm.", "Vậy giá trị cần tìm là {v}.",
        "Kết quả: {v}",
    ),
}
# fmt: on


def language_cases() -> list[tuple[str, str, bool, str | None, str]]:
    """Every ending of every language after its reasoning: (response, gold, expected, extracted, language)."""
    cases = []
    for language in LANGUAGES:
        phrasings = PHRASINGS.get(language.name, ())
        if phrasings:
            gold, value = next((g, x) for _, g, expected, x in language.endings if expected and x is not None)
        for phrasing in phrasings:
            response = "\n\n".join(language.reasoning) + "\n\n" + phrasing.format(v=value)
            cases.append((response, gold, True, value, language.name))
        for i, (ending, gold, expected, extracted) in enumerate(language.endings):
            # Vary how much of the reasoning comes before the ending, so not every case is the same text.
            paragraphs = language.reasoning[: max(2, len(language.reasoning) - i % 2)]
            joiner = "" if ending.startswith(("，", "。")) else "\n\n"
            response = "\n\n".join(paragraphs) + joiner + ending
            cases.append((response, gold, expected, extracted, language.name))
    return cases
