"""One vLLM engine lent to the runs of a sweep: each checkpoint's weights are loaded into it in place, the first swap
is checked against a freshly started engine, and the engine is restarted when a checkpoint needs another one."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evalkit.backends.base import BackendError, Prompt
from evalkit.config import RunConfig
from evalkit.errors import EvalkitError

# config.json fields that name the folder or the library that wrote it, not the model: they may differ between
# checkpoints of one run (verl's merger and the Trainer write different ones) without changing the engine.
UNRELATED_CONFIG_FIELDS = ("_name_or_path", "transformers_version", "_commit_hash")
# What the tokenizer and the end-of-sequence tokens come from; generation_config.json adds stop tokens in vLLM.
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
    "merges.txt", "tokenizer.model", "chat_template.jinja", "chat_template.json", "generation_config.json",
)  # fmt: skip
# The swap check's greedy continuation: stale weights show in the first token's log-probability already.
GREEDY_TOKENS = 16


class CheckpointGone(EvalkitError):
    """The checkpoint's files went away while the engine loaded them (the trainer's rotation deleted it)."""


@dataclass(frozen=True)
class EngineFingerprint:
    """What must be equal for a running engine to take a checkpoint's weights in place: the architecture (config.json),
    the tokenizer and generation defaults, and the engine settings."""

    architecture: str
    tokenizer: str
    engine: str

    @classmethod
    def of(cls, folder: Path, config: RunConfig) -> EngineFingerprint:
        try:
            model_config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            model_config = {}
        if isinstance(model_config, dict):
            model_config = {k: v for k, v in model_config.items() if k not in UNRELATED_CONFIG_FIELDS}
        tokenizer = hashlib.sha256()
        for name in TOKENIZER_FILES:
            path = folder / name
            if path.is_file():
                tokenizer.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        engine = {"backend": asdict(config.backend), "seed": config.sampling.seed}
        return cls(_sha(model_config), tokenizer.hexdigest(), _sha(engine))


def _sha(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def restart_reason(current: EngineFingerprint, wanted: EngineFingerprint, reload_method: str | None) -> str | None:
    """Why the running engine cannot take the next checkpoint's weights in place, or None when it can."""
    if current.architecture != wanted.architecture:
        return "a checkpoint has another architecture (its config.json differs)"
    if current.tokenizer != wanted.tokenizer:
        return "a checkpoint has another tokenizer or generation config"
    if current.engine != wanted.engine:
        return "a checkpoint needs other engine settings"
    if reload_method is None:
        return "this vLLM cannot load weights in place (its workers have neither reload_weights nor load_weights)"
    return None


@dataclass(frozen=True)
class SwapCheck:
    """The once-per-sweep check of the in-place reload: the swapped engine's greedy output against a fresh one's."""

    step: int
    checkpoint: str
    method: str
    tokens: int
    difference: str | None

    @property
    def passed(self) -> bool:
        return self.difference is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


class LentBackend:
    """The shared engine as one run sees it: everything but `close`, which is the sweep's to call."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def close(self) -> None:
        pass


class SharedEngine:
    """Lends one engine to many runs. `start(model, config)` starts an engine (a VLLMBackend); `notice` says what
    happens to it. With `restart_each`, every checkpoint gets a freshly started engine (no swap at all)."""

    def __init__(
        self,
        start: Callable[[str, RunConfig], Any],
        notice: Callable[[str], None] = lambda message: None,
        restart_each: bool = False,
    ) -> None:
        self._start = start
        self._notice = notice
        self.restart_each = restart_each
        self.engine: Any = None
        self.loaded: Path | None = None
        self.fingerprint: EngineFingerprint | None = None
        self.check: SwapCheck | None = None
        self.starts = 0
        self.swaps = 0
        self._said: set[str] = set()

    def lend(self, weights: Path, step: int, config: RunConfig, probe: Prompt) -> LentBackend:
        """The engine with `weights` loaded: swapped in place when it can be, started otherwise. `probe` is the fixed
        prompt of the swap check."""
        wanted = EngineFingerprint.of(weights, config)
        if self.engine is not None and self.loaded != weights:
            reason = "--restart-engine" if self.restart_each else None
            if reason is None:
                assert self.fingerprint is not None
                reason = restart_reason(self.fingerprint, wanted, self.engine.reload_method())
                if reason is not None and reason not in self._said:
                    self._said.add(reason)
                    self._notice(f"{reason}: the engine is restarted for it")
            if reason is None:
                try:
                    self._swap(weights, step, config, probe)
                except BackendError as exc:
                    if not weights.exists():
                        self.close()
                        raise CheckpointGone(f"{weights} was deleted while its weights were loaded") from None
                    self._notice(f"{exc}; the engine is restarted for step {step}")
                    self.close()  # a failed load may have left the engine half updated
            else:
                self.close()
        if self.engine is None:
            self._start_engine(weights, config)
        self.fingerprint = wanted
        return LentBackend(self.engine)

    def _start_engine(self, weights: Path, config: RunConfig) -> None:
        try:
            self.engine = self._start(str(weights), config)
        except BackendError:
            if not weights.exists():
                raise CheckpointGone(f"{weights} was deleted while the engine loaded it") from None
            raise
        self.loaded = weights
        self.starts += 1

    def _swap(self, weights: Path, step: int, config: RunConfig, probe: Prompt) -> None:
        self.engine.reload_weights(str(weights))
        self.loaded = weights
        self.swaps += 1
        if self.check is not None:
            return
        # vLLM's in-place reload has shipped bugs that left stale weights in use, so the first swap is checked: its
        # greedy output against a fresh engine's on the same checkpoint. The swapped engine is closed before the
        # fresh one starts (no second engine in memory), and the sweep goes on with the fresh one.
        method = self.engine.reload_method()
        swapped = self.engine.greedy(probe, GREEDY_TOKENS)
        self.close()
        self._start_engine(weights, config)
        fresh = self.engine.greedy(probe, GREEDY_TOKENS)
        self.check = SwapCheck(step, str(weights), method, len(fresh.token_ids), swapped.difference(fresh))
        if not self.check.passed:
            self.close()
            raise EvalkitError(
                f"vLLM's in-place weight reload ({method}) kept stale weights: at step {step} the swapped engine's "
                f"greedy output differs from a freshly started engine's ({self.check.difference}); the sweep stops. "
                "Rerun with --restart-engine to start a new engine for every checkpoint"
            )
        self._notice(
            f"in-place weight reload ({method}) checked at step {step}: the same greedy output as a freshly started "
            f"engine ({len(fresh.token_ids)} tokens)"
        )

    def close(self) -> None:
        if self.engine is not None:
            engine, self.engine, self.loaded = self.engine, None, None
            engine.close()
            del engine
            gc.collect()  # the engine's memory is freed before another starts
