"""Rich tables for humans: metrics summaries, verifier disagreements, dataset cards; and the console they are
printed on, which shows text from models, files and servers as text. Builds; never prints."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from evalkit.data.datasets import DatasetCard
    from evalkit.importers.compare import ImportResult
    from evalkit.metrics import Interval, Metrics
    from evalkit.pipeline.rescore import ScoreReport
    from evalkit.report.samples import RunView


# Characters a terminal acts on instead of showing: the C0 controls but tab and newline (ESC starts the sequences
# that write the clipboard, clear the screen, move the cursor or hide a link; CR returns over the line to forge
# it), DEL, and the C1 controls (CSI and OSC in one byte, for terminals that take them). CR before LF only ends a
# line, as Windows files write it. Lone surrogates (JSON's "\ud800") are no characters a terminal can be sent.
# The bidirectional embeddings, overrides and isolates make a terminal draw what follows them in another order (a
# model named `\u202egpj.ledom` reads as `model.jpg`): shown as escapes too. Arabic and Hebrew text needs none of them.
# JSON escapes the C0 controls itself and leaves the rest raw.
_LEFT_RAW_BY_JSON = r"\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(rf"\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f{_LEFT_RAW_BY_JSON}]")
_RAW_IN_JSON = re.compile(f"[{_LEFT_RAW_BY_JSON}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control character a terminal would act on written as its escape, `\\x1b` for ESC.

    Escapes rather than Unicode's control pictures (␛): the pictures cover only C0, read like any other glyph,
    and cannot be told from the same glyph written by a model; `\\x1b` is what Python, JSON tools and `cat -v`
    users read, and can be searched for."""
    return _CONTROLS.sub(_escape, text)


