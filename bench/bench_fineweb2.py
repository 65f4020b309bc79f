"""FineWeb2 filters per core: the `fineweb2` preset's chain against datatrove's own FineWeb2 steps.

Same documents, same language, one process, one after the other. Both sides run what
`tests/test_fineweb2_parity.py` compares: GopherRepetition -> FineWebQuality -> GopherQuality with
FineWeb2's per-language config, first failure wins, then FTFY and the table-line fix on kept
documents (datatrove: its filters' `filter(doc)` and formatters' `format(text)`, built as
`fineweb-2-pipeline.py` builds them; ours: `core.filters.chain.run_documents` with URL, language ID,
precision and PII off and the language given). Word tokenizers are loaded before the timing on both
sides. Real text of FineWeb2's nine ablation languages from the Debian handbook and translated
message catalogs (see the parity test's docstring).

    .venv/bin/python bench/bench_fineweb2.py [--languages arb_Arab,cmn_Hani,...] [--limit N] [--json FILE]

Goal (issue 13): at least 3x datatrove per core.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import emit_result  # noqa: E402
from tests.test_fineweb2_parity import NINE, corpus, datatrove_result, datatrove_steps, our_results  # noqa: E402


def time_datatrove(language: str, texts: list[str]) -> tuple[float, list[str | None]]:
    steps = datatrove_steps(language)
    datatrove_result(steps, texts[0])  # load the word tokenizer outside the timing
    start = time.perf_counter()
    reasons = [datatrove_result(steps, text)[0] for text in texts]
    return time.perf_counter() - start, reasons


def time_ours(language: str, texts: list[str]) -> tuple[float, list[str | None]]:
    our_results(language, texts[:1])  # load the word tokenizer outside the timing
    start = time.perf_counter()
    reasons = [result.reason for result in our_results(language, texts)]
    return time.perf_counter() - start, reasons


def bench_language(language: str, limit: int | None) -> dict:
    texts = [text for _, text in corpus(language)][:limit]
    if not texts:
        raise SystemExit(f"{language}: no documents (install debian-handbook and the locale catalogs)")
    theirs, their_reasons = time_datatrove(language, texts)
    ours, our_reasons = time_ours(language, texts)
    agree = sum(a == b for a, b in zip(their_reasons, our_reasons)) / len(texts)
    return {"language": language, "docs": len(texts), "chars": sum(map(len, texts)),
            "datatrove_s": round(theirs, 3), "ours_s": round(ours, 3),
            "datatrove_docs_per_s": round(len(texts) / theirs, 1), "ours_docs_per_s": round(len(texts) / ours, 1),
            "speedup": round(theirs / ours, 2), "reason_agreement": round(agree, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--languages", default=",".join(sorted(NINE)))
    parser.add_argument("--limit", type=int, default=None, help="at most this many documents per language")
    parser.add_argument("--json", default=None, help="append the result as one JSON line to this file")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for language in args.languages.split(","):
        row = bench_language(language, args.limit)
        rows.append(row)
        print(f"{language}: {row['docs']:5d} docs  datatrove {row['datatrove_docs_per_s']:8.1f} docs/s  "
              f"ours {row['ours_docs_per_s']:8.1f} docs/s  {row['speedup']:6.2f}x  "
              f"same reason {row['reason_agreement']:.2%}", flush=True)
    total_theirs, total_ours = sum(r["datatrove_s"] for r in rows), sum(r["ours_s"] for r in rows)
    result = {"bench": "fineweb2_filters", "languages": rows, "datatrove_s": round(total_theirs, 2),
              "ours_s": round(total_ours, 2), "speedup_all": round(total_theirs / total_ours, 2),
              "speedup_min": min(r["speedup"] for r in rows)}
    print(f"all languages: datatrove {total_theirs:.1f} s, ours {total_ours:.1f} s: {result['speedup_all']:.2f}x "
          f"(lowest language {result['speedup_min']:.2f}x); goal 3x")
    emit_result(result, args.json)


if __name__ == "__main__":
    main()
