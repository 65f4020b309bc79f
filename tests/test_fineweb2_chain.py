"""The `fineweb2` preset: FineWeb2's order and switches, per-language params and words, the final
touches (FTFY, PII, table lines), the precision filter and configuration errors."""
from __future__ import annotations

import dataclasses

import pytest

from core.filters.base import LANGUAGE_STAT, SCRIPT_STAT, Document, FilterResult
from core.filters.chain import run_documents
from core.filters.fineweb2.formatters import fix_text, remove_symbol_lines
from core.filters.fineweb2.precision import PrecisionParams, precision_filter, url_matches
from core.filters.fineweb2.preset import (
    describe, fineweb2_chain_config, languages_without_threshold, with_thresholds,
)
from core.filters.fineweb2.word_tokenizers import splitter_for

FRENCH = "\n".join([
    "Le comité s'est réuni mardi pour discuter du nouveau budget de la bibliothèque municipale.",
    "Plusieurs membres ont estimé que la section des enfants avait besoin de plus de livres.",
    "D'autres ont fait remarquer que le toit fuyait depuis deux ans et qu'il fallait le réparer.",
    "Après un long débat, ils ont accepté de partager l'argent entre le toit et les livres.",
    "La décision a été bien accueillie par les parents, qui avaient écrit au conseil à ce sujet.",
    "|  |  |",
    "| |",
    "Contactez la bibliothèque à info@bibliotheque-exemple.fr pour plus de détails, merci.",
])


def _given(language: str):
    """The preset with its language step replaced by a fixed label (GlotLID is not available)."""
    config = fineweb2_chain_config(languages=[language], enabled={"url": False})
    code, script = language.split("_")
    step = next(s for s in config.recipe if s.name == "language")
    fixed = dataclasses.replace(step, apply=lambda doc, p: FilterResult(
        True, None, {LANGUAGE_STAT: code, SCRIPT_STAT: script}), apply_batch=None, setup=None)
    return dataclasses.replace(config, recipe=tuple(fixed if s.name == "language" else s for s in config.recipe))


def _run(text, language="fra_Latn", url=None):
    config = _given(language)
    return run_documents([Document(text, url, config.splitter_for)], config)[0]


def test_order_switches_and_per_language_params():
    config = fineweb2_chain_config()
    assert [s.name for s in config.recipe] == ["url", "language", "gopher_repetition", "fineweb_quality",
                                               "gopher_quality", "precision", "ftfy", "pii", "symbol_lines"]
    assert "c4" not in config.params and config.params["precision"] is None  # no word lists given
    assert config.params_for("gopher_quality", "fra_Latn").stop_words[:3] == ("de", "la", "le")
    assert config.params_for("fineweb_quality", "aai_Latn").line_punct_thr == -1
    assert config.params_for("gopher_quality", None).min_stop_words == 2  # pipeline constants
    assert len(config.language_overrides) == 1929 and config.splitter_for is splitter_for
    assert describe(config)["precision_filter"].startswith("off")
    assert "lid.176" in describe(config)["lid_model"]


def test_a_french_document_is_kept_with_its_final_touches():
    result = _run(FRENCH)
    assert result.keep, result.reason
    assert "info@bibliotheque-exemple.fr" not in result.text and result.stats["pii.n_emails"] == 1
    assert "|" not in result.text and result.stats["symbol_lines.n_lines_removed"] == 2
    assert result.stats["gopher_quality.n_stop_words"] >= 2  # French stop words, French words
    english_split = _run(FRENCH, "eng_Latn")  # English has no FineWeb2 config: no stop-word rule
    assert english_split.stats["gopher_quality.n_stop_words"] == 0


def test_per_language_thresholds_decide():
    # French's config needs 10% of lines to end in terminal punctuation; Arifama-Miniafia's
    # (aai_Latn, line_punct_thr -1) has no such rule.
    unpunctuated = "\n".join(" ".join(f"mot{i}x{j}" for j in range(9)) for i in range(30))
    assert _run(unpunctuated).reason == "fineweb_quality.line_punct_ratio"
    assert _run(unpunctuated, "aai_Latn").reason == "fineweb_quality.list_ratio"  # the next rule