class SafeConsole(Console):
    """The console evalkit prints on. Every string it renders (printed text, table cells, titles, notices, errors)
    shows its control characters as escapes, and neither markup nor emoji codes are read from it unless the call
    asks (`markup=True`, used only on evalkit's own words, with data escaped): a model named `[link=…]x[/link]`
    stays that text."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(visible(text), **options)


def json_text(document: Any) -> str:
    """One JSON document on one line, for `--json`: non-ASCII text kept readable, but the C1 controls, DEL and the
    bidirectional controls (which JSON leaves raw) escaped too, so piping it to a terminal runs and reorders nothing."""
    text = json.dumps(document, ensure_ascii=False)
    return _RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def ci_text(ci: Interval) -> str:
    return f"[{pct(ci.low)}, {pct(ci.high)}]"


# Problems are the units the standard error and the intervals resample: with one there is no spread to measure.
ONE_PROBLEM = "one problem: no standard error or interval (both measure the spread over problems)"


def _ci_cell(metrics: Metrics, ci: Interval) -> str:
    return ci_text(ci) if metrics.problems > 1 else "–"


def metrics_table(metrics: Metrics, title: str) -> Table:
    """avg@n with its standard error and interval, then pass@k and maj@k for each k, in percent."""
    conf = f"{round(metrics.confidence * 100)}% CI"
    table = Table(title=title, title_justify="left", caption=ONE_PROBLEM if metrics.problems < 2 else None)
    table.add_column("metric")
    table.add_column("value %", justify="right")
    table.add_column("± SE", justify="right")
    table.add_column(conf, justify="right")
    table.add_row(f"avg@{metrics.n}", pct(metrics.avg), pct(metrics.avg_se), _ci_cell(metrics, metrics.avg_ci))
    for k, value in metrics.pass_at.items():
        table.add_row(f"pass@{k}", pct(value), "", _ci_cell(metrics, metrics.pass_ci[k]))
    for k, value in metrics.maj_at.items():
        table.add_row(f"maj@{k}", pct(value), "", _ci_cell(metrics, metrics.maj_ci[k]))
    return table


def counts_line(metrics: Metrics) -> str:
    truncated = (
        "unknown" if metrics.truncated is None else f"{metrics.truncated} ({pct(metrics.truncated / metrics.samples)}%)"
    )
    tokens = "" if metrics.mean_output_tokens is None else f" · mean output tokens {metrics.mean_output_tokens:.0f}"
    samples = f"{metrics.n} sample{'s' if metrics.n > 1 else ''}"
    return (
        f"{metrics.problems} problems × {samples} · no answer {metrics.no_answer} · "
        f"verifier errors {metrics.errors} · truncated {truncated}{tokens}{_mixing(metrics, ' · ')}"
    )


def _mixing(metrics: Metrics, before: str = "") -> str:
    """ "mixes languages 2 of 30 judged": the samples whose reasoning mixes writing systems, when any was judged."""
    if metrics.language_mixed is None:
        return ""
    return f"{before}mixes languages {metrics.language_mixed} of {metrics.language_judged} judged"


def rules_table(reports: Sequence[ScoreReport]) -> Table:
    table = Table(title="verifier rule sets side by side", title_justify="left")
    table.add_column("rule set")
    table.add_column(f"avg@{reports[0].metrics.n} %", justify="right")
    table.add_column("correct samples", justify="right")
    table.add_column("no answer", justify="right")
    for report in reports:
        correct = sum(s.verdict.correct for s in report.samples)
        table.add_row(report.rules, pct(report.metrics.avg), str(correct), str(report.metrics.no_answer))
    return table


def disagreement_table(reports: Sequence[ScoreReport], limit: int = 50) -> tuple[Table, int]:
    """Samples on which the rule sets do not all agree, with what each extracted and decided."""
    table = Table(title="samples where rule sets disagree", title_justify="left")
    table.add_column("problem")
    table.add_column("#", justify="right")
    for report in reports:
        table.add_column(report.rules)
    rows = 0
    for samples in zip(*(r.samples for r in reports)):
        if len({s.verdict.correct for s in samples}) == 1:
            continue
        rows += 1
        if rows <= limit:
            cells = [f"{'✓' if s.verdict.correct else '✗'} {_short(s.verdict.extracted)}" for s in samples]
            table.add_row(samples[0].problem_id, str(samples[0].sample_index), *cells)
    return table, rows


def _short(text: str | None, width: int = 28) -> str:
    if text is None:
        return "(none)"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cards_table(cards: Sequence[DatasetCard]) -> Table:
    table = Table(title="datasets", title_justify="left")
    for column in ("name", "title", "problems", "answers", "source"):
        table.add_column(column)
    for card in cards:
        table.add_row(card.name, card.title, str(card.rows), card.answer_type, f"{card.repository}@{card.commit[:8]}")
    return table


def run_summary(metrics: Metrics, generation: dict, run_dir: str, cost: dict | None = None) -> Table:
    """The end-of-run table: avg@n with its interval, pass@k, maj@n, truncation, tokens, time, cost."""
    conf = f"{round(metrics.confidence * 100)}% CI"
    one = metrics.problems < 2
    table = Table(
        title=f"{metrics.problems} problems × {metrics.n} samples",
        title_justify="left",
        caption=ONE_PROBLEM if one else None,
    )
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_column(conf, justify="right")
    spread = "" if metrics.avg_se is None else f" ± {pct(metrics.avg_se)}"
    table.add_row(f"avg@{metrics.n}", f"{pct(metrics.avg)}%{spread}", _ci_cell(metrics, metrics.avg_ci))
    for k, value in metrics.pass_at.items():
        table.add_row(f"pass@{k}", f"{pct(value)}%", _ci_cell(metrics, metrics.pass_ci[k]))
    table.add_row(
        f"maj@{metrics.n}", f"{pct(metrics.maj_at[metrics.n])}%", _ci_cell(metrics, metrics.maj_ci[metrics.n])
    )
    if metrics.truncated is not None:
        table.add_row("truncated", f"{pct(metrics.truncated / metrics.samples)}%", "")
    table.add_row("no answer", f"{pct(metrics.no_answer / metrics.samples)}%", "")
    if metrics.mean_output_tokens is not None:
        table.add_row("mean output tokens", f"{metrics.mean_output_tokens:.0f}", "")
    if metrics.language_mixed is not None:
        share = pct(metrics.language_mixed / metrics.language_judged)
        table.add_row("reasoning mixes languages", f"{share}%", f"of {metrics.language_judged} judged")
    table.add_row("wall time", f"{generation['wall_time_s']:.1f} s", "")
    if generation.get("tokens_per_s") is not None:
        table.add_row("tokens/s", f"{generation['tokens_per_s']:.1f}", "")
    table.add_row("generated now", f"{generation['samples_generated']} samples", "")
    if cost is not None and cost.get("usd") is not None:
        table.add_row("cost (all samples)", cost_text(cost), "")
    table.add_row("run directory", run_dir, "")
    return table


def sweep_table(rows: Sequence[tuple[int, str, dict | None]], title: str) -> Table:
    """Accuracy along training, one row per checkpoint: (step, note, the metrics of its results.json or None).
    avg@n with its interval, pass@n, maj@n, mean output tokens and truncation rate, in step order."""
    table = Table(title=title, title_justify="left")
    for column in ("step", "avg@n %", "95% CI", "pass@n %", "maj@n %", "mean out tok", "truncated %", "note"):
        table.add_column(column, justify="left" if column == "note" else "right")
    for step, note, metrics in sorted(rows, key=lambda row: row[0]):
        if metrics is None:
            table.add_row(str(step), "", "", "", "", "", "", note)
            continue
        n = str(metrics["n"])
        ci = metrics["avg_ci"]
        truncated = metrics.get("truncated")
        tokens = metrics.get("mean_output_tokens")
        table.add_row(
            str(step),
            f"{pct(metrics['avg'])} (n={n})",
            f"[{pct(ci['low'])}, {pct(ci['high'])}]",
            pct(metrics["pass_at"].get(n)),
            pct(metrics["maj_at"].get(n)),
            "–" if tokens is None else f"{tokens:.0f}",
            "–" if truncated is None else pct(truncated / metrics["samples"]),
            note,
        )
    return table


def cost_text(cost: dict) -> str:
    """`$12.34 (1.2M input + 40.0M output tokens)`, from a results.json `cost` block."""
    from evalkit.cost import usd_text

    text = (
        f"{usd_text(cost['usd'])} ({_millions(cost['input_tokens'])} input + {_millions(cost['output_tokens'])} output"
    )
    text += " tokens" + (f"; {cost['uncounted']} samples without token counts)" if cost.get("uncounted") else ")")
    return text


def _millions(tokens: int) -> str:
    return f"{tokens / 1e6:.1f}M" if tokens >= 100_000 else f"{tokens:,}"


def dry_run_text(plan) -> str:
    """What `evalkit run --dry-run` prints: the requests, the worst-case tokens and cost, nothing started."""
    from evalkit.cost import usd_text

    worst = plan.worst_case
    lines = [
        f"dry run: nothing is started. {plan.samples} samples to draw ({plan.resumed} already on disk) in "
        f"{plan.requests} requests to {', '.join(plan.endpoints) or plan.backend}",
        f"  {plan.problems} problems × n={plan.n} · max tokens {plan.max_tokens} · {plan.sampling}",
        f"  worst case: {worst.input_tokens:,} input tokens (bound: UTF-8 bytes of the prompts) + "
        f"{worst.output_tokens:,} output tokens (every sample to max tokens)",
    ]
    if worst.usd is not None:
        lines.append(
            f"  worst-case cost: {usd_text(worst.usd)} at ${worst.price_input:g} / ${worst.price_output:g} per "
            "million input / output tokens"
        )
    else:
        lines.append("  cost: no prices (--price-input and --price-output, USD per million tokens)")
    if plan.first_request is not None:
        lines.append("  first request, as sent before a server teaches its dialect:")
        lines.extend("    " + line for line in plan.first_request.splitlines())
    return "\n".join(lines)


def leaderboard_table(frame, limit: int = 40) -> Table:
    from evalkit.report.tables import display_rows

    columns = [("model", "model"), ("family", "family"), ("kind", "kind"), ("avg@n", "avg"), ("95% CI", "ci"),
               ("n", "n"), ("maj@n", "maj"), ("T", "temperature"), ("top-p", "top_p"), ("max tok", "max_tokens"),
               ("template", "template"), ("verifier", "verifier"), ("reported", "reported_text"),
               ("Δ", "difference")]  # fmt: skip
    table = Table(title="leaderboard", title_justify="left")
    for title, _ in columns:
        table.add_column(title, overflow="fold")
    for cells in display_rows(frame)[:limit]:
        table.add_row(*(cells.get(key, "") for _, key in columns))
    return table


def step_comparison(comparison) -> str:
    """One line per checkpoint comparison (`--compare-steps`): later minus earlier, its interval and what it means."""
    head = f"{comparison.curve}: step {comparison.later.step} vs {comparison.earlier.step}"
    result = comparison.result
    if result is None:
        return f"{head}: not compared ({comparison.problem})"
    return (
        f"{head}: {100 * result.avg_a:.1f}% vs {100 * result.avg_b:.1f}%, {100 * result.difference:+.1f} points, "
        f"{round(result.confidence * 100)}% CI [{100 * result.ci.low:+.1f}, {100 * result.ci.high:+.1f}] → "
        f"{comparison.verdict}"
    )


def comparison(result, name_a: str, name_b: str) -> str:
    conf = round(result.confidence * 100)
    verdict = (
        "distinguishable from noise" if result.distinguishable else "NOT distinguishable from noise"
    ) + f" at {result.problems} problems"
    return (
        f"A = {name_a} (n={result.n_a}): {pct(result.avg_a)}%\n"
        f"B = {name_b} (n={result.n_b}): {pct(result.avg_b)}%\n"
        f"A − B = {100 * result.difference:+.1f} points ± {pct(result.se)} (SE), "
        f"{conf}% CI [{100 * result.ci.low:+.1f}, {100 * result.ci.high:+.1f}]\n"
        f"A better on {len(result.wins)} problems, worse on {len(result.losses)}, tied on {result.ties}"
        + (f"\n  A wins: {', '.join(result.wins)}" if result.wins else "")
        + (f"\n  B wins: {', '.join(result.losses)}" if result.losses else "")
        + f"\n→ {verdict}"
    )


def presets_table(presets) -> Table:
    table = Table(title="presets", title_justify="left")
    for column in ("name", "model", "family", "base", "template", "T", "top-p", "max tokens", "n", "verifier",
                   "AIME 2024 reported"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for p in presets:
        reported = ", ".join(f"{r.metric} {r.value:g}" for r in p.reported_for("aime24")) or "–"
        name = p.name if p.runnable else f"{p.name} (reported only)"
        table.add_row(name, p.model, p.family, p.base, p.template, f"{p.temperature:g}", f"{p.top_p:g}",
                      str(p.max_tokens), str(p.n), p.verifier, reported)  # fmt: skip
    return table


def preset_detail(p) -> str:
    lines = [
        f"{p.name}: {p.model}" + ("" if p.runnable else " (no public weights: reported only)"),
        f"family {p.family} · base {p.base}",
        f"protocol: template {p.template} · temperature {p.temperature:g} · top-p {p.top_p:g} · "
        f"max tokens {p.max_tokens} · n {p.n} · verifier {p.verifier}",
    ]
    if p.max_model_len or p.dtype:
        lines.append(f"engine: max model len {p.max_model_len} · dtype {p.dtype}")
    if p.hosted:
        lines.append(f"served: {', '.join(p.base_urls)} as {p.served_model or p.model} · API key in ${p.api_key_env}")
        if p.price_input is not None:
            lines.append(
                f"price: ${p.price_input:g} input, ${p.price_output:g} output per million tokens ({p.price_source})"
            )
    if p.warning:
        lines.append(f"warning: {p.warning}")
    for r in p.reported:
        lines.append(f"reported {r.dataset} {r.metric} = {r.value:g}" + (" (secondary)" if r.secondary else ""))
        lines.append(f"  source: {r.source}")
        if r.quote:
            lines.append(f'  "{r.quote}"')
    if p.notes:
        lines.append(f"notes: {p.notes}")
    return "\n".join(lines)


def card_detail(card: DatasetCard, cached: Path) -> str:
    """Everything a dataset card says, and whether it is in the cache (markup: print it with `markup=True`)."""
    lines = [
        f"problems: {card.rows} · answers: {card.answer_type} · license: {card.license}",
        f"source: {card.repository} @ {card.commit}",
    ]
    for file in card.files[:5]:
        lines.append(f"  {card.file_url(file)}\n    sha256 {file.sha256}")
    if len(card.files) > 5:
        lines.append(f"  … and {len(card.files) - 5} more files (see the card)")
    lines.append(f"normalized content sha256: {card.content_sha256}")
    lines.extend(f"  {field_name}: {meaning}" for field_name, meaning in card.fields.items())
    if card.notes:
        lines.append(f"notes: {card.notes}")
    lines.append(f"cache: {cached} ({'present' if cached.is_file() else 'not downloaded'})")
    return f"[bold]{escape(card.name)}[/bold]: {escape(card.title)}\n" + escape("\n".join(lines))


class RunProgressView:
    """A run's notices and progress bar on stderr (stdout keeps the final table)."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("samples"),
            TextColumn("{task.fields[tps]:>8.1f} tok/s"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console,
        )  # fmt: skip
        self.task = None

    def use_stream(self, stream) -> None:
        """Write to this stream from now on (the engine's output is sent elsewhere while it runs)."""
        self.console.file = stream

    def notice(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False)

    def warning(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False, markup=True)

    def started(self, state, info: dict) -> None:
        if info["resumed"]:
            self.notice(f"resuming {info['run_dir']}: {info['resumed']} samples on disk, {info['to_generate']} to go")
        self.progress.start()
        if self.task is not None:  # a sweep shows one run at a time
            self.progress.remove_task(self.task)
        # The bar's columns read their text as markup, past the console's own rendering.
        description = escape(visible(str(info.get("dataset", ""))))
        self.task = self.progress.add_task(description, total=state.total, completed=state.done, tps=0.0)

    def sampled(self, state) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=state.done, tps=state.tokens_per_s)

    def stopped(self) -> None:
        self.progress.stop()


