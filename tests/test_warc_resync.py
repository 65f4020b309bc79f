"""No page lost to one damaged gzip member: reading resumes at the next member that starts a WARC
record, every record outside the damaged member comes out as from the undamaged file, and one
`gzip.corrupt_member` error names the skipped compressed range.

Damage is made on a copy of the real Common Crawl fixture (50 gzip members, one per record, 16 HTML
responses); member boundaries are found here with plain zlib, independently of the reader."""
from __future__ import annotations

import gzip
import io
import os
import random
import tracemalloc
import zlib

import pytest

from core.warc import gzip_members
from core.warc.extract import ExtractionError, Skip, extract_file
from core.warc.lenient import LenientError, LenientRecord, iter_records
from tests.conftest import WARC_2020

DAMAGE_BYTES = 200


def member_starts(data: bytes) -> list[int]:
    """Compressed offset of every gzip member, by inflating one member at a time."""
    starts, position = [], 0
    while position < len(data):
        starts.append(position)
        inflater = zlib.decompressobj(31)
        inflater.decompress(data[position:])
        position = len(data) - len(inflater.unused_data)
    return starts


def damaged(data: bytes, start: int, length: int = DAMAGE_BYTES) -> bytes:
    """`length` bytes from `start` inverted (every bit flipped)."""
    out = bytearray(data)
    for index in range(start, min(start + length, len(out))):
        out[index] ^= 0xFF
    return bytes(out)


def split(events):
    docs = [e for e in events if isinstance(e, dict)]
    errors = [e for e in events if isinstance(e, ExtractionError)]
    skips = sorted(e.reason for e in events if isinstance(e, Skip))
    return docs, errors, skips


def without_path(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "warc_path"}


@pytest.fixture(scope="module")
def original():
    data = WARC_2020.read_bytes()
    starts = member_starts(data)
    docs, errors, skips = split(list(extract_file(str(WARC_2020), "S")))
    assert not errors and len(docs) == 16 and len(starts) == 50
    return {"data": data, "starts": starts, "docs": {d["doc_id"]: without_path(d) for d in docs},
            "offsets": {d["offset"]: d["doc_id"] for d in docs}, "skips": skips}


def member_range(original, index: int) -> tuple[int, int]:
    starts = original["starts"] + [len(original["data"])]
    return starts[index], starts[index + 1]


def response_member(original, nth: int) -> int:
    """Index of the member holding the nth HTML response (a document in the undamaged file)."""
    offsets = sorted(original["offsets"])
    return original["starts"].index(offsets[nth])


def run(tmp_path, data: bytes, name: str = "damaged.warc.gz"):
    path = tmp_path / name  # a copy: the shared fixture is never modified
    path.write_bytes(data)
    return split(list(extract_file(str(path), "S")))


def corrupt_member_errors(errors):
    return [e for e in errors if e.reason == "gzip.corrupt_member"]


def assert_recovered_exactly(original, docs, lost_doc_ids):
    assert {d["doc_id"] for d in docs} == set(original["docs"]) - set(lost_doc_ids)
    for doc in docs:
        assert without_path(doc) == original["docs"][doc["doc_id"]]  # offset and text included


@pytest.mark.parametrize("where", ["middle", "near_the_end", "gzip_header_flags", "gzip_magic"])
def test_one_damaged_member_loses_only_its_own_record(tmp_path, original, where):
    index = response_member(original, 4)
    start, end = member_range(original, index)
    at = {"middle": start + (end - start) // 2, "near_the_end": end - DAMAGE_BYTES - 8,
          "gzip_header_flags": start + 3, "gzip_magic": start}[where]
    docs, errors, skips = run(tmp_path, damaged(original["data"], at))
    lost = original["offsets"][start]
    assert_recovered_exactly(original, docs, [lost])
    assert skips == original["skips"]  # no record counted twice, none lost besides the damaged one
    [error] = corrupt_member_errors(errors)
    assert error.offset == start
    assert f"[{start}, {end})" in error.detail
    if where in ("middle", "near_the_end"):  # the record's headers precede the damage
        assert error.record_id == lost
    # Besides it, only the note that fastwarc gave up (at no record offset).
    assert [(e.reason, e.offset) for e in errors if e is not error] in (
        [("gzip.corrupt", -1)], [("warc.parse_error", -1)])


def test_damage_in_the_first_member(tmp_path, original):
    start, end = member_range(original, 0)  # the warcinfo record
    docs, errors, skips = run(tmp_path, damaged(original["data"], start + 100))
    assert_recovered_exactly(original, docs, [])
    assert skips.count("record_type.warcinfo") == 0
    assert len(skips) == len(original["skips"]) - 1
    [error] = corrupt_member_errors(errors)
    assert (error.offset, f"[{start}, {end})" in error.detail) == (0, True)


