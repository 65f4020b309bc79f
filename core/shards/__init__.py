"""Training shards: tokenization, Megatron-LM indexed datasets, packed sequences, mixing and
document ordering. Engine-free (numpy, pyarrow, tokenizers); the Ray stage calls these functions
over Arrow batches.

- tokenizer.py: a `tokenizer.json` by path or URI, its hash, batch encoding with an end-of-document token;
- token_dtype.py: the smallest token dtype for a vocabulary;
- megatron.py: the `.bin` + `.idx` (MMIDIDX) writer, streamed and atomic;
- sharding.py: documents split into shards of a token budget, never across two shards;
- packing.py: fixed-length training rows (`.npy` or Parquet) as an alternative output;
- rehydration.py: FineWeb-2's repetition tables by duplicate-cluster size;
- mixing.py: how often each document goes in, and a seeded order independent of batching;
- ordering.py: In-Context Pretraining order (related documents next to each other) from MinHash.
"""
