"""Build the filter chain's configuration from plain values (what a Dagster Config can hold)."""
from __future__ import annotations

import dataclasses
from types import MappingProxyType

from core.filters.chain import ChainConfig
from core.filters.language_id import LanguageIdParams
from core.filters.recipe import FINEWEB_RECIPE

# Steps whose thresholds `thresholds` and `language_overrides` may change.
TEXT_FILTERS = tuple(step.name for step in FINEWEB_RECIPE if step.per_language)


def _override(params, values: dict, where: str):
    fields = {f.name for f in dataclasses.fields(params)}
    unknown = set(values) - fields
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {sorted(unknown)}; known: {sorted(fields)}")
    return dataclasses.replace(params, **values)


def _check_filter(name: str, where: str) -> None:
    if name not in TEXT_FILTERS:
        raise ValueError(f"{where}: unknown filter {name!r}; known: {list(TEXT_FILTERS)}")


def chain_config(
    *,
    enabled: dict[str, bool] | None = None,
    languages: list[str] | None = ("en",),
    language_threshold: float = 0.65,
    language_thresholds: dict[str, float] | None = None,
    lid_model_path: str | None = None,
    url_blocklists: dict[str, list[str] | str] | None = None,
    thresholds: dict[str, dict[str, float | int | None]] | None = None,
    language_overrides: dict[str, dict[str, dict[str, float | int | None]]] | None = None,
) -> ChainConfig:
    """A ChainConfig of the FineWeb recipe from switches, language settings and `filter -> {param:
    value}` overrides.

    `thresholds` changes a filter's parameters for every language (`{"gopher_quality":
    {"min_doc_words": 30}}`); `language_overrides` does so for one language only, on top of
    `thresholds` (`{"de": {"gopher_quality": {"max_avg_word_length": 12}}}`, FineWeb-2 style).
    Unknown filter or parameter names raise ValueError, so a typo never silently keeps the default.
    """
    params = dict(ChainConfig().params)
    unknown = set(enabled or {}) - set(params)
    if unknown:
        raise ValueError(f"unknown filter(s) to switch: {sorted(unknown)}; known: {list(params)}")
    if url_blocklists:
        values = {k: v if isinstance(v, str) else tuple(v) for k, v in url_blocklists.items()}
        params["url"] = _override(params["url"], values, "url_blocklists")
    params["language"] = LanguageIdParams(
        languages=tuple(languages) if languages is not None else None,
        threshold=language_threshold,
        thresholds=MappingProxyType(dict(language_thresholds or {})),
        model_path=lid_model_path,
    )
    for name, values in (thresholds or {}).items():
        _check_filter(name, "thresholds")
        params[name] = _override(params[name], values, f"thresholds.{name}")
    overrides = {}
    for language, per_filter in (language_overrides or {}).items():
        for name in per_filter:
            _check_filter(name, f"language_overrides.{language}")
        overrides[language] = {name: _override(params[name], values, f"language_overrides.{language}.{name}")
                               for name, values in per_filter.items()}
    params.update({name: None for name, on in (enabled or {}).items() if not on})
    return ChainConfig(params=params, language_overrides=overrides)
