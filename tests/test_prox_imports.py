"""core.prox is engine-free and its source never reaches for an evaluator."""
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import core.prox

PROX_DIR = Path(core.prox.__file__).parent
MODULES = sorted(f"core.prox.{m.name}" for m in pkgutil.iter_modules([str(PROX_DIR)]))

BLOCKER = """
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyspark", "ray", "dagster", "torch", "transformers", "vllm"):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
for name in sys.argv[1:]:
    importlib.import_module(name)
print("ok", len(sys.argv) - 1)
"""


def test_every_module_imports_with_the_engines_blocked():
    assert {"core.prox.program", "core.prox.execute", "core.prox.rule_writer"} <= set(MODULES)
    done = subprocess.run([sys.executable, "-c", BLOCKER, *MODULES], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok {len(MODULES)}"


def test_no_evaluator_is_called_or_imported_in_the_source():
    forbidden_calls = {"eval", "exec", "compile", "__import__", "literal_eval"}
    forbidden_modules = {"os", "subprocess", "importlib", "pickle", "marshal", "ctypes"}
    for path in PROX_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):  # eval(...), builtins.exec(...), ast.literal_eval(...); re.compile is fine
                func = node.func
                if isinstance(func, ast.Name):
                    assert func.id not in forbidden_calls, f"{path.name}:{node.lineno} calls {func.id}"
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                    evaluator = func.attr in forbidden_calls and func.value.id in ("builtins", "ast")
                    assert not evaluator, f"{path.name}:{node.lineno} calls {func.value.id}.{func.attr}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not {n.split(".")[0] for n in names} & forbidden_modules, f"{path.name}:{node.lineno}"
