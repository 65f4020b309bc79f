"""MinHash signature throughput: ours (`minhash.signature_columns`, vectorized over an Arrow batch)
against datasketch (`MinHash(num_perm=112).update_batch`) and datatrove's `MinhashDedupSignature`
hashing (`get_shingles` + `get_signature`, stage 1 of 3, without its file writing), on the same texts,
one process, one core, one timed run each.

All three do normalization + word 5-grams + 112 permutations; datasketch gets our normalized shingles
(it has no normalizer of its own), its time includes building them. Default texts: ~12.8k-character
documents cut from Python's `pydoc_data.topics` (English prose and grammar; the size of the 2,000-page
benchmark in REFERENCE.md). `--parquet FILE` takes the `text` column of a Parquet file instead.

    .venv/bin/python bench/bench_minhash.py [--docs 1000] [--parquet bronze.parquet]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.dedup.minhash import MinHashParams, signature_columns  # noqa: E402
from core.dedup.normalize import normalize_text, shingles  # noqa: E402


def synthetic_texts(n: int, chars: int = 12_800) -> list[str]:
    from pydoc_data.topics import topics

    big = " ".join(topics[k] for k in sorted(topics))
    span = len(big) - chars
    return [big[(i * 7919) % span :][:chars] for i in range(n)]


def bench_ours(texts: list[str]) -> float:
    batch = pa.RecordBatch.from_pydict({"doc_id": [str(i) for i in range(len(texts))], "text": texts})
    signature_columns(batch.slice(0, 2))  # warm caches (regex compilation, permutation table)
    t = time.perf_counter()
    out = signature_columns(batch, MinHashParams())
    elapsed = time.perf_counter() - t
    assert out.num_rows == len(texts)
    return elapsed


def bench_datasketch(texts: list[str]) -> float:
    from datasketch import MinHash

    t = time.perf_counter()
    for text in texts:
        m = MinHash(num_perm=112, seed=1)
        m.update_batch([" ".join(s).encode("utf-8") for s in shingles(normalize_text(text))])
    return time.perf_counter() - t


def bench_datatrove(texts: list[str]) -> float | None:
    try:
        from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        step = MinhashDedupSignature(output_folder=tmp, config=MinhashConfig())
        step.get_signature(step.get_shingles(texts[0]))  # load the spaCy tokenizer outside the timing
        t = time.perf_counter()
        for text in texts:
            step.get_signature(step.get_shingles(text))
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--parquet", help="read texts from the 'text' column of this Parquet file")
    ap.add_argument("--skip-datatrove", action="store_true")
    args = ap.parse_args()
    if args.parquet:
        import pyarrow.parquet as pq

        texts = [t for t in pq.read_table(args.parquet, columns=["text"]).column("text").to_pylist() if t][: args.docs]
    else:
        texts = synthetic_texts(args.docs)
    n = len(texts)
    mean_chars = sum(map(len, texts)) / n
    print(f"{n} documents, {mean_chars:,.0f} characters each on average; 112 permutations, word 5-grams; "
          f"one core (cpu count {os.cpu_count()})")
    results = {"ours (signature_columns)": bench_ours(texts), "datasketch MinHash": bench_datasketch(texts)}
    if not args.skip_datatrove:
        results["datatrove MinhashDedupSignature (hashing only)"] = bench_datatrove(texts)
    ours = n / results["ours (signature_columns)"]
    for name, elapsed in results.items():
        if elapsed is None:
            print(f"{name:48s}  not available")
            continue
        rate = n / elapsed
        print(f"{name:48s} {rate:9.1f} docs/s  {elapsed:7.2f} s   ours / this = {ours / rate:5.2f}x")


if __name__ == "__main__":
    main()
