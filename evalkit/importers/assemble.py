"""A source run made ready to score: lines matched to pinned problems, samples numbered, and every trap the files
hide found and said: lines that match nothing, another dataset, a gold answer that differs, a server that ignored
n, and "repeats" that are one text (a fixed seed sent with every request)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from evalkit.config import checkpoint_step, training_run
from evalkit.data.datasets import Dataset
from evalkit.importers.match import ProblemMatcher, same_gold
from evalkit.importers.naming import display_name
from evalkit.importers.source import PROTOCOL_FIELDS, SourceResponse, SourceRun

# Lines of unmatched sources shown in a finding; the rest are counted.
SHOWN_LINES = 5


@dataclass(frozen=True)
class Finding:
    """Something about a source that changes what its numbers mean, said once, in the table and the manifest."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class ImportedSample:
    problem_id: str
    sample_index: int
    response: SourceResponse


@dataclass(frozen=True)
class ImportedRun:
    """One run ready to verify: its samples keyed by pinned problem ids, n samples for every covered problem."""

    source: SourceRun
    model: str
    checkpoint_step: int | None
    run_name: str | None
    family: str | None
    dataset: Dataset
    samples: tuple[ImportedSample, ...]
    n: int
    findings: tuple[Finding, ...]
    matched: int  # source lines matched to a problem
    unmatched: tuple[str, ...]  # source lines that match none
    solved_fraction: dict[str, float]  # the source's own per-problem score, when it keeps no per-sample verdict

    @property
    def problem_ids(self) -> list[str]:
        return list(dict.fromkeys(s.problem_id for s in self.samples))

    def protocol(self) -> dict[str, Any]:
        """What the source states (temperature, n, seed, prompt, ...); every other field is listed as unknown."""
        stated = self.source.stated_protocol()
        stated["n"] = self.n
        return {
            "stated": {k: v for k, v in stated.items() if v is not None},
            "unknown": [k for k in PROTOCOL_FIELDS if stated.get(k) is None] + ["top_k", "chat_template"],
            "n_in_source": self.source.protocol.get("n"),
            "n_requested": self.source.n_requested,
            "token_usage": token_usage(self.samples),
        }


def token_usage(samples: tuple[ImportedSample, ...]) -> dict[str, Any]:
    """Token counts the source recorded, summed, or unknown where it recorded none."""
    prompt = [s.response.prompt_tokens for s in samples if s.response.prompt_tokens is not None]
    output = [s.response.output_tokens for s in samples if s.response.output_tokens is not None]
    return {
        "prompt_tokens": sum(prompt) if prompt else "unknown",
        "output_tokens": sum(output) if output else "unknown",
        "mean_output_tokens": round(sum(output) / len(output), 1) if output else "unknown",
        "samples_with_counts": len(output),
    }


class NothingToImport(Exception):
    """A source with nothing that matches the dataset: reported, and no run is written."""


def _identical_repeats_reason(source: SourceRun) -> str:
    if source.format == "lm-eval":
        return "lm-eval sends its repeats as separate requests that all carry one fixed seed (1234 unless set)"
    if source.format == "evalscope":
        return (
            "evalscope sends n as that many one-choice requests; the server returned one choice and the same text "
            "to each: it ignored n and drew nothing new"
        )
    return "the server answered each repeated request with the same text: a fixed seed, a cache, or greedy decoding"


def _shown(lines: list[str]) -> str:
    more = len(lines) - SHOWN_LINES
    return ", ".join(lines[:SHOWN_LINES]) + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class _Matched:
    by_problem: dict[str, list[SourceResponse]]  # responses under pinned problem ids, in source order
    fractions: dict[str, float]  # the source's own per-problem scores, when it has them
    unmatched: tuple[str, ...]
    findings: tuple[Finding, ...]


