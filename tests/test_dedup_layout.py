"""Where the dedup code lives: the pipeline never imports the reference code under tests/reference
and the dedup job's public names stay importable from
spark_jobs.dedup.job (assets/dedup.py imports them from there). That core/dedup is engine-free
is checked for all of core/ in test_layout.py."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PIPELINE_PACKAGES = ("core", "contract", "spark_jobs", "gpu_jobs", "assets", "resources", "orchestration",
                     "sample_crawl")


def imported_modules(source: str) -> set[str]:
    """Every module an `import` or `from ... import` names anywhere in `source` (also inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _imports_of_package(package: str) -> dict[str, set[str]]:
    return {str(p.relative_to(REPO)): imported_modules(p.read_text(encoding="utf-8"))
            for p in sorted((REPO / package).rglob("*.py"))}


def _top(module: str) -> str:
    return module.split(".")[0]


def test_imported_modules_sees_lazy_and_from_imports():
    source = "import os.path\ndef f():\n    from tests.reference import components\n    import pyspark.sql\n"
    assert imported_modules(source) == {"os.path", "tests.reference", "pyspark.sql"}


@pytest.mark.parametrize("package", PIPELINE_PACKAGES)
def test_pipeline_never_imports_the_tests_or_their_reference_code(package):
    offenders = {path: sorted(m for m in mods if _top(m) == "tests")
                 for path, mods in _imports_of_package(package).items()}
    assert {p: m for p, m in offenders.items() if m} == {}


def test_public_names_of_the_dedup_job():
    from spark_jobs.dedup import config, job, outputs

    assert (job.DedupConfig, job.DedupResult, job.REASON_EXACT, job.REASON_NEAR) == \
        (config.DedupConfig, config.DedupResult, "dedup.exact", "dedup.near")
    assert (job.dedup_balance, job.balance_ok) == (outputs.dedup_balance, outputs.balance_ok)
    assert callable(job.run_dedup)
