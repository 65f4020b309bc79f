"""Cost of FineWeb's URL blocklists (UT1, 4.56M domains) in the URL filter, against datatrove's
URLFilter.

Each measurement runs in a fresh Python process (so RSS is that of a new executor):
- cold: build the hashed lists into an empty cache (`REFINERY_CACHE` = a temporary dir) and load;
- warm: memory-map the lists built by the cold run;
- datatrove: `URLFilter().download_data()` (cold: extracts the archive; both: builds Python sets);
- lookups: URLs per second of `url_decisions` (batches of 1,000) and of datatrove's `filter`, on the
  URLs of the real Common Crawl fixtures (repeated), best of interleaved rounds, with the ratio.
RSS comes from /proc/self/status: RssAnon is private to the process, RssFile is file pages mapped
into it (the hashed lists: shared by every process of the machine through the page cache).

    .venv/bin/python bench/bench_url_blocklist.py [--repeat 100] [--rounds 5] [--json results.jsonl]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit_result  # noqa: E402

FIXTURES = REPO.parent / "shared" / "data" / "commoncrawl"
FIXTURE_FILES = (
    "CC-MAIN-2020-34__resiliparse_warcfile.warc.gz",
    "CC-MAIN-2016-50__sparkwarc_sample.repaired.warc.wet.gz",
    "CC-MAIN-2024-22__whirlwind.warc.gz",
    "CC-MAIN-2024-22__whirlwind.warc.wet.gz",
    "CC-MAIN-2024-22__whirlwind.warc.wat.gz",
)


def memory_mib() -> dict[str, float]:
    """VmRSS, RssAnon, RssFile of this process in MiB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return values


def fixture_urls() -> list[str]:
    from fastwarc.warc import ArchiveIterator

    urls: dict[str, None] = {}
    for name in FIXTURE_FILES:
        with open(FIXTURES / name, "rb") as stream:
            for record in ArchiveIterator(stream, parse_http=False):
                uri = record.headers.get("WARC-Target-URI")
                if uri:
                    urls[uri] = None
    return list(urls)


def _offline_datatrove_filter(assets_dir: str):
    from functools import partial

    import tldextract
    from datatrove.pipeline.filters import url_filter as dt

    dt.cached_assets_path = partial(dt.cached_assets_path, assets_dir=assets_dir)
    flt = dt.URLFilter()
    flt.tldextractor = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())  # no network
    return flt


# ----------------------------------------------------------------------------- child processes
def child_load(_args) -> dict:
    """Load (cold: build) the default lists; memory after imports, after loading, and after 1M
    random lookups (which touch most pages of the 35 MB domain array)."""
    import numpy as np

    from core.filters.url_filter import UrlFilterParams, load_blocklist

    imported = memory_mib()
    start = time.perf_counter()
    blocklist = load_blocklist(UrlFilterParams())
    seconds = time.perf_counter() - start
    loaded = memory_mib()
    probes = np.random.default_rng(0).integers(0, 2**63, 1_000_000, dtype=np.uint64)
    probes_mib = probes.nbytes / 2**20
    blocklist.domains.contains_hashes(probes)
    touched = memory_mib()
    return {"seconds": round(seconds, 2), "rss_after_imports": imported, "rss_after_load": loaded,
            "rss_after_1M_lookups": touched, "probe_arrays_mib": round(3 * probes_mib, 1)}


def child_datatrove(args) -> dict:
    """datatrove's URLFilter: extract the archive (first child only) and build its Python sets."""
    flt = _offline_datatrove_filter(args.assets_dir)
    imported = memory_mib()
    start = time.perf_counter()
    flt.download_data()
    return {"seconds": round(time.perf_counter() - start, 2), "rss_after_imports": imported,
            "rss_after_load": memory_mib(), "n_domains": len(flt.block_listed_domains)}


def child_lookups(args) -> dict:
    from datatrove.data import Document

    from core.filters.url_filter import UrlFilterParams, load_blocklist, url_decisions

    urls = fixture_urls() * args.repeat
    params = UrlFilterParams()
    blocklist = load_blocklist(params)
    flt = _offline_datatrove_filter(args.assets_dir)
    flt.download_data()
    docs = [Document(text="", id=str(i), metadata={"url": u}) for i, u in enumerate(urls)]

    def ours() -> None:
        for i in range(0, len(urls), 1000):
            url_decisions(urls[i:i + 1000], params, blocklist)

    def theirs() -> None:
        for doc in docs:
            flt.filter(doc)

    best = {"ours": float("inf"), "datatrove": float("inf")}
    for _ in range(args.rounds):  # interleaved rounds, best of each: a shared machine is noisy
        for name, run in (("ours", ours), ("datatrove", theirs)):
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    rate = {name: len(urls) / seconds for name, seconds in best.items()}
    return {"n_urls": len(urls), "distinct_urls": len(urls) // args.repeat, "rounds": args.rounds,
            "ours_urls_per_s": round(rate["ours"]), "datatrove_urls_per_s": round(rate["datatrove"]),
            "ours_over_datatrove": round(rate["ours"] / rate["datatrove"], 2)}


CHILDREN = {"load": child_load, "datatrove": child_datatrove, "lookups": child_lookups}


def run_child(mode: str, env: dict, args) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--assets-dir", args.assets_dir,
               "--repeat", str(args.repeat), "--rounds", str(args.rounds)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=100, help="times the fixture URLs are looked up")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (best counts)")
    parser.add_argument("--json", help="append the result to this JSON-lines file")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--assets-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-url-blocklist-") as tmp:
        args.assets_dir = str(Path(tmp) / "hf-assets")
        env = {**os.environ, "REFINERY_CACHE": str(Path(tmp) / "cache"), "PYTHONPATH": str(REPO)}
        result = {"bench": "url_blocklist", "loadavg_start": os.getloadavg(), "cpus": os.cpu_count()}
        result["cold_build_and_load"] = run_child("load", env, args)
        result["warm_load"] = run_child("load", env, args)
        result["cache_files_mib"] = {p.name: round(p.stat().st_size / 2**20, 1)
                                     for p in sorted((Path(tmp) / "cache" / "url-blocklists").iterdir())}
        result["datatrove_cold_load"] = run_child("datatrove", env, args)
        result["datatrove_warm_load"] = run_child("datatrove", env, args)
        result["lookups"] = run_child("lookups", env, args)
        result["loadavg_end"] = os.getloadavg()
    emit_result(result, args.json)


if __name__ == "__main__":
    main()
