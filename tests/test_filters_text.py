"""Word splitting and sentence counting against spaCy's English tokenizer (what datatrove uses)."""
import sys

import pytest

from core.filters.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION, count_sentences, split_words


def test_splits_like_spacy_on_known_cases():
    assert split_words("Hello, world! It's well-known: don't can't U.S. e.g. 3.5% (see http://x.com/a?b=1)") == [
        "Hello", ",", "world", "!", "It", "'s", "well", "-", "known", ":", "do", "n't", "ca", "n't",
        "U.S.", "e.g.", "3.5", "%", "(", "see", "http://x.com/a?b=1", ")",
    ]
    assert split_words("Mr. Smith went. f(): 10km 2024-05-01 dont") == [
        "Mr.", "Smith", "went", ".", "f", "(", "):", "10", "km", "2024", "-", "05", "-", "01", "do", "nt",
    ]
    assert split_words("") == [] and split_words(" \n\t ") == []


def test_bare_host_and_file_names_stay_whole_like_spacy_url_match():
    # spaCy's URL_MATCH needs no scheme: `label.label.tld` (lower-case TLD of 2+ letters) after the
    # affixes are peeled is one token, not split on its hyphens or `lower.Upper` dots.
    assert split_words("(Contents-udeb-arch.gz) man-db_2.9.4-2_amd64.deb changelog.Debian.gz, ftp-master.debian.org") == [
        "(", "Contents-udeb-arch.gz", ")", "man-db_2.9.4-2_amd64.deb", "changelog.Debian.gz", ",",
        "ftp-master.debian.org",
    ]
    # ...but a scheme alone does not make a URL: no dotted host, so `/` between letters splits.
    assert split_words("http://server/nagios4/ “.service”") == ["http://server", "/", "nagios4/", "“", ".service", "”"]


def test_cjk_punctuation_is_a_letter_for_infixes_like_spacy():
    # spaCy's ALPHA includes U+3000-U+303F, so `、-i` and `。/var` split on the infix.
    assert split_words("インストールするには、-i を使います。/var 考えるなら、--force") == [
        "インストールするには、", "-", "i", "を使います。", "/", "var", "考えるなら、", "--", "force",
    ]


def test_abbreviations_rejoined_after_infix_split_like_spacy():
    assert split_words("O.Univ.Prof.Dr. Georg") == ["O.Univ", ".", "Prof.", "Dr.", "Georg"]


def test_sentences_like_spacy_sentencizer():
    assert count_sentences("Mr. Smith went. Then!! He said \"hi.\" Ok) no.") == 4
    assert count_sentences("no terminator here") == 1
    assert count_sentences("") == 0


def test_character_sets_match_datatrove():
    from datatrove.utils.text import PUNCTUATION_SET as DT_PUNCT, TERMINAL_PUNCTUATION as DT_TERM

    assert TERMINAL_PUNCTUATION == frozenset(DT_TERM)
    assert PUNCTUATION_SET == frozenset(DT_PUNCT)


def test_token_agreement_with_spacy_on_stdlib_docs():
    spacy = pytest.importorskip("spacy")
    import difflib
    import importlib
    import warnings

    import pydoc_data.topics

    nlp = spacy.blank("en")
    texts = list(pydoc_data.topics.topics.values())
    for name in sorted(sys.stdlib_module_names)[:150]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                doc = importlib.import_module(name).__doc__
        except Exception:
            continue
        if doc:
            texts.append(doc)
    total = differing = 0
    for text in texts:
        ref = [t.text.strip() for t in nlp(text) if t.text.strip()]
        ours = split_words(text)
        total += len(ref)
        if ref != ours:
            ops = difflib.SequenceMatcher(None, ref, ours, autojunk=False).get_opcodes()
            differing += sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op != "equal")
    print(f"token disagreement {differing}/{total} = {differing / total:.4%}")
    assert differing / total < 0.005


def test_spacy_char_classes_match_installed_spacy():
    from spacy.lang import char_classes

    from core.filters import spacy_chars

    for name in ("ALPHA", "ALPHA_LOWER", "ALPHA_UPPER"):
        assert getattr(spacy_chars, name) == getattr(char_classes, name), name
