"""Plain values (Dagster config) into the filter chain's configuration."""
import pytest

from assets.silver import SilverConfig
from core.filters.chain import ChainConfig
from core.filters.config import chain_config


def test_defaults_are_the_fineweb_chain():
    config = SilverConfig().to_chain_config()
    assert config == ChainConfig()  # every step on, with its published defaults
    assert config.params["language"].languages == ("en",) and config.params["language"].threshold == 0.65


def test_switches_thresholds_and_language_overrides():
    config = SilverConfig(
        c4=False, pii=False, languages=[], language_thresholds={"de": 0.8},
        thresholds={"gopher_quality": {"min_doc_words": 30}},
        language_overrides={"de": {"gopher_quality": {"max_avg_word_length": 12}}},
    ).to_chain_config()
    assert config.params["c4"] is None and config.params["pii"] is None
    language = config.params["language"]
    assert language.languages is None and language.threshold_for("de") == 0.8
    assert config.params["gopher_quality"].min_doc_words == 30
    german = config.params_for("gopher_quality", "de")
    assert german.max_avg_word_length == 12 and german.min_doc_words == 30
    assert config.params_for("gopher_quality", "fr").max_avg_word_length == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"thresholds": {"gopher_quality": {"min_words": 3}}}, "unknown parameter"),
    ({"thresholds": {"gopher": {"min_doc_words": 3}}}, "unknown filter"),
    ({"language_overrides": {"de": {"c5": {}}}}, "unknown filter"),
    ({"enabled": {"c5": False}}, "unknown filter"),
    ({"language_overrides": {"de": {"url": {}}}}, "unknown filter"),  # no per-language URL lists
])
def test_typos_are_errors_not_silent_defaults(kwargs, message):
    with pytest.raises(ValueError, match=message):
        chain_config(**kwargs)
