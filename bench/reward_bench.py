"""Rewards per second for a batch of 1,024 long real responses through each reward adapter, beside math-verify
called the way TRL's own `accuracy_reward` calls it.

Usage: python bench/reward_bench.py [--shared ../shared] [--workers N] [--skip-baseline]

The batch is tests/reward_data.py's: the 690 real responses in ../shared/generations (the published qwen25-math
outputs average ~45,000 characters, up to 167,000) with their golds, then 334 of them against a symbolic gold. Each
adapter is timed on the whole batch as its framework calls it, adapter overhead included, on a fresh verifier with
its workers already started (no verdict cached from an earlier adapter):

- verl naive: `compute_score` once per sample, one after another (verl's naive and dapo reward managers);
- verl reward loop: `compute_score` per sample in the event loop's executor threads, all at once;
- verl batch: `compute_score_batch` on the whole batch (verl's batch reward manager);
- TRL: `AccuracyReward` on the whole batch, completions as chat messages;
- OpenRLHF file: `reward_func` per query through asyncio.to_thread, all at once (OpenRLHF 0.11's executor);
- OpenRLHF HTTP: the reward server, one POST per query from a session of its own, all at once (OpenRLHF 0.11),
  then the whole batch in one POST (before 0.11);
- baseline: `trl.rewards.accuracy_reward` (math-verify, in this main thread where its signal timeouts work).

It prints each path's seconds and rewards per second, and how many rewards differ from evalkit's (the baseline's
None, a gold math-verify could not parse, counted apart).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--workers", type=int, default=None, help="verifier processes (default: one per CPU)")
    parser.add_argument("--skip-baseline", action="store_true", help="leave out the slow math-verify baseline")
    args = parser.parse_args()
    os.environ["EVALKIT_SHARED_DIR"] = str(args.shared.resolve())
    sys.path.insert(0, str(ROOT / "tests"))
    logging.getLogger("evalkit.reward").setLevel(logging.ERROR)  # the counts are printed below
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)

    from reward_conventions import openrlhf_load_reward_func, openrlhf_rewards_via_func, openrlhf_rewards_via_http
    from reward_data import chat_prompt, reward_pairs
    from reward_servers import running_servers

    from evalkit.reward import verl
    from evalkit.reward.openrlhf import config_from_environment
    from evalkit.reward.service import close_services, shared_service
    from evalkit.reward.trl import AccuracyReward

    pairs = list(reward_pairs())
    questions = [q for q, _, _ in pairs]
    responses = [r for _, r, _ in pairs]
    golds = [g for _, _, g in pairs]
    mean, longest = sum(map(len, responses)) / len(pairs), max(map(len, responses))
    print(f"{len(pairs)} responses, {mean:,.0f} characters on average (longest {longest:,}), {os.cpu_count()} CPUs, "
          f"verifier workers: {args.workers or os.cpu_count()}")  # fmt: skip
    if args.workers:
        os.environ["EVALKIT_REWARD_WORKERS"] = str(args.workers)
    kwargs = {"workers": args.workers} if args.workers else {}

    def fresh() -> None:
        """A new verifier with its workers started: nothing cached from the path timed before."""
        close_services()
        shared_service("math", 5.0, args.workers).check_many(
            [("\\boxed{\\sqrt{2}}", "\\frac{2}{\\sqrt{2}}", False)] * 2
        )

    def naive():
        return [verl.compute_score("aime24", r, g, {}, **kwargs)["score"] for r, g in zip(responses, golds)]

    def reward_loop():
        async def run():
            loop = asyncio.get_running_loop()
            calls = [loop.run_in_executor(None, lambda r=r, g=g: verl.compute_score("aime24", r, g, {}, **kwargs))
                     for r, g in zip(responses, golds)]  # fmt: skip
            return [d["score"] for d in await asyncio.gather(*calls)]

        return asyncio.run(run())

    def batch():
        return [d["score"] for d in verl.compute_score_batch(["aime24"] * len(pairs), responses, golds, **kwargs)]

    def trl_reward():
        reward = AccuracyReward(column="solution", workers=args.workers)
        completions = [[{"role": "assistant", "content": r}] for r in responses]
        return reward(prompts=questions, completions=completions, completion_ids=None, solution=golds)

    def openrlhf_file():
        reward_func = openrlhf_load_reward_func(str(ROOT / "evalkit" / "reward" / "openrlhf.py"))

        async def run():
            infos = await asyncio.gather(*(openrlhf_rewards_via_func(reward_func, chat_prompt(q) + r, chat_prompt(q), g)
                                           for q, r, g in pairs))  # fmt: skip
            return [i["reward"].flatten()[0].item() for i in infos]

        return asyncio.run(run())

    results: dict[str, tuple[float, list]] = {}

    def timed(name, function) -> None:
        fresh()
        start = time.perf_counter()
        rewards = function()
        results[name] = (time.perf_counter() - start, list(rewards))

    timed("verl naive (per sample)", naive)
    timed("verl reward loop (threads)", reward_loop)
    timed("verl batch", batch)
    timed("TRL AccuracyReward", trl_reward)
    timed("OpenRLHF file (to_thread)", openrlhf_file)
    with running_servers() as start_server:
        fresh()
        url = start_server(**({"workers": args.workers} if args.workers else {}))

        async def per_query():
            infos = await asyncio.gather(*(openrlhf_rewards_via_http(url, chat_prompt(q) + r, chat_prompt(q), g)
                                           for q, r, g in pairs))  # fmt: skip
            return [i["reward"].flatten()[0].item() for i in infos]

        def http_per_query():
            return asyncio.run(per_query())

        def http_batch():
            from reward_conventions import openrlhf_batch_request

            return openrlhf_batch_request(url, [chat_prompt(q) + r for q, r, _ in pairs],
                                          [chat_prompt(q) for q in questions], golds)["rewards"]  # fmt: skip

        timed("OpenRLHF HTTP (a POST per query)", http_per_query)
        timed("OpenRLHF HTTP (one POST)", http_batch)
    close_services()
    reference = results["verl batch"][1]
    if not args.skip_baseline:
        from trl.rewards import accuracy_reward

        completions = [[{"role": "assistant", "content": r}] for r in responses]
        start = time.perf_counter()
        baseline = accuracy_reward(completions, golds)
        results["baseline: TRL accuracy_reward (math-verify)"] = (time.perf_counter() - start, baseline)

    print(f"{'path':46} {'seconds':>8} {'rewards/s':>10} {'differ from evalkit':>20} {'None (skipped)':>15}")
    for name, (seconds, rewards) in results.items():
        differ = sum(a is not None and a != b for a, b in zip(rewards, reference))
        skipped = sum(a is None for a in rewards)
        print(f"{name:46} {seconds:8.2f} {len(rewards) / seconds:10.1f} {differ:20d} {skipped:15d}")
    print(f"evalkit: {sum(reference):.0f} of {len(reference)} right; timeouts counted apart: "
          f"{config_from_environment().describe()}")  # fmt: skip


if __name__ == "__main__":
    main()
