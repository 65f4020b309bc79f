"""FineWeb2's packaged settings: the same figures as the published YAML files, as filter params;
every config resolves to a word tokenizer (or a documented fallback)."""
from __future__ import annotations

import csv
import json

import pytest
import yaml

from core.filters.fineweb2.settings import (
    DATA_DIR, configured_languages, load_configs, pipeline_defaults, settings_for,
)
from core.filters.fineweb2.word_tokenizers import resolve_tokenizer
from tests.conftest import SHARED_DATA

FW2_SHARED = SHARED_DATA / "fineweb2"


def test_packaged_configs_equal_the_published_yaml_files():
    yaml_files = sorted((FW2_SHARED / "configs").glob("*.yml"))
    assert len(yaml_files) == 1929
    packaged = load_configs()
    assert sorted(packaged) == [p.stem for p in yaml_files]
    for path in yaml_files:
        assert packaged[path.stem] == yaml.safe_load(path.read_text(encoding="utf-8")), path.name


def test_packaged_precision_inputs_and_tokenizer_table_are_unchanged_copies():
    shared = FW2_SHARED / "misc" / "precision_filtering"
    for name in ("cont_scores.json", "url_whitelist.json"):
        assert json.loads((DATA_DIR / name).read_text()) == json.loads((shared / name).read_text())
    import datatrove

    from pathlib import Path
    theirs = Path(datatrove.__file__).parent / "assets" / "tokenizer_assignment.csv"
    assert (DATA_DIR / "tokenizer_assignment.csv").read_bytes() == theirs.read_bytes()
    for name in ("LICENSE-fineweb-2", "README.md"):
        assert (DATA_DIR / name).is_file()


def test_french_settings_are_its_config_with_the_pipeline_constants():
    fra = settings_for("fra_Latn")
    assert fra.language_score == 0.824 and fra.has_config
    rep = fra.gopher_repetition
    assert rep.dup_line_frac == 0.264 and rep.top_n_grams == ((2, 0.161), (3, 0.149), (4, 0.134))
    assert rep.dup_n_grams[1] == (6, 0.141)
    assert rep.dup_para_frac is None and rep.dup_para_char_frac is None and rep.dup_line_char_frac is None
    fwq = fra.fineweb_quality
    assert (fwq.line_punct_thr, fwq.new_line_ratio, fwq.char_duplicates_ratio, fwq.short_line_thr) == (0.1, 0.185, 0.1, None)
    gq = fra.gopher_quality
    assert (gq.min_avg_word_length, gq.max_avg_word_length, gq.min_alpha_words_ratio) == (2, 11, 0.812)
    assert gq.min_stop_words == 2 and "l'" in gq.stop_words and gq.min_doc_words == 50


def test_a_language_without_config_gets_the_pipeline_defaults_without_stop_words():
    assert "eng_Latn" not in load_configs()  # FineWeb2 is the non-English part
    eng = settings_for("eng_Latn")
    assert not eng.has_config and eng.language_score is None
    assert eng.gopher_quality.min_stop_words is None and eng.gopher_quality.stop_words == ()
    assert eng.fineweb_quality == pipeline_defaults("x").fineweb_quality
    with pytest.raises(ValueError, match="keys"):
        from core.filters.fineweb2.settings import settings_from_config
        settings_from_config("xxx_Latn", {"language_score": 0.5})


def test_every_config_loads_and_resolves_to_a_tokenizer_or_a_documented_fallback():
    rows = {f"{r['code_3']}_{r['script']}" for r in
            csv.DictReader(open(DATA_DIR / "tokenizer_assignment.csv", encoding="utf-8")) if r["type"]}
    fallbacks = {}
    for language in configured_languages():
        settings = settings_for(language)
        assert settings.has_config and 0.3 <= settings.language_score <= 0.9
        choice = resolve_tokenizer(language)
        assert language in rows and choice.assigned
        assert choice.library in {"english", "spacy", "thai", "indic", "kiwi", "khmer", "lao", "burmese"}
        if choice.fallback:
            fallbacks[choice.fallback] = fallbacks.get(choice.fallback, 0) + 1
    assert len(configured_languages()) == 1929
    # Stanza (neural models downloaded at run time), botok (dialect pack download), kiwi's sbg model
    assert fallbacks == {"stanza_needs_download": 98, "botok_needs_download": 3,
                         "kiwi_sbg_model_not_shipped": 1}
