"""A run's manifest and results checked to hold what the tables, the page and the samples pages read from them, as
evalkit writes them: text where text goes, finite numbers where numbers go, a known kind. A run damaged by hand or
written by something else is refused here, in one line, instead of breaking a page or putting its text in markup."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from evalkit.fields import shown

# The kinds of run evalkit writes; reported rows come from presets, never from a run directory.
RUN_KINDS = ("measured", "imported", "scored-generations")


class DamagedRun(ValueError):
    """A field of a run's manifest or results that is not what evalkit writes there."""


def _fail(where: str, value: Any, what: str) -> DamagedRun:
    return DamagedRun(f"{where} is {shown(value)}, not {what}")


def _text(value: Any, where: str, optional: bool = True) -> None:
    if not (isinstance(value, str) or (optional and value is None)):
        raise _fail(where, value, "text")


def _number(value: Any, where: str, optional: bool = True) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, value, "a finite number")


def _whole(value: Any, where: str, optional: bool = True, least: int = 0) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise _fail(where, value, f"a whole number of at least {least}")


def _mapping(value: Any, where: str, optional: bool = False) -> Mapping[str, Any]:
    if optional and value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(where, value, "an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, value, "a list")
    return value


def check_manifest(manifest: Mapping[str, Any]) -> None:
    """Raises DamagedRun naming the first field the reports cannot use as it is."""
    kind = manifest.get("kind", "measured")
    if kind not in RUN_KINDS:
        raise _fail("kind", kind, f"one of {', '.join(RUN_KINDS)}")
    _text(manifest.get("model"), "model", optional=False)
    dataset = _mapping(manifest.get("dataset"), "dataset")
    _text(dataset.get("name"), "dataset.name", optional=False)
    _text(dataset.get("content_sha256"), "dataset.content_sha256")
    sampling = _mapping(manifest.get("sampling"), "sampling")
    _whole(sampling.get("n"), "sampling.n", optional=False, least=1)
    for key in ("temperature", "top_p"):
        _number(sampling.get(key), f"sampling.{key}")
    for key in ("max_tokens", "seed"):
        _whole(sampling.get(key), f"sampling.{key}")
    template = _mapping(manifest.get("template"), "template")
    for key in ("name", "sha256", "text"):
        _text(template.get(key), f"template.{key}")
    for key, value in _mapping(manifest.get("labels"), "labels", optional=True).items():
        _text(value, f"labels.{key}")
    _whole(manifest.get("checkpoint_step"), "checkpoint_step")
    for key in ("verifier", "preset"):
        _text(manifest.get(key), key)
    origin = manifest.get("origin")
    if isinstance(origin, Mapping):
        for key in ("harness", "format", "path", "task"):
            _text(origin.get(key), f"origin.{key}")
    else:
        _text(origin, "origin")
    for number, finding in enumerate(_list(manifest.get("findings"), "findings"), start=1):
        finding = _mapping(finding, f"finding {number}")
        _text(finding.get("kind"), f"finding {number}'s kind", optional=False)
        _text(finding.get("message"), f"finding {number}'s message", optional=False)
    reported = _mapping(manifest.get("reported"), "reported", optional=True)
    if reported:
        _number(reported.get("value"), "reported.value", optional=False)
        _text(reported.get("metric"), "reported.metric", optional=False)
    for key, value in _mapping(manifest.get("versions"), "versions", optional=True).items():
        _text(value, f"versions.{key}")
    _text(_mapping(manifest.get("backend"), "backend", optional=True).get("kind"), "backend.kind")


def _rates(value: Any, where: str) -> None:
    for k, rate in _mapping(value, where).items():
        if not str(k).isdigit():
            raise _fail(f"a key of {where}", k, "a number of samples")
        _number(rate, f"{where}.{k}", optional=False)


def check_results(results: Mapping[str, Any]) -> None:
    """Raises DamagedRun naming the first field the reports cannot use as it is."""
    metrics = _mapping(results.get("metrics"), "metrics")
    _whole(metrics.get("n"), "metrics.n", optional=False, least=1)
    _number(metrics.get("avg"), "metrics.avg", optional=False)
    interval = _mapping(metrics.get("avg_ci"), "metrics.avg_ci")
    _number(interval.get("low"), "metrics.avg_ci.low", optional=False)
    _number(interval.get("high"), "metrics.avg_ci.high", optional=False)
    _rates(metrics.get("pass_at"), "metrics.pass_at")
    _rates(metrics.get("maj_at"), "metrics.maj_at")
    _whole(metrics.get("samples"), "metrics.samples", optional=False, least=1)
    _whole(metrics.get("truncated"), "metrics.truncated")
    _whole(metrics.get("problems"), "metrics.problems")
    _number(metrics.get("mean_output_tokens"), "metrics.mean_output_tokens")
    for number, entry in enumerate(_list(metrics.get("per_problem"), "metrics.per_problem"), start=1):
        where = f"metrics.per_problem {number}"
        entry = _mapping(entry, where)
        _text(entry.get("problem_id"), f"{where}'s problem_id", optional=False)
        _whole(entry.get("n"), f"{where}'s n", optional=False, least=1)
        _whole(entry.get("correct"), f"{where}'s correct", optional=False)
        _number(entry.get("solve_rate"), f"{where}'s solve_rate", optional=False)
        _text(entry.get("majority_answer"), f"{where}'s majority_answer")
    _number(results.get("cost_usd"), "cost_usd")
    compared = _mapping(results.get("reported_vs_rescored"), "reported_vs_rescored", optional=True)
    for key in ("reported", "rescored", "difference", "source_verdicts_avg"):
        _number(compared.get(key), f"reported_vs_rescored.{key}")
    if compared.get("reported") is not None:
        _number(compared.get("difference"), "reported_vs_rescored.difference", optional=False)
    _text(compared.get("reported_metric"), "reported_vs_rescored.reported_metric")
    _whole(compared.get("judged"), "reported_vs_rescored.judged")
    _list(compared.get("disagreements"), "reported_vs_rescored.disagreements")
