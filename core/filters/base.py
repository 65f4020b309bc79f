"""What a SILVER filter is: a decision function that returns a `FilterResult`, and the `FilterStep`
that declares it to the chain (its name, params class and the statistics it produces).

As in datatrove's `pipeline/filters/` (one small step per file, counting and exclusion done once in
the base class), each filter module ends with its step; `core.filters.recipe` lists the steps in
order and `core.filters.chain` runs them, records statistics, and drops a document once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pyarrow as pa

from core.filters.text import split_words

# The statistic that holds a document's language (set by the language step): the chain reads it to
# pick per-language params for the steps after it.
LANGUAGE_STAT = "language.language"
# Its script, when the language step gives one (GlotLID: `Latn`); per-language params are then keyed
# by `<language>_<script>` (`fra_Latn`, FineWeb2's config names).
SCRIPT_STAT = "language.script"


@dataclass(frozen=True)
class FilterResult:
    keep: bool
    reason: str | None = None  # "<filter>.<rule>" when dropped, None when kept
    stats: dict = field(default_factory=dict)  # "<filter>.<feature>" -> value
    text: str | None = None  # set only by filters that rewrite the text (C4 line removal, PII)


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 when the denominator is 0 (every ratio guards its denominator)."""
    return numerator / denominator if denominator else 0.0


@dataclass(frozen=True)
class Statistic:
    """One statistic a step produces: its key in `FilterResult.stats`, Arrow type and table column."""

    name: str  # "<step>.<feature>"
    type: pa.DataType
    column: str = ""  # default: the name with "." as "__" (`gopher_quality__n_words`)

    def __post_init__(self):
        if not self.column:
            object.__setattr__(self, "column", self.name.replace(".", "__"))


def int_stats(step: str, *features: str) -> tuple[Statistic, ...]:
    return tuple(Statistic(f"{step}.{f}", pa.int64()) for f in features)


def float_stats(step: str, *features: str) -> tuple[Statistic, ...]:
    return tuple(Statistic(f"{step}.{f}", pa.float64()) for f in features)


class Document:
    """One document on its way through the chain. Steps only read it; the chain records results.

    `words()` is the shared word split: computed once and reused by every step until a step rewrites
    the text (C4 line removal) or the language changes, after which the next caller splits anew.
    `splitter_for` (FineWeb2: `core.filters.fineweb2.word_tokenizers.splitter_for`) picks the
    splitter from the language key; None is the English splitter of FineWeb.
    """

    __slots__ = ("original", "text", "url", "stats", "reason", "error", "_words", "_splitter_for")

    def __init__(self, text: str | None, url: str | None = None,
                 splitter_for: Callable[[str | None], Callable[[str], list[str]]] | None = None):
        self.original = text if isinstance(text, str) else ""
        self.text = self.original
        self.url = url
        self.stats: dict = {}
        self.reason: str | None = None  # the first failing rule
        self.error: str | None = None  # an unexpected exception in a step
        self._words: list[str] | None = None
        self._splitter_for = splitter_for

    def words(self) -> list[str]:
        if self._words is None:
            if self._splitter_for is None:
                self._words = split_words(self.text)
            else:
                self._words = self._splitter_for(self.language_key)(self.text)
        return self._words

    def known_words(self) -> list[str] | None:
        """The word split if a step already made it, else None (for a step that may not need it)."""
        return self._words

    @property
    def language(self) -> str | None:
        return self.stats.get(LANGUAGE_STAT)

    @property
    def language_key(self) -> str | None:
        """What per-language params are keyed by: `en` (lid.176), `fra_Latn` (with a script)."""
        language, script = self.stats.get(LANGUAGE_STAT), self.stats.get(SCRIPT_STAT)
        return f"{language}_{script}" if language and script else language

    def record(self, result: FilterResult) -> None:
        """Keep the step's statistics, its rewritten text, and its reason if it is the first."""
        if self._splitter_for is not None and LANGUAGE_STAT in result.stats:
            self._words = None  # the word split depends on the language
        self.stats.update(result.stats)
        if not result.keep and self.reason is None:
            self.reason = result.reason
        if result.text is not None and result.text != self.text:
            self.text, self._words = result.text, None

    def fail(self, step: str, exc: Exception) -> None:
        """A bug, never expected: the document is dropped with `<step>.error`, never raised."""
        self.reason = self.reason or f"{step}.error"
        self.error = f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class FilterStep:
    """A filter as the chain sees it. Its params are switched off by None in the chain's config."""

    name: str  # prefix of its reasons and statistics, and its key in ChainConfig.params
    params_type: type  # frozen dataclass of its parameters; `params_type()` is the published default
    statistics: tuple[Statistic, ...]  # every statistic `apply` can produce, with its Arrow type
    apply: Callable[[Document, Any], FilterResult]  # one document
    # The whole batch in one call (a model): same results as `apply` on each document.
    apply_batch: Callable[[Sequence[Document], Any], list[FilterResult]] | None = None
    # Once per chain run before any document (load a model or a list); its errors are fatal.
    setup: Callable[[Any], object] | None = None
    per_language: bool = False  # its params may be overridden per language (FineWeb-2)
    only_on_kept: bool = False  # never drops, rewrites: runs only on documents no step dropped (PII)

    def __post_init__(self):
        foreign = [s.name for s in self.statistics if not s.name.startswith(self.name + ".")]
        if foreign:
            raise ValueError(f"step {self.name!r} declares statistics of another step: {foreign}")
        if self.per_language and self.apply_batch is not None:
            raise ValueError(f"step {self.name!r}: a batch step has one params for the batch, "
                             "so it cannot take per-language params")
