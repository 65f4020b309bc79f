"""Crawl runs executed in the CLI's process: one crawl (`refinery run`) or several in crawl order
(`refinery backfill`), recorded in the Dagster instance like runs launched from the UI.

Each run is tagged with the process executing it (`orchestration.run_process`), so a later CLI can
tell when it died. A backfill sets up the engines once for all its runs (`shared_engines`): each
run's SparkResource finds the session running and reuses it, so N crawls start one JVM, not N.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from dagster import AssetKey, AssetSelection, DagsterInstance, build_resources

from orchestration.run_process import process_tags
from resources.partitions import add_crawls, remove_crawl

JOB_NAME = "crawl_pipeline"
BACKFILL_TAG = "refinery/backfill"  # Dagster's own dagster/backfill tag belongs to its backfills
ENGINE_RESOURCES = ("spark", "ray")


@dataclass
class CrawlRun:
    crawl: str
    run_id: str
    success: bool
    result: object = field(repr=False)
    unregistered: bool = False  # the crawl was registered for this run and removed again


def assets_until(defs, asset_name: str) -> list[AssetKey]:
    """An asset of the pipeline and every asset upstream of it (`--until ASSET`)."""
    job = defs.resolve_job_def(JOB_NAME)
    known = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    if asset_name not in known:
        raise ValueError(f"--until {asset_name}: not an asset of {JOB_NAME}; one of "
                         f"{', '.join(sorted(known))}")
    upstream = AssetSelection.assets(AssetKey(asset_name)).upstream()
    return sorted(upstream.resolve(defs.resolve_asset_graph()) & job.asset_layer.executable_asset_keys,
                  key=lambda key: key.to_user_string())


def assets_selected(defs, until: str | None = None, skip: list[str] | None = None) -> list[AssetKey] | None:
    """The assets `--until ASSET` (it and its upstream) and `--skip ASSET...` (exactly those left out,
    nothing else) select; None: the whole pipeline."""
    if not until and not skip:
        return None
    job = defs.resolve_job_def(JOB_NAME)
    keys = set(assets_until(defs, until)) if until else set(job.asset_layer.executable_asset_keys)
    known = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    unknown = sorted(set(skip or []) - known)
    if unknown:
        raise ValueError(f"--skip {', '.join(unknown)}: not an asset of {JOB_NAME}; one of "
                         f"{', '.join(sorted(known))}")
    left = keys - {AssetKey(name) for name in skip or []}
    if not left:
        raise ValueError("--skip leaves no asset to run")
    return sorted(left, key=lambda key: key.to_user_string())


def _selected_run_config(run_config: dict, selection: list[AssetKey] | None) -> dict:
    """Run config without the config of ops a selection leaves out (Dagster rejects it)."""
    if selection is None:
        return run_config
    names = {key.to_user_string() for key in selection}
    ops = {op: value for op, value in run_config.get("ops", {}).items() if op in names}
    return {**run_config, "ops": ops}


def execute_crawl(job, instance: DagsterInstance, crawl: str, run_config: dict,
                  tags: dict | None = None, selection: list[AssetKey] | None = None) -> CrawlRun:
    """Run the pipeline (or the selected assets of it) for one registered crawl in this process,
    tagged with this process."""
    run_id = str(uuid.uuid4())
    result = job.execute_in_process(
        partition_key=crawl, instance=instance, run_config=_selected_run_config(run_config, selection),
        run_id=run_id, tags={**(tags or {}), **process_tags(run_id)}, asset_selection=selection,
        raise_on_error=False)
    return CrawlRun(crawl, run_id, result.success, result)


def _materialized_partition(result, crawl: str) -> bool:
    """Whether a run materialized anything of the crawl's partition (an unpartitioned asset of
    the job, the tokenizer, may have been materialized all the same)."""
    return any(event.partition == crawl for event in result.get_asset_materialization_events())


def run_crawl(defs, instance: DagsterInstance, crawl: str, run_config: dict,
              tags: dict | None = None, selection: list[AssetKey] | None = None) -> CrawlRun:
    """Register the crawl if needed and run it; a crawl registered here whose run materialized
    nothing of it (no listing at the source: a wrong id or base) is unregistered again, so a
    typo leaves no partition behind."""
    new = add_crawls(instance, [crawl])
    run = execute_crawl(defs.resolve_job_def(JOB_NAME), instance, crawl, run_config, tags, selection)
    if new and not run.success and not _materialized_partition(run.result, crawl):
        remove_crawl(instance, crawl)
        run.unregistered = True
    return run


@contextmanager
def shared_engines(defs, selection: list[AssetKey] | None = None) -> Iterator[None]:
    """Set up the engine resources the runs need once, for every run inside the block."""
    job = defs.resolve_job_def(JOB_NAME)
    if selection is not None:
        job = job.get_subset(asset_selection=set(selection))
    needed = set(job.required_resource_keys)
    engines = {key: defs.resources[key] for key in ENGINE_RESOURCES if key in needed}
    with build_resources(engines):
        yield


def backfill(defs, instance: DagsterInstance, crawls: list[str], run_config: dict,
             keep_going: bool = False, report: Callable[[CrawlRun], None] = lambda run: None,
             selection: list[AssetKey] | None = None) -> list[CrawlRun]:
    """Run crawls one after another, oldest first, sharing one Spark session.

    A crawl is deduplicated against the crawls before it, so by default the backfill stops at the
    first failed crawl instead of deduplicating later crawls without it.
    """
    backfill_id = uuid.uuid4().hex[:8]
    runs = []
    with shared_engines(defs, selection):
        for crawl in sorted(set(crawls)):
            run = run_crawl(defs, instance, crawl, run_config, {BACKFILL_TAG: backfill_id},
                            selection)
            runs.append(run)
            report(run)
            if not run.success and not keep_going:
                break
    return runs
