"""Helpers of the browser test: the Dagster UI started as `make ui` starts it, Debian's Chromium
driven by Playwright, screenshots kept as artifacts, and the GraphQL status of a run.

The browser is the system one (`/usr/bin/chromium`, Debian's `chromium` package, installed by
`make browser`): Playwright's own browser download needs a host this machine cannot reach.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("REFINERY_TEST_ARTIFACTS", REPO / "test-artifacts")) / "ui"
CHROMIUM = os.environ.get("REFINERY_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's services, which the
# closed network refuses; --no-sandbox because tests run as root. Playwright adds --headless and a
# fresh, empty --user-data-dir of its own to every launch.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}


def require_browser() -> None:
    """Fail (never skip) with what to do when the browser or its driver is missing."""
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: run `make browser` (it installs "
                           "Debian's `chromium` package) or set REFINERY_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("the Python package `playwright` is missing from the venv: it is a test "
                           "dependency in requirements.lock; run `make setup`") from exc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class UiPaths:
    """Where one UI test keeps its Dagster instance, lake and sample crawl (all temporary)."""

    dagster_home: Path
    lake_root: Path
    sample_dir: Path

    @classmethod
    def under(cls, root: Path) -> "UiPaths":
        paths = cls(root / "dagster-home", root / "lake", root / "sample-crawl")
        for path in (paths.dagster_home, paths.lake_root, paths.sample_dir):
            path.mkdir(parents=True, exist_ok=True)
        return paths

    @property
    def env_marker(self) -> str:
        """The environment entry that only the processes of this UI carry."""
        return f"DAGSTER_HOME={self.dagster_home}"

    def env(self) -> dict[str, str]:
        """The environment of `make ui`, pointed at these paths, loading this checkout's code."""
        env = dict(os.environ)
        env.update(DAGSTER_HOME=str(self.dagster_home), REFINERY_LAKE_ROOT=str(self.lake_root),
                   REFINERY_SAMPLE_DIR=str(self.sample_dir))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        return env


def refinery_cli(paths: UiPaths, *args: str, timeout: float = 300) -> str:
    """Run the `refinery` CLI of this checkout (what `make ui` and `refinery add-crawl` run)."""
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=REPO,
                          env=paths.env(), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"refinery {' '.join(args)} exited {done.returncode}:\n"
                           f"{done.stdout}\n{done.stderr}")
    return done.stdout


