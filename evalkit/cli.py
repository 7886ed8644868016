"""The `evalkit` command line: parses options, calls one function per command, prints.

Heavy packages (openai, pandas, numpy, sympy, vllm) are imported inside the commands that need them, so
`evalkit --help` and the listing commands start at once.
"""

from __future__ import annotations

import errno
import functools
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from evalkit.errors import EvalkitError
from evalkit.report.terminal import SafeConsole, json_text
from evalkit.verify.verifier import DEFAULT_TIMEOUT_S, RULE_SETS

if TYPE_CHECKING:
    from evalkit.data.datasets import DataLocations
    from evalkit.importers.run import SkippedRun

app = typer.Typer(
    help="Evaluate math-reasoning language models: sample, verify, score, compare.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
datasets_app = typer.Typer(help="List, inspect and download the pinned datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
presets_app = typer.Typer(help="Known checkpoints with their paper's evaluation protocol.", no_args_is_help=True)
app.add_typer(presets_app, name="presets")

# Wide tables stay readable when piped (rich assumes 80 columns without a terminal). Text from models, files and
# servers is printed as text: control characters as escapes, no markup read from it (markup=True only on
# evalkit's own words, with the data in them escaped).
out = SafeConsole(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = SafeConsole(stderr=True, soft_wrap=True)

# The import formats, named here so `evalkit --help` does not import the readers.
IMPORT_FORMATS = ("qwen25-math", "skythought", "lm-eval", "lighteval", "inspect", "evalscope", "evalkit")

VerifierOption = Annotated[
    str, typer.Option("--verifier", help=f"Rule set: {', '.join(RULE_SETS)}, or `all` to compare them.")
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", help="Verifier worker processes (default: one per CPU).")
]
TimeoutOption = Annotated[
    float,
    typer.Option("--verify-timeout", help="Seconds allowed for one symbolic check before it counts as wrong."),
]


TrainedRewardOption = Annotated[
    str | None,
    typer.Option(
        "--trained-reward",
        help="The reward rule the checkpoint was trained on (dapo, math, math-verify, ...): leaderboards then say "
        "whether the verifier that scored it is that rule.",
    ),
]


def _locations() -> DataLocations:
    from evalkit.data.datasets import DataLocations

    return DataLocations.from_env()


# ---------------------------------------------------------------------------------------------------------------
# datasets


@datasets_app.command("list")
def datasets_list() -> None:
    """The datasets evalkit knows, with their pinned sources."""
    from evalkit.data import datasets as ds
    from evalkit.report import terminal

    out.print(terminal.cards_table(ds.list_cards()))


@datasets_app.command("show")
def datasets_show(name: str) -> None:
    """Everything a dataset card says: source, hashes, field mapping, answer type, license."""
    from evalkit.data import datasets as ds
    from evalkit.report import terminal

    card = ds.load_card(name)
    out.print(terminal.card_detail(card, ds.cache_path(card, _locations())), markup=True)


@datasets_app.command("pull")
def datasets_pull(name: str) -> None:
    """Download a dataset from its pinned source, check every file's sha256, normalize and cache it."""
    from evalkit.data import datasets as ds

    card = ds.load_card(name)
    dataset = ds.pull(card, _locations())
    out.print(
        f"{card.name}: {len(dataset.problems)} problems, sha256 checked, cached at {ds.cache_path(card, _locations())}"
    )


# ---------------------------------------------------------------------------------------------------------------
# score


@app.command("score")
def score_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="A generations .jsonl file (problem_id, response, optional sample_index), or a run "
            "directory to verify again."
        ),
    ],
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset", "-d", help="Dataset name or .jsonl file (default aime24; a run directory knows its own)."
        ),
    ] = None,
    verifier: VerifierOption = "math",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (metrics and samples).")] = False,
    save: Annotated[
        Path | None,
        typer.Option("--save", help="Also write the scored generations as a run directory here, for leaderboards."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model name for --save (default: the file's `model` field).")
    ] = None,
    origin: Annotated[str | None, typer.Option("--origin", help="Where the generations come from, for --save.")] = None,
    family: Annotated[str | None, typer.Option("--family", help="Method family, for --save.")] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="How they were sampled, for --save.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Their token budget, for --save.")] = None,
    template_name: Annotated[str | None, typer.Option("--template-name", help="Their prompt, for --save.")] = None,
    trained_reward: TrainedRewardOption = None,
    workers: WorkersOption = None,
    verify_timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """Verify and score responses that already exist: a generations file, or a run's stored samples."""
    from evalkit.config import check_trained_reward
    from evalkit.pipeline import launch, rescore
    from evalkit.report import terminal

    launch.check_verifier_options(workers, verify_timeout)
    check_trained_reward(trained_reward)
    if trained_reward is not None and save is None:
        raise EvalkitError("--trained-reward labels the run that --save DIR writes; add --save")
    if verifier != "all" and verifier not in RULE_SETS:
        raise EvalkitError(f"unknown verifier {verifier!r}; choose one of {', '.join(RULE_SETS)} or all")
    if save is not None and (source.is_dir() or verifier == "all"):
        raise EvalkitError("--save takes a generations file and one verifier")
    records, data = rescore.generations_to_score(
        source, dataset, _locations(), on_notice=lambda message: err.print(f"note: {escape(message)}")
    )
    rule_sets = list(RULE_SETS) if verifier == "all" else [verifier]
    reports = [rescore.score(records, data, rules, workers=workers, timeout=verify_timeout) for rules in rule_sets]
    if save is not None:
        labels = {"family": family, "template": template_name, "trained_reward": trained_reward}
        sampling = {"temperature": temperature, "top_p": None, "max_tokens": max_tokens, "seed": None}
        rescore.save_from_file(source, records, data, reports[0], save, model, origin, labels, sampling)
    if as_json:
        sys.stdout.write(json_text(rescore.reports_json(reports)) + "\n")
        return
    coverage = reports[0].coverage
    if coverage.partial:
        err.print(f"note: the file covers {coverage.describe()}; scoring those only")
    out.print(f"[bold]{escape(source.name)}[/bold] · {escape(coverage.describe())}", markup=True)
    for report in reports:
        out.print(terminal.metrics_table(report.metrics, f"verifier {report.rules}"))
    out.print(terminal.counts_line(reports[0].metrics))
    if len(reports) > 1:
        out.print(terminal.rules_table(reports))
        table, count = terminal.disagreement_table(reports)
        if count:
            out.print(table)
            if count > table.row_count:
                out.print(f"… {count - table.row_count} more disagreements (use --json for all)")
        else:
            out.print("the rule sets agree on every sample")
    if save is not None:
        out.print(f"saved as a scored run in {save}")


