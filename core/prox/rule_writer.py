"""A ProX program writer that needs no model: heuristics that emit the same program language.

It reads the same prompts a model would (the raw document for the document stage, the numbered
chunk prompts for the chunk stage) and returns program text, so the executor meets realistic
programs and the pipeline runs end to end on a machine without a GPU. It is deliberately
conservative: it removes
- lines matching a boilerplate rule (`boilerplate.boilerplate_rule`: skip links, menus and
  breadcrumbs, share / login / subscribe lines, read-more and post-navigation links, comment
  forms, cookie banners, copyright footers, footer links, script fragments);
- in the head (before the first prose line) and the tail (after the last prose line), runs of at
  least `min_run_lines` non-prose lines (navigation, sidebars, link lists), keeping the first line
  of the document (usually the page title); between prose lines, such runs only when at least
  `block_boilerplate_share` of their lines are boilerplate (a comment form, a share block);
- later copies of a short non-prose line repeated in the document;
- blank lines between two removed lines;
and normalises no-break spaces, zero-width characters, soft hyphens and, in documents without
indented lines, runs of spaces, each with one `normalize` in the chunk where it first occurs.
A prose line is never removed by the run or repeat rules. `drop_doc()` is written when less than
`min_prose_share` of the document's characters are in prose lines.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from core.prox.boilerplate import BLANK, BOILERPLATE, PROSE, LineRuleParams, line_kind, words_of
from core.prox.program import DropDoc, KeepChunk, KeepDoc, Normalize, RemoveLines, format_call, format_program
from core.prox.prompts import parse_chunk_prompt

# character -> replacement; ours (ProX's models learn their own normalizations)
CHARACTER_NORMALIZATIONS = (("\u00a0", " "), ("\u200b", ""), ("\ufeff", ""), ("\u00ad", ""))
_MIDLINE_SPACES = re.compile(r"\S {2,}(?=\S)")
_MAX_SPACE_PASSES = 6  # each `normalize("  ", " ")` halves a run of spaces


@dataclass(frozen=True)
class RuleWriterParams:
    lines: LineRuleParams = field(default_factory=LineRuleParams)
    min_run_lines: int = 3  # head/tail runs of this many non-prose lines are navigation (ours)
    block_boilerplate_share: float = 0.5  # a mid-document run this boilerplate goes whole (ours)
    repeat_max_words: int = 10  # repeated non-prose lines of 2..this many words lose later copies (ours)
    min_prose_share: float = 0.1  # drop_doc() below this share of characters in prose lines (ours)
    normalize_whitespace: bool = True


def prose_share(lines: Sequence[str], params: RuleWriterParams = RuleWriterParams()) -> float:
    """Characters in prose lines / characters in non-blank lines (0.0 for a blank document)."""
    total = prose = 0
    for line in lines:
        size = len(line.strip())
        total += size
        if line_kind(line, params.lines)[0] == PROSE:
            prose += size
    return prose / total if total else 0.0


def write_doc_program(prompt: str, params: RuleWriterParams = RuleWriterParams()) -> str:
    """`drop_doc()` when nearly nothing of the document is prose, else `keep_doc()`."""
    keep = prose_share(prompt.split("\n"), params) >= params.min_prose_share
    return format_call(KeepDoc() if keep else DropDoc())


def _runs(indices: Sequence[int], kinds: Sequence[str]) -> list[list[int]]:
    """Maximal groups of non-blank lines among `indices`, blank lines not breaking a group."""
    runs: list[list[int]] = [[]]
    for i in indices:
        if kinds[i] == PROSE:
            runs.append([])
        elif kinds[i] != BLANK:
            runs[-1].append(i)
    return [run for run in runs if run]


def _run_removals(kinds: Sequence[str], params: RuleWriterParams) -> dict[int, str]:
    """Head and tail runs of non-prose lines; elsewhere only runs that are mostly boilerplate."""
    prose = [i for i, kind in enumerate(kinds) if kind == PROSE]
    if not prose:
        return {}
    title = next((i for i, kind in enumerate(kinds) if kind != BLANK), None)
    removed: dict[int, str] = {}
    for rule, region in (
        ("head_run", range(0, prose[0])),
        ("tail_run", range(prose[-1] + 1, len(kinds))),
        ("boilerplate_block", range(prose[0] + 1, prose[-1])),
    ):
        for run in _runs(region, kinds):
            if len(run) < params.min_run_lines:
                continue
            n_boilerplate = sum(kinds[i] == BOILERPLATE for i in run)
            if rule != "boilerplate_block" or n_boilerplate >= params.block_boilerplate_share * len(run):
                removed.update((i, rule) for i in run if not (i == title and kinds[i] != BOILERPLATE))
    return removed


def _repeats(lines: Sequence[str], kinds: Sequence[str], params: RuleWriterParams) -> dict[int, str]:
    keys = [line.strip() for line in lines]
    counts = Counter(keys)
    seen: set[str] = set()
    removed: dict[int, str] = {}
    for i, key in enumerate(keys):
        repeatable = kinds[i] not in (BLANK, PROSE) and 2 <= len(words_of(key)) <= params.repeat_max_words
        if repeatable and counts[key] > 1 and any(c.isalpha() for c in key):
            if key in seen:
                removed[i] = "repeated_line"
            seen.add(key)
    return removed


def plan_removals(lines: Sequence[str], params: RuleWriterParams = RuleWriterParams()) -> dict[int, str]:
    """Line number -> the rule that removes it, for a whole document's lines."""
    classified = [line_kind(line, params.lines) for line in lines]
    kinds = [kind for kind, _ in classified]
    removed = {i: rule for i, (kind, rule) in enumerate(classified) if kind == BOILERPLATE}
    for extra in (_run_removals(kinds, params), _repeats(lines, kinds, params)):
        for i, rule in extra.items():
            removed.setdefault(i, rule)
    return removed | _blanks_between(kinds, removed)


