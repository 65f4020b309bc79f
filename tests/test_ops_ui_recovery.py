"""The UI's path: a run launched through `dagster dev` whose process is killed is marked failed by
the code server that launched it, the daemon's run monitoring (dagster.yaml) frees its pool slot,
and the next queued run starts and succeeds.

The code location is the toy run of tests/ops_toy_run.py (one step in the `spark` pool that writes
its pid and sleeps), so what is tested is the instance settings and Dagster's machinery with the
project's dagster.yaml, without Spark.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from resources.partitions import add_crawls
from tests.ops_helpers import wait_for
from tests.ops_toy_run import TOY_JOB, toy_run_config
from tests.ui_browser import free_port, graphql, stop_process_group

REPO = Path(__file__).resolve().parents[1]
CRAWL = "CC-MAIN-2024-22"
LOADED = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"


def _serving(url: str) -> bool:
    try:
        entries = graphql(url, LOADED)["workspaceOrError"]["locationEntries"]
    except OSError:
        return False
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def _dagster_dev(home: Path, port: int, log: Path) -> subprocess.Popen:
    script = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    with open(log, "w") as out:
        return subprocess.Popen(
            [str(script), "dev", "-h", "127.0.0.1", "-p", str(port), "-f", "tests/ops_toy_run.py"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_killed_ui_run_is_failed_by_dagster_and_its_slot_freed_for_the_next(tmp_path):
    from dagster_graphql import DagsterGraphQLClient

    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        add_crawls(instance, [CRAWL])
    port, log = free_port(), tmp_path / "dagster-dev.log"
    ui = _dagster_dev(home, port, log)
    try:
        wait_for(lambda: ui.poll() is None and _serving(f"http://127.0.0.1:{port}"), 600,
                 f"dagster dev (see {log})", interval=2)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        tags = {"dagster/partition": CRAWL}
        killed_run = client.submit_job_execution(
            TOY_JOB, run_config=toy_run_config(str(tmp_path / "killed"), 600), tags=tags)
        pid = int(wait_for(lambda: (tmp_path / "killed").exists() and
                           (tmp_path / "killed").read_text(), 300, "the run's step").split()[0])
        assert pid != ui.pid
        os.kill(pid, signal.SIGKILL)  # the run's process, while its step holds the spark slot

        next_run = client.submit_job_execution(TOY_JOB, run_config=toy_run_config(), tags=tags)
        wait_for(lambda: client.get_run_status(killed_run) == DagsterRunStatus.FAILURE, 120,
                 "the killed run to be marked failed", interval=1)
        # Queued behind the slot the dead run held until run monitoring freed it.
        finished = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)
        status = wait_for(lambda: (s := client.get_run_status(next_run)) in finished and s, 600,
                          "the next run", interval=2)
        assert status == DagsterRunStatus.SUCCESS
    finally:
        stop_process_group(ui, marker=f"DAGSTER_HOME={home}")

    with DagsterInstance.from_config(str(home)) as instance:
        said = [e.message for e in
                instance.all_logs(killed_run, of_type=DagsterEventType.ENGINE_EVENT)]
        # The code server's message, "[DagsterApiServer] Run execution ... (SIGKILL). This
        # usually indicates ..." (a guess at memory, the usual killer).
        crash = f"Run execution process for {killed_run} was terminated by signal 9 (SIGKILL)."
        assert any(crash in message for message in said), said
        assert instance.event_log_storage.get_concurrency_info("spark").active_run_ids == set()
