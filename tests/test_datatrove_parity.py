"""Parity of this project's text filters with datatrove's FineWeb filters (v0.10.1).

datatrove's GopherRepetitionFilter → GopherQualityFilter → C4QualityFilter(filter_no_terminal_punct=
False) → FineWebQualityFilter run through their `filter(doc)` methods, first failure wins, C4's
rewritten text feeding FineWeb's filter, exactly as in FineWeb; ours is `run_chain` with URL,
language and PII steps switched off. Documents: every document of the real Common Crawl fixtures,
of the embedded sample crawl (`sample_crawl`), and, because those are few, the
standard library's module docstrings and pydoc topics as extra English texts.

Keep/drop and reason must agree on >= 99% of documents. All of them agree (86/86 fixture documents,
304/304 sample-crawl documents, 259/259 standard-library texts on Python 3.11, after the filters
became recipe steps), so there is no disagreement to explain. The possible sources of one, should a corpus show it: word splitting
(ours approximates spaCy's English tokenizer, ~99.95% token agreement, tests/test_filters_text.py),
n-grams compared as word tuples rather than datatrove's separator-less joins (gopher_repetition.py),
and sentence counting near C4's 5-sentence minimum. A disagreement found later goes into `KNOWN`
with its explanation; the test prints every disagreement with `-s`.

Benchmark corpus (bench/out/corpus: Debian handbook in 26 languages, PostgreSQL and Python docs; not
read here, it is not in CI): the first 12,000 documents (4,592 distinct texts) showed 6
disagreements, all word splitting, all fixed; now 0. Each cause is reduced to a plain string in
`SYNTHETIC` below and in tests/test_filters_text.py / test_filters_gopher.py:
  * spaCy's URL_MATCH has an optional scheme, so `Contents-arch.gz`, `man-db_2.9.4-2_amd64.deb`,
    `changelog.Debian.gz` are one token; we split them on `-` / `lower.Upper` (5 documents:
    alpha-word share and repeated 5-grams).
  * spaCy's letter class includes CJK punctuation, so `、-i` and `。/var` split on the infix (ja).
  * spaCy re-joins `Prof` `.` into its exception `Prof.` after an infix split (`O.Univ.Prof.Dr.`).
No disagreement is currently accepted, so `KNOWN` is empty.
"""
from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path

import pytest

from core.filters.chain import ChainConfig, run_chain
from core.filters.text import split_words
from core.warc.extract import extract_file
from tests.conftest import WARC_2020, WET_REPAIRED, WHIRLWIND_WARC, WHIRLWIND_WET

try:  # the test extras always install both; their absence is a broken environment, not a skip
    import datatrove  # noqa: F401
    import spacy  # noqa: F401
except ImportError as exc:
    raise ImportError(
        f"test_datatrove_parity needs datatrove and spacy, the project's test extras "
        f"(pip install -e '.[test]' or make test): {exc}"
    ) from exc

TEXT_ONLY = ChainConfig(params={"url": None, "language": None, "pii": None})

