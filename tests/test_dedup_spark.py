"""Dedup on Spark (spark_jobs.dedup.job) against a pure-Python oracle of the same semantics, on a
silver-like corpus with injected exact and near duplicates; cross-crawl behaviour and reruns;
precision and recall against exact Jaccard on word 5-grams."""
from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from contract.tables import (
    DEDUP_CLUSTERS, DEDUP_DOCUMENTS, DEDUP_PAIRS, DEDUP_REMOVED, DEDUP_SIGNATURES, SILVER_DOCUMENTS, table_uri,
)
from tests.reference.components import connected_components as oracle_components
from spark_jobs.dedup.job import REASON_EXACT, REASON_NEAR, DedupConfig, balance_ok, dedup_balance, run_dedup
from core.dedup.minhash import estimate_jaccard, shingle_sets, signature_columns, signatures_from_column
from core.dedup.normalize import jaccard_of_sets, normalize_text, shingles
from spark_jobs.delta_io import overwrite_where, partition_predicate
from tests.test_dedup_accuracy import corpus

CRAWL_A = "CC-MAIN-2024-10"
CRAWL_B = "CC-MAIN-2024-18"
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
FAR = datetime(9999, 12, 31, tzinfo=timezone.utc)
SILVER_DDL = ("doc_id string, snapshot string, url string, domain string, fetch_time timestamp, "
              "text string, n_chars long, language string, language_score float")


# ---------------------------------------------------------------------------------------------
# corpora


def _doc(doc_id, snapshot, text, minutes):
    return {"doc_id": doc_id, "snapshot": snapshot, "url": f"https://example.org/{doc_id}",
            "domain": "example.org", "fetch_time": T0 + timedelta(minutes=minutes), "text": text,
            "n_chars": len(text), "language": "en", "language_score": 0.9}


def _exact_variant(text: str, i: int) -> str:
    """Same normalized text, different raw bytes (case, punctuation, spacing)."""
    return ("  " + text.upper() + " !!") if i % 2 else text.replace(" ", "  ,") + "."


def crawl_a_docs() -> list[dict]:
    """The accuracy corpus (bases + 4 mutated variants each at J ~ U[0.3, 1]) with fetch times in a
    shuffled order, and 30 exact copies, some fetched before their original."""
    ids, texts, _, _ = corpus()
    rng = random.Random(11)
    minutes = list(range(len(ids)))
    rng.shuffle(minutes)
    docs = [_doc(i, CRAWL_A, t, m) for i, t, m in zip(ids, texts, minutes)]
    for k in range(30):
        src = docs[(k * 37) % len(ids)]
        offset = -1 if k % 3 == 0 else 5000 + k  # a third of the copies were fetched first
        docs.append(_doc(f"x{k:03d}", CRAWL_A, _exact_variant(src["text"], k),
                         minutes[(k * 37) % len(ids)] + offset))
    docs.append(_doc("empty1", CRAWL_A, "!!! ...", 9000))
    docs.append(_doc("empty2", CRAWL_A, "??", 9001))
    for k in range(3):  # byte-identical copies: one computed signature, one stored shingle set
        docs.append(_doc(f"same{k}", CRAWL_A, docs[101]["text"], 9100 - k))
    return docs


def write_silver(spark, lake_root, docs, snapshot):
    df = spark.createDataFrame([tuple(d[c] for c in
                                      ("doc_id", "snapshot", "url", "domain", "fetch_time", "text",
                                       "n_chars", "language", "language_score")) for d in docs], SILVER_DDL)
    overwrite_where(df, table_uri(lake_root, SILVER_DOCUMENTS), partition_predicate(snapshot))


# ---------------------------------------------------------------------------------------------
# the oracle: the module docstring's semantics in plain Python


