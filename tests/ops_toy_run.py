"""A stand-in for a crawl run, for the operations tests: one asset in the `spark` pool, partitioned
by crawl, that writes its process id to a file and then sleeps. It takes a pool slot the way the
pipeline's Spark steps do, without starting Spark, so a test can kill it at a known point.

`python -m tests.ops_toy_run MARKER SECONDS CRAWL` executes it as `refinery run` executes the
pipeline (`orchestration.crawl_runs.execute_crawl`: in this process, tagged with it) in the
instance of $DAGSTER_HOME. `defs` is the code location the UI tests load.
"""
# No `from __future__ import annotations`: Dagster reads the Config annotation at runtime.

import os
import sys
import time
from pathlib import Path

from dagster import (
    AssetExecutionContext, Config, Definitions, asset, define_asset_job, in_process_executor,
)

from resources.partitions import crawl_partitions

TOY_JOB = "toy_pipeline"


class ToyConfig(Config):
    marker: str = ""  # file that receives "<pid> <run id>" once the step holds its pool slot
    seconds: float = 0.0


@asset(partitions_def=crawl_partitions, pool="spark")
def toy_stage(context: AssetExecutionContext, config: ToyConfig) -> None:
    if config.marker:
        Path(config.marker).write_text(f"{os.getpid()} {context.run_id}")
    time.sleep(config.seconds)


# In the run's process, as orchestration.jobs runs the pipeline: killing the step kills the run.
toy_job = define_asset_job(TOY_JOB, selection=[toy_stage], partitions_def=crawl_partitions,
                           executor_def=in_process_executor)
defs = Definitions(assets=[toy_stage], jobs=[toy_job])


def toy_run_config(marker: str = "", seconds: float = 0.0) -> dict:
    return {"ops": {"toy_stage": {"config": {"marker": marker, "seconds": seconds}}}}


def main(marker: str, seconds: str, crawl: str) -> int:
    from dagster import DagsterInstance

    from orchestration.crawl_runs import execute_crawl
    from resources.partitions import add_crawls

    instance = DagsterInstance.get()
    add_crawls(instance, [crawl])
    run = execute_crawl(defs.resolve_job_def(TOY_JOB), instance, crawl,
                        toy_run_config(marker, float(seconds)))
    print(f"run {run.run_id} {'succeeded' if run.success else 'FAILED'}", flush=True)
    return 0 if run.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
