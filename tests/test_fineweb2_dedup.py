"""FineWeb2's deduplication (dedup preset `fineweb2`): per language and script, before the quality
filters, with words from each language's tokenizer, cluster sizes counted over every document that
passed language ID; and agreement with datatrove's MinhashDedup* steps under FineWeb2's config.

Texts: hand-built Chinese and Thai near duplicates (one phrase changed), and real translated prose
from the Debian Administrator's Handbook (`/usr/share/doc/debian-handbook`, Debian package
`debian-handbook`, six languages)."""
from __future__ import annotations

import glob
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from contract.tables import (
    BRONZE_DOCUMENTS, DEDUP_CLUSTERS, DEDUP_DOCUMENTS, DEDUP_REMOVED, DEDUP_SIGNATURES, SILVER_DOCUMENTS,
    SILVER_REJECTS, SILVER_SCHEMA, table_uri,
)
from core.dedup.language_words import segment_text
from core.dedup.minhash import MinHashParams, band_hashes, signatures
from core.dedup.normalize import jaccard_of_sets, normalize_text, shingles
from spark_jobs.dedup.inputs import silver_preset
from spark_jobs.dedup.job import REASON_EXACT, REASON_NEAR, DedupConfig, balance_ok, dedup_balance, run_dedup
from spark_jobs.delta_io import overwrite_where, partition_predicate

CRAWL_A = "CC-MAIN-2024-10"
CRAWL_B = "CC-MAIN-2024-18"
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
FW2 = DedupConfig(preset="fineweb2", cross_crawl=False)
FW = DedupConfig(preset="fineweb", cross_crawl=False)
SILVER_DDL = ("doc_id string, snapshot string, url string, domain string, fetch_time timestamp, text string, "
              "n_chars long, language string, language_score float, script string, word_tokenizer string")
REJECTS_DDL = SILVER_DDL + ", reason string"
HANDBOOK = Path("/usr/share/doc/debian-handbook/html")

ZH = ("北京是中华人民共和国的首都，也是全国的政治、文化和国际交往中心。这座城市有三千多年的建城史和八百多年的建都史，"
      "拥有众多的历史遗迹和文化景观。故宫位于北京中轴线的中心，是明清两代的皇家宫殿，现在已经成为世界上规模最大的古代宫殿建筑群之一。"
      "每年都有大量的游客从世界各地来到这里参观。除了故宫以外，长城、天坛和颐和园也是非常著名的旅游景点。"
      "近年来，北京的交通建设发展很快，地铁线路已经覆盖了城市的大部分地区，给市民的出行带来了很大的方便。")
ZH_NEAR = ZH.replace("大量的游客", "许多的游客").replace("非常著名", "十分著名")
TH = ("กรุงเทพมหานครเป็นเมืองหลวงและเมืองที่มีประชากรมากที่สุดของประเทศไทย เป็นศูนย์กลางการปกครอง การศึกษา "
      "การคมนาคมขนส่ง การเงินการธนาคาร การพาณิชย์ การสื่อสาร และความเจริญของประเทศ "
      "เมืองนี้ตั้งอยู่บนสามเหลี่ยมปากแม่น้ำเจ้าพระยา มีแม่น้ำเจ้าพระยาไหลผ่านและแบ่งเมืองออกเป็นสองฝั่ง "
      "คือฝั่งพระนครและฝั่งธนบุรี นักท่องเที่ยวจำนวนมากเดินทางมาเยี่ยมชมวัดพระแก้วและพระบรมมหาราชวังทุกปี "
      "อาหารริมทางของกรุงเทพก็มีชื่อเสียงไปทั่วโลก")
TH_NEAR = TH.replace("จำนวนมาก", "มากมาย").replace("การสื่อสาร", "การโทรคมนาคม")
FR = ("Le projet Debian est une association de personnes qui ont fait cause commune pour créer un système "
      "d'exploitation libre. Ce système d'exploitation s'appelle Debian. Il est composé de logiciels libres, "
      "dont le noyau Linux, et de milliers de paquets prêts à être installés sur votre ordinateur. "
      "Chaque version est préparée avec soin par des bénévoles du monde entier qui testent les paquets.")


