"""What each server is sent, learned from its rejections (evalkit/backends/dialect.py), field by field: every field a
server may refuse, what evalkit then sends instead, the note it gives once, and what the manifest records."""

from __future__ import annotations

import pytest

from evalkit.backends.base import Prompt
from evalkit.backends.dialect import Dialect, Rejection, SamplingRejected, Unadaptable
from evalkit.config import SamplingConfig

SAMPLING = SamplingConfig(n=4, temperature=0.6, top_p=0.95, max_tokens=1000, seed=0)
R1 = Prompt("p", ({"role": "user", "content": "What is 6 x 7?"},), "<think>\n")


def body(dialect: Dialect, sampling: SamplingConfig = SAMPLING) -> dict:
    return dialect.body("m", R1, 4, 11, sampling, True, {})


def refused(*fields: str, message: str = "Unsupported parameter") -> Rejection:
    return Rejection(tuple(fields), True, message)


@pytest.mark.parametrize(
    ("field", "notes", "learned", "gone", "added"),
    [
        ("max_tokens", ["max_completion_tokens instead of max_tokens"],
         {"token_limit_field": "max_completion_tokens"}, ["max_tokens"], {"max_completion_tokens": 1000}),
        ("return_token_ids",
         ["no return_token_ids (token counts from usage)", "one sample per request (exact usage per sample)"],
         {"token_ids": False, "one_sample_per_request": True}, ["return_token_ids"], {}),
        ("continue_final_message", ["no assistant prefill (continue_final_message is vLLM's)"], {"prefill": False},
         ["continue_final_message", "add_generation_prompt"], {}),
        ("add_generation_prompt", ["no assistant prefill (continue_final_message is vLLM's)"], {"prefill": False},
         ["continue_final_message", "add_generation_prompt"], {}),
        ("stream_options", ["no stream_options (usage only if the server sends it)"], {"stream_usage": False},
         ["stream_options"], {"stream": True}),
        ("seed", ["no seed (the server rejects it; samples are not reproducible)"], {"seed": False}, ["seed"], {}),
        ("n", ["one sample per request (the server rejects n)"], {"one_sample_per_request": True}, [], {"n": 4}),
    ],
)  # fmt: skip
def test_each_refused_field_is_learned_once_and_left_out_after(field, notes, learned, gone, added):
    dialect = Dialect()
    sent = body(dialect)
    assert dialect.adapt(refused(field), sent, {}) == notes
    for attribute, value in learned.items():
        assert getattr(dialect, attribute) is value if isinstance(value, bool) else getattr(dialect, attribute) == value
    assert dialect.learned == notes
    assert dialect.adapt(refused(field), sent, {}) == []  # learned once: no second note
    after = body(dialect)
    assert all(name not in after for name in gone)
    assert {k: after[k] for k in added} == added
    if field in ("continue_final_message", "add_generation_prompt"):
        assert after["messages"] == [{"role": "user", "content": "What is 6 x 7?"}]  # no assistant turn at all


def test_several_refused_fields_in_one_answer_are_all_learned():
    dialect = Dialect()
    notes = dialect.adapt(refused("seed", "n", "stream_options"), body(dialect), {})
    assert notes == [
        "no seed (the server rejects it; samples are not reproducible)",
        "one sample per request (the server rejects n)",
        "no stream_options (usage only if the server sends it)",
    ]
    assert dialect.describe() == {
        "token_limit_field": "max_tokens", "return_token_ids": True, "assistant_prefill": True,
        "stream_usage": False, "seed": False, "samples_per_request": "one", "sampling_not_sent": [],
        "learned": notes, "model_reported": None,
    }  # fmt: skip


def test_the_starting_dialects_and_what_the_manifest_records_of_them():
    assert Dialect.for_server(True).describe() == {
        "token_limit_field": "max_tokens", "return_token_ids": True, "assistant_prefill": True,
        "stream_usage": True, "seed": True, "samples_per_request": "n", "sampling_not_sent": [], "learned": [],
        "model_reported": None,
    }  # fmt: skip
    hosted = Dialect.for_server(False)
    assert hosted.token_ids is False and hosted.prefill is False and hosted.one_sample_per_request is True
    sent = body(hosted)
    assert "return_token_ids" not in sent and "continue_final_message" not in sent and sent["seed"] == 11


