"""Which harness wrote a file: walks files and folders, tells output files from their companions (metrics,
results, reports) and from anything else, and reads each output file with its format's reader."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.importers import evalkit_jsonl, evalscope, inspect_log, lighteval, lm_eval, qwen25_math, skythought
from evalkit.importers.files import first_line_keys, json_outline, logical_name
from evalkit.importers.source import SourceRun

FORMATS = {
    qwen25_math.NAME: qwen25_math.HARNESS,
    skythought.NAME: skythought.HARNESS,
    lm_eval.NAME: lm_eval.HARNESS,
    lighteval.NAME: lighteval.HARNESS,
    inspect_log.NAME: inspect_log.HARNESS,
    evalscope.NAME: evalscope.HARNESS,
    evalkit_jsonl.NAME: evalkit_jsonl.HARNESS,
}


@dataclass(frozen=True)
class Found:
    """An output file, the path it was found under (model names are taken relative to it) and its format."""

    path: Path
    root: Path
    format: str


@dataclass(frozen=True)
class Scan:
    found: tuple[Found, ...]
    companions: tuple[Path, ...]
    skipped: tuple[Path, ...]
    # Files whose format could not even be told (a damaged archive), with the one-line reason.
    unreadable: tuple[tuple[Path, str], ...] = ()
    # Symbolic links inside a folder given that lead out of it: not followed.
    outside: tuple[Path, ...] = ()


def _classify(path: Path) -> tuple[str | None, bool]:
    """(format or None, whether it is a companion file: metrics, results or a report read with an output).
    Only a bounded prefix of the file is read (`files.DETECT_BYTES` of its decompressed content)."""
    name = logical_name(path)
    if name.endswith(".jsonl"):
        keys = first_line_keys(path)
        for module in (lm_eval, qwen25_math, evalscope, evalkit_jsonl):
            if module.claims(path, keys):
                return module.NAME, False
        return None, evalscope.is_companion(path, keys)
    if name.endswith(".parquet"):
        return (lighteval.NAME, False) if lighteval.claims(path) else (None, False)
    if name.endswith(".eval"):
        return inspect_log.NAME, False
    if name.endswith(".json"):
        if qwen25_math.is_companion(path) or lm_eval.is_companion(path) or evalscope.is_companion(path, None):
            return None, True
        outline = json_outline(path)
        if skythought.claims(path, outline):
            return skythought.NAME, False
        if inspect_log.claims(path, outline):
            return inspect_log.NAME, False
    return None, False


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except (ValueError, OSError, RuntimeError):  # elsewhere, or a loop of links
        return False
    return True


def _files(root: Path, outside: list[Path]) -> Iterable[Path]:
    """The files under `root` (hidden ones left out), in a stable order. Symbolic links are followed only while
    they stay inside `root` (a link to ~/.ssh in a downloaded folder is not read); the others go to `outside`."""
    if root.is_file():
        yield root
        return
    folder = root.resolve()
    files = []
    for top, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(top)
        for name in [d for d in dirs if (here / d).is_symlink()]:
            dirs.remove(name)  # os.walk does not descend into linked folders; one leading outside is said
            if not _inside(here / name, folder):
                outside.append(here / name)
        for name in sorted(names):
            candidate = here / name
            if name.startswith(".") or not candidate.is_file():
                continue
            if candidate.is_symlink() and not _inside(candidate, folder):
                outside.append(candidate)
                continue
            files.append(candidate)
    yield from sorted(files)


def scan(paths: Sequence[Path], fmt: str = "auto") -> Scan:
    """Every output file under the given paths (of format `fmt`, or of any format evalkit reads)."""
    if fmt != "auto" and fmt not in FORMATS:
        raise EvalkitError(f"unknown format {fmt!r}; choose auto or one of {', '.join(FORMATS)}")
    found, companions, skipped, unreadable, outside = [], [], [], [], []
    for root in paths:
        if not root.exists():
            raise EvalkitError(f"{root} does not exist; give output files or folders that hold them")
        for path in _files(root, outside):
            try:
                detected, companion = _classify(path)
            except EvalkitError as exc:
                if root.is_file():
                    raise
                unreadable.append((path, str(exc)))
                continue
            if detected is not None and (fmt == "auto" or detected == fmt):
                found.append(Found(path, root, detected))
            elif companion:
                companions.append(path)
            elif root.is_file():
                wanted = "any format evalkit reads" if fmt == "auto" else f"a {fmt} output"
                raise EvalkitError(
                    f"{path} is not {wanted}" + (f" (it looks like {detected})" if detected else "")
                    + f"; formats: {', '.join(FORMATS)}"
                )  # fmt: skip
            else:
                skipped.append(path)
    return Scan(tuple(found), tuple(companions), tuple(skipped), tuple(unreadable), tuple(sorted(outside)))


def read(found: Found) -> list[SourceRun]:
    """The runs in one output file, as its format's reader takes them out."""
    readers = {
        qwen25_math.NAME: qwen25_math.read,
        skythought.NAME: skythought.read,
        lm_eval.NAME: lm_eval.read,
        lighteval.NAME: lighteval.read,
        inspect_log.NAME: inspect_log.read,
        evalscope.NAME: evalscope.read,
        evalkit_jsonl.NAME: evalkit_jsonl.read,
    }
    return readers[found.format](found.path, found.root)
