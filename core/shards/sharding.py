"""Documents split into shards of a token budget; a document never straddles two shards.

Rule (greedy, in document order): a shard takes documents while its token total stays within
`max_tokens`; the document that would overflow it starts the next shard. A document longer than
the budget is never cut and never dropped: it fills a shard of its own (that shard is over budget).
Zero-length documents join the shard being filled (even one that is over budget). No shard is
empty, so no input means no shard.

The rule depends only on the sequence of document lengths, not on how they arrive in batches:
`plan_shards` (all lengths at once) and `ShardedMegatronWriter` (streamed batches) cut the same
documents into the same shards.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.shards.megatron import MegatronWriter, ShardInfo


def _check_budget(max_tokens: int) -> None:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1:
        raise ValueError(f"max_tokens per shard must be a positive integer, got {max_tokens!r}")


def documents_that_fit(cumulative: np.ndarray, start: int, capacity: int) -> int:
    """How many documents from `start` fit in `capacity` tokens (a negative capacity counts as 0,
    so zero-length documents always fit), given cumulative lengths (`cumulative[i]` = tokens of the
    documents before i, length n + 1)."""
    target = cumulative[start] + max(int(capacity), 0)
    end = int(np.searchsorted(cumulative, target, side="right")) - 1
    return max(0, min(end, cumulative.size - 1) - start)


def next_step(cumulative: np.ndarray, start: int, shard_tokens: int, shard_documents: int,
              max_tokens: int) -> int:
    """The sharding rule for one step: how many documents from `start` go into the current shard
    (which holds `shard_tokens` tokens in `shard_documents` documents); 0 means "start a new shard".
    An empty shard always takes at least one document, however long."""
    fit = documents_that_fit(cumulative, start, max_tokens - shard_tokens)
    if fit == 0 and shard_documents == 0:
        return 1
    return fit


def plan_shards(lengths: np.ndarray, max_tokens: int) -> np.ndarray:
    """Index of the first document of each shard (int64[n_shards]); empty for no documents."""
    _check_budget(max_tokens)
    lengths = np.asarray(lengths, dtype=np.int64)
    cumulative = np.concatenate(([0], np.cumsum(lengths)))
    starts, position, tokens, documents = [], 0, 0, 0
    while position < lengths.size:
        step = next_step(cumulative, position, tokens, documents, max_tokens)
        if step == 0:
            tokens, documents = 0, 0
            continue
        if documents == 0:
            starts.append(position)
        tokens += int(cumulative[position + step] - cumulative[position])
        documents += step
        position += step
    return np.asarray(starts, dtype=np.int64)


def shard_prefix(directory: str | os.PathLike, name: str, index: int) -> str:
    """`<directory>/<name>_<index:05d>`: the path prefix of shard `index` (datatrove's numbering)."""
    return str(Path(directory) / f"{name}_{index:05d}")


class ShardedMegatronWriter:
    """Streams batches of documents into Megatron shards of at most `max_tokens` tokens each.

    `add_documents(ids, lengths)` takes flat ids and per-document lengths; `close()` finishes the
    last shard and returns every ShardInfo in order. A shard is opened at its first document, so
    there are no empty shards. As a context manager it aborts the open shard on an exception
    (finished shards stay: each is complete on its own)."""

    def __init__(self, directory: str | os.PathLike, name: str, vocab_size: int, max_tokens: int):
        _check_budget(max_tokens)
        self.directory = directory
        self.name = name
        self.vocab_size = vocab_size
        self.max_tokens = int(max_tokens)
        self.shards: list[ShardInfo] = []
        self.dropped_empty_documents = 0
        self._current: MegatronWriter | None = None
        self._closed = False

    def add_documents(self, ids: np.ndarray, lengths: np.ndarray) -> None:
        if self._closed:
            raise ValueError(f"{self.name}: the sharded writer is closed")
        ids = np.asarray(ids)
        lengths = np.asarray(lengths, dtype=np.int64)
        cumulative = np.concatenate(([0], np.cumsum(lengths)))
        if int(cumulative[-1]) != ids.size:
            raise ValueError(f"{self.name}: lengths sum to {int(cumulative[-1])} but {ids.size} ids were given")
        position = 0
        while position < lengths.size:
            writer = self._writer()
            step = next_step(cumulative, position, writer.n_tokens, writer.n_documents, self.max_tokens)
            if step == 0:
                self._finish_current()
                continue
            lo, hi = int(cumulative[position]), int(cumulative[position + step])
            writer.add_documents(ids[lo:hi], lengths[position:position + step])
            position += step

    def close(self) -> list[ShardInfo]:
        """Finish the last shard. A last shard without tokens (only when every document so far was
        empty and had no end-of-document token) is not written; its documents are counted in
        `dropped_empty_documents`."""
        if not self._closed:
            if self._current is not None and self._current.n_tokens == 0:
                self.dropped_empty_documents += self._current.n_documents
                self.abort()
            elif self._current is not None:
                self._finish_current()
            self._closed = True
        return list(self.shards)

    def abort(self) -> None:
        if self._current is not None:
            self._current.abort()
            self._current = None
        self._closed = True

    def _writer(self) -> MegatronWriter:
        if self._current is None:
            prefix = shard_prefix(self.directory, self.name, len(self.shards))
            self._current = MegatronWriter(prefix, self.vocab_size)
        return self._current

    def _finish_current(self) -> None:
        self.shards.append(self._current.close())
        self._current = None

    def __enter__(self) -> "ShardedMegatronWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
