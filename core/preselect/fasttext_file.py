"""Checking a fastText model file without loading it: header, labels and size, in well under a second.

A stage validates its classifier on the driver before any work starts; loading the released
`PreSelect-classifier.bin` (2.7 GB) there only to read its labels would cost seconds and gigabytes.
This reads the parts of fastText's binary format (`FastText::saveModel`, version 12) that say what
the model is:

    int32 magic (793712314), int32 version (12)
    Args: 12 int32 (dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
          lrUpdateRate) and a float64 (t)
    Dictionary: int32 size, int32 nwords, int32 nlabels, int64 ntokens, int64 pruneidx_size, then
          `size` entries (UTF-8 word, NUL, int64 count, int8 type: 0 word, 1 label), then
          pruneidx_size pairs of int32 when it is positive
    bool quant_input, input matrix, bool qout, output matrix; a dense matrix is int64 m, int64 n
          and m x n float32

Labels are the dictionary entries of type 1. For a model whose matrices are dense (every
`train_supervised` model), the file size must equal what the two matrix headers promise, so a
truncated file is caught too; a quantized model (`.ftz`) is checked up to its dictionary.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

FASTTEXT_MAGIC = 793712314  # fastText's FASTTEXT_FILEFORMAT_MAGIC_INT32
FASTTEXT_VERSION = 12  # fastText's FASTTEXT_VERSION (models since 2017)
SUPERVISED_MODEL = 3  # fastText's model_name::sup
_ARGS = struct.Struct("<12id")
_DICT_HEADER = struct.Struct("<iiiqq")
_ENTRY_TAIL = struct.Struct("<qb")
_MATRIX_HEADER = struct.Struct("<qq")


class FastTextFileError(ValueError):
    """A path that is not a readable fastText model file; the message names the path."""


@dataclass(frozen=True)
class FastTextFileInfo:
    path: str
    dim: int
    model: int  # 1 cbow, 2 skipgram, 3 supervised
    n_words: int
    labels: tuple[str, ...]
    quantized: bool
    size: int

    @property
    def supervised(self) -> bool:
        return self.model == SUPERVISED_MODEL


def _read(fh, n: int, path: str, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise FastTextFileError(f"{path}: truncated fastText file (ends inside the {what})")
    return data


def _dictionary(fh, path: str) -> tuple[int, list[str]]:
    size, n_words, n_labels, _, prune_size = _DICT_HEADER.unpack(_read(fh, _DICT_HEADER.size, path, "dictionary header"))
    if size < 0 or n_words < 0 or n_labels < 0 or n_words + n_labels != size:
        raise FastTextFileError(f"{path}: corrupt fastText dictionary header ({size} entries, {n_words} words, {n_labels} labels)")
    labels, buffer = [], b""
    for _ in range(size):
        while b"\x00" not in buffer:
            chunk = fh.read(1 << 16)
            if not chunk:
                raise FastTextFileError(f"{path}: truncated fastText file (ends inside the dictionary)")
            buffer += chunk
        end = buffer.index(b"\x00")
        word, buffer = buffer[:end], buffer[end + 1:]
        while len(buffer) < _ENTRY_TAIL.size:
            chunk = fh.read(1 << 16)
            if not chunk:
                raise FastTextFileError(f"{path}: truncated fastText file (ends inside the dictionary)")
            buffer += chunk
        _, kind = _ENTRY_TAIL.unpack(buffer[:_ENTRY_TAIL.size])
        buffer = buffer[_ENTRY_TAIL.size:]
        if kind == 1:
            labels.append(word.decode("utf-8", errors="replace"))
    fh.seek(-len(buffer), os.SEEK_CUR)
    if prune_size > 0:
        fh.seek(prune_size * 8, os.SEEK_CUR)
    return n_words, labels


def _dense_matrix_end(fh, path: str, what: str) -> None:
    m, n = _MATRIX_HEADER.unpack(_read(fh, _MATRIX_HEADER.size, path, what))
    if m < 0 or n < 0:
        raise FastTextFileError(f"{path}: corrupt {what} shape {m} x {n}")
    fh.seek(m * n * 4, os.SEEK_CUR)


def inspect_fasttext_file(path: str) -> FastTextFileInfo:
    """What a fastText model file holds; raises `FastTextFileError` naming the path when it is not one."""
    if not os.path.isfile(path):
        raise FastTextFileError(f"fastText model not found: {path}")
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8 or struct.unpack("<i", head[:4])[0] != FASTTEXT_MAGIC:
            raise FastTextFileError(f"{path} is not a fastText model (no fastText magic number at its start)")
        version = struct.unpack("<i", head[4:])[0]
        if version > FASTTEXT_VERSION:
            raise FastTextFileError(f"{path}: fastText file version {version} is newer than {FASTTEXT_VERSION}")
        args = _ARGS.unpack(_read(fh, _ARGS.size, path, "arguments"))
        n_words, labels = _dictionary(fh, path)
        quantized = _read(fh, 1, path, "matrix flag") != b"\x00"
        if not quantized:
            _dense_matrix_end(fh, path, "input matrix")
            qout = fh.read(1)
            if qout == b"\x00":
                _dense_matrix_end(fh, path, "output matrix")
                if fh.tell() != size:
                    raise FastTextFileError(
                        f"{path}: the file has {size} bytes but its matrices end at byte {fh.tell()} (truncated or corrupt)")
            elif not qout:
                raise FastTextFileError(f"{path}: truncated fastText file (ends after the input matrix)")
    return FastTextFileInfo(path, dim=args[0], model=args[7], n_words=n_words, labels=tuple(labels),
                            quantized=quantized, size=size)
