"""The Dagster UI as a person uses it, in a real browser (Debian's Chromium driven by Playwright).

The UI is started as `make ui` starts it (`dagster dev -w workspace.yaml`, the project's
dagster.yaml in DAGSTER_HOME) with a temporary instance, lake and sample crawl, and with this
checkout's code on PYTHONPATH. The embedded default crawl is registered as the CLI does
(`refinery add-crawl CC-MAIN-SAMPLE`). The browser then: sees every asset of the Definitions in the
asset graph and the crawl partition; launches the crawl pipeline on that partition by clicking
through the "Materialize all" dialog; waits for the run to succeed; and reads silver_documents'
funnel from its latest materialization, which must agree with the Delta tables.

Screenshots of every step go to test-artifacts/ui/ (gitignored), with the `dagster dev` log; a
failed step names its screenshot. Whether the run has ended is polled through the GraphQL API (the
run page is looked at and screenshotted, not parsed); the launch itself is a click.
"""
from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from contract.tables import BRONZE_DOCUMENTS, SAMPLE_CRAWL_ID, SILVER_DOCUMENTS, table_uri
from tests.ui_browser import (
    ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, TERMINAL_RUN_STATUSES, VIEWPORT, Screenshots, UiPaths,
    dagster_ui, delta_row_count, expand_asset_groups, markdown_table_rows, metadata_value,
    processes_with_env, refinery_cli, require_browser, run_failure_summary, run_status, run_tags,
    visible_text,
)

# Generous but bounded: the sample crawl takes 1-2 minutes on an idle 2-core machine; other work on
# the machine can make it many times slower.
START_TIMEOUT = float(os.environ.get("REFINERY_UI_START_TIMEOUT", 600))
RUN_TIMEOUT = float(os.environ.get("REFINERY_UI_RUN_TIMEOUT", 2400))
PAGE_TIMEOUT_MS = 120_000
JOB = "crawl_pipeline"
LOCATION = "orchestration.definitions"  # workspace.yaml's python_module names the code location

pytestmark = pytest.mark.timeout(int(START_TIMEOUT + RUN_TIMEOUT + 900))


@pytest.fixture(scope="module")
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def ui(tmp_path_factory, artifacts):
    """The UI as `make ui` serves it, with the embedded default crawl registered first."""
    require_browser()
    paths = UiPaths.under(tmp_path_factory.mktemp("ui"))
    refinery_cli(paths, "setup")
    refinery_cli(paths, "add-crawl", SAMPLE_CRAWL_ID)
    with dagster_ui(paths, artifacts / "dagster-dev.log", START_TIMEOUT) as url:
        yield url, paths
    left = processes_with_env(paths.env_marker)
    assert not left, f"processes of the UI still running after it was stopped: {left}"


@pytest.fixture(scope="module")
def page(ui):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            yield context.new_page()
        finally:
            browser.close()


@pytest.fixture(scope="module")
def shots(artifacts):
    return Screenshots(artifacts)


def defined_asset_names() -> list[str]:
    from orchestration.definitions import defs

    return sorted(key.to_user_string() for key in defs.resolve_all_asset_keys())


def test_asset_graph_shows_every_asset_and_the_crawl_partition(ui, page, shots):
    url, _ = ui
    names = defined_asset_names()
    first_stages = {"warc_manifest", "bronze_documents", "silver_documents", "dedup_documents"}
    assert first_stages <= set(names)

    with shots.step(page, "asset graph"):
        page.goto(f"{url}/asset-groups")
        visible_text(page, "Global asset lineage").wait_for()
        expand_asset_groups(page, names)
        for name in names:
            visible_text(page, name).wait_for()

    with shots.step(page, "crawl partitions"):
        page.goto(f"{url}/assets/warc_manifest?view=partitions")
        visible_text(page, SAMPLE_CRAWL_ID).wait_for()


