"""Build the filter chain's configuration from plain values (what a Dagster Config can hold)."""
from __future__ import annotations

import dataclasses
from types import MappingProxyType

from core.filters.chain import ChainConfig, LanguageOverrides
from core.filters.language_id import LanguageIdParams
from core.filters.url_filter import UrlFilterParams

TEXT_FILTERS = ("gopher_repetition", "gopher_quality", "c4", "fineweb_quality")


def _override(params, values: dict, where: str):
    fields = {f.name for f in dataclasses.fields(params)}
    unknown = set(values) - fields
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {sorted(unknown)}; known: {sorted(fields)}")
    return dataclasses.replace(params, **values)


def chain_config(
    *,
    enabled: dict[str, bool] | None = None,
    languages: list[str] | None = ("en",),
    language_threshold: float = 0.65,
    language_thresholds: dict[str, float] | None = None,
    lid_model_path: str | None = None,
    url_blocklists: dict[str, list[str]] | None = None,
    thresholds: dict[str, dict[str, float | int | None]] | None = None,
    language_overrides: dict[str, dict[str, dict[str, float | int | None]]] | None = None,
) -> ChainConfig:
    """A ChainConfig from switches, language settings and `filter -> {param: value}` overrides.

    `thresholds` changes a filter's parameters for every language (`{"gopher_quality":
    {"min_doc_words": 30}}`); `language_overrides` does so for one language only
    (`{"de": {"gopher_quality": {"max_avg_word_length": 12}}}`, FineWeb-2 style). Unknown filter or
    parameter names raise ValueError, so a typo never silently keeps the default.
    """
    base = ChainConfig()
    enabled = enabled or {}
    unknown = set(enabled) - {f.name for f in dataclasses.fields(ChainConfig)}
    if unknown:
        raise ValueError(f"unknown filter(s) to switch: {sorted(unknown)}")
    changes: dict = {}
    if url_blocklists:
        changes["url"] = _override(UrlFilterParams(), {k: tuple(v) for k, v in url_blocklists.items()},
                                   "url_blocklists")
    changes["language"] = LanguageIdParams(
        languages=tuple(languages) if languages is not None else None,
        threshold=language_threshold,
        thresholds=MappingProxyType(dict(language_thresholds or {})),
        model_path=lid_model_path,
    )
    for name, values in (thresholds or {}).items():
        if name not in TEXT_FILTERS:
            raise ValueError(f"thresholds: unknown filter {name!r}; known: {list(TEXT_FILTERS)}")
        changes[name] = _override(getattr(base, name), values, f"thresholds.{name}")
    config = dataclasses.replace(base, **changes)
    overrides = {}
    for language, per_filter in (language_overrides or {}).items():
        kwargs = {}
        for name, values in per_filter.items():
            if name not in TEXT_FILTERS:
                raise ValueError(f"language_overrides.{language}: unknown filter {name!r}")
            kwargs[name] = _override(getattr(config, name), values,
                                     f"language_overrides.{language}.{name}")
        overrides[language] = LanguageOverrides(**kwargs)
    config = dataclasses.replace(config, language_overrides=MappingProxyType(overrides))
    switched_off = {name: None for name, on in enabled.items() if not on}
    return dataclasses.replace(config, **switched_off)
