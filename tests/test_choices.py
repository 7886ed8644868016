"""Samples out of OpenAI-style responses (evalkit/backends/choices.py), field by field: where the text, the thinking
and the token counts come from, streamed or whole, one choice or several, and which counts are exact."""

from __future__ import annotations

import pytest

from evalkit.backends.choices import FinishedChoice, StreamAssembler, Usage, response_choices


def chunk(index: int = 0, finish: str | None = None, **delta) -> dict:
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_usage_reads_only_integer_counts():
    assert Usage.of(None) is None and Usage.of([1]) is None and Usage.of("x") is None
    assert Usage.of({}) == Usage(None, None, None)
    usage = {"prompt_tokens": 7, "completion_tokens": 30, "completion_tokens_details": {"reasoning_tokens": 20}}
    assert Usage.of(usage) == Usage(7, 30, 20)
    assert Usage.of({"prompt_tokens": True, "completion_tokens": "30", "completion_tokens_details": None}) == Usage(
        None, None, None
    )  # fmt: skip
    assert Usage.of({"completion_tokens_details": {"reasoning_tokens": 2.5}}).reasoning_tokens is None


def test_one_streamed_choice_takes_exact_counts_from_usage_and_the_model_from_the_first_event():
    assembler = StreamAssembler(chat=True, asked=1)
    assembler.feed({"model": 7, "choices": []})  # not a name: ignored
    assembler.feed({"model": "served/name", **chunk(content="Hel")})
    assembler.feed({"model": "other", **chunk(content="lo")})
    assembler.feed(chunk(finish="stop"))
    assembler.feed({"choices": [], "usage": {}})  # an empty usage does not erase one that came
    assembler.feed({"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 2}})
    assembler.feed({"choices": [], "usage": {}})
    (choice,) = assembler.release()
    assert assembler.model == "served/name"
    assert choice == FinishedChoice(0, "Hello", None, "stop", 11, 2, True, None)
    assert assembler.release() == []  # handed over once


def test_without_usage_a_streamed_choice_counts_its_events_as_an_estimate():
    assembler = StreamAssembler(chat=True, asked=1)
    for piece in ("a", "", "b", "c"):
        assembler.feed(chunk(content=piece))
    assembler.feed(chunk(role="assistant"))  # no text: not a token
    assembler.feed(chunk(finish="length"))
    (choice,) = assembler.release()
    assert (choice.text, choice.output_tokens, choice.tokens_exact, choice.prompt_tokens) == ("abc", 3, False, None)


def test_choices_of_a_multi_sample_stream_never_take_the_whole_responses_usage_as_theirs():
    assembler = StreamAssembler(chat=True, asked=2)
    assembler.feed({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 99,
                                             "completion_tokens_details": {"reasoning_tokens": 50}}})  # fmt: skip
    assembler.feed(chunk(0, reasoning="think", content="x"))
    (first,) = assembler.feed(chunk(0, finish="stop"))
    assert (first.output_tokens, first.tokens_exact, first.reasoning_tokens, first.prompt_tokens) == (1, False, None, 5)
    assert first.reasoning == "think"


def test_token_ids_count_exactly_across_events_and_prompt_ids_at_either_level():
    assembler = StreamAssembler(chat=False, asked=2)
    assembler.feed({"choices": [{"index": 1, "text": "a", "token_ids": [1, 2], "prompt_token_ids": [0] * 6}]})
    assembler.feed({"choices": [{"index": 1, "text": "b", "token_ids": [3]}]})
    assembler.feed({"prompt_token_ids": [0] * 9, "choices": []})  # the first count that came stays
    (choice,) = assembler.feed({"choices": [{"index": 1, "text": "", "token_ids": [], "finish_reason": "stop"}]})
    assert (choice.index, choice.text, choice.output_tokens, choice.tokens_exact, choice.prompt_tokens) == (
        1, "ab", 3, True, 6
    )  # fmt: skip
    assert choice.reasoning is None  # the completions API has no separate thinking


def test_a_finish_reason_counts_once_and_a_failed_choice_is_not_finished():
    assembler = StreamAssembler(chat=True, asked=3)
    assert [c.index for c in assembler.feed(chunk(0, finish="stop", content="x"))] == [0]
    assert assembler.feed(chunk(0, finish="stop")) == []  # a repeated finish hands nothing over again
    assert assembler.feed(chunk(1, finish="error")) == [] and assembler.failed == {1: "error"}
    assert assembler.feed(chunk(1, finish="stop")) == []  # a failed choice stays failed
    assembler.feed(chunk(2, content="y"))
    assert assembler.unfinished == [2] and assembler.done == {0}


def test_a_failed_choice_does_not_hide_the_others_of_its_event():
    assembler = StreamAssembler(chat=True, asked=2)
    event = {"choices": [{"index": 0, "delta": {}, "finish_reason": "error"},
                         {"index": 1, "delta": {"content": "fine"}, "finish_reason": "stop"}]}  # fmt: skip
    (finished,) = assembler.feed(event)
    assert finished.index == 1 and finished.text == "fine" and assembler.failed == {0: "error"}


def test_a_completions_choice_without_text_is_empty_text():
    (choice,), _ = response_choices({"choices": [{"finish_reason": "length", "text": None}]}, chat=False)
    assert choice.text == "" and choice.reasoning is None


def test_a_choice_without_an_index_is_choice_0():
    assembler = StreamAssembler(chat=True, asked=1)
    assembler.feed({"choices": [{"delta": {"content": "only"}}]})
    assembler.feed({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    (choice,) = assembler.release()
    assert choice.index == 0 and choice.text == "only"


@pytest.mark.parametrize(
    ("delta", "reasoning"),
    [
        ({"reasoning_content": "a"}, "a"),
        ({"reasoning": "b"}, "b"),
        ({"reasoning_content": None, "reasoning": "c"}, "c"),
        ({"reasoning_content": "d", "reasoning": "e"}, "d"),  # both names: one of them, never both
    ],
)
def test_reasoning_under_either_name(delta, reasoning):
    assembler = StreamAssembler(chat=True, asked=1)
    assembler.feed(chunk(**delta))
    assembler.feed(chunk(finish="stop"))
    assert assembler.release()[0].reasoning == reasoning


def test_a_whole_response_with_one_choice_has_exact_counts():
    body = {
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"content": "The answer is 5", "reasoning": "because"}}],
        "usage": {"prompt_tokens": 8, "completion_tokens": 12, "completion_tokens_details": {"reasoning_tokens": 4}},
    }  # fmt: skip
    (choice,), failed = response_choices(body, chat=True)
    assert choice == FinishedChoice(0, "The answer is 5", "because", "stop", 8, 12, True, 4) and failed == []


