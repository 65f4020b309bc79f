"""core/shards imports neither pyspark, ray nor dagster (checked in a fresh interpreter where
importing them fails)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHECK = r"""
import importlib, importlib.abc, pkgutil, sys

BLOCKED = ("pyspark", "ray", "dagster")

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked engine import: {name}")
        return None

sys.meta_path.insert(0, Block())
import core.shards
names = [m.name for m in pkgutil.iter_modules(core.shards.__path__, "core.shards.")]
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not loaded, loaded
print(" ".join(sorted(names)))
"""


def test_core_shards_is_engine_free():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", _CHECK], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    modules = {"tokenizer", "token_dtype", "megatron", "sharding", "packing", "rehydration", "mixing", "ordering"}
    assert set(done.stdout.split()) >= {f"core.shards.{name}" for name in modules}
