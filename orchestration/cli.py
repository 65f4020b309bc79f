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
    ensure_dagster_home()
    from dagster import DagsterInstance

    return DagsterInstance.get()


def cmd_setup(args) -> int:
    from spark_jobs.jars import ensure_delta_jars

    for jar in ensure_delta_jars():
        print(f"delta jar: {jar}")
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


def cmd_run(args) -> int:
    """Materialize every asset of one crawl in this process: one SparkSession for the whole run."""
    from orchestration.definitions import build_definitions
    from resources.partitions import add_crawls

    crawl = validate_crawl_id(args.crawl)
    instance = _instance()
    add_crawls(instance, [crawl])
    job = build_definitions().resolve_job_def("crawl_pipeline")
    started = time.monotonic()
    print(f"materializing {crawl} (dagster home {os.environ['DAGSTER_HOME']})", flush=True)
    result = job.execute_in_process(
        partition_key=crawl, instance=instance, run_config=run_config_for(args),
        raise_on_error=False,
    )
    elapsed = time.monotonic() - started
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        summary = {k: v.value for k, v in mat.metadata.items()
                   if isinstance(v.value, (int, float)) and not isinstance(v.value, bool)}
        print(f"  {mat.asset_key.to_user_string()}: {summary}")
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            print(f"  check {check.check_name}: {'passed' if check.passed else 'FAILED'}")
    status = "succeeded" if result.success else "FAILED"
    print(f"run {result.run_id} {status} in {elapsed:.0f}s; see it with `make ui`")
    return 0 if result.success else 1


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
    job = build_definitions().resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=_instance(), asset_selection=[AssetKey("combined_shards")],
        run_config={"ops": {"combined_shards": {"config": config}}}, raise_on_error=False)
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
    sub.add_parser("setup", help="fetch the Delta jars and create the Dagster home").set_defaults(
        func=cmd_setup)
    add = sub.add_parser("add-crawl", help="register crawl ids (CC-MAIN-YYYY-WW) as partitions")
    add.add_argument("crawl_ids", nargs="+")
    add.set_defaults(func=cmd_add_crawl)
    sub.add_parser("crawls", help="list registered crawls").set_defaults(func=cmd_crawls)
    run = sub.add_parser("run", help="materialize the pipeline for one crawl")
    run.add_argument("--crawl", default=SAMPLE_CRAWL_ID,
                     help=f"crawl id (default: the embedded sample, {SAMPLE_CRAWL_ID})")
    run.add_argument("--kind", default="warc", choices=["warc", "wet"])
    run.add_argument("--selection", default="all", choices=["first", "sample", "all"])
    run.add_argument("--files", type=int, default=4, help="files for first/sample selection")
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--reprocess", action="store_true", help="redo files already done")
    run.add_argument("--preset", default="fineweb", choices=["fineweb", "fineweb2"],
                     help="silver filter recipe: fineweb (English, default) or fineweb2 (every language)")
    run.set_defaults(func=cmd_run)
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