# ---------------------------------------------------------------------------------------------------------------
# evalkit import


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def import_table(results: Sequence[ImportResult], dataset: str) -> Table:
    """Per imported run: where it came from, the source's reported score beside evalkit's re-score, and the notes."""
    table = Table(title=f"imported runs on {dataset}: reported vs re-scored (avg@n, %)", title_justify="left")
    for column, justify in (
        ("model", "left"),
        ("step", "right"),
        ("format", "left"),
        ("prompt", "left"),
        ("n", "right"),
        ("reported", "right"),
        ("source verdicts", "right"),
        ("re-scored", "right"),
        ("95% CI", "right"),
        ("Δ", "right"),
        ("verdicts differ", "right"),
        ("notes", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for result in results:
        run, metrics = result.run, result.report.metrics
        reported = run.source.reported
        notes = [f.kind for f in run.findings if f.kind != "source"]
        if result.other_answers:
            notes.append(f"{result.other_answers} other answers")
        table.add_row(
            run.model,
            "" if run.checkpoint_step is None else str(run.checkpoint_step),
            run.source.format,
            _short(run.source.protocol.get("prompt"), 20) if run.source.protocol.get("prompt") else "–",
            str(run.n),
            "–" if reported is None else f"{reported.value:.1f} ({reported.metric})",
            "–" if result.source_avg is None else f"{100 * result.source_avg:.1f}",
            f"{result.rescored:.1f}",
            ci_text(metrics.avg_ci),
            "–" if result.difference is None else f"{result.difference:+.1f}",
            f"{len(result.disagreements)}/{result.judged}" if result.judged else "–",
            ", ".join(notes),
        )
    return table


def import_disagreements(results: Sequence[ImportResult], limit: int = 60) -> tuple[Table, int]:
    """Every sample where the source's verdict and evalkit's differ: both answers and why."""
    table = Table(title="samples where the source's verdict and evalkit's differ", title_justify="left")
    for column in ("model", "problem", "#", "source", "evalkit", "why"):
        table.add_column(column, overflow="fold")
    count = 0
    for result in results:
        keeps = result.run.source.keeps_answers
        for d in result.disagreements:
            count += 1
            if count > limit:
                continue
            theirs = ("✓ " if d.source_correct else "✗ ") if d.source_correct is not None else ""
            theirs += _short(d.source_answer) if keeps else "(not kept)"
            ours = ("✓ " if d.evalkit_correct else "✗ ") + _short(d.evalkit_answer)
            index = "" if d.sample_index is None else str(d.sample_index)
            table.add_row(result.run.model, d.problem_id, index, theirs, ours, d.why)
    if count > limit:
        table.caption = f"… {count - limit} more (use --json for all)"
    return table, count


# ---------------------------------------------------------------------------------------------------------------
# evalkit show


def run_header(view: RunView) -> str:
    m = view.manifest
    sampling = m.get("sampling") or {}
    kind = m.get("kind", "measured")
    lines = [f"{m.get('model')} · {kind} · {m['dataset']['name']} · n={sampling.get('n')} · "
             f"T={sampling.get('temperature')} · template {(m.get('template') or {}).get('name')} · "
             f"verifier {m.get('verifier')}"]  # fmt: skip
    origin = m.get("origin")
    if isinstance(origin, dict):
        lines.append(f"origin: {origin.get('harness')} ({origin.get('format')}) {origin.get('path')}")
    elif origin:
        lines.append(f"origin: {origin}")
    if view.results:
        metrics = view.results["metrics"]
        ci = metrics["avg_ci"]
        line = f"avg@{metrics['n']} {pct(metrics['avg'])}% [{pct(ci['low'])}, {pct(ci['high'])}]"
        compared = view.results.get("reported_vs_rescored") or {}
        if compared.get("reported") is not None:
            line += f" · reported {compared['reported']:.1f} ({compared.get('reported_metric')})"
            line += f", Δ {compared['difference']:+.1f}"
        lines.append(line)
    for finding in m.get("findings") or []:
        lines.append(f"note: {finding['message']}")
    return "\n".join(lines)


def samples_table(view: RunView, wrong_only: bool = False) -> Table:
    """One row per problem: gold, how many samples were right, and the answers given (✓/✗)."""
    table = Table(title="samples by problem" + (" (wrong ones only)" if wrong_only else ""), title_justify="left")
    for column, justify in (
        ("problem", "left"),
        ("gold", "right"),
        ("correct", "right"),
        ("answers", "left"),
        ("source", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    imported = view.manifest.get("kind") == "imported"
    for pid in view.problem_ids:
        samples = view.of_problem(pid)
        shown = [s for s in samples if not (wrong_only and s.correct)]
        if not shown:
            continue
        gold = view.problems[pid].answer if pid in view.problems else ""
        answers = ", ".join(f"{'✓' if s.correct else '✗'}{_short(s.extracted, 16)}" for s in shown[:16])
        if len(shown) > 16:
            answers += f" … +{len(shown) - 16}"
        source = ""
        if imported:
            source = ", ".join(
                ("?" if s.source_correct is None else "✓" if s.source_correct else "✗") + _short(s.source_extracted, 16)
                if s.source_extracted is not None or s.source_correct is not None else "–" for s in shown[:16]
            )  # fmt: skip
        table.add_row(pid, gold, f"{sum(s.correct for s in samples)}/{len(samples)}", answers, source)
    return table


def problem_samples(view: RunView, problem_id: str, wrong_only: bool = False) -> list[str]:
    """One problem's samples in full: verdict, extracted answer, rule, the response and any reasoning."""
    lines = []
    if problem_id in view.problems:
        problem = view.problems[problem_id]
        lines += [f"problem {problem_id} (gold {problem.answer}):", problem.question, ""]
    samples = view.of_problem(problem_id, wrong_only)
    if not samples:
        lines.append("no sample to show (every sample is correct)" if wrong_only else "no samples")
    for s in samples:
        verdict = "correct" if s.correct else "wrong"
        answer = s.extracted if s.extracted is not None else "(none)"
        head = f"--- sample {s.sample_index}: {verdict} · answer {answer} · rule {s.rule} · found by {s.found_by}"
        if s.error:
            head += f" · error {s.error}"
        if s.finish_reason:
            head += f" · finish {s.finish_reason}"
        if s.output_tokens is not None:
            head += f" · {s.output_tokens} tokens"
        lines.append(head)
        if s.source_extracted is not None or s.source_correct is not None:
            mark = "?" if s.source_correct is None else ("correct" if s.source_correct else "wrong")
            answer = s.source_extracted if s.source_extracted is not None else "(not kept)"
            lines.append(f"    source: {mark} · answer {answer}")
        if s.reasoning:
            lines += ["[reasoning]", s.reasoning, "[response]"]
        lines += [s.text, ""]
    return lines
