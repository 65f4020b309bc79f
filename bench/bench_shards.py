"""Training-shard benchmark: tokens per second of the whole `training_shards` stage (read the Delta
partition, mix, tokenize in the Ray actor pool, plan, write the Megatron shards, commit both tables)
against raw `tokenizers` on the same texts in one process, and the peak memory of the stage at
growing corpus sizes.

    # texts: real pages of the Debian documentation packages (bench/README.md), extracted once into
    # bench/out/shards/texts.parquet; the tokenizer: the embedded SmolLM2 one (converted once)
    .venv/bin/python bench/bench_shards.py [--sizes 2500,5000,10000] [--compare-size 10000] [--repeat 2]

Each measurement runs in its own process: `--mode raw` tokenizes the texts with `encode_batch_fast`
and `encode_batch` on one thread (TOKENIZERS_PARALLELISM=false) and with `encode_batch_fast` on
every core, batches of 1,000 as the stage; `--mode stage` writes a lake with the texts as
dedup/documents (files of 2,000 rows), starts a local Ray instance with --cpus CPUs and a fixed
object store, runs `run_training_shards` and samples every 0.25 s the proportional set size (PSS:
shared pages such as Ray's object store counted once) of the whole process tree: driver, raylet,
GCS and every Ray worker. Corpora larger than the distinct texts repeat them under new doc_ids.
The comparison: stage tokens/s per CPU of the Ray instance against raw tokens/s of one thread,
measured alternately in the same run, `--repeat` times; the load average is printed with each.

`--packed 2048` (or `2048:parquet`) turns on the stage's packed sequences (rows of seq_len + 1,
remainder dropped) so their cost shows in the stage's "write" phase; compare with a run without it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import emit_result  # noqa: E402

OUT = Path("bench/out/shards")
CRAWL = "CC-MAIN-2024-10"
BATCH = 1000  # the stage's default batch size


# ---------------------------------------------------------------------------------------------
# inputs


def extract_texts(path: Path) -> Path:
    """Main texts of the distinct real documentation pages, once, into a Parquet cache."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sample_crawl.bench_corpus.doc_sources import apt_command, discover_pages, missing_sources
    from sample_crawl.similarity import main_text

    if path.exists():
        return path
    if missing_sources():
        raise SystemExit(f"the documentation packages are missing: {apt_command()}")
    texts = [main_text(Path(page.path).read_bytes()) for page in discover_pages()]
    texts = [text for text in texts if text]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": texts}), path)
    return path


def corpus(texts_path: Path, size: int) -> list[str]:
    import pyarrow.parquet as pq

    texts = pq.read_table(texts_path).column("text").to_pylist()
    return [texts[i % len(texts)] for i in range(size)]


def tokenizer_json() -> str:
    from core.shards.embedded_tokenizer import embedded_tokenizer_json

    return embedded_tokenizer_json()[0]


# ---------------------------------------------------------------------------------------------
# measurements (each in its own process)


def measure_raw(texts: list[str]) -> dict:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(tokenizer_json())
    tokenizer.encode_special_tokens = True  # as the stage

    def run(method: str, parallel: bool) -> tuple[int, float]:
        os.environ["TOKENIZERS_PARALLELISM"] = "true" if parallel else "false"
        encode = getattr(tokenizer, method)
        started, tokens = time.perf_counter(), 0
        for lo in range(0, len(texts), BATCH):
            tokens += sum(len(e.ids) for e in encode(texts[lo:lo + BATCH], add_special_tokens=False))
        return tokens, time.perf_counter() - started

    tokens, fast_1 = run("encode_batch_fast", False)
    _, slow_1 = run("encode_batch", False)
    _, fast_all = run("encode_batch_fast", True)
    return {"mode": "raw", "documents": len(texts), "tokens": tokens, "cores": os.cpu_count(),
            "encode_batch_fast_1_thread_tokens_per_s": round(tokens / fast_1),
            "encode_batch_1_thread_tokens_per_s": round(tokens / slow_1),
            "encode_batch_fast_all_threads_tokens_per_s": round(tokens / fast_all)}


class TreeMemory:
    """Peak PSS (falls back to RSS) of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.25):
        import psutil

        self._root = psutil.Process()
        self.interval = interval
        self.peak = 0
        self.peak_driver = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _size(self, process) -> int:
        try:
            info = process.memory_full_info()
            return int(getattr(info, "pss", info.rss))
        except Exception:  # a worker that exited between listing and reading
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            processes = [self._root, *self._root.children(recursive=True)]
            self.peak = max(self.peak, sum(self._size(p) for p in processes))
            self.peak_driver = max(self.peak_driver, self._size(self._root))
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def write_lake(lake: str, texts: list[str]) -> None:
    import pyarrow as pa

    from contract.tables import DEDUP_DOCUMENT_COLUMNS, DEDUP_DOCUMENTS, SILVER_SCHEMA, table_uri
    from core.shards.embedded_tokenizer import EMBEDDED_NAME
    from core.shards.lake_files import write_bytes
    from core.shards.tokenizer_files import tokenizer_location
    from gpu_jobs import delta_io

    schema = pa.schema(list(SILVER_SCHEMA) + list(DEDUP_DOCUMENT_COLUMNS))
    uri = table_uri(lake, DEDUP_DOCUMENTS)
    files = []
    for lo in range(0, len(texts), 2000):
        part = texts[lo:lo + 2000]
        columns = {"doc_id": [f"<urn:uuid:bench-{lo + i:08d}>" for i in range(len(part))], "text": part,
                   "dup_count": [1] * len(part), "language": ["en"] * len(part)}
        table = pa.table({f.name: pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(len(part), f.type)
                          for f in schema}, schema=schema)
        files.append(delta_io.write_part_file(uri, CRAWL, table))
    delta_io.commit_partition(uri, CRAWL, schema, files)
    write_bytes(tokenizer_location(lake, EMBEDDED_NAME), tokenizer_json().encode("utf-8"))


def packed_output(spec: str | None):
    """`--packed SEQ_LEN[:FORMAT]` as the stage's PackedOutput (None: off)."""
    if not spec:
        return None
    from core.shards.packed_files import PackedOutput
    from core.shards.packing import PackingParams

    seq_len, _, fmt = spec.partition(":")
    return PackedOutput(PackingParams(seq_len=int(seq_len)), fmt or "npy")


