"""Runs whose process died: the CLI finds them, marks them failed and frees their pool slots.

The run here is `tests/ops_toy_run.py`: one step in the `spark` pool, executed in its own process
exactly as `refinery run` executes the pipeline, so it can be killed while it holds the slot
without starting Spark (the real pipeline is killed in test_ops_runs.py).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from orchestration.cli import main
from orchestration.recovery import recover_dead_runs
from orchestration.run_process import (
    HOST_TAG, PID_TAG, RunProcess, is_alive, process_from_tags, process_tags, this_process,
)
from tests.ops_helpers import wait_for

REPO = Path(__file__).resolve().parents[1]
CRAWL = "CC-MAIN-2024-22"


@pytest.fixture
def home(monkeypatch, tmp_path) -> Path:
    """A Dagster home with the project's dagster.yaml (the spark pool's limit of 1)."""
    home = tmp_path / "dagster-home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["crawls"]) == 0  # creates the home and copies dagster.yaml, as every command does
    return home


@pytest.fixture
def instance(home):
    with DagsterInstance.get() as instance:
        yield instance


def start_toy_run(home: Path, marker: Path, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    log = open(marker.with_suffix(".log"), "w")
    return subprocess.Popen([sys.executable, "-m", "tests.ops_toy_run", str(marker), str(seconds),
                             CRAWL], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def holding_step(marker: Path, process: subprocess.Popen) -> tuple[int, str]:
    """(pid, run id) once the toy step holds its slot; fails early if the process ended."""
    def ready():
        assert process.poll() is None, marker.with_suffix(".log").read_text()
        return marker.exists() and marker.read_text()
    pid, run_id = wait_for(ready, 180, f"the toy step of {marker.name}").split()
    return int(pid), run_id


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def spark_slot_holders(instance) -> set[str]:
    return instance.event_log_storage.get_concurrency_info("spark").active_run_ids


def run_of_process(instance, pid: int):
    records = instance.get_run_records(filters=RunsFilter(tags={PID_TAG: str(pid)}))
    return records[0].dagster_run if records else None


def messages(instance, run_id: str) -> list[str]:
    return [entry.message or "" for entry in instance.all_logs(run_id)]


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:  # whatever a failing test left running
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def test_this_process_is_alive_and_a_dead_or_recycled_pid_is_not():
    me = this_process()
    assert is_alive(me)
    assert me.identity is not None  # Linux: boot id and start time
    assert not is_alive(RunProcess(me.host, me.pid, "another-boot:1"))  # the pid was reused

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for(lambda: Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] == "Z", 60,
             "the child to exit")
    assert not is_alive(RunProcess(me.host, child.pid, None))  # exited, not yet reaped (zombie)
    child.wait()
    assert not is_alive(RunProcess(me.host, child.pid, None))


def test_run_tags_name_the_process_of_that_run_only():
    tags = process_tags("run-1")
    assert process_from_tags("run-1", tags) == this_process()
    assert process_from_tags("run-2", tags) is None  # tags copied into a re-execution from the UI
    assert process_from_tags("run-1", {}) is None  # a run the UI launched
    assert process_from_tags("run-1", {**tags, PID_TAG: "12x"}) is None


def test_a_killed_run_blocks_the_pool_until_the_cli_marks_it_failed(
        home, instance, tmp_path, processes, capsys):
    dead = start_toy_run(home, tmp_path / "dead", seconds=600)
    processes.append(dead)
    pid, dead_run = holding_step(tmp_path / "dead", dead)
    assert pid == dead.pid
    assert recover_dead_runs(instance).lines() == []  # alive: left alone

    kill(dead)
    assert instance.get_run_by_id(dead_run).status == DagsterRunStatus.STARTED
    assert spark_slot_holders(instance) == {dead_run}

    # The next run waits for the slot the dead run holds, as it would forever.
    waiting = start_toy_run(home, tmp_path / "waiting", seconds=0)
    processes.append(waiting)
    waiting_run = wait_for(lambda: run_of_process(instance, waiting.pid), 180, "the next run")
    wait_for(lambda: any("blocked by limit for pool spark" in m
                         for m in messages(instance, waiting_run.run_id)), 180, "a blocked step")
    assert waiting.poll() is None and not (tmp_path / "waiting").exists()

    assert main(["recover"]) == 0
    said = (f"run {dead_run} (pid {pid} on {socket.gethostname()}) died without finishing; "
            f"marked failed by refinery (pid {os.getpid()}), its pool slots freed")
    assert said in capsys.readouterr().out
    assert instance.get_run_by_id(dead_run).status == DagsterRunStatus.FAILURE
    failure = instance.all_logs(dead_run, of_type=DagsterEventType.RUN_FAILURE)
    assert [event.message for event in failure] == [said]  # what the UI shows for the run

    assert waiting.wait(timeout=180) == 0  # the waiting run got the slot and finished
    assert (tmp_path / "waiting").exists()
    assert instance.get_run_by_id(waiting_run.run_id).status == DagsterRunStatus.SUCCESS
    assert spark_slot_holders(instance) == set()
    assert recover_dead_runs(instance).lines() == []


def test_slots_of_a_failed_run_are_freed_and_runs_of_other_hosts_left_alone(
        home, instance, tmp_path, processes):
    instance.event_log_storage.set_concurrency_slots("spark", 2)  # both dead runs hold one
    dead = start_toy_run(home, tmp_path / "dead", seconds=600)
    processes.append(dead)
    _, failed_run = holding_step(tmp_path / "dead", dead)
    kill(dead)
    # What the UI's code server does when the run worker it launched dies: the run is marked
    # failed, but the slot stays claimed until a daemon frees it.
    instance.report_run_failed(instance.get_run_by_id(failed_run), message="worker died")
    assert spark_slot_holders(instance) == {failed_run}

    elsewhere = start_toy_run(home, tmp_path / "elsewhere", seconds=600)
    processes.append(elsewhere)
    _, remote_run = holding_step(tmp_path / "elsewhere", elsewhere)
    kill(elsewhere)
    instance.add_run_tags(remote_run, {HOST_TAG: "another-host"})

    report = recover_dead_runs(instance)
    assert report.failed == []
    assert report.freed == [f"freed the pool slots still held by run {failed_run} (FAILURE)"]
    assert report.unchecked == [f"run {remote_run} is STARTED on another host (pid "
                                f"{elsewhere.pid} on another-host): not checked from here"]
    assert instance.get_run_by_id(remote_run).status == DagsterRunStatus.STARTED
    assert spark_slot_holders(instance) == {remote_run}
