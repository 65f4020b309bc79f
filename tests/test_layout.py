"""The layout's import rules, enforced (docs/architecture.md).

orchestration -> assets -> resources, spark_jobs | gpu_jobs -> core, contract. Engines never import
dagster or each other; core imports no engine at all; nothing imports orchestration but entry points.
"""
from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("orchestration", "assets", "resources", "spark_jobs", "gpu_jobs", "core", "contract",
            "sample_crawl")
ENGINES = ("pyspark", "delta", "ray", "dagster", "dagster_webserver")

# What each package may import among the project's packages and the engines.
ALLOWED = {
    "orchestration": {"orchestration", "assets", "resources", "spark_jobs", "gpu_jobs", "core",
                      "contract", "sample_crawl", "dagster", "pyspark", "ray", "delta"},
    "assets": {"assets", "resources", "spark_jobs", "gpu_jobs", "core", "contract", "dagster"},
    "resources": {"resources", "spark_jobs", "gpu_jobs", "core", "contract", "sample_crawl",
                  "dagster", "pyspark", "ray"},
    "spark_jobs": {"spark_jobs", "core", "contract", "pyspark", "delta"},
    "gpu_jobs": {"gpu_jobs", "core", "contract", "ray"},
    "core": {"core", "contract"},
    "contract": {"contract"},
    "sample_crawl": {"sample_crawl", "core", "contract"},
}
WATCHED = set(PACKAGES) | set(ENGINES)


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (REPO / package).rglob("*.py") if "__pycache__" not in p.parts)


def _imported_roots(path: Path) -> set[str]:
    """Top-level names of every import in a file, lazy ones inside functions included."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_layout(package):
    violations = []
    for path in _modules(package):
        for root in sorted((_imported_roots(path) & WATCHED) - ALLOWED[package]):
            violations.append(f"{path.relative_to(REPO)} imports {root}")
    assert violations == [], "\n".join(violations)


def test_nothing_but_entry_points_imports_orchestration():
    importers = [p for package in PACKAGES if package != "orchestration" for p in _modules(package)
                 if "orchestration" in _imported_roots(p)]
    assert importers == []


def test_every_core_module_imports_with_the_engines_blocked():
    """Import all of core/ (and contract/) in a fresh interpreter where pyspark, ray and dagster
    cannot be imported: the engine-free core must not need them, not even indirectly."""
    names = [m.name for m in pkgutil.walk_packages([str(REPO / "core")], prefix="core.")]
    names += [m.name for m in pkgutil.walk_packages([str(REPO / "contract")], prefix="contract.")]
    assert len(names) > 20
    script = textwrap.dedent(f"""
        import importlib, importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {ENGINES!r}:
                    raise ImportError(f"blocked engine import: {{name}}")
                return None

        sys.meta_path.insert(0, Block())
        for name in {names!r}:
            importlib.import_module(name)
        print("imported", len({names!r}))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"imported {len(names)}" in result.stdout
