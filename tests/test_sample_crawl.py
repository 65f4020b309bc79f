"""The embedded CC-MAIN-SAMPLE mirror: layout, determinism, extraction counts and ground truth."""
from __future__ import annotations

import collections
import gzip
import json

import pytest

from contract.tables import SAMPLE_CRAWL_ID
from sample_crawl import build as sc
from core.warc.extract import ExtractionError, Skip, extract_file


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return sc.build_sample_mirror(tmp_path_factory.mktemp("mirror"))


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
    sc.build_sample_mirror(tmp_path)
    again = _all_files(tmp_path / "crawl-data" / SAMPLE_CRAWL_ID)
    assert again == _all_files(crawl_dir)
    assert len(again) == sc.N_FILES + 3  # paths, ground truth, marker


def test_second_call_skips_a_finished_build(tmp_path):
    sc.build_sample_mirror(tmp_path)
    crawl = tmp_path / "crawl-data" / SAMPLE_CRAWL_ID
    first = crawl / "warc.paths.gz"
    before = first.stat().st_mtime_ns
    first.write_bytes(first.read_bytes())  # touch: a rebuild would rewrite it again
    touched = first.stat().st_mtime_ns
    sc.build_sample_mirror(tmp_path)
    assert first.stat().st_mtime_ns == touched >= before
    assert not list((tmp_path / "crawl-data").glob(".*building*"))


def test_other_builder_version_is_rebuilt(tmp_path):
    crawl = tmp_path / "crawl-data" / SAMPLE_CRAWL_ID
    crawl.mkdir(parents=True)
    (crawl / "stale.warc.gz").write_bytes(b"old")
    (crawl / sc.MARKER).write_text(json.dumps({"builder_version": "0"}))
    sc.build_sample_mirror(tmp_path)
    assert not (crawl / "stale.warc.gz").exists()
    assert json.loads((crawl / sc.MARKER).read_text())["builder_version"] == sc.BUILDER_VERSION


def test_size_and_categories(truth):
    counts = truth["counts_by_category"]
    assert 300 <= truth["n_records"] <= 400
    assert set(counts) == {"article", "exact_dup", "near_dup", "spam", "short", "lorem",
                           "javascript", "non_english", "http_error", "non_html"}
    assert counts["exact_dup"] == sc.N_EXACT_DUP_BASES * sc.EXACT_COPIES
    assert counts["near_dup"] == sc.N_NEAR_DUP_BASES * len(sc.NEAR_DUP_FRACTIONS)
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
        measured = sc.jaccard(docs[pair["url"]]["text"], docs[pair["near_dup_of"]]["text"])
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


def test_jaccard_normalisation():
    assert sc.normalize_words("Hello, World!  It's\tme.") == ["hello", "world", "it", "s", "me"]
    text = "one two three four five six seven"
    assert sc.jaccard(text, text) == 1.0
    assert sc.jaccard(text, "ONE two, three four five six seven!") == 1.0
    assert sc.jaccard(text, "one two three four five six eight") == pytest.approx(2 / 4)
    assert sc.jaccard("", "") == 1.0 and sc.jaccard("a b", "") == 0.0


def test_mutate_words_is_deterministic_and_changes_the_requested_share():
    text = " ".join(f"w{i}" for i in range(1000)) + "\n\nlast paragraph"
    mutated = sc.mutate_words(text, 0.05, seed="x")
    assert mutated == sc.mutate_words(text, 0.05, seed="x")
    assert mutated != sc.mutate_words(text, 0.05, seed="y")
    changed = sum(a != b for a, b in zip(text.split(), mutated.split()))
    assert changed == round(0.05 * len(text.split()))
    assert "\n\n" in mutated