# ---------------------------------------------------------------------------------------------
# lake helpers


def _row(doc_id, snapshot, text, minutes, language, script, reason=None):
    row = (doc_id, snapshot, f"https://example.org/{doc_id}", "example.org", T0 + timedelta(minutes=minutes),
           text, len(text), language, 0.9, script, "spacy:xx" if language else None)
    return row + (reason,) if reason else row


def _with_silver_contract(frame):
    """The frame with every other column of the silver contract as null, in contract order, so the
    dedup tables built from it have the schema the asset's dedup_schema check expects."""
    from spark_jobs.arrow_schema import to_spark_schema

    columns = []
    for field in to_spark_schema(SILVER_SCHEMA).fields:
        present = field.name in frame.columns
        columns.append(F.col(field.name).cast(field.dataType) if present else F.lit(None).cast(field.dataType).alias(field.name))
    return frame.select(*columns)


def write_crawl(spark, lake_root, snapshot, kept, rejects=()):
    """silver/documents and silver/rejects of a crawl: rows of `_row`."""
    overwrite_where(_with_silver_contract(spark.createDataFrame(list(kept), SILVER_DDL)),
                    table_uri(lake_root, SILVER_DOCUMENTS), partition_predicate(snapshot))
    overwrite_where(spark.createDataFrame(list(rejects), REJECTS_DDL), table_uri(lake_root, SILVER_REJECTS),
                    partition_predicate(snapshot))


def _outcome(spark, lake_root, snapshot) -> dict[str, tuple]:
    """doc_id -> ("kept", dup_count) or (reason, duplicate_of) for the crawl's silver documents."""
    docs = spark.read.format("delta").load(table_uri(lake_root, DEDUP_DOCUMENTS)).where(F.col("snapshot") == snapshot)
    removed = spark.read.format("delta").load(table_uri(lake_root, DEDUP_REMOVED)).where(F.col("snapshot") == snapshot)
    out = {r["doc_id"]: ("kept", r["dup_count"]) for r in docs.collect()}
    out.update({r["doc_id"]: (r["reason"], r["duplicate_of"]) for r in removed.collect()})
    return out


def _clusters(spark, lake_root, snapshot) -> dict[str, dict]:
    rows = spark.read.format("delta").load(table_uri(lake_root, DEDUP_CLUSTERS)).where(F.col("snapshot") == snapshot)
    return {r["dup_cluster_id"]: r.asDict() for r in rows.collect()}


@pytest.fixture
def lake_root(tmp_path):
    return str(tmp_path / "lake")


# ---------------------------------------------------------------------------------------------
# (a) words from the language's tokenizer


@pytest.mark.parametrize("language,text,near", [("cmn_Hani", ZH, ZH_NEAR), ("tha_Thai", TH, TH_NEAR)])
def test_language_words_find_near_duplicates_that_whitespace_words_miss(language, text, near):
    """Two phrases changed in a Chinese or Thai paragraph: its punctuation- and space-separated runs
    are so few and long that most whitespace 5-grams change (Jaccard < 0.3, which LSH finds with
    probability 1 - (1 - 0.3^8)^14 < 0.1%; here no band in common), while the language's words keep
    Jaccard >= 0.8 and share LSH bands."""
    a, b = normalize_text(text), normalize_text(near)
    assert jaccard_of_sets(shingles(a), shingles(b)) < 0.3
    words_a, words_b = segment_text(a, language), segment_text(b, language)
    assert len(words_a.split()) > 3 * len(a.split())
    assert jaccard_of_sets(shingles(words_a), shingles(words_b)) >= 0.8
    whitespace, by_language = MinHashParams(), MinHashParams(words="language")
    flat = band_hashes(signatures([text, near], whitespace), whitespace)
    split = band_hashes(signatures([text, near], by_language, [language, language]), by_language)
    assert (flat[0] == flat[1]).sum() == 0 and (split[0] == split[1]).sum() >= 1


