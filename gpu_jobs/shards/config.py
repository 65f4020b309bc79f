"""Configuration of the training-shard stage (the asset's Config maps onto this)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from types import MappingProxyType
from typing import Mapping

from core.shards.embedded_tokenizer import DEFAULT_EOS, EMBEDDED_NAME
from core.shards.mixing import MixingParams
from core.shards.packed_files import PackedOutput
from core.shards.plan import ORDERS
from core.shards.rehydration import PUBLISHED_MAX_REPETITIONS, fineweb2_tables

SELECTIONS = ("all", "selected", "score_buckets")


@dataclass(frozen=True)
class ShardStageConfig:
    tokenizer: str = EMBEDDED_NAME  # a name under models/tokenizer/ (the `tokenizer` asset), or a path/URI
    eos: str | None = DEFAULT_EOS  # SmolLM2's document separator; datatrove requires one explicitly
    selection: str = "all"  # all | selected (PreSelect) | score_buckets; see the asset's description
    score_buckets: Mapping[float, int] | None = None  # {min_score: repetitions} for selection=score_buckets
    use_refined: bool = False  # text from refined/documents (ProX); documents it lacks are left out
    rehydration_max_repetitions: int | None = None  # FineWeb-2 tables up_to_<N>_reps (3..10); None: off
    language_aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # lid code -> FineWeb-2 code
    order: str = "shuffle"  # shuffle | related (In-Context Pretraining, from dedup/signatures)
    seed: int = 42  # any fixed value; recorded in the manifest
    max_tokens_per_shard: int = 100_000_000  # ~200 MB of uint16 per .bin: one writer holds one shard
    batch_size: int = 1000  # documents per tokenizer call (datatrove's DocumentTokenizer batch size)
    max_actors: int | None = None  # tokenizer actors; None: one per CPU of the Ray cluster
    related_group_size: int = 200_000  # documents ordered together (about 1 KB of memory each)
    packed_sequences: PackedOutput | None = None  # off: issue 11 makes packed rows optional beside the Megatron shards

    def __post_init__(self):
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {self.order!r}")
        if (self.rehydration_max_repetitions is not None
                and self.rehydration_max_repetitions not in PUBLISHED_MAX_REPETITIONS):
            raise ValueError(f"rehydration_max_repetitions must be one of {PUBLISHED_MAX_REPETITIONS} or "
                             f"None, got {self.rehydration_max_repetitions!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2^63), got {self.seed!r}")
        for name in ("max_tokens_per_shard", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.packed_sequences is not None and not isinstance(self.packed_sequences, PackedOutput):
            raise ValueError(f"packed_sequences must be a PackedOutput or None, got {self.packed_sequences!r}")
        self.mixing_params()  # validates selection and score buckets together

    @property
    def needs_scores(self) -> bool:
        return self.selection in ("selected", "score_buckets")

    def mixing_params(self) -> MixingParams:
        tables = (fineweb2_tables(self.rehydration_max_repetitions)
                  if self.rehydration_max_repetitions is not None else None)
        return MixingParams(quality=self.selection, score_buckets=self.score_buckets,
                            rehydration_tables=tables, language_aliases=dict(self.language_aliases))

    def to_json(self) -> str:
        """The configuration as recorded in the manifest (sorted keys, plain JSON types)."""
        fields = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        fields["score_buckets"] = ({str(k): v for k, v in self.score_buckets.items()}
                                   if self.score_buckets is not None else None)
        fields["language_aliases"] = dict(self.language_aliases)
        fields["packed_sequences"] = (self.packed_sequences.describe() if self.packed_sequences is not None
                                      else None)
        return json.dumps(fields, sort_keys=True)
