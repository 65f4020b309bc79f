"""FineWeb2's precision filter for low-resource languages (`misc/precision_filtering/
run_precision_filtering.py`, the `Decontaminate` filter).

For a language whose contamination score (`cont_scores.json`: share of its GlotLID documents that
are really another language) is above 0.1, a document is kept only if its URL looks like the
language's (`precision.url`) or its text has at least one word of the language's high-precision
word list (`precision.wordlist`); otherwise it is dropped as `precision.no_match`. Other languages
pass untouched.

URL rule, in the reference's order: the host ends in the language's domain extension (`.mx`, the
whitelist entry starting with a dot); the URL contains the language code in upper case, or as a
whole alphanumeric word; the URL, reduced to ASCII letters, digits, `/` and `.` and lowercased,
contains a whitelist word. A language without whitelist words (besides an extension) passes the
URL rule, as in the reference. Word-list rule: the text with datatrove's punctuation turned into
spaces and whitespace collapsed (`simplify_text` with only those two options), split with the
language's word tokenizer; some word is in `wordlists-0.85/<lang>.txt`.

The word lists (about 94 MB) are not packaged: `wordlists_dir` names their directory. Without it the
FineWeb2 preset switches this step off and says so in its metadata. A contaminated language whose
word-list file is missing drops its documents with `precision.error` and the file named.

Deliberate differences from the reference: it strips the scheme with `removesuffix` (a no-op) and
looks for `".mx/"` in the host name, which never contains a `/`, so its extension rule never fires;
here the extension is matched against the end of the host, as the whitelist intends. The scheme
stays in the URL for the language-code rule, as there.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping
from urllib.parse import urlsplit

import pyarrow as pa

from core.filters.base import Document, FilterResult, FilterStep, Statistic
from core.filters.fineweb2.settings import DATA_DIR
from core.filters.fineweb2.word_tokenizers import splitter_for
from core.filters.text import PUNCTUATION_CHARS

_PUNCT_TO_SPACE = str.maketrans(PUNCTUATION_CHARS, " " * len(PUNCTUATION_CHARS))
_WHITESPACE = re.compile(r"\s+")
_URL_NORMALIZER = re.compile(r"[^a-zA-Z0-9/.]+")


@lru_cache(maxsize=1)
def packaged_contamination() -> Mapping[str, float]:
    """fineweb-2 misc/precision_filtering/cont_scores.json: `{"fra_Latn": 0.0001, ...}`."""
    return MappingProxyType(json.loads((DATA_DIR / "cont_scores.json").read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def packaged_url_whitelist() -> Mapping[str, tuple[str, ...]]:
    """fineweb-2 misc/precision_filtering/url_whitelist.json, by ISO 639-3 code."""
    raw = json.loads((DATA_DIR / "url_whitelist.json").read_text(encoding="utf-8"))
    return MappingProxyType({code: tuple(words) for code, words in raw.items()})


@dataclass(frozen=True)
class PrecisionParams:
    wordlists_dir: str  # fineweb-2 misc/precision_filtering/wordlists-0.85 (not packaged: ~94 MB)
    min_contamination: float = 0.1  # run_precision_filtering.py: languages with cont_score <= 0.1 skipped
    contamination: Mapping[str, float] = field(default_factory=packaged_contamination)
    url_whitelist: Mapping[str, tuple[str, ...]] = field(default_factory=packaged_url_whitelist)

    def applies_to(self, language: str | None) -> bool:
        return language is not None and self.contamination.get(language, 0.0) > self.min_contamination


@lru_cache(maxsize=64)
def load_wordlist(directory: str, language: str) -> frozenset[str]:
    path = Path(directory) / f"{language}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"precision filter: no word list for {language} ({path})")
    with open(path, encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


@lru_cache(maxsize=1024)
def _code_pattern(code: str) -> re.Pattern:
    return re.compile(rf"(?<![a-zA-Z0-9]){re.escape(code)}(?![a-zA-Z0-9])")


def url_matches(url: str | None, language: str, whitelist: Mapping[str, tuple[str, ...]]) -> bool:
    """The reference's URL rule for `fra_Latn`-style `language` (see the module docstring)."""
    if not url:
        return False
    code = language.split("_")[0]
    words = whitelist.get(code, ())
    extensions = [w for w in words if w.startswith(".")]
    host = (urlsplit(url if "://" in url else "http://" + url).hostname or "").rstrip(".")
    if extensions and host.endswith(extensions[0]):
        return True
    if code.upper() in url or _code_pattern(code).search(url):
        return True
    plain = [w for w in words if not w.startswith(".")]
    if not plain:
        return True  # the reference keeps every document of a language without whitelist words
    normalized = _URL_NORMALIZER.sub("", url).lower()
    return any(word in normalized for word in plain)


def wordlist_ratio(text: str, language: str, wordlist: frozenset[str]) -> float:
    """Share of the text's distinct words (punctuation as spaces) that are in the word list."""
    simplified = _WHITESPACE.sub(" ", text.translate(_PUNCT_TO_SPACE).strip()).strip()
    words = set(splitter_for(language)(simplified))
    return len(words & wordlist) / len(words) if words else 0.0


def precision_filter(doc: Document, params: PrecisionParams) -> FilterResult:
    language = doc.language_key
    stats = {"precision.checked": params.applies_to(language)}
    if not stats["precision.checked"]:
        return FilterResult(True, None, stats)
    stats["precision.url_match"] = url_matches(doc.url, language, params.url_whitelist)
    if stats["precision.url_match"]:
        return FilterResult(True, None, stats)
    ratio = wordlist_ratio(doc.text, language, load_wordlist(params.wordlists_dir, language))
    stats["precision.wordlist_ratio"] = ratio
    if ratio > 0.0000001:  # run_precision_filtering.py wordlist_filter: ratio > 1e-7
        return FilterResult(True, None, stats)
    return FilterResult(False, "precision.no_match", stats)


def _check_directory(params: PrecisionParams) -> None:
    if not Path(params.wordlists_dir).is_dir():
        raise FileNotFoundError(f"precision filter: word-list directory {params.wordlists_dir!r} not found")


PRECISION_STEP = FilterStep(
    name="precision",
    params_type=PrecisionParams,
    statistics=(Statistic("precision.checked", pa.bool_()), Statistic("precision.url_match", pa.bool_()),
                Statistic("precision.wordlist_ratio", pa.float64())),
    apply=precision_filter,
    setup=_check_directory,
)
