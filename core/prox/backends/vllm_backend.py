"""Greedy generation with vLLM on a GPU (the optional extra `pip install 'cc-refinery[gpu]'`).

As the released ProX code serves its refining models: `LLM(model=..., gpu_memory_utilization=0.9,
tensor_parallel_size=1)` and `SamplingParams(temperature=0.0, max_tokens=N)` (released also passes
top_p=0.9, which greedy decoding ignores). Prompts go in as token ids rendered by the chat format
of `core.prox.chat`, so both backends see the same ids.

vllm is imported only when a `VllmGenerator` is built, never by importing this module. Without the
package, or without a CUDA GPU, building one raises `BackendUnavailable` saying what to do.
Model paths are local transformers directories (vLLM's GGUF support is not used here).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.prox.backends.generative import Generation

GPU_MEMORY_UTILIZATION = 0.9  # ProX apply_*_refining.py LLM(gpu_memory_utilization=0.9)


class BackendUnavailable(RuntimeError):
    """The chosen backend cannot run here (a missing package, no GPU)."""


def import_vllm():
    """The vllm module, or `BackendUnavailable` with the install command."""
    try:
        import vllm
    except ImportError as err:
        raise BackendUnavailable(
            "backend 'vllm' needs the vllm package, which is not installed: pip install 'cc-refinery[gpu]' "
            "on a machine with a CUDA GPU, or choose backend 'transformers' (CPU or GPU) or 'rule' (no model)"
        ) from err
    return vllm


def require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise BackendUnavailable(
            "backend 'vllm' needs a CUDA GPU and none is visible here: run the stage on a Ray cluster with "
            "GPUs, or choose backend 'transformers' (runs on CPU) or 'rule' (no model)")


@dataclass
class VllmGenerator:
    path: str  # a local transformers model directory
    max_model_len: int | None = None  # None: the model's own context
    gpu_memory_utilization: float = GPU_MEMORY_UTILIZATION
    engine: Any = field(default=None, repr=False)

    def __post_init__(self):
        vllm = import_vllm()
        require_cuda()
        self._vllm = vllm
        if self.engine is None:
            self.engine = vllm.LLM(model=self.path, dtype="auto", tensor_parallel_size=1,
                                   gpu_memory_utilization=self.gpu_memory_utilization,
                                   max_model_len=self.max_model_len)

    @property
    def name(self) -> str:
        return f"vllm:{self.path.rstrip('/').rsplit('/', 1)[-1]}"

    @property
    def tokenizer(self):
        return self.engine.get_tokenizer()

    @property
    def context_length(self) -> int:
        return int(self.engine.llm_engine.model_config.max_model_len)

    def generate(self, prompts: list[list[int]], max_new_tokens: list[int]) -> list[Generation]:
        sampling = [self._vllm.SamplingParams(temperature=0.0, max_tokens=limit) for limit in max_new_tokens]
        requests = [{"prompt_token_ids": ids} for ids in prompts]
        outputs = self.engine.generate(requests, sampling, use_tqdm=False)
        return [Generation(o.outputs[0].text, len(o.outputs[0].token_ids), o.outputs[0].finish_reason == "stop")
                for o in outputs]
