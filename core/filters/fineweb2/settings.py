"""FineWeb2's per-language settings (`configs/{lang}_{Script}.yml`, packaged in
`core/filters/data/fineweb2/configs.json`) as the params of this project's filters.

`fineweb-2-pipeline.py` (huggingface/fineweb-2) builds, per language: GopherRepetitionFilter with the
config's `dup_line_frac`, `top_n_grams`, `dup_n_grams` and the paragraph and line-character rules
off; FineWebQualityFilter with the config's `line_punct_thr`, `new_line_ratio`, the short-line rule
off and `char_duplicates_ratio=0.1`; GopherQualityFilter with the config's word lengths,
`max_non_alpha_words_ratio` (a minimum share of words with a letter) and `stopwords`, and
`min_stop_words=2`; everything else at datatrove's defaults. `language_score` is the minimum GlotLID
score (`>=`). `settings_for` gives those params; `pipeline_defaults` gives them for a language
without a config (the pipeline's constants, datatrove's defaults otherwise, no stop-word rule since
no stop words are known).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.filters.fineweb_quality import FineWebQualityParams
from core.filters.gopher_quality import GopherQualityParams
from core.filters.gopher_repetition import GopherRepetitionParams

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "fineweb2"

# fineweb-2-pipeline.py GopherRepetitionFilter(dup_para_frac=0, dup_line_char_frac=0,
# dup_para_char_frac=0): off ("trafilatura pretty much removes paragraphs")
FW2_GOPHER_REPETITION = GopherRepetitionParams(dup_para_frac=None, dup_line_char_frac=None,
                                               dup_para_char_frac=None)
# fineweb-2-pipeline.py FineWebQualityFilter(short_line_thr=999 (off), char_duplicates_ratio=0.1)
FW2_FINEWEB_QUALITY = FineWebQualityParams(short_line_thr=None, char_duplicates_ratio=0.1)
# fineweb-2-pipeline.py GopherQualityFilter(min_stop_words=2), datatrove defaults otherwise
FW2_GOPHER_QUALITY = GopherQualityParams(min_stop_words=2)


@dataclass(frozen=True)
class LanguageSettings:
    """One language's FineWeb2 settings as filter params."""

    language: str  # ISO 639-3 code and ISO 15924 script, `fra_Latn`
    language_score: float | None  # minimum GlotLID score (kept when score >= it); None: not known
    gopher_repetition: GopherRepetitionParams
    fineweb_quality: FineWebQualityParams
    gopher_quality: GopherQualityParams
    has_config: bool = True  # False: pipeline defaults stand in (no FineWeb2 config)


@lru_cache(maxsize=1)
def load_configs() -> dict[str, dict]:
    """The raw configs, `{"fra_Latn": {...}}`, exactly as FineWeb2 publishes them."""
    with open(DATA_DIR / "configs.json", encoding="utf-8") as f:
        return json.load(f)


def configured_languages() -> tuple[str, ...]:
    return tuple(sorted(load_configs()))


def _pairs(value) -> tuple[tuple[int, float], ...]:
    return tuple((int(n), float(frac)) for n, frac in value)


def settings_from_config(language: str, config: dict) -> LanguageSettings:
    """A config dict (one YAML file) as params; a missing or unknown key is an error."""
    expected = {"language_score", "dup_line_frac", "top_n_grams", "dup_n_grams", "line_punct_thr",
                "new_line_ratio", "min_avg_word_length", "max_avg_word_length",
                "max_non_alpha_words_ratio", "stopwords"}
    if set(config) != expected:
        raise ValueError(f"FineWeb2 config {language}: keys {sorted(config)}, expected {sorted(expected)}")
    return LanguageSettings(
        language=language,
        language_score=float(config["language_score"]),
        gopher_repetition=dataclasses.replace(
            FW2_GOPHER_REPETITION, dup_line_frac=float(config["dup_line_frac"]),
            top_n_grams=_pairs(config["top_n_grams"]), dup_n_grams=_pairs(config["dup_n_grams"])),
        fineweb_quality=dataclasses.replace(
            FW2_FINEWEB_QUALITY, line_punct_thr=float(config["line_punct_thr"]),
            new_line_ratio=float(config["new_line_ratio"])),
        gopher_quality=dataclasses.replace(
            FW2_GOPHER_QUALITY, min_avg_word_length=config["min_avg_word_length"],
            max_avg_word_length=config["max_avg_word_length"],
            min_alpha_words_ratio=float(config["max_non_alpha_words_ratio"]),
            stop_words=tuple(config["stopwords"])),
    )


def pipeline_defaults(language: str) -> LanguageSettings:
    """Settings for a language FineWeb2 has no config for: the pipeline's constants, datatrove's
    defaults otherwise, the stop-word rule off (no stop words known), no LID threshold (derived
    from the crawl: `language_id.derived_threshold`)."""
    return LanguageSettings(language, None, FW2_GOPHER_REPETITION, FW2_FINEWEB_QUALITY,
                            dataclasses.replace(FW2_GOPHER_QUALITY, min_stop_words=None, stop_words=()),
                            has_config=False)


@lru_cache(maxsize=None)
def settings_for(language: str) -> LanguageSettings:
    """FineWeb2's settings for `fra_Latn`; `pipeline_defaults` for a language without a config."""
    config = load_configs().get(language)
    return pipeline_defaults(language) if config is None else settings_from_config(language, config)
