"""Build a benchmark crawl mirror (Common Crawl layout) from real HTML pages of Debian documentation.

    python bench/build_corpus.py --out bench/out/corpus --pages 20000 --files 20

Pages come from documentation packages that install HTML under /usr/share/doc:

    apt-get install -y debian-handbook python3.11-doc postgresql-doc-15

(the Debian Administrator's Handbook in about 26 languages, the Python 3.11 documentation and the
PostgreSQL 15 manual, about 5,000 distinct pages together). Each real page is a 200 response with a URL
made from its path. Then duplicates with known similarity are injected:

- `exact`: the same bytes under another URL;
- `near`: a real page's extracted text with a controlled share of words replaced, chosen so that the
  word-5-gram Jaccard similarity hits a target (0.5 ... 0.95). Both the base and the copy are written
  as plain `<p>` pages in site chrome built from the extracted text, so the mutation survives
  extraction. The *actual* Jaccard is measured on what `core.warc.extract.html_to_text`
  (resiliparse) returns for the two pages.
- `cycle_copy`: if more pages are asked for than exist, real pages are reused under another URL
  with the page chrome changed (a meta tag and a comment), so the main text is identical. Ground
  truth lists them, because a deduplicator should remove them.

Output in `<out>/crawl-data/<crawl id>/`: `warc.paths.gz`, the WARC files under `segments/`,
`ground_truth.jsonl` (one duplicate pair a line) and `corpus_summary.json` (counts and timings).
Jaccard normalisation: lowercase, Unicode punctuation replaced by spaces, split on whitespace,
sets of word 5-grams (`sample_crawl.jaccard`).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sample_crawl.build import (  # noqa: E402
    SiteTheme, assign_to_files, jaccard, mutate_words, render_page, warc_relative_paths,
    write_paths_file,
)
from core.warc.extract import decode_html, html_to_text  # noqa: E402
from core.warc.writer import Page, write_warc  # noqa: E402

CRAWL_ID = "CC-MAIN-BENCH"
CRAWL_START = dt.datetime(2024, 9, 7, 12, 0, 0, tzinfo=dt.timezone.utc)
SEGMENTS = ("1725901234567.11", "1725901235012.21", "1725901235590.35", "1725901236104.48")
NEAR_TARGETS = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)
APT_PACKAGES = ("debian-handbook", "python3.11-doc", "postgresql-doc-15")


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
    url: str
    path: str
    source: str


@dataclass(frozen=True)
class PageSpec:
    """One response to write: either a real file (maybe with varied chrome) or generated HTML."""

    url: str
    kind: str  # real | exact | near | near_base | cycle_copy
    path: str | None = None
    cycle: int = 0
    html: bytes | None = None


# ----------------------------------------------------------------------------------------------
# Discovering real pages
# ----------------------------------------------------------------------------------------------

def missing_sources(sources=DOC_SOURCES) -> list[DocSource]:
    return [s for s in sources if not s.root.is_dir()]


def apt_command() -> str:
    return "apt-get install -y " + " ".join(APT_PACKAGES)


def discover_pages(sources=DOC_SOURCES, min_bytes: int = 1500) -> list[RealPage]:
    """Distinct real HTML files (by content hash and by resolved path), in a stable order."""
    seen_paths, seen_hashes, pages = set(), set(), []
    for source in sources:
        if not source.root.is_dir():
            continue
        for directory, subdirs, files in os.walk(source.root, followlinks=True):
            subdirs.sort()
            for name in sorted(files):
                if not name.endswith((".html", ".htm")):
                    continue
                path = Path(directory, name)
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


# ----------------------------------------------------------------------------------------------
# Variations and injected duplicates (pure functions on bytes and text)
# ----------------------------------------------------------------------------------------------

_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


def vary_chrome(html: bytes, cycle: int) -> bytes:
    """Change the page outside the main text: a generator meta tag and a cache comment."""
    marker = f'<meta name="generator" content="docs-mirror cycle {cycle}">'.encode()
    varied, count = _HEAD_END.subn(marker + b"</head>", html, count=1)
    if count == 0:
        varied = marker + html
    return varied + f"\n<!-- cached copy {cycle} -->\n".encode()


def fraction_for_target(text: str, target: float, seed: str, iterations: int = 12) -> float:
    """The share of words to replace so that jaccard(text, mutated) is closest to `target`.

    Bisection on the measured similarity (it falls as the share rises), searched below three times
    the share a random-replacement model predicts (`expected_fraction`).
    """
    low, high = 0.0, min(1.0, 3 * expected_fraction(target))
    best, best_gap = 0.0, float("inf")
    for _ in range(iterations):
        middle = (low + high) / 2
        similarity = jaccard(text, mutate_words(text, middle, seed))
        gap = abs(similarity - target)
        if gap < best_gap:
            best, best_gap = middle, gap
        if similarity > target:
            low = middle
        else:
            high = middle
    return best


def expected_fraction(target: float, n: int = 5) -> float:
    """The model's share for a target Jaccard J: survival s = 2J/(1+J), f = 1 - s^(1/n)."""
    return 1.0 - (2 * target / (1 + target)) ** (1 / n)


