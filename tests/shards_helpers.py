"""Small deterministic inputs for the training-shard tests: generated texts and a byte-level BPE
tokenizer trained on them with the `tokenizers` trainer (no downloads)."""
from __future__ import annotations

import random
import string
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

EOS = "<|endoftext|>"
SPECIAL_TOKENS = [EOS, "<|pad|>"]
_EXTRA = ["café", "naïve", "Ελλάδα", "東京", "🙂", "—", "\t", "  "]


def generated_texts(count: int, seed: int = 0, min_words: int = 0, max_words: int = 60) -> list[str]:
    """Texts of random words over a small vocabulary plus some non-ASCII, newlines and spaces."""
    rng = random.Random(seed)
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 8))) for _ in range(300)]
    words += _EXTRA
    texts = []
    for _ in range(count):
        n = rng.randint(min_words, max_words)
        parts = [rng.choice(words) + rng.choice([" ", " ", " ", ", ", ".\n", "\n\n"]) for _ in range(n)]
        texts.append("".join(parts).rstrip(" ") if n else "")
    return texts


def train_tokenizer(vocab_size: int = 400, seed: int = 0) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(generated_texts(400, seed=seed + 1), trainer=trainer)
    return tokenizer


def write_tokenizer(directory: Path, vocab_size: int = 400) -> Path:
    path = Path(directory) / "tokenizer.json"
    train_tokenizer(vocab_size).save(str(path))
    return path
