"""One run's samples as a self-contained HTML page: per problem, every sample's extracted answer, verdict and rule
(and the source's own, for imported runs), the response, and the reasoning collapsed. Every text is escaped."""

from __future__ import annotations

import hashlib
import re
from html import escape
from typing import Any

from evalkit import __version__
from evalkit.report.samples import RunView, SampleView

STYLE = """
* { box-sizing: border-box; }
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 0; color: #111827;
  line-height: 1.45; }
header { padding: 18px 24px 12px; border-bottom: 1px solid #e5e7eb; background: #f8fafc; }
h1 { font-size: 20px; margin: 0 0 6px; word-break: break-word; } h2 { font-size: 16px; margin: 0; }
main { padding: 6px 24px 40px; max-width: 1200px; }
a { color: #1d4ed8; }
.facts { font-size: 13px; color: #374151; display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; }
.facts dt { color: #6b7280; } .facts dd { margin: 0; word-break: break-word; }
.finding { background: #fff7ed; border-left: 3px solid #ea580c; padding: 6px 10px; margin: 8px 0; font-size: 13px; }
.index { display: flex; flex-wrap: wrap; gap: 4px; margin: 12px 0; }
.index a { display: inline-block; min-width: 74px; text-align: center; font-size: 12px; padding: 3px 6px;
  border-radius: 5px; text-decoration: none; color: #111827; border: 1px solid #e5e7eb; }
section.problem { border-top: 1px solid #e5e7eb; padding-top: 12px; margin-top: 16px; }
.gold { font-weight: 600; } .muted { color: #6b7280; font-size: 13px; }
details.question > summary, details.reasoning > summary { cursor: pointer; color: #4b5563; font-size: 13px; }
details.question div { font-size: 14px; white-space: pre-wrap; margin: 6px 0; }
details.sample { border: 1px solid #e5e7eb; border-radius: 6px; margin: 6px 0; }
details.sample > summary { cursor: pointer; padding: 6px 10px; font-size: 13px; list-style: none; }
details.sample > summary::-webkit-details-marker { display: none; }
details.sample.right > summary { border-left: 4px solid #16a34a; }
details.sample.wrong > summary { border-left: 4px solid #dc2626; }
.mark { font-weight: 700; } .right .mark { color: #15803d; } .wrong .mark { color: #b91c1c; }
.tail { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; color: #6b7280;
  font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; word-break: break-word; }
.differ { background: #fef3c7; border-radius: 4px; padding: 0 4px; }
pre { white-space: pre-wrap; word-break: break-word; font-size: 12.5px; background: #f9fafb; padding: 10px;
  margin: 0 10px 10px; border-radius: 4px; max-height: 70vh; overflow: auto; }
.filters { font-size: 14px; margin: 8px 0; display: flex; gap: 16px; flex-wrap: wrap; }
@media (max-width: 640px) { header, main { padding-left: 10px; padding-right: 10px; } }
"""

SCRIPT = """
(function () {
  var box = document.getElementById('filters');
  if (!box) return;
  box.hidden = false;
  var wrong = document.getElementById('only-wrong'), differ = document.getElementById('only-differ');
  var apply = function () {
    document.querySelectorAll('details.sample').forEach(function (el) {
      var hide = (wrong.checked && el.classList.contains('right')) ||
        (differ && differ.checked && !el.classList.contains('disagree'));
      el.hidden = hide;
    });
    document.querySelectorAll('section.problem').forEach(function (sec) {
      sec.hidden = sec.querySelectorAll('details.sample:not([hidden])').length === 0;
    });
  };
  wrong.addEventListener('change', apply);
  if (differ) differ.addEventListener('change', apply);
})();
"""


# A page stays openable: past this many characters of responses, each sample shows its start and its end (where
# the answer is) and says how much is left out; `evalkit show RUN --problem ID` prints it whole.
MAX_PAGE_CHARS = 8_000_000
MIN_SAMPLE_CHARS = 4_000


