"""The token dtype of a shard: uint16 when every id of the vocabulary fits, else int32.

A vocabulary of V tokens has ids 0..V-1, so uint16 holds it when V <= 65,536. This is datatrove's
boundary (`token_size = 4 if vocab_size > np.iinfo(np.uint16).max + 1 else 2`). Megatron-LM's
`DType.optimal_dtype` (used by tools/preprocess_data.py) switches to int32 already below 65,500; a
Megatron reader takes the dtype from the `.idx` header, so both choices read the same.
"""
from __future__ import annotations

import numpy as np

UINT16_VOCAB_LIMIT = 1 << 16  # ids 0..65535
INT32_VOCAB_LIMIT = 1 << 31  # ids 0..2^31-1


def token_dtype(vocab_size: int) -> np.dtype:
    """np.uint16 for vocabularies of at most 65,536 ids, else np.int32; a clear error beyond int32."""
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocabulary size must be a positive integer, got {vocab_size!r}")
    if vocab_size <= UINT16_VOCAB_LIMIT:
        return np.dtype(np.uint16)
    if vocab_size <= INT32_VOCAB_LIMIT:
        return np.dtype(np.int32)
    raise ValueError(f"vocabulary size {vocab_size} does not fit int32 token ids")


def check_token_range(ids: np.ndarray, vocab_size: int, where: str) -> None:
    """Raise ValueError when an id is negative or not below the vocabulary size."""
    if ids.size == 0:
        return
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"{where}: token id {bad} is outside the vocabulary (size {vocab_size})")
