"""Greedy batch generation with transformers, on CPU or GPU, for the ProX program writer.

Models load through `core.preselect.reference_models.load_causal_lm` (local paths only: a
transformers directory such as ProX's `web-doc-refining-lm` / `web-chunk-refining-lm`, or a GGUF
file; the device is `cuda` when visible unless told otherwise). Prompts are sorted by length and
generated `batch_size` at a time, left-padded with an attention mask (so every prompt ends where
generation starts), greedy (`do_sample=False`, as vLLM's temperature 0 in the released code),
stopping at the end-of-sequence tokens of the tokenizer and the model's generation config. A batch
generates at most the smallest token limit of its prompts (limits differ only for prompts near the
end of the context).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.preselect.reference_models import LoadedLM
from core.prox.backends.generative import Generation

DEFAULT_BATCH_SIZE = 8  # prompts per generate call (ours; raise it on a GPU)


def _ids(value) -> set[int]:
    if value is None:
        return set()
    return {int(v) for v in value} if isinstance(value, (list, tuple)) else {int(value)}


@dataclass
class TransformersGenerator:
    lm: LoadedLM
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        tokenizer = self.lm.tokenizer
        self.eos_ids = _ids(tokenizer.eos_token_id) | _ids(getattr(self.lm.model.generation_config, "eos_token_id", None))
        if not self.eos_ids:
            raise ValueError(f"{self.lm.source}: the tokenizer has no end-of-sequence token to stop generation at")
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else min(self.eos_ids)

    @property
    def name(self) -> str:
        return f"transformers:{self.lm.name}"

    @property
    def tokenizer(self):
        return self.lm.tokenizer

    @property
    def context_length(self) -> int:
        return self.lm.context_length

    def generate(self, prompts: list[list[int]], max_new_tokens: list[int]) -> list[Generation]:
        if len(prompts) != len(max_new_tokens):
            raise ValueError(f"{len(prompts)} prompts but {len(max_new_tokens)} token limits")
        if any(len(ids) == 0 for ids in prompts):
            raise ValueError("an empty prompt cannot be generated from")
        order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))
        out: list[Generation | None] = [None] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start: start + self.batch_size]
            limit = min(max_new_tokens[i] for i in batch)
            for i, generation in zip(batch, self._generate_batch([prompts[i] for i in batch], limit)):
                out[i] = generation
        return out

    def _generate_batch(self, prompts: list[list[int]], max_new_tokens: int) -> list[Generation]:
        width = max(len(ids) for ids in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):
            input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            mask[row, width - len(ids):] = 1
        device = self.lm.device
        with torch.inference_mode():
            output = self.lm.model.generate(
                input_ids=input_ids.to(device), attention_mask=mask.to(device), do_sample=False, num_beams=1,
                max_new_tokens=max_new_tokens, eos_token_id=sorted(self.eos_ids), pad_token_id=self.pad_id,
                temperature=None, top_p=None, top_k=None)
        return [self._decode(row) for row in output[:, width:].tolist()]

    def _decode(self, new: list[int]) -> Generation:
        end = next((k for k, token in enumerate(new) if token in self.eos_ids), None)
        kept = new if end is None else new[:end]
        text = self.lm.tokenizer.decode(kept, skip_special_tokens=True)
        return Generation(text, len(new) if end is None else end + 1, end is not None)