def test_english_and_unlabelled_texts_keep_the_whitespace_fast_path():
    text = normalize_text(FR.replace("Debian", "Debian's"))
    assert segment_text(text, "eng_Latn") == text and segment_text(text, None) == text
    with pytest.raises(ValueError, match="need `languages`"):
        signatures([FR], MinHashParams(words="language"))


def test_cjk_and_thai_near_duplicates_are_removed_only_by_the_fineweb2_preset(spark, lake_root):
    """Verified exactly at Jaccard 0.8 (the pairs above are at 0.82)."""
    kept = [_row("zh1", CRAWL_A, ZH, 1, "cmn", "Hani"), _row("zh2", CRAWL_A, ZH_NEAR, 2, "cmn", "Hani"),
            _row("th1", CRAWL_A, TH, 3, "tha", "Thai"), _row("th2", CRAWL_A, TH_NEAR, 4, "tha", "Thai")]
    write_crawl(spark, lake_root, CRAWL_A, kept)
    result = run_dedup(spark, lake_root, CRAWL_A, DedupConfig(preset="fineweb2", cross_crawl=False,
                                                              verify_threshold=0.8))
    assert _outcome(spark, lake_root, CRAWL_A) == {
        "zh1": ("kept", 2), "zh2": (REASON_NEAR, "zh1"), "th1": ("kept", 2), "th2": (REASON_NEAR, "th1")}
    assert result.kept_by_language == {"cmn_Hani": 1, "tha_Thai": 1}
    assert result.removed_by_language == {"cmn_Hani": 1, "tha_Thai": 1}
    assert {c: (r["language"], r["script"]) for c, r in _clusters(spark, lake_root, CRAWL_A).items()} == {
        "zh1": ("cmn", "Hani"), "th1": ("tha", "Thai")}
    run_dedup(spark, lake_root, CRAWL_A, DedupConfig(cross_crawl=False, verify_threshold=0.8))  # whitespace words
    assert _outcome(spark, lake_root, CRAWL_A) == {d: ("kept", 1) for d in ("zh1", "zh2", "th1", "th2")}


# ---------------------------------------------------------------------------------------------
# (b) no pairs across languages


def test_identical_texts_labelled_with_different_languages_are_not_merged(spark, lake_root):
    """Byte-identical and near-identical texts: merged within fra_Latn, never with the oci_Latn or
    the script-less `fra` copies; the fineweb preset (one pool) merges them all."""
    near = FR + " Merci beaucoup."
    kept = [_row("f1", CRAWL_A, FR, 1, "fra", "Latn"), _row("f2", CRAWL_A, FR, 2, "fra", "Latn"),
            _row("o1", CRAWL_A, FR, 3, "oci", "Latn"), _row("o2", CRAWL_A, near, 4, "oci", "Latn"),
            _row("n1", CRAWL_A, FR, 5, "fra", None)]
    write_crawl(spark, lake_root, CRAWL_A, kept)
    run_dedup(spark, lake_root, CRAWL_A, FW2)
    assert _outcome(spark, lake_root, CRAWL_A) == {
        "f1": ("kept", 2), "f2": (REASON_EXACT, "f1"), "o1": ("kept", 2), "o2": (REASON_NEAR, "o1"),
        "n1": ("kept", 1)}
    signature_rows = (spark.read.format("delta").load(table_uri(lake_root, DEDUP_SIGNATURES))
                      .select("doc_id", "language", "script", "passed_filters", "minhash_params").collect())
    assert {r["doc_id"]: (r["language"], r["script"], r["passed_filters"], r["minhash_params"])
            for r in signature_rows}["o1"] == ("oci", "Latn", True, "b14r8n5s1-wlang")
    run_dedup(spark, lake_root, CRAWL_A, FW)
    assert _outcome(spark, lake_root, CRAWL_A) == {
        "f1": ("kept", 5), "f2": (REASON_EXACT, "f1"), "o1": (REASON_EXACT, "f1"), "o2": (REASON_NEAR, "f1"),
        "n1": (REASON_EXACT, "f1")}