def test_a_whole_response_with_several_choices_splits_usage_as_an_estimate_unless_token_ids_say():
    body = {
        "prompt_token_ids": [1, 2, 3],  # vLLM's exact prompt, preferred to usage's count
        "choices": [
            {"index": 2, "finish_reason": "abort", "text": ""},
            {"index": 0, "finish_reason": "stop", "text": "a"},
            {"index": 1, "finish_reason": "length", "text": "b", "token_ids": [4, 5, 6, 7]},
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 10, "completion_tokens_details": {"reasoning_tokens": 4}},
    }
    finished, failed = response_choices(body, chat=False)
    assert failed == [2]  # a failed choice first does not hide the ones after it
    assert [(c.index, c.text, c.output_tokens, c.tokens_exact) for c in finished] == [(0, "a", 3, False),
                                                                                      (1, "b", 4, True)]  # fmt: skip
    assert all(c.prompt_tokens == 3 and c.reasoning_tokens is None and c.reasoning is None for c in finished)


def test_a_whole_response_without_usage_has_no_counts():
    body = {"choices": [{"finish_reason": "stop", "message": {"content": None}}]}
    (choice,), failed = response_choices(body, chat=True)
    assert (choice.index, choice.text, choice.output_tokens, choice.tokens_exact, choice.prompt_tokens) == (
        0, "", None, False, None
    )  # fmt: skip
    assert choice.reasoning is None
    body = {"choices": [{"finish_reason": "stop", "message": {"content": "x", "reasoning_content": ""}}],
            "usage": {"prompt_tokens": 2}}  # fmt: skip
    (choice,), _ = response_choices(body, chat=True)
    assert choice.reasoning is None and choice.prompt_tokens == 2 and choice.output_tokens is None


def test_a_body_without_a_choices_list_is_refused():
    with pytest.raises(ValueError, match="^the response has no `choices` list$"):
        response_choices({"choices": None}, chat=True)
