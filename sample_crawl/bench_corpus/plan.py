"""Planning the benchmark corpus: which real pages are written, and which duplicates are injected.

- `near`: a real page's extracted text with a share of words replaced, chosen by bisection so that
  dedup's Jaccard hits a target (0.5 ... 0.95). Base and copy are both written as plain `<p>` pages in
  generated site chrome, so the mutation survives extraction; the *actual* Jaccard is measured on
  what resiliparse extracts from the two pages (`sample_crawl.similarity`).
- `exact`: the same bytes as a real page under another URL.
- `cycle_copy`: when more pages are asked for than exist, real pages are reused under another URL
  with their chrome changed (`rendering.vary_chrome`), so the main text is identical.
Every injected page has a ground-truth row `{url, of_url, kind, target_jaccard, actual_jaccard, ...}`.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from sample_crawl.bench_corpus.doc_sources import RealPage
from sample_crawl.mutation import fraction_for_target, mutate_words
from sample_crawl.rendering import SiteTheme, lines_to_html, render_page, vary_chrome
from sample_crawl.similarity import main_text, page_jaccard

NEAR_TARGETS = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)  # Jaccard of a near copy with its base
MIN_BASE_WORDS = 300  # a near-duplicate base needs enough words for fine-grained similarity
PLAN_SEED = 7
SPEC_KINDS = ("real", "near_base", "near", "exact", "cycle_copy")
EXACT_STRIDE = 7919  # a prime: exact copies are spread over the real pages


@dataclass(frozen=True)
class PageSpec:
    """One response to write: either a real file (maybe with varied chrome) or generated HTML."""

    url: str
    kind: str  # one of SPEC_KINDS
    path: str | None = None
    cycle: int = 0
    html: bytes | None = None


@dataclass(frozen=True)
class Plan:
    specs: list[PageSpec]
    truth: list[dict]
    counts: dict[str, int]


def plan_corpus(real: Sequence[RealPage], n_pages: int, n_exact: int, near_per_target: int,
                targets: Sequence[float] = NEAR_TARGETS, min_words: int = MIN_BASE_WORDS,
                seed: int = PLAN_SEED) -> Plan:
    """Decide every page of the corpus: real pages, near-dup bases and copies, exact and cycle copies."""
    n_near = near_per_target * len(targets)
    if n_pages < n_exact + n_near + 1 or not real:
        raise ValueError(f"{n_pages} pages cannot hold {n_exact} exact and {n_near} near duplicates"
                         f" ({len(real)} real pages available)")
    order = list(real)
    random.Random(seed).shuffle(order)
    bases, texts = _near_bases(order, -(-n_near // len(targets)), min_words)
    base_specs, near_specs, truth = {}, [], []
    remaining = n_near
    for base in bases:  # each base gets one copy per target until n_near copies exist
        per_base = min(len(targets), remaining)
        remaining -= per_base
        base_spec, copies, rows = make_near_duplicates(base, texts[base.url], targets[:per_base],
                                                       near_copy_url)
        base_specs[base.url] = base_spec
        near_specs += copies
        truth += rows
    plain = [p for p in order if p.url not in base_specs]
    real_specs, cycle_rows = _real_and_cycle_specs(bases + plain, plain, base_specs,
                                                   n_pages - n_near - n_exact)
    exact_specs, exact_rows = _exact_copies(real_specs, n_exact)
    return _checked_plan(real_specs + near_specs + exact_specs, truth + cycle_rows + exact_rows,
                         {p.url for p in real})


def near_copy_url(base: RealPage, index: int) -> str:
    return base.url.replace("https://", f"https://near{index}.", 1)


def _near_bases(order: list[RealPage], n_bases: int, min_words: int,
                ) -> tuple[list[RealPage], dict[str, str]]:
    """The first n_bases pages (in plan order) whose extracted text has at least min_words words."""
    bases, texts = [], {}
    for page in order:
        if len(bases) == n_bases:
            break
        text = main_text(Path(page.path).read_bytes())
        if len(text.split()) >= min_words:
            bases.append(page)
            texts[page.url] = text
    if len(bases) < n_bases:
        raise ValueError(f"only {len(bases)} of the {len(order)} real pages have >= {min_words} "
                         f"words; {n_bases} near-duplicate bases are needed")
    return bases, texts


def make_near_duplicates(base: RealPage, text: str, targets: Sequence[float],
                         copy_url: Callable[[RealPage, int], str],
                         ) -> tuple[PageSpec, list[PageSpec], list[dict]]:
    """Re-wrap a base page from its extracted text and derive one copy per target similarity."""
    title = text.splitlines()[0][:120]
    lang = language_of(base.url)
    base_html = wrap_text(base.url, title, text, lang)
    specs, truth = [], []
    for i, target in enumerate(targets):
        seed = f"{base.url}|{target}"
        fraction = fraction_for_target(text, target, seed)
        url = copy_url(base, i)
        html = wrap_text(url, title, mutate_words(text, fraction, seed), lang)
        specs.append(PageSpec(url, "near", html=html))
        truth.append({"url": url, "of_url": base.url, "kind": "near", "target_jaccard": target,
                      "mutation_fraction": round(fraction, 5),
                      "actual_jaccard": page_jaccard(base_html, html)})
    return PageSpec(base.url, "near_base", html=base_html), specs, truth


def _real_and_cycle_specs(order: list[RealPage], plain: list[RealPage],
                          base_specs: dict[str, PageSpec], n_real: int,
                          ) -> tuple[list[PageSpec], list[dict]]:
    """The first n_real pages of `order` (bases first), then cycle copies of plain pages if short."""
    specs = [base_specs.get(p.url, PageSpec(p.url, "real", path=p.path)) for p in order[:n_real]]
    rows = []
    if len(specs) < n_real and not plain:
        raise ValueError("more pages are asked for than exist, and every real page is a near-duplicate"
                         " base, so there is nothing to cycle")
    for i in range(len(specs), n_real):
        cycle, index = divmod(i - len(order), len(plain))
        page = plain[index]
        url = f"{page.url}?mirror={cycle + 1}"
        specs.append(PageSpec(url, "cycle_copy", path=page.path, cycle=cycle + 1))
        rows.append({"url": url, "of_url": page.url, "kind": "cycle_copy", "target_jaccard": 1.0,
                     "actual_jaccard": None})
    return specs, rows


def _exact_copies(real_specs: list[PageSpec], n_exact: int) -> tuple[list[PageSpec], list[dict]]:
    """n_exact byte-identical copies of real pages on archive hosts."""
    originals = [s for s in real_specs if s.kind == "real"]
    if n_exact and not originals:
        raise ValueError("exact copies need at least one real page that is not a near-duplicate base")
    specs, rows = [], []
    for i in range(n_exact):
        original = originals[(i * EXACT_STRIDE) % len(originals)]
        url = original.url.replace("https://", f"http://archive{i % 3}.", 1) + f"?copy={i}"
        specs.append(PageSpec(url, "exact", path=original.path))
        rows.append({"url": url, "of_url": original.url, "kind": "exact", "target_jaccard": 1.0,
                     "actual_jaccard": 1.0})
    return specs, rows


def _checked_plan(specs: list[PageSpec], truth: list[dict], real_urls: set[str]) -> Plan:
    if len({s.url for s in specs}) != len(specs):
        raise RuntimeError("the plan has duplicate URLs")
    unknown = [r["url"] for r in truth if r["of_url"] not in real_urls]
    if unknown:
        raise RuntimeError(f"ground-truth rows point at pages that are not real: {unknown[:3]}")
    counts = {kind: sum(s.kind == kind for s in specs) for kind in SPEC_KINDS}
    return Plan(specs, truth, counts)


def theme_for(url: str) -> SiteTheme:
    """Generic documentation-mirror chrome named after the URL's host."""
    host = url.split("/")[2]
    return SiteTheme(name=host, host=host, nav=("Home", "Documentation", "Community", "Download"),
                     sidebar_title="In this chapter", footer=f"{host} documentation mirror")


def wrap_text(url: str, title: str, text: str, lang: str) -> bytes:
    return render_page(theme_for(url), title=title, main_html=lines_to_html(text),
                       lang=lang).encode("utf-8")


def language_of(url: str) -> str:
    """The handbook's language from its URL (`/browse/de-DE/...`), English otherwise."""
    match = re.search(r"/browse/([a-z]{2})-[A-Z]{2}/", url)
    return match.group(1) if match else "en"


def page_bytes(spec: PageSpec) -> bytes:
    """The payload of a planned page: generated HTML, or the real file (chrome varied for cycles)."""
    if spec.html is not None:
        return spec.html
    data = Path(spec.path).read_bytes()
    return vary_chrome(data, spec.cycle) if spec.kind == "cycle_copy" else data
