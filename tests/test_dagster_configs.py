"""Asset configs (what the UI and the CLI set) into engine configs, field by field."""
from __future__ import annotations

import dataclasses
import typing

import pytest
from dagster import DagsterInvalidConfigError, validate_run_config

from assets.dedup import DedupAssetConfig
from assets.ingest import BronzeConfig, ManifestConfig
from assets.silver import SilverConfig
from core.filters.chain import ChainConfig
from core.io.listing import KINDS, SELECTION_MODES, Selection
from core.warc.extract import EXTRACTORS, ExtractionConfig
from core.filters.url_filter import DOMAIN_RULES, URL_RULES
from spark_jobs.dedup.config import VERIFY_METHODS, DedupConfig


def _choices(config_class, field: str) -> tuple:
    return typing.get_args(config_class.model_fields[field].annotation)


def test_enumerations_are_literals_equal_to_the_engines_choices():
    assert _choices(ManifestConfig, "kind") == KINDS
    assert _choices(ManifestConfig, "selection") == SELECTION_MODES
    assert _choices(BronzeConfig, "extractor") == EXTRACTORS
    assert _choices(SilverConfig, "url_domain_rule") == DOMAIN_RULES
    assert _choices(SilverConfig, "url_rule") == URL_RULES
    assert _choices(DedupAssetConfig, "verify_method") == VERIFY_METHODS


@pytest.mark.parametrize("op, config", [
    ("warc_manifest", {"kind": "warc.gz"}),
    ("warc_manifest", {"selection": "newest"}),
    ("bronze_documents", {"extractor": "readability"}),
    ("dedup_documents", {"verify_method": "cosine"}),
])
def test_a_value_outside_an_enumeration_is_rejected_before_the_run(op, config):
    from orchestration.definitions import build_definitions

    job = build_definitions({}).resolve_job_def("crawl_pipeline")
    validate_run_config(job, {"ops": {op: {"config": {}}}})  # the defaults are valid
    with pytest.raises(DagsterInvalidConfigError, match="not in enum"):
        validate_run_config(job, {"ops": {op: {"config": config}}})


def test_manifest_config_to_selection():
    assert ManifestConfig().to_selection() == Selection("first", 4, 42)
    selection = ManifestConfig(kind="wet", selection="sample", n_files=7, seed=3).to_selection()
    assert (selection.mode, selection.n, selection.seed) == ("sample", 7, 3)
    with pytest.raises(ValueError, match="n >= 1"):
        ManifestConfig(n_files=0).to_selection()


def test_bronze_config_to_extraction_config():
    assert BronzeConfig().to_extraction_config() == ExtractionConfig()
    extraction = BronzeConfig(extractor="trafilatura", max_payload_bytes=1234,
                              trafilatura_favor_precision=False).to_extraction_config()
    assert extraction == ExtractionConfig(extractor="trafilatura", max_payload_bytes=1234,
                                          trafilatura_favor_precision=False)
    # Every extraction parameter is settable from the asset config.
    assert {f.name for f in dataclasses.fields(ExtractionConfig)} <= set(BronzeConfig.model_fields)


SWITCHES = {"url_filter": "url", "language_filter": "language",
            "gopher_repetition": "gopher_repetition", "gopher_quality": "gopher_quality",
            "c4": "c4", "fineweb_quality": "fineweb_quality", "pii": "pii"}


@pytest.mark.parametrize("switch, step", SWITCHES.items())
def test_silver_switch_turns_off_exactly_its_step(switch, step):
    chain = SilverConfig(**{switch: False}).to_chain_config()
    default = ChainConfig()
    assert chain.params[step] is None
    for other in set(SWITCHES.values()) - {step}:
        assert chain.params[other] == default.params[other], other


