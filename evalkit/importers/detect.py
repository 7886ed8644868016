"""Which harness wrote a file: walks files and folders, tells output files from their companions (metrics,
results, reports) and from anything else, and reads each output file with its format's reader."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.importers import evalkit_jsonl, evalscope, inspect_log, lighteval, lm_eval, qwen25_math, skythought
from evalkit.importers.files import first_jsonl_row, logical_name, read_json
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
# JSON documents larger than this are not opened just to see whether they are SkyThought results or inspect logs.
MAX_SNIFF_JSON_BYTES = 512 << 20


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


def _classify(path: Path) -> tuple[str | None, bool]:
    """(format or None, whether it is a companion file: metrics, results or a report read with an output)."""
    name = logical_name(path)
    if name.endswith(".jsonl"):
        row = first_jsonl_row(path)
        for module in (lm_eval, qwen25_math, evalscope, evalkit_jsonl):
            if module.claims(path, row):
                return module.NAME, False
        return None, evalscope.is_companion(path, row)
    if name.endswith(".parquet"):
        return (lighteval.NAME, False) if lighteval.claims(path) else (None, False)
    if name.endswith(".eval"):
        return inspect_log.NAME, False
    if name.endswith(".json"):
        if qwen25_math.is_companion(path) or lm_eval.is_companion(path) or evalscope.is_companion(path, None):
            return None, True
        if path.stat().st_size > MAX_SNIFF_JSON_BYTES:
            return None, False
        try:
            document = read_json(path)
        except EvalkitError:
            return None, False
        if skythought.claims(path, document):
            return skythought.NAME, False
        if inspect_log.claims(path, document):
            return inspect_log.NAME, False
    return None, False


def _files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
        return
    for candidate in sorted(path.rglob("*")):
        if candidate.is_file() and not any(part.startswith(".") for part in candidate.relative_to(path).parts):
            yield candidate


def scan(paths: Sequence[Path], fmt: str = "auto") -> Scan:
    """Every output file under the given paths (of format `fmt`, or of any format evalkit reads)."""
    if fmt != "auto" and fmt not in FORMATS:
        raise EvalkitError(f"unknown format {fmt!r}; choose auto or one of {', '.join(FORMATS)}")
    found, companions, skipped = [], [], []
    for root in paths:
        if not root.exists():
            raise EvalkitError(f"{root} does not exist; give output files or folders that hold them")
        for path in _files(root):
            detected, companion = _classify(path)
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
    return Scan(tuple(found), tuple(companions), tuple(skipped))


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
