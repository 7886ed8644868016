"""What a run costs on a priced API: tokens times USD per million tokens, before (worst case) and after.

Prompt tokens are counted once per sample: what APIs bill when every sample is its own request, and an upper
bound when n samples shared one request. Output tokens include the reasoning tokens, which are billed alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

PER = 1_000_000


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float

    @classmethod
    def of(cls, price_input: float | None, price_output: float | None) -> Prices | None:
        if price_input is None or price_output is None:
            return None
        return cls(price_input, price_output)

    def usd(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / PER


class CountedSample(Protocol):
    prompt_tokens: int | None
    output_tokens: int | None


@dataclass(frozen=True)
class Cost:
    """Tokens and, when prices are known, their cost. `uncounted` samples had no token counts (not in the sum)."""

    input_tokens: int
    output_tokens: int
    usd: float | None
    price_input: float | None
    price_output: float | None
    uncounted: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["usd"] = None if self.usd is None else round(self.usd, 4)
        return data


def of_samples(samples: Iterable[CountedSample], prices: Prices | None) -> Cost:
    """The cost of the samples a run holds."""
    input_tokens = output_tokens = uncounted = 0
    for sample in samples:
        if sample.output_tokens is None:
            uncounted += 1
            continue
        output_tokens += sample.output_tokens
        input_tokens += sample.prompt_tokens or 0
    usd = prices.usd(input_tokens, output_tokens) if prices else None
    return Cost(input_tokens, output_tokens, usd, *_price_fields(prices), uncounted=uncounted)


def worst_case(prompt_token_bounds: Iterable[int], max_tokens: int, prices: Prices | None) -> Cost:
    """Every sample (one prompt bound each) running to max_tokens: the most a run can cost."""
    bounds = list(prompt_token_bounds)
    input_tokens = sum(bounds)
    output_tokens = len(bounds) * max_tokens
    usd = prices.usd(input_tokens, output_tokens) if prices else None
    return Cost(input_tokens, output_tokens, usd, *_price_fields(prices))


def prompt_token_bound(texts: Iterable[str]) -> int:
    """An upper bound on the tokens of a prompt without its tokenizer: its UTF-8 bytes (a byte-level BPE token
    is at least one byte), plus a few tokens per message for the chat template."""
    texts = list(texts)
    return sum(len(t.encode("utf-8")) for t in texts) + 8 * len(texts) + 8


def _price_fields(prices: Prices | None) -> tuple[float | None, float | None]:
    return (prices.input, prices.output) if prices else (None, None)


def usd_text(usd: float | None) -> str:
    if usd is None:
        return "–"
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.4f}"


def results_fields(samples: Iterable[CountedSample], prices: Prices | None) -> dict[str, Any]:
    """`cost_usd` (None without prices) and its detail, for a run's results.json."""
    cost = of_samples(samples, prices).to_dict()
    return {"cost_usd": cost["usd"], "cost": cost}