def test_cross_crawl_fineweb2_stays_within_the_language(spark, lake_root):
    write_crawl(spark, lake_root, CRAWL_A, [_row("a1", CRAWL_A, ZH, 1, "cmn", "Hani")])
    write_crawl(spark, lake_root, CRAWL_B, [_row("b1", CRAWL_B, ZH_NEAR, 1, "cmn", "Hani"),
                                            _row("b2", CRAWL_B, ZH, 2, "zho", "Hani")])
    config = DedupConfig(preset="fineweb2", verify_threshold=0.8)
    run_dedup(spark, lake_root, CRAWL_A, config)
    result = run_dedup(spark, lake_root, CRAWL_B, config)
    assert result.earlier_crawls == [CRAWL_A] and result.cross_crawl_removed == 1
    assert _outcome(spark, lake_root, CRAWL_B) == {"b1": (REASON_NEAR, "a1"), "b2": ("kept", 1)}
    # signatures by language words cannot be compared with whitespace ones: a clear error, nothing written
    with pytest.raises(ValueError, match="other MinHash parameters"):
        run_dedup(spark, lake_root, CRAWL_B, DedupConfig(preset="fineweb"))


# ---------------------------------------------------------------------------------------------
# (c) before filtering: cluster sizes over every document that passed language ID


def _before_filtering_crawl(spark, lake_root):
    """a1 kept; b1 (its exact copy, gopher_quality reject), c1 (a near copy, fineweb_quality reject)
    count in its cluster; d1 (language reject) and e1 (url reject) never reach dedup. f1 kept, but g1,
    an exact copy fetched earlier, is its cluster's survivor and a gopher_repetition reject. h1 is
    kept alone. a1's silver text had its e-mail address replaced; bronze has the original, as b1."""
    raw = FR + " Contact: jean.dupont@example.org"
    other = FR.replace("Debian", "Ubuntu").replace("libre", "ouvert").replace("paquets", "logiciels")
    kept = [_row("a1", CRAWL_A, FR + " Contact: email@example.com", 10, "fra", "Latn"),
            _row("f1", CRAWL_A, other, 10, "fra", "Latn"),
            _row("h1", CRAWL_A, ZH, 10, "cmn", "Hani")]
    rejects = [_row("b1", CRAWL_A, raw, 11, "fra", "Latn", "gopher_quality.stop_words"),
               _row("c1", CRAWL_A, raw + " Merci beaucoup.", 12, "fra", "Latn",
                    "fineweb_quality.line_punct_ratio"),
               _row("d1", CRAWL_A, raw, 1, "fra", "Latn", "language.below_threshold"),
               _row("e1", CRAWL_A, raw, 2, None, None, "url.blocklist_domain"),
               _row("g1", CRAWL_A, other, 3, "fra", "Latn", "gopher_repetition.dup_line_frac")]
    write_crawl(spark, lake_root, CRAWL_A, kept, rejects)
    bronze = spark.createDataFrame([("a1", CRAWL_A, raw)], "doc_id string, snapshot string, text string")
    overwrite_where(bronze, table_uri(lake_root, BRONZE_DOCUMENTS), partition_predicate(CRAWL_A))


def test_cluster_sizes_are_counted_before_the_quality_filters(spark, lake_root):
    _before_filtering_crawl(spark, lake_root)
    result = run_dedup(spark, lake_root, CRAWL_A, FW2)
    assert _outcome(spark, lake_root, CRAWL_A) == {
        "a1": ("kept", 3), "f1": (REASON_EXACT, "g1"), "h1": ("kept", 1)}
    clusters = _clusters(spark, lake_root, CRAWL_A)
    assert {c: (r["n_documents"], r["n_exact"], r["n_near"], r["n_filtered"]) for c, r in clusters.items()} == {
        "a1": (3, 1, 1, 2), "g1": (2, 1, 0, 1)}
    assert (result.kept, result.exact_removed, result.near_removed) == (2, 1, 0)
    assert result.filtered_inputs == 3 and result.removed_for_filtered_survivor == 1
    assert result.kept_by_language == {"cmn_Hani": 1, "fra_Latn": 1}
    counts = dedup_balance(spark, lake_root, CRAWL_A)
    assert counts["filtered_in_kept_clusters"] == 2 and counts["removed_within_crawl"] == 0
    assert balance_ok(counts)
    passed = {r["doc_id"]: r["passed_filters"] for r in spark.read.format("delta")
              .load(table_uri(lake_root, DEDUP_SIGNATURES)).collect()}
    assert passed == {"a1": True, "f1": True, "h1": True, "b1": False, "c1": False, "g1": False}


