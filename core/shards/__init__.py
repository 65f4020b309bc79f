"""Training shards: tokenization, Megatron-LM indexed datasets, packed sequences, mixing and
document ordering. Engine-free (numpy, pyarrow, tokenizers); the Ray stage calls these functions
over Arrow batches.

- tokenizer.py: a `tokenizer.json` by path or URI, its hash, batch encoding with an end-of-document token;
- token_dtype.py: the smallest token dtype for a vocabulary;
- megatron.py: the `.bin` + `.idx` (MMIDIDX) writer, streamed and atomic;
- sharding.py: documents split into shards of a token budget, never across two shards;
- packing.py: fixed-length training rows (`.npy` or Parquet) as an alternative output;
- packed_files.py: those rows for one shard, streamed into the file written beside it;
- rehydration.py: FineWeb-2's repetition tables by duplicate-cluster size;
- mixing.py: how often each document goes in, and a seeded order independent of batching;
- ordering.py: In-Context Pretraining order (related documents next to each other) from MinHash;
- plan.py: the training plan of a crawl (copy order, shard boundaries, fingerprints), from narrow columns;
- shard_store.py: one shard at a lake location with its completion marker, and finding it complete;
- doc_index.py: rows by doc_id in a table every worker holds (a join without a shuffle);
- lake_files.py: plain files under a local or URI lake root, written so readers never see half;
- embedded_tokenizer.py / tokenizer_files.py: the default SmolLM2 tokenizer and tokenizers kept in the lake;
- stats.py: the token-length histogram.
"""
