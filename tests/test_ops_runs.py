"""Backfill, concurrency and crash safety of real pipeline runs, each `refinery` in its own process
with its own Dagster home and lake, as a user runs them.

Two crawls of the shared fixtures (one small WARC file each, no document in common):
- reference: `refinery backfill A B`, both crawls in one process and one Spark session;
- concurrency: `refinery run A` and `refinery run B` started together on one instance: the `spark`
  pool lets one Spark step run at a time, and both crawls end equal to the reference;
- crash: `refinery run A` SIGKILLed while silver runs, then the same command again: the dead run is
  marked failed, its pool slot freed, and every table ends equal to the reference's crawl A.

Equal means the same rows, duplicates counted, in every Delta table of the lake, except the
manifest's `updated_at` (when a file's status was written). Timeouts are generous because the
machine is shared; no assertion is about speed.
"""
from __future__ import annotations

import os
import signal
import socket

import pytest
from dagster import DagsterEventType, DagsterRunStatus, RunsFilter

from orchestration.crawl_runs import BACKFILL_TAG
from orchestration.run_process import PID_TAG
from tests.conftest import WARC_2020, WHIRLWIND_WARC, make_mirror
from tests.ops_helpers import (
    Workspace, delta_tables, duplicate_doc_ids, finish, kill_group, lake_contents, run_of_pid,
    step_events, table_rows, wait_for,
)

A, B = "CC-MAIN-2020-34", "CC-MAIN-2024-22"
RUN_TIMEOUT = 1800  # one small crawl on a loaded 2-core machine takes 3 to 15 minutes
# Over pyproject's 900 s per test: the first test's setup is the two-crawl backfill.
pytestmark = pytest.mark.timeout(4 * RUN_TIMEOUT)
SPARK_STEPS = {"warc_manifest", "bronze_documents", "silver_documents", "dedup_documents"}
UNIQUE_DOC_TABLES = ["bronze/documents", "silver/documents", "silver/rejects", "dedup/documents",
                     "dedup/removed", "dedup/signatures"]
# Every file of the crawl, through dedup: the Spark stages (the shards stage is Ray's, and
# test_shards_stage's).
RUN = ("--selection", "all", "--until", "dedup_documents")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    make_mirror(root, A, [WARC_2020])
    make_mirror(root, B, [WHIRLWIND_WARC])
    return root


@pytest.fixture(scope="module")
def reference(mirror, tmp_path_factory) -> Workspace:
    """Both crawls backfilled by one `refinery backfill` process."""
    ws = Workspace(tmp_path_factory.mktemp("reference"), mirror)
    process = ws.start("backfill", B, A, *RUN, log_name="backfill")
    assert finish(process, 2 * RUN_TIMEOUT) == 0, ws.log("backfill")[-5000:]
    return ws


def test_backfill_runs_crawls_oldest_first_in_one_spark_session(reference):
    log = reference.log("backfill")
    assert f"backfilling {A}, {B}" in log
    assert "backfill: 2 of 2 crawls succeeded" in log
    # The backfill opened the session once, before its first run; each run's Spark resource
    # found it and reused it.
    assert log.count("spark: started session") == 1
    assert log.index("spark: started session") < log.index("RUN_START")
    assert log.count("spark: reusing the running session") == 2
    with reference.instance() as instance:
        runs = [r.dagster_run for r in instance.get_run_records(ascending=True,
                                                                order_by="create_timestamp")]
    assert [r.tags["dagster/partition"] for r in runs] == [A, B]
    assert all(r.status == DagsterRunStatus.SUCCESS for r in runs)
    assert len({r.tags[BACKFILL_TAG] for r in runs}) == 1
    assert len({r.tags[PID_TAG] for r in runs}) == 1  # one process
    for crawl in (A, B):
        for table in UNIQUE_DOC_TABLES:
            rows = table_rows(reference.lake, table, crawl)
            assert duplicate_doc_ids(rows) == [], (crawl, table)
        assert table_rows(reference.lake, "bronze/documents", crawl), crawl


def _spark_step_intervals(instance, run_id: str) -> list[tuple[float, float, str]]:
    starts = dict(step_events(instance, run_id, DagsterEventType.STEP_START))
    ends = dict(step_events(instance, run_id, DagsterEventType.STEP_SUCCESS))
    return [(starts[step], ends[step], f"{run_id[:8]}:{step}") for step in SPARK_STEPS]