# ---------------------------------------------------------------------------------------------------------------
# import, show


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Output files or folders holding them, as other harnesses wrote them (.gz/.zst read)."),
    ],
    fmt: Annotated[
        str,
        typer.Option("--format", help=f"auto or one of: {', '.join(IMPORT_FORMATS)}."),
    ] = "auto",
    dataset: Annotated[
        str, typer.Option("--dataset", "-d", help="The pinned dataset the outputs answer (name or .jsonl).")
    ] = "aime24",
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where the imported run directories go.")] = Path(
        "runs"
    ),
    verifier: Annotated[str, typer.Option("--verifier", help=f"Rule set: {', '.join(RULE_SETS)}.")] = "math",
    family: Annotated[
        str | None, typer.Option("--family", help="Method family of the imported models, for leaderboards.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read, verify and report; write no run.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per run, for scripts.")] = False,
    trained_reward: TrainedRewardOption = None,
    workers: WorkersOption = None,
    verify_timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """Import other harnesses' outputs as runs: re-scored, set beside their own verdicts and reported numbers."""
    from evalkit.config import check_trained_reward
    from evalkit.data import datasets as ds
    from evalkit.importers import import_outputs
    from evalkit.importers.compare import summary_json
    from evalkit.report import terminal

    if verifier not in RULE_SETS:
        raise EvalkitError(f"unknown verifier {verifier!r}; choose one of {', '.join(RULE_SETS)}")
    check_trained_reward(trained_reward)
    data = ds.load(dataset, _locations())
    summary = import_outputs(paths, data, None if dry_run else output_dir, fmt, verifier, family, workers,
                             verify_timeout, trained_reward=trained_reward)  # fmt: skip
    if as_json:
        written = {i: str(d) for i, d in enumerate(summary.run_dirs) if d is not None}
        document = {
            "dataset": data.name,
            "verifier": verifier,
            "runs": summary_json(summary.results, written),
            "not_imported": [{"path": str(s.path), "model": s.model, "reason": s.reason} for s in summary.skipped_runs],
            "skipped_files": [str(p) for p in summary.skipped_files],
            "links_not_followed": [str(p) for p in summary.outside],
        }
        sys.stdout.write(json_text(document) + "\n")
        if not summary.results:
            sys.exit(2)  # nothing imported: a script must not read it as done (the reasons are in the document)
        return
    if not summary.results:
        _say_not_imported(summary.skipped_runs)
        left_out = len(summary.skipped_runs)
        raise EvalkitError(
            f"nothing was imported: {'the' if left_out == 1 else 'all'} {left_out} output"
            f"{'' if left_out == 1 else 's'} found {'was' if left_out == 1 else 'were'} left out, for the reasons above"
        )
    out.print(terminal.import_table(summary.results, data.name))
    for result in summary.results:
        for finding in result.run.findings:
            if finding.kind != "source":
                err.print(f"[yellow]note:[/yellow] {escape(result.run.model)}: {escape(finding.message)}",
                          highlight=False, markup=True)  # fmt: skip
    table, count = terminal.import_disagreements(summary.results)
    if count:
        out.print(table)
    else:
        out.print("evalkit's verdicts agree with the sources' own on every sample they judged")
    _say_not_imported(summary.skipped_runs)
    if summary.outside:
        shown = ", ".join(str(p) for p in summary.outside[:5])
        more = f" and {len(summary.outside) - 5} more" if len(summary.outside) > 5 else ""
        err.print(
            f"[yellow]not followed:[/yellow] {escape(shown + more)}: symbolic links that lead out of the folder "
            "given (import the files they point to by name if you mean them)",
            highlight=False,
            markup=True,
        )
    if summary.skipped_files:
        shown = ", ".join(p.name for p in summary.skipped_files[:5])
        more = f" and {len(summary.skipped_files) - 5} more" if len(summary.skipped_files) > 5 else ""
        count = len(summary.skipped_files)
        err.print(f"skipped {count} file{'s' if count > 1 else ''} that {'are' if count > 1 else 'is'} no harness "
                  f"output: {shown}{more}")  # fmt: skip
    written = [d for d in summary.run_dirs if d is not None]
    if written:
        out.print(f"{len(written)} imported runs written under {output_dir}")


