"""Imported runs on disk: the one place that turns an import into an evalkit run directory (manifest marked
`kind: imported` with its origin and stated protocol, the samples with the source's own verdicts beside evalkit's,
results with reported vs re-scored)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from evalkit.importers.compare import ImportResult
from evalkit.provenance import now_iso, package_versions

KIND = "imported"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "model"


def source_sha256(result: ImportResult) -> str:
    """A fingerprint of the files an import read (the output file and its companions), in a fixed order."""
    digest = hashlib.sha256()
    for path in (result.run.source.path, *result.run.source.companions):
        digest.update(path.name.encode("utf-8"))
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def run_dir_name(result: ImportResult, fingerprint: str) -> str:
    """`<dataset>__<model>__imported-<format>__<hash>`: stable for the same files, distinct per source run."""
    run = result.run
    # The source's own name for the model: two folders whose display names agree are still two runs.
    key = f"{fingerprint}:{run.source.model}:{run.source.protocol.get('temperature')}:{run.source.task}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    return f"{run.dataset.name}__{_slug(run.model)}__{KIND}-{run.source.format}__{digest}"


def manifest(result: ImportResult, fingerprint: str, trained_reward: str | None = None) -> dict[str, Any]:
    run, source = result.run, result.run.source
    protocol = run.protocol()
    stated = protocol["stated"]
    reported = source.reported
    return {
        "format": "evalkit-run/1",
        "kind": KIND,
        "model": run.model,
        "checkpoint_step": run.checkpoint_step,
        "labels": {
            k: v
            for k, v in {"family": run.family, "run_name": run.run_name, "trained_reward": trained_reward}.items()
            if v
        },
        "preset": None,
        "origin": {
            "path": str(source.path),
            "model": source.model,
            "format": source.format,
            "harness": source.harness,
            "task": source.task,
            "companions": [str(p) for p in source.companions],
            "sha256": fingerprint,
        },
        "dataset": {
            "name": run.dataset.name,
            "content_sha256": run.dataset.content_sha256,
            "problems": result.report.coverage.scored,
            "origin": run.dataset.origin,
        },
        "template": {"name": stated.get("prompt"), "sha256": None, "text": source.prompt_text},
        "sampling": {
            "n": run.n,
            "temperature": stated.get("temperature"),
            "top_p": stated.get("top_p"),
            "max_tokens": stated.get("max_tokens"),
            "seed": stated.get("seed"),
        },
        "protocol": protocol,
        "reported": None
        if reported is None
        else {
            "metric": reported.metric,
            "value": reported.value,
            "file": reported.file,
            "note": reported.note,
        },  # fmt: skip
        "findings": [f.to_dict() for f in run.findings],
        "import": {"lines": len(source.items), "matched": run.matched, "unmatched": list(run.unmatched)},
        "verifier": result.report.rules,
        "backend": {"kind": f"none (imported from {source.harness} outputs)"},
        "versions": package_versions(),
        "created_at": now_iso(),
    }


def results(result: ImportResult) -> dict[str, Any]:
    metrics = result.report.metrics
    reported = result.run.source.reported
    return {
        "format": "evalkit-results/1",
        "model": result.run.model,
        "dataset": result.run.dataset.name,
        "verifier": result.report.rules,
        "metrics": metrics.to_dict(),
        "coverage": {"scored": result.report.coverage.scored, "total": result.report.coverage.total},
        "reported_vs_rescored": {
            "reported": None if reported is None else reported.value,
            "reported_metric": None if reported is None else reported.metric,
            "rescored": round(result.rescored, 2),
            "difference": result.difference,
            "source_verdicts_avg": None if result.source_avg is None else round(100 * result.source_avg, 2),
            "judged": result.judged,
            "disagreements": [d.to_dict() for d in result.disagreements],
        },
        "updated_at": now_iso(),
    }


def write_imported_run(result: ImportResult, output_dir: Path, trained_reward: str | None = None) -> Path:
    """Write one imported run under `output_dir` and return its directory (labelled with the reward rule its model
    was trained on, when given).

    The directory is derived from the source files, so importing them again rewrites it whole; a directory that
    holds a run of another kind is refused.
    """
    from evalkit.store import SampleRecord, VerdictRecord, replace_derived_run

    fingerprint = source_sha256(result)
    run_dir = output_dir / run_dir_name(result, fingerprint)
    rules = result.report.rules
    verdicts = {(s.problem_id, s.sample_index): s.verdict for s in result.report.samples}
    records, verdict_records = [], []
    for sample in result.run.samples:
        response = sample.response
        source = None
        if response.extracted is not None or response.correct is not None:
            source = {"extracted": response.extracted, "correct": response.correct}
        records.append(
            SampleRecord(
                problem_id=sample.problem_id,
                sample_index=sample.sample_index,
                text=response.text,
                finish_reason=response.finish_reason,
                prompt_tokens=response.prompt_tokens,
                output_tokens=response.output_tokens,
                seed=None,
                tokens_exact=response.output_tokens is not None,
                reasoning=response.reasoning,
                source=source,
            )
        )
        verdict = verdicts[(sample.problem_id, sample.sample_index)].to_dict()
        verdict_records.append(VerdictRecord(sample.problem_id, sample.sample_index, rules, verdict))
    replace_derived_run(
        run_dir, manifest(result, fingerprint, trained_reward), records, verdict_records, results(result)
    )
    return run_dir
