"""Language and script identification as FineWeb2 runs it: GlotLID labels, per-language thresholds.

FineWeb2 (`fineweb-2-pipeline.py`) labels every document with datatrove's
`LanguageFilter(backend="glotlid", label_only=True, keep_top_pairs_threshold=0.01)`: the top label
(`__label__fra_Latn` → language `fra`, script `Latn`), its score, and every label scoring above 0.01;
then, per language, keeps a document when `language_score >= ` that language's `language_score` from
its config (note `>=`, where FineWeb's LanguageFilter uses `>`).

The model is a fastText file given by path (GlotLID's `model_v3.bin`; its hub cannot be reached
from here). Labels in either format are read: GlotLID's `__label__fra_Latn` and lid.176's
`__label__fr`; the latter is mapped to FineWeb2's `fra_Latn` through the ISO 639-1/639-3 columns and
default scripts of datatrove's tokenizer table (`lid176_label_map`), so the preset also runs on the
packaged `lid.176.ftz` when no GlotLID path is configured (scores then come from a different model
than the thresholds were set for: the preset says so in its metadata).

A language without a configured threshold gets one derived from the crawl's own scores:
`derived_threshold` is FineWeb2's rule (paper, section 3.2: max(0.3, min(0.9, median − standard
deviation)) of the language's score distribution); the Spark job computes it over the crawl before
filtering. Without one, the document is dropped as `language.no_threshold`.
"""
from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping, Sequence

import pyarrow as pa

from core.filters.base import (
    LANGUAGE_STAT, SCRIPT_STAT, Document, FilterResult, FilterStep, Statistic,
)
from core.filters.fineweb2.settings import DATA_DIR, load_configs
from core.filters.fineweb2.word_tokenizers import resolve_tokenizer
from core.filters.language_id import default_model_path, load_model

_LABEL_PREFIX = "__label__"
TOP_LANGUAGES_STAT = "language.top_languages"
TOKENIZER_STAT = "language.word_tokenizer"


@lru_cache(maxsize=1)
def configured_thresholds() -> Mapping[str, float]:
    """FineWeb2's `language_score` per language (configs/*.yml)."""
    return MappingProxyType({k: float(v["language_score"]) for k, v in load_configs().items()})


@dataclass(frozen=True)
class GlotLidParams:
    model_path: str | None = None  # GlotLID model_v3.bin (datatrove GlotLID version="v3"); None: lid.176.ftz, labels mapped
    # None: every language FineWeb2 has settings for (fineweb-2-pipeline.py loops over its configs)
    languages: tuple[str, ...] | None = None
    # fineweb-2 configs/*.yml language_score (kept when score >= it)
    thresholds: Mapping[str, float] = field(default_factory=configured_thresholds)
    top_pairs_threshold: float = 0.01  # fineweb-2-pipeline.py LanguageFilter(keep_top_pairs_threshold=0.01)

    def keeps(self, language: str) -> bool:
        return language in self.thresholds if self.languages is None else language in self.languages


@lru_cache(maxsize=1)
def lid176_label_map() -> Mapping[str, str]:
    """lid.176 label → FineWeb2 `code3_Script`: ISO 639-1 codes through the row marked default for
    that code, 3-letter codes as they are, each with its default script; a configured pair wins."""
    rows = list(csv.DictReader(open(DATA_DIR / "tokenizer_assignment.csv", encoding="utf-8", newline="")))
    configured = load_configs()
    mapping: dict[str, str] = {}
    by_code: dict[str, list[str]] = {}
    for row in rows:
        key = f"{row['code_3']}_{row['script']}"
        default = row["default_script"] == "TRUE"
        if row["code_1"] and row["default_code_1"] == "TRUE":
            by_code.setdefault(row["code_1"], []).append((not default, key not in configured, key))
        by_code.setdefault(row["code_3"], []).append((not default, key not in configured, key))
    for code, candidates in by_code.items():
        mapping[code] = min(candidates)[2]
    return MappingProxyType(mapping)


def parse_label(label: str) -> tuple[str, str | None]:
    """`__label__fra_Latn` → (fra, Latn); `__label__fr` (lid.176) → (fra, Latn) when the code is
    known, else (fr, None)."""
    name = label[len(_LABEL_PREFIX):] if label.startswith(_LABEL_PREFIX) else label
    if "_" in name:
        language, script = name.split("_", 1)
        return language, script
    mapped = lid176_label_map().get(name)
    if mapped is None:
        return name, None
    language, script = mapped.split("_", 1)
    return language, script


