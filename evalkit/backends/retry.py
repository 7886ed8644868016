"""When to try an API request again, and how long to wait first.

Transient faults (429, 5xx, timeouts, dropped connections, stalled streams) are retried with exponential
backoff and full jitter. A server's Retry-After is honoured up to RETRY_AFTER_CAP_S; a value that is neither a
number of seconds nor an HTTP date is ignored rather than trusted.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

RETRY_BASE_S = 1.0
RETRY_CAP_S = 60.0
# A server may ask for hours (Retry-After: 100000); a run waits at most this long, and says so.
RETRY_AFTER_CAP_S = 600.0
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
# Exceptions from the HTTP stack underneath the SDK (a read that failed mid-stream is not wrapped by it).
_TRANSPORT_MODULES = ("httpx", "httpx2", "httpcore", "h11", "anyio", "aiohttp")


@dataclass(frozen=True)
class RetryAfter:
    """What a server asked for: `seconds` to wait (already capped), `asked` as it said it, and whether capped."""

    seconds: float
    asked: float
    capped: bool


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> RetryAfter | None:
    """The wait a response asks for (`retry-after-ms`, or `Retry-After` as seconds or an HTTP date), or None.

    Values that parse as neither are ignored: the caller's own backoff applies.
    """
    if not headers:
        return None
    asked: float | None = None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        asked = _number(milliseconds)
        asked = asked / 1000 if asked is not None else None
    if asked is None and headers.get("retry-after"):
        value = headers["retry-after"].strip()
        asked = _number(value)
        if asked is None:
            asked = _http_date_delay(value, time.time() if now is None else now)
    if asked is None:
        return None
    asked = max(0.0, asked)
    return RetryAfter(min(asked, RETRY_AFTER_CAP_S), asked, asked > RETRY_AFTER_CAP_S)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _http_date_delay(text: str, now: float) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment.timestamp() - now


def backoff_seconds(attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]; attempt counts from 0."""
    bound = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** min(attempt, 16))
    return (rng or random).uniform(0, bound)


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUS


def is_transport_error(error: BaseException) -> bool:
    """A network-level failure (connection reset, incomplete body, read error) from the HTTP stack."""
    if isinstance(error, (OSError, EOFError)):
        return True
    return type(error).__module__.split(".")[0] in _TRANSPORT_MODULES
