"""Apply ProX programs to a document and decide what becomes of it.

Chunk stage, with the released semantics of `execute_operations` / `execute_meta_operations`
(`utils/chunk_utils.py`):
- the chunk programs run in chunk order, calls in program order;
- `normalize` replaces every occurrence of its source in the whole document, immediately, so the
  normalizations run before any line is removed; line numbers refer to the document's lines
  (split on `"\\n"`), which normalization cannot change (a newline in either string is an error);
- `remove_lines` ranges are collected, merged (overlapping or adjacent), and removed at the end;
- `keep_chunk()` changes nothing;
- then, with words counted as `len(text.split())` and `threshold_1=0.0, threshold_2=0.95,
  error_op=2`: kept / original words <= 1 - threshold_2 with fewer than error_op errors -> drop;
  kept words <= 10 -> drop; kept / original >= threshold_1 with fewer than error_op errors -> the
  refined text; otherwise the original text.

Deliberate differences (each keeps an invalid call or program from changing the text):
- A reversed range (`line_start > line_end`) is an error here; released silently removes nothing.
- A range that reaches outside the lines of the chunk whose program it is, is an error here and
  removes nothing; released counts an error only past the document's end (after merging, so two
  bad ranges that merge are one error) and still removes the part of the range that exists. A
  chunk's model never saw the lines of other chunks, so such a number is not a line it meant.
- When a program is rejected (errors >= error_op, or a ratio below threshold_1), "kept words"
  for the 10-word rule are the original's, since nothing of the program is applied; released
  measures the partly applied program even then, so a rejected program could still drop a
  document. Short documents are still dropped, as released.
- A document of no words is dropped as `prox.too_few_words`; released divides by zero.
- A `normalize` that would grow the text by more than `max_growth_chars` beyond the original
  length is an error and not applied (released has no bound: a few calls could grow it without
  limit).
- Each error is counted once, per call (parse errors included: released ignores most bad lines).

Document stage: released drops a document when its program contains the substring "drop". Here
the program must parse to `drop_doc()` or `keep_doc()` (repeats of the same call are accepted);
anything else keeps the original text (`keep_original`, `prox.invalid_doc_program`).

Neither executor raises on any program text; they raise ValueError only for caller mistakes
(chunks that do not tile the document, a chunk and program count that differ).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from core.prox.chunks import Chunk
from core.prox.program import (
    CHUNK_LEVEL,
    DOC_LEVEL,
    Call,
    DropDoc,
    Normalize,
    ProgramError,
    ProgramLimits,
    RemoveLines,
    parse_program,
)

DROP = "drop"
REFINE = "refine"
KEEP_ORIGINAL = "keep_original"
KEEP = "keep"
ACTIONS = (DROP, REFINE, KEEP_ORIGINAL, KEEP)

# errors of a call that parsed but cannot be applied to this document
REVERSED_RANGE = "prox.reversed_range"
LINE_OUT_OF_RANGE = "prox.line_out_of_range"
NORMALIZE_GROWTH = "prox.normalize_growth"
CONFLICTING_DOC_CALLS = "prox.conflicting_doc_calls"
EMPTY_DOC_PROGRAM = "prox.empty_doc_program"

# reasons of a decision
REMOVED_MOST = "prox.removed_most"
TOO_FEW_WORDS = "prox.too_few_words"
TOO_MANY_ERRORS = "prox.too_many_errors"
BELOW_THRESHOLD_1 = "prox.below_threshold_1"
DROP_DOC = "prox.drop_doc"
INVALID_DOC_PROGRAM = "prox.invalid_doc_program"


@dataclass(frozen=True)
class ExecutionParams:
    threshold_1: float = 0.0  # ProX apply_chunk_refining.py --threshold_1 0.0 (keep refined at or above)
    threshold_2: float = 0.95  # ProX --threshold_2 0.95: drop at kept/original words <= 1 - 0.95
    error_op: int = 2  # ProX --error_op 2: with this many errors the program is ignored
    drop_at_most_words: int | None = 10  # ProX chunk_utils "len_processed_text <= 10" (from FineWeb)
    max_growth_chars: int = 10_000  # not ProX: bound on how much normalize may grow a document
    limits: ProgramLimits = field(default_factory=ProgramLimits)


@dataclass(frozen=True)
class RefinementResult:
    action: str  # one of ACTIONS
    reason: str | None  # why it was dropped or kept original; None for refine / keep
    text: str  # the text to keep ("" when dropped)
    calls: tuple[Call, ...]  # every call that parsed, in execution order (applied or not)
    errors: tuple[ProgramError, ...]
    lines_removed: tuple[tuple[int, int], ...]  # merged ranges removed by an accepted program
    n_lines_removed: int
    chars_changed: int  # characters replaced by normalize plus removed lines (with their newline)
    words_before: int
    words_after: int  # words of the text the decision measured (the refined text, or the original)


def count_words(text: str) -> int:
    """Words as ProX counts them: `len(text.split())`."""
    return len(text.split())


def merge_intervals(intervals: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, with overlapping and adjacent ranges joined, as released `merge_intervals`."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class Decision:
    action: str  # DROP, REFINE or KEEP_ORIGINAL (the executor turns an unchanged REFINE into KEEP)
    reason: str | None
    program_applied: bool  # the decision measured the refined text, not the original


def decide(
    words_before: int, words_refined: int, n_errors: int, params: ExecutionParams = ExecutionParams()
) -> Decision:
    """ProX's chunk-stage decision from word counts and the number of errors."""
    ratio = words_refined / words_before if words_before else 0.0
    accepted = n_errors < params.error_op
    if accepted and words_before and ratio <= 1 - params.threshold_2:
        return Decision(DROP, REMOVED_MOST, True)
    reason = None if accepted else TOO_MANY_ERRORS
    if accepted and ratio < params.threshold_1:
        accepted, reason = False, BELOW_THRESHOLD_1
    kept_words = words_refined if accepted else words_before
    too_few = params.drop_at_most_words is not None and kept_words <= params.drop_at_most_words
    if too_few or words_before == 0:
        return Decision(DROP, TOO_FEW_WORDS, accepted)
    return Decision(REFINE, None, True) if accepted else Decision(KEEP_ORIGINAL, reason, False)


