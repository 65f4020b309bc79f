"""Bits per character of sampled documents under every reference model, in a Ray actor pool.

`FamilyBpc` is a callable class for `Dataset.map_batches`: each actor loads the reference family
once (`core.preselect.reference_models.load_family`: one load per distinct checkpoint, layer-removed
copies share its weights) on the device its plan gives (`cuda` when the actor was granted a GPU,
else `cpu`), checks once that scoring through hidden states equals the model's own forward, and then
computes, per batch of documents, one BPC column per model (`core.preselect.bpc`). A model that
cannot load fails the actor with the model's path and the cause (`ModelSourceError`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa

from core.preselect.bpc import BpcParams, bits_per_character, check_logits_path
from core.preselect.reference_models import ReferenceModelSpec, load_family

BPC_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("text", pa.string()),
    ("bpc", pa.list_(pa.float64())),  # one value per reference model, in family order; NaN: no tokens
    ("n_tokens", pa.int64()),  # tokens of the text under the first model's tokenizer
    ("n_scored", pa.int64()),  # tokens scored, summed over the models
])


class FamilyBpc:
    """Ray actor: the reference family loaded once, BPC of (doc_id, text) batches."""

    def __init__(self, specs: Sequence[ReferenceModelSpec], params: BpcParams, device: str):
        self.family = load_family(specs, device=device)
        self.params = params
        checked = set()
        for member in self.family:
            if id(member.lm.model) not in checked:  # one check per distinct model object
                check_logits_path(member.lm)
                checked.add(id(member.lm.model))

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        results = [bits_per_character(m.lm, texts, self.params) for m in self.family]
        bpc = np.column_stack([r.bpc for r in results])
        n_scored = np.sum([r.n_scored for r in results], axis=0)
        return pa.table({
            "doc_id": batch.column("doc_id"),
            "text": batch.column("text"),
            "bpc": pa.array([row.tolist() for row in bpc], pa.list_(pa.float64())),
            "n_tokens": pa.array(results[0].n_tokens, pa.int64()),
            "n_scored": pa.array(n_scored, pa.int64()),
        }, schema=BPC_SCHEMA)
