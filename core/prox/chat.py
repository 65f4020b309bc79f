"""How a prompt becomes the token ids a refining model reads: ProX's chat formats.

Every ProX prompt is a two-turn chat: the system message `prompts.SYSTEM_PROMPT`, then the user
message (the raw document, or a `[doc] ... [/doc]` chunk). Released (`data_gen/tasks/`):
- the document stage renders it with the chat template of `meta-llama/Llama-2-7b-chat-hf`
  (`--token_template`), with BOS and EOS taken from the refining model's tokenizer;
- the chunk stage renders it with the chunk model's own tokenizer's template.
ProX's models are Llama-2-vocabulary models whose tokenizer renders the Llama-2 chat format, so
both come to `<s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{user, stripped} [/INST]`.

Formats here:
- `llama2`: that string, written out (the template strips the user message, so does this), with
  the tokenizer's BOS text, tokenized without adding special tokens again;
- `template`: the tokenizer's own `chat_template` (an error when it has none);
- `auto`: `template` when the tokenizer has one, else `llama2` (what the released chunk stage got
  from transformers' default Llama template at the time);
- `plain`: the user message alone, tokenized with the tokenizer's default special tokens (for
  models trained without a chat format).
Difference: released passes the chunk stage's rendered *string* to vLLM, which tokenizes it again
with special tokens, so a template that starts with BOS gives two BOS tokens; here a rendered chat
is tokenized without adding special tokens, so there is one.

The tokenizer is any Hugging Face tokenizer (duck-typed; nothing is imported here).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.prox.prompts import SYSTEM_PROMPT

CHAT_FORMATS = ("auto", "template", "llama2", "plain")


def _check_format(chat_format: str) -> None:
    if chat_format not in CHAT_FORMATS:
        raise ValueError(f"chat_format must be one of {CHAT_FORMATS}, got {chat_format!r}")


def resolve_format(tokenizer: Any, chat_format: str) -> str:
    """`auto` decided for this tokenizer; `template` checked to exist."""
    _check_format(chat_format)
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if chat_format == "auto":
        return "template" if has_template else "llama2"
    if chat_format == "template" and not has_template:
        raise ValueError("chat_format 'template' but the tokenizer has no chat_template "
                         "(use 'llama2' for ProX's models, or 'plain')")
    return chat_format


def llama2_chat(user: str, system: str = SYSTEM_PROMPT, bos: str = "<s>") -> str:
    """The Llama-2 chat format of one system + user turn, as its template renders it."""
    return f"{bos}[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user.strip()} [/INST]"


@dataclass(frozen=True)
class ChatRenderer:
    """Renders user messages into prompt token ids for one tokenizer and one resolved format."""

    tokenizer: Any
    chat_format: str  # resolved: template | llama2 | plain
    system: str = SYSTEM_PROMPT

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, chat_format: str = "auto", system: str = SYSTEM_PROMPT) -> "ChatRenderer":
        return cls(tokenizer, resolve_format(tokenizer, chat_format), system)

    def text(self, user: str) -> str:
        """The rendered prompt as text (for `plain`, the user message itself)."""
        if self.chat_format == "template":
            messages = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        if self.chat_format == "llama2":
            return llama2_chat(user, self.system, self.tokenizer.bos_token or "")
        return user

    def ids(self, users: list[str]) -> list[list[int]]:
        """Prompt token ids of each user message."""
        if not users:
            return []
        texts = [self.text(user) for user in users]
        special = self.chat_format == "plain"
        return [list(ids) for ids in self.tokenizer(texts, add_special_tokens=special)["input_ids"]]

    def overhead(self) -> int:
        """Prompt tokens that are not the user message (the template around an empty message)."""
        return len(self.ids([""])[0])
