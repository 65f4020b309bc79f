"""The refined_documents stage on Ray over a small lake written here: through Dagster with the rule
writer, PreSelect's selection, missing and bad inputs, a model that writes garbage (a tiny random
Llama in a Ray actor), a crash between the two commits, and vLLM refused without a GPU."""
from __future__ import annotations

import pyarrow as pa
import pytest
from dagster import DagsterInstance, materialize

from assets.refinement import CHECKS, refined_documents
from contract.tables import (DEDUP_DOCUMENT_COLUMNS, DEDUP_DOCUMENTS, REFINED_DOCUMENTS, REFINED_PROGRAMS,
                             SCORES_PRESELECT, SCORES_PRESELECT_SCHEMA, SILVER_SCHEMA, table_uri)
from core.prox.backends.generative import GenerationSettings
from core.prox.backends.spec import BackendSpec, ModelPath
from core.prox.execute import DROP, KEEP_ORIGINAL
from core.prox.refine import NO_TEXT, RefinementParams, refine_documents
from core.prox.writer import RuleProgramWriter
from core.warc.extract import extract_file
from gpu_jobs import delta_io
from gpu_jobs.prox import stage as prox_stage
from gpu_jobs.prox.checks import verify_refinement
from gpu_jobs.prox.config import RefinementStageConfig
from gpu_jobs.prox.inputs import BadInputError, MissingInputError
from gpu_jobs.prox.stage import run_refined_documents
from resources import LakeResource, RayResource
from resources.partitions import crawl_partitions
from tests.conftest import WET_REPAIRED
from tests.test_prox_backends import build_tiny_llama
from tests.test_prox_rule_writer import PAGE, PROSE

CRAWL = "CC-MAIN-2024-10"
OTHER_CRAWL = "CC-MAIN-2024-18"
DEDUP_SCHEMA = pa.schema(list(SILVER_SCHEMA) + list(DEDUP_DOCUMENT_COLUMNS))
RULE_STAGE = RefinementStageConfig(batch_size=8, max_actors=1)


def write_table(lake: str, table: str, schema: pa.Schema, crawl: str, columns: dict) -> None:
    """One crawl's partition of a contract table; columns not given are null."""
    n = len(next(iter(columns.values())))
    data = {field.name: (pa.array(columns[field.name], field.type) if field.name in columns
                         else pa.array([crawl] * n) if field.name == "snapshot" else pa.nulls(n, field.type))
            for field in schema}
    uri = table_uri(lake, table)
    delta_io.commit_partition(uri, crawl, schema, [delta_io.write_part_file(uri, crawl, pa.table(data, schema=schema))])


def corpus() -> dict[str, str | None]:
    """Real WET pages of the shared Common Crawl sample and pages with known boilerplate."""
    texts = [e["text"] for e in extract_file(str(WET_REPAIRED), "CC-MAIN-2016-50")
             if isinstance(e, dict) and e.get("text")][:14]
    texts += [PAGE, PAGE.replace("Riverside", "Hillside\u00a0"), "Home\nNews\nSport\nWeather\nLog in",
              "\n".join(PROSE)]
    docs: dict[str, str | None] = {f"<urn:uuid:{i:04d}>": text for i, text in enumerate(texts)}
    docs["<urn:uuid:null>"] = None  # a document whose text is missing
    return docs


def write_documents(lake: str, crawl: str, docs: dict[str, str | None]) -> None:
    write_table(lake, DEDUP_DOCUMENTS, DEDUP_SCHEMA, crawl, {
        "doc_id": list(docs), "text": list(docs.values()),
        "n_chars": [len(t) if t is not None else None for t in docs.values()], "dup_count": [1] * len(docs)})


def partition(lake: str, table: str, crawl: str = CRAWL) -> dict[str, dict]:
    rows = delta_io.read_partition_table(table_uri(lake, table), crawl).to_pylist()
    return {row["doc_id"]: row for row in rows}