def _say_not_imported(skipped_runs: Sequence[SkippedRun]) -> None:
    for skipped in skipped_runs:
        # A file that could not be read names itself in its reason.
        what = f"{skipped.path} ({skipped.model}): " if skipped.model else ""
        err.print(f"[yellow]not imported:[/yellow] {escape(what + skipped.reason)}", highlight=False, markup=True)


@app.command("show")
def show_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (measured, imported or scored).")],
    problem: Annotated[str | None, typer.Option("--problem", "-p", help="Show this problem's samples in full.")] = None,
    wrong: Annotated[bool, typer.Option("--wrong", help="Only samples evalkit judged wrong.")] = False,
) -> None:
    """A run's samples: per problem the answers given and verdicts; with --problem, every response in full."""
    from evalkit.report import samples, terminal

    view = samples.load_view(run_dir)
    if problem is not None and problem not in view.problem_ids:
        raise EvalkitError(f"{run_dir} has no problem {problem!r}; its problems: {', '.join(view.problem_ids[:40])}")
    out.print(terminal.run_header(view), highlight=False)
    if problem is None:
        out.print(terminal.samples_table(view, wrong))
        return
    for line in terminal.problem_samples(view, problem, wrong):
        out.print(line, highlight=False, markup=False)


# ---------------------------------------------------------------------------------------------------------------
# leaderboard, compare, presets


