"""A run directory: manifest.json (what was run), samples.jsonl (append-only, one line per completion, written
the moment it arrives), verdicts.jsonl (append-only, one line per verdict under a named rule set, written as the
verifier decides), results.json (metrics), engine.log (what the engine printed).

Exactly one process writes a run (the RunWriter, which holds the directory's lock); everything else only reads,
and a reader never changes what it reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from evalkit.errors import EvalkitError
from evalkit.store.files import write_json_atomic
from evalkit.store.lock import RunLock
from evalkit.store.records import RecordError, SampleRecord, VerdictRecord

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
VERDICTS = "verdicts.jsonl"
RESULTS = "results.json"
ENGINE_LOG = "engine.log"
# fsync at most this often: flush() already survives a killed process; fsync guards against a lost machine.
FSYNC_INTERVAL_S = 1.0


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise EvalkitError(f"{path} is not UTF-8 text; it is not an evalkit {what}") from None
    except json.JSONDecodeError as exc:
        raise EvalkitError(
            f"{path} is damaged ({exc.msg} at line {exc.lineno}); the samples beside it are intact"
        ) from None
    except IsADirectoryError:
        raise EvalkitError(f"{path} is a folder, not an evalkit {what}") from None
    except RecursionError:
        raise EvalkitError(
            f"{path} is damaged (JSON nested thousands deep); the samples beside it are intact"
        ) from None
    if not isinstance(data, dict):
        raise EvalkitError(f"{path} is damaged (not a JSON object); the samples beside it are intact")
    return data


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not path.exists():
        raise EvalkitError(f"{run_dir} is not an evalkit run directory (no {MANIFEST})")
    manifest = _read_json_object(path, "manifest")
    for key in ("model", "dataset"):
        if key not in manifest:
            raise EvalkitError(f"{path} is damaged (no `{key}`); the samples beside it are intact")
    return manifest


def read_results(run_dir: Path) -> dict[str, Any] | None:
    """results.json, or None when the run has none yet."""
    path = run_dir / RESULTS
    if not path.exists():
        return None
    results = _read_json_object(path, "results file")
    if not isinstance(results.get("metrics"), dict):
        raise EvalkitError(f"{path} is damaged (no metrics); rerun the run (it resumes) to write it again")
    return results


@dataclass(frozen=True)
class RunContents:
    """What a run directory holds, as read: samples in file order (first copy of each kept), verdicts by rule set."""

    run_dir: Path
    samples: tuple[SampleRecord, ...]
    verdicts: dict[str, dict[tuple[str, int], dict[str, Any]]] = field(default_factory=dict)
    partial_line: bool = False
    duplicates: int = 0

    def verdicts_for(self, rules: str) -> dict[tuple[str, int], dict[str, Any]]:
        return self.verdicts.get(rules, {})

    def unverified(self, rules: str) -> list[SampleRecord]:
        have = self.verdicts_for(rules)
        return [s for s in self.samples if s.key not in have]


def _lines(path: Path) -> tuple[list[tuple[int, str]], bool]:
    """Complete lines with their numbers, and whether a half-written last line (a crash mid-write) was left out."""
    if not path.exists():
        return [], False
    data = path.read_bytes()
    partial = bool(data) and not data.endswith(b"\n")
    if partial:
        data = data[: data.rfind(b"\n") + 1]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EvalkitError(f"{path}:{line} is not UTF-8 text; the file was edited or damaged") from None
    return [(n, line) for n, line in enumerate(text.split("\n")[:-1], start=1) if line.strip()], partial


def _parse(path: Path, number: int, line: str, reader: Callable[[Any], Any]) -> Any:
    try:
        return reader(json.loads(line))
    except RecursionError:
        raise EvalkitError(
            f"{path}:{number} is not a valid record (JSON nested thousands deep); the file was edited "
            "or damaged. Move that line out of the file (nothing else is affected) and rerun"
        ) from None
    except (json.JSONDecodeError, RecordError) as exc:
        raise EvalkitError(
            f"{path}:{number} is not a valid record ({exc}); the file was edited or damaged. Move that line out of "
            "the file (nothing else is affected) and rerun"
        ) from None


def read_run(run_dir: Path, legacy_rules: str | None = None) -> RunContents:
    """Read samples and verdicts without changing anything (a run may be appending to them right now).

    Verdicts stored inside sample lines (runs written before verdicts.jsonl existed) count as verdicts of
    `legacy_rules`, the rule set the manifest names.
    """
    samples_path = run_dir / SAMPLES
    sample_lines, partial = _lines(samples_path)
    samples: dict[tuple[str, int], SampleRecord] = {}
    duplicates = 0
    verdicts: dict[str, dict[tuple[str, int], dict[str, Any]]] = {}
    for number, line in sample_lines:
        record = _parse(samples_path, number, line, SampleRecord.from_dict)
        if record.key in samples:
            duplicates += 1
            continue
        samples[record.key] = record
        if record.verdict is not None and legacy_rules is not None:
            verdicts.setdefault(legacy_rules, {})[record.key] = record.verdict
    verdicts_path = run_dir / VERDICTS
    verdict_lines, _ = _lines(verdicts_path)
    for number, line in verdict_lines:
        verdict = _parse(verdicts_path, number, line, VerdictRecord.from_dict)
        if verdict.key in samples:
            verdicts.setdefault(verdict.rules, {})[verdict.key] = verdict.verdict  # the latest line wins
    return RunContents(run_dir, tuple(samples.values()), verdicts, partial, duplicates)


def check_run_dir(run_dir: Path, ident_sha256: str, ident: dict[str, Any]) -> None:
    """Refuse early (before an engine starts) a run directory that belongs to other settings."""
    from evalkit.config import identity_differences

    if run_dir.exists() and not run_dir.is_dir():
        raise EvalkitError(f"{run_dir} is a file, not a run directory; choose another --output-dir / --run-dir")
    if (run_dir / MANIFEST).is_file():
        previous = read_manifest(run_dir)
        if previous.get("kind", "measured") != "measured":
            raise EvalkitError(
                f"{run_dir} holds {previous.get('kind')} samples, not a run; choose another --output-dir / --run-dir"
            )
        if previous.get("identity_sha256") != ident_sha256:
            changes = identity_differences(previous.get("identity", {}), ident)
            if changes:
                raise EvalkitError(
                    f"{run_dir} holds a run with different settings ({'; '.join(changes)}); "
                    "choose another --output-dir / --run-dir, or delete that directory to start over"
                )
    elif (run_dir / SAMPLES).exists():
        raise EvalkitError(f"{run_dir} has samples but no {MANIFEST}; refusing to mix runs")


class AppendFailed(EvalkitError):
    """A line could not be appended (a full disk, a quota, a file system gone read-only); every line before it is
    on disk."""


class _AppendFile:
    """One append-only JSONL file: every line written to the OS before `append` returns, fsync at most once a
    second (and at close). Written unbuffered, so a failed write leaves nothing in a buffer to be flushed (or to
    fail again) at close: a crash or a full disk leaves at most one half-written last line, which the next writer
    cuts off."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self._file: IO[bytes] | None = None
        self._last_fsync = 0.0
        self._failed = False

    def trim_partial_line(self) -> bool:
        """Cut a half-written last line off (a crash mid-write); only the run's writer may do this."""
        if not self.path.exists():
            return False
        with open(self.path, "r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return False
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return False
            # Walk back to the last newline in blocks (the file may be large).
            position = size
            while position > 0:
                start = max(0, position - 65536)
                handle.seek(start)
                block = handle.read(position - start)
                newline = block.rfind(b"\n")
                if newline != -1:
                    handle.truncate(start + newline + 1)
                    return True
                position = start
            handle.truncate(0)
            return True

    def append(self, line: str) -> None:
        try:
            if self._file is None:
                self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 (held open for the run)
            data = memoryview(line.encode("utf-8"))
            while data:  # a write to a nearly full disk may take part of the line
                data = data[self._file.write(data) :]
            now = time.monotonic()
            if now - self._last_fsync >= FSYNC_INTERVAL_S:
                os.fsync(self._file.fileno())
                self._last_fsync = now
        except OSError as error:
            self._failed = True
            raise self._failure(error) from None

    def _failure(self, error: OSError) -> AppendFailed:
        return AppendFailed(
            f"cannot write {self.path}: {error.strerror or error}; every {self.what} before this one is saved in it. "
            "Free some space (or fix the file system) and rerun the same command: it resumes from there"
        )

    def close(self) -> None:
        if self._file is not None:
            try:
                if not self._failed:  # after a failed write, syncing would only fail again
                    os.fsync(self._file.fileno())
            except OSError as error:
                raise self._failure(error) from None
            finally:
                self._file.close()
                self._file = None


class RunWriter:
    """The one process writing a run directory: it holds the directory's lock from `open` to `close`.

    Samples and verdicts go to separate append-only files, so the generating thread and the verifying thread
    never share a file handle.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.lock = RunLock(run_dir)
        self._samples = _AppendFile(run_dir / SAMPLES, "sample")
        self._verdicts = _AppendFile(run_dir / VERDICTS, "verdict")

    @property
    def samples_path(self) -> Path:
        return self._samples.path

    def open(self, wait: bool = False, on_wait: Callable[[str], None] = lambda message: None) -> bool:
        """Take the lock (refusing, or waiting, while another process holds it). Returns whether a half-written
        last line was cut off the samples (a crash mid-write)."""
        self.lock.acquire(wait=wait, on_wait=on_wait)
        try:
            self._verdicts.trim_partial_line()
            return self._samples.trim_partial_line()
        except BaseException:
            self.lock.release()
            raise

    def read(self, legacy_rules: str | None = None) -> RunContents:
        return read_run(self.run_dir, legacy_rules)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.run_dir / MANIFEST, manifest)

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.run_dir / RESULTS, results)

    def append_sample(self, record: SampleRecord) -> None:
        """Write one sample and flush it to the OS before returning."""
        self._samples.append(record.to_json())

    def append_verdict(self, record: VerdictRecord) -> None:
        self._verdicts.append(record.to_json())

    def close(self, remove_if_unused: bool = False) -> None:
        """Close the files and release the lock; with `remove_if_unused`, first remove the directory if the run
        never started in it (nothing in it but the lock file), so a refused start leaves nothing behind."""
        from evalkit.store.lock import LOCK_FILE

        try:
            self._samples.close()
            self._verdicts.close()
            if remove_if_unused and self.lock.held:
                with contextlib.suppress(OSError):
                    if {p.name for p in self.run_dir.iterdir()} <= {LOCK_FILE}:
                        (self.run_dir / LOCK_FILE).unlink()
                        self.run_dir.rmdir()
        finally:
            self.lock.release()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_run_dirs(paths: list[Path]) -> Iterator[Path]:
    """Run directories named directly or found (by their manifest) anywhere below the given paths."""
    seen: set[Path] = set()
    for path in paths:
        candidates = [path] if (path / MANIFEST).is_file() else sorted(p.parent for p in path.rglob(MANIFEST))
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield candidate


def replace_derived_run(
    run_dir: Path,
    manifest: dict[str, Any],
    samples: list[SampleRecord],
    verdicts: list[VerdictRecord],
    results: dict[str, Any],
) -> None:
    """Write a run made from samples that exist elsewhere (scored generations, another harness's outputs) whole.

    Such a run is derived from its source, which stays the record, so it is rewritten in full each time, under
    the lock and file by file atomically. Only a run of the same kind is replaced: a generated run (kind
    "measured") is never overwritten.
    """
    from evalkit.store.files import write_text_atomic

    if run_dir.exists() and not run_dir.is_dir():
        raise EvalkitError(f"{run_dir} is a file; give a folder to write the run into")
    kind = manifest.get("kind")
    with RunLock(run_dir):
        if (run_dir / MANIFEST).is_file():
            existing = read_manifest(run_dir).get("kind", "measured")
            if existing != kind:
                raise EvalkitError(
                    f"{run_dir} holds a run of kind {existing!r}, not {kind!r}; write this one to another directory"
                )
        elif (run_dir / SAMPLES).exists():
            raise EvalkitError(f"{run_dir} has samples but no {MANIFEST}; write this run to another directory")
        write_text_atomic(run_dir / SAMPLES, "".join(s.to_json() for s in samples))
        write_text_atomic(run_dir / VERDICTS, "".join(v.to_json() for v in verdicts))
        write_json_atomic(run_dir / MANIFEST, manifest)
        write_json_atomic(run_dir / RESULTS, results)