@pytest.mark.parametrize(
    ("rejection", "params", "message"),
    [
        (Rejection((), False, "bad request"), {}, "rejected the request: bad request"),
        (refused("logprobs", message="Unsupported parameter: logprobs"), {},
         "rejected the request: Unsupported parameter: logprobs"),
        (refused("top_k", message="Unrecognized request argument: top_k"), {"top_k": 20},
         "rejected --api-param top_k (Unrecognized request argument: top_k); leave it out or change its value"),
    ],
)  # fmt: skip
def test_what_no_dialect_can_fix_is_said_as_the_server_said_it(rejection, params, message):
    dialect = Dialect()
    with pytest.raises(Unadaptable) as error:
        dialect.adapt(rejection, {**body(dialect), **params}, params)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("name", "message", "refuses", "hint"),
    [
        ("temperature", "Only the default (1) value is supported", False, "rerun with --temperature 1, the only value"),
        ("top_p", "top_p is not supported with this model", True, "rerun with --top-p 1: it takes no top_p at all"),
        ("top_p", "top_p must be at most 0.9", False, "rerun with a top_p its provider documents for this model "
         "(--top-p)"),
    ],
)  # fmt: skip
def test_a_refused_sampling_value_stops_the_run_with_the_flag_to_change(name, message, refuses, hint):
    dialect = Dialect()
    with pytest.raises(SamplingRejected) as error:
        dialect.adapt(Rejection((name,), refuses, message), body(dialect), {})
    text = str(error.value)
    assert text.startswith(f"rejects {name} {getattr(SAMPLING, name)} ({message}); evalkit never drops a sampling")
    assert hint in text and text.endswith("which is a different protocol and is recorded as such")


def test_a_refused_parameter_asked_at_1_is_left_out_with_a_note_once():
    dialect = Dialect()
    ones = SamplingConfig(n=4, temperature=1.0, top_p=1.0, max_tokens=1000, seed=0)
    sent = body(dialect, ones)
    note = "top_p not sent (the server refuses the parameter; 1, as asked, is its default)"
    assert dialect.adapt(refused("top_p"), sent, {}) == [note]
    assert dialect.learned == [note] and dialect.omitted_sampling == ("top_p",)
    assert dialect.adapt(refused("top_p"), sent, {}) == []
    after = body(dialect, ones)
    assert "top_p" not in after and after["temperature"] == 1.0
    assert dialect.describe()["sampling_not_sent"] == ["top_p"]


@pytest.mark.parametrize("order", [("n", "seed"), ("seed", "max_tokens"), ("seed", "top_p")])
def test_every_field_of_one_answer_keeps_its_note_whatever_the_order(order):
    dialect = Dialect()
    ones = SamplingConfig(n=4, temperature=1.0, top_p=1.0, max_tokens=1000, seed=0)
    notes = dialect.adapt(refused(*order), body(dialect, ones), {})
    assert len(notes) == 2 and dialect.learned == notes


SENT = {"model": "m", "messages": [], "n": 4, "temperature": 0.6, "top_p": 0.95, "max_tokens": 100, "seed": 3,
        "top": 5, "stream": True}  # fmt: skip


@pytest.mark.parametrize(
    ("message", "param", "code", "fields", "is_refusal"),
    [
        ("Unsupported parameter", "max_tokens", None, ("max_tokens",), True),  # param named: taken as given
        ("Unsupported parameter: seed", "logprobs", None, ("seed",), True),  # a param not sent: read the message
        ("max_tokens is too big for this model", "max_tokens", "unsupported_parameter", ("max_tokens",), True),
        ("seed is not valid here", None, "unknown_parameter", ("seed",), True),
        ("max_tokens is too large", None, None, (), False),  # a value, not the parameter
        ("Extra inputs are not permitted: model, messages, prompt, seed", None, None, ("seed",), True),
        ("parameter n is not supported", None, None, (), True),  # a short name counts only quoted
        ("parameter 'n' is not supported", None, None, ("n",), True),
        ("unknown parameter top", None, None, ("top",), True),  # three letters: a whole word is enough
        ("unknown parameter top_k", None, None, (), True),
        ("temperature must be 1", None, None, ("temperature",), False),  # sampling values count without refusal
    ],
)  # fmt: skip
def test_which_fields_a_rejection_is_about(message, param, code, fields, is_refusal):
    from evalkit.backends.dialect import read_rejection

    rejection = read_rejection(message, param, code, SENT)
    assert rejection.fields == fields and rejection.refused is is_refusal and rejection.message == message


def test_the_prompt_of_a_completions_request_is_never_taken_for_a_refused_field():
    from evalkit.backends.dialect import read_rejection

    sent = {"model": "m", "prompt": "Solve: 1+1", "seed": 3, "max_tokens": 10}
    rejection = read_rejection("Unsupported parameter: seed (and the prompt is fine)", None, None, sent)
    assert rejection.fields == ("seed",)
