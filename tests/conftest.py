"""Shared fixtures: one SparkSession for the whole test run, paths to the real Common Crawl samples."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REFINERY_SHARED_DATA", REPO.parent / "shared" / "data"))
COMMONCRAWL = SHARED_DATA / "commoncrawl"

WARC_2020 = COMMONCRAWL / "CC-MAIN-2020-34__resiliparse_warcfile.warc.gz"
WET_REPAIRED = COMMONCRAWL / "CC-MAIN-2016-50__sparkwarc_sample.repaired.warc.wet.gz"
WET_LF_ONLY = COMMONCRAWL / "CC-MAIN-2016-50__sparkwarc_sample.ORIGINAL-LF.warc.wet.gz"
WHIRLWIND_WARC = COMMONCRAWL / "CC-MAIN-2024-22__whirlwind.warc.gz"
WHIRLWIND_WET = COMMONCRAWL / "CC-MAIN-2024-22__whirlwind.warc.wet.gz"


def make_mirror(root: Path, crawl: str, files: list[Path], kind: str = "warc") -> Path:
    """A local mirror in Common Crawl's layout whose files link to the shared fixtures, listed in
    the order given (so `selection: first` takes them in that order)."""
    listing = []
    for i, source in enumerate(files):
        relative = f"crawl-data/{crawl}/segments/0/{kind}/file-{i:05d}-{source.name}"
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source)
        listing.append(relative)
    (root / f"crawl-data/{crawl}/{kind}.paths.gz").write_bytes(
        gzip.compress(("\n".join(listing) + "\n").encode()))
    return root


def pytest_sessionstart(session):
    if not COMMONCRAWL.is_dir():
        raise pytest.UsageError(
            f"the real Common Crawl samples are missing: expected {COMMONCRAWL} "
            "(../shared beside the clone, or REFINERY_SHARED_DATA)"
        )


TEST_SPARK_SETTINGS = dict(master="local[2]", shuffle_partitions=4, driver_memory="2g")


@pytest.fixture(scope="session")
def spark():
    """The one SparkSession of the test run (Delta configured, local[2], 4 shuffle partitions).

    Dagster runs in tests share it: a SparkResource whose settings are unset (or equal to these)
    reuses the running session and does not stop it.
    """
    from spark_jobs.session import SparkSettings, close_session, open_session

    session, created = open_session(SparkSettings(**TEST_SPARK_SETTINGS))
    yield session
    close_session(session, created)


@pytest.fixture
def lake_root(tmp_path) -> str:
    root = tmp_path / "lake"
    root.mkdir()
    return str(root)


@pytest.fixture(scope="session")
def ray_session():
    """The one local Ray instance of the test run (2 CPUs, a small object store, no dashboard).

    Dagster runs in tests share it: a RayResource finds Ray initialized and neither restarts nor
    shuts it down.
    """
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=400 * 1024 * 1024,
                 log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    if started:
        ray.shutdown()
