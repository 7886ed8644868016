"""Which faults are retried and how long a server may make a run wait (evalkit/backends/retry.py), case by case."""

from __future__ import annotations

import asyncio
import email.utils

import pytest

from evalkit.backends import retry
from evalkit.backends.retry import RetryAfter, is_transient_status, is_transport_error, retry_after


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529])
def test_rate_limits_timeouts_and_server_errors_are_retried(status):
    # README: "retries with exponential backoff and jitter on 429, 5xx, timeouts".
    assert is_transient_status(status)


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 405, 413, 422, 501, 505])
def test_client_errors_and_permanent_server_answers_are_not(status):
    assert not is_transient_status(status)


def test_the_transient_statuses_are_exactly_these():
    assert {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529} == retry.TRANSIENT_STATUS


def test_network_failures_from_every_http_stack_are_transport_errors():
    # README: "... stalled streams and dropped connections".
    for module in ("httpx", "httpx2", "httpcore", "h11", "anyio", "aiohttp"):
        error = type("Failure", (Exception,), {"__module__": f"{module}._exceptions"})()
        assert is_transport_error(error), module
    assert is_transport_error(ConnectionResetError()) and is_transport_error(EOFError())
    assert not is_transport_error(ValueError("bad json"))
    assert not is_transport_error(asyncio.CancelledError())
    other = type("Failure", (Exception,), {"__module__": "httpxtra.errors"})()
    assert not is_transport_error(other)  # the package name, not a prefix of it


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, RetryAfter(7.0, 7.0, False)),
        ({"retry-after": " 2.5 "}, RetryAfter(2.5, 2.5, False)),
        ({"retry-after": "-3"}, RetryAfter(0.0, 0.0, False)),  # a wait in the past is no wait
        ({"retry-after": "600"}, RetryAfter(600.0, 600.0, False)),  # the cap itself is not over it
        ({"retry-after": "601"}, RetryAfter(600.0, 601.0, True)),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-inf"}, None),
        ({"retry-after": ""}, None),
        ({"retry-after-ms": "250"}, RetryAfter(0.25, 0.25, False)),
        ({"retry-after-ms": "900000"}, RetryAfter(600.0, 900.0, True)),
        ({"retry-after-ms": "soon", "retry-after": "4"}, RetryAfter(4.0, 4.0, False)),  # the other header, then
        ({"retry-after-ms": "2000", "retry-after": "9"}, RetryAfter(2.0, 2.0, False)),  # milliseconds win
        ({"retry-after-ms": "", "retry-after": "9"}, RetryAfter(9.0, 9.0, False)),
        (None, None),
    ],
)
def test_retry_after_values(headers, expected):
    assert retry_after(headers) == expected


def test_retry_after_as_an_http_date_in_the_past_future_and_without_a_zone():
    now = 1_700_000_000.0
    future = email.utils.formatdate(now + 90, usegmt=True)
    assert retry_after({"retry-after": future}, now=now) == RetryAfter(90.0, 90.0, False)
    past = email.utils.formatdate(now - 90, usegmt=True)
    assert retry_after({"retry-after": past}, now=now) == RetryAfter(0.0, 0.0, False)
    far = email.utils.formatdate(now + 3600, usegmt=True)
    assert retry_after({"retry-after": far}, now=now) == RetryAfter(600.0, 3600.0, True)
    # A date without a time zone names no moment: ignored, as an unreadable value is.
    assert retry_after({"retry-after": "Tue, 14 Nov 2023 22:13:20"}, now=now) is None
    # Without `now`, the clock is read: a date an hour ahead asks for about an hour.
    import time

    ahead = retry_after({"retry-after": email.utils.formatdate(time.time() + 3600, usegmt=True)})
    assert ahead is not None and ahead.capped and 3590 < ahead.asked <= 3601


def test_the_cap_is_ten_minutes():
    # README: "`Retry-After` ... is honoured up to 10 minutes, with a notice when a server asks for more".
    assert retry.RETRY_AFTER_CAP_S == 600.0
