"""FineWeb's URL blocklists, read from the installed datatrove package, as compact shared lookups.

datatrove's URLFilter (FineWeb's first step) bundles the UT1 blocklist (Université Toulouse 1,
`datatrove/assets/url_filterblacklistsv0_3_0.tar.gz`: `domains`, 4,558,940 entries, and `urls`,
19,587) and three word lists (`banned_words.txt`, `soft_banned_words.txt`, `banned_subwords.txt`).
They are located through importlib (never a fixed path); without datatrove, `datatrove_assets()`
raises and says how to bring lists by path instead.

A Python set of 4.56 million strings costs about 0.5 GB in every worker process. Here each domain or
URL list becomes a sorted array of the 64-bit xxh3 hashes of its entries (`HashedSet`; 36 MB for
UT1's domains), built once per machine into the project cache (`core.cache`, `url-blocklists/`),
keyed by the hash of the list's content (a changed file gets a new array, the 4.56 million UT1
entries are not rebuilt for it), written atomically, and loaded with `np.load(mmap_mode="r")`, so
all workers of a machine share one copy in the page cache. A batch of candidates is looked up with
one `np.searchsorted` per list.

False positives: a string that is not listed matches only if its 64-bit hash equals one of the n
listed hashes, probability n / 2**64 per lookup: 2.5e-13 for UT1's 4,558,940 domains, so with two
host candidates per URL about 5e-13 per URL, or one wrongly dropped document in ~2e12 URLs (a
3-billion-page crawl: expected 0.0015). Listed strings are always found (no false negatives).

Parsing, as datatrove's `parse_list`: a line starting with `#` is a comment, entries are stripped;
domain and URL entries are kept as written (datatrove does not lowercase them), word entries are
normalized to lowercase letters and digits. Unlike datatrove, blank lines (and word entries that
normalize to nothing) are skipped: datatrove would add "" to the list, and "" is among the words
of every URL that ends in `/`.
"""
from __future__ import annotations

import importlib.util
import io
import os
import re
import tarfile
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import xxhash

from core.cache import build_atomically

DATATROVE_ARCHIVE = "url_filterblacklistsv0_3_0.tar.gz"  # datatrove 0.10 assets/, UT1 v0.3.0
DATATROVE_WORD_FILES = {
    "words": "banned_words.txt",
    "soft_words": "soft_banned_words.txt",
    "subwords": "banned_subwords.txt",
}
# Part of every cache key: a change to hashing or parsing must never reuse an old file.
HASH_FORMAT = "xxh3_64/utf-8/strip/v1"
_NON_ALNUM = re.compile(r"[^a-zA-Z0-9]+")
KeyOf = Callable[[str], "str | None"]  # a named normalization of list entries (its name keys the cache)


# ----------------------------------------------------------------------------- where lists are
class DefaultListsMissing(FileNotFoundError):
    """The default (FineWeb) lists are not installed: datatrove or one of its assets is missing."""


def datatrove_assets() -> Path:
    """datatrove's `assets/` directory, located through importlib (the package is not imported)."""
    spec = importlib.util.find_spec("datatrove")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise DefaultListsMissing(
            "FineWeb's default URL blocklists come from the datatrove package (datatrove/assets/"
            f"{DATATROVE_ARCHIVE}, {', '.join(DATATROVE_WORD_FILES.values())}), and datatrove is "
            "not installed. Install it (pip install datatrove==0.10.1), or set "
            "UrlFilterParams(use_default_lists=False) and give your own lists with banned_domains_paths, "
            "banned_urls_paths, banned_words_paths, soft_banned_words_paths, banned_subwords_paths."
        )
    return Path(locations[0]) / "assets"


def _default_asset(name: str) -> Path:
    path = datatrove_assets() / name
    if not path.is_file():
        raise DefaultListsMissing(
            f"{path} is missing: this datatrove has no {name} (cc-refinery reads the lists of "
            "datatrove 0.10.1). Install that version, or set use_default_lists=False and give "
            "your own lists with the *_paths options of UrlFilterParams."
        )
    return path


@dataclass(frozen=True)
class ListSource:
    """One list: a text file of one entry a line, or a member of a `.tar.gz` archive of such."""

    path: str
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.member}" if self.member else self.path

    def digest(self) -> str:
        """Content hash of the file (for a member: of its whole archive) and the member name."""
        stat = os.stat(self.path)
        return f"{_file_digest(self.path, stat.st_size, stat.st_mtime_ns)}:{self.member or ''}"

    def lines(self, chunk_chars: int = 1 << 22) -> Iterator[list[str]]:
        """The raw lines in chunks of about `chunk_chars` (universal newlines, strict UTF-8)."""
        try:
            if self.member is None:
                with open(self.path, encoding="utf-8") as text:
                    yield from iter(lambda: text.readlines(chunk_chars), [])
                return
            with tarfile.open(self.path, "r:gz") as tar:
                raw = tar.extractfile(self.member)
                if raw is None:
                    raise ValueError(f"{self}: not a regular file in the archive")
                text = io.TextIOWrapper(raw, encoding="utf-8")
                yield from iter(lambda: text.readlines(chunk_chars), [])
        except UnicodeDecodeError as exc:
            raise ValueError(f"{self}: not UTF-8 text ({exc})") from exc
        except KeyError as exc:
            raise ValueError(f"{self}: no such member in the archive") from exc


@lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """xxh3-128 of a file's bytes (size and mtime only key the in-process memo)."""
    digest = xxhash.xxh3_128()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def default_list_sources() -> dict[str, tuple[ListSource, ...]]:
    """FineWeb's lists as datatrove bundles them: kind -> sources (kinds: domains, urls, words,
    soft_words, subwords)."""
    archive = str(_default_asset(DATATROVE_ARCHIVE))
    sources = {"domains": (ListSource(archive, "domains"),), "urls": (ListSource(archive, "urls"),)}
    for kind, name in DATATROVE_WORD_FILES.items():
        sources[kind] = (ListSource(str(_default_asset(name))),)
    return sources


# ----------------------------------------------------------------------------- parsing
def list_entries(source: ListSource) -> Iterator[list[str]]:
    """Entries of a domain or URL list, in chunks: stripped, `#` lines and blank lines skipped."""
    for lines in source.lines():
        entries = [line.strip() for line in lines if not line.startswith("#")]
        yield [entry for entry in entries if entry]


def normalize_word(word: str) -> str:
    """Lowercase letters and digits only (datatrove url_filter.normalize)."""
    return _NON_ALNUM.sub("", word).lower()


def word_list(sources: Iterable[ListSource]) -> frozenset[str]:
    """Normalized entries of word lists (datatrove parse_list with do_normalize=True)."""
    words = (normalize_word(line) for s in sources for lines in s.lines() for line in lines
             if not line.startswith("#"))
    return frozenset(w for w in words if w)


# ----------------------------------------------------------------------------- hashed sets
_UTF8 = partial(str.encode, encoding="utf-8", errors="surrogatepass")  # lone surrogates kept


def string_hash(text: str) -> int:
    """64-bit xxh3 of the UTF-8 bytes (any Python string hashes, lone surrogates too)."""
    return xxhash.xxh3_64_intdigest(_UTF8(text))


def hash_strings(texts: Iterable[str]) -> np.ndarray:
    """`string_hash` of each text, as uint64 (C-level maps: ~5x faster than a Python loop)."""
    return np.fromiter(map(xxhash.xxh3_64_intdigest, map(_UTF8, texts)), dtype=np.uint64)


def sorted_unique(hashes: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.sort and a mask: np.unique is ~60x slower here on numpy 2.4)."""
    hashes = np.sort(hashes)
    distinct = np.ones(len(hashes), dtype=bool)
    distinct[1:] = hashes[1:] != hashes[:-1]
    return hashes[distinct]


def _in_sorted(table: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    if not len(table) or not len(hashes):
        return np.zeros(len(hashes), dtype=bool)
    at = np.minimum(np.searchsorted(table, hashes), len(table) - 1)
    return table[at] == hashes


class HashedSet:
    """A set of strings as sorted, duplicate-free uint64 arrays of their hashes, one per source list
    (see the module docstring for the false-positive rate). Arrays may be read-only memory maps."""

    def __init__(self, *tables: np.ndarray):
        for table in tables:
            if table.dtype != np.uint64 or table.ndim != 1:
                raise ValueError(f"a HashedSet holds 1-D uint64 arrays, got {table.dtype} {table.shape}")
        self.tables = tables

    @classmethod
    def of(cls, texts: Iterable[str]) -> HashedSet:
        return cls(sorted_unique(hash_strings(texts)))

    def __len__(self) -> int:
        """Entries summed over the source lists (an entry in two lists counts twice)."""
        return sum(len(table) for table in self.tables)

    def contains_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `hashes` are in the set (one searchsorted per source list)."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        found = np.zeros(len(hashes), dtype=bool)
        for table in self.tables:
            found |= _in_sorted(table, hashes)
        return found

    def contains(self, texts: Iterable[str]) -> np.ndarray:
        return self.contains_hashes(hash_strings(texts))


def cache_path(source: ListSource, directory: Path, key_of: KeyOf | None = None) -> Path:
    """`<directory>/<list name>[.<key_of>]-<key>.npy`; the key hashes the format, the
    normalization's name and the source's content."""
    rule = f".{key_of.__name__}" if key_of else ""
    key = xxhash.xxh3_128_hexdigest(f"{HASH_FORMAT}{rule}\n{source.digest()}".encode())
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", (source.member or Path(source.path).name) + rule)
    return directory / f"{name}-{key}.npy"


def cached_hashes(source: ListSource, directory: Path, key_of: KeyOf | None = None) -> np.ndarray:
    """The sorted hashes of a list's entries (passed through `key_of` if given; entries it maps to
    None are left out), memory-mapped from the cache, built there first if missing or unreadable
    (atomically: concurrent builders are safe)."""
    path = cache_path(source, directory, key_of)
    if path.is_file():
        try:
            return _load(path)
        except (ValueError, OSError):  # damaged by something outside us: build it again
            pass

    def write(tmp: Path) -> None:
        chunks = [hash_strings(_keys(entries, key_of)) for entries in list_entries(source)]
        hashes = sorted_unique(np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint64))
        with open(tmp, "wb") as f:
            np.save(f, hashes)

    build_atomically(path, write)
    return _load(path)


def _load(path: Path) -> np.ndarray:
    table = np.load(path, mmap_mode="r")
    if table.dtype != np.uint64 or table.ndim != 1:
        raise ValueError(f"{path}: not a 1-D uint64 array")
    return table


def _keys(entries: list[str], key_of: KeyOf | None) -> Iterable[str]:
    if key_of is None:
        return entries
    return [key for key in map(key_of, entries) if key]


def cached_hashed_set(sources: Iterable[ListSource], directory: Path, key_of: KeyOf | None = None) -> HashedSet:
    """The HashedSet of every entry of `sources` (no sources: empty, nothing cached)."""
    return HashedSet(*(cached_hashes(source, directory, key_of) for source in sources))