def lines_to_html(text: str) -> str:
    """Extracted text back to HTML: each non-empty line one paragraph."""
    import html as html_lib

    return "\n".join(f"<p>{html_lib.escape(line.strip())}</p>" for line in text.splitlines()
                     if line.strip())


def theme_for(url: str) -> SiteTheme:
    host = url.split("/")[2]
    return SiteTheme(name=host, host=host, nav=("Home", "Documentation", "Community", "Download"),
                     sidebar_title="In this chapter", footer=f"{host} documentation mirror")


def wrap_text(url: str, title: str, text: str, lang: str) -> bytes:
    return render_page(theme_for(url), title=title, main_html=lines_to_html(text),
                       lang=lang).encode("utf-8")


def extract(html: bytes, charset: str | None = None) -> str:
    decoded, _ = decode_html(html, charset)
    return html_to_text(decoded, "resiliparse").strip()


def language_of(url: str) -> str:
    match = re.search(r"/browse/([a-z]{2})-[A-Z]{2}/", url)
    return match.group(1) if match else "en"


def make_near_duplicates(base: RealPage, text: str, targets, per_base: int, near_url,
                         ) -> tuple[PageSpec, list[PageSpec], list[dict]]:
    """Re-wrap a base page from its extracted text and derive copies at the target similarities."""
    title = text.splitlines()[0][:120]
    lang = language_of(base.url)
    base_html = wrap_text(base.url, title, text, lang)
    base_text = extract(base_html)
    specs, truth = [], []
    for i, target in enumerate(targets[:per_base]):
        seed = f"{base.url}|{target}"
        fraction = fraction_for_target(text, target, seed)
        url = near_url(base, i)
        html = wrap_text(url, title, mutate_words(text, fraction, seed), lang)
        specs.append(PageSpec(url, "near", html=html))
        truth.append({"url": url, "of_url": base.url, "kind": "near", "target_jaccard": target,
                      "mutation_fraction": round(fraction, 5),
                      "actual_jaccard": round(jaccard(base_text, extract(html)), 4)})
    return PageSpec(base.url, "near_base", html=base_html), specs, truth


# ----------------------------------------------------------------------------------------------
# Planning and writing
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    specs: list[PageSpec]
    truth: list[dict]
    counts: dict[str, int]


def plan_corpus(real: list[RealPage], n_pages: int, n_exact: int, near_per_target: int,
                targets=NEAR_TARGETS, min_words: int = 300, seed: int = 7) -> Plan:
    """Decide every page of the corpus: real pages, near-dup bases and copies, exact and cycle copies."""
    rng = random.Random(seed)
    n_near = near_per_target * len(targets)
    if n_pages < n_exact + n_near + 1 or not real:
        raise ValueError(f"{n_pages} pages cannot hold {n_exact} exact and {n_near} near duplicates")
    order = list(real)
    rng.shuffle(order)
    by_url = {p.url: p for p in order}
    bases, texts = [], {}
    n_bases = -(-n_near // len(targets))  # each base gets one copy per target
    for page in order:
        if len(bases) == n_bases:
            break
        text = extract(Path(page.path).read_bytes())
        if len(text.split()) >= min_words:
            bases.append(page)
            texts[page.url] = text
    specs: dict[str, PageSpec] = {}
    truth: list[dict] = []
    near_specs = []
    remaining = n_near
    for index, base in enumerate(bases):
        per_base = min(len(targets), remaining)
        remaining -= per_base
        base_spec, copies, rows = make_near_duplicates(
            base, texts[base.url], targets, per_base,
            lambda b, i: b.url.replace("https://", f"https://near{i}.", 1))
        specs[base.url] = base_spec
        near_specs += copies
        truth += rows
    base_urls = {b.url for b in bases}
    order = bases + [p for p in order if p.url not in base_urls]  # bases are always written
    plain = [p for p in order if p.url not in base_urls]
    n_real = n_pages - n_near - n_exact
    real_specs = [specs.get(p.url, PageSpec(p.url, "real", path=p.path)) for p in order[:n_real]]
    for i in range(len(real_specs), n_real):  # more pages wanted than exist: cycle with new chrome
        cycle, page = divmod(i - len(order), len(plain))
        page = plain[page]
        url = f"{page.url}?mirror={cycle + 1}"
        real_specs.append(PageSpec(url, "cycle_copy", path=page.path, cycle=cycle + 1))
        truth.append({"url": url, "of_url": page.url, "kind": "cycle_copy", "target_jaccard": 1.0,
                      "actual_jaccard": None})
    exact_specs = []
    originals = [s for s in real_specs if s.kind == "real"]
    for i in range(n_exact):
        original = originals[(i * 7919) % len(originals)]
        url = original.url.replace("https://", f"http://archive{i % 3}.", 1) + f"?copy={i}"
        exact_specs.append(PageSpec(url, "exact", path=original.path))
        truth.append({"url": url, "of_url": original.url, "kind": "exact", "target_jaccard": 1.0,
                      "actual_jaccard": 1.0})
    all_specs = real_specs + near_specs + exact_specs
    counts = {kind: sum(s.kind == kind for s in all_specs)
              for kind in ("real", "near_base", "near", "exact", "cycle_copy")}
    assert len({s.url for s in all_specs}) == len(all_specs), "URLs must be unique"
    assert all(u in by_url for u in (r["of_url"] for r in truth))
    return Plan(all_specs, truth, counts)


def page_bytes(spec: PageSpec) -> bytes:
    if spec.html is not None:
        return spec.html
    data = Path(spec.path).read_bytes()
    return vary_chrome(data, spec.cycle) if spec.kind == "cycle_copy" else data


def write_one_file(args) -> tuple[str, int]:
    """Worker: write one WARC file of the corpus. Returns (path, bytes written)."""
    path, crawl_id, specs, start_index = args
    pages = (Page(url=s.url, body=page_bytes(s),
                  fetch_time=CRAWL_START + dt.timedelta(seconds=start_index + i))
             for i, s in enumerate(specs))
    write_warc(Path(path), crawl_id, pages, CRAWL_START + dt.timedelta(seconds=start_index))
    return path, Path(path).stat().st_size


def write_corpus(out: Path, crawl_id: str, plan: Plan, n_files: int, workers: int) -> list[str]:
    relative = warc_relative_paths(crawl_id, n_files, SEGMENTS, CRAWL_START)
    groups = assign_to_files(plan.specs, n_files, seed=crawl_id)
    tasks, start = [], 0
    for rel, group in zip(relative, groups):
        tasks.append((str(out / rel), crawl_id, group, start))
        start += len(group)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(write_one_file, tasks))
    else:
        for task in tasks:
            write_one_file(task)
    crawl_dir = out / "crawl-data" / crawl_id
    write_paths_file(crawl_dir / "warc.paths.gz", relative)
    return relative