def oracle(current: list[dict], earlier: list[dict], config: DedupConfig) -> dict[str, tuple]:
    """doc_id of the current crawl -> (representative doc_id, its snapshot, reason or None)."""
    docs = earlier + current
    batch = pa.RecordBatch.from_pylist([{"doc_id": d["doc_id"], "text": d["text"]} for d in docs])
    cols = signature_columns(batch, config.minhash)
    sig = signatures_from_column(cols.column("minhash")).astype(np.uint64)
    bands = cols.column("band_hashes").to_pylist()
    exact = cols.column("exact_hash").to_pylist()
    node = [(d["snapshot"], d["fetch_time"] or FAR, d["doc_id"]) for d in docs]
    n_earlier = len(earlier)
    cur = range(n_earlier, len(docs))
    groups = defaultdict(list)
    for i, h in enumerate(exact):
        groups[h].append(i)
    exact_rep = {i: (min((node[j] for j in groups[exact[i]]), default=node[i]) if config.exact else node[i])
                 for i in cur}
    near_nodes = [i for i in cur if exact_rep[i] == node[i] and bands[i] is not None]
    buckets = defaultdict(list)
    for i in near_nodes + [i for i in range(n_earlier) if bands[i] is not None]:
        for k, h in enumerate(bands[i]):
            buckets[(k, h)].append(i)
    if config.verify_method == "exact":
        sets = [shingles(normalize_text(d["text"] or ""), config.ngram) for d in docs]
        similarity = lambda i, j: jaccard_of_sets(sets[i], sets[j])  # noqa: E731
    else:
        similarity = lambda i, j: estimate_jaccard(sig[i], sig[j])  # noqa: E731
    edges = set()
    current_near = set(near_nodes)
    for members in buckets.values():
        if len(members) < 2 or not current_near.intersection(members) or not config.near:
            continue
        hub = min(members, key=lambda i: node[i])
        if config.verify_method == "exact" and len(members) <= config.pair_bucket_max:
            links = [(a, b) for a in members for b in members if node[a] < node[b]]
        else:
            links = [(hub, m) for m in members if m != hub]
        for a, b in links:
            if config.verify_threshold is None or similarity(a, b) >= config.verify_threshold:
                edges.add((node[a], node[b]))
    comp = oracle_components(edges)
    out = {}
    for i in cur:
        rep = comp.get(exact_rep[i], exact_rep[i])
        reason = None if rep == node[i] else (REASON_EXACT if exact_rep[i] != node[i] else REASON_NEAR)
        out[node[i][2]] = (rep[2], rep[0], reason)
    return out


# ---------------------------------------------------------------------------------------------
# reading the tables


def _rows(spark, lake_root, table, snapshot):
    df = spark.read.format("delta").load(table_uri(lake_root, table)).where(F.col("snapshot") == snapshot)
    return sorted((r.asDict() for r in df.collect()), key=lambda r: tuple(str(r.get(c)) for c in ("doc_id", "dup_cluster_id", "src_doc_id", "dst_doc_id")))


def _decisions(spark, lake_root, snapshot) -> dict[str, tuple]:
    out = {r["doc_id"]: (r["dup_cluster_id"], snapshot, None)
           for r in _rows(spark, lake_root, DEDUP_DOCUMENTS, snapshot)}
    for r in _rows(spark, lake_root, DEDUP_REMOVED, snapshot):
        assert r["doc_id"] not in out
        out[r["doc_id"]] = (r["duplicate_of"], r["duplicate_of_snapshot"], r["reason"])
    return out


def _tables(spark, lake_root, snapshot):
    return {t: _rows(spark, lake_root, t, snapshot)
            for t in (DEDUP_DOCUMENTS, DEDUP_REMOVED, DEDUP_CLUSTERS, DEDUP_SIGNATURES, DEDUP_PAIRS)}


# ---------------------------------------------------------------------------------------------
# tests


@pytest.fixture(scope="module")
def crawl_a(spark, tmp_path_factory):
    """Crawl A deduplicated once in a module-wide lake: (lake_root, docs, result)."""
    lake_root = str(tmp_path_factory.mktemp("dedup_lake"))
    docs = crawl_a_docs()
    write_silver(spark, lake_root, docs, CRAWL_A)
    result = run_dedup(spark, lake_root, CRAWL_A)
    return lake_root, docs, result


def test_single_crawl_matches_oracle_and_balances(spark, crawl_a):
    lake_root, docs, result = crawl_a
    got = _decisions(spark, lake_root, CRAWL_A)
    want = oracle(docs, [], DedupConfig())
    assert got == want
    assert result.documents_in == len(docs) == result.kept + result.exact_removed + result.near_removed
    assert result.exact_removed == sum(1 for v in want.values() if v[2] == REASON_EXACT) >= 20
    assert result.near_removed == sum(1 for v in want.values() if v[2] == REASON_NEAR) >= 100
    assert result.cross_crawl_removed == 0 and result.earlier_crawls == []
    assert result.verified_edges <= result.candidate_edges
    counts = dedup_balance(spark, lake_root, CRAWL_A)
    assert balance_ok(counts) and counts["silver"] == len(docs)
    # empty documents are never duplicates of each other
    assert got["empty1"][2] is None and got["empty2"][2] is None