def launch_from_job_page(page, url: str, shots: Screenshots) -> str:
    """Click "Materialize all" on the job's page, pick the crawl, "Launch 1 run", open the run from
    the toast; returns the run id from the run page's address."""
    with shots.step(page, "job page"):
        page.goto(f"{url}/locations/{LOCATION}/jobs/{JOB}")
        page.get_by_role("button", name="Materialize all").click()
    dialog = page.locator(".bp5-dialog")
    with shots.step(page, "partition picked"):
        dialog.get_by_text("Select a partition or create one").click()
        visible_text(page, SAMPLE_CRAWL_ID).click()
        dialog.get_by_text("Launch runs to materialize").click()  # closes the partition menu
        dialog.get_by_text("1 partition", exact=True).wait_for()
    notifications = page.get_by_label(re.compile(r"^Notifications"))
    with shots.step(page, "run launched"):
        dialog.get_by_role("button", name="Launch 1 run").click()
        toast = notifications.get_by_text(re.compile(r"Launched run [0-9a-f]{8}")).first
        short_id = re.search(r"Launched run ([0-9a-f]{8})", toast.inner_text()).group(1)
    with shots.step(page, "run page"):
        notifications.get_by_role("link", name="View", exact=True).click()
        page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
        run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
        assert run_id.startswith(short_id), (run_id, short_id)
    return run_id


def wait_for_run(page, url: str, run_id: str, shots: Screenshots) -> str:
    """Poll the run's status until it ends (bounded); screenshot the run page now and then."""
    deadline = time.monotonic() + RUN_TIMEOUT
    next_shot = time.monotonic() + 120
    status = run_status(url, run_id)
    while status not in TERMINAL_RUN_STATUSES and time.monotonic() < deadline:
        time.sleep(5)
        status = run_status(url, run_id)
        if time.monotonic() > next_shot:
            shots.take(page, f"run {status.lower()}")
            next_shot += 300
    return status


def read_silver_funnel(page, url: str, run_id: str,
                       shots: Screenshots) -> tuple[int, list[list[str]]]:
    """Open silver_documents, its Events tab (the latest materialization is selected), and read
    the `kept` entry and the funnel table."""
    with shots.step(page, "silver documents latest materialization"):
        page.goto(f"{url}/assets/silver_documents")
        page.get_by_role("tab", name="Events").click()
        page.get_by_text(f"Partition {SAMPLE_CRAWL_ID} materialized in run {run_id[:8]}").wait_for()
        funnel = metadata_value(page, "funnel")
        funnel.scroll_into_view_if_needed()
        kept = int(metadata_value(page, "kept").inner_text().replace(",", ""))
        rows = markdown_table_rows(funnel)
        assert rows, "the funnel metadata shows no table"
    return kept, rows


def test_materialize_the_embedded_default_from_the_ui(ui, page, shots):
    url, paths = ui
    run_id = launch_from_job_page(page, url, shots)
    tags = run_tags(url, run_id)
    assert tags.get("dagster/from_ui") == "true", tags
    assert tags.get("dagster/partition") == SAMPLE_CRAWL_ID, tags

    status = wait_for_run(page, url, run_id, shots)
    if status != "SUCCESS":
        shots.take(page, f"run {status.lower()}")
        pytest.fail(f"run {run_id} ended {status} (or timed out after {RUN_TIMEOUT:.0f}s):\n"
                    f"{run_failure_summary(url, run_id)}\nlast screenshot: {shots.last}")
    with shots.step(page, "run succeeded"):
        page.reload()
        visible_text(page, "Success").wait_for()

    kept, funnel = read_silver_funnel(page, url, run_id, shots)
    lake = str(paths.lake_root)
    silver_rows = delta_row_count(table_uri(lake, SILVER_DOCUMENTS), SAMPLE_CRAWL_ID)
    bronze_rows = delta_row_count(table_uri(lake, BRONZE_DOCUMENTS), SAMPLE_CRAWL_ID)
    assert silver_rows > 0
    assert kept == silver_rows
    steps = [row[0] for row in funnel]
    dropped = [int(row[1].replace(",", "") or 0) for row in funnel]
    remaining = [int(row[2].replace(",", "")) for row in funnel]
    assert steps[0] == "(bronze)" and remaining[0] == bronze_rows, funnel
    assert remaining[-1] == silver_rows, funnel
    assert all(remaining[i] == remaining[i - 1] - dropped[i] for i in range(1, len(funnel))), funnel
