"""The openai backend against a local server (tests/fake_openai_server.py, in its own process): three figures.

Usage: python bench/api_bench.py [--latency 1.0] [--cap 16] [--problems 64] [-n 4] [--one-choice]
                                 [--cpu-problems 100] [--think-longer 20] [--skip-sdk]

1. Saturation: the server answers each request after L seconds and serves at most C at once. With --concurrency C
   the ideal wall time is ceil(requests / C) x L; the target is within 10% of it. With --one-choice the server
   returns one choice per request (as llama.cpp does), so the missing samples are drawn with further requests.
2. Streaming against non-streaming on the same work (the streamed server spreads the same L over its tokens):
   streaming's wall time within 5% of non-streaming's.
3. Client CPU per streamed token: the server streams as fast as it can; the client process's CPU time over the
   tokens it read. Target <= 15 us per token. For reference, the same work read through the SDK's own streaming
   (a pydantic object per event).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openai

from evalkit.backends.base import Prompt, SampleRequest
from evalkit.backends.openai_api import OpenAIBackend
from evalkit.config import BackendConfig, SamplingConfig, sample_seed

SERVER = Path(__file__).resolve().parents[1] / "tests" / "fake_openai_server.py"


async def drive(
    backend: OpenAIBackend, requests: list[SampleRequest], sampling: SamplingConfig
) -> tuple[int, float, float]:
    """(samples, wall seconds, client CPU seconds) of the generation; the probe before it is not counted."""
    await backend.probe()
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    async for _ in backend.generate(requests, sampling):
        count += 1
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    await backend.aclose()
    return count, seconds, cpu_seconds


async def drive_sdk(url: str, prompts: list[Prompt], n: int, sampling: SamplingConfig, concurrency: int) -> float:
    """Client CPU seconds to read the same streams through the SDK's parsed chunks (the reference), over the
    same aiohttp transport, so the difference is the parsing alone."""
    timeout = openai.Timeout(600, connect=60)  # a busy machine accepts connections slowly
    http_client = openai.DefaultAioHttpClient(timeout=timeout)
    client = openai.AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0, timeout=timeout, http_client=http_client)
    limit = asyncio.Semaphore(concurrency)

    async def one(prompt: Prompt) -> None:
        async with limit:
            stream = await client.chat.completions.create(
                model="fake-model", messages=list(prompt.messages), n=n, temperature=sampling.temperature,
                top_p=sampling.top_p, max_tokens=sampling.max_tokens, seed=0, stream=True,
                stream_options={"include_usage": True}, extra_body={"return_token_ids": True},
            )  # fmt: skip
            async for _ in stream:
                pass

    cpu = time.process_time()
    try:
        await asyncio.gather(*(one(p) for p in prompts))
    finally:
        await client.close()
    return time.process_time() - cpu


def start_server(latency: float, cap: int | None, one_choice: bool = False, think_longer: int = 1):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, str(SERVER), "--port", str(port), "--latency", str(latency),
               "--think-longer", str(think_longer)]  # fmt: skip
    if cap:
        command += ["--max-concurrency", str(cap)]
    if one_choice:
        command.append("--one-choice")
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(100):
        try:
            with urllib.request.urlopen(url + "/models", timeout=1):
                return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit("the fake server did not start")


def server_stats(url: str) -> dict:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=5) as response:
        return json.loads(response.read())


def make_requests(problems: int, n: int) -> tuple[list[Prompt], list[SampleRequest]]:
    prompts = [Prompt(f"p{i}", ({"role": "user", "content": f"problem {i}"},), "") for i in range(problems)]
    return prompts, [SampleRequest(p, 0, n, sample_seed(0, p.problem_id, 0)) for p in prompts]


def saturation(args: argparse.Namespace, stream: bool) -> tuple[int, int, float]:
    """(requests, samples, wall) of one run against a latency- and concurrency-capped server."""
    _, requests = make_requests(args.problems, args.n)
    sampling = SamplingConfig(n=args.n, temperature=0.6, top_p=0.95, max_tokens=64, seed=0)
    server, url = start_server(args.latency, args.cap, args.one_choice)
    try:
        config = BackendConfig(kind="openai", base_urls=(url,), concurrency=args.cap, stream=stream)
        samples, wall, _ = asyncio.run(drive(OpenAIBackend("fake-model", config), requests, sampling))
        count = server_stats(url)["requests"]
    finally:
        server.terminate()
        server.wait()
    return count, samples, wall


def client_cpu(args: argparse.Namespace) -> None:
    prompts, requests = make_requests(args.cpu_problems, args.n)
    sampling = SamplingConfig(n=args.n, temperature=0.6, top_p=0.95, max_tokens=4000, seed=0)
    concurrency = 32
    server, url = start_server(0.0, None, think_longer=args.think_longer)
    try:
        for transport in ("aiohttp", "httpx"):
            config = BackendConfig(kind="openai", base_urls=(url,), concurrency=concurrency)
            backend = OpenAIBackend("fake-model", config, transport=transport)
            before = server_stats(url)["events"]
            samples, wall, cpu = asyncio.run(drive(backend, requests, sampling))
            tokens = backend.streamed_deltas
            events = server_stats(url)["events"] - before
            per_token = 1e6 * cpu / tokens
            default = " (the default)" if transport == "aiohttp" else " (without the aiohttp extra)"
            print(
                f"client CPU per streamed token, {transport} transport{default}: {samples} samples, {tokens} tokens "
                f"({events} events with the role and finish chunks), wall {wall:.2f} s, client CPU {cpu:.2f} s -> "
                f"{per_token:.1f} us per token (target <= 15 us: {'met' if per_token <= 15 else 'MISSED'})"
            )
        if not args.skip_sdk:
            sdk_cpu = asyncio.run(drive_sdk(url, prompts, args.n, sampling, concurrency))
            print(f"reference, the SDK's parsed stream on the same work: {1e6 * sdk_cpu / tokens:.1f} us per token")
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request (> 0)")
    parser.add_argument("--cap", type=int, default=16)
    parser.add_argument("--problems", type=int, default=64)
    parser.add_argument("-n", type=int, default=4)
    parser.add_argument("--one-choice", action="store_true")
    parser.add_argument("--cpu-problems", type=int, default=100, help="problems for the CPU measurement")
    parser.add_argument("--think-longer", type=int, default=20, help="tokens per sample x ~10 for the CPU measurement")
    parser.add_argument("--skip-sdk", action="store_true", help="skip the SDK reference measurement")
    args = parser.parse_args()

    walls = {}
    for stream in (False, True):
        count, samples, wall = saturation(args, stream)
        ideal = math.ceil(count / args.cap) * args.latency
        walls[stream] = wall
        label = "streaming" if stream else "non-streaming"
        print(
            f"{label}: {count} requests, {samples} samples, latency {args.latency} s, cap {args.cap}: "
            f"wall {wall:.3f} s, ideal ceil({count}/{args.cap}) x {args.latency} = {ideal:.3f} s, "
            f"ratio {wall / ideal:.3f} (target within 10%: {'met' if wall <= 1.10 * ideal else 'MISSED'})"
        )
    ratio = walls[True] / walls[False]
    print(f"streaming / non-streaming wall time: {ratio:.3f} (target <= 1.05: {'met' if ratio <= 1.05 else 'MISSED'})")
    client_cpu(args)


if __name__ == "__main__":
    main()