def _match_lines(source: SourceRun, dataset: Dataset) -> _Matched:
    """Each source line's responses under its pinned problem id, with what matching found."""
    matcher = ProblemMatcher(dataset)
    by_problem: dict[str, list[SourceResponse]] = {}
    fractions: dict[str, float] = {}
    unmatched, duplicates, gold_differs = [], [], []
    for item in source.items:
        found = matcher.match(item)
        if found is None:
            unmatched.append(item.line)
            continue
        pid = found.problem.id
        if pid in by_problem:
            duplicates.append(f"{item.line} ({pid})")
            continue
        by_problem[pid] = list(item.responses)
        if item.solved_fraction is not None:
            fractions[pid] = item.solved_fraction
        if item.gold is not None and not same_gold(item.gold, found.problem.answer):
            gold_differs.append(f"{pid}: source {item.gold!r}, pinned {found.problem.answer!r}")
    total = len(source.items)
    if not by_problem:
        raise NothingToImport(
            f"none of its {total} lines is a {dataset.name} problem: it covers another dataset (or another "
            f"version of it); pass --dataset with the right one"
        )
    findings = []
    if unmatched:
        findings.append(Finding("unmatched", f"{len(unmatched)} of {total} lines match no {dataset.name} problem "
                                             f"and are left out: {_shown(unmatched)}"))  # fmt: skip
    if duplicates:
        findings.append(Finding("duplicate", f"{len(duplicates)} lines repeat a problem already read and are left "
                                             f"out: {_shown(duplicates)}"))  # fmt: skip
    if gold_differs:
        findings.append(Finding("gold-differs", f"the source's gold answer differs from the pinned one on "
                                                f"{len(gold_differs)} problems ({'; '.join(gold_differs[:3])}): its "
                                                "verdicts there are against another answer"))  # fmt: skip
    if len(by_problem) < len(dataset.problems):
        findings.append(Finding("partial", f"covers {len(by_problem)} of the {len(dataset.problems)} problems of "
                                           f"{dataset.name}; scored on those"))  # fmt: skip
    empty = [pid for pid, responses in by_problem.items() if not responses]
    for pid in empty:
        del by_problem[pid]
    if empty:
        findings.append(Finding("empty", f"{len(empty)} problems have no response and are left out"))
    if not by_problem:
        raise NothingToImport("no line holds a response")
    return _Matched(by_problem, fractions, tuple(unmatched), tuple(findings))


def _settle_n(source: SourceRun, by_problem: dict[str, list[SourceResponse]]) -> tuple[int, list[Finding]]:
    """The n every problem is scored on: the fewest samples any problem has, or 1 when the samples are one text."""
    findings = []
    counts = Counter(len(r) for r in by_problem.values())
    n = min(counts)
    if len(counts) > 1:
        findings.append(Finding("uneven", f"problems have {n} to {max(counts)} samples; each is scored on its "
                                          f"first {n} (avg@{n})"))  # fmt: skip
    requested = source.n_requested
    if requested is not None and max(counts) < requested:
        findings.append(Finding("n-ignored", f"{requested} samples per problem were asked for but the source holds "
                                             f"{max(counts)}: the server ignored n; scored as n={n}"))  # fmt: skip
    if n > 1:
        repeated = [pid for pid, r in by_problem.items() if len({x.text for x in r[:n]}) == 1]
        if len(repeated) == len(by_problem):
            findings.append(Finding(
                "identical-repeats",
                f"each problem's {n} samples are one text {n} times ({_identical_repeats_reason(source)}): they "
                f"are one sample, not {n}, so pass@k and maj@k over them mean nothing; imported as n=1",
            ))  # fmt: skip
            n = 1
        elif repeated:
            findings.append(Finding("identical-repeats", f"on {len(repeated)} of {len(by_problem)} problems all "
                                                         f"{n} samples are one text: those are not independent "
                                                         "samples"))  # fmt: skip
    return n, findings


def assemble(source: SourceRun, dataset: Dataset, family: str | None = None, model: str | None = None) -> ImportedRun:
    """Match a source run's lines to the dataset and settle n; raises NothingToImport when nothing matches."""
    matched = _match_lines(source, dataset)
    by_problem = matched.by_problem
    n, sampling = _settle_n(source, by_problem)
    findings = [Finding("source", note) for note in source.notes] + list(matched.findings) + sampling
    if source.token_count_note:
        findings.append(Finding("token-counts", source.token_count_note))
    name = model or display_name(source.model, folders=source.model_from_folders)
    order = [p.id for p in dataset.problems if p.id in by_problem]  # the dataset's order, whatever the source's
    samples = tuple(
        ImportedSample(pid, index, response) for pid in order for index, response in enumerate(by_problem[pid][:n])
    )
    return ImportedRun(
        source=source,
        model=name,
        checkpoint_step=checkpoint_step(name),
        run_name=training_run(name),
        family=family,
        dataset=dataset,
        samples=samples,
        n=n,
        findings=tuple(findings),
        matched=len(source.items) - len(matched.unmatched),
        unmatched=matched.unmatched,
        solved_fraction=matched.fractions,
    )