def test_damage_in_the_last_member(tmp_path, original):
    start, end = member_range(original, len(original["starts"]) - 1)  # a request record
    assert end == len(original["data"])
    docs, errors, skips = run(tmp_path, damaged(original["data"], start + 100))
    assert_recovered_exactly(original, docs, [])
    assert len(skips) == len(original["skips"]) - 1
    [error] = corrupt_member_errors(errors)
    assert error.offset == start and f"[{start}, {end})" in error.detail
    assert "no later gzip member" in error.detail


def test_two_damaged_members(tmp_path, original):
    a_start, a_end = member_range(original, response_member(original, 0))
    b_start, b_end = member_range(original, response_member(original, 9))
    data = damaged(damaged(original["data"], a_start + 500), b_start + 300)
    docs, errors, _ = run(tmp_path, data)
    assert_recovered_exactly(original, docs, [original["offsets"][a_start],
                                              original["offsets"][b_start]])
    ranges = [(e.offset, e.record_id, e.detail.split(":")[0])
              for e in corrupt_member_errors(errors)]
    assert ranges == [
        (a_start, original["offsets"][a_start], f"compressed bytes [{a_start}, {a_end}) skipped"),
        (b_start, original["offsets"][b_start], f"compressed bytes [{b_start}, {b_end}) skipped"),
    ]


def test_garbage_with_one_valid_member_in_the_middle(tmp_path, original):
    index = response_member(original, 0)
    start, end = member_range(original, index)
    rng = random.Random(20200834)
    before = bytes(rng.getrandbits(8) for _ in range(50_000))
    after = bytes(rng.getrandbits(8) for _ in range(30_000))
    data = before + original["data"][start:end] + after
    docs, errors, skips = run(tmp_path, data)
    [doc] = docs
    assert doc["offset"] == len(before)  # the member's offset in this file
    assert without_path({**doc, "offset": start}) == original["docs"][original["offsets"][start]]
    ranges = [(e.offset, e.detail) for e in corrupt_member_errors(errors)]
    assert len(ranges) == 2
    assert ranges[0][0] == 0 and f"[0, {len(before)})" in ranges[0][1]
    member_end = len(before) + end - start
    assert ranges[1][0] == member_end and f"[{member_end}, {len(data)})" in ranges[1][1]


def test_damage_in_a_file_gzipped_as_one_member_is_reported_to_the_end(tmp_path, original):
    """One member for the whole file: nothing after the damage can be resynchronized."""
    single = gzip.compress(gzip.decompress(original["data"]), mtime=0)
    assert len(member_starts(single)) == 1
    undamaged, _, _ = run(tmp_path, single, "single.warc.gz")
    assert len(undamaged) == 16
    docs, errors, _ = run(tmp_path, damaged(single, int(len(single) * 0.75)), "single-bad.warc.gz")
    [error] = corrupt_member_errors(errors)
    assert error.offset == 0 and f"[0, {len(single)})" in error.detail
    assert "nothing can be resynchronized" in error.detail
    # Records decoded before the damage are kept as they were; the damaged data is not recovered.
    by_id = {d["doc_id"]: without_path(d) for d in undamaged}
    intact = [d for d in docs if without_path(d) == by_id.get(d["doc_id"])]
    assert 0 < len(intact) < 16
    assert docs[: len(intact)] == intact  # the intact ones are the first ones


