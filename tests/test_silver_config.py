"""Plain values (Dagster config) into the filter chain's configuration."""
import pytest

from assets.silver import SilverConfig
from core.filters.chain import ChainConfig
from core.filters.config import chain_config


def test_defaults_are_the_fineweb_chain():
    config = SilverConfig().to_chain_config()
    default = ChainConfig()
    assert config.gopher_quality == default.gopher_quality
    assert config.gopher_repetition == default.gopher_repetition
    assert config.c4 == default.c4 and config.fineweb_quality == default.fineweb_quality
    assert config.language.languages == ("en",) and config.language.threshold == 0.65


def test_switches_thresholds_and_language_overrides():
    config = SilverConfig(
        c4=False, pii=False, languages=[], language_thresholds={"de": 0.8},
        thresholds={"gopher_quality": {"min_doc_words": 30}},
        language_overrides={"de": {"gopher_quality": {"max_avg_word_length": 12}}},
    ).to_chain_config()
    assert config.c4 is None and config.pii is None
    assert config.language.languages is None and config.language.threshold_for("de") == 0.8
    assert config.gopher_quality.min_doc_words == 30
    german = config.for_language("de").gopher_quality
    assert german.max_avg_word_length == 12 and german.min_doc_words == 30
    assert config.for_language("fr").gopher_quality.max_avg_word_length == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"thresholds": {"gopher_quality": {"min_words": 3}}}, "unknown parameter"),
    ({"thresholds": {"gopher": {"min_doc_words": 3}}}, "unknown filter"),
    ({"language_overrides": {"de": {"c5": {}}}}, "unknown filter"),
    ({"enabled": {"c5": False}}, "unknown filter"),
])
def test_typos_are_errors_not_silent_defaults(kwargs, message):
    with pytest.raises(ValueError, match=message):
        chain_config(**kwargs)
