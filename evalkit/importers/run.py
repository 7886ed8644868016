"""`evalkit import`: find output files, read each into runs, match, verify, compare, write one run directory each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.data.datasets import Dataset
from evalkit.errors import EvalkitError
from evalkit.fields import shown
from evalkit.importers import detect
from evalkit.importers.assemble import NothingToImport, assemble
from evalkit.importers.compare import ImportResult, rescore
from evalkit.importers.source import SourceRun
from evalkit.importers.write import write_imported_run
from evalkit.verify import DEFAULT_TIMEOUT_S, Verifier


@dataclass(frozen=True)
class SkippedRun:
    """A source run that was read but not imported, or a file that could not be read (model ""), and why."""

    path: Path
    model: str
    reason: str


@dataclass(frozen=True)
class ImportSummary:
    results: tuple[ImportResult, ...]
    run_dirs: tuple[Path | None, ...]  # one per result; None when nothing was written (dry run)
    skipped_runs: tuple[SkippedRun, ...]
    companions: tuple[Path, ...]
    skipped_files: tuple[Path, ...]
    outside: tuple[Path, ...] = ()  # symbolic links that lead out of a folder given: not followed


def read_source(found: detect.Found) -> list[SourceRun]:
    """The runs in one output file; a file whose structure is not what its format writes is refused in one line."""
    try:
        return detect.read(found)
    except (TypeError, AttributeError, KeyError, IndexError, ValueError, RecursionError) as exc:
        # The readers check what they use; this is for the shapes no format writes (a list where an object goes).
        harness = detect.FORMATS[found.format]
        raise EvalkitError(f"{found.path} is not laid out as {harness} writes its outputs ({type(exc).__name__}: "
                           f"{shown(str(exc), 80)}); is it damaged?") from None  # fmt: skip


def import_outputs(
    paths: Sequence[Path],
    dataset: Dataset,
    output_dir: Path | None,
    fmt: str = "auto",
    rules: str = "math",
    family: str | None = None,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    trained_reward: str | None = None,
) -> ImportSummary:
    """Import every output file found under `paths` as runs on `dataset`; write them under `output_dir` if given.

    `trained_reward` labels every run with the reward rule its model was trained on.
    """
    scan = detect.scan(paths, fmt)
    if not scan.found and not scan.unreadable:
        looked = ", ".join(map(str, paths))
        raise EvalkitError(
            f"no output file of {'any known format' if fmt == 'auto' else fmt} under {looked}; "
            f"formats: {', '.join(detect.FORMATS)}"
        )
    results, run_dirs = [], []
    # A file that cannot be read is said and left out; the other files of a folder are imported all the same.
    skipped = [SkippedRun(path, "", reason) for path, reason in scan.unreadable]
    with Verifier(rules, workers=workers, timeout=timeout) as verifier:
        for found in scan.found:
            try:
                sources = read_source(found)
            except EvalkitError as exc:
                if found.root.is_file() and len(paths) == 1:
                    raise
                skipped.append(SkippedRun(found.path, "", str(exc)))
                continue
            for source in sources:
                try:
                    imported = assemble(source, dataset, family=family)
                except NothingToImport as exc:
                    skipped.append(SkippedRun(source.path, source.model, str(exc)))
                    continue
                result = rescore(imported, verifier)
                results.append(result)
                run_dirs.append(
                    write_imported_run(result, output_dir, trained_reward) if output_dir is not None else None
                )
    return ImportSummary(tuple(results), tuple(run_dirs), tuple(skipped), scan.companions, scan.skipped, scan.outside)