# datatrove reason -> ours
REASONS = {
    ("gopher_repetition", "empty"): "gopher_repetition.empty",
    **{("gopher_repetition", r): f"gopher_repetition.{r}" for r in
       ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac")},
    **{("gopher_repetition", f"top_{n}_gram"): f"gopher_repetition.top_{n}_gram" for n in (2, 3, 4)},
    **{("gopher_repetition", f"duplicated_{n}_n_grams"): f"gopher_repetition.dup_{n}_gram" for n in range(5, 11)},
    ("gopher_quality", "gopher_short_doc"): "gopher_quality.word_count",
    ("gopher_quality", "gopher_long_doc"): "gopher_quality.word_count",
    ("gopher_quality", "gopher_below_avg_threshold"): "gopher_quality.avg_word_length",
    ("gopher_quality", "gopher_above_avg_threshold"): "gopher_quality.avg_word_length",
    ("gopher_quality", "gopher_too_many_hashes"): "gopher_quality.hash_ratio",
    ("gopher_quality", "gopher_too_many_ellipsis"): "gopher_quality.ellipsis_ratio",
    ("gopher_quality", "gopher_too_many_bullets"): "gopher_quality.bullet_lines_ratio",
    ("gopher_quality", "gopher_too_many_end_ellipsis"): "gopher_quality.end_ellipsis_lines_ratio",
    ("gopher_quality", "gopher_below_alpha_threshold"): "gopher_quality.alpha_words_ratio",
    ("gopher_quality", "gopher_enough_stop_words"): "gopher_quality.stop_words",
    **{("c4", r): f"c4.{r}" for r in ("lorem_ipsum", "curly_bracket", "too_few_sentences")},
    **{("fineweb_quality", r): f"fineweb_quality.{r}" for r in
       ("empty", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio")},
}

# Disagreements accepted after inspection: document key -> why.
KNOWN: dict[str, str] = {}

# Small documents reduced from benchmark-corpus disagreements (see the module docstring).
_APT_FILE = (
    "The package index of the archive lists every file with the name of the package that "
    "ships it, and the tool searches that index to find which package to install for a "
    "missing command. Users have to update the index first and then run their query with "
    "the name of the file or a part of it, as shown below in these examples today. "
)
SYNTHETIC: dict[str, str] = {
    # splitting the names lowered the alpha-word share below 0.8 (gopher_quality) where datatrove
    # went on to C4
    "bare-file-names": _APT_FILE + " ".join(str(100 + i) for i in range(12))
    + " Contents-arch.gz man-db.service changelog.Debian.gz ftp-master.debian.org",
}
# Word splitting of the other reduced cases, compared token by token with datatrove's.
SYNTHETIC_WORDS = (
    "Contents-udeb-arch.gz man-db_2.9.4-2_amd64.deb linux-image-5.10.46-falcot_5.10.46-1_amd64.deb",
    "パッケージをインストールするには、-i を使います。/var 考えるなら、--force",
    "under the direction of O.Univ.Prof.Dr. Georg Gottlob and Univ.Ass. Mag. Katrin Seyr.",
)


def datatrove_chain():
    from datatrove.pipeline.filters import (
        C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter,
    )

    return [
        ("gopher_repetition", GopherRepetitionFilter()),
        ("gopher_quality", GopherQualityFilter()),
        ("c4", C4QualityFilter(filter_no_terminal_punct=False)),
        ("fineweb_quality", FineWebQualityFilter()),
    ]


def datatrove_reason(chain, text: str) -> str | None:
    """First failing datatrove filter's reason mapped to ours, None when every filter keeps it."""
    from datatrove.data import Document

    doc = Document(text=text, id="parity")
    for name, flt in chain:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = flt.filter(doc)
        keep, reason = (result, None) if isinstance(result, bool) else result
        if not keep:
            return REASONS.get((name, reason), f"{name}.{reason}")
    return None


def fixture_documents() -> list[tuple[str, str]]:
    docs = []
    for path in (WARC_2020, WET_REPAIRED, WHIRLWIND_WARC, WHIRLWIND_WET):
        for event in extract_file(str(path), path.name.split("__")[0]):
            if isinstance(event, dict):
                docs.append((f"{path.name}:{event['url']}", event["text"]))
    return docs


def sample_crawl_documents(dest: Path) -> list[tuple[str, str]]:
    import gzip

    from sample_crawl import build_sample_mirror

    root = build_sample_mirror(dest)
    crawl = root / "crawl-data" / "CC-MAIN-SAMPLE" if (root / "crawl-data").is_dir() else root
    listing = next(crawl.rglob("warc.paths.gz"), None) if not (crawl / "warc.paths.gz").exists() else crawl / "warc.paths.gz"
    docs = []
    base = listing.parents[2]
    for rel in gzip.open(listing, "rt").read().split():
        path = base / rel
        for event in extract_file(str(path), "CC-MAIN-SAMPLE"):
            if isinstance(event, dict):
                docs.append((f"sample:{event['url']}", event["text"]))
    return docs


def stdlib_documents() -> list[tuple[str, str]]:
    import pydoc_data.topics

    docs = [(f"pydoc:{k}", v) for k, v in sorted(pydoc_data.topics.topics.items())]
    for name in sorted(sys.stdlib_module_names):
        if name in {"antigravity", "this", "idlelib", "turtledemo", "tkinter"} or name.startswith("_"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = importlib.import_module(name)
        except Exception:
            continue
        if module.__doc__:
            docs.append((f"stdlib:{name}", module.__doc__))
    return docs


def compare(docs: list[tuple[str, str]]) -> tuple[int, list[tuple[str, str | None, str | None]]]:
    chain = datatrove_chain()
    disagreements = []
    for key, text in docs:
        theirs = datatrove_reason(chain, text)
        ours = run_chain(text, None, TEXT_ONLY).reason
        if theirs != ours:
            disagreements.append((key, theirs, ours))
    return len(docs), disagreements


def _report(name, n, disagreements):
    print(f"\n{name}: {n - len(disagreements)}/{n} agree ({1 - len(disagreements) / max(n, 1):.2%})")
    for key, theirs, ours in disagreements:
        print(f"  {key}: datatrove={theirs} ours={ours} {KNOWN.get(key, '(unexplained)')}")


def test_parity_on_synthetic_cases():
    n, disagreements = compare(list(SYNTHETIC.items()))
    _report("synthetic", n, disagreements)
    assert not disagreements
    from datatrove.utils.text import split_into_words

    for text in SYNTHETIC_WORDS:
        assert split_words(text) == split_into_words(text), text


CORPORA = {
    "fixtures": (lambda tmp: fixture_documents(), 80),
    "sample crawl": (lambda tmp: sample_crawl_documents(tmp / "mirror"), 300),
    "stdlib texts": (lambda tmp: stdlib_documents(), 200),
}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("corpus", list(CORPORA))
def test_parity_with_datatrove(corpus, tmp_path):
    """>= 99% agreement on keep/drop and reason, and every disagreement explained in KNOWN."""
    load, minimum = CORPORA[corpus]
    docs = load(tmp_path)
    assert len(docs) >= minimum
    n, disagreements = compare(docs)
    _report(corpus, n, disagreements)
    assert (n - len(disagreements)) / n >= 0.99, disagreements
    unexplained = [d for d in disagreements if d[0] not in KNOWN]
    assert not unexplained, unexplained
