"""`evalkit reward-server`: OpenRLHF's remote reward API (POST /get_reward) over HTTP, on aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web

from evalkit.errors import EvalkitError
from evalkit.reward.openrlhf import rewards_payload, split_queries
from evalkit.reward.scoring import RewardConfig, log_batch, score_async, totals

logger = logging.getLogger("evalkit.reward")

# A batch of long reasoning responses is large: 1,024 responses of 160,000 characters are 160 MB of JSON.
DEFAULT_MAX_REQUEST_MB = 256
# On SIGTERM or Ctrl-C the server stops taking connections and lets the requests under way finish for this long.
SHUTDOWN_TIMEOUT_S = 30.0
CONFIG = web.AppKey("config", RewardConfig)


class BadRequest(Exception):
    """A request that cannot be scored as it is: answered with 400 and the reason."""


def _strings(payload: dict, key: str, required: bool) -> list[str] | None:
    values = payload.get(key)
    if values is None:
        if required:
            raise BadRequest(f'the request has no "{key}" list')
        return None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadRequest(f'"{key}" must be a list of strings')
    return values


def parse_request(body: bytes) -> tuple[list[str], list[str] | None, list[Any]]:
    """(queries, prompts or None, labels) of a /get_reward body: `{"query": [...], "prompts": [...], "labels": [...]}`.

    `prompts` may be left out: each query is then taken as the response alone. A label may be a string, a number or
    null (no gold).
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise BadRequest('the body must be a JSON object with "query", "prompts" and "labels"')
    queries = _strings(payload, "query", required=True)
    prompts = _strings(payload, "prompts", required=False)
    labels = payload.get("labels")
    if not isinstance(labels, list):
        raise BadRequest('the request has no "labels" list (the gold answers, one per query)')
    if len(labels) != len(queries) or (prompts is not None and len(prompts) != len(queries)):
        raise BadRequest(
            f"{len(queries)} queries, {'no' if prompts is None else len(prompts)} prompts and {len(labels)} labels: "
            "give one prompt and one label per query"
        )
    if any(isinstance(label, dict | list) for label in labels):
        raise BadRequest("each label must be a string, a number or null")
    return queries, prompts, labels


async def get_reward(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    loop = asyncio.get_running_loop()
    body = await request.read()  # more than the app's client_max_size is answered 413 by aiohttp itself
    try:
        # Parsing and cutting prompts off a large batch takes CPU time: off the event loop, so /health and the other
        # ranks' requests are answered meanwhile.
        queries, prompts, labels = await loop.run_in_executor(None, parse_request, body)
        responses, found = await loop.run_in_executor(None, split_queries, queries, prompts)
    except (BadRequest, EvalkitError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    try:
        outcomes = await score_async(config, responses, labels)
    except EvalkitError as exc:  # the verifier cannot work (its workers do not start): not the client's fault
        logger.error(f"evalkit reward server: {exc}")
        return web.json_response({"error": str(exc)}, status=503)
    log_batch(config, outcomes)
    return web.json_response(rewards_payload(config, outcomes, found))


async def health(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    counts = totals.snapshot().get(config.rule, {"checks": 0, "correct": 0, "timeouts": 0, "errors": 0, "no_gold": 0})
    return web.json_response(
        {
            "status": "ok",
            "rule": config.rule,
            "timeout": config.timeout,
            "correct_reward": config.correct_reward,
            "wrong_reward": config.wrong_reward,
            **counts,
        }
    )


def make_app(config: RewardConfig, max_request_mb: float = DEFAULT_MAX_REQUEST_MB) -> web.Application:
    """The reward application: POST /get_reward, GET /health. Requests larger than `max_request_mb` get 413."""
    if not max_request_mb > 0:
        raise EvalkitError(f"--max-request-mb must be positive, got {max_request_mb}")
    app = web.Application(client_max_size=int(max_request_mb * 1024 * 1024))
    app[CONFIG] = config
    app.router.add_post("/get_reward", get_reward)
    app.router.add_get("/health", health)
    return app


async def serve_until_stopped(
    app: web.Application, host: str, port: int, on_ready: Callable[[list[str]], None], stop: asyncio.Event | None = None
) -> None:
    """Serve until `stop` is set, or SIGTERM / SIGINT arrive (on the main thread); then stop taking connections
    and let the requests under way finish (up to SHUTDOWN_TIMEOUT_S)."""
    stop = stop or asyncio.Event()
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise EvalkitError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port"
            ) from None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Off the main thread signals cannot be handled here: setting `stop` ends the server there.
            with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        on_ready([f"http://{a[0]}:{a[1]}" if isinstance(a, tuple) else str(a) for a in runner.addresses])
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(
    config: RewardConfig, host: str, port: int, max_request_mb: float, on_ready: Callable[[list[str]], None]
) -> None:
    """Run the server in this thread until SIGTERM or Ctrl-C."""
    if not 0 <= port <= 65535:
        raise EvalkitError(f"--port must be between 0 and 65535, got {port}")
    app = make_app(config, max_request_mb)
    asyncio.run(serve_until_stopped(app, host, port, on_ready))