def _blanks_between(kinds: Sequence[str], removed: dict[int, str]) -> dict[int, str]:
    """Blank lines whose nearest non-blank neighbours on both sides are removed (one pass each way)."""
    previous_removed, before = False, []
    for i, kind in enumerate(kinds):
        if kind != BLANK:
            previous_removed = i in removed
        before.append(previous_removed)
    blanks, next_removed = {}, False
    for i in range(len(kinds) - 1, -1, -1):
        if kinds[i] != BLANK:
            next_removed = i in removed
        elif before[i] and next_removed:
            blanks[i] = "blank_between_removed"
    return blanks


def _ranges(numbers: Sequence[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    return ranges


def _normalizations(lines: Sequence[str]) -> list[tuple[int, Normalize]]:
    """(line where it first applies, call) for each whitespace normalization the document needs."""
    found: list[tuple[int, Normalize]] = []
    for char, replacement in CHARACTER_NORMALIZATIONS:
        first = next((i for i, line in enumerate(lines) if char in line), None)
        if first is not None:
            found.append((first, Normalize(char, replacement)))
    if any(line[:1].isspace() for line in lines):
        return found  # indentation may matter (code, verse): leave spaces alone
    longest, first = 0, None
    for i, line in enumerate(lines):
        for match in _MIDLINE_SPACES.finditer(line):
            longest = max(longest, len(match.group()) - 1)
            first = i if first is None else first
    if first is not None:
        passes = min(_MAX_SPACE_PASSES, math.ceil(math.log2(longest)))
        found.extend((first, Normalize("  ", " ")) for _ in range(passes))
    return found


def _document_lines(prompts: Sequence[str]) -> tuple[list[str], list[tuple[int, int]]]:
    lines: list[str] = []
    spans: list[tuple[int, int]] = []
    for prompt in prompts:
        numbered = parse_chunk_prompt(prompt)
        for number, line in numbered:
            if number != len(lines):
                raise ValueError(f"chunk prompts must number lines 0, 1, 2, ... in order; got {number} at {len(lines)}")
            lines.append(line)
        spans.append((numbered[0][0], numbered[-1][0]))
    return lines, spans


def write_chunk_programs(prompts: Sequence[str], params: RuleWriterParams = RuleWriterParams()) -> list[str]:
    """One program per chunk prompt of one document (all of its prompts, in order)."""
    lines, spans = _document_lines(prompts)
    removed = plan_removals(lines, params)
    normalizations = _normalizations(lines) if params.normalize_whitespace else []
    programs = []
    for first, last in spans:
        calls: list = [call for line, call in normalizations if first <= line <= last]
        mine = [n for n in removed if first <= n <= last]
        calls.extend(RemoveLines(start, end) for start, end in _ranges(mine))
        programs.append(format_program(calls) if calls else format_call(KeepChunk()))
    return programs


@dataclass(frozen=True)
class RuleWriter:
    """The model-free program writer, with the interface a model backend offers."""

    params: RuleWriterParams = field(default_factory=RuleWriterParams)

    def doc_program(self, prompt: str) -> str:
        return write_doc_program(prompt, self.params)

    def chunk_programs(self, prompts: Sequence[str]) -> list[str]:
        return write_chunk_programs(prompts, self.params)
