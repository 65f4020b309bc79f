"""The table contract between stages: Delta table paths under the lake root, and their schemas.

Plain Python and pyarrow only, so that Spark jobs, Ray jobs, Dagster assets and tests import it
without pulling in an engine. A Spark job turns a schema here into a Spark schema with
`spark_jobs.arrow_schema.to_spark_schema`.
"""
from __future__ import annotations

import re

import pyarrow as pa

# Crawl ids look like Common Crawl's (`CC-MAIN-2024-33`); the embedded sample crawl has its own id.
CRAWL_ID_PATTERN = re.compile(r"^CC-MAIN-(\d{4})-(\d{2})$")
SAMPLE_CRAWL_ID = "CC-MAIN-SAMPLE"


def validate_crawl_id(crawl_id: str) -> str:
    """Return the crawl id if it is a Common Crawl id or the sample id, else raise ValueError."""
    if crawl_id == SAMPLE_CRAWL_ID or CRAWL_ID_PATTERN.match(crawl_id):
        return crawl_id
    raise ValueError(
        f"{crawl_id!r} is not a crawl id: expected CC-MAIN-YYYY-WW (e.g. CC-MAIN-2024-33) "
        f"or {SAMPLE_CRAWL_ID}"
    )


# Table paths, relative to the lake root.
MANIFEST = "manifest"
BRONZE_DOCUMENTS = "bronze/documents"
BRONZE_ERRORS = "bronze/errors"
BRONZE_SKIPS = "bronze/skips"
SILVER_DOCUMENTS = "silver/documents"
SILVER_REJECTS = "silver/rejects"
DEDUP_DOCUMENTS = "dedup/documents"
DEDUP_SIGNATURES = "dedup/signatures"
DEDUP_CLUSTERS = "dedup/clusters"
DEDUP_REMOVED = "dedup/removed"


def table_uri(lake_root: str, table: str) -> str:
    """The URI of a table under the lake root (a local path or any URI Spark and delta-rs read)."""
    return lake_root.rstrip("/") + "/" + table


UTC_TS = pa.timestamp("us", tz="UTC")

# manifest: one row per selected WARC/WET file of a crawl.
MANIFEST_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),
        ("path", pa.string()),  # full URI of the file
        ("kind", pa.string()),  # warc | wet
        ("status", pa.string()),  # pending | done | failed
        ("n_documents", pa.int64()),
        ("n_errors", pa.int64()),
        ("error", pa.string()),  # why the file failed, when it did
        ("updated_at", UTC_TS),
        # What bronze read in the file (null until bronze processed it): every WARC record, the
        # responses and conversions among them, and what became of those: n_documents documents,
        # n_skipped rows in bronze/skips, n_record_errors rows in bronze/errors with a record_type
        # of response or conversion. Requests, metadata, warcinfo and other records are counted in
        # n_records only.
        ("n_records", pa.int64()),
        ("n_responses", pa.int64()),
        ("n_conversions", pa.int64()),
        ("n_skipped", pa.int64()),
        ("n_record_errors", pa.int64()),
    ]
)

# bronze/documents: one row per extracted document.
BRONZE_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),  # WARC-Record-ID of the response/conversion record
        ("snapshot", pa.string()),
        ("url", pa.string()),
        ("domain", pa.string()),
        ("fetch_time", UTC_TS),
        ("warc_path", pa.string()),
        ("offset", pa.int64()),  # byte offset of the record in the (compressed) file
        ("content_type", pa.string()),
        # how content_type was decided: http | warc_identified | sniffed | warc_record (WET)
        ("content_type_source", pa.string()),
        ("charset", pa.string()),  # the charset the payload was decoded with
        ("text", pa.string()),
        ("n_chars", pa.int64()),
        ("extractor", pa.string()),  # resiliparse | trafilatura | wet
    ]
)

