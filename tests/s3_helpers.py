"""A local S3 server for the object-storage tests: moto's server mode on 127.0.0.1, no network.

`LocalS3` runs `moto_server` in a subprocess; `LocalS3(strict=True)` turns authentication on
(`INITIAL_NO_AUTH_ACTION_COUNT=0`), so a key it never issued is refused as real S3 refuses it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from pathlib import Path

REGION = "us-east-1"
KEY_ID = "AKIATESTREFINERY0001"
# Distinctive, so a test can assert it never shows up in a log, a run's metadata or an error.
SECRET = "refinery-test-secret-Zq8vW3kP"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def s3_env(endpoint: str, key_id: str = KEY_ID, secret: str = SECRET) -> dict[str, str]:
    """The standard AWS variables that point every client of the project at `endpoint`."""
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": REGION}


def client(endpoint: str, key_id: str = KEY_ID, secret: str = SECRET):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, region_name=REGION)


class LocalS3:
    """`moto_server` in a subprocess on a free loopback port (`strict`: it refuses every key it did not
    issue, as S3 refuses a wrong one). A subprocess, not moto's threaded server: delta-rs holds the
    GIL in some calls (`is_deltatable`), and a server thread of the test process could not answer."""

    def __init__(self, log: Path | None = None, strict: bool = False):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(tempfile.mkdtemp(prefix="moto-")) / "moto.log"
        self.strict = strict

    def start(self) -> "LocalS3":
        server = Path(sys.executable).with_name("moto_server")
        env = dict(os.environ)
        if self.strict:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
        self._process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                                         env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self._process.poll() is not None:
                    raise RuntimeError(f"moto_server exited: {self.log.read_text()[-2000:]}")
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto_server did not listen on {self.port} within 120 s")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    @property
    def env(self) -> dict[str, str]:
        return s3_env(self.endpoint)

    def client(self):
        return client(self.endpoint)

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def upload_dir(self, directory: Path, bucket: str, prefix: str = "") -> list[str]:
        """Every file under `directory` (symlinks followed) as `prefix/<relative path>`."""
        s3, keys = self.client(), []
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            key = f"{prefix.strip('/')}/{path.relative_to(directory)}".lstrip("/")
            s3.upload_file(str(path.resolve()), bucket, key)
            keys.append(key)
        return keys

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


@pytest.fixture
def aws_env(s3, monkeypatch):
    """The AWS variables of the test module's `s3` server (a fixture of that module), for one test."""
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    return s3.env