def test_two_crawls_run_concurrently_one_spark_step_at_a_time(reference, mirror, tmp_path):
    ws = Workspace(tmp_path / "concurrent", mirror)
    first = ws.start("run", "--crawl", A, *RUN, log_name="run-a")
    second = ws.start("run", "--crawl", B, *RUN, log_name="run-b")
    try:
        assert finish(first, 2 * RUN_TIMEOUT) == 0, ws.log("run-a")[-5000:]
        assert finish(second, 2 * RUN_TIMEOUT) == 0, ws.log("run-b")[-5000:]
    finally:
        for process in (first, second):
            if process.poll() is None:
                kill_group(process)

    with ws.instance() as instance:
        runs = [run_of_pid(instance, p.pid) for p in (first, second)]
        assert all(run.status == DagsterRunStatus.SUCCESS for run in runs)
        spans = [(min(s for s, _, _ in iv), max(e for _, e, _ in iv)) for iv in
                 (_spark_step_intervals(instance, run.run_id) for run in runs)]
        assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]  # the runs overlapped
        steps = sorted(_spark_step_intervals(instance, runs[0].run_id)
                       + _spark_step_intervals(instance, runs[1].run_id))
        for (_, end, step), (start, _, next_step) in zip(steps, steps[1:]):
            assert end <= start, f"{step} and {next_step} ran at the same time"
        waited = [m for run in runs for m in (e.message or "" for e in instance.all_logs(run.run_id))
                  if "blocked by limit for pool spark" in m]
        assert waited  # a step did wait for the other run's
        assert instance.event_log_storage.get_concurrency_info("spark").active_run_ids == set()

    assert delta_tables(ws.lake) == delta_tables(reference.lake)
    assert lake_contents(ws.lake) == lake_contents(reference.lake)


def test_a_run_killed_while_silver_runs_is_recovered_and_rerun_to_the_same_tables(
        reference, mirror, tmp_path):
    ws = Workspace(tmp_path / "crash", mirror)
    killed = ws.start("run", "--crawl", A, *RUN, log_name="killed")
    try:
        # The CLI creates the Dagster home and its tables (under its lock) before it says this.
        wait_for(lambda: "materializing" in ws.log("killed"), RUN_TIMEOUT, "the CLI to start")
        with ws.instance() as instance:
            run = wait_for(lambda: run_of_pid(instance, killed.pid), RUN_TIMEOUT, "the run")
            wait_for(lambda: "silver_documents" in dict(
                step_events(instance, run.run_id, DagsterEventType.STEP_START)),
                RUN_TIMEOUT, "silver's STEP_START", interval=0.1)
            os.kill(killed.pid, signal.SIGKILL)  # the run's process, as the OOM killer would
            killed.wait(timeout=60)
            assert killed.returncode == -signal.SIGKILL
            # Spark's JVM and Python workers end with the driver process.
            wait_for(lambda: not _group_alive(killed.pid), 120, "the JVM to exit")

            ended = dict(step_events(instance, run.run_id, DagsterEventType.STEP_SUCCESS))
            assert "bronze_documents" in ended and "silver_documents" not in ended
            assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
            assert instance.event_log_storage.get_concurrency_info("spark").active_run_ids == {
                run.run_id}
    finally:
        if killed.poll() is None or _group_alive(killed.pid):
            kill_group(killed)
    assert table_rows(ws.lake, "bronze/documents")  # bronze committed before the kill

    rerun = ws.start("run", "--crawl", A, *RUN, log_name="rerun")
    assert finish(rerun, RUN_TIMEOUT) == 0, ws.log("rerun")[-5000:]
    said = (f"refinery: run {run.run_id} (pid {killed.pid} on {socket.gethostname()}) died "
            "without finishing; marked failed by refinery")
    assert said in ws.log("rerun")
    with ws.instance() as instance:
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
        [failure] = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
        assert failure.message.startswith(said.removeprefix("refinery: "))
        reruns = instance.get_run_records(filters=RunsFilter(tags={PID_TAG: str(rerun.pid)}))
        assert reruns[0].dagster_run.status == DagsterRunStatus.SUCCESS

    assert delta_tables(ws.lake) == delta_tables(reference.lake)
    assert lake_contents(ws.lake) == lake_contents(reference.lake, A)
    for table in UNIQUE_DOC_TABLES:
        assert duplicate_doc_ids(table_rows(ws.lake, table)) == [], table


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