# bronze/errors: one row per failure, with where it happened.
BRONZE_ERRORS_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),
        ("warc_path", pa.string()),
        ("offset", pa.int64()),  # -1 when the failure is not at a record (missing file, ...)
        ("record_id", pa.string()),
        ("reason", pa.string()),  # stable name, e.g. warc.parse_error, file.missing
        ("detail", pa.string()),
        # WARC-Type of the record the error stands in for (it gave no document and no skip row:
        # warc.truncated_record, extract.failed); null for errors of the file or of a byte range,
        # and for warc.content_length_mismatch (the record still has its own outcome)
        ("record_type", pa.string()),
        ("url", pa.string()),  # that record's WARC-Target-URI
    ]
)

# bronze/skips: one row per response or conversion record that gave no document and no error, with
# why (stable reason names: http_status.non_200, content_type.not_html, empty_text, not_http,
# payload_too_large). Requests, metadata and warcinfo records get no rows (counted in the manifest's
# n_records and the asset's skipped_by_reason). documents + skips + record errors of a file = its
# responses + conversions (the asset check bronze_counts_match_manifest).
BRONZE_SKIPS_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),
        ("warc_path", pa.string()),
        ("offset", pa.int64()),  # byte offset of the record in the (compressed) file
        ("record_id", pa.string()),  # WARC-Record-ID
        ("url", pa.string()),  # WARC-Target-URI
        ("record_type", pa.string()),  # response | conversion
        ("http_status", pa.int32()),  # null for conversions and non-HTTP responses
        ("content_type", pa.string()),  # the payload's MIME type as far as it was decided, or null
        ("content_type_source", pa.string()),  # how: http | warc_identified | sniffed | warc_record
        ("reason", pa.string()),
    ]
)

# silver/documents: the bronze columns (text after C4 line removal and PII scrubbing, n_chars of
# that text) + every statistic of the FineWeb and FineWeb2 filter recipes (presets `fineweb`,
# `fineweb2`), one column each, `<step>__<feature>`
# (the language step's are `language` and `language_score`), in recipe order; null where a step was
# switched off or did not get that far. Each filter declares its statistics in core/filters/ (its
# FilterStep); tests/test_silver_contract.py checks that they equal these columns.
SILVER_STATISTICS_SCHEMA = pa.schema(
    [
        # URL filter
        ("url__n_soft_words", pa.int64()),
        # language ID: top fastText label (FineWeb2/GlotLID: ISO 639-3 code) and its score; the
        # script (GlotLID, e.g. Latn; null with lid.176), the labels above 0.01 (FineWeb2:
        # `fra_Latn` -> score), and the word tokenizer the language was split with (FineWeb2)
        ("language", pa.string()),
        ("language_score", pa.float32()),
        ("script", pa.string()),
        ("language_top", pa.map_(pa.string(), pa.float32())),
        ("word_tokenizer", pa.string()),
        # Gopher repetition: duplicate paragraph/line shares, character shares of the top 2-4-grams
        # and of duplicated 5-10-grams
        ("gopher_repetition__dup_para_frac", pa.float64()),
        ("gopher_repetition__dup_para_char_frac", pa.float64()),
        ("gopher_repetition__dup_line_frac", pa.float64()),
        ("gopher_repetition__dup_line_char_frac", pa.float64()),
        ("gopher_repetition__top_2_gram_frac", pa.float64()),
        ("gopher_repetition__top_3_gram_frac", pa.float64()),
        ("gopher_repetition__top_4_gram_frac", pa.float64()),
        ("gopher_repetition__dup_5_gram_frac", pa.float64()),
        ("gopher_repetition__dup_6_gram_frac", pa.float64()),
        ("gopher_repetition__dup_7_gram_frac", pa.float64()),
        ("gopher_repetition__dup_8_gram_frac", pa.float64()),
        ("gopher_repetition__dup_9_gram_frac", pa.float64()),
        ("gopher_repetition__dup_10_gram_frac", pa.float64()),
        # Gopher quality: words (symbols excluded), per-word and per-line ratios, stop words
        ("gopher_quality__n_words", pa.int64()),
        ("gopher_quality__avg_word_length", pa.float64()),
        ("gopher_quality__hash_ratio", pa.float64()),
        ("gopher_quality__ellipsis_ratio", pa.float64()),
        ("gopher_quality__bullet_lines_ratio", pa.float64()),
        ("gopher_quality__end_ellipsis_lines_ratio", pa.float64()),
        ("gopher_quality__alpha_words_ratio", pa.float64()),
        ("gopher_quality__n_stop_words", pa.int64()),
        # C4: lines in and kept, sentences (null when the kept lines already reach the minimum),
        # lines removed per rule
        ("c4__n_lines", pa.int64()),
        ("c4__n_lines_kept", pa.int64()),
        ("c4__n_sentences", pa.int64()),
        ("c4__lines_removed_too_long_word", pa.int64()),
        ("c4__lines_removed_no_terminal_punct", pa.int64()),
        ("c4__lines_removed_too_few_words", pa.int64()),
        ("c4__lines_removed_javascript", pa.int64()),
        ("c4__lines_removed_policy", pa.int64()),
        # FineWeb quality: line and character ratios
        ("fineweb_quality__line_punct_ratio", pa.float64()),
        ("fineweb_quality__short_line_ratio", pa.float64()),
        ("fineweb_quality__char_dup_ratio", pa.float64()),
        ("fineweb_quality__list_ratio", pa.float64()),
        # FineWeb2 precision filter: the language is checked (contamination > 0.1), URL rule, share
        # of words in the language's word list
        ("precision__checked", pa.bool_()),
        ("precision__url_match", pa.bool_()),
        ("precision__wordlist_ratio", pa.float64()),
        # FineWeb2 FTFY: the text was changed
        ("ftfy__changed", pa.bool_()),
        # PII: addresses replaced
        ("pii__n_emails", pa.int64()),
        ("pii__n_ips", pa.int64()),
        # FineWeb2 table-line fix: lines of only `|` removed
        ("symbol_lines__n_lines_removed", pa.int64()),
    ]
)
SILVER_SCHEMA = pa.schema(list(BRONZE_SCHEMA) + list(SILVER_STATISTICS_SCHEMA))

