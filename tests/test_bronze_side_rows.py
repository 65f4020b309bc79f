"""The side channel of bronze's tasks (skips, errors, accounting rows beside the documents), pure
pyarrow on the real fixtures."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from core.warc.extract import extract_file
from spark_jobs.bronze_batches import ROW_DOC, UNION_SCHEMA, file_batches
from spark_jobs.bronze_side_rows import (
    STAGING_DIR, missing_side_files, new_staging_dir, remove_staging, side_file, write_side_rows,
)
from tests.conftest import WET_LF_ONLY


def _side_batches(path, snapshot="CC-MAIN-2016-50"):
    batches = list(file_batches(str(path), snapshot, extract_file(str(path), snapshot)))
    return [b for b in batches if b.column("row_type")[0].as_py() != ROW_DOC]


def test_a_file_with_errors_writes_its_error_and_file_rows_whole(tmp_path):
    staging = new_staging_dir(str(tmp_path), "CC-MAIN-2016-50")
    assert staging.startswith(str(tmp_path.resolve()) + "/" + STAGING_DIR + "/CC-MAIN-2016-50/")
    side = _side_batches(WET_LF_ONLY)
    write_side_rows(staging, 3, side)
    table = pq.read_table(side_file(staging, 3))
    assert table.schema == UNION_SCHEMA
    assert table.num_rows == sum(b.num_rows for b in side)
    row_types = table.column("row_type").to_pylist()
    assert row_types.count("file") == 1 and row_types[-1] == "file"
    assert "error" in row_types and "doc" not in row_types
    assert missing_side_files(staging, 5) == [0, 1, 2, 4]


def test_a_file_without_side_rows_still_leaves_a_file(tmp_path):
    staging = new_staging_dir(str(tmp_path), "X")
    write_side_rows(staging, 0, [])
    assert pq.read_table(side_file(staging, 0)).num_rows == 0
    assert missing_side_files(staging, 1) == []


def test_a_rewritten_file_replaces_the_first_and_removal_takes_the_directory(tmp_path):
    staging = new_staging_dir(str(tmp_path), "CC-MAIN-2016-50")
    side = _side_batches(WET_LF_ONLY)
    write_side_rows(staging, 0, side)
    write_side_rows(staging, 0, side)  # a retried task
    assert pq.read_table(side_file(staging, 0)).num_rows == sum(b.num_rows for b in side)
    remove_staging(staging)
    assert missing_side_files(staging, 1) == [0]
    remove_staging(staging)  # absent is fine


def test_batches_of_another_schema_are_refused(tmp_path):
    staging = new_staging_dir(str(tmp_path), "X")
    doc_batch = next(iter(file_batches(str(WET_LF_ONLY), "X", extract_file(str(WET_LF_ONLY), "X"))))
    with pytest.raises(ValueError, match="union schema"):
        write_side_rows(staging, 0, [doc_batch.select(["doc_id"])])