def test_signatures_store_each_texts_shingle_set_once(spark, crawl_a):
    """Every signature row names the row of its crawl that holds its text's shingle set: the smallest
    doc_id among its byte-identical copies; the set is that text's sorted set of shingle hashes."""
    lake_root, docs, _ = crawl_a
    text_of = {d["doc_id"]: d["text"] for d in docs}
    rows = {r["doc_id"]: r for r in _rows(spark, lake_root, DEDUP_SIGNATURES, CRAWL_A)}
    assert set(rows) == set(text_of)
    copies = defaultdict(list)
    for doc_id, text in text_of.items():
        copies[text].append(doc_id)
    want_sets = dict(zip(text_of, shingle_sets(list(text_of.values())).to_pylist()))
    for doc_id, row in rows.items():
        holder = min(copies[text_of[doc_id]])
        assert row["shingle_set_doc_id"] == holder
        assert row["shingle_set"] == (want_sets[doc_id] if doc_id == holder else None)
    assert rows["same0"]["shingle_set_doc_id"] == min(docs[101]["doc_id"], "same0")
    assert {rows[f"same{k}"]["minhash"] == rows[docs[101]["doc_id"]]["minhash"] for k in range(3)} == {True}


def test_representative_rule_cluster_ids_and_counts(spark, crawl_a):
    lake_root, docs, result = crawl_a
    key = {d["doc_id"]: (d["fetch_time"], d["doc_id"]) for d in docs}
    text_of = {d["doc_id"]: d["text"] for d in docs}
    kept = {r["doc_id"]: r for r in _rows(spark, lake_root, DEDUP_DOCUMENTS, CRAWL_A)}
    removed = _rows(spark, lake_root, DEDUP_REMOVED, CRAWL_A)
    members = defaultdict(list)
    for r in removed:
        assert r["duplicate_of"] in kept and r["dup_cluster_id"] == r["duplicate_of"]
        assert key[r["duplicate_of"]] < key[r["doc_id"]], "the representative is the earliest member"
        members[r["duplicate_of"]].append(r["doc_id"])
        assert 0.0 < r["similarity"] <= 1.0
        if normalize_text(text_of[r["doc_id"]]) == normalize_text(text_of[r["duplicate_of"]]):
            assert r["similarity"] == 1.0
    for doc_id, row in kept.items():
        assert row["dup_cluster_id"] == doc_id
        assert row["dup_count"] == 1 + len(members[doc_id])
    # exact copies fetched before their original replace it as representative
    removed_ids = {r["doc_id"]: r for r in removed}
    for k in range(0, 30, 3):
        copy, original = f"x{k:03d}", docs[(k * 37) % 835]["doc_id"]
        assert key[copy] < key[original]
        assert original in removed_ids and key[removed_ids[original]["duplicate_of"]] <= key[copy]
    clusters = _rows(spark, lake_root, DEDUP_CLUSTERS, CRAWL_A)
    assert len(clusters) == result.clusters == sum(1 for r in kept.values() if r["dup_count"] > 1)
    assert {c["dup_cluster_id"]: c["n_documents"] for c in clusters} == {
        d: r["dup_count"] for d, r in kept.items() if r["dup_count"] > 1}
    assert sum(result.cluster_sizes.values()) == len(kept)