def shown_text(text: str, budget: int, command: str) -> str:
    """The text, or its first and last `budget / 2` characters around a note saying what is left out."""
    if len(text) <= budget:
        return text
    half = budget // 2
    note = f"[… {len(text) - 2 * half:,} characters left out here; {command} prints it whole …]"
    return f"{text[:half]}\n\n{note}\n\n{text[-half:]}"


def page_name(run_path: str) -> str:
    """A samples page's file name: the run directory's name and a short hash of its path (names can repeat)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", run_path.rstrip("/").rsplit("/", 1)[-1])[:90].strip("-") or "run"
    return f"{name}-{hashlib.sha256(run_path.encode('utf-8')).hexdigest()[:8]}.html"


def _fact_rows(view: RunView) -> list[tuple[str, str]]:
    m = view.manifest
    sampling = m.get("sampling") or {}
    facts = [("kind", str(m.get("kind", "measured"))), ("dataset", str(m["dataset"]["name"]))]
    origin = m.get("origin")
    if isinstance(origin, dict):
        facts.append(("imported from", f"{origin.get('harness')} ({origin.get('format')}): {origin.get('path')}"))
    elif origin:
        facts.append(("origin", str(origin)))
    protocol = m.get("protocol")
    if isinstance(protocol, dict):
        stated = protocol.get("stated") or {}
        facts.append(("stated by the source", ", ".join(f"{k} {v}" for k, v in stated.items()) or "nothing"))
        facts.append(("unknown", ", ".join(protocol.get("unknown") or []) or "nothing"))
        usage = protocol.get("token_usage") or {}
        if usage:
            facts.append(("token usage", f"prompt {usage.get('prompt_tokens')}, output {usage.get('output_tokens')}"))
    else:
        keys = ("n", "temperature", "top_p", "max_tokens", "seed")
        facts.append(("sampling", ", ".join(f"{k} {sampling.get(k)}" for k in keys if k in sampling)))
    facts.append(("template", str((m.get("template") or {}).get("name"))))
    facts.append(("verifier", str(m.get("verifier"))))
    if view.results:
        metrics = view.results["metrics"]
        ci = metrics["avg_ci"]
        interval = f"[{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]"
        facts.append(("evalkit", f"avg@{metrics['n']} {100 * metrics['avg']:.1f}% {interval} over "
                                 f"{metrics['problems']} problems"))  # fmt: skip
        compared = view.results.get("reported_vs_rescored") or {}
        if compared.get("reported") is not None:
            facts.append(("reported by the source", f"{compared['reported']:.2f} ({compared.get('reported_metric')}); "
                                                    f"difference {compared.get('difference'):+.2f}"))  # fmt: skip
    return facts


def _sample(sample: SampleView, imported: bool, budget: int, run_dir: str) -> str:
    right = "right" if sample.correct else "wrong"
    disagree = sample.source_correct is not None and sample.source_correct != sample.correct
    answer = escape(sample.extracted) if sample.extracted is not None else "<i>no answer</i>"
    mark = f'<span class="mark">{"✓" if sample.correct else "✗"}</span>'
    parts = [f"{mark} #{sample.sample_index} · answer <b>{answer}</b> · rule {escape(str(sample.rule))} · found by "
             f"{escape(str(sample.found_by))}"]  # fmt: skip
    if sample.error:
        parts.append(f"error {escape(sample.error)}")
    if imported and (sample.source_extracted is not None or sample.source_correct is not None):
        mark = "?" if sample.source_correct is None else ("✓" if sample.source_correct else "✗")
        theirs = escape(sample.source_extracted) if sample.source_extracted is not None else "(not kept)"
        parts.append(f'<span class="{"differ" if disagree else ""}">source {mark} {theirs}</span>')
    if sample.finish_reason:
        parts.append(f"finish {escape(sample.finish_reason)}")
    if sample.output_tokens is not None:
        parts.append(f"{sample.output_tokens} tokens")
    tail = " ".join(sample.text[-160:].split())  # the end of a response, where its answer is
    command = f"evalkit show {run_dir} --problem {sample.problem_id}"
    reasoning = ""
    if sample.reasoning:
        thought = escape(shown_text(sample.reasoning, budget, command))
        reasoning = (f'<details class="reasoning"><summary>reasoning ({len(sample.reasoning):,} characters)'
                     f"</summary><pre>{thought}</pre></details>")  # fmt: skip
    classes = f"sample {right}" + (" disagree" if disagree else "")
    response = escape(shown_text(sample.text, budget, command))
    return (f'<details class="{classes}"><summary>{" · ".join(parts)}<span class="tail">…{escape(tail)}</span>'
            f"</summary>{reasoning}<pre>{response}</pre></details>")  # fmt: skip


def _problem(view: RunView, pid: str, imported: bool, budget: int) -> str:
    samples = view.of_problem(pid)
    correct = sum(s.correct for s in samples)
    problem = view.problems.get(pid)
    head = f'<h2>{escape(pid)}</h2><span class="muted">{correct} of {len(samples)} correct</span>'
    if problem is not None:
        head += (f' · <span class="gold">gold {escape(problem.answer)}</span><details class="question"><summary>'
                 f"problem</summary><div>{escape(problem.question)}</div></details>")  # fmt: skip
    body = "".join(_sample(s, imported, budget, view.run_dir.name) for s in samples)
    return f'<section class="problem" id="p-{escape(pid)}">{head}{body}</section>'


def _index(view: RunView) -> str:
    links = []
    for pid in view.problem_ids:
        samples = view.of_problem(pid)
        rate = sum(s.correct for s in samples) / len(samples)
        shade = int(255 - 170 * rate)
        links.append(f'<a href="#p-{escape(pid)}" style="background: rgb({shade},{shade + (255 - shade) // 3},255)">'
                     f"{escape(pid)} {sum(s.correct for s in samples)}/{len(samples)}</a>")  # fmt: skip
    return f'<nav class="index" aria-label="problems">{"".join(links)}</nav>'


def samples_page(view: RunView, back: str | None = None) -> str:
    """The page for one run; `back` links to the leaderboard it was reached from."""
    m = view.manifest
    imported = m.get("kind") == "imported"
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in _fact_rows(view))
    findings = "".join(f'<div class="finding">{escape(f["message"])}</div>' for f in m.get("findings") or [])
    differ = ('<label><input type="checkbox" id="only-differ"> only where the source\'s verdict differs</label>'
              if imported and any(s.source_correct is not None for s in view.samples) else "")  # fmt: skip
    filters = (f'<div class="filters" id="filters" hidden><label><input type="checkbox" id="only-wrong"> only wrong '
               f"samples</label>{differ}</div>")  # fmt: skip
    title = str(m.get("model"))
    nav = f'<a href="{escape(back)}">← leaderboard</a>' if back else ""
    total = sum(len(s.text) + len(s.reasoning or "") for s in view.samples)
    budget = total if total <= MAX_PAGE_CHARS else max(MIN_SAMPLE_CHARS, MAX_PAGE_CHARS // len(view.samples))
    problems: list[Any] = [_problem(view, pid, imported, budget) for pid in view.problem_ids]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>samples: {escape(title)}</title>",
            f"<style>{STYLE}</style></head><body>",
            f"<header>{nav}<h1>{escape(title)}</h1><dl class='facts'>{facts}</dl>{findings}</header>",
            f"<main>{_index(view)}{filters}{''.join(problems)}</main>",
            f'<footer class="muted" style="padding: 0 24px 24px">evalkit {escape(__version__)}</footer>',
            f"<script>{SCRIPT}</script>",
            "</body></html>",
        ]
    )
