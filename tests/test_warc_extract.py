"""Extraction of real Common Crawl files and of damaged ones, without Spark."""
from __future__ import annotations

import gzip
import io

from core.warc.extract import (
    ExtractionConfig, ExtractionError, Skip, decode_html, domain_of, extract_file, parse_warc_date,
)
from tests.conftest import WARC_2020, WET_LF_ONLY, WET_REPAIRED, WHIRLWIND_WARC, WHIRLWIND_WET


def split(events):
    docs = [e for e in events if isinstance(e, dict)]
    errors = [e for e in events if isinstance(e, ExtractionError)]
    skips = [e.reason for e in events if isinstance(e, Skip)]
    return docs, errors, skips


def test_lf_only_wet_recovers_the_same_documents_as_the_repaired_file():
    good, good_errors, _ = split(list(extract_file(str(WET_REPAIRED), "S")))
    bad, bad_errors, _ = split(list(extract_file(str(WET_LF_ONLY), "S")))
    assert not good_errors and len(good) == 68
    assert [d["doc_id"] for d in bad] == [d["doc_id"] for d in good]
    assert [d["url"] for d in bad] == [d["url"] for d in good]
    # The repaired file has CRLF only in headers; the texts are the same.
    same = sum(a["text"] == b["text"] for a, b in zip(good, bad))
    assert same == 68
    reasons = {e.reason for e in bad_errors}
    assert reasons == {"warc.parse_error", "warc.content_length_mismatch"}


def test_wet_and_warc_of_the_same_page_agree_on_identity():
    warc, _, _ = split(list(extract_file(str(WHIRLWIND_WARC), "S")))
    wet, _, _ = split(list(extract_file(str(WHIRLWIND_WET), "S")))
    assert warc[0]["url"] == wet[0]["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert "Escopete" in warc[0]["text"] and warc[0]["charset"] == "utf-8"


def test_truncated_file_keeps_complete_records_and_reports_the_cut(tmp_path):
    data = WARC_2020.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    docs, errors, _ = split(list(extract_file(str(cut), "S")))
    assert 0 < len(docs) < 16
    assert [e.reason for e in errors] == ["warc.truncated_record"]
    assert errors[0].offset > 0


def test_corrupt_gzip_member_is_an_error_with_offset_and_other_records_are_kept(tmp_path):
    data = bytearray(WARC_2020.read_bytes())
    data[40000:40100] = b"\x00" * 100
    bad = tmp_path / "corrupt.warc.gz"
    bad.write_bytes(bytes(data))
    docs, errors, _ = split(list(extract_file(str(bad), "S")))
    assert len(docs) >= 3
    assert errors and errors[0].reason in {"gzip.corrupt", "warc.parse_error"}
    assert any(e.reason.startswith("gzip.") for e in errors)


def test_garbage_empty_and_missing_files(tmp_path):
    garbage = tmp_path / "garbage.warc"
    garbage.write_bytes(b"hello, this is not a WARC file\n" * 50)
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    for path, reason in [(garbage, "warc.no_records"), (empty, "file.empty"),
                         (tmp_path / "nope.warc.gz", "file.missing")]:
        events = list(extract_file(str(path), "S"))
        _, errors, _ = split(events)
        assert reason in [e.reason for e in errors], (path, events)


def test_skips_are_counted_by_reason():
    _, _, skips = split(list(extract_file(str(WARC_2020), "S")))
    assert skips.count("record_type.request") == 17
    assert skips.count("record_type.metadata") == 16


def test_oversized_payloads_are_skipped():
    docs, _, skips = split(list(extract_file(str(WARC_2020), "S",
                                             ExtractionConfig(max_payload_bytes=20_000))))
    assert skips.count("payload_too_large") > 0
    assert len(docs) + skips.count("payload_too_large") == 16


def test_decode_html_uses_known_charset_and_detects_unknown_ones():
    text = "Привет, мир! Это страница в кодировке windows-1251. " * 5
    payload = f"<html><body><p>{text}</p></body></html>".encode("cp1251")
    decoded, charset = decode_html(payload, "windows-1251")
    assert "Привет" in decoded and charset == "cp1251"
    decoded, charset = decode_html(payload, "x-made-up-charset")
    assert "Привет" in decoded
    decoded, _ = decode_html(b"\xff\xfe\xfa bytes \x80\x81 that are not text", None)
    assert isinstance(decoded, str)


def test_small_helpers():
    assert domain_of("https://User@Example.COM:8080/a?b") == "example.com"
    assert domain_of("not a url") == ""
    assert parse_warc_date("2020-08-08T17:27:41Z").isoformat() == "2020-08-08T17:27:41+00:00"
    assert parse_warc_date("garbage") is None


def test_documents_are_exactly_the_html_200_responses_an_independent_reader_sees():
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    expected = {}
    with open(WARC_2020, "rb") as stream:
        for record in WarcioIterator(stream):
            if record.rec_type != "response":
                continue
            content_type = (record.http_headers.get_header("Content-Type") or "").split(";")[0]
            if record.http_headers.get_statuscode() == "200" and content_type.strip() == "text/html":
                expected[record.rec_headers.get_header("WARC-Record-ID")] = \
                    record.rec_headers.get_header("WARC-Target-URI")
    docs, _, _ = split(list(extract_file(str(WARC_2020), "S")))
    assert {d["doc_id"]: d["url"] for d in docs} == expected
    assert len(expected) == 16


def test_trafilatura_extracts_the_same_pages_with_its_own_text():
    resiliparse = {d["doc_id"]: d for d in split(list(extract_file(str(WARC_2020), "S")))[0]}
    trafilatura, errors, _ = split(list(extract_file(
        str(WARC_2020), "S", ExtractionConfig(extractor="trafilatura"))))
    assert not errors
    assert {d["doc_id"] for d in trafilatura} == set(resiliparse) and len(trafilatura) == 16
    assert {d["extractor"] for d in trafilatura} == {"trafilatura"}
    assert all(d["text"].strip() and d["n_chars"] == len(d["text"]) for d in trafilatura)
    assert all(d["url"] == resiliparse[d["doc_id"]]["url"] for d in trafilatura)
    assert all(d["text"] != resiliparse[d["doc_id"]]["text"] for d in trafilatura)


def test_trafilatura_favor_precision_reaches_trafilatura():
    precise = {d["doc_id"]: d["text"] for d in split(list(extract_file(
        str(WHIRLWIND_WARC), "S", ExtractionConfig(extractor="trafilatura"))))[0]}
    loose = {d["doc_id"]: d["text"] for d in split(list(extract_file(
        str(WHIRLWIND_WARC), "S",
        ExtractionConfig(extractor="trafilatura", trafilatura_favor_precision=False))))[0]}
    assert precise.keys() == loose.keys() and len(precise) == 1
    (doc_id,) = precise
    assert "Escopete" in precise[doc_id]
    assert precise[doc_id] != loose[doc_id]
    assert len(precise[doc_id]) < len(loose[doc_id])  # precision keeps less
