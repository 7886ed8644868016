"""evalscope's outputs: reviews (one line per sample: the messages, the target, and `sample_score` with its
extracted prediction, verdict, problem `group_id` and `generation_index`), predictions (the same samples with the
model's raw output: choices, stop reason, token usage) and a report with the score it reported. Either evalscope's
own layout (`reviews/<model>/<dataset>_<subset>.jsonl`, `predictions/...`, `reports/<model>/<dataset>.json`) or
the same files side by side as `reviews_<dataset>_<subset>.jsonl`, `predictions_...`, `report_<dataset>.json`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.fields import TokenCounts, finite_number, text_or_none
from evalkit.importers.files import existing, first_line_keys, iter_jsonl, logical_name, read_json
from evalkit.importers.source import Reported, SourceItem, SourceResponse, SourceRun

NAME = "evalscope"
HARNESS = "evalscope"
REVIEW_FIELDS = {"index", "sample_score"}
PREDICTION_FIELDS = {"index", "model_output", "messages"}


def _key(path: Path, kind: str) -> str:
    """`<dataset>_<subset>` of a reviews or predictions file, whichever layout."""
    stem = logical_name(path)[: -len(".jsonl")]
    prefix = f"{kind}_"
    return stem[len(prefix) :] if stem.startswith(prefix) else stem


def _partner(path: Path, kind: str, partner_kind: str) -> Path | None:
    """The predictions file of a reviews file or the other way round, in either layout."""
    key = _key(path, kind)
    found = existing(path.parent, f"{partner_kind}_{key}.jsonl")
    if found is None and path.parent.parent.name == kind:  # reviews/<model>/<key>.jsonl
        found = existing(path.parent.parent.parent / partner_kind / path.parent.name, f"{key}.jsonl")
    return found


def claims(path: Path, keys: frozenset[str] | None) -> bool:
    if not logical_name(path).endswith(".jsonl") or keys is None:
        return False
    if keys >= REVIEW_FIELDS:
        return True
    # Predictions stand alone only when there are no reviews for them.
    return keys >= PREDICTION_FIELDS and _partner(path, "predictions", "reviews") is None


def is_companion(path: Path, keys: frozenset[str] | None) -> bool:
    name = logical_name(path)
    if name.startswith("report_") and name.endswith(".json") or path.parent.parent.name == "reports":
        return True
    return keys is not None and keys >= PREDICTION_FIELDS


def _report_file(path: Path, kind: str) -> Path | None:
    dataset = _key(path, kind).rsplit("_", 1)[0]
    found = existing(path.parent, f"report_{dataset}.json")
    if found is None and path.parent.parent.name == kind:
        found = existing(path.parent.parent.parent / "reports" / path.parent.name, f"{dataset}.json")
    return found


def _assistant_text(messages: Any) -> str | None:
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "assistant" and isinstance(message.get("content"), str):
            return message["content"]
    return None


def _user_text(messages: Any) -> str | None:
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return None


def _prediction_facts(row: dict[str, Any], token_counts: TokenCounts, where: str) -> dict[str, Any]:
    output = row.get("model_output") or {}
    choices = output.get("choices") or []
    choice = choices[0] if choices else {}
    usage = output.get("usage") or {}
    stop = text_or_none(choice.get("stop_reason"))
    content = (choice.get("message") or {}).get("content")
    return {
        "text": content if isinstance(content, str) else None,
        "finish_reason": {"max_tokens": "length"}.get(stop, stop) if stop else None,
        "prompt_tokens": token_counts.read(usage.get("input_tokens"), where),
        "output_tokens": token_counts.read(usage.get("output_tokens"), where),
        "choices": len(choices),
        "model": row.get("model"),
    }


@dataclass
class _Group:
    """One problem's samples as evalscope grouped them."""

    prompt: str | None
    gold: str | None
    samples: list[tuple[int, SourceResponse]] = field(default_factory=list)


def _review_response(row: dict[str, Any], facts: dict[str, Any]) -> SourceResponse:
    score = (row.get("sample_score") or {}).get("score") or {}
    value = score.get("value")
    main = score.get("main_score_name") or (next(iter(value)) if isinstance(value, dict) and value else None)
    verdict = value.get(main) if isinstance(value, dict) and main else value
    extracted = score.get("extracted_prediction")
    return SourceResponse(
        text=str(_assistant_text(row.get("messages")) or score.get("prediction") or facts.get("text") or ""),
        finish_reason=facts.get("finish_reason"),
        prompt_tokens=facts.get("prompt_tokens"),
        output_tokens=facts.get("output_tokens"),
        extracted=None if extracted is None else str(extracted),
        correct=verdict >= 1 if isinstance(verdict, (int, float)) else None,
    )