def _check_tiling(text: str, chunks: Sequence[Chunk], programs: Sequence[str]) -> int:
    if len(chunks) != len(programs):
        raise ValueError(f"{len(chunks)} chunks but {len(programs)} programs")
    n_lines = 0 if text == "" else text.count("\n") + 1
    expected = 0
    for chunk in chunks:
        if chunk.first_line != expected or chunk.last_line < chunk.first_line:
            raise ValueError(f"chunk {chunk.index} covers lines {chunk.first_line}-{chunk.last_line}, expected {expected}-")
        expected = chunk.last_line + 1
    if expected != n_lines:
        raise ValueError(f"chunks cover {expected} lines, the text has {n_lines}")
    return n_lines


@dataclass
class _Run:
    """What the calls of an accepted-so-far program did to the document."""

    text: str
    max_chars: int
    ranges: list[tuple[int, int]] = field(default_factory=list)
    chars_normalized: int = 0
    errors: list[ProgramError] = field(default_factory=list)

    def remove(self, call: RemoveLines, chunk: Chunk, line: int) -> None:
        start, end = call.line_start, call.line_end
        if start > end:
            self.errors.append(ProgramError(REVERSED_RANGE, f"line_start {start} > line_end {end}", chunk.index, line))
        elif start < chunk.first_line or end > chunk.last_line:
            detail = f"lines {start}-{end} outside chunk lines {chunk.first_line}-{chunk.last_line}"
            self.errors.append(ProgramError(LINE_OUT_OF_RANGE, detail, chunk.index, line))
        else:
            self.ranges.append((start, end))

    def normalize(self, call: Normalize, chunk: Chunk, line: int) -> None:
        count = self.text.count(call.source_str)
        grown = len(self.text) + count * (len(call.target_str) - len(call.source_str))
        if grown > self.max_chars:
            detail = f"would grow the text to {grown} characters > {self.max_chars}"
            self.errors.append(ProgramError(NORMALIZE_GROWTH, detail, chunk.index, line))
            return
        if count:
            self.text = self.text.replace(call.source_str, call.target_str)
            self.chars_normalized += count * len(call.source_str)


