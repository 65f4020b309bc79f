"""The user-message text of ProX's two stages, exactly as the released code builds it.

Chunk stage (`apply_chunk_refining.py`): each chunk of `chunks.chunk_document` wrapped as
`f"[doc]\\n{chunk}\\n[/doc]"`. Document stage (`apply_doc_refining.py`): the raw document.

Both are then put in a chat with the system message `SYSTEM_PROMPT` and the refining model's chat
template by a model backend (not here). Difference in the document stage: released truncates the
*templated* token ids to 2,000 (`apply_chat_template(..., truncation=True, max_length=2000)`), so
for a long document the system message counts against the budget and the end of the template (the
generation prompt) is cut off with the text. Here the raw document is truncated to 2,000 tokens
before templating, so the template stays whole; a backend that must match released token for token
can template first and truncate the ids instead.
"""
from __future__ import annotations

import re

from core.prox.chunks import CHUNK_MAX_TOKENS, Chunk, CountTokens, chunk_document

# ProX apply_doc_refining.py / apply_chunk_refining.py, the system turn of every prompt
SYSTEM_PROMPT = "You are a helpful, respectful and honest assistant."
DOC_MAX_TOKENS = 2_000  # ProX apply_doc_refining.py apply_chat_template(max_length=2000)

CHUNK_OPEN = "[doc]\n"
CHUNK_CLOSE = "\n[/doc]"
_NUMBERED_LINE = re.compile(r"\[(\d{3,})\](.*)", re.DOTALL)


def chunk_prompt(chunk: Chunk) -> str:
    return f"{CHUNK_OPEN}{chunk.numbered_text}{CHUNK_CLOSE}"


def chunk_prompts(
    text: str, count_tokens: CountTokens, max_tokens: int = CHUNK_MAX_TOKENS
) -> tuple[tuple[Chunk, ...], tuple[str, ...]]:
    """The chunks of a document and the user message of each."""
    chunks = chunk_document(text, count_tokens, max_tokens)
    return chunks, tuple(chunk_prompt(chunk) for chunk in chunks)


def parse_chunk_prompt(prompt: str) -> tuple[tuple[int, str], ...]:
    """(global line number, line text) of every line of a chunk prompt; ValueError if it is not one."""
    if not (prompt.startswith(CHUNK_OPEN) and prompt.endswith(CHUNK_CLOSE)):
        raise ValueError("a chunk prompt is wrapped in [doc]\\n ... \\n[/doc]")
    body = prompt[len(CHUNK_OPEN) : len(prompt) - len(CHUNK_CLOSE)]
    lines = []
    for raw in body.split("\n"):
        match = _NUMBERED_LINE.fullmatch(raw)
        if match is None:
            raise ValueError(f"not a numbered line: {raw[:80]!r}")
        lines.append((int(match.group(1)), match.group(2)))
    return tuple(lines)


def truncate_to_tokens(text: str, count_tokens: CountTokens, max_tokens: int) -> str:
    """The longest prefix of `text` whose token count is at most `max_tokens`.

    Only a counting function is needed: the prefix length is found by doubling from 4 characters
    per token, then bisecting, so a long document is never counted whole, only prefixes of about
    twice the length that fits.
    Tokenizers are not strictly monotone in prefix length; the result is always within budget.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    good, probe = 0, min(len(text), 4 * max_tokens)  # count(text[:good]) <= max_tokens
    while count_tokens(text[:probe]) <= max_tokens:
        if probe == len(text):
            return text
        good, probe = probe, min(2 * probe, len(text))
    bad = probe  # count(text[:bad]) > max_tokens
    while bad - good > 1:
        middle = (good + bad) // 2
        if count_tokens(text[:middle]) <= max_tokens:
            good = middle
        else:
            bad = middle
    return text[:good]


def doc_prompt(text: str, count_tokens: CountTokens, max_tokens: int = DOC_MAX_TOKENS) -> str:
    """The document-stage user message: the raw document cut to `max_tokens` tokens."""
    return truncate_to_tokens(text, count_tokens, max_tokens)
