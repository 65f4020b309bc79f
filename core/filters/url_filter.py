"""URL filter as datatrove's URLFilter (FineWeb's first step): banned domains, banned URLs, banned
words, soft-banned words (at least `soft_word_threshold`), banned substrings.

Differences from datatrove, each deliberate: a domain entry blocks every subdomain (datatrove checks
only the registered domain and the full host, so it needs no public-suffix list here); URL words are
lowercased before the comparison (datatrove compares the URL's own case with lowercased lists); the
default lists are the small ones in `data/`, full lists are loaded from local paths.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from core.filters.base import Document, FilterResult, FilterStep, int_stats

_NON_ALNUM = re.compile(r"[^a-zA-Z0-9]+")
_DEFAULT_FILES = {
    "domains": "banned_domains.txt",
    "words": "banned_words.txt",
    "soft_words": "soft_banned_words.txt",
    "subwords": "banned_subwords.txt",
}


@dataclass(frozen=True)
class UrlFilterParams:
    soft_word_threshold: int | None = 2  # datatrove URLFilter soft_word_threshold=2
    use_default_lists: bool = True  # datatrove URLFilter use_integrated_lists=True (ours are small)
    banned_domains_paths: tuple[str, ...] = ()  # datatrove URLFilter extra_domains (here: files)
    banned_urls_paths: tuple[str, ...] = ()  # datatrove URLFilter extra_urls (here: files)
    banned_words_paths: tuple[str, ...] = ()  # datatrove URLFilter banned_words (here: files)
    soft_banned_words_paths: tuple[str, ...] = ()  # datatrove URLFilter soft_banned_words (here: files)
    banned_subwords_paths: tuple[str, ...] = ()  # datatrove URLFilter banned_subwords (here: files)


@dataclass(frozen=True)
class UrlBlocklist:
    domains: frozenset[str]
    urls: frozenset[str]
    words: frozenset[str]
    soft_words: frozenset[str]
    subwords: re.Pattern | None


def normalize_word(word: str) -> str:
    """Lowercase, letters and digits only (datatrove url_filter.normalize)."""
    return _NON_ALNUM.sub("", word).lower()


def _entries(lines) -> list[str]:
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _read(paths: tuple[str, ...], default_name: str | None) -> list[str]:
    out: list[str] = []
    if default_name:
        out += _entries(resources.files("core.filters").joinpath("data", default_name).read_text().splitlines())
    for path in paths:
        out += _entries(Path(path).read_text(encoding="utf-8", errors="replace").splitlines())
    return out


@lru_cache(maxsize=8)
def load_blocklist(params: UrlFilterParams = UrlFilterParams()) -> UrlBlocklist:
    """Read the lists once per process (cached by the params, which hold only paths)."""
    default = params.use_default_lists
    subwords = sorted({normalize_word(w) for w in _read(params.banned_subwords_paths, default and _DEFAULT_FILES["subwords"])} - {""})
    return UrlBlocklist(
        domains=frozenset(d.lower().strip(".") for d in _read(params.banned_domains_paths, default and _DEFAULT_FILES["domains"])),
        urls=frozenset(_read(params.banned_urls_paths, None)),
        words=frozenset(normalize_word(w) for w in _read(params.banned_words_paths, default and _DEFAULT_FILES["words"])) - {""},
        soft_words=frozenset(normalize_word(w) for w in _read(params.soft_banned_words_paths, default and _DEFAULT_FILES["soft_words"])) - {""},
        subwords=re.compile("|".join(map(re.escape, subwords))) if subwords else None,
    )


def _host(url: str) -> str | None:
    try:
        return urlsplit(url.strip()).hostname
    except ValueError:
        return None


def url_filter(url: str | None, params: UrlFilterParams = UrlFilterParams(), blocklist: UrlBlocklist | None = None) -> FilterResult:
    """Drop documents whose URL is on a blocklist or names banned words."""
    if blocklist is None:
        blocklist = load_blocklist(params)
    if not url:
        return FilterResult(False, "url.missing", {})
    host = _host(url)
    if host:
        parts = host.rstrip(".").split(".")
        for i in range(len(parts) - 1):
            if ".".join(parts[i:]) in blocklist.domains:
                return FilterResult(False, "url.banned_domain", {})
    if url in blocklist.urls:
        return FilterResult(False, "url.banned_url", {})
    url_words = set(_NON_ALNUM.split(url.lower()))
    if not blocklist.words.isdisjoint(url_words):
        return FilterResult(False, "url.banned_word", {})
    n_soft = len(blocklist.soft_words.intersection(url_words))
    stats = {"url.n_soft_words": n_soft}
    if params.soft_word_threshold and n_soft >= params.soft_word_threshold:
        return FilterResult(False, "url.soft_banned_words", stats)
    if blocklist.subwords is not None and blocklist.subwords.search(normalize_word(url)):
        return FilterResult(False, "url.banned_subword", stats)
    return FilterResult(True, None, stats)


def _apply(doc: Document, params: UrlFilterParams) -> FilterResult:
    return url_filter(doc.url, params)


URL_STEP = FilterStep(
    name="url",
    params_type=UrlFilterParams,
    statistics=int_stats("url", "n_soft_words"),
    apply=_apply,
    setup=load_blocklist,  # read the lists once per process; a missing list file is fatal
)