def test_silver_language_and_blocklist_fields():
    chain = SilverConfig(
        languages=["de", "fr"], language_threshold=0.5, language_thresholds={"de": 0.8},
        lid_model_path="/models/lid.176.bin",
        url_blocklists={"banned_words_paths": ["/lists/words.txt"],
                        "banned_domains_paths": ["/lists/a.txt", "/lists/b.txt"]},
    ).to_chain_config()
    assert chain.params["language"].languages == ("de", "fr")
    assert chain.params["language"].threshold == 0.5
    assert chain.params["language"].threshold_for("de") == 0.8 and chain.params["language"].threshold_for("fr") == 0.5
    assert chain.params["language"].model_path == "/models/lid.176.bin"
    assert chain.params["url"].banned_words_paths == ("/lists/words.txt",)
    assert chain.params["url"].banned_domains_paths == ("/lists/a.txt", "/lists/b.txt")
    assert chain.params["url"].soft_word_threshold == ChainConfig().params["url"].soft_word_threshold
    rules = SilverConfig(url_domain_rule="parents", url_rule="host_path").to_chain_config()
    assert (rules.params["url"].domain_rule, rules.params["url"].url_rule) == ("parents", "host_path")
    default = SilverConfig().to_chain_config()
    assert (default.params["url"].domain_rule, default.params["url"].url_rule) == ("datatrove", "datatrove")
    assert default.params["language"].languages == ("en",) and default.params["language"].model_path is None
    assert SilverConfig(languages=[]).to_chain_config().params["language"].languages is None  # keep all


def test_silver_thresholds_and_language_overrides():
    chain = SilverConfig(
        thresholds={"gopher_quality": {"min_doc_words": 30}, "fineweb_quality": {"char_duplicates_ratio": 0.02}},
        language_overrides={"de": {"gopher_quality": {"max_avg_word_length": 12}}},
    ).to_chain_config()
    assert chain.params["gopher_quality"].min_doc_words == 30
    assert chain.params["fineweb_quality"].char_duplicates_ratio == 0.02
    assert chain.params_for("gopher_quality", "de").max_avg_word_length == 12
    assert chain.params_for("gopher_quality", "en").max_avg_word_length == \
        ChainConfig().params["gopher_quality"].max_avg_word_length


def test_every_silver_field_is_covered_above():
    covered = set(SWITCHES) | {"languages", "language_threshold", "language_thresholds",
                               "lid_model_path", "url_blocklists", "url_domain_rule", "url_rule",
                               "thresholds", "language_overrides", "preset", "precision_wordlists_dir"}
    check_bounds = {"min_keep_rate", "max_keep_rate", "keep_rate_min_documents"}  # test_asset_checks
    assert set(SilverConfig.model_fields) == covered | check_bounds
    bounds = SilverConfig(min_keep_rate=0.2, max_keep_rate=0.3, keep_rate_min_documents=5)
    assert bounds.to_chain_config() == SilverConfig().to_chain_config()  # the filters do not see them


def test_silver_fineweb2_preset_fields(tmp_path):
    from core.filters.fineweb2.precision import PrecisionParams
    from core.filters.fineweb2.recipe import FINEWEB2_RECIPE

    chain = SilverConfig(preset="fineweb2", languages=["fra_Latn"], pii=False,
                         precision_wordlists_dir=str(tmp_path)).to_chain_config()
    assert chain.recipe == FINEWEB2_RECIPE and chain.splitter_for is not None
    assert isinstance(chain.params["precision"], PrecisionParams)
    assert chain.params["precision"].wordlists_dir == str(tmp_path)
    assert chain.params["pii"] is None and "fra_Latn" in chain.language_overrides
    off = SilverConfig(preset="fineweb2", languages=["fra_Latn"]).to_chain_config()
    assert off.params["precision"] is None  # no word lists: the filter is off, not guessed
    with pytest.raises(ValueError, match="does not apply"):
        SilverConfig(preset="fineweb2", thresholds={"gopher_quality": {"min_doc_words": 30}}).to_chain_config()


def test_dedup_config_maps_every_field_by_name():
    assert DedupAssetConfig().to_job_config() == DedupConfig()
    changed = {"num_bands": 9, "rows_per_band": 13, "ngram": 3, "seed": 7, "verify_threshold": 0.6,
               "verify_method": "minhash", "exact": False, "near": False, "cross_crawl": False,
               "preset": "fineweb2"}
    assert set(changed) == set(DedupAssetConfig.model_fields)
    job = DedupAssetConfig(**changed).to_job_config()
    for name, value in changed.items():
        assert getattr(job, name) == value, name
    assert DedupAssetConfig(verify_threshold=None).to_job_config().verify_threshold is None
