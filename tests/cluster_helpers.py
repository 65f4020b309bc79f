"""Real engine clusters on loopback for the scale-out test: a Spark standalone master and worker,
and a Ray head node, each in its own process group, started and stopped by the test.

pip's pyspark ships `bin/spark-class` but not `sbin/start-master.sh`, so the master and worker run
as `spark-class org.apache.spark.deploy.{master.Master,worker.Worker}` subprocesses. The Ray head is
`ray start --head --block`: stopping that process stops its node. `ray stop` is not used, because it
stops every Ray process of the machine by name (another test's, another user's), not only ours.
Teardown stops exactly the processes these helpers started and their descendants.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 120.0  # seconds for a JVM or a Ray node to come up on a loaded 2-core machine


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def spark_class() -> Path:
    """pyspark's `bin/spark-class` (pip's pyspark has no sbin/ scripts)."""
    import pyspark

    path = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not path.exists():
        raise FileNotFoundError(f"pyspark has no {path}: cannot start a standalone Spark cluster")
    return path


def engine_env(**extra: str) -> dict[str, str]:
    """The environment of a cluster process: this repo importable, no cluster of the caller's."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARK_MASTER", "SPARK_REMOTE", "RAY_ADDRESS", "PYSPARK_SUBMIT_ARGS")}
    env.update(PYTHONPATH=str(REPO), SPARK_LOCAL_IP=LOOPBACK, PYSPARK_PYTHON=sys.executable)
    env.update(extra)
    return env


@dataclass
class Daemon:
    """A process we started in its own session (so its process group is ours alone)."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                               f"{self.log()[-4000:]}")

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the group, wait, SIGKILL the group and every descendant that is left."""
        try:
            descendants = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(self.process.pid, signal.SIGKILL)
        for child in descendants:  # a child that left the group (setsid) is still ours
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(descendants, timeout=10)
        self.process.wait(timeout=30)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def start_daemon(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> Daemon:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    return Daemon(name, process, log_path)


def wait_until(predicate, daemons: list[Daemon], what: str, timeout: float = START_TIMEOUT):
    """Poll `predicate` until truthy; fail at once when a daemon dies, or after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for daemon in daemons:
            daemon.check_alive()
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    logs = "\n".join(f"--- {d.name}\n{d.log()[-3000:]}" for d in daemons)
    raise TimeoutError(f"waited {timeout:.0f}s for {what}\n{logs}")


@dataclass
class SparkStandalone:
    """A Spark standalone master and one worker (1 core, 2g) on loopback."""

    root: Path
    worker_cores: int = 1
    worker_memory: str = "2g"
    daemons: list[Daemon] = field(default_factory=list)
    port: int = 0
    webui_port: int = 0

    @property
    def master_url(self) -> str:
        return f"spark://{LOOPBACK}:{self.port}"

    def status(self) -> dict | None:
        """The master's JSON status page (workers, applications); None while it cannot answer."""
        url = f"http://{LOOPBACK}:{self.webui_port}/json/"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except (OSError, ValueError):  # not listening yet, slow to answer, half-written page
            return None

    def alive_workers(self) -> list[dict]:
        status = self.status() or {}
        return [w for w in status.get("workers", []) if w.get("state") == "ALIVE"]

    def start(self) -> "SparkStandalone":
        self.port, self.webui_port = free_port(), free_port()
        env = engine_env(SPARK_LOG_DIR=str(self.root / "logs"), SPARK_WORKER_DIR=str(self.root / "work"),
                         # the master's REST submission server would take the fixed port 6066
                         SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false")
        java = [str(spark_class())]
        self.daemons.append(start_daemon("spark-master", java + [
            "org.apache.spark.deploy.master.Master", "--host", LOOPBACK, "--port", str(self.port),
            "--webui-port", str(self.webui_port)], env, self.root))
        wait_until(self.status, self.daemons, "the Spark master's status page")
        self.daemons.append(start_daemon("spark-worker", java + [
            "org.apache.spark.deploy.worker.Worker", self.master_url, "--host", LOOPBACK,
            "--port", str(free_port()), "--webui-port", str(free_port()),
            "--cores", str(self.worker_cores), "--memory", self.worker_memory,
            "--work-dir", str(self.root / "work")], env, self.root))
        wait_until(self.alive_workers, self.daemons, "a worker registered with the Spark master")
        return self

    def stop(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()
        self.daemons.clear()


@dataclass
class RayHead:
    """A Ray head node on loopback with its own temp dir, ports and authentication token."""

    root: Path
    num_cpus: int = 1
    object_store_bytes: int = 300 * 1024 * 1024
    daemon: Daemon | None = None
    port: int = 0
    temp_dir: Path | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def client_env(self) -> dict[str, str]:
        """What a driver needs to join this cluster (RAY_ADDRESS and the cluster's token)."""
        return {"RAY_ADDRESS": self.address, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def start(self, attempts: int = 3) -> "RayHead":
        """Start the head; retried only when Ray gives up waiting for its own raylet (a fixed 30 s
        in `ray start`, too short on a loaded 2-core machine). Any other failure is raised."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(attempt)
            except RuntimeError as exc:
                self.stop()
                if attempt == attempts or "timed out during startup" not in str(exc):
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, attempt: int) -> "RayHead":
        self.port = free_port()
        # Unix socket paths must stay short: the temp dir is under /tmp, not under pytest's tmp_path.
        self.temp_dir = Path(f"/tmp/rs-{os.getpid()}-{self.port}")
        env = engine_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token)
        ray = str(Path(sys.executable).with_name("ray"))
        ports = {flag: str(free_port()) for flag in (
            "--ray-client-server-port", "--node-manager-port", "--object-manager-port",
            "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--metrics-export-port",
            "--runtime-env-agent-port")}
        argv = [ray, "start", "--head", "--block", "--node-ip-address", LOOPBACK,
                "--port", str(self.port), "--num-cpus", str(self.num_cpus), "--num-gpus", "0",
                "--include-dashboard", "false", "--temp-dir", str(self.temp_dir),
                "--object-store-memory", str(self.object_store_bytes),
                "--disable-usage-stats"]
        for flag, port in ports.items():
            argv += [flag, port]
        self.daemon = start_daemon(f"ray-head-{attempt}", argv, env, self.root)
        wait_until(lambda: "Ray runtime started" in self.daemon.log(), [self.daemon],
                   "the Ray head node")
        return self

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop(grace=30.0)
            self.daemon = None
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None
