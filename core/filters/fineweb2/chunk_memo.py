"""Word splits remembered per whitespace-separated chunk across documents.

A tokenizer that splits a text at whitespace and tokenizes each chunk on its own gives as the words
of a text the concatenation of the words of its chunks. `ChunkMemo` keeps `chunk -> words` in a
plain dict of bounded size across documents and asks the tokenizer only for chunks it has not seen;
a text where a chunk's words could depend on its neighbours is split whole by the plain splitter,
as before. Subclasses say how a text is cut into chunks, when it must be split whole, and how a new
chunk's words are found.

`SpacyChunkMemo` (spaCy's rule-based `Tokenizer`). spaCy's own cache is keyed by the chunk, but it
does not help FineWeb2's filters: they tokenize each document in a `memory_zone` (otherwise the
string store grows with every new token), which empties the cache at the end of every document, and
most of the time then goes to the affix and `token_match` regexes of chunks seen a thousand times
before, and to building a `Doc`. The memo asks spaCy only for new chunks (one memory zone per
document). Same words as `tokenizer(text)` with whitespace tokens dropped, except where a spaCy
special case spans whitespace:
- a special case whose text contains whitespace (Russian `в н.в.`, Arabic `ب. م`): a text that
  contains one is split by spaCy whole, as before;
- spaCy's special-case matcher also matches token sequences across whitespace that no rule applies
  to, and such a match can hide an overlapping special case inside a neighbouring chunk (`(=` is
  one token alone, and may be two next to some neighbours). No document of the parity corpora does
  this (`tests/test_fineweb2_chunk_memo.py` compares every one with datatrove's split).
"""
from __future__ import annotations

from typing import Callable

# entries kept before the memo starts afresh (about 100 MB of short strings at the most)
MAX_ENTRIES = 500_000


class ChunkMemo:
    """`words = memo(text)`: the words of `text`, stripped, whitespace dropped, each chunk's words
    remembered across texts. Subclasses give `_chunks` and `_learn`."""

    def __init__(self, whole: Callable[[str], list[str]], max_entries: int = MAX_ENTRIES):
        self._whole = whole  # the plain split, for texts the memo must not split
        self._max_entries = max_entries
        self._memo: dict[str, tuple[str, ...]] = {}

    def _chunks(self, text: str) -> list[str] | None:
        """The chunks of `text` in order, or None when `text` must be split whole."""
        raise NotImplementedError

    def _learn(self, chunks: list[str]) -> dict[str, tuple[str, ...]]:
        """The words of each new chunk."""
        raise NotImplementedError

    def __call__(self, text: str) -> list[str]:
        chunks = self._chunks(text)
        if chunks is None:
            return self._whole(text)
        memo = self._memo
        unique = dict.fromkeys(chunks)
        new = [chunk for chunk in unique if chunk not in memo]
        if new:
            if len(memo) + len(new) > self._max_entries:
                memo.clear()
                new = list(unique)
            memo.update(self._learn(new))
        out: list[str] = []
        extend = out.extend
        for chunk in chunks:
            extend(memo[chunk])
        return out


class SpacyChunkMemo(ChunkMemo):
    """`words = SpacyChunkMemo(nlp, whole)(text)`: spaCy's tokens of `text`, stripped, whitespace
    dropped (`whole`: the plain spaCy split)."""

    def __init__(self, nlp, whole: Callable[[str], list[str]], max_entries: int = MAX_ENTRIES):
        super().__init__(whole, max_entries)
        self._nlp = nlp
        self._tokenizer = nlp.tokenizer
        self._spaced_rules = tuple(
            key for key in self._tokenizer.rules if not key.isspace() and any(c.isspace() for c in key))

    def _chunks(self, text: str) -> list[str] | None:
        if self._spaced_rules and any(key in text for key in self._spaced_rules):
            return None
        return text.split()

    def _learn(self, chunks: list[str]) -> dict[str, tuple[str, ...]]:
        """Words of each new chunk, each chunk tokenized on its own (as spaCy's cache does; joined
        chunks would let spaCy's special-case matcher see neighbours the text does not have)."""
        tokenizer = self._tokenizer
        learned: dict[str, tuple[str, ...]] = {}
        with self._nlp.memory_zone():
            for chunk in chunks:
                try:
                    learned[chunk] = tuple(w for w in (t.text.strip() for t in tokenizer(chunk)) if w)
                except Exception:  # spaCy's one bad string (datatrove): the plain split handles it
                    learned[chunk] = tuple(self._whole(chunk))
        return learned
