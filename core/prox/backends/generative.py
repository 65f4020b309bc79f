"""A program writer on top of any token generator: ProX's prompts, budgets and decoding settings.

The generator (transformers or vLLM) only turns prompt token ids into text, greedily, stopping at
the end of sequence or at a token limit. This class does the rest as the released code does:
- document stage: the raw document cut to `doc_max_tokens` tokens (`prompts.doc_prompt`), in the
  document chat format, at most `doc_max_new_tokens` new tokens (2,000);
- chunk stage: every chunk prompt in the chunk chat format, at most `chunk_max_new_tokens` (256);
  chunk lines are counted with the chunk model's tokenizer as released (`len(tokenizer(line))`,
  special tokens included);
- outputs stripped of spaces (`.strip(" ")`, released).

Budgets against the model's context (not in the released code, which sizes them for ProX's 2,048
positions by hand): the document is cut so that the rendered prompt leaves
`doc_reserve_new_tokens` positions (48, as released: 2,048 - 2,000); the chunk budget is lowered so
that a chunk, its template and `chunk_max_new_tokens` fit the context; and a prompt's new tokens are
capped at the positions left. A prompt that still does not fit (one line longer than the chunk
budget) is not generated: its program is the error `prox.prompt_too_long`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from core.prox.chat import ChatRenderer
from core.prox.prompts import DOC_MAX_TOKENS, doc_prompt
from core.prox.writer import PROMPT_TOO_LONG, WrittenProgram


@dataclass(frozen=True)
class GenerationSettings:
    doc_max_new_tokens: int = 2_000  # ProX apply_doc_refining.py SamplingParams(max_tokens=2000)
    chunk_max_new_tokens: int = 256  # ProX apply_chunk_refining.py SamplingParams(max_tokens=256)
    doc_max_tokens: int = DOC_MAX_TOKENS  # ProX apply_chat_template(truncation=True, max_length=2000)
    doc_reserve_new_tokens: int = 48  # released leaves 2,048 - 2,000 positions for the document program
    doc_chat_format: str = "llama2"  # released: Llama-2-chat's template (--token_template)
    chunk_chat_format: str = "auto"  # released: the chunk model's own template

    def __post_init__(self):
        for name in ("doc_max_new_tokens", "chunk_max_new_tokens", "doc_max_tokens", "doc_reserve_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class Generation:
    text: str  # decoded new tokens, special tokens skipped, end of sequence excluded
    new_tokens: int
    finished: bool  # stopped at end of sequence (False: cut at the token limit)


class TokenGenerator(Protocol):
    name: str
    tokenizer: Any
    context_length: int

    def generate(self, prompts: list[list[int]], max_new_tokens: list[int]) -> list[Generation]: ...


class GenerativeProgramWriter:
    """The `writer.ProgramWriter` of a model backend: one generator per stage (may be the same)."""

    def __init__(self, doc: TokenGenerator | None, chunk: TokenGenerator | None,
                 settings: GenerationSettings = GenerationSettings(), name: str | None = None):
        if doc is None and chunk is None:
            raise ValueError("a model writer needs a document model, a chunk model or both")
        self.doc, self.chunk, self.settings = doc, chunk, settings
        self.doc_chat = ChatRenderer.for_tokenizer(doc.tokenizer, settings.doc_chat_format) if doc else None
        self.chunk_chat = ChatRenderer.for_tokenizer(chunk.tokenizer, settings.chunk_chat_format) if chunk else None
        self.name = name or _name(doc, chunk)
        self._doc_overhead = self.doc_chat.overhead() if doc else 0
        self._chunk_overhead = self.chunk_chat.overhead() if chunk else 0

    # chunk stage ---------------------------------------------------------------------------------
    def count_chunk_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self._need(self.chunk, "chunk").tokenizer(list(texts))["input_ids"]]

    def chunk_budget(self, max_tokens: int) -> int:
        chunk = self._need(self.chunk, "chunk")
        room = chunk.context_length - self._chunk_overhead - self.settings.chunk_max_new_tokens
        if room < 1:
            raise ValueError(f"{chunk.name}: a context of {chunk.context_length} tokens cannot hold the chunk "
                             f"template and {self.settings.chunk_max_new_tokens} new tokens")
        return min(max_tokens, room)

    def chunk_programs(self, prompts: Sequence[Sequence[str]]) -> list[list[WrittenProgram]]:
        chunk = self._need(self.chunk, "chunk")
        flat = [prompt for document in prompts for prompt in document]
        written = self._generate(chunk, self.chunk_chat.ids(flat), self.settings.chunk_max_new_tokens)
        grouped, start = [], 0
        for document in prompts:
            grouped.append(written[start: start + len(document)])
            start += len(document)
        return grouped

    # document stage ------------------------------------------------------------------------------
    def doc_budget(self) -> int:
        doc = self._need(self.doc, "doc")
        room = doc.context_length - self._doc_overhead - self.settings.doc_reserve_new_tokens
        if room < 1:
            raise ValueError(f"{doc.name}: a context of {doc.context_length} tokens cannot hold the document "
                             f"template and {self.settings.doc_reserve_new_tokens} new tokens")
        return min(self.settings.doc_max_tokens, room)

    def doc_programs(self, documents: Sequence[str]) -> list[WrittenProgram]:
        doc = self._need(self.doc, "doc")
        budget = self.doc_budget()
        tokenizer = doc.tokenizer

        def count(text: str) -> int:
            return len(tokenizer(text, add_special_tokens=False)["input_ids"])

        users = [doc_prompt(document, count, budget) for document in documents]
        return self._generate(doc, self.doc_chat.ids(users), self.settings.doc_max_new_tokens)

    # shared --------------------------------------------------------------------------------------
    def _need(self, generator: TokenGenerator | None, stage: str) -> TokenGenerator:
        if generator is None:
            raise ValueError(f"this writer has no {stage} model (its stage was switched off)")
        return generator

    @staticmethod
    def _generate(generator: TokenGenerator, prompts: list[list[int]], max_new: int) -> list[WrittenProgram]:
        written: list[WrittenProgram | None] = [None] * len(prompts)
        runnable = []
        for i, ids in enumerate(prompts):
            room = generator.context_length - len(ids)
            if room < 1:
                detail = f"{len(ids)} prompt tokens, context {generator.context_length}"
                written[i] = WrittenProgram("", PROMPT_TOO_LONG, detail)
            else:
                runnable.append((i, ids, min(max_new, room)))
        if runnable:
            outputs = generator.generate([ids for _, ids, _ in runnable], [limit for _, _, limit in runnable])
            if len(outputs) != len(runnable):
                raise RuntimeError(f"{generator.name} returned {len(outputs)} generations for {len(runnable)} prompts")
            for (i, _, _), out in zip(runnable, outputs):
                written[i] = WrittenProgram(out.text.strip(" "), new_tokens=out.new_tokens, truncated=not out.finished)
        return written


def _name(doc: TokenGenerator | None, chunk: TokenGenerator | None) -> str:
    names = [g.name for g in (doc, chunk) if g is not None]
    return "+".join(dict.fromkeys(names))
