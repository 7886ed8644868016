"""A run on disk: manifest.json, samples.jsonl and verdicts.jsonl (append-only), results.json, and the lock
that lets exactly one process write it."""

from evalkit.store.files import json_line, write_json_atomic, write_text_atomic
from evalkit.store.lock import RunLock
from evalkit.store.records import RecordError, SampleRecord, VerdictRecord
from evalkit.store.run_dir import (
    ENGINE_LOG,
    MANIFEST,
    RESULTS,
    SAMPLES,
    VERDICTS,
    RunContents,
    RunWriter,
    check_run_dir,
    iter_run_dirs,
    read_manifest,
    read_results,
    read_run,
    replace_derived_run,
)

__all__ = [
    "ENGINE_LOG", "MANIFEST", "RESULTS", "SAMPLES", "VERDICTS", "RecordError", "RunContents", "RunLock",
    "RunWriter", "SampleRecord", "VerdictRecord", "check_run_dir", "iter_run_dirs", "json_line", "read_manifest",
    "read_results", "read_run", "replace_derived_run", "write_json_atomic", "write_text_atomic",
]  # fmt: skip
