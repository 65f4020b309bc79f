"""Dedup benchmark: our Spark dedup (spark_jobs.dedup.job.run_dedup) against datatrove's three-stage
MinHash (MinhashDedupSignature -> MinhashDedupBuckets -> MinhashDedupCluster -> MinhashDedupFilter)
on the same documents, same machine, one run each; accuracy against the benchmark corpus's ground
truth and exact Jaccard; driver memory at growing corpus sizes.

    # the corpus (bench/README.md): bench/out/corpus/crawl-data/CC-MAIN-BENCH
    .venv/bin/python bench/build_corpus.py --out bench/out/corpus --pages 20000 --files 20
    # accuracy on the whole corpus + speed against datatrove on the first --compare-docs documents
    .venv/bin/python bench/bench_dedup.py [--compare-docs 4000] [--parquet texts.parquet]
    # edge verification by MinHash estimate (default, 0.75) against exact Jaccard at a hard 0.85 cut,
    # each on the whole corpus, best of --repeat runs: precision/recall at 0.85 and seconds
    .venv/bin/python bench/bench_dedup.py --compare-docs 0 --skip-datatrove --verify-method minhash,exact
    # driver memory and time at several sizes (each in a subprocess with a fixed driver memory)
    .venv/bin/python bench/bench_dedup.py --scale 20000,80000 [--driver-memory 2g]   # 320000 opt-in
    # speed only, ours and datatrove alternating for 3 rounds (wall and CPU-time ratios per round)
    .venv/bin/python bench/bench_dedup.py --compare-docs 0 --skip-accuracy --compare-rounds 3
    # two crawls of the same size (the corpus in halves): the first alone, then the second against
    # it; time, CPU and bytes read of each run, 2 rounds
    .venv/bin/python bench/bench_dedup.py --cross-crawl --repeat 2

Texts of the corpus are extracted once with `warc_extract.extract_file` (resiliparse) and cached in
bench/out/dedup/texts.parquet (columns doc_id, url, fetch_time, text). Speed is documents per second
per core: our wall time x cores used (local[*] on all cores) against datatrove in one process (one
core). Scale mode synthesizes larger corpora from the distinct texts by mutating copies (a few
percent of words replaced, so they are near duplicates) and reports wall time and the peak resident
memory of the whole driver process tree (JVM + Python workers), read from /proc.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path("bench/out/dedup")
CORPUS = Path("bench/out/corpus/crawl-data/CC-MAIN-BENCH")
CRAWL = "CC-MAIN-BENCH"


# ---------------------------------------------------------------------------------------------
# inputs


def extract_corpus_texts(corpus: Path, out: Path) -> Path:
    """Extract every document of the benchmark crawl once into a Parquet cache."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.warc.extract import extract_file

    if out.exists():
        return out
    rows = []
    warcs = sorted(corpus.glob("segments/*/warc/*.warc.gz"))
    if not warcs:
        raise SystemExit(f"no WARC files under {corpus}/segments/*/warc/: pass the crawl directory "
                         f"(…/crawl-data/{CRAWL}) of a corpus built by bench/build_corpus.py")
    for warc in warcs:
        for doc in extract_file(str(warc), CRAWL):
            if isinstance(doc, dict) and doc.get("text"):
                rows.append({k: doc[k] for k in ("doc_id", "url", "fetch_time", "text")})
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out


def load_texts(path: Path, limit: int | None = None):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if "doc_id" not in table.column_names:  # a plain --parquet of texts
        import pyarrow as pa

        n = table.num_rows
        table = pa.table({"doc_id": [f"d{i:08d}" for i in range(n)], "url": [f"https://x/{i}" for i in range(n)],
                          "fetch_time": pa.array([None] * n, pa.timestamp("us", tz="UTC")),
                          "text": table.column("text")})
    return table.slice(0, limit) if limit else table