def measure_stage(texts: list[str], cpus: int, object_store_mb: int, max_tokens: int, packed: str | None = None) -> dict:
    import ray

    from gpu_jobs.shards.config import ShardStageConfig
    from gpu_jobs.shards.stage import run_training_shards

    with tempfile.TemporaryDirectory(prefix="bench-shards-") as scratch:
        lake = os.path.join(scratch, "lake")
        write_lake(lake, texts)
        ray.init(num_cpus=cpus, object_store_memory=object_store_mb << 20, include_dashboard=False,
                 log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        try:
            with TreeMemory() as memory:
                config = ShardStageConfig(max_tokens_per_shard=max_tokens, packed_sequences=packed_output(packed))
                result = run_training_shards(lake, CRAWL, config)
        finally:
            ray.shutdown()
    seconds = result.seconds["total"]
    return {"mode": "stage", "documents": len(texts), "tokens": result.tokens, "shards": len(result.shards),
            "cpus": cpus, "seconds": round(seconds, 2),
            "phases": {k: round(v, 2) for k, v in result.seconds.items()},
            "tokens_per_s": round(result.tokens / seconds), "tokens_per_s_per_cpu": round(result.tokens / seconds / cpus),
            "peak_pss_mb": round(memory.peak / 2**20), "peak_driver_pss_mb": round(memory.peak_driver / 2**20),
            "object_store_mb": object_store_mb, "packed": packed,
            "packed_sequences": sum(f.sequences for f in result.packed_files),
            "packed_mb": round(sum(f.bytes for f in result.packed_files) / 2**20, 1)}


# ---------------------------------------------------------------------------------------------
# driver


def in_subprocess(args: argparse.Namespace, mode: str, size: int) -> dict:
    command = [sys.executable, __file__, "--mode", mode, "--size", str(size), "--texts", str(args.texts),
               "--cpus", str(args.cpus), "--object-store-mb", str(args.object_store_mb),
               "--max-tokens", str(args.max_tokens)] + (["--packed", args.packed] if args.packed else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                      os.environ.get("PYTHONPATH")]))}
    load_before = os.getloadavg()[0]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{mode} at {size} documents failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2500,5000,10000", help="documents per memory point")
    parser.add_argument("--compare-size", type=int, default=10000, help="documents of the speed comparison")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the speed comparison")
    parser.add_argument("--texts", type=Path, default=OUT / "texts.parquet")
    parser.add_argument("--cpus", type=int, default=os.cpu_count())
    parser.add_argument("--object-store-mb", type=int, default=1024)
    parser.add_argument("--max-tokens", type=int, default=4_000_000, help="tokens per shard")
    parser.add_argument("--packed", default=None, metavar="SEQ_LEN[:npy|parquet]",
                        help="also write packed sequences beside each shard (off by default)")
    parser.add_argument("--json", default=None, help="append the results to this JSON-lines file")
    parser.add_argument("--mode", choices=["raw", "stage"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.mode == "raw":
        print(json.dumps(measure_raw(corpus(args.texts, args.size))))
        return 0
    if args.mode == "stage":
        print(json.dumps(measure_stage(corpus(args.texts, args.size), args.cpus, args.object_store_mb,
                                       args.max_tokens, args.packed)))
        return 0
    extract_texts(args.texts)
    tokenizer_json()  # convert once, before any timing
    rounds = []
    for _ in range(args.repeat):
        raw = in_subprocess(args, "raw", args.compare_size)
        stage = in_subprocess(args, "stage", args.compare_size)
        ratio = stage["tokens_per_s_per_cpu"] / raw["encode_batch_fast_1_thread_tokens_per_s"]
        rounds.append({"raw": raw, "stage": stage, "stage_per_cpu_over_raw_1_thread": round(ratio, 3)})
        print(json.dumps(rounds[-1]), flush=True)
    memory = []
    for size in (int(s) for s in args.sizes.split(",")):
        point = next((r["stage"] for r in rounds if r["stage"]["documents"] == size), None) or \
            in_subprocess(args, "stage", size)
        memory.append({k: point[k] for k in ("documents", "tokens", "seconds", "tokens_per_s", "peak_pss_mb",
                                             "peak_driver_pss_mb", "load_average")})
        print(json.dumps(memory[-1]), flush=True)
    emit_result({"bench": "shards", "packed": args.packed, "comparison": rounds, "memory": memory,
                 "best_ratio": max(r["stage_per_cpu_over_raw_1_thread"] for r in rounds)}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
