"""Cut a document into the numbered chunks the chunk-level ProX model sees.

As the released `trunc_text` (`data_gen/tasks/apply_chunk_refining.py`): the document is split on
`"\\n"`; every line is numbered globally across the document, `[000]`, `[001]`, ... with no space
after the bracket (`f"[{i:03d}]"`, so line 1000 is `[1000]`); lines are packed greedily, in order,
into chunks whose summed token counts of the numbered lines stay within the budget (1,500); a line
that does not fit closes the chunk; a line over the budget on its own gets a chunk of its own.

The token count is a parameter (`count_tokens(numbered_line) -> int`), so this module needs no
tokenizer. The released code counts `len(tokenizer.encode(numbered_line))` with the refining
model's tokenizer, which adds a BOS token to every line; pass such a function to reproduce it. As
released, the newlines that join lines and the `[doc]` wrapper are not counted.

Difference: released sends no prompt for an empty document (and its executor then divides by
zero); here the empty document has no chunks and the executor drops it (`prox.too_few_words`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

CHUNK_MAX_TOKENS = 1_500  # ProX apply_chunk_refining.py trunc_text(max_token=1500)

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class Chunk:
    index: int  # position among the document's chunks
    first_line: int  # global 0-based number of its first line
    last_line: int  # global number of its last line (inclusive)
    numbered_text: str  # "[000]first line\n[001]second line" (no [doc] wrapper)
    n_tokens: int  # summed token counts of its numbered lines


def number_line(index: int, line: str) -> str:
    """`[007]text`: three digits at least, more when needed, no space after the bracket (released)."""
    return f"[{index:03d}]{line}"


def _count(count_tokens: CountTokens, text: str) -> int:
    n = count_tokens(text)
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"count_tokens must return a non-negative int, got {n!r}")
    return n


def chunk_document(text: str, count_tokens: CountTokens, max_tokens: int = CHUNK_MAX_TOKENS) -> tuple[Chunk, ...]:
    """The chunks of `text`, covering every line once, in order; () for the empty document."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    if text == "":
        return ()
    chunks: list[Chunk] = []
    current: list[str] = []
    current_tokens = 0
    first = 0

    def close(last_line: int) -> None:
        chunks.append(Chunk(len(chunks), first, last_line, "\n".join(current), current_tokens))

    for i, line in enumerate(text.split("\n")):
        numbered = number_line(i, line)
        n = _count(count_tokens, numbered)
        if current and current_tokens + n > max_tokens:
            close(i - 1)
            current, current_tokens, first = [], 0, i
        current.append(numbered)
        current_tokens += n
        if current_tokens > max_tokens:  # a line over the budget alone
            close(i)
            current, current_tokens, first = [], 0, i + 1
    if current:
        close(first + len(current) - 1)
    return tuple(chunks)