def dagster_command(port: int) -> list[str]:
    """`make ui`'s command line, on another port."""
    script = Path(sys.executable).with_name("dagster")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "dagster"]
    return [*program, "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=10) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _code_location_loaded(url: str) -> bool:
    """True once the workspace's code location is loaded; raises if it failed to load."""
    data = graphql(url, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                        "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
    entries = data["workspaceOrError"].get("locationEntries", [])
    for entry in entries:
        error = entry["locationOrLoadError"] or {}
        if error.get("__typename") == "PythonError":
            raise RuntimeError(f"code location {entry['name']} failed to load: {error['message']}")
    return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"]
                                 for e in entries)


def processes_with_env(marker: str) -> list[int]:
    """Ids of this machine's processes whose environment holds `marker` (our temp DAGSTER_HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() + b"\0" in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop_process_group(process: subprocess.Popen, marker: str, grace: float = 20) -> None:
    """Stop `dagster dev` and everything it started: its process group, then any process that left
    the group but still carries our unique DAGSTER_HOME in its environment (a JVM, a Ray worker)."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=grace)
    deadline = time.monotonic() + grace
    while (left := processes_with_env(marker)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)


@contextmanager
def dagster_ui(paths: UiPaths, log_path: Path, start_timeout: float):
    """`dagster dev` on a free port, as `make ui` starts it; yields its URL; always stopped."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        process = subprocess.Popen(dagster_command(port), cwd=REPO, env=paths.env(), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + start_timeout
        while not (_answers(url) and _code_location_loaded(url)):
            if process.poll() is not None:
                raise RuntimeError(f"dagster dev exited {process.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"dagster dev did not serve {url} with the code location loaded "
                                   f"within {start_timeout:.0f}s; see {log_path}")
            time.sleep(2)
        yield url
    finally:
        stop_process_group(process, marker=paths.env_marker)


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    """One query to the webserver's GraphQL endpoint; raises on GraphQL errors."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.loads(response.read())
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


RUN_QUERY = """query ($runId: ID!) { runOrError(runId: $runId) {
  __typename ... on Run { status tags { key value } } } }"""
FAILURES_QUERY = """query ($runId: ID!) { logsForRun(runId: $runId, limit: 2000) {
  ... on EventConnection { events { __typename
    ... on ExecutionStepFailureEvent { stepKey error { message } }
    ... on RunFailureEvent { message } } } } }"""


def run_status(url: str, run_id: str) -> str:
    run = graphql(url, RUN_QUERY, {"runId": run_id})["runOrError"]
    if run["__typename"] != "Run":
        raise RuntimeError(f"run {run_id}: {run['__typename']}")
    return run["status"]


def run_tags(url: str, run_id: str) -> dict[str, str]:
    run = graphql(url, RUN_QUERY, {"runId": run_id})["runOrError"]
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def run_failure_summary(url: str, run_id: str) -> str:
    """The step failures of a run, for a failure message."""
    events = graphql(url, FAILURES_QUERY, {"runId": run_id})["logsForRun"].get("events", [])
    lines = [f"{e['stepKey']}: {e['error']['message'].strip()[:2000]}"
             for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
    lines += [e["message"] for e in events if e["__typename"] == "RunFailureEvent"]
    return "\n".join(lines) or "(no failure events)"


class Screenshots:
    """Numbered full-page screenshots in the artifact directory, the last one remembered."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0
        self.last: Path | None = None

    def take(self, page, name: str) -> Path:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.directory / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        self.last = path
        return path

    @contextmanager
    def step(self, page, name: str):
        """A step of the walk-through: a screenshot at its end, and on failure one of the page as
        it was, named in the error."""
        try:
            yield
        except Exception as exc:
            try:
                shot = self.take(page, f"{name} FAILED")
            except Exception as shot_error:  # the browser itself may be gone
                shot = f"(no screenshot: {shot_error})"
            raise AssertionError(
                f"UI step {name!r} failed: {exc}\nlast screenshot: {shot}") from exc
        self.take(page, name)


def visible_text(page, text: str):
    """A visible element whose text is exactly `text` (the UI keeps hidden measuring copies too)."""
    return page.get_by_text(text, exact=True).filter(visible=True).first


def expand_asset_groups(page, asset_names: list[str], max_groups: int = 50) -> None:
    """Open every collapsed group of the asset graph, as a person clicks each group's unfold icon,
    then reload so that the graph is laid out and zoomed to fit with all groups open."""
    unfold = page.locator("[aria-label=unfold_more]").filter(visible=True)
    unfold.or_(visible_text(page, asset_names[0])).first.wait_for()  # the graph is drawn
    for _ in range(max_groups):
        if unfold.count() == 0:
            break
        unfold.first.click()
        page.wait_for_timeout(500)
    page.reload()


def metadata_value(page, key: str):
    """The value cell of the metadata row `key` of the materialization shown on the page."""
    return page.locator(f"xpath=//tr[td[1][normalize-space(.)='{key}']]/td[2]").first


def markdown_table_rows(cell) -> list[list[str]]:
    """The body rows of the markdown table rendered in a metadata cell, as cell texts."""
    return [[text.strip() for text in row.locator("td").all_inner_texts()]
            for row in cell.locator("table tbody tr").all()]


def delta_row_count(uri: str, crawl_id: str) -> int:
    """Rows of one crawl in a Delta table, read with delta-rs (no Spark)."""
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    return DeltaTable(uri).to_pyarrow_dataset().count_rows(filter=ds.field("snapshot") == crawl_id)
