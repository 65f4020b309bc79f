"""The memoized spaCy split (`SpacyChunkMemo`) and the direct jieba split give datatrove's words on
every document of the parity corpora (real text of FineWeb2's ablation languages, see
tests/test_fineweb2_parity.py), one document after another so that the memo is warm, as in a
Spark worker; and the memo's edge cases: its size bound, special cases that span whitespace, the
one string that breaks spaCy."""
from __future__ import annotations

import pytest

from core.filters.fineweb2.chunk_memo import ChunkMemo, SpacyChunkMemo
from core.filters.fineweb2.word_tokenizers import resolve_tokenizer, splitter_for
from tests.test_fineweb2_parity import corpus

DOCUMENTS = 150  # per language: the first pages of the handbook, then catalogs


@pytest.mark.parametrize("language", ["arb_Arab", "cmn_Hani", "fra_Latn", "rus_Cyrl", "swh_Latn", "tur_Latn"])
def test_every_document_splits_as_datatrove_s_tokenizer(language):
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    theirs = load_word_tokenizer(language)
    ours = splitter_for(language)
    if language != "cmn_Hani":
        assert isinstance(ours, ChunkMemo), resolve_tokenizer(language)
    documents = corpus(language)[:DOCUMENTS]
    assert len(documents) >= (2 if language == "swh_Latn" else DOCUMENTS)
    differ = [key for key, text in documents if ours(text) != theirs.word_tokenize(text)]
    assert differ == []


def _plain_french():
    import spacy

    nlp = spacy.blank("fr")

    def split(text):
        with nlp.memory_zone():
            return [w for w in (t.text.strip() for t in nlp.tokenizer(text)) if w]

    return nlp, split


def test_a_small_bound_starts_afresh_and_changes_nothing():
    nlp, plain = _plain_french()
    memo = SpacyChunkMemo(nlp, plain, max_entries=40)
    texts = [text for _, text in corpus("fra_Latn")[:20]]
    assert [memo(t) for t in texts] == [plain(t) for t in texts]
    assert len({chunk for t in texts for chunk in t.split()}) > 40  # the bound was hit
    assert len(memo._memo) <= max(40, max(len(set(t.split())) for t in texts))


def test_a_special_case_across_whitespace_is_split_whole():
    import spacy

    nlp = spacy.blank("ru")
    assert "в н.в." in nlp.tokenizer.rules  # spaCy's Russian "at present", one rule over a space
    calls = []

    def whole(text):
        calls.append(text)
        return [t.text for t in nlp.tokenizer(text) if t.text.strip()]

    memo = SpacyChunkMemo(nlp, whole)
    text = "Это верно и в н.в. тоже."
    assert memo(text) == whole(text)
    assert calls[0] == text  # the text went to spaCy whole, not chunk by chunk
    assert memo("Это верно.") == ["Это", "верно", "."]


def test_the_string_that_breaks_spacy_is_handled_as_datatrove_does():
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    text = "Le drapeau IS_ALPHA est vrai, et fooIS_ALPHAbar aussi."
    assert splitter_for("fra_Latn")(text) == load_word_tokenizer("fra_Latn").word_tokenize(text)

