"""Counts of a refinement run that merge across batches, and a few before/after examples.

Each batch of documents gives a `RefinementStats` (plain counters, JSON round-trip); the driver
merges them. Rates are computed at the end and guard their denominators. The figures ProX reports
are token retentions (RedPajama-V2: the document stage kept 19.0 of 62.5B tokens, the chunk stage
16.0 of those 19.0); here retention is measured in characters and words, which any writer has.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from core.prox.execute import DROP
from core.prox.refine import CHUNK_STAGE, DOC_STAGE, DocumentRefinement

MAX_EXAMPLES = 3  # before/after examples kept per batch and per run
_EXAMPLE_LINES = 5  # removed lines shown per example
_EXAMPLE_LINE_CHARS = 160


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


@dataclass
class RefinementStats:
    entered: int = 0
    actions: Counter = field(default_factory=Counter)  # final action -> documents
    reasons: Counter = field(default_factory=Counter)  # "<action>: <reason>" -> documents
    dropped_by_stage: Counter = field(default_factory=Counter)  # doc | chunk | input -> documents
    error_reasons: Counter = field(default_factory=Counter)  # "<stage>: <reason>" -> errors
    documents_with_errors: int = 0
    doc_stage_errors: int = 0  # documents whose document-level program had an error
    chunk_stage_errors: int = 0  # documents whose chunk programs had an error
    chunks: int = 0
    lines: int = 0
    lines_removed: int = 0
    chars_before: int = 0
    chars_after_doc_stage: int = 0  # characters of the documents the document stage kept
    chars_after: int = 0
    words_before: int = 0
    words_after_doc_stage: int = 0
    words_after: int = 0
    chars_changed: int = 0
    new_tokens: int = 0
    truncated_generations: int = 0
    examples: list = field(default_factory=list)  # dicts, see `example`

    def add(self, doc_id: str, outcome: DocumentRefinement, original: str | None) -> None:
        self.entered += 1
        self.actions[outcome.action] += 1
        if outcome.reason:
            self.reasons[f"{outcome.action}: {outcome.reason}"] += 1
        if outcome.action == DROP:
            self.dropped_by_stage[outcome.decided_by] += 1
        for stage, errors in ((DOC_STAGE, outcome.doc_errors), (CHUNK_STAGE, outcome.chunk_errors)):
            self.error_reasons.update(f"{stage}: {e.reason}" for e in errors)
        self.documents_with_errors += outcome.n_errors > 0
        self.doc_stage_errors += bool(outcome.doc_errors)
        self.chunk_stage_errors += bool(outcome.chunk_errors)
        self.chunks += len(outcome.chunk_programs)
        self.lines += outcome.n_lines
        self.lines_removed += outcome.n_lines_removed
        kept_by_doc = not (outcome.action == DROP and outcome.decided_by != CHUNK_STAGE)
        self.chars_before += outcome.chars_before
        self.chars_after_doc_stage += outcome.chars_before if kept_by_doc else 0
        self.chars_after += outcome.chars_after
        self.words_before += outcome.words_before
        self.words_after_doc_stage += outcome.words_before if kept_by_doc else 0
        self.words_after += outcome.words_after
        self.chars_changed += outcome.chars_changed
        self.new_tokens += outcome.new_tokens
        self.truncated_generations += outcome.truncated_generations
        if original is not None and outcome.chars_changed:
            self._offer(example(doc_id, outcome, original))

    def _offer(self, candidate: dict) -> None:
        self.examples.append(candidate)
        self.examples.sort(key=lambda e: (-e["chars_changed"], e["doc_id"]))
        del self.examples[MAX_EXAMPLES:]

    def merge(self, other: "RefinementStats") -> "RefinementStats":
        for name, value in vars(other).items():
            if name == "examples":
                for candidate in value:
                    self._offer(candidate)
            else:
                setattr(self, name, getattr(self, name) + value)
        return self

    # rates ------------------------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        return self.actions[DROP]

    @property
    def drop_rate(self) -> float:
        return _ratio(self.dropped, self.entered)

    @property
    def error_rate(self) -> float:
        """Documents with at least one program error (either stage) / documents that entered."""
        return _ratio(self.documents_with_errors, self.entered)

    @property
    def lines_removed_share(self) -> float:
        """Lines removed by accepted chunk programs / lines of every document that entered."""
        return _ratio(self.lines_removed, self.lines)

    @property
    def doc_stage_char_retention(self) -> float:
        return _ratio(self.chars_after_doc_stage, self.chars_before)

    @property
    def chunk_stage_char_retention(self) -> float:
        """Characters kept by the chunk stage / characters of what the document stage kept."""
        return _ratio(self.chars_after, self.chars_after_doc_stage)

    @property
    def doc_stage_word_retention(self) -> float:
        return _ratio(self.words_after_doc_stage, self.words_before)

    @property
    def chunk_stage_word_retention(self) -> float:
        return _ratio(self.words_after, self.words_after_doc_stage)

    # JSON -------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({name: (dict(value) if isinstance(value, Counter) else value)
                           for name, value in vars(self).items()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RefinementStats":
        data = json.loads(text)
        stats = cls()
        for name, value in data.items():
            setattr(stats, name, Counter(value) if isinstance(getattr(stats, name), Counter) else value)
        return stats


def batch_stats(doc_ids: Sequence[str], outcomes: Sequence[DocumentRefinement],
                originals: Sequence[str | None]) -> RefinementStats:
    stats = RefinementStats()
    for doc_id, outcome, original in zip(doc_ids, outcomes, originals):
        stats.add(doc_id, outcome, original)
    return stats


def merge_stats(parts: Iterable[RefinementStats]) -> RefinementStats:
    total = RefinementStats()
    for part in parts:
        total.merge(part)
    return total


def _clip(line: str) -> str:
    return line if len(line) <= _EXAMPLE_LINE_CHARS else line[: _EXAMPLE_LINE_CHARS - 1] + "…"


def example(doc_id: str, outcome: DocumentRefinement, original: str) -> dict:
    """A before/after summary of one refined document: the lines removed and the programs."""
    lines = original.split("\n")
    removed = [f"[{i:03d}]{_clip(lines[i])}" for start, end in outcome.lines_removed
               for i in range(start, end + 1) if i < len(lines)]
    programs = [p for p in outcome.chunk_programs if p.strip()]
    return {
        "doc_id": doc_id,
        "action": outcome.action,
        "chars_before": outcome.chars_before,
        "chars_after": outcome.chars_after,
        "chars_changed": outcome.chars_changed,
        "n_lines_removed": outcome.n_lines_removed,
        "removed_lines": removed[:_EXAMPLE_LINES] + ([f"... {len(removed) - _EXAMPLE_LINES} more"]
                                                      if len(removed) > _EXAMPLE_LINES else []),
        "program": "\n".join(programs)[:1_000],
        "after_start": _clip(outcome.text[:_EXAMPLE_LINE_CHARS * 2].replace("\n", " / ")),
    }