def test_cross_crawl_and_reruns(spark, lake_root):
    """B (later) loses its copies of A's documents; rerunning A after B changes nothing in A; reruns
    give identical tables; B's other partitions are untouched by A's rerun."""
    ids, texts, _, _ = corpus()
    a_docs = [_doc(f"a{i:03d}", CRAWL_A, texts[i * 5], i) for i in range(12)]  # bases only
    a_docs.append(_doc("a_dup", CRAWL_A, _exact_variant(texts[0], 1), 50))
    b_docs = [_doc(f"b{i:03d}", CRAWL_B, texts[60 + i * 5], i) for i in range(8)]  # new bases
    b_docs.append(_doc("b_exact_of_a", CRAWL_B, _exact_variant(texts[5], 0), -10_000))  # fetched "before" A
    b_docs.append(_doc("b_near_of_a", CRAWL_B, texts[10 + 1], 3))  # variant 0 of base a002
    b_docs.append(_doc("b_exact_of_b", CRAWL_B, _exact_variant(texts[60], 1), 100))
    write_silver(spark, lake_root, a_docs, CRAWL_A)
    write_silver(spark, lake_root, b_docs, CRAWL_B)
    config = DedupConfig(verify_threshold=None)  # the oracle decides what variant 0 is
    ra = run_dedup(spark, lake_root, CRAWL_A, config)
    tables_a = _tables(spark, lake_root, CRAWL_A)
    rb = run_dedup(spark, lake_root, CRAWL_B, config)
    assert rb.earlier_crawls == [CRAWL_A]
    got_b = _decisions(spark, lake_root, CRAWL_B)
    assert got_b == oracle(b_docs, a_docs, config)
    assert got_b["b_exact_of_a"] == ("a001", CRAWL_A, REASON_EXACT)
    assert got_b["b_exact_of_b"] == ("b000", CRAWL_B, REASON_EXACT)
    assert rb.cross_crawl_removed >= 1
    assert balance_ok(dedup_balance(spark, lake_root, CRAWL_B))
    assert ra.earlier_crawls == [] and got_b["b000"][2] is None
    tables_b = _tables(spark, lake_root, CRAWL_B)
    ra2 = run_dedup(spark, lake_root, CRAWL_A, config)
    assert _tables(spark, lake_root, CRAWL_A) == tables_a
    assert _tables(spark, lake_root, CRAWL_B) == tables_b
    assert (ra2.kept, ra2.exact_removed, ra2.near_removed) == (ra.kept, ra.exact_removed, ra.near_removed)
    # B again, exact only: still against A, its own partitions replaced (no stale pairs), A untouched
    exact_only = DedupConfig(near=False)
    rb2 = run_dedup(spark, lake_root, CRAWL_B, exact_only)
    assert _decisions(spark, lake_root, CRAWL_B) == oracle(b_docs, a_docs, exact_only)
    assert rb2.near_removed == 0 and rb2.exact_removed == 2 and rb2.cross_crawl_removed == 1
    assert _rows(spark, lake_root, DEDUP_PAIRS, CRAWL_B) == []
    assert balance_ok(dedup_balance(spark, lake_root, CRAWL_B))
    assert _tables(spark, lake_root, CRAWL_A) == tables_a


EXACT_085 = DedupConfig(verify_threshold=0.85, verify_method="exact")


def test_verify_method_is_validated():
    with pytest.raises(ValueError, match="verify_method"):
        DedupConfig(verify_method="jaccard")


def _precision_recall(spark, lake_root, docs, snapshot):
    """(recall of within-family pairs with true J >= 0.85, strict precision of verified edges: any
    true J < 0.85 false, verified edges, positives)."""
    ids, _, family, _ = corpus()
    shingle = {d["doc_id"]: shingles(normalize_text(d["text"])) for d in docs}
    got = _decisions(spark, lake_root, snapshot)
    by_family = defaultdict(list)
    for d, f in zip(ids, family):
        by_family[f].append(d)
    positives = found = 0
    for members in by_family.values():
        for a, b in itertools.combinations(members, 2):
            if jaccard_of_sets(shingle[a], shingle[b]) >= 0.85:
                positives += 1
                found += got[a][0] == got[b][0]
    pairs = _rows(spark, lake_root, DEDUP_PAIRS, snapshot)
    true_j = {(p["src_doc_id"], p["dst_doc_id"]): jaccard_of_sets(shingle[p["src_doc_id"]], shingle[p["dst_doc_id"]])
              for p in pairs}
    for p in pairs:  # the stored similarity is the exact Jaccard, the verdict a hard cut at 0.85
        j = true_j[(p["src_doc_id"], p["dst_doc_id"])]
        assert p["similarity"] == pytest.approx(j, abs=1e-12) and p["verified"] == (j >= 0.85)
    verified = [true_j[(p["src_doc_id"], p["dst_doc_id"])] for p in pairs if p["verified"]]
    strict = sum(j >= 0.85 for j in verified) / len(verified)
    return found / positives, strict, len(verified), positives


def test_exact_verification_precision_and_recall_at_085(spark, crawl_a):
    """The default (verify_method="exact", threshold 0.85): edges are cut at the true Jaccard, stored
    with it, so precision with every J < 0.85 counted false is 1 by construction; recall of J >= 0.85
    pairs >= 0.95 (small buckets are linked pairwise, so a hub below 0.85 cannot cut a true pair)."""
    assert DedupConfig() == EXACT_085
    lake_root, docs, result = crawl_a
    recall, strict, n_verified, positives = _precision_recall(spark, lake_root, docs, CRAWL_A)
    print(f"\nexact@0.85: positives {positives} recall {recall:.4f}; verified edges {n_verified} of "
          f"{result.candidate_edges}: precision (FP: J<0.85) {strict:.4f}")
    assert result.verified_edges == n_verified >= 100 and positives >= 150
    assert recall >= 0.95 and strict >= 0.95