@app.command("leaderboard")
def leaderboard_command(
    run_dirs: Annotated[
        list[Path] | None,
        typer.Argument(help="Run directories, or folders holding them (default: runs/ if it exists)."),
    ] = None,
    dataset: Annotated[str, typer.Option("--dataset", "-d")] = "aime24",
    formats: Annotated[
        list[str] | None, typer.Option("--format", help="csv, md or html; repeatable (default: all three).")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the tables.")] = Path("leaderboards"),
    family: Annotated[list[str] | None, typer.Option("--family", help="Only these families; repeatable.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="Column to sort by.")] = "avg",
    reported: Annotated[bool, typer.Option("--reported/--no-reported", help="Include published numbers.")] = True,
    readme: Annotated[
        Path | None,
        typer.Option(
            "--readme", help="Also fill the leaderboard section of this README (between its leaderboard markers)."
        ),
    ] = None,
    train_log: Annotated[
        list[str] | None,
        typer.Option(
            "--train-log",
            help="[RUN_NAME=]CSV with step,hours[,gpu_hours]: a sweep's training cost, to draw accuracy against "
            "hours too; repeatable.",
        ),
    ] = None,
    samples: Annotated[
        bool, typer.Option("--samples/--no-samples", help="Write a samples page per run beside the HTML page.")
    ] = True,
    compare_steps: Annotated[
        list[str] | None,
        typer.Option(
            "--compare-steps",
            help="[RUN=]STEP,STEP: is the later of two checkpoints of a training run better than the earlier, or is "
            "the difference noise (paired, 95% interval); shown on the page and in the markdown; repeatable. RUN: "
            "the training run's name or a part of it naming one.",
        ),
    ] = None,
) -> None:
    """One table of runs and reported numbers, each row with the settings that produced it."""
    from evalkit.report import leaderboard, publish, tables, terminal, training
    from evalkit.report.trainlog import read_train_logs

    paths = run_dirs or ([Path("runs")] if Path("runs").is_dir() else [])

    def note(message: str) -> None:  # a damaged run is said and left out; the folder's other runs are shown
        err.print(f"note: {message}")

    runs = leaderboard.load_runs(paths, on_skip=note)
    frame = leaderboard.build(runs, dataset, include_reported=reported, families=family, sort_by=sort)
    if frame.empty:
        on = sorted({run.dataset for run in runs})
        raise EvalkitError(
            f"nothing to show for dataset {dataset!r}: no runs on it"
            + (f" (the runs given are on {', '.join(on)})" if on else "")
            + ("" if reported else " and --no-reported leaves out published numbers")
            + "; pass --dataset with one of those"
        )
    curves = leaderboard.training_runs(runs, dataset)
    names = list(dict.fromkeys([*curves, *(checkpoints[0].training_run for checkpoints in curves.values())]))
    steps: dict[str, set[int]] = {}
    for name, checkpoints in curves.items():
        for key in (name, checkpoints[0].training_run):
            steps.setdefault(key, set()).update(checkpoint.step for checkpoint in checkpoints)
    logs = read_train_logs(train_log or [], names, steps, note)
    chosen = training.chosen_comparisons(curves, compare_steps or [])
    written = publish.write(
        frame, runs, dataset, out_dir, formats or ["csv", "md", "html"], logs, samples, chosen, on_skip=note
    )
    if readme is not None:
        tables.update_readme(readme, frame, dataset, runs, out_dir)
        written.append(readme)
    counts = frame["kind"].map(lambda k: "reported" if str(k).startswith("reported") else str(k)).value_counts()
    out.print(terminal.leaderboard_table(frame))
    described = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    out.print(f"{len(frame)} rows ({described}) → " + ", ".join(map(str, written)))
    for comparison in chosen:
        out.print(terminal.step_comparison(comparison), highlight=False, markup=False)


@app.command("compare")
def compare_command(
    run_a: Annotated[Path, typer.Argument(help="Run directory A.")],
    run_b: Annotated[Path, typer.Argument(help="Run directory B.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Paired difference A − B on the problems both runs scored, with a bootstrap interval."""
    from evalkit.config import protocol_differences
    from evalkit.metrics import ProblemScore, paired_comparison
    from evalkit.report import leaderboard, terminal

    a, b = leaderboard.load_run(run_a), leaderboard.load_run(run_b)
    if a.manifest["dataset"]["content_sha256"] != b.manifest["dataset"]["content_sha256"]:
        raise EvalkitError("the two runs are on different problem sets; compare runs on the same dataset")
    result = paired_comparison(
        [ProblemScore(e["problem_id"], e["n"], e["correct"], e["majority_correct"]) for e in a.per_problem],
        [ProblemScore(e["problem_id"], e["n"], e["correct"], e["majority_correct"]) for e in b.per_problem],
    )
    differences = protocol_differences(a.manifest, b.manifest)
    if as_json:
        sys.stdout.write(json_text({**result.to_dict(), "protocol_differences": differences}) + "\n")
        return
    out.print(terminal.comparison(result, a.manifest["model"], b.manifest["model"]))
    if differences:
        err.print("[yellow]note:[/yellow] the runs differ in " + escape("; ".join(differences)), markup=True)


@presets_app.command("list")
def presets_list() -> None:
    """Every preset: model, family, protocol and reported AIME 2024 numbers."""
    from evalkit.data import presets
    from evalkit.report import terminal

    out.print(terminal.presets_table(presets.load_presets()))


@presets_app.command("show")
def presets_show(name: str) -> None:
    """One preset in full, with the sources of its numbers."""
    from evalkit.data import presets
    from evalkit.report import terminal

    preset = presets.find_preset(name)
    if preset is None:
        known = ", ".join(p.name for p in presets.load_presets())
        raise EvalkitError(f"unknown preset {name!r}; known presets: {known}")
    out.print(terminal.preset_detail(preset))


# ---------------------------------------------------------------------------------------------------------------
# run, sweep


@dataclass(frozen=True)
class RunSetting:
    """An option of `evalkit run` that shapes a run, shared with `evalkit sweep`: the parameter's name, its key in
    the settings the run resolves (config.resolve_run), its type with its typer.Option, and how its value is read."""

    name: str
    annotation: Any
    key: str = ""  # the parameter's name when empty
    read: Callable[[Any], Any] = lambda value: value

    @property
    def setting(self) -> str:
        return self.key or self.name


def _pairs(option: str) -> Callable[[list[str] | None], dict[str, Any] | None]:
    def read(pairs: list[str] | None) -> dict[str, Any] | None:
        from evalkit.pipeline.launch import parse_key_values

        return parse_key_values(pairs, option) or None

    return read


RUN_SETTINGS = (
    RunSetting(
        "backend",
        key="kind",
        annotation=Annotated[str | None, typer.Option("--backend", help="vllm (in-process, default) or openai.")],
    ),
    RunSetting(
        "dataset",
        Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset name or .jsonl file (default aime24).")],
    ),
    RunSetting("n", Annotated[int | None, typer.Option("-n", help="Samples per problem (default 32).")]),
    RunSetting(
        "template",
        Annotated[
            str | None,
            typer.Option("--template", help="dapo, r1, boxed, qwen-boxed, orz, plain, or a .toml file (default dapo)."),
        ],
    ),
    RunSetting("temperature", Annotated[float | None, typer.Option("--temperature", help="0 to 2; default 0.6.")]),
    RunSetting("top_p", Annotated[float | None, typer.Option("--top-p", help="Default 0.95.")]),
    RunSetting(
        "max_tokens",
        Annotated[int | None, typer.Option("--max-tokens", help="Generated tokens per sample (default 32768).")],
    ),
    RunSetting(
        "seed",
        Annotated[
            int | None, typer.Option("--seed", help="Run seed; every sample's seed derives from it (default 0).")
        ],
    ),
    RunSetting(
        "seed_policy",
        Annotated[
            str | None,
            typer.Option(
                "--seed-policy",
                help="sample (default): every sample has its own seed, reproducible sample by sample and on resume; "
                "engine: one engine seed (faster on vLLM, reproducible only for the same batch).",
            ),
        ],
    ),
    RunSetting("limit", Annotated[int | None, typer.Option("--limit", help="Only the first N problems.")]),
    RunSetting(
        "verifier",
        Annotated[str | None, typer.Option("--verifier", help="math, dapo or strict-int (default math).")],
    ),
    RunSetting(
        "api",
        Annotated[str | None, typer.Option("--api", help="chat (chat template) or completions (raw prompt).")],
    ),
    RunSetting(
        "tensor_parallel_size",
        Annotated[int | None, typer.Option("--tensor-parallel-size", "--tp")],
    ),
    RunSetting(
        "pipeline_parallel_size",
        Annotated[int | None, typer.Option("--pipeline-parallel-size", "--pp")],
    ),
    RunSetting("data_parallel_size", Annotated[int | None, typer.Option("--data-parallel-size", "--dp")]),
    RunSetting("max_model_len", Annotated[int | None, typer.Option("--max-model-len")]),
    RunSetting("dtype", Annotated[str | None, typer.Option("--dtype")]),
    RunSetting(
        "gpu_memory_utilization",
        Annotated[float | None, typer.Option("--gpu-memory-utilization")],
    ),
    RunSetting("enforce_eager", Annotated[bool | None, typer.Option("--enforce-eager/--no-enforce-eager")]),
    RunSetting(
        "engine_arg",
        key="engine_args",
        annotation=Annotated[
            list[str] | None,
            typer.Option("--engine-arg", help="Extra vLLM engine argument KEY=VALUE (JSON values), repeatable."),
        ],
        read=_pairs("--engine-arg"),
    ),
    RunSetting(
        "base_url",
        key="base_urls",
        annotation=Annotated[
            list[str] | None,
            typer.Option("--base-url", help="OpenAI-compatible endpoint, repeatable to spread load over servers."),
        ],
        read=lambda urls: tuple(urls) if urls else None,
    ),
    RunSetting(
        "concurrency",
        Annotated[int | None, typer.Option("--concurrency", help="Requests in flight (default 64).")],
    ),
    RunSetting(
        "request_timeout",
        Annotated[
            float | None, typer.Option("--request-timeout", help="Total seconds one request may take (default 3600).")
        ],
    ),
    RunSetting(
        "idle_timeout",
        Annotated[
            float | None,
            typer.Option(
                "--idle-timeout",
                help="Seconds a response may send nothing (a stream from its first bytes, a JSON body from its "
                "headers) before it is abandoned and retried (default 300).",
            ),
        ],
    ),
    RunSetting(
        "stream",
        Annotated[
            bool | None, typer.Option("--stream/--no-stream", help="Stream responses (default) or wait for each whole.")
        ],
    ),
    RunSetting(
        "api_param",
        key="api_params",
        annotation=Annotated[
            list[str] | None,
            typer.Option(
                "--api-param",
                help="Extra request field KEY=VALUE (JSON values), repeatable: reasoning_effort=high, top_k=20.",
            ),
        ],
        read=_pairs("--api-param"),
    ),
    RunSetting(
        "vllm_extensions",
        Annotated[
            bool | None,
            typer.Option(
                "--vllm-extensions/--no-vllm-extensions",
                help="Send vLLM's return_token_ids and assistant prefill (default; hosted APIs take neither).",
            ),
        ],
    ),
    RunSetting(
        "price_input",
        Annotated[float | None, typer.Option("--price-input", help="USD per million input tokens, for cost_usd.")],
    ),
    RunSetting(
        "price_output",
        Annotated[float | None, typer.Option("--price-output", help="USD per million output tokens, for cost_usd.")],
    ),
    RunSetting("max_retries", Annotated[int | None, typer.Option("--max-retries")]),
    RunSetting(
        "api_key_env",
        Annotated[
            str | None,
            typer.Option("--api-key-env", help="Environment variable holding the API key (default OPENAI_API_KEY)."),
        ],
    ),
    RunSetting(
        "family",
        Annotated[str | None, typer.Option("--family", help="Method family for leaderboards (DAPO, GRPO, ...).")],
    ),
    RunSetting(
        "base_model",
        key="base",
        annotation=Annotated[str | None, typer.Option("--base-model", help="Base model, for leaderboards.")],
    ),
    RunSetting(
        "run_name",
        Annotated[
            str | None,
            typer.Option(
                "--run-name",
                help="Training run a checkpoint belongs to (default: the path with its step replaced by *).",
            ),
        ],
    ),
    RunSetting("trained_reward", TrainedRewardOption),
)


def with_run_settings(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the options of RUN_SETTINGS after its own; they reach it as one dict, `settings`, keyed as
    resolve_run reads them (None where the option was not given)."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "settings"]
    shared = [
        inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=s.annotation)
        for s in RUN_SETTINGS
    ]

    @functools.wraps(command)
    def with_settings(**values: Any) -> None:
        settings = {s.setting: s.read(values.pop(s.name)) for s in RUN_SETTINGS}
        command(**values, settings=settings)

    with_settings.__signature__ = signature.replace(parameters=own + shared)  # type: ignore[attr-defined]
    return with_settings


OutputDirOption = Annotated[Path, typer.Option("--output-dir", help="Where run directories go.")]


@app.command("run")
@with_run_settings
def run_command(
    model: Annotated[
        str,
        typer.Argument(
            help="Model id or path, a preset name (`evalkit presets list`), or smollm2-135m for the embedded CPU model."
        ),
    ],
    output_dir: OutputDirOption = Path("runs"),
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Exact run directory (overrides --output-dir).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the requests, worst-case tokens and cost; start nothing.")
    ] = False,
    served_model_name: Annotated[str | None, typer.Option("--served-model-name")] = None,
    workers: WorkersOption = None,
    verify_timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
    wait: Annotated[
        bool, typer.Option("--wait", help="If another process is writing this run, wait for it instead of refusing.")
    ] = False,
    *,
    settings: dict[str, Any],
) -> None:
    """Sample n completions per problem, store each at once, verify, and score. Rerunning resumes."""
    from evalkit.pipeline import launch
    from evalkit.report import terminal

    given = {**settings, "served_model": served_model_name}
    view = terminal.RunProgressView(err)
    launch.check_verifier_options(workers, verify_timeout)
    prepared = launch.prepare(model, given, output_dir, run_dir, view)
    if dry_run:
        out.print(terminal.dry_run_text(launch.dry_run(prepared)), highlight=False, markup=False)
        return
    outcome = launch.execute(prepared, view, workers, verify_timeout, wait_for_lock=wait)
    summary = terminal.run_summary(
        outcome.metrics, outcome.results["generation"], str(prepared.run_dir), outcome.results.get("cost")
    )
    out.print(summary)


@app.command("sweep")
@with_run_settings
def sweep_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="A training run's checkpoint folder (verl's default_local_dir, the Trainer's output_dir, OpenRLHF's "
            "ckpt path), checkpoint folders, or a quoted glob of them."
        ),
    ],
    every: Annotated[int | None, typer.Option("--every", help="Only steps that are multiples of K.")] = None,
    steps: Annotated[
        str | None, typer.Option("--steps", help="Only steps in FIRST:LAST (inclusive; 100:400, 100: or :400).")
    ] = None,
    latest: Annotated[int | None, typer.Option("--latest", help="Only the N highest steps (after the above).")] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep going: evaluate each new checkpoint as the trainer writes it.")
    ] = False,
    until_step: Annotated[
        int | None, typer.Option("--until-step", help="With --watch: stop once a step >= N has been evaluated.")
    ] = None,
    stop_after_idle: Annotated[
        float | None,
        typer.Option("--stop-after-idle", help="With --watch: stop when no new checkpoint came for this many seconds."),
    ] = None,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="With --watch: seconds between looks for new checkpoints.")
    ] = 30.0,
    settle_seconds: Annotated[
        float,
        typer.Option(
            "--settle-seconds",
            help="A checkpoint whose trainer writes no completion marker (OpenRLHF, step_N, iter_N) is taken as "
            "written once none of its files changed for this long.",
        ),
    ] = 60.0,
    restart_engine: Annotated[
        bool,
        typer.Option(
            "--restart-engine", help="Start a new vLLM engine for every checkpoint instead of swapping weights."
        ),
    ] = False,
    served_model_template: Annotated[
        str | None,
        typer.Option(
            "--served-model-template",
            help="With --backend openai: the name the server serves each checkpoint under, from {step}, {name} (the "
            "checkpoint's folder), {path} (its weights folder) and {run} (default: the weights folder's path).",
        ),
    ] = None,
    output_dir: OutputDirOption = Path("runs"),
    sweep_dir: Annotated[
        Path | None, typer.Option("--sweep-dir", help="Exact sweep directory (overrides --output-dir).")
    ] = None,
    workers: WorkersOption = None,
    verify_timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
    *,
    settings: dict[str, Any],
) -> None:
    """Evaluate every checkpoint of a training run, in step order, in one engine; --watch as the trainer writes them."""
    from evalkit.data.checkpoints import StepSelection
    from evalkit.pipeline import launch
    from evalkit.pipeline.sweep import Sweep, SweepOptions, table_rows
    from evalkit.report import terminal

    options = SweepOptions(
        sources=tuple(sources), selection=StepSelection.parse(every, steps, latest), output_dir=output_dir,
        sweep_dir=sweep_dir, watch=watch, until_step=until_step, stop_after_idle_s=stop_after_idle,
        poll_s=poll_interval, settle_s=settle_seconds, restart_engine=restart_engine,
        served_model_template=served_model_template,
    )  # fmt: skip
    view = terminal.RunProgressView(err)
    launch.check_verifier_options(workers, verify_timeout)

    def show(outcome: Any) -> None:
        out.print(terminal.sweep_table(table_rows(outcome), f"{outcome.training_run} · {outcome.sweep_dir}"))

    outcome = Sweep(options, settings, view, workers, verify_timeout, on_checkpoint=show).run()
    show(outcome)
    if outcome.leaderboard:
        out.print("leaderboard: " + ", ".join(map(str, outcome.leaderboard)))


