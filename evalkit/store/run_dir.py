"""A run on disk: manifest.json (what was run), samples.jsonl (append-only, one line per completion with
its verdict), results.json (metrics). Every sample is flushed to the file before the next is awaited."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
RESULTS = "results.json"
FORMAT_VERSION = 1
# fsync at most this often: flush() already survives a killed process; fsync guards against a lost machine.
FSYNC_INTERVAL_S = 1.0


@dataclass(frozen=True)
class SampleRecord:
    """One completion as stored: the text, how it ended, its token counts, its seed, and its verdict."""

    problem_id: str
    sample_index: int
    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    output_tokens: int | None
    seed: int | None
    verdict: dict[str, Any] | None
    tokens_exact: bool = True
    reasoning: str | None = None
    reasoning_tokens: int | None = None
    # Imported runs only: the source harness's own extracted answer and verdict for this sample.
    source: dict[str, Any] | None = None

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleRecord:
        return cls(
            problem_id=str(data["problem_id"]),
            sample_index=int(data["sample_index"]),
            text=data["text"],
            finish_reason=data.get("finish_reason"),
            prompt_tokens=data.get("prompt_tokens"),
            output_tokens=data.get("output_tokens"),
            seed=data.get("seed"),
            verdict=data.get("verdict"),
            tokens_exact=data.get("tokens_exact", True),
            reasoning=data.get("reasoning"),
            reasoning_tokens=data.get("reasoning_tokens"),
            source=data.get("source"),
        )


@dataclass(frozen=True)
class LoadedSamples:
    records: tuple[SampleRecord, ...]
    dropped_partial_line: bool
    duplicates: int


def write_json_atomic(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2, ensure_ascii=False)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalkitError(f"{run_dir} is not an evalkit run directory (no {MANIFEST})") from None
    except json.JSONDecodeError as exc:
        raise EvalkitError(f"{path} is damaged ({exc.msg}); the samples next to it are intact") from None


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [
        f"{key} {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def check_run_dir(run_dir: Path, ident_sha256: str, ident: dict[str, Any]) -> None:
    """Refuse early (before an engine starts) a run directory that belongs to other settings."""
    if (run_dir / MANIFEST).is_file():
        previous = read_manifest(run_dir)
        if previous.get("identity_sha256") != ident_sha256:
            changes = "; ".join(_differences(previous.get("identity", {}), ident))
            raise EvalkitError(
                f"{run_dir} holds a run with different settings ({changes}); "
                "choose another --output-dir / --run-dir, or delete that directory to start over"
            )


class RunStore:
    """Owns one run directory. Open it with the run's identity: a directory made for another one is refused."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._file = None
        self._last_fsync = 0.0

    @property
    def samples_path(self) -> Path:
        return self.run_dir / SAMPLES

    def open(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """Create the run directory, or check that an existing one holds this identity. Returns the old manifest."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / MANIFEST
        previous = None
        if path.exists():
            check_run_dir(self.run_dir, manifest["identity_sha256"], manifest["identity"])
            previous = read_manifest(self.run_dir)
            manifest = {**manifest, "created_at": previous.get("created_at", manifest.get("created_at"))}
        elif self.samples_path.exists():
            raise EvalkitError(f"{self.run_dir} has samples but no {MANIFEST}; refusing to mix runs")
        write_json_atomic(path, manifest)
        return previous

    def load(self) -> LoadedSamples:
        """Read stored samples. A half-written last line (a crash mid-write) is cut off the file with a notice."""
        path = self.samples_path
        if not path.exists():
            return LoadedSamples((), False, 0)
        data = path.read_bytes()
        dropped = False
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            data = data[:cut]
            with open(path, "r+b") as handle:
                handle.truncate(cut)
            dropped = True
        records: dict[tuple[str, int], SampleRecord] = {}
        duplicates = 0
        for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = SampleRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise EvalkitError(
                    f"{path}:{number} is not a sample record; the file was edited or damaged. Move that line "
                    "out of the file (nothing else is affected) and rerun"
                ) from None
            key = (record.problem_id, record.sample_index)
            if key in records:
                duplicates += 1
                continue
            records[key] = record
        return LoadedSamples(tuple(records.values()), dropped, duplicates)

    def append(self, record: SampleRecord) -> None:
        """Write one sample and flush it to the OS before returning."""
        if self._file is None:
            self._file = open(self.samples_path, "a", encoding="utf-8")  # noqa: SIM115 (held open for the run)
        self._file.write(record.to_json() + "\n")
        self._file.flush()
        now = time.monotonic()
        if now - self._last_fsync >= FSYNC_INTERVAL_S:
            os.fsync(self._file.fileno())
            self._last_fsync = now

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.run_dir / RESULTS, results)

    def update_manifest(self, changes: dict[str, Any]) -> None:
        manifest = read_manifest(self.run_dir)
        manifest.update(changes)
        write_json_atomic(self.run_dir / MANIFEST, manifest)

    def __enter__(self) -> RunStore:
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