def test_the_stage_in_dagster_refines_like_the_core_and_its_checks_pass(ray_session, lake_root):
    docs = corpus()
    write_documents(lake_root, CRAWL, docs)
    write_documents(lake_root, OTHER_CRAWL, {"<urn:uuid:other>": PAGE})
    run_refined_documents(lake_root, OTHER_CRAWL, RULE_STAGE)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
        result = materialize([refined_documents], partition_key=CRAWL, instance=instance,
                             resources={"ray": RayResource(), "lake": LakeResource(root=lake_root)},
                             run_config={"ops": {"refined_documents": {"config": {"batch_size": 8, "max_actors": 1}}}})
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == set(CHECKS) and all(c.passed for c in checks.values())
    meta = result.asset_materializations_for_node("refined_documents")[0].metadata

    expected = dict(zip(docs, refine_documents(list(docs.values()), RuleProgramWriter())))
    programs, documents = partition(lake_root, REFINED_PROGRAMS), partition(lake_root, REFINED_DOCUMENTS)
    assert set(programs) == set(docs)
    assert set(documents) == {d for d, o in expected.items() if o.action != DROP}
    for doc_id, outcome in expected.items():
        row = programs[doc_id]
        assert (row["action"], row["reason"], row["n_lines_removed"]) == (
            outcome.action, outcome.reason, outcome.n_lines_removed), doc_id
        assert row["chunk_programs"] == list(outcome.chunk_programs) and row["backend"] == "rule"
        if outcome.action != DROP:
            assert documents[doc_id]["text"] == outcome.text
            assert documents[doc_id]["action"] == outcome.action
    assert programs["<urn:uuid:null>"]["reason"] == NO_TEXT
    assert len({row["run_id"] for row in [*programs.values(), *documents.values()]}) == 1

    dropped = sum(o.action == DROP for o in expected.values())
    assert meta["entered"].value == len(docs) and meta["dropped"].value == dropped
    assert meta["refined_documents"].value == len(docs) - dropped
    assert meta["lines_removed"].value == sum(o.n_lines_removed for o in expected.values()) > 0
    assert meta["error_rate"].value == 0.0 and meta["backend"].value == "rule"
    changed = sorted((-o.chars_changed, d) for d, o in expected.items() if o.chars_changed)
    assert all(f"**{doc_id}**" in meta["examples"].value for _, doc_id in changed[:3])
    # the other crawl's partitions were left alone
    assert set(partition(lake_root, REFINED_PROGRAMS, OTHER_CRAWL)) == {"<urn:uuid:other>"}


def test_only_selected_documents_enter_when_asked(ray_session, lake_root):
    docs = {f"d{i}": text for i, text in enumerate([PAGE, "\n".join(PROSE), PROSE[0] * 3, PAGE[:400], PAGE])}
    write_documents(lake_root, CRAWL, docs)
    write_table(lake_root, SCORES_PRESELECT, SCORES_PRESELECT_SCHEMA, CRAWL, {
        "doc_id": ["d0", "d1", "d2", "d3"], "score": [0.9, 0.2, 0.8, None], "selected": [True, False, True, None]})
    config = RefinementStageConfig(entering="selected", batch_size=2, max_actors=1)
    result = run_refined_documents(lake_root, CRAWL, config)
    assert set(partition(lake_root, REFINED_PROGRAMS)) == {"d0", "d2"}
    inputs = result.inputs
    assert (inputs.crawl_documents, inputs.entered, inputs.not_selected, inputs.unscored) == (5, 2, 1, 2)
    verification = verify_refinement(lake_root, CRAWL, "selected", config.max_error_rate)
    assert verification.balance_ok and verification.unique_ok and verification.schema_ok
    against_all = verify_refinement(lake_root, CRAWL, "all", config.max_error_rate)
    assert not against_all.balance_ok and against_all.missing_programs == 3


def test_missing_and_bad_inputs_stop_the_stage_before_any_work(ray_session, lake_root):
    with pytest.raises(MissingInputError, match=r"dedup/documents .* no Delta table .*materialize `dedup_documents`"):
        run_refined_documents(lake_root, CRAWL, RULE_STAGE)
    write_documents(lake_root, OTHER_CRAWL, {"a": PAGE})
    with pytest.raises(MissingInputError, match=f"no rows for crawl {CRAWL}"):
        run_refined_documents(lake_root, CRAWL, RULE_STAGE)
    write_documents(lake_root, CRAWL, {"a": PAGE, "b": PAGE[:500]})
    selected = RefinementStageConfig(entering="selected", max_actors=1)
    with pytest.raises(MissingInputError, match=r"scores/preselect \(entering=selected\).*`quality_scores`"):
        run_refined_documents(lake_root, CRAWL, selected)
    write_table(lake_root, SCORES_PRESELECT, SCORES_PRESELECT_SCHEMA, CRAWL,
                {"doc_id": ["a", "gone"], "selected": [True, True]})
    with pytest.raises(BadInputError, match=r"scores 1 documents that dedup/documents does not have \(e.g. 'gone'\)"):
        run_refined_documents(lake_root, CRAWL, selected)
    write_table(lake_root, DEDUP_DOCUMENTS, DEDUP_SCHEMA, CRAWL, {"doc_id": ["a", "a"], "text": [PAGE, PAGE]})
    with pytest.raises(BadInputError, match="1 repeated doc_ids"):
        run_refined_documents(lake_root, CRAWL, RULE_STAGE)
    assert not delta_io.table_exists(table_uri(lake_root, REFINED_PROGRAMS))
    assert not delta_io.table_exists(table_uri(lake_root, REFINED_DOCUMENTS))