def _from_reviews(path: Path, predictions: dict[Any, dict[str, Any]]) -> dict[Any, _Group]:
    groups: dict[Any, _Group] = {}
    for _, row in iter_jsonl(path):
        sample = row.get("sample_score") or {}
        target = row.get("target")
        gold = target[0] if isinstance(target, list) and target else target
        fresh = _Group(_user_text(row.get("messages")), None if gold is None else str(gold))
        group = groups.setdefault(sample.get("group_id", row.get("index")), fresh)
        response = _review_response(row, predictions.get(row.get("index"), {}))
        group.samples.append((int(sample.get("generation_index") or 0), response))
    return groups


def _from_predictions(path: Path, token_counts: TokenCounts) -> dict[Any, _Group]:
    """Predictions alone: no group ids and no verdicts; a problem's samples are those sent the same prompt."""
    groups: dict[Any, _Group] = {}
    for number, row in iter_jsonl(path):
        facts = _prediction_facts(row, token_counts, f"{path.name}:{number}")
        prompt = _user_text(row.get("messages"))
        group = groups.setdefault(prompt, _Group(prompt, None))
        response = SourceResponse(facts["text"] or "", facts["finish_reason"], facts["prompt_tokens"],
                                  facts["output_tokens"])  # fmt: skip
        group.samples.append((len(group.samples), response))
    return groups


def read(path: Path, root: Path) -> list[SourceRun]:
    first = first_line_keys(path)
    reviews_path = path if first is not None and first >= REVIEW_FIELDS else None
    predictions_path = _partner(path, "reviews", "predictions") if reviews_path is not None else path
    predictions: dict[Any, dict[str, Any]] = {}
    token_counts = TokenCounts()
    if predictions_path is not None:
        predictions = {row.get("index"): _prediction_facts(row, token_counts, f"{predictions_path.name}:{number}")
                       for number, row in iter_jsonl(predictions_path)}  # fmt: skip
    groups = (
        _from_reviews(reviews_path, predictions) if reviews_path is not None else _from_predictions(path, token_counts)
    )
    items = [
        SourceItem(
            line=f"group {key}",
            key=None,
            problem=None,
            prompt=group.prompt,
            gold=group.gold,
            responses=tuple(response for _, response in sorted(group.samples, key=lambda pair: pair[0])),
        )
        for key, group in groups.items()
    ]
    protocol: dict[str, Any] = {"temperature": None, "top_p": None, "max_tokens": None, "seed": None, "prompt": None}
    counts = {len(item.responses) for item in items}
    if len(counts) == 1:
        protocol["n"] = counts.pop()
    main_path = reviews_path or path
    kind = "reviews" if reviews_path is not None else "predictions"
    report_path = _report_file(main_path, kind)
    report = read_json(report_path) if report_path is not None else {}
    reported = None
    for metric in report.get("metrics") or [] if isinstance(report, dict) else []:
        if isinstance(metric, dict) and finite_number(metric.get("score")) is not None:
            name = (metric.get("identity") or {}).get("name") or metric.get("name") or "score"
            # Its report rounds scores to 4 decimals: 2 decimals of a percent.
            reported = Reported(name, 100 * metric["score"], report_path.name, "evalscope's report", decimals=2)
            break
    notes = []
    several = sum(1 for facts in predictions.values() if facts.get("choices", 1) > 1)
    if several:
        notes.append(f"{several} predictions hold several choices; evalscope scored the first of each")
    models = {facts.get("model") for facts in predictions.values() if facts.get("model")}
    model = (report.get("model_name") if isinstance(report, dict) else None) or (models.pop() if len(models) == 1
                                                                                 else path.parent.name)  # fmt: skip
    companions = tuple(p for p in (predictions_path if reviews_path is not None else None, report_path) if p)
    return [
        SourceRun(
            format=NAME,
            harness=HARNESS,
            path=main_path,
            model=str(model),
            items=tuple(items),
            protocol=protocol,
            reported=reported,
            companions=companions,
            task=_key(main_path, kind),
            notes=tuple(notes),
            keeps_answers=reviews_path is not None,
            token_count_note=token_counts.note(),
        )
    ]
