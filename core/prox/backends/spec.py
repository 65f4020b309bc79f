"""Which program writer a refinement run uses, checked before any work and opened where it runs.

- `rule`: the model-free writer (`core.prox.rule_writer`); the embedded default, so CPU-only
  users get refinement without a model.
- `transformers`: refining models from local paths (ProX's `web-doc-refining-lm` and
  `web-chunk-refining-lm`, or a GGUF file), on `cuda` when visible, else CPU.
- `vllm`: the same models served by vLLM on a GPU (optional extra, imported only when chosen).

The same path for both stages loads one model. `validate` checks paths cheaply (no torch import
for the rule writer); `open_writer` loads the models (in a Ray actor, once per actor).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.prox.backends.generative import GenerationSettings, GenerativeProgramWriter
from core.prox.writer import ProgramWriter, RuleProgramWriter

RULE = "rule"
TRANSFORMERS = "transformers"
VLLM = "vllm"
BACKENDS = (RULE, TRANSFORMERS, VLLM)


@dataclass(frozen=True)
class ModelPath:
    path: str  # a transformers model directory, or a directory holding `gguf_file`, or a .gguf file
    gguf_file: str | None = None

    def __str__(self) -> str:
        return f"{self.path}/{self.gguf_file}" if self.gguf_file else self.path


@dataclass(frozen=True)
class BackendSpec:
    kind: str = RULE  # issue 10: the embedded default refines with the rule writer
    doc_model: ModelPath | None = None  # ProX: gair-prox/web-doc-refining-lm, downloaded by the user
    chunk_model: ModelPath | None = None  # ProX: gair-prox/web-chunk-refining-lm
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    batch_size: int = 8  # transformers: prompts per generate call (vLLM schedules its own batches)
    device: str | None = None  # None: cuda when visible, else cpu

    def __post_init__(self):
        if self.kind not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.kind!r}")

    @property
    def uses_models(self) -> bool:
        return self.kind != RULE

    def models(self, doc_stage: bool, chunk_stage: bool) -> dict[str, ModelPath]:
        """The model of each stage that runs; ValueError when a model backend lacks one."""
        wanted = {"doc": (doc_stage, self.doc_model), "chunk": (chunk_stage, self.chunk_model)}
        models = {}
        for stage, (runs, model) in wanted.items():
            if runs and model is None:
                raise ValueError(f"backend {self.kind!r} needs a {stage} model path ({stage}_model) for the "
                                 f"{stage} stage, or switch that stage off")
            if runs:
                models[stage] = model
        return models

    def validate(self, doc_stage: bool = True, chunk_stage: bool = True) -> None:
        """Check every model path the run needs, without loading anything (ModelSourceError names it)."""
        if not self.uses_models:
            return
        from core.preselect.reference_models import validate_model_source

        for model in self.models(doc_stage, chunk_stage).values():
            source = validate_model_source(model.path, model.gguf_file)
            if self.kind == VLLM and source.gguf_file:
                raise ValueError(f"backend 'vllm' takes a transformers model directory, not the GGUF file {source}")


def _transformers_generators(spec: BackendSpec, models: dict[str, ModelPath]) -> dict:
    from core.preselect.reference_models import load_causal_lm
    from core.prox.backends.transformers_backend import TransformersGenerator

    loaded: dict[ModelPath, TransformersGenerator] = {}
    for model in models.values():
        if model not in loaded:
            lm = load_causal_lm(model.path, model.gguf_file, device=spec.device)
            loaded[model] = TransformersGenerator(lm, spec.batch_size)
    return {stage: loaded[model] for stage, model in models.items()}


def _vllm_generators(models: dict[str, ModelPath]) -> dict:
    from core.prox.backends.vllm_backend import VllmGenerator

    loaded: dict[ModelPath, VllmGenerator] = {}
    for model in models.values():
        if model not in loaded:
            loaded[model] = VllmGenerator(model.path)
    return {stage: loaded[model] for stage, model in models.items()}


def open_writer(spec: BackendSpec, doc_stage: bool = True, chunk_stage: bool = True) -> ProgramWriter:
    """The program writer of `spec`, models loaded (for the stages that run)."""
    if spec.kind == RULE:
        return RuleProgramWriter()
    spec.validate(doc_stage, chunk_stage)
    models = spec.models(doc_stage, chunk_stage)
    generators = _transformers_generators(spec, models) if spec.kind == TRANSFORMERS else _vllm_generators(models)
    return GenerativeProgramWriter(generators.get("doc"), generators.get("chunk"), spec.generation)
