"""Where the benchmark corpus's real pages come from: HTML documentation installed by Debian packages.

    apt-get install -y debian-handbook python3.11-doc postgresql-doc-15

(the Debian Administrator's Handbook in about 26 languages, the Python 3.11 documentation and the
PostgreSQL 15 manual, about 5,000 distinct pages together). Each file gets a URL made from its path.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

APT_PACKAGES = ("debian-handbook", "python3.11-doc", "postgresql-doc-15")
MIN_PAGE_BYTES = 1500  # smaller files are redirects and index stubs


@dataclass(frozen=True)
class DocSource:
    """An installed documentation tree and how its files map to URLs."""

    name: str
    root: Path
    url_prefix: str  # joined with the path below root

    def url_for(self, path: Path) -> str:
        return self.url_prefix + path.relative_to(self.root).as_posix()


DOC_SOURCES = (
    DocSource("debian-handbook", Path("/usr/share/doc/debian-handbook/html"),
              "https://debian-handbook.info/browse/"),
    DocSource("python3.11-doc", Path("/usr/share/doc/python3.11/html"),
              "https://docs.python.org/3.11/"),
    DocSource("postgresql-doc-15", Path("/usr/share/doc/postgresql-doc-15/html"),
              "https://www.postgresql.org/docs/15/"),
)


@dataclass(frozen=True)
class RealPage:
    """A distinct installed HTML file: its URL, its resolved path and the source it came from."""

    url: str
    path: str
    source: str


def missing_sources(sources: Sequence[DocSource] = DOC_SOURCES) -> list[DocSource]:
    return [s for s in sources if not s.root.is_dir()]


def apt_command() -> str:
    return "apt-get install -y " + " ".join(APT_PACKAGES)


def discover_pages(sources: Sequence[DocSource] = DOC_SOURCES,
                   min_bytes: int = MIN_PAGE_BYTES) -> list[RealPage]:
    """Distinct real HTML files (by content hash and by resolved path), in a stable order."""
    seen_paths, seen_hashes, pages = set(), set(), []
    for source in sources:
        for path in _html_files(source.root):
            real = os.path.realpath(path)
            if real in seen_paths:
                continue
            seen_paths.add(real)
            data = Path(real).read_bytes()
            digest = hashlib.sha1(data).digest()
            if len(data) < min_bytes or digest in seen_hashes:
                continue
            seen_hashes.add(digest)
            pages.append(RealPage(source.url_for(path), real, source.name))
    return pages


def _html_files(root: Path) -> Iterator[Path]:
    """The .html/.htm files under root (following links) in sorted walk order; none if root is absent."""
    if not root.is_dir():
        return
    for directory, subdirs, files in os.walk(root, followlinks=True):
        subdirs.sort()
        for name in sorted(files):
            if name.endswith((".html", ".htm")):
                yield Path(directory, name)
