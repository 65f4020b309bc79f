"""Fetch the Delta Lake jars from Maven Central once, then load them from a local cache offline.

delta-spark's Python wheel carries no jars. Spark needs `io.delta:delta-spark_<spark>_<scala>` and
`io.delta:delta-storage`; the rest of delta-spark's dependencies are provided by Spark itself.
The jars are downloaded over HTTPS (checked against Maven's .sha1 files) into
`$REFINERY_JAR_CACHE` (default `~/.cache/cc-refinery/jars`); if HTTPS fails and `mvn` is on the
PATH, `mvn dependency:copy` is tried, since Maven may know a proxy or mirror that urllib does not.

Delta version: 4.4.0. The PyPI package delta-spark 4.4.1 exists but Maven Central (as reachable
here) serves delta-spark_4.2_2.13 only up to 4.4.0, so Python package and jars are pinned to the
same 4.4.0 (a mismatched pair is not supported by Delta).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from core.cache import cache_root

DELTA_VERSION = "4.4.0"
SPARK_BINARY = "4.2"
SCALA_BINARY = "2.13"
MAVEN_REPO = os.environ.get("REFINERY_MAVEN_REPO", "https://repo1.maven.org/maven2")
ARTIFACTS = (
    ("io.delta", f"delta-spark_{SPARK_BINARY}_{SCALA_BINARY}", DELTA_VERSION),
    ("io.delta", "delta-storage", DELTA_VERSION),
)


def jar_cache_dir() -> Path:
    """REFINERY_JAR_CACHE, else `jars/` under the project cache (core.cache.cache_root)."""
    return Path(os.environ.get("REFINERY_JAR_CACHE") or cache_root() / "jars")


def _jar_name(artifact: str, version: str) -> str:
    return f"{artifact}-{version}.jar"


def _maven_url(group: str, artifact: str, version: str, suffix: str = ".jar") -> str:
    return f"{MAVEN_REPO}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}{suffix}"


def _download(url: str, dest: Path, timeout: float = 120.0) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def _fetch_https(group: str, artifact: str, version: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        jar = Path(tmp) / dest.name
        _download(_maven_url(group, artifact, version), jar)
        sha1_file = Path(tmp) / (dest.name + ".sha1")
        _download(_maven_url(group, artifact, version, ".jar.sha1"), sha1_file)
        expected = sha1_file.read_text().split()[0].strip().lower()
        actual = hashlib.sha1(jar.read_bytes()).hexdigest()
        if actual != expected:
            raise OSError(f"{dest.name}: sha1 {actual} does not match Maven's {expected}")
        jar.replace(dest)


def _fetch_mvn(group: str, artifact: str, version: str, dest: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise OSError("mvn is not installed")
    subprocess.run(
        [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={group}:{artifact}:{version}:jar",
         f"-DoutputDirectory={dest.parent}"],
        check=True, capture_output=True, text=True, timeout=600,
    )
    if not dest.exists():
        raise OSError(f"mvn dependency:copy did not produce {dest}")


def ensure_delta_jars(log=print) -> list[Path]:
    """Paths of the Delta jars, downloading the missing ones first. Raises with a clear message."""
    cache = jar_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for group, artifact, version in ARTIFACTS:
        dest = cache / _jar_name(artifact, version)
        if not dest.exists():
            log(f"fetching {group}:{artifact}:{version} into {cache}")
            errors = []
            for fetch in (_fetch_https, _fetch_mvn):
                try:
                    fetch(group, artifact, version, dest)
                    break
                except Exception as exc:  # try the next way, report all if none works
                    errors.append(f"{fetch.__name__}: {exc}")
            else:
                raise RuntimeError(
                    f"could not fetch {group}:{artifact}:{version} from {MAVEN_REPO} "
                    f"({'; '.join(errors)}). Set REFINERY_MAVEN_REPO to a reachable mirror or put "
                    f"the jar in {cache}."
                )
        paths.append(dest)
    return paths