def write_silver_from_parquet(spark, lake_root: str, parquet: str, limit: int | None = None,
                              snapshot: str = CRAWL, part: tuple[int, int] | None = None) -> int:
    """A silver-like partition (the columns dedup needs plus the usual key columns) from texts;
    `part` = (k, n): only the documents whose doc_id hashes to k modulo n. Returns the rows of the
    silver table (all partitions)."""
    from pyspark.sql import functions as F

    from contract.tables import SILVER_DOCUMENTS, table_uri
    from spark_jobs.delta_io import overwrite_where, partition_predicate

    df = spark.read.parquet(parquet)
    if limit:
        df = df.orderBy("doc_id").limit(limit)
    if part:
        df = df.where(F.pmod(F.xxhash64("doc_id"), F.lit(part[1])) == part[0])
    silver = df.select(
        "doc_id", F.lit(snapshot).alias("snapshot"), "url",
        F.regexp_extract("url", r"^[a-z]+://([^/]+)", 1).alias("domain"),
        F.col("fetch_time").cast("timestamp").alias("fetch_time"), "text",
        F.length("text").cast("long").alias("n_chars"), F.lit("en").alias("language"),
        F.lit(1.0).cast("float").alias("language_score"))
    overwrite_where(silver, table_uri(lake_root, SILVER_DOCUMENTS), partition_predicate(snapshot))
    return spark.read.format("delta").load(table_uri(lake_root, SILVER_DOCUMENTS)).count()


# ---------------------------------------------------------------------------------------------
# the two systems


def dedup_config(method: str = "exact", threshold: float | None = None):
    """DedupConfig for a verification method; threshold None: 0.75 for "minhash" (the estimate's
    spread near 0.85 makes a cut there lose half the pairs), the hard 0.85 cut for "exact"."""
    from spark_jobs.dedup.job import DedupConfig

    if threshold is None:
        threshold = 0.85 if method == "exact" else 0.75
    return DedupConfig(verify_threshold=threshold, verify_method=method)


