"""Start of a local Spark session: seconds until a first Delta-ready query answers, and the bytes the
session leaves in its temporary directory (userFiles: the jars of `spark.jars`, copied per session).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_session_start.py --repeat 3

Each start runs in a fresh Python process with its own `spark.local.dir`, so no JVM is reused.
Run it from the checkout whose `spark_jobs.session` you want to measure (PYTHONPATH picks it).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, os, sys, time
from pathlib import Path
started = time.perf_counter()
from spark_jobs.session import SparkSettings, close_session, open_session
session, created = open_session(SparkSettings(master="local[2]", driver_memory="2g"))
session.range(10).count()
ready = time.perf_counter() - started
local_dir = Path(os.environ["SPARK_LOCAL_DIRS"])
def size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:  # a shuffle file Spark removed meanwhile
        return 0
files = [p for p in local_dir.rglob("*") if p.is_file()]
user_files = sum(size(p) for p in files if any(q.startswith("userFiles") for q in p.parts))
jvm = session.sparkContext._jvm
s3a = bool(jvm.java.lang.Class.forName("org.apache.hadoop.fs.s3a.S3AFileSystem",
           True, jvm.Thread.currentThread().getContextClassLoader()))
local_bytes = sum(size(p) for p in files)
jars = session.sparkContext.getConf().get("spark.jars", "")
close_session(session, created)
print(json.dumps({"seconds_to_first_query": round(ready, 2), "user_files_bytes": user_files,
                  "local_dir_bytes": local_bytes, "s3a_loadable": s3a,
                  "spark_jars": [Path(j).name for j in jars.split(",") if j]}))
"""


def one_start(repo: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-session-") as local_dir:
        env = {**os.environ, "SPARK_LOCAL_DIRS": local_dir}
        # cwd: `python -c` puts it first on sys.path, so it must be the checkout measured
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=repo, capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise RuntimeError(f"the session start failed: {out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import spark_jobs.session

    repo = Path(spark_jobs.session.__file__).resolve().parents[1]
    print(f"spark_jobs.session from {repo}")
    for _ in range(args.repeat):
        print(json.dumps(one_start(repo)))


if __name__ == "__main__":
    main()