# ---------------------------------------------------------------------------------------------------------------
# reward-server


@app.command("reward-server")
def reward_server_command(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port, printed).")],
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for trainer ranks on other machines.")
    ] = "127.0.0.1",
    rule: Annotated[str, typer.Option("--rule", help=f"Rule set that judges: {', '.join(RULE_SETS)}.")] = "math",
    correct_reward: Annotated[float, typer.Option("--correct-reward", help="Reward of a right answer.")] = 1.0,
    wrong_reward: Annotated[
        float, typer.Option("--wrong-reward", help="Reward of a wrong answer, a timeout or a missing gold (DAPO: -1).")
    ] = 0.0,
    max_request_mb: Annotated[
        float, typer.Option("--max-request-mb", help="Largest request body accepted (larger ones get 413).")
    ] = 256.0,
    workers: WorkersOption = None,
    verify_timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """Serve evalkit's verifier as OpenRLHF's remote reward (--reward.remote_url http://HOST:PORT/get_reward)."""
    from evalkit.reward.scoring import RewardConfig
    from evalkit.reward.server import serve
    from evalkit.reward.service import close_services

    config = RewardConfig(rule, verify_timeout, correct_reward, wrong_reward, workers)

    def ready(addresses: list[str]) -> None:
        where = ", ".join(f"{a}/get_reward" for a in addresses)
        err.print(f"evalkit reward server on {where} ({config.describe()}); health at /health", highlight=False)

    try:
        serve(config, host, port, max_request_mb, ready)
    finally:
        close_services()
    err.print("reward server stopped")


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True, markup=True)
    sys.exit(code)


def main() -> None:
    try:
        app()
    except EvalkitError as exc:
        _fail(escape(str(exc)))
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        fix = (
            "free some space there and run the same command again (what was written before is kept)"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT)
            else "check the path and its permissions"
        )
        _fail(escape(f"cannot use{where}: {exc.strerror or exc}; {fix}"))
    except Exception as exc:
        if os.environ.get("EVALKIT_DEBUG"):
            raise
        # A bug, not a user error: one line to report, the traceback on request.
        _fail(
            escape(f"unexpected {type(exc).__name__}: {exc} (a bug in evalkit; set EVALKIT_DEBUG=1 for the traceback)"),
            3,
        )


if __name__ == "__main__":
    main()
