"""The page's "Along training" section: per training run, accuracy (with its interval band), response length,
truncation and language mixing against step and against hours, several runs overlaid on one set of axes; whether the
latest checkpoint differs from earlier ones by more than noise; and every checkpoint's numbers in a table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from evalkit.report.leaderboard import Checkpoint
from evalkit.report.svg import PALETTE, Series, line_chart
from evalkit.report.training import WRITE_TIMES, StepComparison, Timeline, default_comparisons, with_chosen
from evalkit.verify.mixing import MIN_JUDGED_UNITS

STYLE = """
h3 { font-size: 15px; margin: 18px 0 4px; }
.curves { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 520px), 1fr)); gap: 4px 28px; }
.curves > div { min-width: 0; overflow-x: auto; -webkit-overflow-scrolling: touch; }
.curves svg.chart { min-width: 500px; } table.steps th { white-space: normal; vertical-align: bottom; }
table.checkpoints caption { text-align: left; font-weight: 600; font-size: 13px; padding: 8px 0 4px; }
td.better { color: #15803d; font-weight: 600; } td.worse { color: #b91c1c; font-weight: 600; }
td.noise { color: #4b5563; }
"""


@dataclass(frozen=True)
class Measure:
    """One quantity drawn along training: its chart title, axis label, value per checkpoint, and ceiling."""

    key: str
    title: str
    axis: str
    value: Callable[[Checkpoint], float | None]
    y_max: float | None
    missing: str  # what to say when no checkpoint has it


MEASURES = (
    Measure("accuracy", "accuracy", "avg@n (%)", lambda c: c.avg, 100.0, ""),
    Measure("tokens", "mean output tokens", "output tokens per sample", lambda c: c.mean_output_tokens, None,
            "no run recorded token counts"),
    Measure("truncated", "truncated samples", "% of samples cut at max tokens", lambda c: c.truncated, 100.0,
            "no run recorded why its samples ended (imported outputs often keep no finish reason)"),
    Measure("mixing", "reasoning that mixes languages", "% of judged samples", lambda c: c.language_mixed, 100.0,
            "no run measured language mixing (runs scored before evalkit did: rerun their evalkit run command, which "
            "generates nothing, or import them again)"),
)  # fmt: skip
# Drawn this wide, a chart's text keeps its size in a half-page column; a phone scrolls it instead of shrinking it.
CHART_WIDTH, CHART_HEIGHT = 560, 320
# Response length in characters, drawn when some training run recorded no token counts (imported outputs).
CHARACTERS = Measure("characters", "mean response length", "characters per sample", lambda c: c.mean_response_chars,
                     None, "")  # fmt: skip


def _colors(curves: Mapping[str, Sequence[Checkpoint]]) -> dict[str, str]:
    """One colour per training run, the same in every chart, whichever of its curves a chart can draw."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(curves)}


def _series(
    curves: Mapping[str, Sequence[Checkpoint]],
    measure: Measure,
    x_of: Callable[[str, Checkpoint], float | None],
    label_of: Callable[[str], str],
) -> list[Series]:
    colors = _colors(curves)
    drawn = []
    for name, checkpoints in curves.items():
        placed = []
        for c in checkpoints:
            x, y = x_of(name, c), measure.value(c)
            if x is not None and y is not None:
                placed.append((x, y, (c.ci_low, c.ci_high)))
        if placed:
            placed.sort(key=lambda item: item[0])
            band = [e for _, _, e in placed] if measure.key == "accuracy" else None
            drawn.append(Series(label_of(name), [(x, y) for x, y, _ in placed], band, colors[name]))
    return drawn


def _charts(
    curves: Mapping[str, Sequence[Checkpoint]],
    measures: Sequence[Measure],
    against: str,
    x_label: str,
    x_of: Callable[[str, Checkpoint], float | None],
    label_of: Callable[[str], str],
) -> tuple[list[str], list[str]]:
    """The charts that have something to draw, and a line for each measure that has nothing."""
    charts, missing = [], []
    xs = [x for name, cs in curves.items() for c in cs if (x := x_of(name, c)) is not None]
    span = (min(xs), max(xs)) if xs else None
    for measure in measures:
        series = _series(curves, measure, x_of, label_of)
        if series:
            charts.append(line_chart(series, f"{measure.title} against {against}", x_label, measure.axis,
                                     y_range=None, y_max=measure.y_max, x_span=span, width=CHART_WIDTH,
                                     height=CHART_HEIGHT))  # fmt: skip
        elif measure.missing:
            missing.append(f"{measure.title}: {_why_missing(measure, curves)}")
    return charts, missing


def _why_missing(measure: Measure, curves: Mapping[str, Sequence[Checkpoint]]) -> str:
    measured = any(c.run.results["metrics"].get("language_judged") is not None for cs in curves.values() for c in cs)
    if measure.key == "mixing" and measured:
        return f"no reasoning had the {MIN_JUDGED_UNITS} words outside math it takes to judge"
    return measure.missing


def _grid(charts: Sequence[str]) -> str:
    return '<div class="curves">' + "".join(f"<div>{c}</div>" for c in charts) + "</div>"


def _measures(curves: Mapping[str, Sequence[Checkpoint]]) -> list[Measure]:
    """The four measures, and response length in characters when some training run has no token counts."""
    without_tokens = any(all(c.mean_output_tokens is None for c in cs) for cs in curves.values())
    return [*MEASURES[:2], *([CHARACTERS] if without_tokens else []), *MEASURES[2:]]


def _by_hours(curves: Mapping[str, Sequence[Checkpoint]], timelines: Mapping[str, Timeline]) -> str:
    sources = {t.source for t in timelines.values() if t.hours}
    problems = [f"{escape(name)}: {escape(t.problem)}" for name, t in timelines.items() if t.problem]
    if not sources:
        text = ("<p class='note'>No hours: give each training run's cost (<code>--train-log RUN=steps.csv</code> with "
                "<code>step,hours[,gpu_hours]</code>), or evaluate checkpoints with <code>evalkit sweep</code>, which "
                "records when each checkpoint was written, to see the same curves against hours: fewer steps is not "
                "less training when each step samples more.</p>")  # fmt: skip
        return text + (f"<p class='note'>Write times not used: {'; '.join(problems)}.</p>" if problems else "")
    by_write_times = [name for name, t in timelines.items() if t.source == "write times"]
    if sources == {"train log"}:
        x_label = "training hours"
    elif sources == {"write times"}:
        x_label = WRITE_TIMES
    else:
        x_label = "hours (train log, or write times where marked)"

    def label(name: str) -> str:
        return f"{name} (write times)" if name in by_write_times and sources != {"write times"} else name

    def hours(name: str, c: Checkpoint) -> float | None:
        return timelines[name].hours.get(c.step)

    against = "training hours" if sources == {"train log"} else "hours"
    charts, _ = _charts(curves, _measures(curves), against, x_label, hours, label)
    gpu = _series(curves, MEASURES[0], lambda name, c: timelines[name].gpu_hours.get(c.step), str)
    if gpu:
        charts.append(line_chart(gpu, "accuracy against GPU hours", "GPU hours", MEASURES[0].axis, y_range=None,
                                 width=CHART_WIDTH, height=CHART_HEIGHT))  # fmt: skip
    notes = []
    if by_write_times:
        names = ", ".join(escape(n) for n in by_write_times)
        notes.append(f"For {names}: {WRITE_TIMES}. Hour 0 is when the first evaluated checkpoint was written; "
                     "training before it, and time the trainer spent on anything but training, are not told apart "
                     "(give <code>--train-log</code> for training time itself).")  # fmt: skip
    if problems:
        notes.append(f"Write times not used: {'; '.join(problems)}.")
    return _grid(charts) + "".join(f"<p class='note'>{n}</p>" for n in notes)


def _comparison_rows(comparisons: Sequence[StepComparison]) -> str:
    rows = []
    for comparison in comparisons:
        result = comparison.result
        later, earlier = comparison.later, comparison.earlier
        verdict_class = {"better": "better", "worse": "worse", "within noise": "noise"}.get(comparison.verdict, "")
        if result is None:
            numbers = ["", "", "", "", ""]
            note = comparison.problem or ""
        else:
            numbers = [f"{100 * result.avg_a:.1f}", f"{100 * result.avg_b:.1f}", f"{100 * result.difference:+.1f}",
                       f"{100 * result.ci.low:+.1f} to {100 * result.ci.high:+.1f}",
                       f"{len(result.wins)} / {len(result.losses)} / {result.ties}"]  # fmt: skip
            note = f"{result.problems} problems, n = {result.n_a} and {result.n_b}"
        cells = [
            ("text", escape(comparison.curve)), ("text", escape(comparison.reason)), ("num", str(later.step)),
            ("num", str(earlier.step)), *(("num", escape(v)) for v in numbers[:4]),
            (verdict_class, escape(comparison.verdict)), ("num", escape(numbers[4])), ("text", escape(note)),
        ]  # fmt: skip
        rows.append("<tr>" + "".join(f'<td class="{c}">{v}</td>' for c, v in cells) + "</tr>")
    titles = ["training run", "compared", "later step", "earlier step", "later avg@n", "earlier avg@n", "Δ (points)",
              "95% interval of Δ", "the later checkpoint is", "problems better / worse / same", "over"]  # fmt: skip
    head = "".join(f'<th class="{"num" if 2 <= i <= 7 or i == 9 else "text"}">{t}</th>' for i, t in enumerate(titles))
    return (f'<div class="scroll"><table class="steps"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table></div>")  # fmt: skip


def _comparisons(defaults: Sequence[StepComparison], chosen: Sequence[StepComparison]) -> str:
    if not defaults and not chosen:
        return ""
    intro = ("<h3>Is the change more than noise?</h3><p class='note'>The later checkpoint minus the earlier one in "
             "avg@n, paired over the problems both scored (problem difficulty cancels), with a 95% bootstrap interval "
             "that redraws problems and each problem's samples. <b>better</b> or <b>worse</b> only when the interval "
             "leaves out zero. The best earlier checkpoint is picked by its own noisy score, which flatters it: a "
             "latest checkpoint \"within noise\" of it may still be as good. Choose two with "
             "<code>--compare-steps RUN=STEP,STEP</code>.</p>")  # fmt: skip
    return intro + _comparison_rows(with_chosen(defaults, chosen))


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _checkpoint_tables(curves: Mapping[str, Sequence[Checkpoint]], timelines: Mapping[str, Timeline],
                       links: Mapping[str, str]) -> str:  # fmt: skip
    tables = []
    titles = ["step", "hours", "avg@n", "95% CI", "n", "pass@n", "maj@n", "mean out tokens", "mean chars",
              "truncated %", "lang-mixed %", "judged"]  # fmt: skip
    head = "".join(f'<th class="num">{t}</th>' for t in titles)
    for name, checkpoints in curves.items():
        timeline = timelines.get(name)
        rows = []
        for c in checkpoints:
            link = links.get(str(c.run.path))
            step = f'<a href="{escape(link)}">{c.step}</a>' if link else str(c.step)
            hours = timeline.hours.get(c.step) if timeline else None
            cells = [step, _number(hours, 2), _number(c.avg), f"{c.ci_low:.1f}–{c.ci_high:.1f}", str(c.n),
                     _number(c.pass_at.get(c.n)) if c.n > 1 else "", _number(c.maj_at.get(c.n)),
                     _number(c.mean_output_tokens, 0), _number(c.mean_response_chars, 0), _number(c.truncated),
                     _number(c.language_mixed),
                     str(c.language_judged) if c.language_mixed is not None else ""]  # fmt: skip
            rows.append("<tr>" + "".join(f'<td class="num">{v}</td>' for v in cells) + "</tr>")
        source = f"; hours from its {timeline.source}" if timeline and timeline.source else ""
        caption = f"{escape(name)}: {len(checkpoints)} checkpoints{escape(source)}"
        tables.append(f'<div class="scroll"><table class="checkpoints"><caption>{caption}</caption><thead><tr>{head}'
                      f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')  # fmt: skip
    return ("<h3>Per checkpoint</h3><p class='note'>Click a step for its samples. lang-mixed: the share of judged "
            f"samples (reasoning of {MIN_JUDGED_UNITS} words or more outside math) whose reasoning mixes writing "
            "systems.</p>" + "".join(tables))  # fmt: skip


def section(
    curves: Mapping[str, Sequence[Checkpoint]],
    timelines: Mapping[str, Timeline],
    chosen: Sequence[StepComparison] = (),
    links: Mapping[str, str] | None = None,
) -> str:
    """The whole section, or a note saying how to get one when no run is a checkpoint of a training run."""
    if not curves:
        return (
            "<p class='note'>No checkpoint sweep yet: run or import several checkpoints of one training run "
            "(paths like …/global_step_120, …/checkpoint-500, …/iter_0000100) to see accuracy along training.</p>"
        )
    points = sum(len(c) for c in curves.values())
    intro = (f"<p class='note'>{len(curves)} training run{'s' if len(curves) > 1 else ''}, {points} checkpoints; "
             "the band is each checkpoint's 95% interval.</p>")  # fmt: skip
    step_charts, missing = _charts(curves, _measures(curves), "training step", "training step",
                                   lambda name, c: c.step, str)  # fmt: skip
    missing_note = f"<p class='note'>Not drawn: {escape('; '.join(missing))}.</p>" if missing else ""
    return (
        intro
        + "<h3>Against training step</h3>"
        + _grid(step_charts)
        + missing_note
        + "<h3>Against hours</h3>"
        + _by_hours(curves, timelines)
        + _comparisons(default_comparisons(curves), chosen)
        + _checkpoint_tables(curves, timelines, links or {})
    )
