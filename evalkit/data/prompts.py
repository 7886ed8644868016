"""Named, versioned prompt templates; each is hashed into the run it produces."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from evalkit.errors import EvalkitError

PROBLEM_FIELD = "{problem}"


@dataclass(frozen=True)
class PromptTemplate:
    """How a problem becomes a prompt.

    `user` holds `{problem}`. `assistant_prefix` starts the model's turn (R1's "<think>\\n"). For base models
    run without a chat template, `completion` is the whole prompt text (also with `{problem}`).
    """

    name: str
    version: int
    description: str
    user: str
    system: str | None = None
    assistant_prefix: str = ""
    completion: str | None = None

    @property
    def sha256(self) -> str:
        """Hash of everything that shapes the prompt (not the description)."""
        fields = asdict(self)
        fields.pop("description")
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()

    def messages(self, problem: str) -> list[dict[str, str]]:
        messages = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": self.user.replace(PROBLEM_FIELD, problem)})
        return messages

    def completion_text(self, problem: str) -> str:
        """The prompt for completion mode: the template's own text, else user text with the assistant prefix."""
        if self.completion is not None:
            return self.completion.replace(PROBLEM_FIELD, problem)
        system = f"{self.system}\n\n" if self.system else ""
        return system + self.user.replace(PROBLEM_FIELD, problem) + "\n\n" + self.assistant_prefix

    def to_dict(self) -> dict:
        return {**asdict(self), "sha256": self.sha256}


BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

TEMPLATES: dict[str, PromptTemplate] = {
    template.name: template
    for template in (
        PromptTemplate(
            name="dapo",
            version=1,
            description="DAPO's prompt (DAPO-Math-17k and its AIME 2024 eval set): the last line is 'Answer: $Answer'.",
            user=(
                "Solve the following math problem step by step. The last line of your response should be of the "
                "form Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n"
                "{problem}\n\n"
                'Remember to put your answer on its own line after "Answer:".'
            ),
        ),
        PromptTemplate(
            name="r1",
            version=1,
            description="DeepSeek-R1's usage recommendation: no system prompt, the boxed directive in the user "
            "turn, and the response forced to start with '<think>\\n'.",
            user="{problem}\n" + BOXED_INSTRUCTION,
            assistant_prefix="<think>\n",
        ),
        PromptTemplate(
            name="boxed",
            version=1,
            description="Qwen2.5-Math's 'qwen-boxed' prompt: the boxed directive as the system prompt.",
            system=BOXED_INSTRUCTION,
            user="{problem}",
        ),
        PromptTemplate(
            name="qwen-boxed",
            version=1,
            description="Qwen2.5-Math evaluation's 'qwen-boxed' (used by SimpleRL-Zoo): a generic system prompt, "
            "the boxed directive after the problem.",
            system="You are a helpful assistant.",
            user="{problem}\n" + BOXED_INSTRUCTION,
        ),
        PromptTemplate(
            name="orz",
            version=1,
            description="Open-Reasoner-Zero's training and evaluation prompt (arXiv 2503.24290, Table 5): a plain "
            "completion prompt, no chat template, ending in 'Assistant: <think>'.",
            user="{problem}",
            completion=(
                "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
                "The assistant first thinks about the reasoning process in the mind and then provides the user with "
                "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
                "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
                "</answer>. User: You must put your answer inside <answer> </answer> tags, i.e., <answer> answer "
                "here </answer>. And your final answer will be extracted automatically by the \\boxed{} tag.\n"
                "{problem}\nAssistant: <think>"
            ),
        ),
        PromptTemplate(
            name="plain",
            version=1,
            description="The problem text alone.",
            user="{problem}",
        ),
    )
}


def load_template(spec: str) -> PromptTemplate:
    """A template by name, or from a TOML file with `user` (containing {problem}) and optional
    `system`, `assistant_prefix`, `completion`, `name`, `version`, `description`."""
    if spec in TEMPLATES:
        return TEMPLATES[spec]
    path = Path(spec)
    if not path.is_file():
        raise EvalkitError(
            f"unknown template {spec!r}; choose one of {', '.join(TEMPLATES)} or give a .toml template file"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise EvalkitError(f"{path}: not a valid TOML template ({exc})") from None
    unknown = set(data) - {"name", "version", "description", "user", "system", "assistant_prefix", "completion"}
    if unknown:
        raise EvalkitError(f"{path}: unknown template fields {', '.join(sorted(unknown))}")
    user = data.get("user")
    if not isinstance(user, str) or PROBLEM_FIELD not in user:
        raise EvalkitError(f"{path}: `user` must be text containing {PROBLEM_FIELD}")
    completion = data.get("completion")
    if completion is not None and PROBLEM_FIELD not in completion:
        raise EvalkitError(f"{path}: `completion` must contain {PROBLEM_FIELD}")
    return PromptTemplate(
        name=str(data.get("name", path.stem)),
        version=int(data.get("version", 1)),
        description=str(data.get("description", f"template file {path.name}")),
        user=user,
        system=data.get("system"),
        assistant_prefix=str(data.get("assistant_prefix", "")),
        completion=completion,
    )
