"""Per-language word splitting: the assignment is datatrove's, the splits are its tokenizers' own
(same libraries, offline), and the fallbacks are the documented ones."""
from __future__ import annotations

import pytest

from core.filters.fineweb2.settings import configured_languages
from core.filters.fineweb2.word_tokenizers import resolve_tokenizer, splitter_for
from core.filters.text import split_words

SAMPLES = {
    "fra_Latn": "L'homme d'aujourd'hui n'a-t-il pas vu 3,5 km de route ? C'est « vrai ».",
    "rus_Cyrl": "Это тестовое предложение, т.е. пример: 10 км/ч.",
    "arb_Arab": "هذه جملة اختبار، وهي مثال (بسيط) للنص العربي.",
    "tur_Latn": "Bu bir test cümlesidir; İstanbul'da 5'inci gün.",
    "swh_Latn": "Hii ni sentensi ya majaribio, na mfano wa Kiswahili.",
    "cmn_Hani": "我们今天去北京大学参观了图书馆，然后回家。",
    "jpn_Jpan": "私は東京大学で日本語を勉強しています。",
    "vie_Latn": "Tôi yêu tiếng Việt rất nhiều, bạn có biết không?",
    "tha_Thai": "ภาษาไทยเป็นภาษาที่สวยงามมาก และมีประวัติยาวนาน",
    "hin_Deva": "यह एक परीक्षण वाक्य है। क्या यह काम करता है?",
    "tel_Telu": "ఇది ఒక పరీక్ష వాక్యం. ఇది పని చేస్తుందా?",
    "khm_Khmr": "ខ្ញុំស្រលាញ់ភាសាខ្មែរ",
    "lao_Laoo": "ຂ້ອຍຮັກພາສາລາວ",
    "mya_Mymr": "မြန်မာဘာသာစကား",
    "ukr_Cyrl": "Це тестове речення — приклад.",
    "ell_Grek": "Αυτή είναι μια πρόταση δοκιμής.",
    "ace_Arab": "ئاچيه ڽن سابوه ناڠڬرو",  # datatrove's WhitespaceTokenizer (spaCy xx)
}


def test_assignment_is_datatrove_s_for_every_config():
    from datatrove.utils.word_tokenizers import load_tokenizer_assignments

    theirs = load_tokenizer_assignments()
    for language in configured_languages():
        factory = theirs[language]
        kind, code = factory.args
        assert resolve_tokenizer(language).assigned == (f"{kind}:{code}" if code else kind), language


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_splits_equal_datatrove_s_tokenizer(language):
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    text = SAMPLES[language]
    assert resolve_tokenizer(language).fallback is None
    assert splitter_for(language)(text) == load_word_tokenizer(language).word_tokenize(text)


def test_english_takes_the_fast_path_and_fallbacks_are_named():
    assert splitter_for("eng_Latn") is split_words
    bel = resolve_tokenizer("bel_Cyrl")  # Stanza `be`: spaCy has no Belarusian
    assert (bel.library, bel.code, bel.fallback) == ("spacy", "xx", "stanza_needs_download")
    assert bel.name == "spacy:xx (fallback: stanza_needs_download)"
    kmr = resolve_tokenizer("kmr_Latn")  # Stanza `kmr`: spaCy has Kurmanji
    assert (kmr.code, kmr.fallback) == ("kmr", "stanza_needs_download")
    assert resolve_tokenizer("bod_Tibt").name == "spacy:bo (fallback: botok_needs_download)"
    assert resolve_tokenizer("kor_Hang").fallback == "kiwi_sbg_model_not_shipped"
    assert resolve_tokenizer("xyz_Latn").name == "spacy:xx (fallback: no_assignment)"
    assert splitter_for("bel_Cyrl")("Гэта тэставы сказ.") == ["Гэта", "тэставы", "сказ", "."]
    assert splitter_for("kor_Hang")("나는 학교에 갑니다.")[:3] == ["나", "는", "학교"]
    assert splitter_for(None)("a b") == ["a", "b"]
