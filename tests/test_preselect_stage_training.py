"""The `preselect_model` stage on Ray, on CPU, with the embedded SmolLM2-135M family (layers removed):
sample -> BPC actors -> one training task -> model store, through Dagster; then `quality_scores`
with the stored model; and the refusals (family, paths, a model failing in its actor) that must
leave the store empty. Documents are few and short: each BPC actor loads the GGUF once."""
from __future__ import annotations

import json
import os
import random

import fasttext
import numpy as np
import pyarrow as pa
import pytest
from dagster import DagsterInstance, materialize

from assets.scoring import preselect_model, quality_scores
from contract.tables import DEDUP_DOCUMENTS, SCORES_PRESELECT, table_uri
from core.preselect.reference_models import ModelSourceError, ReferenceModelSpec, embedded_smollm2_path
from core.preselect.train import EOS_TOKEN
from gpu_jobs import delta_io
from gpu_jobs.preselect.model_store import latest_model, store_uri
from gpu_jobs.preselect.training import TrainingConfig, check_config, run_preselect_training
from resources import LakeResource, RayResource
from resources.partitions import crawl_partitions

CRAWL = "CC-MAIN-2024-18"
DOCS_SCHEMA = pa.schema([("doc_id", pa.string()), ("snapshot", pa.string()), ("text", pa.string())])
SENTENCES = [
    "The town grew up around a river crossing and became an important market in the middle ages.",
    "Its church, begun in the twelfth century, still stands at the centre of the old square.",
    "In the nineteenth century the railway reached the valley, and new mills were built along the river.",
    "The museum tells this story through photographs, tools and letters written by the families of workers.",
    "Every summer the town holds a festival with music, food and a parade through the main street.",
    "Students at the local school learn about the history of the region and the people who lived there.",
]
# Three models: 3 pairs, so documents of strength 1 are common; fewer layers = weaker by construction.
LAYER_DROPS = [16, 8, 0]
SMALL = {"sample_size": 24, "max_chars": 240, "embedded_layer_drops": LAYER_DROPS, "bucket": 20_000, "dim": 16,
         "max_actors": 1, "batch_size": 12}


def _documents() -> pa.Table:
    rng = random.Random(3)
    texts = []
    for i in range(28):
        if i % 3 == 2:  # noise: every model is bad at it, in no particular order
            texts.append(" ".join("".join(rng.choice("qxzjkvw0123456789") for _ in range(rng.randint(2, 8)))
                                  for _ in range(30)))
        else:
            texts.append(" ".join(rng.sample(SENTENCES, 3)))
    texts += ["", "a"]
    ids = [f"doc-{i:03d}" for i in range(len(texts))]
    return pa.table({"doc_id": ids, "snapshot": [CRAWL] * len(ids), "text": texts}, schema=DOCS_SCHEMA)


@pytest.fixture(scope="module")
def lake(ray_session, tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("training") / "lake")
    ds = ray_session.data.from_arrow(_documents()).repartition(2)
    delta_io.write_partition(ds, table_uri(root, DEDUP_DOCUMENTS), CRAWL, DOCS_SCHEMA)
    return root


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as inst:
        inst.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
        yield inst


def _train(instance, lake: str, config: dict, raise_on_error: bool = True):
    return materialize([preselect_model], instance=instance, raise_on_error=raise_on_error,
                       resources={"ray": RayResource(), "lake": LakeResource(root=lake)},
                       run_config={"ops": {"preselect_model": {"config": {"crawl": CRAWL, **config}}}})


