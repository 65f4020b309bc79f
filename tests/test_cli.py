"""The `refinery` CLI: setup, add-crawl, crawls and run, in this process (sharing the test session)."""
from __future__ import annotations

from pathlib import Path

import pytest

from contract.tables import BRONZE_DOCUMENTS, DEDUP_DOCUMENTS, table_uri
from orchestration.cli import main
from tests.conftest import WET_REPAIRED, make_mirror

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """A Dagster home, lake and crawl source of the test's own; no cluster settings."""
    for name in ("SPARK_MASTER", "SPARK_REMOTE", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    env = {"DAGSTER_HOME": tmp_path / "dagster-home", "REFINERY_LAKE_ROOT": tmp_path / "lake",
           "REFINERY_CC_BASE": tmp_path / "mirror", "REFINERY_SAMPLE_DIR": tmp_path / "sample"}
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    return env


def test_setup_fetches_the_jars_and_creates_the_dagster_home(cli_env, capsys):
    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    jars = [Path(line.split(": ", 1)[1]) for line in out.splitlines() if line.startswith("delta jar: ")]
    assert len(jars) == 2 and all(jar.is_file() for jar in jars)
    home = cli_env["DAGSTER_HOME"]
    assert f"dagster home: {home}" in out
    assert (home / "dagster.yaml").read_bytes() == (REPO / "dagster.yaml").read_bytes()


def test_add_crawl_validates_every_id_and_crawls_lists_them(cli_env, capsys):
    assert main(["add-crawl", "CC-MAIN-2024-33", "CC-MAIN-2023-50"]) == 0
    # Registered oldest first: the UI lists and backfills dynamic partitions in that order.
    assert "added 2 crawl(s): CC-MAIN-2023-50, CC-MAIN-2024-33" in capsys.readouterr().out
    assert main(["add-crawl", "CC-MAIN-2024-33"]) == 0
    assert "added 0 crawl(s): -" in capsys.readouterr().out

    assert main(["add-crawl", "CC-MAIN-2025-05", "CC-MAIN-24-33"]) == 2
    captured = capsys.readouterr()
    assert "refinery: 'CC-MAIN-24-33' is not a crawl id" in captured.err
    assert main(["crawls"]) == 0
    assert capsys.readouterr().out.split() == ["CC-MAIN-2023-50", "CC-MAIN-2024-33"]  # nothing added


def test_run_materializes_a_small_mirror_and_prints_a_summary(spark, cli_env, capsys):
    crawl = "CC-MAIN-2016-50"
    make_mirror(cli_env["REFINERY_CC_BASE"], crawl, [WET_REPAIRED])
    code = main(["run", "--crawl", crawl, "--selection", "first", "--files", "1",
                 "--until", "dedup_documents"])  # the Ray stages: test_pipeline_sample, test_scale_out
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"materializing {crawl}")
    summary = {line.split(":")[0].strip(): line for line in lines if line.startswith("  ")}
    assert "'selected': 1" in summary["warc_manifest"]
    assert "'documents': 68" in summary["bronze_documents"]
    assert "'documents_in': 68" in summary["silver_documents"]
    assert "dedup_documents" in summary
    for check in ("bronze_counts_match_manifest", "silver_counts_balance", "dedup_counts_balance"):
        assert f"  check {check}: passed" in lines
    assert " succeeded in " in lines[-1]
    # The lake is where REFINERY_LAKE_ROOT says, the run is in the Dagster home, and the test's
    # session was shared, not stopped.
    lake = str(cli_env["REFINERY_LAKE_ROOT"])
    assert spark.read.format("delta").load(table_uri(lake, BRONZE_DOCUMENTS)).count() == 68
    assert spark.read.format("delta").load(table_uri(lake, DEDUP_DOCUMENTS)).count() > 0
    assert main(["crawls"]) == 0 and capsys.readouterr().out.split() == [crawl]


def test_run_exit_codes_for_a_failed_run_and_a_bad_crawl_id(spark, cli_env, tmp_path, capsys):
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    make_mirror(cli_env["REFINERY_CC_BASE"], "CC-MAIN-2020-34", [empty])
    assert main(["run", "--crawl", "CC-MAIN-2020-34", "--selection", "all"]) == 1
    out = capsys.readouterr().out
    assert " FAILED in " in out.splitlines()[-1]
    assert "  failed bronze_documents: 1 of 1 files failed (100% > 10%); see bronze/errors" in out
    assert "silver_documents" not in out  # nothing after the failed bronze step

    assert main(["run", "--crawl", "2020-34"]) == 2
    assert "is not a crawl id" in capsys.readouterr().err


def test_until_selects_an_asset_and_its_upstream_and_refuses_an_unknown_one():
    from orchestration.crawl_runs import assets_until
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    assert [key.to_user_string() for key in assets_until(defs, "silver_documents")] == [
        "bronze_documents", "silver_documents", "warc_manifest"]
    with pytest.raises(ValueError, match="--until silver: not an asset of crawl_pipeline; one of "
                                         "bronze_documents, "):
        assets_until(defs, "silver")


def test_skip_leaves_out_exactly_the_named_assets():
    from orchestration.crawl_runs import assets_selected
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    assert assets_selected(defs) is None
    every = {key.to_user_string() for key in defs.resolve_job_def("crawl_pipeline").asset_layer.executable_asset_keys}
    skipped = {key.to_user_string() for key in assets_selected(defs, skip=["preselect_model", "quality_scores"])}
    assert skipped == every - {"preselect_model", "quality_scores"} and "training_shards" in skipped
    both = assets_selected(defs, until="silver_documents", skip=["warc_manifest"])
    assert [key.to_user_string() for key in both] == ["bronze_documents", "silver_documents"]
    with pytest.raises(ValueError, match="--skip scores: not an asset"):
        assets_selected(defs, skip=["scores"])
    with pytest.raises(ValueError, match="leaves no asset"):
        assets_selected(defs, until="warc_manifest", skip=["warc_manifest"])


def test_commands_started_together_on_a_new_home_all_work(tmp_path):
    """Commands started at once on a new Dagster home (two `refinery run`s, in the concurrency
    test) each create its sqlite tables: without the CLI's lock all but one failed with "table
    runs already exists"."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster-home"), "PYTHONPATH": str(REPO)}
    commands = [subprocess.Popen([sys.executable, "-m", "orchestration.cli", "crawls"], cwd=REPO,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                for _ in range(4)]
    outputs = [command.communicate(timeout=600)[0].decode() for command in commands]
    assert [command.returncode for command in commands] == [0] * 4, outputs
