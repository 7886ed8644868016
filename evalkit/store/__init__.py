"""A run on disk: manifest.json, samples.jsonl (append-only), results.json."""

from evalkit.store.run_dir import (
    MANIFEST,
    RESULTS,
    SAMPLES,
    LoadedSamples,
    RunStore,
    SampleRecord,
    check_run_dir,
    iter_run_dirs,
    read_manifest,
    write_json_atomic,
)

__all__ = [
    "MANIFEST", "RESULTS", "SAMPLES", "LoadedSamples", "RunStore", "SampleRecord", "check_run_dir",
    "iter_run_dirs", "read_manifest", "write_json_atomic",
]  # fmt: skip
