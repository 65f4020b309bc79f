"""The memoized spaCy, indic-nlp and jieba splits (`SpacyChunkMemo`, `IndicChunkMemo`,
`JiebaChunkMemo`) give datatrove's words on every document of the parity corpora (real text of FineWeb2's
ablation languages, see tests/test_fineweb2_parity.py), one document after another so that the memo
is warm, as in a Spark worker; and the memo's edge cases: its size bound, special cases that span
whitespace, the one string that breaks spaCy, indic-nlp's number sequences across spaces and at
the start of a text (and random texts of digits, punctuation and spaces), jieba's blocks (random
texts against jieba's own `cut`)."""
from __future__ import annotations

import pytest

import random

from core.filters.fineweb2.chunk_memo import ChunkMemo, IndicChunkMemo, JiebaChunkMemo, SpacyChunkMemo
from core.filters.fineweb2.word_tokenizers import resolve_tokenizer, splitter_for
from tests.test_fineweb2_parity import corpus

DOCUMENTS = 150  # per language: the first pages of the handbook, then catalogs


@pytest.mark.parametrize("language", ["arb_Arab", "cmn_Hani", "fra_Latn", "hin_Deva", "rus_Cyrl", "swh_Latn",
                                      "tel_Telu", "tur_Latn"])
def test_every_document_splits_as_datatrove_s_tokenizer(language):
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    theirs = load_word_tokenizer(language)
    ours = splitter_for(language)
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


def _plain_indic(code="hi"):
    from indicnlp.tokenize.indic_tokenize import trivial_tokenize

    calls = []

    def whole(text):
        calls.append(text)
        return [w for w in (t.strip() for t in trivial_tokenize(text, code)) if w]

    return whole, calls


@pytest.mark.parametrize("language", ["hin_Deva", "tel_Telu"])
def test_every_indic_document_splits_as_the_plain_splitter_with_a_small_bound(language):
    whole, _ = _plain_indic("hi" if language == "hin_Deva" else "te")
    memo = IndicChunkMemo(whole, max_entries=200)
    texts = [text for _, text in corpus(language)]
    assert [memo(t) for t in texts] == [whole(t) for t in texts]
    assert len({chunk for t in texts for chunk in t.split()}) > 200  # the bound was hit


def test_indic_numbers_across_spaces_stay_in_one_chunk():
    whole, calls = _plain_indic()
    memo = IndicChunkMemo(whole)
    naive = lambda text: [w for chunk in text.split() for w in whole(chunk)]  # noqa: E731
    cases = {"कुल 12 , 345 रुपये": ["कुल", "12 , 345", "रुपये"],
             "समय 10: 30 बजे": ["समय", "10: 30", "बजे"],
             "दिनांक 12 /05/2024 को": ["दिनांक", "12 /05/2024", "को"],
             "अंक 3,14\t,15 है": ["अंक", "3,14 ,15", "है"],
             "सन 2019. 2020 में 1 , 2 , 3 और": ["सन", "2019. 2020", "में", "1 , 2 , 3", "और"]}
    for text, chunks in cases.items():
        assert memo._chunks(text) == chunks
        calls.clear()
        words = memo(text)
        assert text not in calls  # chunk by chunk, not whole
        assert words == whole(text)
        assert naive(text) != whole(text)  # cutting at every space would have been wrong
    assert whole("कुल 12 , 345 रुपये")[1] == "12,345"  # indic-nlp's rejoining over the spaces
    assert whole("सन 2019. 2020 में 1 , 2 , 3 और")[1:5] == ["2019.2020", "में", "1,2,3", "और"]
    text = "कुल 12 , 345\x00"  # the glue's placeholder in the text: split whole
    calls.clear()
    assert memo(text) == whole(text) and calls[0] == text


def test_indic_number_at_the_start_of_a_text_is_left_split_as_indic_nlp_does():
    whole, calls = _plain_indic()
    memo = IndicChunkMemo(whole)
    later = "कुल 1,000 रुपये"
    assert memo(later) == ["कुल", "1,000", "रुपये"]
    first = "1,000 रुपये कुल 1,000"
    assert whole(first) == ["1", ",", "000", "रुपये", "कुल", "1,000"]  # indic-nlp's `if start>prev`
    calls.clear()
    assert memo(first) == whole(first)
    assert calls[0] == first
    # a chunk learnt from the start of a text would be wrong later: chunks are learnt inside a text
    assert IndicChunkMemo(whole)("1,000") == ["1", ",", "000"]
    fresh = IndicChunkMemo(whole)
    fresh("\n1,000 रुपये")  # not at the start (a newline first): chunk by chunk, rejoined
    assert fresh._memo["\n1,000"] == ("1,000",)
    assert fresh(later) == whole(later)


def test_indic_chunks_are_cut_at_spaces_and_tabs_only():
    whole, _ = _plain_indic()
    memo = IndicChunkMemo(whole)
    text = "पहली\nपंक्ति\tदूसरी\u00a0पंक्ति।  अंत"
    assert memo(text) == whole(text) == ["पहली\nपंक्ति", "दूसरी\u00a0पंक्ति", "।", "अंत"]


@pytest.mark.parametrize("code", ["hi", "ur"])
def test_indic_memo_equals_the_plain_split_on_random_texts(code):
    whole, _ = _plain_indic(code)
    memo = IndicChunkMemo(whole, numbers=code != "ur", max_entries=100)
    alphabet = list("0123456789" * 3 + ",.:/;-" * 2) + [" ", " ", "\t", "\n", "a", "क", "।", "\u00a0", "\x00"]
    rng = random.Random(13)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert memo(text) == whole(text), repr(text)


def test_chunk_memo_is_the_common_base():
    assert issubclass(SpacyChunkMemo, ChunkMemo) and issubclass(IndicChunkMemo, ChunkMemo)
    assert issubclass(JiebaChunkMemo, ChunkMemo)


def test_jieba_memo_equals_jieba_s_cut_on_random_texts_and_a_small_bound():
    import jieba

    memo = JiebaChunkMemo(max_entries=50)
    alphabet = list("我们的数据中文分词测试北京大学生前来应聘") + list("ab1.%-+#&_ ，。\n\t　") + ["2024年"]
    rng = random.Random(7)
    for _ in range(5_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        expected = [w for w in (x.strip() for x in jieba.cut(text, cut_all=False)) if w]
        assert memo(text) == expected, repr(text)


def test_jieba_memo_learns_each_block_once():
    memo = JiebaChunkMemo()
    text = "北京大学生前来应聘。北京大学生前来应聘！"
    first = memo(text)
    assert first == ["北京", "大学生", "前来", "应聘", "。", "北京", "大学生", "前来", "应聘", "！"]
    assert set(memo._memo) == {"北京大学生前来应聘", "。", "！"}
    assert memo(text) == first