def language_key(language: str | None, script: str | None) -> str | None:
    if language is None:
        return None
    return f"{language}_{script}" if script else language


@dataclass(frozen=True)
class Prediction:
    language: str | None  # `fra` (None: no text)
    script: str | None  # `Latn` (None: lid.176 label without a known script)
    score: float
    top: dict  # `{"fra_Latn": 0.93, ...}`: every label above the top-pairs threshold

    @property
    def key(self) -> str | None:
        return language_key(self.language, self.script)


def predict(texts: Sequence[str], model_path: str | None = None,
            top_pairs_threshold: float = 0.01) -> list[Prediction]:
    """Top language, script, score and labels above `top_pairs_threshold` of each text, one
    fastText call (newlines as spaces, as datatrove); an empty text gets no language."""
    model = load_model(model_path or default_model_path())
    prepared = [t.replace("\n", " ").replace("\r", " ").strip() if t else "" for t in texts]
    todo = [i for i, t in enumerate(prepared) if t]
    out = [Prediction(None, None, 0.0, {})] * len(prepared)
    if not todo:
        return out
    labels, scores = model.predict([prepared[i] for i in todo], k=-1, threshold=top_pairs_threshold)
    missing = [j for j, lab in enumerate(labels) if not len(lab)]  # no label reached the threshold
    if missing:
        best_labels, best_scores = model.predict([prepared[todo[j]] for j in missing], k=1)
        for j, lab, sc in zip(missing, best_labels, best_scores):
            labels[j], scores[j] = lab, sc
    for i, labs, scs in zip(todo, labels, scores):
        parsed = [(language_key(*parse_label(lab)), min(float(s), 1.0)) for lab, s in zip(labs, scs)]
        language, script = parse_label(labs[0])
        top = {key: s for key, s in parsed if s > top_pairs_threshold}
        out[i] = Prediction(language, script, parsed[0][1], top)
    return out


def language_decision(prediction: Prediction, params: GlotLidParams = GlotLidParams()) -> FilterResult:
    """Keep a document of a kept language scoring at least that language's threshold."""
    key = prediction.key
    stats = {LANGUAGE_STAT: prediction.language, SCRIPT_STAT: prediction.script,
             "language.score": prediction.score, TOP_LANGUAGES_STAT: prediction.top or None,
             TOKENIZER_STAT: resolve_tokenizer(key).name if key else None}
    if key is None:
        return FilterResult(False, "language.no_text", stats)
    if not params.keeps(key):
        return FilterResult(False, "language.not_kept", stats)
    threshold = params.thresholds.get(key)
    if threshold is None:
        return FilterResult(False, "language.no_threshold", stats)
    if prediction.score < threshold:  # fineweb-2-pipeline.py above_lang_threshold: score >= threshold
        return FilterResult(False, "language.low_score", stats)
    return FilterResult(True, None, stats)


def derived_threshold(scores: Sequence[float]) -> float:
    """FineWeb2's threshold for a language from its documents' scores: max(0.3, min(0.9, median −
    population standard deviation)); 0.3 without scores."""
    if not scores:
        return 0.3
    spread = statistics.pstdev(scores) if len(scores) > 1 else 0.0
    return clamp_threshold(statistics.median(scores) - spread)


def clamp_threshold(value: float) -> float:
    return max(0.3, min(0.9, value))


def _apply(doc: Document, params: GlotLidParams) -> FilterResult:
    return language_decision(predict([doc.text], params.model_path, params.top_pairs_threshold)[0], params)


def _apply_batch(docs: Sequence[Document], params: GlotLidParams) -> list[FilterResult]:
    predictions = predict([doc.text for doc in docs], params.model_path, params.top_pairs_threshold)
    return [language_decision(p, params) for p in predictions]


def _load_model(params: GlotLidParams):
    return load_model(params.model_path or default_model_path())


GLOTLID_STEP = FilterStep(
    name="language",
    params_type=GlotLidParams,
    statistics=(Statistic(LANGUAGE_STAT, pa.string(), column="language"),
                Statistic(SCRIPT_STAT, pa.string(), column="script"),
                Statistic("language.score", pa.float32(), column="language_score"),
                Statistic(TOP_LANGUAGES_STAT, pa.map_(pa.string(), pa.float32()), column="language_top"),
                Statistic(TOKENIZER_STAT, pa.string(), column="word_tokenizer")),
    apply=_apply,
    apply_batch=_apply_batch,
    setup=_load_model,  # a missing model is fatal
)