def write_truth(crawl_dir: Path, truth: list[dict]) -> None:
    lines = (json.dumps(row, sort_keys=True, ensure_ascii=False) for row in
             sorted(truth, key=lambda r: (r["kind"], r["url"])))
    (crawl_dir / "ground_truth.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def near_summary(truth: list[dict]) -> dict[str, dict[str, float]]:
    """Per target: number of pairs and min/mean/max of the actual Jaccard."""
    out = {}
    for target in sorted({r["target_jaccard"] for r in truth if r["kind"] == "near"}):
        values = [r["actual_jaccard"] for r in truth if r["kind"] == "near" and r["target_jaccard"] == target]
        out[str(target)] = {"pairs": len(values), "min": min(values), "max": max(values),
                            "mean": round(sum(values) / len(values), 4)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/corpus"))
    parser.add_argument("--pages", type=int, default=20000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--crawl-id", default=CRAWL_ID)
    parser.add_argument("--exact-dups", type=int, default=None, help="default: 1%% of pages")
    parser.add_argument("--near-per-target", type=int, default=None,
                        help=f"near duplicates per target {NEAR_TARGETS}; default: 0.25%% of pages")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    missing = missing_sources()
    if len(missing) == len(DOC_SOURCES):
        print("No documentation HTML found. Install it with:\n  " + apt_command(), file=sys.stderr)
        return 2
    if missing:
        print(f"warning: missing {[m.name for m in missing]}; for all sources run: {apt_command()}",
              file=sys.stderr)
    started = time.perf_counter()
    real = discover_pages()
    discovered = time.perf_counter()
    exact = args.exact_dups if args.exact_dups is not None else args.pages // 100
    near = args.near_per_target if args.near_per_target is not None else max(1, args.pages // 400)
    plan = plan_corpus(real, args.pages, exact, near, seed=args.seed)
    planned = time.perf_counter()
    crawl_dir = args.out / "crawl-data" / args.crawl_id
    crawl_dir.mkdir(parents=True, exist_ok=True)
    relative = write_corpus(args.out, args.crawl_id, plan, args.files, args.workers)
    write_truth(crawl_dir, plan.truth)
    finished = time.perf_counter()
    per_source = {}
    for page in real:
        per_source[page.source] = per_source.get(page.source, 0) + 1
    summary = {
        "crawl_id": args.crawl_id, "pages": len(plan.specs), "files": len(relative),
        "distinct_real_pages_available": len(real), "distinct_by_source": per_source,
        "counts_by_kind": plan.counts, "near_duplicates": near_summary(plan.truth),
        "jaccard_definition": "word 5-grams of resiliparse main-content text; lowercase, Unicode "
                              "punctuation replaced by spaces, whitespace split",
        "bytes": sum((args.out / rel).stat().st_size for rel in relative),
        "seconds": {"discover": round(discovered - started, 2), "plan": round(planned - discovered, 2),
                    "write": round(finished - planned, 2), "total": round(finished - started, 2)},
    }
    (crawl_dir / "corpus_summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    print(json.dumps(summary, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
