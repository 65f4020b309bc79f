"""What a ProX program writer offers the refinement stage, and the model-free writer behind it.

A writer turns prompts into program text. `refine.refine_documents` asks it for
- `count_chunk_tokens(texts)`: token counts of numbered lines, with the tokenizer the chunk
  prompts are measured in (chunks are packed to a token budget, `chunks.chunk_document`);
- `chunk_budget(max_tokens)`: the chunk budget it can actually take (a model's context must hold
  the chunk, the chat template and the program it writes);
- `doc_programs(documents)`: one document-level program per raw document;
- `chunk_programs(prompts_per_document)`: one chunk-level program per chunk prompt, grouped by
  document (the rule writer reads a document's chunks together; a model writes each alone).
Each program comes back as a `WrittenProgram`: its text, or the reason the writer could not write
it (`prox.prompt_too_long`), and whether generation stopped at its token limit.

Backends: `RuleProgramWriter` here (no model, `rule_writer`), and the model writers of
`core.prox.backends` (transformers, vLLM).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from core.prox.rule_writer import RuleWriter, RuleWriterParams

PROMPT_TOO_LONG = "prox.prompt_too_long"  # the prompt does not fit the model's context


@dataclass(frozen=True)
class WrittenProgram:
    text: str  # the program as written ("" when the writer could not write one)
    error: str | None = None  # stable reason when no program was written
    detail: str = ""
    new_tokens: int = 0  # tokens generated (0 for the rule writer)
    truncated: bool = False  # generation stopped at its max new tokens, not at end of sequence


class ProgramWriter(Protocol):
    name: str  # recorded with every program (refined/programs.backend)

    def count_chunk_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def chunk_budget(self, max_tokens: int) -> int: ...

    def doc_programs(self, documents: Sequence[str]) -> list[WrittenProgram]: ...

    def chunk_programs(self, prompts: Sequence[Sequence[str]]) -> list[list[WrittenProgram]]: ...


def approx_token_count(text: str) -> int:
    """About 4 characters per token of an English BPE, plus the BOS token that the released chunk
    packing counts on every line (`len(tokenizer.encode(line))`). Only the rule writer uses it,
    to cut chunks near where a 32k-vocabulary Llama tokenizer would; no model reads them."""
    return 1 + (len(text) + 3) // 4


@dataclass(frozen=True)
class RuleProgramWriter:
    """`rule_writer` behind the writer interface: no model, no tokenizer, no context limit."""

    params: RuleWriterParams = field(default_factory=RuleWriterParams)
    name: str = "rule"

    def count_chunk_tokens(self, texts: Sequence[str]) -> list[int]:
        return [approx_token_count(text) for text in texts]

    def chunk_budget(self, max_tokens: int) -> int:
        return max_tokens

    def doc_programs(self, documents: Sequence[str]) -> list[WrittenProgram]:
        writer = RuleWriter(self.params)
        return [WrittenProgram(writer.doc_program(document)) for document in documents]

    def chunk_programs(self, prompts: Sequence[Sequence[str]]) -> list[list[WrittenProgram]]:
        writer = RuleWriter(self.params)
        return [[WrittenProgram(text) for text in writer.chunk_programs(list(document))] if document else []
                for document in prompts]