def test_formatters_are_datatrove_s():
    from datatrove.pipeline.formatters import FTFYFormatter, SymbolLinesFormatter

    for text in ["a\n|\n| |\nb\n\n||\nc\r\nd\n", "schÃ¶n &amp; gut\x1b[31m rot\u0085", "x\n"]:
        assert remove_symbol_lines(text).text == SymbolLinesFormatter(["|"], "\n").format(text)
        assert fix_text(text).text == FTFYFormatter().format(text)
    assert fix_text("schÃ¶n").stats == {"ftfy.changed": True}


def test_precision_filter(tmp_path):
    (tmp_path / "zpa_Latn.txt").write_text("xhiiz\nbeenn\n", encoding="utf-8")
    params = PrecisionParams(str(tmp_path))
    assert params.applies_to("zpa_Latn") and not params.applies_to("fra_Latn")

    def doc(text, url):
        d = Document(text, url, splitter_for)
        d.stats.update({LANGUAGE_STAT: "zpa", SCRIPT_STAT: "Latn"})
        return d

    kept_by_url = precision_filter(doc("nothing", "https://example.org/zapotec/page"), params)
    assert kept_by_url.keep and kept_by_url.stats["precision.url_match"]
    assert precision_filter(doc("nada", "https://example.com.mx/"), params).keep  # host extension
    assert precision_filter(doc("nada", "https://example.com/ZPA/"), params).keep  # code upper-cased
    by_word = precision_filter(doc("texto con xhiiz, aquí", "https://example.com/"), params)
    assert by_word.keep and by_word.stats["precision.wordlist_ratio"] == pytest.approx(1 / 4)
    dropped = precision_filter(doc("texto sin nada", "https://example.com/"), params)
    assert (dropped.keep, dropped.reason) == (False, "precision.no_match")
    assert precision_filter(doc("x", None), params).reason == "precision.no_match"
    # a language without whitelist words passes the URL rule, as in the reference
    assert url_matches("https://example.com/", "xyz_Latn", {})
    other = Document("texto", "https://example.com/", splitter_for)
    other.stats.update({LANGUAGE_STAT: "fra", SCRIPT_STAT: "Latn"})
    assert precision_filter(other, params).stats == {"precision.checked": False}
    missing = Document("texto", "https://example.com/", splitter_for)
    missing.stats.update({LANGUAGE_STAT: "sco", SCRIPT_STAT: "Latn"})
    with pytest.raises(FileNotFoundError, match="sco_Latn"):
        precision_filter(missing, params)
    config = fineweb2_chain_config(wordlists_dir=str(tmp_path))
    assert config.params["precision"] == params and describe(config)["precision_filter"].startswith("on")


def test_listed_languages_and_derived_thresholds():
    config = fineweb2_chain_config(languages=["fra_Latn", "eng_Latn"], language_thresholds={"fra_Latn": 0.7})
    assert config.params["language"].thresholds["fra_Latn"] == 0.7
    assert languages_without_threshold(config) == ("eng_Latn",)
    assert with_thresholds(config, {"eng_Latn": 0.55}).params["language"].thresholds["eng_Latn"] == 0.55
    assert config.params_for("gopher_quality", "eng_Latn").min_stop_words is None
    tuned = fineweb2_chain_config(language_overrides={"fra_Latn": {"gopher_quality": {"min_doc_words": 20}}})
    assert tuned.params_for("gopher_quality", "fra_Latn").min_doc_words == 20
    assert tuned.params_for("gopher_quality", "fra_Latn").stop_words[0] == "de"  # FineWeb2's kept


@pytest.mark.parametrize("kwargs, message", [
    ({"enabled": {"c4": False}}, "unknown filter"),
    ({"language_overrides": {"fra_Latn": {"c4": {}}}}, "unknown filter"),
    ({"language_overrides": {"fra_Latn": {"gopher_quality": {"min_words": 3}}}}, "unknown parameter"),
])
def test_typos_are_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fineweb2_chain_config(**kwargs)
