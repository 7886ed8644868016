"""evalkit's verifier as the RL training reward: scoring, and the adapters for verl, TRL and OpenRLHF (file, server).

Public API: `RewardConfig`, `RewardOutcome`, `score`, `score_async`; the adapters live in `evalkit.reward.verl`,
`evalkit.reward.trl` (`AccuracyReward`), `evalkit.reward.openrlhf` (`reward_func`) and `evalkit.reward.server`.
"""

from evalkit.reward.scoring import RewardConfig, RewardOutcome, score, score_async

__all__ = ["RewardConfig", "RewardOutcome", "score", "score_async"]
