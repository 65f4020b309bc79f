"""GlotLID-style language and script identification, tested on a small fastText model trained here
on labelled sentences (GlotLID itself cannot be downloaded), and on lid.176's labels."""
from __future__ import annotations

import random

import pytest

from core.filters.base import LANGUAGE_STAT, SCRIPT_STAT
from core.filters.fineweb2.language_id import (
    GlotLidParams, Prediction, configured_thresholds, derived_threshold, language_decision,
    lid176_label_map, parse_label, predict,
)
from core.preselect.train import FastTextParams, train_fasttext

WORDS = {
    "fra_Latn": "le la les un une des et est dans pour avec sur pas plus maison chat chien manger "
                "rouge grand petit nous vous ils elles parler aller venir faire voir savoir",
    "deu_Latn": "der die das ein eine und ist nicht mit auf für den dem haus katze hund essen "
                "rot groß klein wir ihr sie sprechen gehen kommen machen sehen wissen",
    "rus_Cyrl": "и в не на я быть он с что а по это она этот к но они мы как из у который то "
                "дом кошка собака есть красный большой маленький говорить идти",
}


@pytest.fixture(scope="module")
def glotlid_like_model(tmp_path_factory) -> str:
    """A fastText supervised model with GlotLID's label format, trained on sentences built here."""
    rng = random.Random(7)
    lines = []
    for label, vocabulary in WORDS.items():
        words = vocabulary.split()
        for _ in range(300):
            lines.append(f"__label__{label} " + " ".join(rng.choice(words) for _ in range(12)))
    rng.shuffle(lines)
    root = tmp_path_factory.mktemp("glotlid")
    # Trained as the project trains fastText (core.preselect.train: a child process whose heap is
    # zero-filled): in-process training in a long pytest process reads leftover heap and hits NaN.
    path = root / "model.bin"
    train_fasttext(lines, str(path), FastTextParams(lr=0.1, dim=100, epoch=25, word_ngrams=1, bucket=0,
                                                    zero_eos=False))
    return str(path)


def test_labels_of_both_formats():
    assert parse_label("__label__fra_Latn") == ("fra", "Latn")
    assert parse_label("__label__zho_Hani") == ("zho", "Hani")
    assert parse_label("__label__fr") == ("fra", "Latn")  # lid.176, mapped to FineWeb2's name
    assert parse_label("__label__zh") == ("cmn", "Hani")
    assert parse_label("__label__sw") == ("swh", "Latn")
    assert parse_label("__label__xyz") == ("xyz", None)  # unknown code: no script
    mapping = lid176_label_map()
    nine = {"ar": "arb_Arab", "zh": "cmn_Hani", "fr": "fra_Latn", "hi": "hin_Deva", "ru": "rus_Cyrl",
            "sw": "swh_Latn", "te": "tel_Telu", "th": "tha_Thai", "tr": "tur_Latn"}
    assert {code: mapping[code] for code in nine} == nine


def test_predictions_from_a_glotlid_format_model(glotlid_like_model):
    texts = ["la maison est grande et le chat est rouge avec nous dans la maison",
             "der hund ist nicht klein und die katze ist rot mit dem haus",
             "она говорить что дом большой и собака идти", "", "\n"]
    out = predict(texts, glotlid_like_model, 0.01)
    assert [(p.language, p.script) for p in out[:3]] == [("fra", "Latn"), ("deu", "Latn"), ("rus", "Cyrl")]
    assert out[0].key == "fra_Latn" and out[0].score > 0.5
    assert out[0].top["fra_Latn"] == out[0].score and all(s > 0.01 for s in out[0].top.values())
    assert [p.language for p in out[3:]] == [None, None]  # no text: no language


def test_decision_is_per_language_and_inclusive():
    params = GlotLidParams(thresholds={"fra_Latn": 0.8, "deu_Latn": 0.5}, languages=None)
    assert language_decision(Prediction("fra", "Latn", 0.8, {}), params).keep  # >= as FineWeb2
    low = language_decision(Prediction("fra", "Latn", 0.79, {}), params)
    assert (low.keep, low.reason) == (False, "language.low_score")
    assert low.stats[LANGUAGE_STAT] == "fra" and low.stats[SCRIPT_STAT] == "Latn"
    assert low.stats["language.word_tokenizer"] == "spacy:fr"
    assert language_decision(Prediction("eng", "Latn", 0.99, {}), params).reason == "language.not_kept"
    assert language_decision(Prediction(None, None, 0.0, {}), params).reason == "language.no_text"
    listed = GlotLidParams(thresholds={"fra_Latn": 0.8}, languages=("fra_Latn", "eng_Latn"))
    assert language_decision(Prediction("eng", "Latn", 0.99, {}), listed).reason == "language.no_threshold"
    assert language_decision(Prediction("deu", "Latn", 0.99, {}), listed).reason == "language.not_kept"
    assert configured_thresholds()["fra_Latn"] == 0.824 and len(configured_thresholds()) == 1929


def test_derived_threshold_is_fineweb2_s_rule():
    assert derived_threshold([0.9, 0.8, 0.7]) == pytest.approx(0.8 - 0.0816496580927726)
    assert derived_threshold([0.99] * 10) == 0.9  # capped
    assert derived_threshold([0.1, 0.2, 0.9]) == 0.3  # floored
    assert derived_threshold([]) == 0.3
