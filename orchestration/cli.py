"""`refinery`: set up, register crawls and run the pipeline from a terminal.

The same runs the Dagster UI launches: they go through the Dagster instance in $DAGSTER_HOME
(./.dagster by default), so they show up in the UI's run history and asset catalog.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from contract.tables import SAMPLE_CRAWL_ID, validate_crawl_id

REPO = Path(__file__).resolve().parents[1]


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, or ./.dagster with the project's dagster.yaml copied in."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    source = REPO / "dagster.yaml"
    target = home / "dagster.yaml"
    if source.exists() and (not target.exists() or target.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, target)
    return home


def _instance():
    """The instance of $DAGSTER_HOME. Its sqlite storages are opened under a lock on the home:
    two commands starting at once on a new home would both create the tables, and the second
    would fail ("table runs already exists")."""
    import fcntl

    from dagster import DagsterInstance

    home = ensure_dagster_home()
    with open(home / ".refinery-instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = DagsterInstance.get()
        # Touch every storage, so each one creates its tables now, under the lock.
        instance.get_run_records(limit=1)
        instance.event_log_storage.get_concurrency_keys()
        if instance.schedule_storage is not None:
            instance.schedule_storage.all_instigator_state()
    return instance


def cmd_setup(args) -> int:
    from spark_jobs.jars import ensure_delta_jars, ensure_s3a_jars

    for jar in ensure_delta_jars():
        print(f"delta jar: {jar}")
    if not args.without_s3a:  # hadoop-aws + the AWS SDK bundle (~690 MB), for s3a:// lakes
        for jar in ensure_s3a_jars():
            print(f"s3a jar: {jar}")
    home = ensure_dagster_home()
    print(f"dagster home: {home}")
    return 0


def cmd_add_crawl(args) -> int:
    from resources.partitions import add_crawls

    new = add_crawls(_instance(), args.crawl_ids)
    print(f"added {len(new)} crawl(s): {', '.join(new) or '-'}")
    return 0


def cmd_crawls(args) -> int:
    from resources.partitions import crawl_partitions

    for crawl_id in sorted(_instance().get_dynamic_partitions(crawl_partitions.name)):
        print(crawl_id)
    return 0


def run_config_for(args) -> dict:
    ops: dict = {"warc_manifest": {"config": {
        "kind": args.kind, "selection": args.selection, "n_files": args.files, "seed": args.seed}}}
    if args.reprocess:
        ops["bronze_documents"] = {"config": {"reprocess": True}}
    if args.preset != "fineweb":
        ops["silver_documents"] = {"config": {"preset": args.preset}}
    return {"ops": ops}


def _recover(instance) -> None:
    """Say what happened to runs whose process died, mark them failed and free their slots."""
    from orchestration.recovery import recover_dead_runs

    for line in recover_dead_runs(instance).lines():
        print(f"refinery: {line}", file=sys.stderr, flush=True)


def _print_run(run, elapsed: float | None = None) -> None:
    from orchestration.run_summary import summary_lines

    for line in summary_lines(run.result):
        print(line)
    if run.unregistered:
        print(f"  {run.crawl} was registered for this run and nothing of it was materialized: "
              "unregistered again")
    took = f" in {elapsed:.0f}s" if elapsed is not None else ""
    print(f"run {run.run_id} ({run.crawl}) {'succeeded' if run.success else 'FAILED'}{took}; "
          "see it with `make ui`", flush=True)


def cmd_run(args) -> int:
    """Materialize every asset of one crawl in this process: one SparkSession for the whole run."""
    from orchestration.crawl_runs import assets_selected, run_crawl
    from orchestration.definitions import build_definitions

    crawl = validate_crawl_id(args.crawl)
    defs = build_definitions()
    selection = assets_selected(defs, args.until, args.skip)
    instance = _instance()
    _recover(instance)
    started = time.monotonic()
    print(f"materializing {crawl} (dagster home {os.environ['DAGSTER_HOME']})", flush=True)
    run = run_crawl(defs, instance, crawl, run_config_for(args), selection=selection)
    _print_run(run, time.monotonic() - started)
    return 0 if run.success else 1


def cmd_backfill(args) -> int:
    """Materialize several crawls one after another, oldest first, in one Spark session."""
    from orchestration.crawl_runs import assets_selected, backfill
    from orchestration.definitions import build_definitions

    crawls = sorted({validate_crawl_id(c) for c in args.crawl_ids})
    defs = build_definitions()
    selection = assets_selected(defs, args.until, args.skip)
    instance = _instance()
    _recover(instance)
    print(f"backfilling {', '.join(crawls)} (dagster home {os.environ['DAGSTER_HOME']})",
          flush=True)
    runs = backfill(defs, instance, crawls, run_config_for(args), keep_going=args.keep_going,
                    report=_print_run, selection=selection)
    failed = [r.crawl for r in runs if not r.success]
    skipped = crawls[len(runs):]
    if skipped:
        print(f"stopped after {failed[-1]} failed: not run {', '.join(skipped)} (later crawls are "
              "deduplicated against it; --keep-going runs them anyway)")
    print(f"backfill: {len(runs) - len(failed)} of {len(crawls)} crawls succeeded")
    return 0 if not failed and not skipped else 1


def cmd_recover(args) -> int:
    from orchestration.recovery import recover_dead_runs

    lines = recover_dead_runs(_instance()).lines()
    for line in lines:
        print(line)
    if not lines:
        print("no run to recover: every unfinished run's process is alive, no stale pool slot")
    return 0


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", default="warc", choices=["warc", "wet"])
    parser.add_argument("--selection", default="all", choices=["first", "sample", "all"])
    parser.add_argument("--files", type=int, default=4, help="files for first/sample selection")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reprocess", action="store_true", help="redo files already done")
    parser.add_argument("--preset", default="fineweb", choices=["fineweb", "fineweb2"],
                        help="silver filter recipe: fineweb (English, default) or fineweb2 (every "
                             "language)")
    parser.add_argument("--until", metavar="ASSET",
                        help="materialize ASSET and what it depends on, not the whole pipeline "
                             "(e.g. dedup_documents: no shards)")
    parser.add_argument("--skip", metavar="ASSET", action="append", default=[],
                        help="leave ASSET out of the run, nothing else (repeatable; e.g. preselect_model "
                             "and quality_scores for a crawl too small to train on, when shards take "
                             "every document)")


def crawl_weights(pairs: list[str]) -> dict[str, float]:
    """`CRAWL=WEIGHT` pairs as a dict."""
    weights = {}
    for pair in pairs:
        crawl, sep, weight = pair.partition("=")
        try:
            weights[validate_crawl_id(crawl)] = float(weight) if sep else float("nan")
        except ValueError as exc:
            raise ValueError(f"--weight {pair!r}: expected CRAWL=NUMBER ({exc})") from exc
        if not weights[crawl] > 0:
            raise ValueError(f"--weight {pair!r}: the weight must be a number > 0")
    return weights


def cmd_combine_shards(args) -> int:
    """Materialize `combined_shards` alone: every chosen crawl's shards as one Megatron blend."""
    from dagster import AssetKey

    from orchestration.definitions import build_definitions

    config = {"name": args.name, "crawls": [validate_crawl_id(c) for c in args.crawls] or None,
              "crawl_weights": crawl_weights(args.weight), "verify_sha256": args.verify_sha256}
    from orchestration.run_process import process_tags

    instance = _instance()
    _recover(instance)
    job = build_definitions().resolve_implicit_global_asset_job_def()
    run_id = str(uuid.uuid4())
    result = job.execute_in_process(
        instance=instance, asset_selection=[AssetKey("combined_shards")], run_id=run_id,
        tags=process_tags(run_id), run_config={"ops": {"combined_shards": {"config": config}}},
        raise_on_error=False)
    for event in result.get_asset_materialization_events():
        metadata = event.event_specific_data.materialization.metadata
        print(f"  combined_shards: {metadata['shards'].value} shards, {metadata['total_tokens'].value} tokens "
              f"of {metadata['crawls'].value} -> {metadata['data_args'].value}")
    for event in result.all_events:
        if event.is_step_failure:
            print(f"  failed: {event.event_specific_data.error.message.strip()}")
    print(f"run {result.run_id} {'succeeded' if result.success else 'FAILED'}")
    return 0 if result.success else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="refinery", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup", help="fetch the Delta and S3A jars and create the Dagster home")
    setup.add_argument("--without-s3a", action="store_true",
                       help="skip hadoop-aws and the AWS SDK (~690 MB): no s3:// or s3a:// lake in Spark")
    setup.set_defaults(func=cmd_setup)
    add = sub.add_parser("add-crawl", help="register crawl ids (CC-MAIN-YYYY-WW) as partitions")
    add.add_argument("crawl_ids", nargs="+")
    add.set_defaults(func=cmd_add_crawl)
    sub.add_parser("crawls", help="list registered crawls").set_defaults(func=cmd_crawls)
    run = sub.add_parser("run", help="materialize the pipeline for one crawl")
    run.add_argument("--crawl", default=SAMPLE_CRAWL_ID,
                     help=f"crawl id (default: the embedded sample, {SAMPLE_CRAWL_ID})")
    _add_run_options(run)
    run.set_defaults(func=cmd_run)
    fill = sub.add_parser("backfill", help="materialize several crawls, oldest first, in one "
                                           "Spark session")
    fill.add_argument("crawl_ids", nargs="+", metavar="CRAWL")
    _add_run_options(fill)
    fill.add_argument("--keep-going", action="store_true",
                      help="run the later crawls after a crawl failed")
    fill.set_defaults(func=cmd_backfill)
    sub.add_parser("recover", help="mark runs whose process died as failed and free their pool "
                                   "slots (run and backfill do it first)").set_defaults(
        func=cmd_recover)
    combine = sub.add_parser("combine-shards", help="one Megatron blend of several crawls' training shards")
    combine.add_argument("--name", default="all", help="directory under shards/combined/ (default: all)")
    combine.add_argument("--crawls", nargs="*", default=[], help="crawls to combine (default: all with shards)")
    combine.add_argument("--weight", action="append", default=[], metavar="CRAWL=W",
                         help="weight of a crawl (default 1); repeatable")
    combine.add_argument("--verify-sha256", action="store_true", help="re-hash every shard file")
    combine.set_defaults(func=cmd_combine_shards)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"refinery: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
