"""Tokenizers kept in the lake: `models/tokenizer/<name>/tokenizer.json` (+ `source.json`).

`install_tokenizer` puts a tokenizer there once: the embedded SmolLM2 tokenizer
(core.shards.embedded_tokenizer) or a user's `tokenizer.json` from a path or URI (their Llama,
Qwen or GPT-NeoX tokenizer). It is validated by loading it with `tokenizers` first, and written only
when the lake's copy differs, so reruns leave the file (and its modification time) alone. Later
runs and every Ray worker read the lake's copy, never the original source.

`resolve_tokenizer_location` turns the training stage's `tokenizer` setting into a location: a bare
name is a tokenizer installed in the lake; anything with a `/` or ending in `.json` is a path or URI.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from core.io.remote import open_uri
from core.shards import lake_files
from core.shards.embedded_tokenizer import embedded_tokenizer_json
from core.shards.tokenizer import ShardTokenizer, TokenizerParams

TOKENIZER_DIR = "models/tokenizer"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class InstalledTokenizer:
    name: str
    location: str  # of tokenizer.json
    sha256: str  # canonical-JSON sha256 (core.shards.tokenizer)
    vocab_size: int  # id space: max id + 1
    special_tokens: tuple[str, ...]
    written: bool  # False when the lake already held exactly this file
    provenance: dict


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"tokenizer name {name!r}: use letters, digits, '.', '_' or '-' (a directory name)")
    return name


def tokenizer_location(lake_uri: str, name: str) -> str:
    return lake_files.join(lake_uri, TOKENIZER_DIR, check_name(name), "tokenizer.json")


def resolve_tokenizer_location(lake_uri: str, tokenizer: str) -> str:
    """A name installed in the lake, or a path/URI of a tokenizer.json."""
    if "/" in tokenizer or tokenizer.endswith(".json"):
        return tokenizer
    return tokenizer_location(lake_uri, tokenizer)


def read_source(source: str) -> str:
    with open_uri(source) as stream:
        raw = stream.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{source}: a tokenizer.json must be UTF-8 ({exc})") from exc


def install_tokenizer(lake_uri: str, name: str, source: str | None = None, cache: Path | None = None
                      ) -> InstalledTokenizer:
    """Validate the tokenizer and make `models/tokenizer/<name>/tokenizer.json` hold it."""
    location = tokenizer_location(lake_uri, name)
    if source is None:
        text, provenance = embedded_tokenizer_json(cache)
    else:
        text, provenance = read_source(source), {"source": source}
    loaded = ShardTokenizer(text, TokenizerParams(eos=None), source=source or provenance["source"])
    data = text.encode("utf-8")
    current = lake_files.read_bytes(location) if lake_files.exists(location) else None
    written = current != data
    if written:
        lake_files.write_bytes(location, data)
    record = {**provenance, "sha256": loaded.sha256, "vocab_size": loaded.vocab_size}
    record.pop("converted_now", None)
    source_json = json.dumps(record, sort_keys=True, indent=1).encode("utf-8")
    marker = location.rsplit("/", 1)[0] + "/source.json"
    if not lake_files.exists(marker) or lake_files.read_bytes(marker) != source_json:
        lake_files.write_bytes(marker, source_json)
    specials = tuple(sorted(token.content for token in loaded.tokenizer.get_added_tokens_decoder().values()
                            if token.special))
    return InstalledTokenizer(name, location, loaded.sha256, loaded.vocab_size, specials, written, provenance)
