"""Word splitting per language and script, assigned as datatrove's `tokenizer_assignment.csv` does.

FineWeb2 splits words with the tokenizer datatrove assigns to each language (`fra_Latn` → spaCy
`fr`; a language without one of its own gets a proxy of its family, `swh_Latn` → spaCy `tn`).
`resolve_tokenizer` reads the packaged copy of that table (first row per `code_3_Script`, as
`datatrove.utils.word_tokenizers.load_tokenizer_assignments`), `splitter_for` returns the
function that splits a text into words (whitespace-only tokens dropped, tokens stripped, as
datatrove's `strip_strings`). Libraries, all from PyPI, all offline:

| datatrove class | library here |
|---|---|
| SpaCyTokenizer `<code>` | `spacy.blank(code).tokenizer`, remembered per chunk across documents (`chunk_memo.SpacyChunkMemo`); zh: jieba's `cut` (what spaCy's jieba segmenter calls), remembered per jieba block (`chunk_memo.JiebaChunkMemo`), ja: datatrove's Sudachi wrapper; `en`: this project's spaCy-compatible English splitter (`core.filters.text.split_words`, the fast path) |
| WhitespaceTokenizer | `spacy.blank("xx")` (what datatrove's WhitespaceTokenizer uses for words) |
| ThaiTokenizer | pythainlp `word_tokenize(engine="newmm-safe", keep_whitespace=False)` |
| IndicNLPTokenizer `<code>` | indic-nlp-library `trivial_tokenize(text, code)`, remembered per chunk across documents (`chunk_memo.IndicChunkMemo`) |
| KhmerTokenizer / LaoTokenizer / BurmeseTokenizer | khmer-nltk / laonlp / pyidaungsu-numpy2 |
| KiwiTokenizer | kiwipiepy, `model_type="cong"` (**fallback**: datatrove asks for `sbg`, which kiwipiepy_model no longer ships since 0.22) |
| StanzaTokenizer `<code>` | **fallback**: Stanza downloads its models at run time; `spacy.blank(code)` when spaCy has the language (`kmr`, `gd`), else `spacy.blank("xx")` |
| TibetanTokenizer | **fallback**: botok downloads its dialect pack at run time; `spacy.blank("bo")` |
| (no row for the language) | **fallback**: `spacy.blank("xx")` (datatrove raises) |

Every fallback is named in `TokenizerChoice.fallback` and counted per document in silver's metadata
(`word_tokenizer` column). `tests/test_fineweb2_word_tokenizers.py` resolves every FineWeb2 config.
"""
from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from core.filters.fineweb2.settings import DATA_DIR
from core.filters.text import split_words

WordSplitter = Callable[[str], list[str]]

# spaCy languages a Stanza-assigned language may fall back to (spaCy 3.8 has these two of them)
_SPACY_HAS = frozenset({"kmr", "gd"})


@dataclass(frozen=True)
class TokenizerChoice:
    """Which word splitter a language gets, and why."""

    language: str  # `fra_Latn`
    assigned: str  # datatrove's assignment, `SpaCyTokenizer:fr`, or "" without a row
    library: str  # what runs here: english | spacy | thai | indic | kiwi | khmer | lao | burmese
    code: str = ""  # the library's language code (spaCy `fr`, Indic `hi`)
    fallback: str | None = None  # why `library` is not the assigned one, else None

    @property
    def name(self) -> str:
        """`spacy:fr`, `thai`, `spacy:xx (fallback: stanza_needs_download)`: the metadata label."""
        base = f"{self.library}:{self.code}" if self.code else self.library
        return f"{base} (fallback: {self.fallback})" if self.fallback else base


