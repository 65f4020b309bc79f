"""A Ray worker killed in the middle of a stage (issue 12): the `quality_scores` scoring actor's
OS process gets SIGKILL while it holds a batch.

The scorer is FastTextScorer with one addition: at the start of each batch it writes a marker file
named after its process id, and while no kill has happened yet it waits there (at most five minutes),
so the test kills it in the middle of the batch, provably during the stage. The class is defined
inside a function, so Ray (cloudpickle) ships it by value with the marker directory in it.

What happens (gpu_jobs.cluster.RESTARTS): Ray restarts the dead actor in a new process and retries
the batch on it; an actor commits nothing (the driver commits once, after every batch), so the
stage completes with every document scored once and the scores an unkilled scorer gives. The
proof that the kill fell inside a batch: the killed process's batch marker exists, its batch was
then started again by another process, and the stage waited for the kill.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from contract.tables import SCORES_PRESELECT, table_uri
from gpu_jobs import delta_io
from gpu_jobs.preselect.scoring import FastTextScorer, ScoringConfig, run_quality_scores
from tests.ops_helpers import wait_for
from tests.test_preselect_stage import CRAWL, _documents, _write_documents, classifier  # noqa: F401

CONFIG = dict(batch_size=8, max_actors=1)  # one actor, several batches
HOLD_SECONDS = 300.0  # how long a marked batch waits to be killed before it goes on anyway


def marked_scorer(markers: Path, kills_expected: int):
    """A FastTextScorer that says which process starts each batch and waits to be killed
    until `kills_expected` kills were recorded (files `killed-<pid>` in `markers`)."""
    directory = str(markers)

    class MarkedScorer(FastTextScorer):
        def __call__(self, batch: pa.Table) -> pa.Table:
            pid = os.getpid()
            Path(directory, f"batch-{pid}-{time.monotonic_ns()}").write_text(
                "\n".join(batch.column("doc_id").to_pylist()))
            deadline = time.monotonic() + HOLD_SECONDS
            while (len(list(Path(directory).glob("killed-*"))) < kills_expected
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            return super().__call__(batch)

    return MarkedScorer


def kill_batches(markers: Path, kills: int, errors: list) -> None:
    """SIGKILL the process of each new batch marker, `kills` times; record each kill."""
    try:
        killed: set[int] = set()
        for _ in range(kills):
            pid = wait_for(lambda: next((p for p in _batch_pids(markers) if p not in killed), None),
                           900, "a scoring actor to start a batch")
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
            wait_for(lambda: not _alive(pid), 60, f"actor process {pid} to die")
            (markers / f"killed-{pid}").write_text("")
    except BaseException as exc:  # seen by the test, not lost in the thread
        errors.append(exc)


def _batch_pids(markers: Path) -> list[int]:
    return sorted({int(p.name.split("-")[1]) for p in markers.glob("batch-*")})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _scores(lake: str) -> pa.Table:
    return delta_io.read_partition_table(table_uri(lake, SCORES_PRESELECT), CRAWL).sort_by("doc_id")


def _scored_with_kills(lake: str, model: str, markers: Path, kills: int, kills_expected: int):
    markers.mkdir()
    errors: list = []
    killer = threading.Thread(target=kill_batches, args=(markers, kills, errors), daemon=True)
    killer.start()
    try:
        return run_quality_scores(lake, CRAWL, ScoringConfig(model, **CONFIG), log=lambda _: None,
                                  scorer=marked_scorer(markers, kills_expected))
    finally:
        killer.join(timeout=1200)
        assert not errors, errors


@pytest.mark.timeout(1800)  # actors start in minutes on a loaded 2-core machine
def test_a_killed_scoring_actor_is_restarted_and_the_stage_ends_as_an_unkilled_run(
        ray_session, tmp_path, classifier):  # noqa: F811
    lake = str(tmp_path / "lake")
    documents = _documents(40)
    _write_documents(ray_session, lake, documents)

    markers = tmp_path / "markers"
    result = _scored_with_kills(lake, classifier, markers, kills=1, kills_expected=1)
    [killed] = [int(p.name.removeprefix("killed-")) for p in markers.glob("killed-*")]
    pids = _batch_pids(markers)
    assert killed in pids and len(pids) == 2  # the batch was retried in a new actor process
    killed_batch = [p.read_text() for p in markers.glob(f"batch-{killed}-*")]
    retried = [p.read_text() for p in markers.glob("batch-*") if not p.name.startswith(f"batch-{killed}-")]
    assert len(killed_batch) == 1 and killed_batch[0] in retried

    # The scores an unkilled scorer gives, in this process; every document once.
    expected = FastTextScorer(classifier, "__label__1")(documents.select(["doc_id", "text"]))
    scores = _scores(lake)
    assert scores.column("doc_id").to_pylist() == sorted(documents.column("doc_id").to_pylist())
    want = expected.sort_by("doc_id").column("score").to_pylist()
    assert scores.column("score").to_pylist() == pytest.approx(want, rel=1e-6, nan_ok=True)
    assert result.rows_written == documents.num_rows
