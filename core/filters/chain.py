"""The SILVER filter chain in FineWeb's order, on one document or on an Arrow batch.

Order (datatrove examples/fineweb.py, PII last as in FineWeb's release): URL → language →
Gopher repetition → Gopher quality → C4 (rewrites the text) → FineWeb quality → PII (rewrites the
text). Each step can be switched off by setting its params to None. The first failing step gives the
reason; with `stop_at_first_failure=False` later steps still run (on the text as it stands) so that
their features are computed for every document, and the reason stays the first failure.

`run_chain_on_batch` is what the Spark `mapInArrow` wrapper calls: URL checks for the whole batch,
language identification for all documents that passed them in one fastText call, then the text
filters per document. Its output has one row per input row, in input order, with the columns of
`output_schema(config)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

import pyarrow as pa

from core.filters.base import FilterResult
from core.filters.c4_quality import C4QualityParams, c4_quality
from core.filters.fineweb_quality import FineWebQualityParams, fineweb_quality
from core.filters.gopher_quality import GopherQualityParams, gopher_quality
from core.filters.gopher_repetition import GopherRepetitionParams, gopher_repetition
from core.filters.language_id import LanguageIdParams, language_decision, predict_languages
from core.filters.pii import PiiParams, scrub_pii
from core.filters.text import split_words
from core.filters.url_filter import UrlFilterParams, load_blocklist, url_filter

FILTER_ORDER = ("url", "language", "gopher_repetition", "gopher_quality", "c4", "fineweb_quality", "pii")


@dataclass(frozen=True)
class LanguageOverrides:
    """Per-language replacements of the text filters' params (None: the chain's own)."""

    gopher_repetition: GopherRepetitionParams | None = None
    gopher_quality: GopherQualityParams | None = None
    c4: C4QualityParams | None = None
    fineweb_quality: FineWebQualityParams | None = None


@dataclass(frozen=True)
class ChainConfig:
    url: UrlFilterParams | None = UrlFilterParams()  # datatrove examples/fineweb.py URLFilter()
    language: LanguageIdParams | None = LanguageIdParams()  # datatrove examples/fineweb.py LanguageFilter()
    gopher_repetition: GopherRepetitionParams | None = GopherRepetitionParams()  # fineweb.py GopherRepetitionFilter()
    gopher_quality: GopherQualityParams | None = GopherQualityParams()  # fineweb.py GopherQualityFilter()
    c4: C4QualityParams | None = C4QualityParams()  # fineweb.py C4QualityFilter(filter_no_terminal_punct=False)
    fineweb_quality: FineWebQualityParams | None = FineWebQualityParams()  # fineweb.py FineWebQualityFilter()
    pii: PiiParams | None = PiiParams()  # FineWeb release: PIIFormatter() after dedup
    language_overrides: Mapping[str, LanguageOverrides] = field(default_factory=lambda: MappingProxyType({}))
    stop_at_first_failure: bool = True

    def for_language(self, language: str | None) -> "ChainConfig":
        """This config with the text filters' params of `language`'s overrides, if any."""
        over = self.language_overrides.get(language) if language else None
        if over is None:
            return self
        changes = {
            name: getattr(over, name)
            for name in ("gopher_repetition", "gopher_quality", "c4", "fineweb_quality")
            if getattr(over, name) is not None and getattr(self, name) is not None
        }
        return replace(self, **changes) if changes else self


@dataclass(frozen=True)
class ChainResult:
    keep: bool
    reason: str | None  # first failing "<filter>.<rule>", None when kept
    text: str  # kept: after C4 line removal and PII scrubbing; dropped: the input text
    language: str | None
    language_score: float | None
    stats: dict  # "<filter>.<feature>" -> number, for every step that ran
    error: str | None = None  # an unexpected exception in a step (the document is then dropped)


def _run_text_filters(text: str, config: ChainConfig, stats: dict) -> tuple[str | None, str]:
    """Gopher repetition → Gopher quality → C4 → FineWeb quality → PII. Returns (reason, text)."""
    reason: str | None = None
    words = None

    def record(result: FilterResult) -> bool:
        nonlocal reason
        stats.update(result.stats)
        if not result.keep and reason is None:
            reason = result.reason
        return result.keep or not config.stop_at_first_failure

    if config.gopher_repetition is not None or config.gopher_quality is not None:
        words = split_words(text)
    if config.gopher_repetition is not None and not record(gopher_repetition(text, config.gopher_repetition, words)):
        return reason, text
    if config.gopher_quality is not None and not record(gopher_quality(text, config.gopher_quality, words)):
        return reason, text
    if config.c4 is not None:
        result = c4_quality(text, config.c4)
        if not record(result):
            return reason, text
        if result.text is not None and result.text != text:
            text, words = result.text, None
    if config.fineweb_quality is not None and not record(fineweb_quality(text, config.fineweb_quality, words)):
        return reason, text
    if config.pii is not None and reason is None:
        result = scrub_pii(text, config.pii)
        stats.update(result.stats)
        text = result.text
    return reason, text


def run_chain(
    text: str | None,
    url: str | None = None,
    config: ChainConfig = ChainConfig(),
    *,
    language: str | None = None,
    language_score: float | None = None,
    url_result: FilterResult | None = None,
) -> ChainResult:
    """Run every enabled step on one document. `language`/`language_score` (from a batch prediction)
    and `url_result` skip the model call and the URL check when given."""
    original = text if isinstance(text, str) else ""
    stats: dict = {}
    reason: str | None = None
    step = "url"
    try:
        if config.url is not None:
            url_result = url_result or url_filter(url, config.url)
            stats.update(url_result.stats)
            if not url_result.keep:
                reason = url_result.reason
                if config.stop_at_first_failure:
                    return ChainResult(False, reason, original, language, language_score, stats)
        step = "language"
        if config.language is not None:
            if language is None and language_score is None:
                language, language_score = predict_languages([original], config.language.model_path)[0]
            lang_result = language_decision(language, language_score or 0.0, config.language)
            if not lang_result.keep and reason is None:
                reason = lang_result.reason
            if reason is not None and config.stop_at_first_failure:
                return ChainResult(False, reason, original, language, language_score, stats)
        step = "text"
        text_reason, final = _run_text_filters(original, config.for_language(language), stats)
        reason = reason or text_reason
    except Exception as exc:  # a bug, never expected: drop with the step named, never raise
        return ChainResult(False, f"{step}.error", original, language, language_score, stats,
                           error=f"{type(exc).__name__}: {exc}")
    if reason is not None:
        return ChainResult(False, reason, original, language, language_score, stats)
    return ChainResult(True, None, final, language, language_score, stats)


# ----------------------------------------------------------------------------- Arrow batches
_INT_STATS = {"url.n_soft_words", "gopher_quality.n_words", "gopher_quality.n_stop_words", "c4.n_lines",
              "c4.n_lines_kept", "c4.n_sentences", "pii.n_emails", "pii.n_ips"}


def stat_names(config: ChainConfig = ChainConfig()) -> list[str]:
    """Every stat key the chain can produce under `config`, in a fixed order."""
    names = ["url.n_soft_words"]
    gr = config.gopher_repetition or GopherRepetitionParams()
    names += [f"gopher_repetition.{s}" for s in ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac")]
    names += [f"gopher_repetition.top_{n}_gram_frac" for n, _ in gr.top_n_grams or ()]
    names += [f"gopher_repetition.dup_{n}_gram_frac" for n, _ in gr.dup_n_grams or ()]
    for over in config.language_overrides.values():
        if over.gopher_repetition is not None:
            extra = [f"gopher_repetition.top_{n}_gram_frac" for n, _ in over.gopher_repetition.top_n_grams or ()]
            extra += [f"gopher_repetition.dup_{n}_gram_frac" for n, _ in over.gopher_repetition.dup_n_grams or ()]
            names += [e for e in extra if e not in names]
    names += [f"gopher_quality.{s}" for s in ("n_words", "avg_word_length", "hash_ratio", "ellipsis_ratio",
                                               "bullet_lines_ratio", "end_ellipsis_lines_ratio",
                                               "alpha_words_ratio", "n_stop_words")]
    names += ["c4.n_lines", "c4.n_lines_kept", "c4.n_sentences"]
    names += [f"c4.lines_removed_{r}" for r in ("too_long_word", "no_terminal_punct", "too_few_words", "javascript", "policy")]
    names += [f"fineweb_quality.{s}" for s in ("line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio")]
    names += ["pii.n_emails", "pii.n_ips"]
    return names


def stat_column(name: str) -> str:
    """Column name of a stat key: `gopher_repetition.dup_line_frac` -> `gopher_repetition__dup_line_frac`."""
    return name.replace(".", "__")


def _is_int_stat(name: str) -> bool:
    return name in _INT_STATS or name.startswith("c4.lines_removed_")


def output_schema(config: ChainConfig = ChainConfig()) -> pa.Schema:
    fields = [
        pa.field("keep", pa.bool_(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("text", pa.string()),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float32()),
        pa.field("error", pa.string()),
    ]
    fields += [pa.field(stat_column(n), pa.int64() if _is_int_stat(n) else pa.float64()) for n in stat_names(config)]
    return pa.schema(fields)


def _columns_of(batch) -> tuple[list, list]:
    if isinstance(batch, (pa.RecordBatch, pa.Table)):
        names = batch.schema.names
        texts = batch.column("text").to_pylist()
        urls = batch.column("url").to_pylist() if "url" in names else [None] * len(texts)
        return texts, urls
    rows = list(batch)
    return [r.get("text") for r in rows], [r.get("url") for r in rows]


def run_chain_on_batch(batch: pa.RecordBatch | pa.Table | Sequence[dict], config: ChainConfig = ChainConfig()) -> pa.RecordBatch:
    """Run the chain on every row (`text`, `url`); returns `output_schema(config)` in row order."""
    texts, urls = _columns_of(batch)
    texts = [t if isinstance(t, str) else "" for t in texts]
    n = len(texts)
    url_results: list[FilterResult | None] = [None] * n
    if config.url is not None:
        blocklist = load_blocklist(config.url)
        url_results = [url_filter(u, config.url, blocklist) for u in urls]
    languages: list[tuple[str | None, float | None]] = [(None, None)] * n
    if config.language is not None:
        todo = [i for i in range(n) if not config.stop_at_first_failure or url_results[i] is None or url_results[i].keep]
        for i, pred in zip(todo, predict_languages([texts[i] for i in todo], config.language.model_path)):
            languages[i] = pred
    results = [
        run_chain(texts[i], urls[i], config, language=languages[i][0],
                  language_score=languages[i][1] if config.language is not None and languages[i][0] is not None
                  else (0.0 if config.language is not None else None),
                  url_result=url_results[i])
        for i in range(n)
    ]
    return results_to_batch(results, config)


def results_to_batch(results: Iterable[ChainResult], config: ChainConfig = ChainConfig()) -> pa.RecordBatch:
    schema = output_schema(config)
    results = list(results)
    columns: dict[str, list] = {
        "keep": [r.keep for r in results],
        "reason": [r.reason for r in results],
        "text": [r.text for r in results],
        "language": [r.language for r in results],
        "language_score": [r.language_score for r in results],
        "error": [r.error for r in results],
    }
    for name in stat_names(config):
        columns[stat_column(name)] = [r.stats.get(name) for r in results]
    return pa.RecordBatch.from_arrays([pa.array(columns[f.name], type=f.type) for f in schema], schema=schema)
