"""Model paths are checked before any work, with errors that name the path; the window plan; the
device choice; and that core.preselect imports no engine. No model is loaded here."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.preselect.bpc import window_plan
from core.preselect.reference_models import (
    ModelSourceError, ReferenceModelSpec, choose_device, embedded_family_specs, embedded_smollm2_path,
    load_causal_lm, validate_family, validate_model_source,
)

REPO = Path(__file__).resolve().parents[1]


def test_missing_path_is_named(tmp_path):
    with pytest.raises(ModelSourceError, match=f"does not exist: {tmp_path / 'nope'}"):
        load_causal_lm(tmp_path / "nope")


def test_corrupt_gguf_is_refused_before_loading(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"this is not a model")
    with pytest.raises(ModelSourceError, match=f"{bad} is not a GGUF file"):
        validate_model_source(bad)
    with pytest.raises(ModelSourceError, match="not a GGUF file"):
        validate_model_source(tmp_path, gguf_file="model.gguf")


def test_truncated_gguf_fails_to_load_with_the_path_in_the_error(tmp_path):
    real = Path(embedded_smollm2_path())
    cut = tmp_path / "cut.gguf"
    with open(real, "rb") as src:
        cut.write_bytes(src.read(4096))  # valid magic and version, then nothing
    validate_model_source(cut)  # the cheap check passes ...
    with pytest.raises(ModelSourceError, match=f"cannot load a causal LM from {cut}"):
        load_causal_lm(cut)  # ... loading does not, and says which file


def test_directory_checks(tmp_path):
    with pytest.raises(ModelSourceError, match="no config.json"):
        validate_model_source(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelSourceError, match="not valid JSON"):
        validate_model_source(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ModelSourceError, match="no weights"):
        validate_model_source(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", 10**9) + b"{}")
    with pytest.raises(ModelSourceError, match="no tokenizer"):
        validate_model_source(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelSourceError, match="model.safetensors is not a valid safetensors"):
        validate_model_source(tmp_path)
    header = b'{"__metadata__": {}}'
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    assert validate_model_source(tmp_path).gguf_file is None
    (tmp_path / "weights.txt").write_text("x")
    with pytest.raises(ModelSourceError, match="not a .gguf model"):
        validate_model_source(tmp_path / "weights.txt")


def test_embedded_family_is_valid_and_ranked_by_layers_kept():
    specs = embedded_family_specs()
    validate_family(specs)
    assert [s.drop_last_layers for s in specs] == [12, 8, 4, 0]
    assert [s.benchmark_score for s in specs] == [18.0, 22.0, 26.0, 30.0]


def test_family_refuses_duplicate_names_tied_scores_and_bad_paths(tmp_path):
    path = embedded_smollm2_path()
    with pytest.raises(ValueError, match="unique"):
        validate_family([ReferenceModelSpec("a", path, 1.0), ReferenceModelSpec("a", path, 2.0),
                         ReferenceModelSpec("b", path, 3.0)])
    with pytest.raises(ValueError, match="more than once"):
        validate_family([ReferenceModelSpec(n, path, s) for n, s in (("a", 1.0), ("b", 1.0), ("c", 2.0))])
    with pytest.raises(ModelSourceError, match="does not exist"):
        validate_family([ReferenceModelSpec("a", path, 1.0), ReferenceModelSpec("b", path, 2.0),
                         ReferenceModelSpec("c", str(tmp_path / "gone.gguf"), 3.0)])


def test_device_is_cuda_only_when_visible(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device().type == "cuda"
    assert choose_device("cpu").type == "cpu"


def released_windows(n: int, block: int, stride: int) -> list[tuple[int, int, range]]:
    """What the released EvalDataset + validate() score over one stream of n tokens: windows of
    block + 1 tokens every `stride`, as many as fit whole; in each the targets past the previous
    window's end (the first window: every target). Returns (begin, end, scored target positions)."""
    out, prev_end = [], 0
    for k in range(max(0, (n - (block + 1)) // stride + 1)):
        begin = k * stride
        end = min(begin + block + 1, n)
        out.append((begin, end, range(max(prev_end, begin + 1), end)))
        prev_end = end
    return out


@pytest.mark.parametrize("n, block, stride", [(1901, 1900, 512), (1901 + 3 * 512, 1900, 512), (65, 16, 4), (17, 16, 16)])
def test_window_plan_matches_the_released_windows_when_no_tail_is_left(n, block, stride):
    ours = [(s, e, range(e - k, e)) for s, e, k in window_plan(n, block, stride)]
    assert ours == released_windows(n, block, stride)


@pytest.mark.parametrize("n, block, stride", [(2, 1900, 512), (1000, 1900, 512), (5000, 1900, 512), (100, 16, 5), (33, 8, 8)])
def test_window_plan_scores_every_token_once_and_adds_the_released_tail(n, block, stride):
    plan = window_plan(n, block, stride)
    scored = [p for s, e, k in plan for p in range(e - k, e)]
    assert sorted(scored) == list(range(1, n))  # each target once, none missed
    for s, e, k in plan:
        assert e - 1 - s <= block  # inputs fit the block
        assert all(p - s >= min(p, block - stride + 1) for p in range(e - k, e))  # enough context
    released = [p for _, _, r in released_windows(n, block, stride) for p in r]
    assert set(released) <= set(scored) and len(released) <= len(scored)


def test_window_plan_edge_cases():
    assert window_plan(0, 16, 4) == [] and window_plan(1, 16, 4) == []
    with pytest.raises(ValueError):
        window_plan(10, 16, 32)


def test_core_preselect_imports_no_engine():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pyspark', 'ray', 'dagster'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pkgutil, importlib, core.preselect as p\n"
        "for m in pkgutil.iter_modules(p.__path__):\n"
        "    importlib.import_module('core.preselect.' + m.name)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