def _run_programs(text: str, chunks: Sequence[Chunk], programs: Sequence[str], params: ExecutionParams):
    run = _Run(text, len(text) + params.max_growth_chars)
    calls: list[Call] = []
    for chunk, program in zip(chunks, programs):
        parsed = parse_program(program, CHUNK_LEVEL, params.limits, chunk.index)
        run.errors.extend(parsed.errors)
        for call, line in zip(parsed.calls, parsed.call_lines):
            calls.append(call)
            if isinstance(call, RemoveLines):
                run.remove(call, chunk, line)
            elif isinstance(call, Normalize):
                run.normalize(call, chunk, line)
    return run, tuple(calls)


def _remove_lines(text: str, ranges: tuple[tuple[int, int], ...]) -> tuple[str, int, int]:
    """(text without the ranges, lines removed, characters removed including newlines)."""
    lines = text.split("\n")
    removed = [False] * len(lines)
    for start, end in ranges:
        removed[start : end + 1] = [True] * (end + 1 - start)
    kept = [line for line, gone in zip(lines, removed) if not gone]
    n_removed = len(lines) - len(kept)
    chars = sum(len(line) + 1 for line, gone in zip(lines, removed) if gone)
    return "\n".join(kept), n_removed, chars


def execute_chunk_programs(
    text: str, chunks: Sequence[Chunk], programs: Sequence[str], params: ExecutionParams = ExecutionParams(),
    writer_errors: Sequence[ProgramError] = (),
) -> RefinementResult:
    """Run one program per chunk on `text` (chunks from `chunks.chunk_document(text, ...)`) and decide.

    `writer_errors` are failures of the program writer itself (a chunk whose prompt did not fit
    the model, so it has no program): they are reported first and count against `error_op` like
    any other error, so a document whose chunks the model could not see is kept as it was.
    """
    _check_tiling(text, chunks, programs)
    run, calls = _run_programs(text, chunks, programs, params)
    ranges = merge_intervals(run.ranges)
    refined, n_removed, chars_removed = _remove_lines(run.text, ranges)
    errors = tuple(writer_errors) + tuple(run.errors)
    words_before, words_refined = count_words(text), count_words(refined)
    decision = decide(words_before, words_refined, len(errors), params)
    applied = decision.program_applied
    action = KEEP if decision.action == REFINE and refined == text else decision.action
    kept_text = {DROP: "", KEEP_ORIGINAL: text}.get(action, refined)
    return RefinementResult(
        action=action,
        reason=decision.reason,
        text=kept_text,
        calls=calls,
        errors=errors,
        lines_removed=ranges if applied else (),
        n_lines_removed=n_removed if applied else 0,
        chars_changed=run.chars_normalized + chars_removed if applied else 0,
        words_before=words_before,
        words_after=words_refined if applied else words_before,
    )


def _doc_errors(calls: tuple[Call, ...]) -> tuple[ProgramError, ...]:
    if not calls:
        return (ProgramError(EMPTY_DOC_PROGRAM, "no drop_doc() or keep_doc() call"),)
    if len(set(calls)) > 1:
        return (ProgramError(CONFLICTING_DOC_CALLS, "both drop_doc() and keep_doc()"),)
    return ()


def execute_doc_program(text: str, program: str, params: ExecutionParams = ExecutionParams()) -> RefinementResult:
    """The document-stage decision: `drop_doc()` drops, `keep_doc()` keeps, anything else keeps the original."""
    parsed = parse_program(program, DOC_LEVEL, params.limits)
    errors = parsed.errors or _doc_errors(parsed.calls)
    words = count_words(text)
    if errors:
        action, reason, kept = KEEP_ORIGINAL, INVALID_DOC_PROGRAM, text
    elif isinstance(parsed.calls[0], DropDoc):
        action, reason, kept = DROP, DROP_DOC, ""
    else:  # KeepDoc, the only other document-level call
        action, reason, kept = KEEP, None, text
    return RefinementResult(action, reason, kept, parsed.calls, errors, (), 0, 0, words, words)