def tree_cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds (user + system, including reaped children) of a process and all its live
    descendants, from /proc: our run's driver, its JVM and the JVM's Python workers."""
    pid = pid or os.getpid()
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        ticks[int(entry)] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += ticks.get(p, 0)
        stack.extend(children.get(p, []))
    return total / os.sysconf("SC_CLK_TCK")


def spark_io(spark) -> dict[str, int]:
    """Cumulative bytes of all executors (local mode: the driver's): read from storage by scans
    (`input`), and shuffled. Parquet reads count only with Hadoop's vectored reads off, which
    --cross-crawl sets (local files are otherwise read in other threads, outside Spark's metrics)."""
    it = spark.sparkContext._jsc.sc().statusStore().executorList(False).iterator()
    out = {"input": 0, "shuffle_read": 0, "shuffle_write": 0}
    while it.hasNext():
        e = it.next()
        out["input"] += e.totalInputBytes()
        out["shuffle_read"] += e.totalShuffleRead()
        out["shuffle_write"] += e.totalShuffleWrite()
    return out


def load_average() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def run_ours(spark, lake_root: str, config=None, snapshot: str = CRAWL):
    """(result, wall seconds, CPU seconds of the process tree)."""
    from spark_jobs.dedup.job import DedupConfig, run_dedup

    cpu, started = tree_cpu_seconds(), time.perf_counter()
    result = run_dedup(spark, lake_root, snapshot, config or DedupConfig())
    return result, time.perf_counter() - started, tree_cpu_seconds() - cpu


def run_datatrove(table) -> dict:
    """datatrove's FineWeb MinHash (3 stages + filter) in this process, one task per stage."""
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature,
    )

    ids = table.column("doc_id").to_pylist()
    texts = table.column("text").to_pylist()
    docs = lambda: (Document(text=t, id=i) for i, t in zip(ids, texts))  # noqa: E731
    config = MinhashConfig()
    times = {}
    cpu = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        signature = MinhashDedupSignature(output_folder=f"{tmp}/sigs", config=config)
        signature.get_signature(signature.get_shingles("warm up the word tokenizer " * 3))
        started = time.perf_counter()
        _drain(signature.run(docs(), rank=0, world_size=1))
        times["signatures"] = time.perf_counter() - started
        t = time.perf_counter()
        buckets = MinhashDedupBuckets(input_folder=f"{tmp}/sigs", output_folder=f"{tmp}/buckets", config=config)
        for bucket in range(config.num_buckets):
            _drain(buckets.run(rank=bucket, world_size=config.num_buckets))
        times["buckets"] = time.perf_counter() - t
        t = time.perf_counter()
        _drain(MinhashDedupCluster(input_folder=f"{tmp}/buckets", output_folder=f"{tmp}/remove",
                                   config=config).run())
        times["cluster"] = time.perf_counter() - t
        t = time.perf_counter()
        kept = {d.id for d in MinhashDedupFilter(input_folder=f"{tmp}/remove").run(docs(), rank=0, world_size=1)}
        times["filter"] = time.perf_counter() - t
        times["total"] = time.perf_counter() - started
    return {"seconds": times, "cpu_seconds": time.process_time() - cpu, "kept": kept, "removed": set(ids) - kept}


def _drain(result):
    if result is not None and hasattr(result, "__next__"):
        for _ in result:
            pass


# ---------------------------------------------------------------------------------------------
# accuracy


def accuracy(spark, lake_root: str, texts_table, truth_path: Path) -> dict:
    """Recall per ground-truth kind/target (pair in one cluster), S-curve of LSH candidates on the
    near pairs, and precision of the verified LSH edges against exact Jaccard of word 5-grams."""
    import numpy as np
    from pyspark.sql import functions as F

    from contract.tables import DEDUP_DOCUMENTS, DEDUP_PAIRS, DEDUP_REMOVED, DEDUP_SIGNATURES, table_uri
    from core.dedup.normalize import jaccard_of_sets, normalize_text, shingles
    from tests.reference.lsh_theory import detection_probability, empirical_s_curve, format_s_curve

    def load(name):
        return spark.read.format("delta").load(table_uri(lake_root, name)).where(F.col("snapshot") == CRAWL)

    cluster = {r["doc_id"]: r["dup_cluster_id"] for r in load(DEDUP_DOCUMENTS).select("doc_id", "dup_cluster_id").collect()}
    cluster.update({r["doc_id"]: r["dup_cluster_id"] for r in load(DEDUP_REMOVED).select("doc_id", "dup_cluster_id").collect()})
    id_of = dict(zip(texts_table.column("url").to_pylist(), texts_table.column("doc_id").to_pylist()))
    text_of = dict(zip(texts_table.column("doc_id").to_pylist(), texts_table.column("text").to_pylist()))
    truth = [json.loads(line) for line in truth_path.read_text().splitlines() if line.strip()]
    per_kind: dict[str, list[int]] = {}
    near_pairs = []
    for row in truth:
        a, b = id_of.get(row["url"]), id_of.get(row["of_url"])
        if a is None or b is None or a not in cluster or b not in cluster:
            continue
        key = row["kind"] if row["kind"] != "near" else f"near J~{row['target_jaccard']}"
        found = cluster[a] == cluster[b]
        per_kind.setdefault(key, [0, 0])
        per_kind[key][0] += found
        per_kind[key][1] += 1
        if row["kind"] == "near":
            near_pairs.append((a, b))
    sig_cache: dict[str, set] = {}

    def sh(doc_id):
        if doc_id not in sig_cache:
            sig_cache[doc_id] = shingles(normalize_text(text_of[doc_id]))
        return sig_cache[doc_id]

    # exact Jaccard (our normalization) of the near pairs; LSH candidate = a shared band hash
    wanted = {d for p in near_pairs for d in p}
    bands = {r["doc_id"]: r["band_hashes"] for r in load(DEDUP_SIGNATURES).where(F.col("doc_id").isin(list(wanted)))
             .select("doc_id", "band_hashes").collect()}
    j = np.array([jaccard_of_sets(sh(a), sh(b)) for a, b in near_pairs])
    candidate = np.array([any(x == y for x, y in zip(bands[a] or [], bands[b] or [])) for a, b in near_pairs])
    s_curve = empirical_s_curve(j, candidate, bins=np.linspace(0.4, 1.0, 13))
    positives = j >= 0.85
    recall_085 = float(np.mean([cluster[a] == cluster[b] for (a, b), p in zip(near_pairs, positives) if p])) \
        if positives.any() else float("nan")
    edges = load(DEDUP_PAIRS).where(F.col("verified")).select("src_doc_id", "dst_doc_id").collect()
    edge_j = np.array([jaccard_of_sets(sh(r["src_doc_id"]), sh(r["dst_doc_id"])) for r in edges])
    return {
        "recall_by_kind": {k: f"{f}/{n} = {f / n:.4f}" for k, (f, n) in sorted(per_kind.items())},
        "near_pairs_J>=0.85": int(positives.sum()),
        "recall_near_J>=0.85": round(recall_085, 4),
        "verified_edges": len(edges),
        "precision_edges_FP_J<0.7": round(float(np.mean(edge_j >= 0.7)), 4) if len(edges) else None,
        "precision_edges_FP_J<0.85": round(float(np.mean(edge_j >= 0.85)), 4) if len(edges) else None,
        "s_curve": format_s_curve(s_curve),
        "theory_at_0.85": round(detection_probability(0.85), 4),
    }


def datatrove_near_recall(removed: set, texts_table, truth_path: Path) -> dict:
    """For datatrove (no cluster ids kept): a ground-truth pair counts as found when exactly one of
    the two documents was removed or both were (it keeps one per cluster)."""
    id_of = dict(zip(texts_table.column("url").to_pylist(), texts_table.column("doc_id").to_pylist()))
    present = set(texts_table.column("doc_id").to_pylist())
    per_kind: dict[str, list[int]] = {}
    for row in (json.loads(line) for line in truth_path.read_text().splitlines() if line.strip()):
        a, b = id_of.get(row["url"]), id_of.get(row["of_url"])
        if a not in present or b not in present:
            continue
        key = row["kind"] if row["kind"] != "near" else f"near J~{row['target_jaccard']}"
        per_kind.setdefault(key, [0, 0])
        per_kind[key][0] += (a in removed) or (b in removed)
        per_kind[key][1] += 1
    return {k: f"{f}/{n} = {f / n:.4f}" for k, (f, n) in sorted(per_kind.items())}


# ---------------------------------------------------------------------------------------------
# scale mode


def synthesize(source: Path, n: int, out: Path, seed: int = 5) -> Path:
    """n documents: the distinct source texts, then mutated copies (2-6% of words replaced by words
    of the same text, so near duplicates at J ~ 0.6-0.9), written in chunks to bound memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if out.exists():
        return out
    base = load_texts(source)
    texts = base.column("text").to_pylist()
    rng = random.Random(seed)
    schema = pa.schema([("doc_id", pa.string()), ("url", pa.string()),
                        ("fetch_time", pa.timestamp("us", tz="UTC")), ("text", pa.string())])
    import datetime as dt

    t0 = dt.datetime(2024, 9, 1, tzinfo=dt.timezone.utc)
    with pq.ParquetWriter(out, schema) as writer:
        for lo in range(0, n, 5000):
            rows = []
            for i in range(lo, min(n, lo + 5000)):
                text = texts[i % len(texts)]
                if i >= len(texts):
                    words = text.split()
                    for k in rng.sample(range(len(words)), max(1, int(len(words) * rng.uniform(0.02, 0.06)))):
                        words[k] = words[rng.randrange(len(words))]
                    text = " ".join(words)
                rows.append({"doc_id": f"s{i:08d}", "url": f"https://synthetic.example/{i}",
                             "fetch_time": t0 + dt.timedelta(seconds=i), "text": text})
            writer.write_table(pa.Table.from_pylist(rows, schema))
    return out


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run_scale(sizes: list[int], driver_memory: str, texts: Path) -> list[dict]:
    results = []
    for n in sizes:
        parquet = synthesize(texts, n, OUT / f"synthetic_{n}.parquet")
        cmd = [sys.executable, __file__, "--worker", str(parquet), "--driver-memory", driver_memory]
        peak, started = 0, time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        stop = threading.Event()

        def poll():
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                stop.wait(0.5)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        out, _ = proc.communicate()
        stop.set()
        poller.join()
        wall = time.perf_counter() - started
        line = [x for x in out.splitlines() if x.startswith("RESULT ")]
        detail = json.loads(line[-1][7:]) if line else {"error": f"exit {proc.returncode}"}
        row = {"docs": n, "wall_s": round(wall, 1), "peak_rss_tree_mb": round(peak / 2**20), **detail}
        print(json.dumps(row), flush=True)
        results.append(row)
    return results


def worker(parquet: str, driver_memory: str) -> None:
    """One scale point: silver table from the Parquet, then dedup; prints RESULT {json}."""
    from spark_jobs.session import get_spark

    spark = get_spark(driver_memory=driver_memory)
    with tempfile.TemporaryDirectory() as lake:
        t = time.perf_counter()
        n = write_silver_from_parquet(spark, lake, parquet)
        silver_s = time.perf_counter() - t
        result, seconds, _ = run_ours(spark, lake)
        cores = spark.sparkContext.defaultParallelism
        print("RESULT " + json.dumps({
            "silver_write_s": round(silver_s, 1), "dedup_s": round(seconds, 1), "docs_in": n,
            "kept": result.kept, "exact_removed": result.exact_removed, "near_removed": result.near_removed,
            "clusters": result.clusters, "verified_edges": result.verified_edges,
            "docs_per_s_per_core": round(n / seconds / cores, 1), "driver_memory": driver_memory}), flush=True)


# ---------------------------------------------------------------------------------------------


def accuracy_section(spark, texts: Path, table, args) -> None:
    """Every --verify-method on the whole corpus (best of --repeat runs), with accuracy against the
    ground truth."""
    cores = spark.sparkContext.defaultParallelism
    truth = args.corpus / "ground_truth.jsonl"
    methods = [m.strip() for m in args.verify_method.split(",") if m.strip()]
    summary = []
    with tempfile.TemporaryDirectory() as lake:
        write_silver_from_parquet(spark, lake, str(texts))
        for method in methods:
            config = dedup_config(method, args.verify_threshold)
            times = []
            for _ in range(max(1, args.repeat)):
                result, seconds, _ = run_ours(spark, lake, config)
                times.append(seconds)
            seconds = min(times)
            print(f"\nours, whole corpus, verify {method} >= {config.verify_threshold}: {seconds:.1f}s "
                  f"(runs {', '.join(f'{t:.1f}' for t in times)}), {table.num_rows / seconds / cores:.1f} "
                  f"docs/s per core; kept {result.kept}, exact removed {result.exact_removed}, near removed "
                  f"{result.near_removed}, clusters {result.clusters}, edges {result.verified_edges}/"
                  f"{result.candidate_edges} verified")
            row = {"method": method, "threshold": config.verify_threshold, "seconds": round(seconds, 1),
                   "near_removed": result.near_removed, "verified_edges": result.verified_edges}
            if not args.parquet and truth.exists():
                acc = accuracy(spark, lake, table, truth)
                s_curve = acc.pop("s_curve")
                if method == methods[0]:
                    print(s_curve)
                print(json.dumps(acc, indent=1))
                row.update({k: acc[k] for k in ("recall_near_J>=0.85", "precision_edges_FP_J<0.85",
                                                "precision_edges_FP_J<0.7")})
            summary.append(row)
    if len(summary) > 1:
        print("\nverification methods (whole corpus):")
        for row in summary:
            print(json.dumps(row))


def speed_section(spark, texts: Path, table, args) -> None:
    """Ours and datatrove on the same first --compare-docs documents, alternating for
    --compare-rounds rounds (the machine may be shared: a ratio is only fair within a round). Per
    core: ours = documents / (wall seconds x cores), datatrove = documents / wall seconds (one
    process); and the same with CPU seconds (ours: the driver, its JVM and Python workers), which
    other load on the machine disturbs far less than wall time."""
    cores = spark.sparkContext.defaultParallelism
    truth = args.corpus / "ground_truth.jsonl"
    method = args.verify_method.split(",")[0].strip()
    n = args.compare_docs or table.num_rows
    subset = table.sort_by("doc_id").slice(0, n)
    print(f"\nspeed on the same {n} documents:")
    ratios = []
    with tempfile.TemporaryDirectory() as lake:
        write_silver_from_parquet(spark, lake, str(texts), limit=n)
        for round_no in range(1, max(1, args.compare_rounds) + 1):
            load = load_average()
            result, ours_s, ours_cpu = run_ours(spark, lake, dedup_config(method, args.verify_threshold))
            ours_rate = n / ours_s / cores
            print(f"round {round_no} (load {load}): ours (Spark, {cores} cores) {ours_s:8.1f} s wall "
                  f"{ours_cpu:8.1f} s CPU  {ours_rate:8.1f} docs/s per core  removed "
                  f"{result.exact_removed + result.near_removed} (exact {result.exact_removed}, near "
                  f"{result.near_removed}, clusters {result.clusters})", flush=True)
            if args.skip_datatrove:
                continue
            load = load_average()
            dt = run_datatrove(subset)
            dt_s, dt_cpu = dt["seconds"]["total"], dt["cpu_seconds"]
            print(f"round {round_no} (load {load}): datatrove (1 process) {dt_s:8.1f} s wall {dt_cpu:8.1f} s "
                  f"CPU  {n / dt_s:8.1f} docs/s per core  removed {len(dt['removed'])}  stages "
                  f"{json.dumps({k: round(v, 1) for k, v in dt['seconds'].items()})}")
            ratios.append((dt_s / (ours_s * cores), dt_cpu / ours_cpu))
            print(f"round {round_no}: ours / datatrove per core: {ratios[-1][0]:.2f}x by wall time, "
                  f"{ratios[-1][1]:.2f}x by CPU time; load now {load_average()}", flush=True)
            if round_no == 1 and not args.parquet and truth.exists():
                print("datatrove, ground-truth pairs with one side removed:",
                      json.dumps(datatrove_near_recall(dt["removed"], subset, truth), indent=1))
    if len(ratios) > 1:
        wall, cpu = sorted(r[0] for r in ratios), sorted(r[1] for r in ratios)
        print(f"ours / datatrove per core over {len(ratios)} rounds: wall {wall[0]:.2f}-{wall[-1]:.2f}x "
              f"(median {wall[len(wall) // 2]:.2f}x), CPU {cpu[0]:.2f}-{cpu[-1]:.2f}x (median {cpu[len(cpu) // 2]:.2f}x)")


CROSS_CRAWLS = ("CC-MAIN-2024-10", "CC-MAIN-2024-18")


def lake_bytes(lake_root: str, table: str, snapshot: str) -> dict[str, int]:
    """Compressed bytes per column of one crawl's partition of a Delta table (Parquet footers of the
    table's current files)."""
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from contract.tables import table_uri

    sizes: dict[str, int] = {}
    for path in DeltaTable(table_uri(lake_root, table)).file_uris([("snapshot", "=", snapshot)]):
        meta = pq.ParquetFile(path.removeprefix("file://")).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                col = meta.row_group(g).column(c)
                name = col.path_in_schema.split(".")[0]
                sizes[name] = sizes.get(name, 0) + col.total_compressed_size
    return sizes


def cross_crawl_section(spark, texts: Path, args) -> None:
    """Two crawls of the same size (the corpus split in halves by a hash of doc_id): the first
    deduplicated alone, then the second against it; time, CPU and bytes read of each run, --repeat
    rounds (reruns are idempotent: the first crawl's rerun never reads the second)."""
    from contract.tables import DEDUP_SIGNATURES, SILVER_DOCUMENTS

    with tempfile.TemporaryDirectory() as lake:
        sizes = {}
        for k, crawl in enumerate(CROSS_CRAWLS):
            before = write_silver_from_parquet(spark, lake, str(texts), snapshot=crawl, part=(k, 2))
            sizes[crawl] = before - sum(sizes.values())
        print(f"\ncross-crawl: {sizes} documents; bytes read = Spark's input metrics (Parquet scans, "
              f"vectored reads off), shuffle = bytes shuffled")
        for round_no in range(1, max(1, args.repeat) + 1):
            for crawl in CROSS_CRAWLS:
                io, load = spark_io(spark), load_average()
                result, seconds, cpu = run_ours(spark, lake, dedup_config(args.verify_method.split(",")[0].strip(),
                                                                          args.verify_threshold), crawl)
                after = spark_io(spark)
                print(f"round {round_no} {crawl} (load {load}): {seconds:7.1f} s wall {cpu:7.1f} s CPU  read "
                      f"{(after['input'] - io['input']) / 1e6:7.1f} MB  shuffled "
                      f"{(after['shuffle_write'] - io['shuffle_write']) / 1e6:7.1f} MB  kept {result.kept} "
                      f"exact {result.exact_removed} near {result.near_removed} cross-crawl "
                      f"{result.cross_crawl_removed} edges {result.verified_edges}/{result.candidate_edges} "
                      f"earlier {result.earlier_crawls}", flush=True)
        for crawl in CROSS_CRAWLS:
            for table in (SILVER_DOCUMENTS, DEDUP_SIGNATURES):
                cols = lake_bytes(lake, table, crawl)
                top = ", ".join(f"{c} {b / sizes[crawl]:,.0f}" for c, b in sorted(cols.items(), key=lambda x: -x[1])[:4])
                print(f"{crawl} {table}: {sum(cols.values()) / 1e6:.1f} MB, bytes per document: {top}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--parquet", help="texts to use instead of the corpus (column text; doc_id/url optional)")
    ap.add_argument("--compare-docs", type=int, default=4000,
                    help="documents for the speed comparison with datatrove (0: all)")
    ap.add_argument("--compare-rounds", type=int, default=1,
                    help="rounds of the speed comparison, each ours then datatrove")
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true", help="no whole-corpus accuracy runs")
    ap.add_argument("--cross-crawl", action="store_true",
                    help="only the two-crawl benchmark: the second crawl against the first, time and bytes read")
    ap.add_argument("--scale", help="comma-separated corpus sizes, each run in a subprocess")
    ap.add_argument("--driver-memory", default="2g")
    ap.add_argument("--verify-method", default="exact",
                    help="edge verification: minhash, exact, or a comma list (each runs on the whole corpus)")
    ap.add_argument("--verify-threshold", type=float, default=None,
                    help="verification threshold (default: 0.75 for minhash, 0.85 for exact)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per method on the whole corpus (best time); rounds of --cross-crawl")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.driver_memory)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    texts = Path(args.parquet) if args.parquet else extract_corpus_texts(args.corpus, OUT / "texts.parquet")
    if args.scale:
        run_scale([int(x) for x in args.scale.split(",")], args.driver_memory, texts)
        return

    from spark_jobs.session import get_spark

    spark = get_spark(driver_memory=args.driver_memory)
    if args.cross_crawl:  # Parquet scans count in Spark's input metrics only without vectored reads
        spark.sparkContext._jsc.hadoopConfiguration().set("parquet.hadoop.vectored.io.enabled", "false")
    table = load_texts(texts)
    print(f"{table.num_rows} documents, {sum(map(len, table.column('text').to_pylist())) / table.num_rows:,.0f} "
          f"characters on average; Spark local with {spark.sparkContext.defaultParallelism} cores, driver "
          f"memory {args.driver_memory}; load average {load_average()}")
    if args.cross_crawl:
        cross_crawl_section(spark, texts, args)
        return
    if not args.skip_accuracy:
        accuracy_section(spark, texts, table, args)
    speed_section(spark, texts, table, args)


if __name__ == "__main__":
    main()