# silver/rejects: the silver columns (text as it came from bronze) + why the document was dropped.
SILVER_REJECTS_SCHEMA = pa.schema(
    list(SILVER_SCHEMA)
    + [
        ("reason", pa.string()),  # first failing rule, e.g. gopher_quality.word_count, url.error
        ("error", pa.string()),  # the exception when reason is `<step>.error`, else null
    ]
)

# dedup/signatures: one row per silver document of a crawl, kept so later crawls compare against it
# without recomputing (spark_jobs.dedup.job). Only rows with the same minhash_params are comparable.
DEDUP_SIGNATURES_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("snapshot", pa.string()),
        ("fetch_time", UTC_TS),
        ("exact_hash", pa.string()),  # xxh3-128 hex of the normalized text (normalize.exact_key)
        ("n_words", pa.int32()),  # words after normalization
        ("n_shingles", pa.int32()),  # word n-gram positions; 0: no signature, never a candidate
        ("band_hashes", pa.list_(pa.int64())),  # num_bands LSH band hashes; null when n_shingles == 0
        ("minhash", pa.list_(pa.int64())),  # num_bands * rows_per_band values in [0, 2^61 - 1)
        ("minhash_params", pa.string()),  # e.g. b14r8n5s1: bands, rows per band, n-gram, seed
        # What exact verification needs, so that no later crawl re-reads this crawl's texts: the
        # sorted distinct 61-bit hashes of the text's word n-grams (8 bytes per distinct n-gram),
        # stored once per distinct text of the crawl, on the row named by shingle_set_doc_id
        # (the smallest doc_id among the byte-identical copies), null on the other copies.
        ("shingle_set", pa.list_(pa.int64())),
        ("shingle_set_doc_id", pa.string()),  # the row holding this text's shingle_set; null: written before
        # silver's language and script (null in a lake written before they were stored); with the
        # fineweb2 preset only rows of one language and script are compared
        ("language", pa.string()),
        ("script", pa.string()),
        # false: a silver reject of a quality filter, deduplicated before filtering (fineweb2 preset);
        # null in a lake written before (every row was a kept silver document then)
        ("passed_filters", pa.bool_()),
    ]
)