def test_train_store_reuse_and_score_with_the_latest_model(ray_session, instance, lake):
    result = _train(instance, lake, SMALL)
    meta = {k: v.value for k, v in result.asset_materializations_for_node("preselect_model")[0].metadata.items()}
    assert meta["documents_sampled"] == 24 and not meta["reused"]
    assert meta["positives"] > 0 and meta["positives"] == meta["negatives"]
    assert meta["eos_row_zeroed"] and meta["tokens_scored"] > 0
    for k in LAYER_DROPS:
        assert f"smollm2-135m-minus{k}" in meta["bpc_by_model"]

    latest = latest_model(lake)
    assert latest["model_id"] == meta["model_id"] and os.path.isfile(latest["model_uri"])
    with open(latest["report_uri"]) as fh:
        report = json.load(fh)
    assert report["labels"]["n_positives"] == meta["positives"] and report["crawl"] == CRAWL
    # Deeper models predict the prose better: the mean BPC falls as layers are added.
    means = [report["bpc_summary"][f"smollm2-135m-minus{k}"]["mean"] for k in LAYER_DROPS]
    assert means[0] > means[1] > means[2]
    model = fasttext.load_model(latest["model_uri"])
    assert set(model.get_labels()) == {"__label__0", "__label__1"}
    assert not np.any(model.get_input_vector(model.get_word_id(EOS_TOKEN)))

    # Same sample, same settings: the stored model is reused (no BPC, no training).
    stamp = os.stat(latest["model_uri"]).st_mtime_ns
    again = _train(instance, lake, SMALL)
    meta2 = {k: v.value for k, v in again.asset_materializations_for_node("preselect_model")[0].metadata.items()}
    assert meta2["reused"] and meta2["model_id"] == meta["model_id"]
    assert os.stat(latest["model_uri"]).st_mtime_ns == stamp

    # quality_scores without model_path scores with the latest model.
    scored = materialize([quality_scores], partition_key=CRAWL, instance=instance,
                         resources={"ray": RayResource(), "lake": LakeResource(root=lake)})
    assert all(e.passed for e in scored.get_asset_check_evaluations())
    table = delta_io.read_partition_table(table_uri(lake, SCORES_PRESELECT), CRAWL)
    assert table.num_rows == _documents().num_rows
    assert set(table.column("classifier").to_pylist()) == {latest["sha256_16"]}


def _spec(name: str, score: float, path: str | None = None, drop: int = 0) -> ReferenceModelSpec:
    return ReferenceModelSpec(name, path or embedded_smollm2_path(), score, drop_last_layers=drop)


def test_bad_families_are_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="at least 3"):
        check_config(TrainingConfig((_spec("a", 1.0, drop=8), _spec("b", 2.0))))
    with pytest.raises(ValueError, match="tie"):
        check_config(TrainingConfig((_spec("a", 1.0, drop=8), _spec("b", 2.0, drop=4), _spec("c", 2.0))))
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelSourceError, match=missing):
        check_config(TrainingConfig((_spec("a", 1.0, drop=8), _spec("b", 2.0, drop=4), _spec("c", 3.0, missing))))


def test_refused_family_and_failing_model_write_nothing(ray_session, instance, tmp_path):
    root = str(tmp_path / "lake")
    ds = ray_session.data.from_arrow(_documents()).repartition(2)
    delta_io.write_partition(ds, table_uri(root, DEDUP_DOCUMENTS), CRAWL, DOCS_SCHEMA)
    two = [{"name": "a", "path": embedded_smollm2_path(), "benchmark_score": 1.0, "drop_last_layers": 8},
           {"name": "b", "path": embedded_smollm2_path(), "benchmark_score": 2.0}]
    result = _train(instance, root, {**SMALL, "reference_models": two}, raise_on_error=False)
    assert not result.success and not os.path.exists(store_uri(root))

    # A GGUF that passes the header check but cannot load: the actor fails with the path and the cause.
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\x00" * 64)
    specs = (_spec("c", 3.0, str(broken)), _spec("a", 1.0, drop=8), _spec("b", 2.0))  # broken loads first
    with pytest.raises(Exception, match="broken.gguf") as failure:
        run_preselect_training(root, CRAWL, TrainingConfig(specs, sample_size=6, max_chars=100, max_actors=1),
                               log=lambda _: None)
    assert "cannot load" in str(failure.value)
    assert not os.path.exists(store_uri(root))