def test_minhash_verification_matches_oracle(spark, tmp_path):
    """verify_method="minhash" at 0.75: star edges verified by the MinHash estimate; same decisions
    as the pure oracle, recall of J >= 0.85 pairs >= 0.95."""
    config = DedupConfig(verify_method="minhash", verify_threshold=0.75)
    lake_root = str(tmp_path)
    docs = crawl_a_docs()
    write_silver(spark, lake_root, docs, CRAWL_A)
    result = run_dedup(spark, lake_root, CRAWL_A, config)
    assert _decisions(spark, lake_root, CRAWL_A) == oracle(docs, [], config)
    assert result.verified_edges <= result.candidate_edges
    assert balance_ok(dedup_balance(spark, lake_root, CRAWL_A))


def test_exact_verification_across_crawls(spark, lake_root):
    """An edge from B to an earlier crawl A is verified on A's shingle set (stored with A's signatures;
    A's silver texts are deleted before B runs):
    a variant at J >= 0.85 of an A document is removed as a cross-crawl near duplicate, one below
    0.85 that LSH still proposes is kept; the stored similarities are the exact Jaccard."""
    ids, texts, _, sh = corpus()
    index = {d: i for i, d in enumerate(ids)}
    bases = [i for i, d in enumerate(ids) if "v" not in d]
    # per base, its variants with their true Jaccard to it
    var = [(b, index[f"{ids[b]}v{v}"]) for b in bases[:60] for v in range(4)]
    jac = {(b, v): jaccard_of_sets(sh[b], sh[v]) for b, v in var}
    high = [(b, v) for b, v in var if jac[(b, v)] >= 0.9][:3]
    grey = [(b, v) for b, v in var if 0.78 <= jac[(b, v)] < 0.84][:6]  # LSH candidates w.p. ~0.9
    used = sorted({b for b, _ in high + grey})
    a_docs = [_doc(ids[b], CRAWL_A, texts[b], k) for k, b in enumerate(used)]
    b_docs = [_doc(ids[v], CRAWL_B, texts[v], k) for k, (_, v) in enumerate(high + grey)]
    write_silver(spark, lake_root, a_docs, CRAWL_A)
    write_silver(spark, lake_root, b_docs, CRAWL_B)
    run_dedup(spark, lake_root, CRAWL_A, EXACT_085)
    # B's verification reads A's shingle sets from dedup/signatures, never A's texts: drop them
    DeltaTable.forPath(spark, table_uri(lake_root, SILVER_DOCUMENTS)).delete(F.col("snapshot") == CRAWL_A)
    rb = run_dedup(spark, lake_root, CRAWL_B, EXACT_085)
    got = _decisions(spark, lake_root, CRAWL_B)
    assert got == oracle(b_docs, a_docs, EXACT_085)
    for b, v in high:
        assert got[ids[v]] == (ids[b], CRAWL_A, REASON_NEAR)
    for _, v in grey:
        assert got[ids[v]][2] is None
    cross = [p for p in _rows(spark, lake_root, DEDUP_PAIRS, CRAWL_B) if p["src_snapshot"] == CRAWL_A]
    assert {p["verified"] for p in cross} == {True, False}, "a verified and a rejected cross-crawl edge"
    for p in cross:
        j = jaccard_of_sets(sh[index[p["src_doc_id"]]], sh[index[p["dst_doc_id"]]])
        assert p["similarity"] == pytest.approx(j, abs=1e-12) and p["verified"] == (j >= 0.85)
    assert rb.cross_crawl_removed == len(high)