# dedup/documents: the silver columns of the kept documents + these two.
DEDUP_DOCUMENT_COLUMNS = pa.schema(
    [
        ("dup_cluster_id", pa.string()),  # doc_id of the cluster's representative (itself when kept)
        # documents of this crawl in its cluster, itself included (>= 1); with the fineweb2 preset
        # counted before filtering (members a quality filter rejected count too), as FineWeb2's
        # minhash_cluster_size
        ("dup_count", pa.int64()),
    ]
)

# dedup/removed: one row per removed document (its text stays in silver/documents).
DEDUP_REMOVED_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("snapshot", pa.string()),
        ("url", pa.string()),
        ("domain", pa.string()),
        ("fetch_time", UTC_TS),
        ("n_chars", pa.int64()),
        ("reason", pa.string()),  # dedup.exact | dedup.near
        ("duplicate_of", pa.string()),  # doc_id of the cluster's representative (the kept copy)
        ("duplicate_of_snapshot", pa.string()),  # its crawl: this one, or an earlier one
        ("cross_crawl", pa.bool_()),  # the representative is in an earlier crawl
        ("dup_cluster_id", pa.string()),  # == duplicate_of
        ("similarity", pa.float64()),  # MinHash-estimated Jaccard with duplicate_of (1.0 for exact)
    ]
)

# dedup/clusters: one row per duplicate cluster touching a crawl (>= 2 of its documents, or one or
# more of its documents duplicating an earlier crawl's document).
DEDUP_CLUSTERS_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),  # the crawl whose dedup run wrote the row
        ("dup_cluster_id", pa.string()),  # doc_id of the representative
        ("representative_snapshot", pa.string()),
        ("cross_crawl", pa.bool_()),  # representative in an earlier crawl (no member of this one kept)
        ("n_documents", pa.int64()),  # documents of this crawl in the cluster
        ("n_exact", pa.int64()),  # of which removed as exact copies
        ("n_near", pa.int64()),  # of which removed as near duplicates
        ("min_similarity", pa.float64()),  # smallest estimated Jaccard of a removed member with the representative
        # of the members in this crawl (all alike with the fineweb2 preset; one of them otherwise)
        ("language", pa.string()),
        ("script", pa.string()),
        # members rejected by a quality filter (fineweb2 preset, dedup before filtering; 0 otherwise),
        # counted in n_documents, n_exact, n_near and in the kept document's dup_count
        ("n_filtered", pa.int64()),
    ]
)

# dedup/pairs: the candidate edges of a crawl's dedup run, from its LSH buckets: with exact
# verification (the default) a bucket of up to `pair_bucket_max` (20) members links every pair of
# them and a larger one is linked as a star from its smallest member to each other member; with
# MinHash verification every bucket is a star. Each edge has its Jaccard (exact from the texts, or
# MinHash-estimated: see DedupConfig.verify_method) and whether it passed verification. Clusters are
# the connected components of the verified edges; the table says why each near duplicate was removed.
DEDUP_PAIRS = "dedup/pairs"
DEDUP_PAIRS_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),  # the crawl whose dedup run found the edge
        ("src_doc_id", pa.string()),
        ("src_snapshot", pa.string()),  # this crawl or an earlier one
        ("dst_doc_id", pa.string()),
        ("dst_snapshot", pa.string()),
        ("similarity", pa.float64()),  # exact Jaccard of word 5-grams, or the MinHash estimate (verify_method)
        ("verified", pa.bool_()),  # similarity >= verify_threshold (always true when verification is off)
    ]
)

# ----------------------------------------------------------------------------- model stages (Ray)
# Written by gpu_jobs through delta-rs, one commit per crawl partition (gpu_jobs.delta_io).

