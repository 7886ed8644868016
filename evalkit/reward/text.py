"""The response in what a framework hands over: chat messages, a query that starts with its prompt, edge tokens."""

from __future__ import annotations

from typing import Any

# How much of a prompt's end is looked for in a query when the whole prompt is not found in it: OpenRLHF cuts a
# prompt that is too long from the left, and decoding tokens again may not give back its first characters.
PROMPT_TAIL_CHARS = 256

# Tokens a decoded sequence may carry after the response (end of sequence, end of turn, padding) or before it
# (beginning of sequence). The verifier itself ends a response at the first end-of-turn token inside it.
_END_TOKENS = (
    "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<|end|>", "<|return|>", "<|eos|>", "<|pad|>",
    "<|end▁of▁sentence|>", "<｜end▁of▁sentence｜>", "</s>", "<eos>", "<pad>", "<end_of_turn>", "[PAD]",
    "<|finetune_right_pad_id|>",
)  # fmt: skip
_START_TOKENS = ("<s>", "<bos>", "<|begin_of_text|>", "<｜begin▁of▁sentence｜>", "<|startoftext|>")


def strip_edge_tokens(text: str) -> str:
    """The text without special tokens at its start or end (`…\\boxed{5}<|im_end|><|endoftext|>` -> `…\\boxed{5}`).

    Text without such tokens comes back unchanged, whitespace and all.
    """
    while True:
        stripped = text.rstrip()
        token = next((t for t in _END_TOKENS if stripped.endswith(t)), None)
        if token is None:
            break
        text = stripped[: -len(token)]
    while True:
        stripped = text.lstrip()
        token = next((t for t in _START_TOKENS if stripped.startswith(t)), None)
        if token is None:
            break
        text = stripped[len(token) :]
    return text


def response_of_query(query: str, prompt: str | None) -> tuple[str, bool]:
    """(the response in an OpenRLHF query, whether its prompt was found and cut off).

    OpenRLHF decodes prompt and response tokens together, special tokens kept, into one `query`. The prompt is cut
    off wherever it is found: at the start, anywhere, or only its end (a prompt cut from the left to fit the
    context). A prompt found nowhere leaves the whole query, which is reported: its text could hold the answers of
    few-shot examples, or the template's own `\\boxed{}`.
    """
    if not prompt:
        return strip_edge_tokens(query), True
    at = query.find(prompt)
    if at != -1:
        return strip_edge_tokens(query[at + len(prompt) :]), True
    tail = prompt[-PROMPT_TAIL_CHARS:]
    at = query.find(tail)
    if at != -1:
        return strip_edge_tokens(query[at + len(tail) :]), True
    return strip_edge_tokens(query), False


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, {"type": "image"}, ...]
        return "".join(
            part.get("text") or "" for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return str(content)


def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string as it is; a conversational completion (a list of messages) as its
    assistant messages' text, joined (tool results and other roles are not the model's answer)."""
    if isinstance(completion, str):
        return strip_edge_tokens(completion)
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, list | tuple):
        texts = [
            _content_text(message.get("content"))
            for message in completion
            if isinstance(message, dict) and message.get("role", "assistant") == "assistant"
        ]
        return strip_edge_tokens("\n\n".join(t for t in texts if t))
    return "" if completion is None else strip_edge_tokens(str(completion))
