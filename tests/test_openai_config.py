"""Settings for API runs: checked before any work, part of a run's identity when they change its meaning; hosted
presets; the cost arithmetic."""

from __future__ import annotations

import pytest

from evalkit import cost
from evalkit.config import BackendConfig, RunConfig, SamplingConfig, identity, resolve_run
from evalkit.data.presets import find_preset
from evalkit.errors import EvalkitError
from evalkit.report import terminal


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"api_params": {"temperature": 0.3}}, "--api-param temperature is set by evalkit itself"),
        ({"api_params": {"max_completion_tokens": 9}}, "--api-param max_completion_tokens is set by evalkit"),
        ({"price_input": 1.0}, "--price-input and --price-output go together"),
        ({"price_input": -1.0, "price_output": 1.0}, "prices must be 0 or more"),
        ({"idle_timeout": 0}, "--idle-timeout must be a positive number of seconds"),
        ({"request_timeout": -5}, "--request-timeout must be a positive"),
    ],
)
def test_bad_api_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(EvalkitError, match=message):
        BackendConfig(kind="openai", base_urls=("http://h/v1",), **settings).check()


def test_api_params_that_change_the_experiment_are_part_of_its_identity():
    def ident(**backend):
        config = RunConfig("m", "aime24", "r1", SamplingConfig(), BackendConfig(kind="openai", **backend))
        return identity(config, "data", "template")

    assert "api_params" not in ident()  # runs made before --api-param keep their identity
    assert ident(api_params={"reasoning_effort": "high"}) != ident(api_params={"reasoning_effort": "low"})
    assert ident(stream=False, idle_timeout=5.0, price_input=1.0, price_output=2.0) == ident()


def test_a_hosted_preset_brings_its_server_key_variable_and_prices_and_flags_replace_them():
    preset = find_preset("deepseek-reasoner")
    resolved = resolve_run("deepseek-reasoner", {}, preset).config
    backend = resolved.backend
    assert backend.kind == "openai" and backend.base_urls == ("https://api.deepseek.com/v1",)
    assert backend.api_key_env == "DEEPSEEK_API_KEY" and not backend.vllm_extensions
    assert (backend.price_input, backend.price_output) == (0.56, 1.68)
    assert resolved.template == "r1" and resolved.sampling.n == 64 and resolved.overrides == ()
    given = {"base_urls": ("http://user:pw@localhost:8000/v1",), "price_output": 2.0, "n": 4}
    resolved = resolve_run("deepseek-reasoner", given, preset).config
    assert resolved.backend.base_urls == given["base_urls"] and resolved.backend.price_output == 2.0
    assert resolved.overrides == ("n=4",)  # where it is served is not the protocol; nothing of the URL is recorded
    router = find_preset("DeepSeek-R1-openrouter")
    assert router.model == "deepseek-ai/DeepSeek-R1" and router.served_model == "deepseek/deepseek-r1"
    assert router.api_key_env == "OPENROUTER_API_KEY" and router.price_input is None
    detail = terminal.preset_detail(preset)
    assert "API key in $DEEPSEEK_API_KEY" in detail and "$0.56 input, $1.68 output per million tokens" in detail


def test_cost_of_samples_and_the_worst_case():
    class Sample:
        def __init__(self, prompt_tokens, output_tokens):
            self.prompt_tokens, self.output_tokens = prompt_tokens, output_tokens

    prices = cost.Prices(input=0.5, output=2.0)
    spent = cost.of_samples([Sample(100, 1_000_000), Sample(100, 500_000), Sample(100, None)], prices)
    assert (spent.input_tokens, spent.output_tokens, spent.uncounted) == (200, 1_500_000, 1)
    assert spent.usd == pytest.approx(3.0001)
    worst = cost.worst_case([150] * 64, 32768, prices)
    assert worst.output_tokens == 64 * 32768 and worst.usd == pytest.approx((9600 * 0.5 + 64 * 32768 * 2.0) / 1e6)
    assert cost.of_samples([Sample(1, 2)], None).usd is None
    assert cost.prompt_token_bound(["ab", "é"]) == 2 + 2 + 2 * 8 + 8
    assert (
        terminal.cost_text(spent.to_dict()) == "$3.00 (200 input + 1.5M output tokens; 1 samples without token counts)"
    )


def test_the_verifier_reads_the_answer_from_the_text_never_from_the_thinking(shared_data, tmp_path):
    from evalkit.backends.base import Completion
    from evalkit.data import datasets as ds
    from evalkit.data.prompts import TEMPLATES
    from evalkit.pipeline.run import run
    from evalkit.verify import Verifier

    data = ds.load("aime24", ds.DataLocations(shared_data, tmp_path / "cache")).select(1)
    gold = data.problems[0].answer

    class ThinkingBackend:
        def describe(self):
            return {"kind": "thinking"}

        def context_length(self):
            return None

        def close(self):
            pass

        async def generate(self, requests, sampling):
            thinking = f"So the answer must be \\boxed{{{gold}}}, let me double-check"
            yield Completion(data.problems[0].id, 0, "", "length", 50, 30000, 7, reasoning=thinking)
            yield Completion(data.problems[0].id, 1, f"The answer is $\\boxed{{{gold}}}$.", "stop", 50, 900, 8,
                             reasoning="Some thinking.", reasoning_tokens=850)  # fmt: skip

    config = RunConfig("m", "aime24", "r1", SamplingConfig(n=2), BackendConfig(), limit=1)
    with Verifier("math") as verifier:
        outcome = run(config, data, TEMPLATES["r1"], ThinkingBackend, tmp_path / "run", verifier)
    from conftest import samples_with_verdicts

    cut, answered = sorted(samples_with_verdicts(tmp_path / "run"), key=lambda s: s["sample_index"])
    assert cut["verdict"]["extracted"] is None and not cut["verdict"]["correct"] and cut["reasoning"]
    assert answered["verdict"]["correct"] and answered["reasoning_tokens"] == 850
    assert outcome.metrics.truncated == 1 and outcome.metrics.no_answer == 1 and outcome.metrics.avg == 0.5