def test_a_truncated_last_member_keeps_every_record_before_it(original):
    data = original["data"]
    index = response_member(original, 8)
    start, end = member_range(original, index)
    items = list(iter_records(io.BytesIO(data[: start + (end - start) // 2])))
    records = [r for r in items if isinstance(r, LenientRecord)]
    errors = [e for e in items if isinstance(e, LenientError)]
    assert records[-1].offset == original["starts"][index - 1]
    assert [r.offset for r in records] == original["starts"][:index]
    assert [(e.reason, e.offset) for e in errors] == [("gzip.truncated", start)]
    # Cut inside the gzip header of the next member: the record before is whole and kept.
    items = list(iter_records(io.BytesIO(data[: start + 4])))
    assert [r.offset for r in items if isinstance(r, LenientRecord)] == original["starts"][:index]
    assert [(e.reason, e.offset) for e in items if isinstance(e, LenientError)] == [
        ("gzip.truncated", start)]


@pytest.mark.parametrize("member, into", [(49, 5), (47, 5), (47, 50), (47, 1000), (14, 2000)])
def test_a_file_cut_anywhere_in_a_member_reports_that_member(tmp_path, original, member, into):
    """Cut in the gzip header, in the WARC headers or in the payload of a record: the records
    before it all come out, and one error is at the offset of the member the file ends in (fastwarc
    alone ends silently when the cut is in the first bytes of a record)."""
    start, _ = member_range(original, member)
    docs, errors, _ = run(tmp_path, original["data"][: start + into])
    assert {d["doc_id"] for d in docs} == {
        doc_id for offset, doc_id in original["offsets"].items() if offset < start}
    cut = [e for e in errors if e.offset != -1]  # besides a note that fastwarc gave up
    assert [(e.reason in ("gzip.truncated", "warc.truncated_record"), e.offset) for e in cut] == [
        (True, start)]


def test_lenient_offsets_are_member_offsets(original):
    records = [r for r in iter_records(io.BytesIO(original["data"]))
               if isinstance(r, LenientRecord)]
    assert [r.offset for r in records] == original["starts"]


def test_small_reads_and_chunks_give_the_same_pieces(original):
    """Stream reads, zlib steps and output chunks of any size give the same data and ranges."""
    data = damaged(original["data"], member_range(original, 20)[0] + 300)
    reference = list(gzip_members.iter_pieces(io.BytesIO(data)))
    small = list(gzip_members.iter_pieces(io.BytesIO(data), read_size=997, chunk_size=613))
    assert _joined(small) == _joined(reference)
    ranges = [p for p in reference if isinstance(p, gzip_members.DamagedRange)]
    assert [(r.start, r.end) for r in ranges] == [member_range(original, 20)]


def _joined(pieces):
    """Decompressed data per member and the damaged ranges, whatever the chunking."""
    out: dict = {}
    for piece in pieces:
        if isinstance(piece, gzip_members.Chunk):
            out.setdefault(piece.member_offset, b"")
            assert piece.position == len(out[piece.member_offset])
            out[piece.member_offset] += piece.data
        else:
            out[("damage", piece.start)] = piece.end
    return out


def test_uncompressed_files_pass_through_with_file_offsets(original):
    plain = gzip.decompress(original["data"])
    pieces = list(gzip_members.iter_pieces(io.BytesIO(plain), read_size=4096, chunk_size=1000))
    assert all(p.member_offset is None for p in pieces)
    assert b"".join(p.data for p in pieces) == plain
    assert all(len(p.data) <= 1000 for p in pieces)
    assert [p.position for p in pieces] == [sum(len(q.data) for q in pieces[:i])
                                            for i in range(len(pieces))]


def test_memory_stays_bounded_on_a_large_single_member():
    payload = os.urandom(12 << 20)  # incompressible: 12 MiB of compressed data in one member
    data = gzip.compress(payload, compresslevel=1, mtime=0)
    tracemalloc.start()
    try:
        total = 0
        for piece in gzip_members.iter_pieces(io.BytesIO(data), max_retained=1 << 20):
            total += len(piece.data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == len(payload)
    assert peak < 8 << 20  # a few read blocks and chunks, not the file


def test_records_without_an_id_are_neither_lost_nor_doubled(tmp_path, original):
    """The end-of-file check and the lenient re-read recognize a record fastwarc produced by its
    offset when it has no WARC-Record-ID."""
    plain = gzip.decompress(original["data"])
    lines = plain.split(b"\r\n")
    no_ids = b"\r\n".join(line for line in lines if not line.startswith(b"WARC-Record-ID:"))
    path = tmp_path / "no-ids.warc"
    path.write_bytes(no_ids)
    docs, errors, skips = split(list(extract_file(str(path), "S")))
    assert not errors and len(docs) == 16 and {d["doc_id"] for d in docs} == {None}
    assert skips == original["skips"]  # the last record (a request) is not counted twice
    texts = sorted(d["text"] for d in docs)
    assert texts == sorted(d["text"] for d in original["docs"].values())
    # fastwarc gives up at the 20th record (bare-LF headers): the lenient reader produces the
    # rest and nothing twice.
    starts = [i for i in range(len(no_ids)) if no_ids.startswith(b"WARC/1.0\r\n", i)]
    head_end = no_ids.index(b"\r\n\r\n", starts[20]) + 4
    bare_lf = (no_ids[: starts[20]] + no_ids[starts[20]: head_end].replace(b"\r\n", b"\n")
               + no_ids[head_end:])
    mixed = tmp_path / "no-ids-lf.warc"
    mixed.write_bytes(bare_lf)
    docs, errors, skips = split(list(extract_file(str(mixed), "S")))
    assert [e.reason for e in errors] == ["warc.parse_error"]
    assert sorted(d["text"] for d in docs) == texts and skips == original["skips"]
    # Cut the file inside the last record's headers: the end-of-file check reports it once.
    last = no_ids.rindex(b"WARC/1.0\r\n")
    cut = tmp_path / "no-ids-cut.warc"
    cut.write_bytes(no_ids[: last + 40])
    docs, errors, _ = split(list(extract_file(str(cut), "S")))
    assert len(docs) == 16
    assert [(e.reason, e.offset) for e in errors] == [("warc.truncated_record", last)]
