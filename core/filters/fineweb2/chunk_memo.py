"""Word splits remembered per chunk across documents: spaCy's, indic-nlp's and jieba's.

With both tokenizers the words of a text are, but for the cases named below, the concatenation of
the words of its whitespace-separated chunks, each tokenized alone. `ChunkMemo` keeps
`chunk -> words` in a plain dict of bounded size across documents and asks the tokenizer only for
chunks it has not seen; a text where a chunk's words could depend on its neighbours is split whole
by the plain splitter, as before. Subclasses say how a text is cut into chunks, when it must be
split whole, and how a new chunk's words are found.

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

`IndicChunkMemo` (indic-nlp's `trivial_tokenize`, Hindi, Telugu, ...): exact on every text. The
tokenizer turns tabs into spaces, pads each punctuation character with spaces, squeezes runs of
spaces, rejoins number sequences (`pat_num_seq`, `12 , 345` -> `12,345`) and splits at single
spaces. Chunks are therefore the pieces between spaces and tabs only (a newline stays inside a
token: `a<newline>b` is one word). Padding and squeezing are per character, so the squeezed text
is the chunks' squeezed texts joined by one space, and the words are the chunks' words, except for
two things the number rejoining does:
- a number sequence across a space (`12 , 345`, `1: 30`): every link of one (a digit, spaces, one
  of `,.:/`, spaces, a digit, with at least one space or tab) keeps its spaces inside one chunk:
  `कुल 12 , 345` is the chunks `कुल` and `12 , 345`. A rejoining over a space that cuts the text
  would contain such a link, so there is none; and as the pattern has no lookaround, the sequences
  found inside a chunk are the same whether the chunk is alone or in the text;
- indic-nlp does not rejoin a sequence at the very start of the text (`if start>prev` with
  `prev=0`): `1,000 ...` gives `1 , 000`, the same chunk later in a text `1,000`. A chunk's words are
  learnt after a separator word (`\\x00 <chunk> \\x00 <chunk> ...`, all new chunks of a text in one
  call, the separators dropped), i.e. as a chunk inside a text, and a text that starts with a
  rejoinable sequence is split whole (and, for the glue, a text with a `\\x00` and a link).
Urdu (`trivial_tokenize_urdu`) rejoins no numbers: every text goes chunk by chunk.

`JiebaChunkMemo` (Chinese, jieba's `cut(text, cut_all=False)`): exact on every text by jieba's own
construction. `cut` splits the text with `re_han` (runs of Han characters, ASCII letters, digits
and `+#&._%-`) and segments each block by itself (the DAG and HMM see only that block; the pieces
between blocks are split at whitespace), so a block's words do not depend on its neighbours. The
chunks here are those blocks, cut with jieba's own pattern; a chunk's words are `cut(chunk)`, which
takes the same path for it alone (`re_han.split` of a block gives the block back). Boilerplate
sentences repeat across pages; a new sentence costs what it did.

Not here: Thai (PyThaiNLP's newmm-safe), whose words do not come per chunk: its dictionary has
words with spaces in them (`เผิน ๆ`, 611 of 62,106), its character-cluster rules look ahead to the
end of the text, and newmm-safe cuts texts of 140 characters or more in 40-character windows that
can fall inside a chunk (most Thai chunks are phrases of 40 characters or more), at offsets set by
the text before.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from itertools import chain, filterfalse
from typing import Callable

# entries kept before the memo starts afresh (about 100 MB of short strings at the most)
MAX_ENTRIES = 500_000


class ChunkMemo(ABC):
    """`words = memo(text)`: the words of `text`, stripped, whitespace dropped, each chunk's words
    remembered across texts. Subclasses give `_chunks` and `_learn`."""

    def __init__(self, whole: Callable[[str], list[str]], max_entries: int = MAX_ENTRIES):
        self._whole = whole  # the plain split, for texts the memo must not split
        self._max_entries = max_entries
        self._memo: dict[str, tuple[str, ...]] = {}

    @abstractmethod
    def _chunks(self, text: str) -> list[str] | None:
        """The chunks of `text` in order, or None when `text` must be split whole."""

    @abstractmethod
    def _learn(self, chunks: list[str]) -> dict[str, tuple[str, ...]]:
        """The words of each new chunk."""

    def __call__(self, text: str) -> list[str]:
        chunks = self._chunks(text)
        if chunks is None:
            return self._whole(text)
        memo = self._memo
        new = list(filterfalse(memo.__contains__, chunks))
        if new:
            new = list(dict.fromkeys(new))
            if len(memo) + len(new) > self._max_entries:
                memo.clear()
                new = list(dict.fromkeys(chunks))
            memo.update(self._learn(new))
        return list(chain.from_iterable(map(memo.__getitem__, chunks)))


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


# indic-nlp's number rejoining (`pat_num_seq`, `([0-9]+ [,.:/] )+[0-9]+` after punctuation is padded
# with spaces): a link of it with a space in the text (tabs are spaces by then), which could join
# two chunks; the next link may start at its last digit, hence the lookahead ...
_NUMBER_ACROSS_SPACE = re.compile(r"[0-9](?: +[,.:/] *| *[,.:/] +)(?=[0-9])")
# ... and a sequence at the start of the text, which indic-nlp leaves split
_NUMBER_AT_START = re.compile(r"[ \t]*[0-9]+[ \t]*[,.:/][ \t]*[0-9]")
_SEPARATOR = "\x00"  # between chunks learnt together


class IndicChunkMemo(ChunkMemo):
    """`words = IndicChunkMemo(whole)(text)`: `whole(text)`, the words of indic-nlp's
    `trivial_tokenize(text, code)` stripped, empty ones dropped; `numbers=False` for Urdu, whose
    tokenizer rejoins no numbers."""

    def __init__(self, whole: Callable[[str], list[str]], numbers: bool = True,
                 max_entries: int = MAX_ENTRIES):
        super().__init__(whole, max_entries)
        self._numbers = numbers

    def _chunks(self, text: str) -> list[str] | None:
        text = text.replace("\t", " ")
        if not self._numbers:
            return text.split(" ")  # with empty chunks: they have no words
        if _NUMBER_AT_START.match(text):
            return None
        if _NUMBER_ACROSS_SPACE.search(text) is None:
            return text.split(" ")
        if _SEPARATOR in text:
            return None
        # the spaces of a number link stay inside their chunk (kept as `\x00` while splitting)
        glued = _NUMBER_ACROSS_SPACE.sub(lambda m: m.group().replace(" ", _SEPARATOR), text)
        return [chunk.replace(_SEPARATOR, " ") for chunk in glued.split(" ")]

    def _learn(self, chunks: list[str]) -> dict[str, tuple[str, ...]]:
        """Words of each new chunk as a chunk inside a text, all in one call: the chunks joined by
        a separator word `\\x00` (neither punctuation nor digit, so no number sequence reaches over
        it), one before the first, so that a number sequence at a chunk's start is rejoined. If a
        chunk has a `\\x00` in it, each chunk is learnt alone after a word `a`."""
        whole = self._whole
        joined = f" {_SEPARATOR} ".join(chunks)
        if joined.count(_SEPARATOR) != len(chunks) - 1:
            return {chunk: tuple(whole("a " + chunk)[1:]) for chunk in chunks}
        words = whole(f"{_SEPARATOR} {joined}")
        starts = [i for i, word in enumerate(words) if word == _SEPARATOR]
        starts.append(len(words))
        assert len(starts) == len(chunks) + 1
        return {chunk: tuple(words[start + 1:end]) for chunk, start, end in zip(chunks, starts, starts[1:])}


class JiebaChunkMemo(ChunkMemo):
    """`words = JiebaChunkMemo()(text)`: jieba's `cut(text, cut_all=False)` words, stripped, empty
    ones dropped, each `re_han` block's words remembered."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        import jieba

        self._cut = jieba.cut
        self._blocks = jieba.re_han_default  # the pattern `cut` splits with
        super().__init__(self._plain, max_entries)

    def _plain(self, text: str) -> list[str]:
        return [w for w in (word.strip() for word in self._cut(text, cut_all=False)) if w]

    def _chunks(self, text: str) -> list[str] | None:
        return [block for block in self._blocks.split(text) if block]

    def _learn(self, chunks: list[str]) -> dict[str, tuple[str, ...]]:
        return {chunk: tuple(self._plain(chunk)) for chunk in chunks}
