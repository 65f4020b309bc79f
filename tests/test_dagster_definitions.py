"""The Definitions: environment settings as EnvVar, blocking checks, and who may import whom."""
from __future__ import annotations

import ast
from pathlib import Path

from dagster import EnvVar, MaterializeResult, asset, materialize

from core.io.listing import COMMON_CRAWL_HTTPS
from orchestration.definitions import ENVIRONMENT, build_definitions, build_resources
from resources import LakeResource

REPO = Path(__file__).resolve().parents[1]
EVERY_VARIABLE = {name: f"value-of-{name}" for fields in ENVIRONMENT.values()
                  for name in fields.values()}


def test_set_variables_become_env_vars_of_the_right_fields():
    resources = build_resources(EVERY_VARIABLE)
    expected = {("spark", "master"): "SPARK_MASTER", ("spark", "remote"): "SPARK_REMOTE",
                ("ray", "address"): "RAY_ADDRESS", ("lake", "root"): "REFINERY_LAKE_ROOT",
                ("crawl_source", "base_uri"): "REFINERY_CC_BASE",
                ("crawl_source", "sample_dir"): "REFINERY_SAMPLE_DIR"}
    for (key, field), name in expected.items():
        value = getattr(resources[key], field)
        assert isinstance(value, EnvVar) and value.env_var_name == name, (key, field, value)


def test_unset_or_empty_variables_leave_the_defaults():
    for environ in ({}, {name: "" for name in EVERY_VARIABLE}):
        resources = build_resources(environ)
        assert resources["spark"].master is None and resources["spark"].remote is None
        assert resources["ray"].address is None
        assert resources["lake"].root == "lake"
        assert resources["crawl_source"].base_uri == COMMON_CRAWL_HTTPS
        assert resources["crawl_source"].sample_dir == ".sample-crawl"


def test_an_env_var_is_read_when_the_run_starts(monkeypatch, tmp_path):
    @asset
    def where_is_the_lake(lake: LakeResource) -> MaterializeResult:
        return MaterializeResult(metadata={"uri": lake.uri})

    lake = build_resources({"REFINERY_LAKE_ROOT": "set"})["lake"]
    monkeypatch.setenv("REFINERY_LAKE_ROOT", str(tmp_path / "lake-from-env"))
    result = materialize([where_is_the_lake], resources={"lake": lake})
    meta = result.asset_materializations_for_node("where_is_the_lake")[0].metadata
    assert meta["uri"].value == str(tmp_path / "lake-from-env")


def test_balance_checks_block_the_next_stage():
    graph = build_definitions({}).resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    balance = {"bronze_counts_match_manifest", "silver_counts_balance", "dedup_counts_balance",
               "shards_tokens_match_idx", "shards_files_match_sha256", "shards_documents_match_mixing"}
    assert balance <= set(checks)
    assert all(checks[name].blocking for name in balance)


def test_every_document_stage_checks_schema_unique_doc_ids_and_keep_rate_and_blocks():
    graph = build_definitions({}).resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    stages = {f"{stage}_{name}" for stage in ("bronze", "silver", "dedup")
              for name in ("schema", "unique_doc_id", "keep_rate")}
    stages |= {"refined_schema", "refined_unique_doc_id", "refined_keep_rate", "quality_scores_schema",
               "quality_scores_unique_doc_id", "quality_scores_selected_share", "shards_schema",
               "shards_unique_doc_id"}
    assert stages <= set(checks)
    assert all(checks[name].blocking for name in stages)


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


# What each package may import (ARCHITECTURE.md: orchestration -> assets -> resources,
# spark_jobs | gpu_jobs -> core, contract; nothing imports orchestration but entry points).
ALLOWED = {
    "assets": {"resources", "spark_jobs", "gpu_jobs", "core", "contract", "dagster"},
    "resources": {"spark_jobs", "gpu_jobs", "core", "contract", "sample_crawl", "dagster"},
    "spark_jobs": {"core", "contract"},
    "gpu_jobs": {"core", "contract"},
    "core": {"contract"},
    "contract": set(),
    "sample_crawl": {"core", "contract"},
}
PROJECT = set(ALLOWED) | {"orchestration", "dagster"}


def test_imports_run_one_way_and_nothing_imports_orchestration():
    offenders = []
    for package, allowed in ALLOWED.items():
        for path in sorted((REPO / package).rglob("*.py")):
            bad = (_imported_packages(path) & PROJECT) - allowed - {package}
            if bad:
                offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert offenders == []
