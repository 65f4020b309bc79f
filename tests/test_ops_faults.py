"""Bad input and faults: a crawl id that does not exist, a crawl whose listing is missing, an
unreachable crawl source. Each gives a clear message and exit code 1 from `refinery run`, a failed
run in the instance with the same message (what the UI shows), and leaves every Delta table as
it was: same version, same rows. The CLI runs in this process and shares the test's Spark session.
"""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from core.io.remote import RetryPolicy
from orchestration.cli import main
from tests.conftest import WHIRLWIND_WARC, WHIRLWIND_WET, make_mirror
from tests.ops_helpers import lake_contents, step_failures, table_versions

GOOD = "CC-MAIN-2024-22"


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in ("SPARK_MASTER", "SPARK_REMOTE", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    paths = {"DAGSTER_HOME": tmp_path / "dagster-home", "REFINERY_LAKE_ROOT": tmp_path / "lake",
             "REFINERY_CC_BASE": tmp_path / "mirror", "REFINERY_SAMPLE_DIR": tmp_path / "sample"}
    for name, value in paths.items():
        monkeypatch.setenv(name, str(value))
    return paths


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def last_run(crawl: str):
    instance = DagsterInstance.get()
    records = instance.get_run_records(limit=1)
    run = records[0].dagster_run
    assert run.tags["dagster/partition"] == crawl
    return instance, run


def run_fails_clearly(capsys, crawl: str, expected: str, *extra: str) -> str:
    """`refinery run` exits 1 and prints the reason; the failed run in the instance says it too."""
    assert main(["run", "--crawl", crawl, "--selection", "first", "--files", "1", *extra]) == 1
    out = capsys.readouterr().out
    assert f"  failed warc_manifest: {expected}" in out, out
    assert f"({crawl}) FAILED in " in out.splitlines()[-1]
    instance, run = last_run(crawl)
    assert run.status == DagsterRunStatus.FAILURE
    [(step, reason)] = step_failures(instance, run.run_id)
    assert step == "warc_manifest" and reason.startswith(expected), reason
    return out


@pytest.mark.timeout(1800)  # four runs in this process, on a loaded machine
def test_faults_give_clear_errors_and_leave_every_table_as_it_was(
        spark, env, capsys, monkeypatch):
    mirror: Path = env["REFINERY_CC_BASE"]
    make_mirror(mirror, GOOD, [WHIRLWIND_WARC])
    make_mirror(mirror, "CC-MAIN-2024-26", [WHIRLWIND_WET], kind="wet")  # no warc listing
    assert main(["run", "--crawl", GOOD, "--selection", "first", "--files", "1",
                 "--until", "dedup_documents"]) == 0
    capsys.readouterr()
    lake = env["REFINERY_LAKE_ROOT"]
    versions, contents = table_versions(lake), lake_contents(lake)
    assert len(versions) >= 9 and contents["bronze/documents"]

    # A well-formed crawl id that does not exist: no listing, and it is not kept as a partition.
    out = run_fails_clearly(capsys, "CC-MAIN-2031-01", "FileNotFoundError: no warc listing for "
                            f"CC-MAIN-2031-01 at {mirror}/crawl-data/CC-MAIN-2031-01/warc.paths.gz")
    assert "CC-MAIN-2031-01 was registered for this run and nothing of it was materialized: " \
           "unregistered again" in out
    assert main(["crawls"]) == 0 and capsys.readouterr().out.split() == [GOOD]

    # A registered crawl whose listing of that kind is missing at the source: it stays registered.
    assert main(["add-crawl", "CC-MAIN-2024-26"]) == 0
    capsys.readouterr()
    run_fails_clearly(capsys, "CC-MAIN-2024-26", "FileNotFoundError: no warc listing for "
                      "CC-MAIN-2024-26 at ")
    assert main(["crawls"]) == 0
    assert capsys.readouterr().out.split() == [GOOD, "CC-MAIN-2024-26"]

    # An unreachable source (a closed port): retried, then a clear error. No backoff sleeps here,
    # the retries themselves are core.io.remote's and tested there.
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt: 0.0)
    base = f"http://127.0.0.1:{closed_port()}/"
    monkeypatch.setenv("REFINERY_CC_BASE", base)
    run_fails_clearly(capsys, GOOD, f"OSError: {base}crawl-data/{GOOD}/warc.paths.gz: gave up "
                      "after 8 attempts: <urlopen error [Errno 111] Connection refused>")

    assert table_versions(lake) == versions  # not one commit
    assert lake_contents(lake) == contents
    assert main(["crawls"]) == 0
    assert capsys.readouterr().out.split() == [GOOD, "CC-MAIN-2024-26"]


def test_bad_crawl_ids_are_refused_before_anything_runs(env, capsys):
    assert main(["run", "--crawl", "2024-33"]) == 2
    assert "refinery: '2024-33' is not a crawl id" in capsys.readouterr().err
    assert main(["backfill", "CC-MAIN-2024-33", "CC-MAIN-24-33"]) == 2
    assert "refinery: 'CC-MAIN-24-33' is not a crawl id" in capsys.readouterr().err
    assert main(["crawls"]) == 0 and capsys.readouterr().out.split() == []
    assert DagsterInstance.get().get_run_records() == []
