"""The `fineweb2` preset: a ChainConfig of FINEWEB2_RECIPE with FineWeb2's per-language settings.

Every kept language gets its config's Gopher repetition, FineWeb quality and Gopher quality params
(`settings.settings_for`) as language overrides, its `language_score` as LID threshold, and its
word tokenizer (`word_tokenizers.splitter_for`). `languages=None` keeps every language FineWeb2 has a
config for (1,929); a list keeps those, and a listed language without a config gets the pipeline
defaults (`settings.pipeline_defaults`) and a threshold derived from the crawl (`derive_thresholds`
in the Spark job, or `language_thresholds`). The precision filter runs only when `wordlists_dir`
names FineWeb2's word lists; `describe` says what is on and off, for the asset's metadata.
"""
from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Iterable, Mapping

from core.filters.chain import ChainConfig
from core.filters.fineweb2.language_id import GlotLidParams, configured_thresholds
from core.filters.fineweb2.precision import PrecisionParams
from core.filters.fineweb2.recipe import FINEWEB2_RECIPE
from core.filters.fineweb2.settings import (
    FW2_FINEWEB_QUALITY, FW2_GOPHER_QUALITY, FW2_GOPHER_REPETITION, configured_languages, settings_for,
)
from core.filters.fineweb2.word_tokenizers import splitter_for
from core.filters.url_filter import UrlFilterParams

PER_LANGUAGE_STEPS = ("gopher_repetition", "fineweb_quality", "gopher_quality")
FW2_STEPS = tuple(step.name for step in FINEWEB2_RECIPE)


def _override(params, values: dict, where: str):
    fields = {f.name for f in dataclasses.fields(params)}
    unknown = set(values) - fields
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {sorted(unknown)}; known: {sorted(fields)}")
    return dataclasses.replace(params, **values)


def fineweb2_chain_config(
    *,
    languages: Iterable[str] | None = None,
    lid_model_path: str | None = None,
    language_thresholds: Mapping[str, float] | None = None,
    wordlists_dir: str | None = None,
    url_params: UrlFilterParams | None = None,
    enabled: Mapping[str, bool] | None = None,
    language_overrides: Mapping[str, Mapping[str, Mapping]] | None = None,
) -> ChainConfig:
    """FineWeb2's chain; `language_overrides` (`{"fra_Latn": {"gopher_quality": {...}}}`) change
    FineWeb2's per-language params, `language_thresholds` its LID thresholds."""
    kept = tuple(languages) if languages is not None else None
    unknown = set(enabled or {}) - set(FW2_STEPS)
    if unknown:
        raise ValueError(f"unknown filter(s) to switch: {sorted(unknown)}; known: {list(FW2_STEPS)}")
    thresholds = dict(configured_thresholds())
    thresholds.update(language_thresholds or {})
    params: dict = {
        "url": url_params or UrlFilterParams(),
        "language": GlotLidParams(model_path=lid_model_path, languages=kept,
                                  thresholds=MappingProxyType(thresholds)),
        "gopher_repetition": FW2_GOPHER_REPETITION,
        "fineweb_quality": FW2_FINEWEB_QUALITY,
        "gopher_quality": FW2_GOPHER_QUALITY,
        "precision": PrecisionParams(wordlists_dir) if wordlists_dir else None,
    }
    overrides = {}
    for language in (kept if kept is not None else configured_languages()):
        settings = settings_for(language)
        overrides[language] = {name: getattr(settings, name) for name in PER_LANGUAGE_STEPS}
    for language, per_step in (language_overrides or {}).items():
        base = overrides.setdefault(language, {name: getattr(settings_for(language), name)
                                               for name in PER_LANGUAGE_STEPS})
        for name, values in per_step.items():
            if name not in PER_LANGUAGE_STEPS:
                raise ValueError(f"language_overrides.{language}: unknown filter {name!r}; "
                                 f"known: {list(PER_LANGUAGE_STEPS)}")
            base[name] = _override(base[name], dict(values), f"language_overrides.{language}.{name}")
    params.update({name: None for name, on in (enabled or {}).items() if not on})
    return ChainConfig(params=params, language_overrides=overrides, recipe=FINEWEB2_RECIPE,
                       splitter_for=splitter_for)


def languages_without_threshold(config: ChainConfig) -> tuple[str, ...]:
    """Kept languages that have no LID threshold yet (to derive from the crawl)."""
    lid = config.params.get("language")
    if not isinstance(lid, GlotLidParams) or lid.languages is None:
        return ()
    return tuple(sorted(l for l in lid.languages if l not in lid.thresholds))


def with_thresholds(config: ChainConfig, derived: Mapping[str, float]) -> ChainConfig:
    """The config with LID thresholds added (derived from the crawl for languages without one)."""
    lid: GlotLidParams = config.params["language"]
    thresholds = MappingProxyType({**lid.thresholds, **derived})
    params = dict(config.params)
    params["language"] = dataclasses.replace(lid, thresholds=thresholds)
    return dataclasses.replace(config, params=params)


def describe(config: ChainConfig) -> dict:
    """What the preset runs with, for metadata: LID model, languages, precision filter state."""
    lid = config.params.get("language")
    precision = config.params.get("precision")
    return {
        "preset": "fineweb2",
        "lid_model": (lid.model_path or "lid.176.ftz (GlotLID not configured: lid.176 labels mapped "
                      "to FineWeb2 language_script; thresholds were set for GlotLID)") if lid else "off",
        "languages": "every language with FineWeb2 settings (1,929)" if lid and lid.languages is None
        else list(lid.languages) if lid else "off",
        "precision_filter": f"on: word lists in {precision.wordlists_dir}" if precision
        else "off: no word-list directory configured (FineWeb2 wordlists-0.85)",
    }
