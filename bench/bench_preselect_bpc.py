"""Bits-per-character throughput on CPU: how to batch the sliding windows of many documents.

Three ways over the same documents and the same model, all through `core.preselect.bpc`:
- `by_length`: windows sorted by length, packed up to `max_batch_tokens` padded tokens (the default);
- `input_order`: the same packing in input order (plain padding + attention mask);
- `one_by_one`: one window per forward pass (no padding).
Every way gives the same BPC (checked); the script prints seconds, documents/s and tokens/s of
each, `--repeats` times in rotation (the machine may be shared: compare the medians).

Documents: the text records of the real WET sample in ../shared/data/commoncrawl (68 pages, many
languages), each cut to `--max-chars`. Model: the embedded SmolLM2-135M GGUF, or `--model DIR`.

    .venv/bin/python bench/bench_preselect_bpc.py [--max-chars 4000] [--repeats 3] [--model DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import emit_result  # noqa: E402
from core.preselect.bpc import BpcParams, bits_per_character  # noqa: E402
from core.preselect.reference_models import embedded_smollm2_path, load_causal_lm  # noqa: E402
from core.warc.extract import extract_file  # noqa: E402

WET = Path(__file__).resolve().parents[2] / "shared" / "data" / "commoncrawl" / "CC-MAIN-2016-50__sparkwarc_sample.repaired.warc.wet.gz"
WAYS = {
    "by_length": dict(by_length=True),
    "input_order": dict(by_length=False),
    "one_by_one": dict(by_length=False, max_batch_tokens=1),
}


def wet_texts(path: Path, max_chars: int) -> list[str]:
    return [e["text"][:max_chars] for e in extract_file(str(path), "bench") if isinstance(e, dict) and e.get("text")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-chars", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--docs", type=int, default=None, help="only the first N documents")
    ap.add_argument("--max-batch-tokens", type=int, default=BpcParams.max_batch_tokens)
    ap.add_argument("--model", default=None, help="model directory or .gguf (default: embedded SmolLM2)")
    ap.add_argument("--json", default=None, help="append the result to this JSON-lines file")
    args = ap.parse_args()

    texts = wet_texts(Path(os.environ.get("REFINERY_WET_SAMPLE", WET)), args.max_chars)[: args.docs]
    lm = load_causal_lm(args.model or embedded_smollm2_path())
    n_tokens = sum(len(ids) for ids in lm.tokenizer(texts, add_special_tokens=False)["input_ids"])
    bits_per_character(lm, texts[:2])  # warm-up
    times: dict[str, list[float]] = {w: [] for w in WAYS}
    reference = None
    for _ in range(args.repeats):
        for way, overrides in WAYS.items():
            params = BpcParams(**{"max_batch_tokens": args.max_batch_tokens, **overrides})
            t = time.perf_counter()
            bpc = bits_per_character(lm, texts, params).bpc
            times[way].append(time.perf_counter() - t)
            print(f"{way}: {times[way][-1]:.1f} s", file=sys.stderr, flush=True)
            if reference is None:
                reference = bpc
            np.testing.assert_allclose(bpc, reference, rtol=1e-4)
    result = {"bench": "preselect_bpc", "docs": len(texts), "chars": sum(map(len, texts)), "tokens": n_tokens,
              "max_batch_tokens": args.max_batch_tokens, "median_bpc": float(np.nanmedian(reference))}
    for way, ts in times.items():
        med = statistics.median(ts)
        result[way] = {"seconds": [round(x, 2) for x in ts], "docs_per_s": round(len(texts) / med, 2),
                       "tokens_per_s": round(n_tokens / med, 1)}
    emit_result(result, args.json)


if __name__ == "__main__":
    main()