def test_earlier_signatures_with_other_minhash_parameters_are_an_error(spark, lake_root):
    """A crawl whose stored signatures were computed with other MinHash parameters (here another
    seed) is not comparable: deduplicating a later crawl against it fails and names that crawl and
    the current parameters; without cross-crawl dedup the earlier signatures are not read."""
    _, texts, _, _ = corpus()
    write_silver(spark, lake_root, [_doc(f"a{i}", CRAWL_A, texts[i * 5], i) for i in range(4)], CRAWL_A)
    write_silver(spark, lake_root, [_doc(f"b{i}", CRAWL_B, texts[40 + i * 5], i) for i in range(4)], CRAWL_B)
    run_dedup(spark, lake_root, CRAWL_A, DedupConfig(seed=2))
    assert DedupConfig().params_tag == "b14r8n5s1" != DedupConfig(seed=2).params_tag
    before = _lake_state(spark, lake_root)
    with pytest.raises(ValueError) as error:
        run_dedup(spark, lake_root, CRAWL_B, DedupConfig())
    assert str(error.value) == (
        f"dedup/signatures of ['{CRAWL_A}'] were computed with other MinHash parameters than b14r8n5s1; "
        "rerun dedup of those crawls with the same parameters first")
    # checked before any write: no table has a new version, B has no signatures
    assert _lake_state(spark, lake_root) == before and _rows(spark, lake_root, DEDUP_SIGNATURES, CRAWL_B) == []
    result = run_dedup(spark, lake_root, CRAWL_B, DedupConfig(cross_crawl=False))
    assert result.earlier_crawls == [] and result.kept == 4


def _lake_state(spark, lake_root) -> dict:
    """Delta version and rows (every crawl) of each dedup table."""
    state = {}
    for table in (DEDUP_DOCUMENTS, DEDUP_REMOVED, DEDUP_CLUSTERS, DEDUP_SIGNATURES, DEDUP_PAIRS):
        uri = table_uri(lake_root, table)
        version = DeltaTable.forPath(spark, uri).history(1).collect()[0]["version"]
        state[table] = (version, sorted(map(str, spark.read.format("delta").load(uri).collect())))
    return state


def test_earlier_signatures_without_shingle_sets_are_an_error_for_exact_verification(spark, lake_root):
    """Signatures written before shingle sets were stored (a table without the columns, or rows where
    they are null) cannot be verified against exactly: the run fails before writing anything and names
    the crawls; MinHash verification still runs against them; rerunning the earlier crawl fixes it."""
    ids, texts, _, sh = corpus()
    index = {d: i for i, d in enumerate(ids)}
    variants = [(b, index[f"{ids[b]}v{v}"]) for b in range(len(ids)) if "v" not in ids[b] for v in range(4)]
    high = [(b, v) for b, v in variants if jaccard_of_sets(sh[b], sh[v]) >= 0.9][:3]
    a_docs = [_doc(ids[b], CRAWL_A, texts[b], k) for k, (b, _) in enumerate(high)]
    b_docs = [_doc(ids[v], CRAWL_B, texts[v], k) for k, (_, v) in enumerate(high)]  # near copies of A's
    write_silver(spark, lake_root, a_docs, CRAWL_A)
    write_silver(spark, lake_root, b_docs, CRAWL_B)
    config = DedupConfig(verify_threshold=None)
    run_dedup(spark, lake_root, CRAWL_A, config)
    uri = table_uri(lake_root, DEDUP_SIGNATURES)
    old_rows = (spark.read.format("delta").load(uri).drop("shingle_set", "shingle_set_doc_id")
                .localCheckpoint(eager=True))
    old_rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true").partitionBy(
        "snapshot").save(uri)
    message = (f"dedup/signatures of ['{CRAWL_A}'] were written before shingle sets were stored, and "
               "exact verification needs them; rerun dedup of those crawls first, oldest first (or "
               "verify with verify_method='minhash')")
    before = _lake_state(spark, lake_root)
    with pytest.raises(ValueError) as error:
        run_dedup(spark, lake_root, CRAWL_B, config)
    assert str(error.value) == message and _lake_state(spark, lake_root) == before
    minhash = DedupConfig(verify_method="minhash", verify_threshold=None)
    assert run_dedup(spark, lake_root, CRAWL_B, minhash).earlier_crawls == [CRAWL_A]
    assert _decisions(spark, lake_root, CRAWL_B) == oracle(b_docs, a_docs, minhash)
    # the table has the columns now (B's rows), A's rows have nulls there: still an error
    with pytest.raises(ValueError) as error:
        run_dedup(spark, lake_root, CRAWL_B, config)
    assert str(error.value) == message
    run_dedup(spark, lake_root, CRAWL_A, config)
    assert run_dedup(spark, lake_root, CRAWL_B, config).cross_crawl_removed >= 1
    assert _decisions(spark, lake_root, CRAWL_B) == oracle(b_docs, a_docs, config)
