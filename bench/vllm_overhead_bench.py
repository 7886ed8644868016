"""Backend overhead: evalkit's vLLM backend against a plain `LLM.generate` on the same engine, prompts, n and
sampling settings, in one process. Prints output tokens/s for each and their ratio (target: at least 0.95).

Usage: python bench/vllm_overhead_bench.py [--problems 30] [-n 4] [--max-tokens 256] [--rounds 2]

Uses the embedded SmolLM2-135M on the CPU (converted once into the evalkit cache). The rounds alternate the
order of the two so that warm-up and machine noise fall on both. Both draw the same seeds, so they generate
the same tokens; only the way samples are collected differs (evalkit streams each sample as it finishes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("-n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from evalkit.backends.vllm_engine import VLLMBackend
    from evalkit.config import BackendConfig, SamplingConfig, sample_seed
    from evalkit.data import datasets as ds
    from evalkit.data.embedded import ensure_model
    from evalkit.data.prompts import TEMPLATES
    from evalkit.pipeline.run import build_prompts, plan_requests

    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    locations = ds.DataLocations.from_env()
    folder = ensure_model(locations.cache_dir)
    dataset = ds.load("aime24", locations).select(args.problems)
    prompts = build_prompts(dataset, TEMPLATES["boxed"], "chat")
    sampling = SamplingConfig(n=args.n, temperature=0.6, top_p=0.95, max_tokens=args.max_tokens, seed=0)
    requests = plan_requests(prompts, args.n, 0, set())
    backend = VLLMBackend(str(folder), BackendConfig(max_model_len=2048, dtype="bfloat16"), seed=0)

    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    token_prompts = [TokensPrompt(prompt_token_ids=backend.render(r.prompt)) for r in requests]

    def plain() -> int:
        params = [
            SamplingParams(
                n=r.count,
                seed=sample_seed(0, r.prompt.problem_id, r.first_index),
                temperature=0.6,
                top_p=0.95,
                max_tokens=args.max_tokens,
            )  # fmt: skip
            for r in requests
        ]
        outputs = backend.llm.generate(token_prompts, params, use_tqdm=False)
        return sum(len(c.token_ids) for o in outputs for c in o.outputs)

    def streamed() -> int:
        async def collect() -> int:
            return sum([c.output_tokens async for c in backend.generate(requests, sampling)])

        return asyncio.run(collect())

    results: dict[str, list[tuple[int, float]]] = {"LLM.generate": [], "evalkit backend": []}
    for round_number in range(args.rounds):
        order = [("LLM.generate", plain), ("evalkit backend", streamed)]
        for name, run in order if round_number % 2 == 0 else reversed(order):
            start = time.perf_counter()
            tokens = run()
            results[name].append((tokens, time.perf_counter() - start))
    print(f"{args.problems} prompts x n={args.n}, max tokens {args.max_tokens}, model {Path(folder).name}")
    rates = {}
    for name, runs in results.items():
        tokens = sum(t for t, _ in runs)
        seconds = sum(s for _, s in runs)
        rates[name] = tokens / seconds
        per_round = ", ".join(f"{t / s:.1f}" for t, s in runs)
        print(f"{name:16s} {tokens:7d} tokens in {seconds:7.2f} s = {rates[name]:7.1f} tokens/s (rounds: {per_round})")
    ratio = rates["evalkit backend"] / rates["LLM.generate"]
    print(f"ratio evalkit / LLM.generate = {ratio:.3f} (target >= 0.95: {'met' if ratio >= 0.95 else 'MISSED'})")
    backend.close()


if __name__ == "__main__":
    main()