# scores/preselect: one row per document of dedup/documents: PreSelect's fastText score and the
# selection decision (top share of characters, or a fixed threshold).
SCORES_PRESELECT = "scores/preselect"
SCORES_PRESELECT_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("snapshot", pa.string()),
        ("score", pa.float64()),  # probability of the classifier's positive label, in [0, 1]
        ("selected", pa.bool_()),  # kept by the selection rule
        ("n_chars", pa.int64()),  # characters of the scored text (the share rule counts these)
        ("classifier", pa.string()),  # sha256 (first 16 hex) of the fastText model file that scored it
    ]
)

# models/preselect: PreSelect classifiers trained by the `preselect_model` asset, one directory per
# model (`<model_id>/model.bin` + `report.json`) and `latest.json` pointing at the newest
# (gpu_jobs.preselect.model_store). Files, not a Delta table.
PRESELECT_MODELS = "models/preselect"

# refined/documents: the documents that survive ProX refinement, with their (possibly) new text;
# refined/programs: one row per document that entered refinement, with the programs the backend wrote
# and what executing them did, so every edit is auditable and reversible (the original text stays in
# dedup/documents; the executor is deterministic, so original + programs give the text again).
# Balance: entered == refined/documents + programs with action "drop". Both tables carry the
# run_id of the stage run that wrote them: programs are committed first, documents second, and a
# crash between the two commits shows as two run ids (the stage's check fails; a rerun repairs it).
REFINED_DOCUMENTS = "refined/documents"
REFINED_DOCUMENTS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("snapshot", pa.string()),
        ("text", pa.string()),  # refined text (or the original when the action keeps it unchanged)
        ("n_chars", pa.int64()),
        ("action", pa.string()),  # refine | keep | keep_original (see core.prox.execute)
        ("run_id", pa.string()),  # the refined_documents run that wrote the row (== refined/programs')
    ]
)
REFINED_PROGRAMS = "refined/programs"
# one error of a program: its stage (doc | chunk), stable reason (prox.syntax, prox.prompt_too_long,
# ...), detail, the chunk whose program it is and the 0-based line of that program (null: whole program)
REFINED_PROGRAM_ERROR = pa.struct(
    [("stage", pa.string()), ("reason", pa.string()), ("detail", pa.string()), ("chunk", pa.int32()),
     ("line", pa.int32())]
)
REFINED_LINE_RANGE = pa.struct([("start", pa.int64()), ("end", pa.int64())])  # 0-based, inclusive
REFINED_PROGRAMS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("snapshot", pa.string()),
        ("run_id", pa.string()),
        ("backend", pa.string()),  # rule | transformers:<model>[+<model>] | vllm:<model>[+<model>]
        ("action", pa.string()),  # drop | refine | keep | keep_original (core.prox.execute.ACTIONS)
        ("reason", pa.string()),  # why dropped or kept original (prox.drop_doc, prox.removed_most, ...)
        ("decided_by", pa.string()),  # doc | chunk | input (prox.no_text: a null text)
        ("doc_action", pa.string()),  # the document stage's own action; null when it did not run
        ("doc_program", pa.string()),  # as written; null when the document stage did not run
        ("chunk_action", pa.string()),  # the chunk stage's action; null when it did not run
        ("chunk_programs", pa.list_(pa.string())),  # one per chunk, as written
        ("chunk_first_lines", pa.list_(pa.int64())),  # first global line number of each chunk
        ("errors", pa.list_(REFINED_PROGRAM_ERROR)),
        ("n_errors", pa.int64()),
        ("lines_removed", pa.list_(REFINED_LINE_RANGE)),  # merged ranges of the original's lines
        ("n_lines", pa.int64()),  # lines of the original ("\n"-separated)
        ("n_lines_removed", pa.int64()),
        ("chars_changed", pa.int64()),  # characters normalized plus characters of removed lines
        ("n_chars_before", pa.int64()),
        ("n_chars_after", pa.int64()),  # 0 when dropped
        ("n_words_before", pa.int64()),  # words as ProX counts them (len(text.split()))
        ("n_words_after", pa.int64()),
        ("new_tokens", pa.int64()),  # tokens the model generated for this document (0: rule writer)
        ("truncated_generations", pa.int64()),  # programs cut at the max new tokens of their stage
    ]
)

