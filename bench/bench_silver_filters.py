"""Time the SILVER text filters: this project's chain vs datatrove's FineWeb filters, same texts.

Both run Gopher repetition → Gopher quality → C4 (filter_no_terminal_punct=False) → FineWeb quality,
first failure wins (datatrove through each filter's `filter(doc)`). Also times our full batch entry
point (`run_chain_on_batch`: URL, one fastText call, text filters, PII). One process, one core.

    .venv/bin/python bench/bench_silver_filters.py [DIR_OR_FILES ...] [--limit N] [--repeat R]

Default input: the real Common Crawl fixtures in ../shared/data/commoncrawl; the benchmark corpus is
bench/out/corpus/crawl-data/CC-MAIN-BENCH (built by bench/build_corpus.py).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.filters.chain import ChainConfig, run_chain, run_chain_on_batch  # noqa: E402
from core.warc.extract import extract_file  # noqa: E402

DEFAULT_INPUT = REPO.parent / "shared" / "data" / "commoncrawl"


def warc_files(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.gz") if p.name.endswith((".warc.gz", ".warc.wet.gz")))
        else:
            files.append(path)
    return files


def load_documents(inputs: list[str], limit: int | None) -> list[dict]:
    docs: list[dict] = []
    for path in warc_files(inputs):
        for event in extract_file(str(path), path.name.split("__")[0]):
            if isinstance(event, dict) and event["text"]:
                docs.append({"text": event["text"], "url": event["url"]})
                if limit and len(docs) >= limit:
                    return docs
    return docs


def time_datatrove(texts: list[str]) -> tuple[float, list]:
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter,
    )

    chain = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(filter_no_terminal_punct=False),
             FineWebQualityFilter()]
    chain[0].filter(Document(text="warm up the spaCy tokenizer. " * 20, id="w"))
    kept = []
    start = time.perf_counter()
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        ok = True
        for flt in chain:
            result = flt.filter(doc)
            if not (result if isinstance(result, bool) else result[0]):
                ok = False
                break
        kept.append(ok)
    return time.perf_counter() - start, kept


def time_ours(texts: list[str]) -> tuple[float, list]:
    config = ChainConfig(params={"url": None, "language": None, "pii": None})
    start = time.perf_counter()
    kept = [run_chain(t, None, config).keep for t in texts]
    return time.perf_counter() - start, kept


def time_batch(docs: list[dict], batch_size: int = 1000) -> float:
    run_chain_on_batch(docs[:2])  # load the fastText model outside the timing
    start = time.perf_counter()
    for i in range(0, len(docs), batch_size):
        run_chain_on_batch(docs[i : i + batch_size])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="*", default=[str(DEFAULT_INPUT)])
    parser.add_argument("--limit", type=int, default=None, help="at most this many documents")
    parser.add_argument("--repeat", type=int, default=1, help="repeat the document list (tiny inputs)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    docs = load_documents(args.inputs, args.limit) * args.repeat
    texts = [d["text"] for d in docs]
    n_chars = sum(map(len, texts))
    print(f"{len(texts)} documents, {n_chars / max(len(texts), 1):,.0f} characters per document")
    t_dt, kept_dt = time_datatrove(texts)
    t_ours, kept_ours = time_ours(texts)
    t_batch = time_batch(docs)
    agree = sum(a == b for a, b in zip(kept_dt, kept_ours)) / max(len(texts), 1)
    print(f"datatrove filters       : {len(texts) / t_dt:8.1f} docs/s  ({t_dt:.2f} s, kept {sum(kept_dt)})")
    print(f"cc-refinery filters     : {len(texts) / t_ours:8.1f} docs/s  ({t_ours:.2f} s, kept {sum(kept_ours)})")
    print(f"cc-refinery full batch  : {len(texts) / t_batch:8.1f} docs/s  (URL + fastText LID + filters + PII)")
    print(f"speed-up (filters)      : {t_dt / t_ours:8.2f}x   keep/drop agreement {agree:.2%}")


if __name__ == "__main__":
    main()
