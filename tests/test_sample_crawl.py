"""The embedded CC-MAIN-SAMPLE mirror (layout, determinism, extraction counts, ground truth) and the
benchmark-corpus helpers it shares code with (planning and writing on a small synthetic doc tree)."""
from __future__ import annotations

import collections
import gzip
import json

import pytest

from contract.tables import SAMPLE_CRAWL_ID
from core.dedup.normalize import exact_jaccard, normalize_text
from core.warc.extract import ExtractionError, Skip, extract_file
from sample_crawl import build_sample_mirror, mirror as sc
from sample_crawl.mutation import expected_fraction, fraction_for_target, mutate_words
from sample_crawl.pages import duplicates


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return build_sample_mirror(tmp_path_factory.mktemp("mirror"))


@pytest.fixture(scope="module")
def crawl_dir(mirror):
    return mirror / "crawl-data" / SAMPLE_CRAWL_ID


@pytest.fixture(scope="module")
def truth(crawl_dir):
    return json.loads((crawl_dir / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def extracted(mirror, crawl_dir):
    paths = gzip.decompress((crawl_dir / "warc.paths.gz").read_bytes()).decode().split()
    docs, skips, errors = {}, collections.Counter(), []
    for rel in paths:
        for event in extract_file(str(mirror / rel), SAMPLE_CRAWL_ID):
            if isinstance(event, dict):
                docs[event["url"]] = event
            elif isinstance(event, Skip):
                skips[event.reason] += 1
            elif isinstance(event, ExtractionError):
                errors.append(event)
    return docs, skips, errors


def _all_files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_is_common_crawls(mirror, crawl_dir):
    paths = gzip.decompress((crawl_dir / "warc.paths.gz").read_bytes()).decode().splitlines()
    assert len(paths) == sc.N_FILES
    for rel in paths:
        assert rel.startswith(f"crawl-data/{SAMPLE_CRAWL_ID}/segments/")
        assert "/warc/CC-MAIN-" in rel and rel.endswith(".warc.gz")
        assert (mirror / rel).stat().st_size > 10_000


def test_two_builds_are_byte_identical(tmp_path, crawl_dir):
    build_sample_mirror(tmp_path)
    again = _all_files(tmp_path / "crawl-data" / SAMPLE_CRAWL_ID)
    assert again == _all_files(crawl_dir)
    assert len(again) == sc.N_FILES + 3  # paths, ground truth, marker


def test_second_call_skips_a_finished_build(tmp_path):
    build_sample_mirror(tmp_path)
    crawl = tmp_path / "crawl-data" / SAMPLE_CRAWL_ID
    first = crawl / "warc.paths.gz"
    before = first.stat().st_mtime_ns
    first.write_bytes(first.read_bytes())  # touch: a rebuild would rewrite it again
    touched = first.stat().st_mtime_ns
    build_sample_mirror(tmp_path)
    assert first.stat().st_mtime_ns == touched >= before
    assert not list((tmp_path / "crawl-data").glob(".*building*"))


def test_other_builder_version_is_rebuilt(tmp_path):
    crawl = tmp_path / "crawl-data" / SAMPLE_CRAWL_ID
    crawl.mkdir(parents=True)
    (crawl / "stale.warc.gz").write_bytes(b"old")
    (crawl / sc.MARKER).write_text(json.dumps({"builder_version": "0"}))
    build_sample_mirror(tmp_path)
    assert not (crawl / "stale.warc.gz").exists()
    assert json.loads((crawl / sc.MARKER).read_text())["builder_version"] == sc.BUILDER_VERSION


def test_size_and_categories(truth):
    counts = truth["counts_by_category"]
    assert 300 <= truth["n_records"] <= 400
    assert set(counts) == {"article", "exact_dup", "near_dup", "spam", "short", "lorem",
                           "javascript", "non_english", "http_error", "non_html"}
    assert counts["exact_dup"] == duplicates.N_EXACT_DUP_BASES * duplicates.EXACT_COPIES
    assert counts["near_dup"] == duplicates.N_NEAR_DUP_BASES * len(duplicates.NEAR_DUP_FRACTIONS)
    assert counts["http_error"] >= 4 and counts["non_html"] >= 4
    assert len(truth["documents_by_language"]) >= 10


def test_extract_file_returns_exactly_the_expected_documents(truth, extracted):
    docs, skips, errors = extracted
    assert errors == []
    expected = {p["url"] for p in truth["pages"] if p["expect_document"]}
    assert set(docs) == expected
    assert len(docs) == truth["n_documents_expected"]
    assert skips["http_status.non_200"] == truth["counts_by_category"]["http_error"]
    assert skips["content_type.not_html"] == truth["counts_by_category"]["non_html"]


def test_exact_duplicates_extract_to_the_same_text(truth, extracted):
    docs, _, _ = extracted
    for pair in truth["exact_duplicates"]:
        assert pair["url"] != pair["duplicate_of"]
        assert docs[pair["url"]]["text"] == docs[pair["duplicate_of"]]["text"]


def test_near_duplicate_similarity_falls_with_the_mutation_level(truth, extracted):
    docs, _, _ = extracted
    by_base = collections.defaultdict(list)
    for pair in truth["near_duplicates"]:
        measured = exact_jaccard(docs[pair["url"]]["text"], docs[pair["near_dup_of"]]["text"])
        assert measured == pytest.approx(pair["jaccard_5gram"], abs=1e-4)
        by_base[pair["near_dup_of"]].append((pair["mutation_fraction"], measured))
    for levels in by_base.values():
        similarities = [j for _, j in sorted(levels)]
        assert similarities == sorted(similarities, reverse=True)
        assert similarities[0] > 0.9 and similarities[-1] < 0.35


def test_legacy_charsets_decode_to_the_right_script(truth, extracted):
    docs, _, _ = extracted
    legacy = {p["url"]: p for p in truth["pages"] if p["charset"] not in ("utf-8", None)}
    assert {p["charset"] for p in legacy.values()} >= {"shift_jis", "windows-1251"}
    for url, page in legacy.items():
        text = docs[url]["text"]
        assert "\ufffd" not in text
        if page["language"] == "ru":
            assert "Австралия" in text
        if page["language"] == "ja":
            assert "の" in text


def test_boilerplate_is_removed_from_articles(truth, extracted):
    docs, _, _ = extracted
    articles = [docs[p["url"]]["text"] for p in truth["pages"] if p["category"] == "article"]
    assert all("We use cookies" not in text for text in articles)
    assert all("Terms of use" not in text for text in articles)


def test_short_and_spam_pages_look_like_what_they_are(truth, extracted):
    docs, _, _ = extracted
    for page in truth["pages"]:
        words = docs[page["url"]]["text"].split() if page["expect_document"] else []
        if page["category"] == "short":
            assert len(words) <= 40
        if page.get("spam_kind") == "repeated_line":
            lines = [l for l in docs[page["url"]]["text"].splitlines() if l.strip()]
            assert collections.Counter(lines).most_common(1)[0][1] >= 30


def test_expected_rejects_are_exactly_the_pages_built_to_fail(truth):
    causes = {"spam": {"repetitive", "too_short"}, "short": {"too_short"}, "lorem": {"not_english"},
              "javascript": {"too_short"}, "non_english": {"not_english"}}
    for page in truth["pages"]:
        if page["category"] in causes:
            assert page["expected_reject"] in causes[page["category"]], page["url"]
        else:
            assert page["expected_reject"] is None, page["url"]
    by_cause = collections.Counter(p["expected_reject"] for p in truth["pages"] if p["expected_reject"])
    assert truth["expected_rejects_by_cause"] == dict(by_cause)
    assert sum(by_cause.values()) == sum(truth["counts_by_category"][c] for c in causes)


def test_mutate_words_is_deterministic_and_changes_the_requested_share():
    text = " ".join(f"w{i}" for i in range(1000)) + "\n\nlast paragraph"
    mutated = mutate_words(text, 0.05, seed="x")
    assert mutated == mutate_words(text, 0.05, seed="x")
    assert mutated != mutate_words(text, 0.05, seed="y")
    changed = sum(a != b for a, b in zip(text.split(), mutated.split()))
    assert changed == round(0.05 * len(text.split()))
    assert "\n\n" in mutated


def test_a_replacement_differs_after_dedups_normalization():
    # Numbers, case and diacritics fold together in dedup's normalization: "7", "42" and "1999" are
    # the same word there, as are "Café" and "cafe", so only "river" is a real replacement for them.
    text = "7 42 1999 3.14 Café cafe CAFE river"
    for seed in range(20):
        mutated = mutate_words(text, 0.5, seed=seed)
        for before, after in zip(text.split(), mutated.split()):
            if before != after:
                assert normalize_text(before) != normalize_text(after), (seed, before, after)


def test_fraction_for_target_reaches_dedups_jaccard_on_real_prose():
    from sample_crawl.text_sources import pydoc_topics

    text = max((t for _, t in pydoc_topics()), key=len)
    for target in (0.5, 0.8, 0.95):
        fraction = fraction_for_target(text, target, seed="t")
        assert 0 < fraction < 3 * expected_fraction(target)
        assert exact_jaccard(text, mutate_words(text, fraction, "t")) == pytest.approx(target, abs=0.02)


# ------------------------------------------------------------------------------------------------
# The benchmark corpus, planned and written from a small synthetic documentation tree
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def doc_source(tmp_path_factory):
    from sample_crawl.bench_corpus import DocSource
    from sample_crawl.rendering import THEMES, render_page, text_to_html
    from sample_crawl.text_sources import pydoc_topics

    root = tmp_path_factory.mktemp("docs") / "html"
    (root / "ref").mkdir(parents=True)
    for name, text in pydoc_topics()[:10]:
        page = render_page(THEMES["reference"], title=name, main_html=text_to_html(text))
        (root / "ref" / f"{name}.html").write_text(page, encoding="utf-8")
    first = sorted((root / "ref").iterdir())[0]
    (root / "zz").mkdir()
    (root / "zz" / "copy-of-first.html").write_bytes(first.read_bytes())  # same bytes: not distinct
    (root / "stub.html").write_text("<html><body>moved</body></html>")  # too small
    return DocSource("test-docs", root, "https://docs.example.org/")


@pytest.fixture(scope="module")
def bench_corpus(doc_source, tmp_path_factory):
    from sample_crawl.bench_corpus import discover_pages, plan_corpus, write_corpus, write_truth

    real = discover_pages([doc_source])
    plan = plan_corpus(real, n_pages=24, n_exact=3, near_per_target=1, targets=(0.7, 0.9))
    out = tmp_path_factory.mktemp("bench")
    relative = write_corpus(out, "CC-MAIN-BENCH", plan, n_files=2, workers=1)
    crawl_dir = out / "crawl-data" / "CC-MAIN-BENCH"
    write_truth(crawl_dir, plan.truth)
    docs = {}
    for rel in relative:
        docs.update({e["url"]: e["text"] for e in extract_file(str(out / rel), "CC-MAIN-BENCH")
                     if isinstance(e, dict)})
    truth = [json.loads(line) for line in (crawl_dir / "ground_truth.jsonl").read_text().splitlines()]
    return real, plan, docs, truth


def test_discovery_keeps_distinct_pages_of_real_size(doc_source):
    from sample_crawl.bench_corpus import discover_pages

    real = discover_pages([doc_source])
    assert len(real) == 10
    assert all(p.url.startswith("https://docs.example.org/ref/") for p in real)
    assert discover_pages([doc_source]) == real


def test_plan_has_the_requested_pages_of_each_kind(bench_corpus):
    real, plan, docs, truth = bench_corpus
    assert len(plan.specs) == 24 and len({s.url for s in plan.specs}) == 24
    # 10 real pages: 1 rewritten as a near-duplicate base, 9 as they are; 24 - 2 near - 3 exact - 10
    # = 9 cycle copies.
    assert plan.counts == {"real": 9, "near_base": 1, "near": 2, "exact": 3, "cycle_copy": 9}
    assert collections.Counter(r["kind"] for r in truth) == {"near": 2, "exact": 3, "cycle_copy": 9}
    assert set(docs) == {s.url for s in plan.specs}


def test_injected_duplicates_extract_as_the_ground_truth_says(bench_corpus):
    _, _, docs, truth = bench_corpus
    for row in truth:
        copy, original = docs[row["url"]], docs[row["of_url"]]
        if row["kind"] in ("exact", "cycle_copy"):
            assert copy == original
        else:
            assert row["actual_jaccard"] == pytest.approx(exact_jaccard(original, copy), abs=1e-4)
            assert row["actual_jaccard"] == pytest.approx(row["target_jaccard"], abs=0.03)


def test_plan_rejects_impossible_requests(doc_source):
    from sample_crawl.bench_corpus import discover_pages, plan_corpus

    real = discover_pages([doc_source])
    with pytest.raises(ValueError, match="cannot hold"):
        plan_corpus(real, n_pages=5, n_exact=3, near_per_target=1, targets=(0.7, 0.9))
    with pytest.raises(ValueError, match="near-duplicate bases"):
        plan_corpus(real, n_pages=100, n_exact=0, near_per_target=1, min_words=10**6)