# shards/manifest: one row per training shard file pair of a crawl (Megatron .bin/.idx).
SHARDS_MANIFEST = "shards/manifest"
# The shard files themselves live under `shards/files/<crawl>/<plan>/shard_00000.{bin,idx,json}`,
# where <plan> is the first 16 hex digits of the plan's sha256 (what the bytes are made of), so a
# rerun with the same inputs finds its own complete shards and a changed input never overwrites the
# files an older manifest points to. `.json` is the completion marker, written last.
SHARDS_FILES = "shards/files"
SHARDS_MANIFEST_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),  # the source crawl
        ("shard", pa.int32()),  # index in the crawl's shard set, 0..n-1: the manifest order
        ("path", pa.string()),  # Megatron prefix (URI without .bin/.idx): what --data-path takes
        ("n_documents", pa.int64()),  # sequences in the shard (one per document copy)
        ("n_tokens", pa.int64()),  # tokens in the shard, end-of-document tokens included
        ("first_position", pa.int64()),  # position of its first document in the crawl's training order
        ("dtype", pa.string()),  # token dtype of the .bin: uint16 | int32
        ("bin_sha256", pa.string()),
        ("idx_sha256", pa.string()),
        ("bin_bytes", pa.int64()),
        ("idx_bytes", pa.int64()),
        ("seed", pa.int64()),  # the order's seed
        ("order", pa.string()),  # shuffle | related
        ("tokenizer_sha256", pa.string()),  # canonical-JSON sha256 of the tokenizer.json
        ("tokenizer_uri", pa.string()),
        ("eos_id", pa.int64()),  # end-of-document token appended to every document; null: none
        ("plan_sha256", pa.string()),  # sha256 of what the shard set's bytes are made of
        ("config", pa.string()),  # the stage configuration, JSON
        # The packed-sequence file beside the shard (config `packed_sequences`, core.shards.packed_files):
        # the shard's token stream cut into fixed-length rows. Null when packing was off, and in rows
        # written before these columns existed (delta-rs adds them to an older table's schema at the
        # next commit; its older rows read as null).
        ("packed_path", pa.string()),  # <prefix>.seq<N>-overlap<0|1>-<drop|pad<id>>.<npy|parquet>
        ("packed_format", pa.string()),  # npy | parquet
        ("packed_row_len", pa.int64()),  # tokens per row: seq_len, + 1 with the label token
        ("packed_sequences", pa.int64()),  # rows
        ("packed_tokens", pa.int64()),  # the shard's tokens in the rows, each counted once
        ("packed_dropped_tokens", pa.int64()),  # the shard's last partial row, dropped (remainder=drop)
        ("packed_padded_tokens", pa.int64()),  # pad ids filling the last row (remainder=pad)
        ("packed_sha256", pa.string()),
        ("packed_bytes", pa.int64()),
    ]
)

# shards/documents: one row per document of the crawl's dedup/documents partition: how many copies
# went into the shards (0 with the reason when none) and where each copy is.
SHARDS_DOCUMENTS = "shards/documents"
SHARDS_DOCUMENTS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("snapshot", pa.string()),
        ("repetitions", pa.int32()),  # copies in the shards; 0 when left out
        ("reason", pa.string()),  # why it was left out (mixing.not_selected, ...); null when in
        ("refined_action", pa.string()),  # refined/documents action when its text came from there
        ("n_tokens", pa.int64()),  # tokens of one copy, end-of-document token included; null if not tokenized
        ("token_hash", pa.int64()),  # xxh3-64 of one copy's token bytes; null if not tokenized
        ("positions", pa.list_(pa.int64())),  # positions of its copies in the crawl's training order
    ]
)

# shards/combined/<name>/: a blend of several crawls' shards read from their manifests
# (`data_args.txt` for Megatron's --data-args-path: "weight prefix" pairs; `blend.json`: the details).
SHARDS_COMBINED = "shards/combined"
