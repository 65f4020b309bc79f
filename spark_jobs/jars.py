"""Fetch the Delta Lake (and S3A) jars from Maven Central once, then load them from a local cache offline.

delta-spark's Python wheel carries no jars. Spark needs `io.delta:delta-spark_<spark>_<scala>` and
`io.delta:delta-storage`; the rest of delta-spark's dependencies are provided by Spark itself.
The jars are downloaded over HTTPS (checked against Maven's .sha1 files) into
`$REFINERY_JAR_CACHE` (default `~/.cache/cc-refinery/jars`); if HTTPS fails and `mvn` is on the
PATH, `mvn dependency:copy` is tried, since Maven may know a proxy or mirror that urllib does not.

Delta version: 4.4.0. The PyPI package delta-spark 4.4.1 exists but Maven Central (as reachable
here) serves delta-spark_4.2_2.13 only up to 4.4.0, so Python package and jars are pinned to the
same 4.4.0 (a mismatched pair is not supported by Delta).

S3A (`s3a://`, and `s3://` mapped to it): Hadoop's `hadoop-aws` must match the Hadoop client pyspark
bundles (hadoop-client-api-3.5.0), and takes the AWS SDK v2 version hadoop-project 3.5.0's POM pins
(`software.amazon.awssdk:bundle:2.35.4`, shaded, 686 MB) plus its other compile-scope dependency,
`analyticsaccelerator-s3:1.3.1`. They are fetched by `refinery setup` into the same cache, never at
run time: a session includes them when all are cached (`cached_s3a_jars`).
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
HADOOP_VERSION = "3.5.0"  # pyspark 4.2.0's jars/hadoop-client-api-3.5.0.jar
AWS_SDK_V2_VERSION = "2.35.4"  # hadoop-project-3.5.0.pom: aws-java-sdk-v2.version
ANALYTICS_ACCELERATOR_VERSION = "1.3.1"  # hadoop-project-3.5.0.pom: amazon-s3-analyticsaccelerator-s3.version
ARTIFACTS = (
    ("io.delta", f"delta-spark_{SPARK_BINARY}_{SCALA_BINARY}", DELTA_VERSION),
    ("io.delta", "delta-storage", DELTA_VERSION),
)
S3A_ARTIFACTS = (
    ("org.apache.hadoop", "hadoop-aws", HADOOP_VERSION),
    ("software.amazon.awssdk", "bundle", AWS_SDK_V2_VERSION),
    ("software.amazon.s3.analyticsaccelerator", "analyticsaccelerator-s3", ANALYTICS_ACCELERATOR_VERSION),
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


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_https(group: str, artifact: str, version: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        jar = Path(tmp) / dest.name
        _download(_maven_url(group, artifact, version), jar)
        sha1_file = Path(tmp) / (dest.name + ".sha1")
        _download(_maven_url(group, artifact, version, ".jar.sha1"), sha1_file)
        expected = sha1_file.read_text().split()[0].strip().lower()
        actual = _sha1(jar)
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


def _ensure(artifacts, log) -> list[Path]:
    """Paths of the artifacts' jars in the cache, downloading the missing ones first."""
    cache = jar_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for group, artifact, version in artifacts:
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


def ensure_delta_jars(log=print) -> list[Path]:
    """Paths of the Delta jars, downloading the missing ones first. Raises with a clear message."""
    return _ensure(ARTIFACTS, log)


def ensure_s3a_jars(log=print) -> list[Path]:
    """Paths of hadoop-aws and the AWS SDK, downloading the missing ones first (`refinery setup`)."""
    return _ensure(S3A_ARTIFACTS, log)


def cached_s3a_jars() -> list[Path]:
    """The S3A jars when every one is in the cache, else [] (never downloads: sessions call this)."""
    paths = [jar_cache_dir() / _jar_name(artifact, version) for _, artifact, version in S3A_ARTIFACTS]
    return paths if all(p.is_file() for p in paths) else []
