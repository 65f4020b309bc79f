"""PreSelect on Ray against its single-process limit: scoring (fastText) and bits per character (LM).

scoring: documents/s of the `quality_scores` stage's scoring pass (`gpu_jobs.preselect.scoring`:
  row groups listed from the Delta log, an actor pool whose actors start, load the model, read their
  row groups and call `score_texts` per batch; results in the object store) per actor, against
  `score_texts` over the same texts and batches in this process, model load included (the limit:
  raw fastText predict plus the same newline replacement). Target: >= 0.8x per core. Counted on
  the stage side: everything in `seconds["score"]` (from the Delta log read to the last scored row
  group); not counted: `ray.init` (before both), the selection and the write (reported apart).
bpc: tokens/s of the training stage's BPC pass (`gpu_jobs.preselect.bpc.FamilyBpc` in one actor,
  the embedded four-model family, load included) against `load_family` + `bits_per_character` per
  model over the same texts and batches in this process (load included). Target: >= 0.9x. `--skip-bpc` leaves it out.

Documents: the text records of the real WET sample in ../shared/data/commoncrawl (68 pages, many
languages), repeated with a suffix up to `--docs` (scoring) and cut to `--max-chars`. Classifier:
a small fastText model trained here on those texts (labels by language-ish split), or `--model`.

    .venv/bin/python bench/bench_preselect.py [--docs 20000] [--actors 2] [--bpc-docs 68] [--skip-bpc]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_preselect_bpc import WET, wet_texts  # noqa: E402
from common import emit_result  # noqa: E402
from contract.tables import DEDUP_DOCUMENTS, table_uri  # noqa: E402
from core.preselect.bpc import BpcParams, bits_per_character  # noqa: E402
from core.preselect.fasttext_text import fasttext_line  # noqa: E402
from core.preselect.reference_models import embedded_family_specs, load_family  # noqa: E402
from core.preselect.select import SelectParams, load_classifier, score_texts  # noqa: E402
from core.preselect.train import FastTextParams, train_fasttext  # noqa: E402

CRAWL = "CC-MAIN-2000-01"
DOCS_SCHEMA = pa.schema([("doc_id", pa.string()), ("snapshot", pa.string()), ("text", pa.string())])


def corpus(base: list[str], n: int) -> list[str]:
    return [f"{base[i % len(base)]} {i}" for i in range(n)]


def train_classifier(texts: list[str], path: str) -> str:
    lines = [fasttext_line("1" if t.isascii() else "0", t) for t in texts]
    train_fasttext(lines, path, FastTextParams(bucket=200_000, epoch=2))
    return path


def bench_scoring(ray, texts: list[str], model: str, actors: int, batch: int, lake: str) -> dict:
    from gpu_jobs import delta_io
    from gpu_jobs.preselect.scoring import ScoringConfig, run_quality_scores

    t = time.perf_counter()
    classifier = load_classifier(model)
    for i in range(0, len(texts), batch):
        score_texts(classifier, texts[i:i + batch])
    raw = time.perf_counter() - t  # load included, like an actor's
    table = pa.table({"doc_id": [f"d{i:08d}" for i in range(len(texts))], "snapshot": [CRAWL] * len(texts),
                      "text": texts}, schema=DOCS_SCHEMA)
    delta_io.write_partition(ray.data.from_arrow(table).repartition(max(actors * 4, 1)),
                             table_uri(lake, DEDUP_DOCUMENTS), CRAWL, DOCS_SCHEMA)
    result = run_quality_scores(lake, CRAWL, ScoringConfig(model, SelectParams(), batch, max_actors=actors),
                                log=lambda m: print(m, file=sys.stderr))
    staged = result.seconds["score"]
    raw_rate, stage_rate = len(texts) / raw, len(texts) / staged
    return {"docs": len(texts), "actors": result.actors, "batch_size": batch,
            "raw_docs_per_s": round(raw_rate, 1), "stage_docs_per_s": round(stage_rate, 1),
            "stage_docs_per_s_per_actor": round(stage_rate / result.actors, 1),
            "ratio_per_core": round(stage_rate / result.actors / raw_rate, 3),
            "stage_seconds": {k: round(v, 2) for k, v in result.seconds.items()}}


def bench_bpc(ray, texts: list[str]) -> dict:
    """The embedded reference family (SmolLM2-135M with 12, 8, 4 and 0 last layers removed): the
    stage's actor against `load_family` + `bits_per_character` per model in this process."""
    from gpu_jobs.preselect.bpc import FamilyBpc

    params, specs = BpcParams(), embedded_family_specs()
    t = time.perf_counter()
    direct = [bits_per_character(member.lm, texts, params) for member in load_family(specs, device="cpu")]
    plain = time.perf_counter() - t
    n_tokens = int(sum(np.sum(r.n_scored) for r in direct))
    ds = ray.data.from_arrow(pa.table({"doc_id": [str(i) for i in range(len(texts))], "text": texts}))
    t = time.perf_counter()
    rows = ds.map_batches(FamilyBpc, fn_constructor_args=(specs, params, "cpu"), batch_format="pyarrow",
                          batch_size=len(texts), concurrency=1, num_cpus=0).take_all()
    staged = time.perf_counter() - t
    by_id = {r["doc_id"]: r["bpc"] for r in rows}
    staged_bpc = np.array([by_id[str(i)] for i in range(len(texts))])
    np.testing.assert_allclose(staged_bpc, np.column_stack([r.bpc for r in direct]), rtol=1e-4)
    return {"docs": len(texts), "models": len(specs), "tokens_scored": n_tokens,
            "plain_tokens_per_s": round(n_tokens / plain, 1), "stage_tokens_per_s": round(n_tokens / staged, 1),
            "ratio": round(plain / staged, 3), "seconds": {"plain": round(plain, 2), "stage": round(staged, 2)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--max-chars", type=int, default=2000)
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--model", default=None, help="fastText classifier (default: trained here)")
    ap.add_argument("--bpc-docs", type=int, default=68)
    ap.add_argument("--bpc-max-chars", type=int, default=1000)
    ap.add_argument("--skip-bpc", action="store_true")
    ap.add_argument("--json", default=None, help="append the result to this JSON-lines file")
    args = ap.parse_args()

    import ray

    base = wet_texts(Path(os.environ.get("REFINERY_WET_SAMPLE", WET)), args.max_chars)
    ray.init(num_cpus=args.actors, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    result = {"bench": "preselect", "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-preselect-") as tmp:
        model = args.model or train_classifier(base, os.path.join(tmp, "model.bin"))
        result["scoring"] = bench_scoring(ray, corpus(base, args.docs), model, args.actors, args.batch_size,
                                          os.path.join(tmp, "lake"))
    print(f"scoring: {result['scoring']}", file=sys.stderr, flush=True)
    if not args.skip_bpc:
        bpc_texts = [t[: args.bpc_max_chars] for t in base][: args.bpc_docs]
        result["bpc"] = bench_bpc(ray, bpc_texts)
    ray.shutdown()
    emit_result(result, args.json)


if __name__ == "__main__":
    main()