def test_a_model_that_writes_garbage_flows_through_the_stage(ray_session, lake_root, tmp_path):
    model = ModelPath(str(build_tiny_llama(tmp_path / "random-llama")))
    docs = {f"d{i}": text for i, text in enumerate([PAGE, "\n".join(PROSE), PAGE.replace("Flood", "Storm"), None])}
    write_documents(lake_root, CRAWL, docs)
    backend = BackendSpec("transformers", model, model,
                          GenerationSettings(doc_max_new_tokens=8, chunk_max_new_tokens=8), batch_size=4)
    config = RefinementStageConfig(backend=backend, refinement=RefinementParams(chunk_max_tokens=200),
                                   batch_size=2, max_actors=1)
    result = run_refined_documents(lake_root, CRAWL, config)
    assert result.backend == "transformers:random-llama" and result.plan.device == "cpu"
    programs, documents = partition(lake_root, REFINED_PROGRAMS), partition(lake_root, REFINED_DOCUMENTS)
    for doc_id, text in docs.items():
        row = programs[doc_id]
        if text is None:
            assert row["reason"] == NO_TEXT
            continue
        assert row["doc_action"] == KEEP_ORIGINAL and row["n_errors"] >= 1 and row["new_tokens"] > 0
        assert row["errors"][0]["stage"] == "doc" and row["errors"][0]["reason"].startswith("prox.")
        assert documents[doc_id]["text"] == text  # garbage never edits a document
    assert result.stats.error_rate == 0.75  # three of four documents (the fourth had no text)
    verification = verify_refinement(lake_root, CRAWL, "all", config.max_error_rate)
    assert verification.balance_ok and verification.schema_ok and verification.unique_ok
    assert not verification.error_rate_ok  # the blocking check stops the next stage


def test_a_crash_between_the_two_commits_is_detected_and_a_rerun_repairs_it(ray_session, lake_root, monkeypatch):
    write_documents(lake_root, CRAWL, {"a": PAGE, "b": "\n".join(PROSE), "c": "Home\nNews\nSport\nLog in"})
    first = run_refined_documents(lake_root, CRAWL, RULE_STAGE)
    commit = prox_stage._commit

    def crash_before_documents(uri, crawl, schema, manifest, table, run_id):
        if table == "documents":
            raise KeyboardInterrupt("the driver died")
        return commit(uri, crawl, schema, manifest, table, run_id)

    monkeypatch.setattr(prox_stage, "_commit", crash_before_documents)
    with pytest.raises(KeyboardInterrupt):
        run_refined_documents(lake_root, CRAWL, RULE_STAGE)
    broken = verify_refinement(lake_root, CRAWL, "all", 0.05)
    assert not broken.run_ids_ok and not broken.balance_ok
    assert broken.run_ids[REFINED_DOCUMENTS] == [first.run_id] != broken.run_ids[REFINED_PROGRAMS]
    monkeypatch.setattr(prox_stage, "_commit", commit)
    again = run_refined_documents(lake_root, CRAWL, RULE_STAGE)
    repaired = verify_refinement(lake_root, CRAWL, "all", 0.05)
    assert repaired.balance_ok and repaired.run_ids[REFINED_DOCUMENTS] == [again.run_id]


def test_vllm_without_a_gpu_in_the_cluster_is_refused_before_work(ray_session, lake_root, tmp_path):
    model = ModelPath(str(build_tiny_llama(tmp_path / "m")))
    write_documents(lake_root, CRAWL, {"a": PAGE})
    config = RefinementStageConfig(backend=BackendSpec("vllm", model, model), max_actors=1)
    with pytest.raises(RuntimeError, match="backend 'vllm' needs a GPU per actor, but the Ray cluster has 0 GPUs"):
        run_refined_documents(lake_root, CRAWL, config)
    assert not delta_io.table_exists(table_uri(lake_root, REFINED_PROGRAMS))