@lru_cache(maxsize=1)
def load_assignments() -> dict[str, tuple[str, str]]:
    """`{"fra_Latn": ("SpaCyTokenizer", "fr")}`: the first row of each code_3 and script that names
    a tokenizer, as datatrove reads `tokenizer_assignment.csv`."""
    table: dict[str, tuple[str, str]] = {}
    with open(DATA_DIR / "tokenizer_assignment.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["type"]:
                table.setdefault(f"{row['code_3']}_{row['script']}", (row["type"], row["tok_code"]))
    return table


def _choice(language: str, kind: str, code: str) -> TokenizerChoice:
    assigned = f"{kind}:{code}" if code else kind
    if kind == "SpaCyTokenizer":
        return TokenizerChoice(language, assigned, "english" if code == "en" else "spacy",
                               "" if code == "en" else code)
    if kind == "WhitespaceTokenizer":
        return TokenizerChoice(language, assigned, "spacy", "xx")
    if kind == "StanzaTokenizer":
        proxy = code if code in _SPACY_HAS else "xx"
        return TokenizerChoice(language, assigned, "spacy", proxy, "stanza_needs_download")
    if kind == "TibetanTokenizer":
        return TokenizerChoice(language, assigned, "spacy", "bo", "botok_needs_download")
    if kind == "KiwiTokenizer":
        return TokenizerChoice(language, assigned, "kiwi", "", "kiwi_sbg_model_not_shipped")
    if kind == "IndicNLPTokenizer":
        return TokenizerChoice(language, assigned, "indic", code)
    simple = {"ThaiTokenizer": "thai", "KhmerTokenizer": "khmer", "LaoTokenizer": "lao",
              "BurmeseTokenizer": "burmese"}
    if kind in simple:
        return TokenizerChoice(language, assigned, simple[kind])
    raise ValueError(f"tokenizer_assignment.csv: unknown tokenizer class {kind!r} for {language}")


@lru_cache(maxsize=None)
def resolve_tokenizer(language: str | None) -> TokenizerChoice:
    """The word splitter of `fra_Latn` (None or an unknown language: spaCy's multilingual `xx`)."""
    if language is None:
        return TokenizerChoice("", "", "spacy", "xx", "no_language")
    row = load_assignments().get(language)
    if row is None:
        return TokenizerChoice(language, "", "spacy", "xx", "no_assignment")
    return _choice(language, *row)


def _strip(tokens) -> list[str]:
    """datatrove's strip_strings: tokens stripped, empty ones dropped."""
    out = []
    for token in tokens:
        token = token.strip()
        if token:
            out.append(token)
    return out


def _spacy_splitter(code: str) -> WordSplitter:
    import spacy
    from spacy.tokenizer import Tokenizer

    from core.filters.fineweb2.chunk_memo import SpacyChunkMemo

    if code == "zh":
        return _jieba_splitter()
    if code == "ja":
        # datatrove's registered Sudachi wrapper (spaCy issue 13684), and its 40,000-byte chunks
        from datatrove.utils.japanese_tokenizer import JapaneseTokenizer  # noqa: F401  (registers it)
        from datatrove.utils.word_tokenizers import chunk_text_on_bytes

        nlp = spacy.blank("ja", config={"nlp": {"tokenizer": {"@tokenizers": "datatrove.ja.JapaneseTokenizer"}}})
        tokenizer = nlp.tokenizer

        def split_ja(text: str) -> list[str]:
            with nlp.memory_zone():
                return _strip(t.text for chunk in chunk_text_on_bytes(text, 40000) for t in tokenizer(chunk))

        return split_ja
    nlp = spacy.blank(code)
    # only the tokens' texts are used: new words skip spaCy's lexical attributes (like_num, shape,
    # ...), which cost more than the split itself (same tokens: tests/test_fineweb2_chunk_memo.py)
    nlp.vocab.lex_attr_getters = {}
    tokenizer = nlp.tokenizer

    def split(text: str) -> list[str]:
        nlp.max_length = len(text) + 10
        with nlp.memory_zone():  # spaCy's string store would otherwise grow with every new token
            try:
                return _strip(t.text for t in tokenizer(text))
            except Exception:
                if "IS_ALPHA" not in text:  # the one string known to break spaCy (datatrove)
                    raise
                return _strip(t.text for t in tokenizer(text.replace("IS_ALPHA", "")))

    if type(tokenizer) is not Tokenizer:  # a language with a tokenizer of its own (vi, ko, ...)
        return split
    return SpacyChunkMemo(nlp, split)


def _jieba_splitter() -> WordSplitter:
    """spaCy's `zh` tokenizer with the jieba segmenter, without the Doc: its words are jieba's
    `cut(text, cut_all=False)` (spaCy only lines them up with the text's whitespace), each block
    of jieba's remembered across documents (`chunk_memo.JiebaChunkMemo`)."""
    import jieba

    from core.filters.fineweb2.chunk_memo import JiebaChunkMemo

    jieba.setLogLevel(logging.WARNING)
    return JiebaChunkMemo()


def _thai_splitter() -> WordSplitter:
    from pythainlp.tokenize import word_tokenize

    return lambda text: _strip(word_tokenize(text, keep_whitespace=False, engine="newmm-safe"))


def _indic_splitter(code: str) -> WordSplitter:
    from indicnlp.tokenize.indic_tokenize import trivial_tokenize

    from core.filters.fineweb2.chunk_memo import IndicChunkMemo

    return IndicChunkMemo(lambda text: _strip(trivial_tokenize(text, code)), numbers=code != "ur")


_LONG_NUMBER = re.compile("[0-9,]{20,}")  # datatrove KiwiTokenizer: kiwi chokes on very long numbers


def _kiwi_splitter() -> WordSplitter:
    from kiwipiepy import Kiwi

    kiwi = Kiwi(model_type="cong")

    def split(text: str) -> list[str]:
        text = _LONG_NUMBER.sub("", text)
        return _strip(text[t.start:t.end] for t in kiwi.tokenize(text))

    return split


def _khmer_splitter() -> WordSplitter:
    logging.getLogger("khmer-nltk").setLevel(logging.WARNING)
    from khmernltk import word_tokenize

    return lambda text: _strip(word_tokenize(text, return_tokens=True))


def _lao_splitter() -> WordSplitter:
    from laonlp.tokenize import word_tokenize

    return lambda text: _strip(word_tokenize(text))


def _burmese_splitter() -> WordSplitter:
    import pyidaungsu

    return lambda text: _strip(pyidaungsu.tokenize(text, form="word"))


@lru_cache(maxsize=None)
def _splitter_of(library: str, code: str) -> WordSplitter:
    if library == "english":
        return split_words
    if library == "spacy":
        return _spacy_splitter(code)
    if library == "indic":
        return _indic_splitter(code)
    factories = {"thai": _thai_splitter, "kiwi": _kiwi_splitter, "khmer": _khmer_splitter,
                 "lao": _lao_splitter, "burmese": _burmese_splitter}
    return factories[library]()


def splitter_for(language: str | None) -> WordSplitter:
    """The word splitter of `fra_Latn`, loaded once per process."""
    choice = resolve_tokenizer(language)
    return _splitter_of(choice.library, choice.code)