def test_the_fineweb_preset_deduplicates_silver_documents_only(spark, lake_root):
    """(d) The default preset reads neither rejects nor bronze: a1 (silver text with the address
    replaced) and f1 are kept alone, as before this preset existed."""
    _before_filtering_crawl(spark, lake_root)
    result = run_dedup(spark, lake_root, CRAWL_A, FW)
    assert _outcome(spark, lake_root, CRAWL_A) == {d: ("kept", 1) for d in ("a1", "f1", "h1")}
    assert result.filtered_inputs == 0 and balance_ok(dedup_balance(spark, lake_root, CRAWL_A))
    assert {r["minhash_params"] for r in spark.read.format("delta")
            .load(table_uri(lake_root, DEDUP_SIGNATURES)).collect()} == {"b14r8n5s1"}


def test_silver_preset_is_read_from_the_word_tokenizer_column(spark, lake_root):
    write_crawl(spark, lake_root, CRAWL_A, [_row("a1", CRAWL_A, FR, 1, "fra", "Latn")])
    assert silver_preset(spark, lake_root, CRAWL_A) == "fineweb2"
    plain = [_row("a1", CRAWL_B, FR, 1, "fr", None)[:-1] + (None,)]
    write_crawl(spark, lake_root, CRAWL_B, plain)
    assert silver_preset(spark, lake_root, CRAWL_B) == "fineweb"


# ---------------------------------------------------------------------------------------------
# a lake written before language, script, passed_filters and n_filtered existed


def test_cross_crawl_against_a_lake_written_before_the_language_columns(spark, lake_root):
    other = FR.replace("Debian", "Ubuntu").replace("libre", "ouvert").replace("paquets", "logiciels")
    write_crawl(spark, lake_root, CRAWL_A, [_row("a1", CRAWL_A, FR, 1, "fra", "Latn"),
                                            _row("a2", CRAWL_A, other, 2, "fra", "Latn"),
                                            _row("a3", CRAWL_A, other, 3, "fra", "Latn")])
    run_dedup(spark, lake_root, CRAWL_A, DedupConfig())
    for table, columns in ((DEDUP_SIGNATURES, ("language", "script", "passed_filters")),
                           (DEDUP_CLUSTERS, ("language", "script", "n_filtered"))):
        uri = table_uri(lake_root, table)
        old = spark.read.format("delta").load(uri).drop(*columns).localCheckpoint(eager=True)
        old.write.format("delta").mode("overwrite").option("overwriteSchema", "true").partitionBy(
            "snapshot").save(uri)
    write_crawl(spark, lake_root, CRAWL_B, [_row("b1", CRAWL_B, FR + " Merci beaucoup.", 1, "fra", "Latn"),
                                            _row("b2", CRAWL_B, ZH, 2, "cmn", "Hani"),
                                            _row("b3", CRAWL_B, ZH, 3, "cmn", "Hani")])
    result = run_dedup(spark, lake_root, CRAWL_B, DedupConfig())
    assert result.earlier_crawls == [CRAWL_A] and result.cross_crawl_removed == 1
    assert _outcome(spark, lake_root, CRAWL_B) == {
        "b1": (REASON_NEAR, "a1"), "b2": ("kept", 2), "b3": (REASON_EXACT, "b2")}
    assert balance_ok(dedup_balance(spark, lake_root, CRAWL_B))
    rows = spark.read.format("delta").load(table_uri(lake_root, DEDUP_SIGNATURES)).collect()
    assert {r["doc_id"]: r["language"] for r in rows} == {"a1": None, "a2": None, "a3": None, "b1": "fra",
                                                          "b2": "cmn", "b3": "cmn"}
    assert _clusters(spark, lake_root, CRAWL_B)["b2"]["n_filtered"] == 0


# ---------------------------------------------------------------------------------------------
# (e) agreement with datatrove's MinhashDedup* steps under FineWeb2's config

HANDBOOK_LANGUAGES = {"fr-FR": "fra_Latn", "de-DE": "deu_Latn", "ru-RU": "rus_Cyrl", "ar-MA": "arb_Arab",
                      "zh-CN": "cmn_Hani", "ja-JP": "jpn_Jpan"}


def handbook_documents(folder: str, n_pages: int = 3, lines_per_doc: int = 12) -> list[str]:
    """Documents of `lines_per_doc` consecutive lines of prose from the first pages of a translation."""
    from resiliparse.extract.html2text import extract_plain_text

    docs = []
    for path in sorted(glob.glob(str(HANDBOOK / folder / "sect.*.html")))[:n_pages]:
        text = extract_plain_text(Path(path).read_text(encoding="utf-8"), main_content=True)
        lines = [line for line in text.splitlines() if len(line.split()) >= 3 or len(line) >= 20]
        docs += ["\n".join(lines[i:i + lines_per_doc]) for i in range(0, len(lines) - lines_per_doc + 1,
                                                                         lines_per_doc)]
    return docs


def multilingual_corpus() -> list[tuple[str, str, str]]:
    """(doc_id, lang_script, text): handbook documents, and per document one of: an exact copy, a
    near copy without its shortest inner line (Jaccard ~0.95: LSH finds it with probability ~1), or
    its first third (Jaccard ~0.3: found with probability ~0.0002)."""
    rows = []
    for folder, language in HANDBOOK_LANGUAGES.items():
        for i, text in enumerate(handbook_documents(folder)):
            doc_id = f"{language}-{i:02d}"
            rows.append((doc_id, language, text))
            lines = text.split("\n")
            if i % 3 == 0:
                rows.append((f"{doc_id}-copy", language, text))
            elif i % 3 == 1:
                shortest = min(range(1, len(lines) - 1), key=lambda k: len(lines[k]))
                rows.append((f"{doc_id}-near", language, "\n".join(lines[:shortest] + lines[shortest + 1:])))
            else:
                rows.append((f"{doc_id}-third", language, "\n".join(lines[:len(lines) // 3])))
    return rows


def datatrove_fineweb2_dedup(rows, workdir: Path) -> tuple[list[list[str]], dict[str, int]]:
    """datatrove 0.10.1's four MinHash steps per language with fineweb-2-pipeline.py's MinhashConfig
    (xxhash, 64 bits, 14 buckets x 8 hashes, 5-grams, `language=lang_script`): the clusters (sorted
    doc_id lists, singletons included) and each kept document's `minhash_cluster_size`."""
    from datatrove.data import Document
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
    from datatrove.utils.hashing import HashConfig

    config = MinhashConfig(hash_config=HashConfig(hash_fc="xxhash", precision=64), num_buckets=14,
                           hashes_per_bucket=8, n_grams=5)
    groups: dict[tuple, list[str]] = {}
    sizes: dict[str, int] = {}
    for language in sorted({r[1] for r in rows}):
        docs = [Document(text=text, id=doc_id) for doc_id, lang, text in rows if lang == language]
        base = workdir / language
        MinhashDedupSignature(output_folder=str(base / "sigs"), config=config, language=language).run(docs, 0, 1)
        for bucket in range(config.num_buckets):
            MinhashDedupBuckets(input_folder=str(base / "sigs"), output_folder=str(base / "buckets"),
                                config=config).run(None, bucket, config.num_buckets)
        MinhashDedupCluster(input_folder=str(base / "buckets"), output_folder=str(base / "remove"), config=config,
                            save_cluster_id=True, save_cluster_size=True).run(None, 0, 1)
        clusters_file = base / "remove" / "000000.clusters"
        cluster_of = dict(struct.iter_unpack("<2I", clusters_file.read_bytes())) if clusters_file.exists() else {}
        for index, doc in enumerate(docs):
            groups.setdefault((language, cluster_of.get(index, f"alone:{doc.id}")), []).append(doc.id)
        for doc in MinhashDedupFilter(input_folder=str(base / "remove"), load_cluster_sizes=True).run(iter(docs), 0, 1):
            sizes[doc.id] = doc.metadata.get("minhash_cluster_size", 1)
    return sorted(sorted(g) for g in groups.values()), sizes


def test_decisions_agree_with_datatrove_minhash_under_the_fineweb2_config(spark, lake_root, tmp_path):
    """Same clusters (so the same number of documents kept per language and the same cluster sizes)
    as datatrove's MinhashDedupSignature/Buckets/Cluster/Filter with FineWeb2's config, on 6 languages
    of real prose. Our run turns verification off, as FineWeb2 has none. Which member of a cluster is
    kept differs by design (datatrove: the root of its union-find, by cluster size; here: the
    earliest fetch), so clusters and sizes are compared, not the kept doc_id."""
    rows = multilingual_corpus()
    assert len({r[1] for r in rows}) == 6 and len(rows) >= 48  # 3 pages of each translation: 54 rows
    kept = [_row(doc_id, CRAWL_A, text, i, *language.split("_")) for i, (doc_id, language, text) in enumerate(rows)]
    write_crawl(spark, lake_root, CRAWL_A, kept)
    config = DedupConfig(preset="fineweb2", verify_threshold=None, verify_method="minhash", cross_crawl=False)
    result = run_dedup(spark, lake_root, CRAWL_A, config)
    outcome = _outcome(spark, lake_root, CRAWL_A)
    ours: dict[str, list[str]] = {}
    for doc_id, (decision, other) in outcome.items():
        ours.setdefault(doc_id if decision == "kept" else other, []).append(doc_id)
    reference, reference_sizes = datatrove_fineweb2_dedup(rows, tmp_path / "datatrove")
    assert sorted(sorted(g) for g in ours.values()) == reference
    assert sorted(n for d, (decision, n) in outcome.items() if decision == "kept") == sorted(reference_sizes.values())
    assert sum(result.kept_by_language.values()) == len(reference_sizes) == len(reference)
    pairs = [g for g in reference if len(g) > 1]
    assert all(len(g) == 2 and not g[1].endswith("-third") for g in pairs) and len(pairs) >= 2 * len(rows) // 9


def test_the_asset_follows_silver_preset_and_reports_documents_per_language(spark, lake_root):
    """dedup_documents with its default config on a crawl that silver filtered with FineWeb2's recipe:
    FineWeb2's dedup, kept and removed documents per language (table and PNG chart), a passing check."""
    from dagster import DagsterInstance, materialize

    from assets.dedup import dedup_documents
    from resources import LakeResource, SparkResource
    from resources.partitions import crawl_partitions

    _before_filtering_crawl(spark, lake_root)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL_A])
        result = materialize([dedup_documents], partition_key=CRAWL_A, instance=instance,
                             resources={"spark": SparkResource(), "lake": LakeResource(root=lake_root)})
    [materialization] = result.asset_materializations_for_node("dedup_documents")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["preset"] == "fineweb2" and metadata["filtered_inputs"] == 3
    assert "| fra_Latn | 1 |" in metadata["kept_by_language"] and "| cmn_Hani | 1 |" in metadata["kept_by_language"]
    assert "| fra_Latn | 1 |" in metadata["removed_by_language"]
    assert metadata["kept_by_language_chart"].startswith("![") and "data:image/png;base64," in metadata[
        "kept_by_language_chart"]
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"dedup_counts_balance": True, "dedup_schema": True, "dedup_unique_doc_id": True,
                      "dedup_keep_rate": True}
